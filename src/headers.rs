//! HTTP headers stored with each object: `Content-Type` from a built-in table
//! (so the result does not depend on the OS's MIME database), `Cache-Control`
//! from the file's role, and whatever the user's per-glob rules set
//! (`headers`, and its shorthand `cacheControl`).
//!
//! Everything here is pure: the rules, the table, and the fingerprint the
//! ledger records so the next deploy can tell which objects were written
//! with other headers than the rules now give.

use std::collections::BTreeMap;

use globset::GlobMatcher;
use md5::{Digest, Md5};
use object_store::{Attribute, Attributes};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::local::FileKind;

/// `Cache-Control` for content-hashed assets: their name changes with their
/// content, so browsers and CDNs may keep them forever.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` for everything else: caches must revalidate, so a new
/// `index.html` is seen on the next load.
pub const REVALIDATE: &str = "no-cache";

/// The type of a file the table does not know. Sent explicitly: left to the
/// store, S3 says `binary/octet-stream` and others guess from the name.
pub const UNKNOWN_TYPE: &str = "application/octet-stream";

/// The `Content-Type` for a key, by its extension. Unknown extensions,
/// extensionless files and dotfiles get [`UNKNOWN_TYPE`].
pub fn content_type(relative: &str) -> &'static str {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    // iOS fetches it without an extension and requires JSON.
    if name == "apple-app-site-association" {
        return "application/json";
    }
    // Extensionless files (`_redirects`, `CNAME`, `LICENSE`) and dotfiles get
    // an explicit type, so no store guesses one a browser would render.
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return UNKNOWN_TYPE;
    };
    if stem.is_empty() {
        return UNKNOWN_TYPE;
    }
    let extension = extension.to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "xhtml" => "application/xhtml+xml; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "jsonld" => "application/ld+json; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "rss" => "application/rss+xml; charset=utf-8",
        "atom" => "application/atom+xml; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "yaml" | "yml" => "application/yaml; charset=utf-8",
        "vtt" => "text/vtt; charset=utf-8",
        "ics" => "text/calendar; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "apng" => "image/apng",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "jxl" => "image/jxl",
        "ico" | "cur" => "image/x-icon",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "epub" => "application/epub+zip",
        "glb" => "model/gltf-binary",
        "gltf" => "model/gltf+json",
        "mp4" | "m4v" => "video/mp4",
        // MPEG transport streams (HLS segments), as in Apache's and mime-db's
        // tables; a TypeScript file in `public/` is never run by a browser.
        "ts" | "mts" | "m2ts" => "video/mp2t",
        "m3u8" => "application/vnd.apple.mpegurl",
        "webm" => "video/webm",
        "ogv" => "video/ogg",
        "mov" => "video/quicktime",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "ogg" | "oga" => "audio/ogg",
        "opus" => "audio/opus",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        _ => UNKNOWN_TYPE,
    }
}

/// Where a rule was given, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// `headers[index]`.
    Headers(usize),
    /// The `cacheControl` shorthand.
    #[default]
    CacheControl,
}

/// One rule of the `headers` option: headers for the files its glob matches.
/// A field the rule leaves out falls to the next matching rule that sets it,
/// then to the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderRule {
    /// Where it was given.
    pub origin: Origin,
    /// The glob, relative to the build folder.
    pub glob: String,
    /// `Content-Type`, over the built-in table.
    pub content_type: Option<String>,
    /// `Cache-Control`, over the role's default.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Content-Encoding`: what the build's bytes already are (a `.gz` file
    /// to be served decoded); nothing is encoded for it.
    pub content_encoding: Option<String>,
    /// User metadata (`x-amz-meta-*`, `x-goog-meta-*`, Azure metadata), as
    /// one field: the first matching rule that sets it gives all of it.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The fields a rule takes, as the JS API spells them.
const RULE_FIELDS: [&str; 7] = [
    "match",
    "contentType",
    "cacheControl",
    "contentDisposition",
    "contentLanguage",
    "contentEncoding",
    "metadata",
];

/// The example every message about a rule's shape shows.
const RULE_EXAMPLE: &str = "{ match: '**/*.pdf', contentDisposition: 'attachment' }";

/// Parses and checks the `headers` option: a list of rules. Every problem
/// names the rule by its index and the field.
pub fn parse_rules(value: &Value) -> Result<Vec<HeaderRule>> {
    let Value::Array(items) = value else {
        return Err(Error::InvalidOption {
            name: "headers".into(),
            reason: format!(
                "must be a list of rules such as [{RULE_EXAMPLE}], not {}",
                json_kind(value)
            ),
        });
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_rule(index, item))
        .collect()
}

fn parse_rule(index: usize, item: &Value) -> Result<HeaderRule> {
    let origin = format!("headers[{index}]");
    let invalid = |field: Option<&str>, reason: String| Error::InvalidOption {
        name: match field {
            Some(field) => format!("{origin}.{field}"),
            None => origin.clone(),
        },
        reason,
    };
    let Value::Object(fields) = item else {
        return Err(invalid(
            None,
            format!(
                "must be a rule such as {RULE_EXAMPLE}, not {}",
                json_kind(item)
            ),
        ));
    };
    if let Some(unknown) = fields.keys().find(|k| !RULE_FIELDS.contains(&k.as_str())) {
        let simple = |s: &str| s.replace(['-', '_'], "").to_ascii_lowercase();
        let hint = match RULE_FIELDS.iter().find(|f| simple(f) == simple(unknown)) {
            Some(field) => format!("did you mean '{field}'?"),
            None => format!("a rule takes {}", RULE_FIELDS.join(", ")),
        };
        return Err(invalid(
            Some(unknown),
            format!("is not a field of a header rule — {hint}"),
        ));
    }
    let glob = match fields.get("match") {
        Some(Value::String(glob)) if !glob.trim().is_empty() => glob.clone(),
        None => {
            return Err(invalid(
                Some("match"),
                "is missing: give the glob of the files the rule is for, such as '**/*.html'"
                    .into(),
            ))
        }
        Some(other) => {
            return Err(invalid(
                Some("match"),
                format!(
                    "must be a glob such as '**/*.html', not {}",
                    json_kind(other)
                ),
            ))
        }
    };
    if let Err(source) = globset::Glob::new(&glob) {
        return Err(invalid(
            Some("match"),
            format!("'{glob}' is not a valid glob: {source}"),
        ));
    }
    let text = |field: &str| -> Result<Option<String>> {
        match fields.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => check_value(value)
                .map(|()| Some(value.trim().to_string()))
                .map_err(|reason| invalid(Some(field), reason)),
            Some(other) => Err(invalid(
                Some(field),
                format!("must be a string, not {}", json_kind(other)),
            )),
        }
    };
    let rule = HeaderRule {
        origin: Origin::Headers(index),
        glob,
        content_type: text("contentType")?,
        cache_control: text("cacheControl")?,
        content_disposition: text("contentDisposition")?,
        content_language: text("contentLanguage")?,
        content_encoding: text("contentEncoding")?,
        metadata: match fields.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(entries)) => Some(
                entries
                    .iter()
                    .map(|(key, value)| {
                        let field = format!("metadata.{key}");
                        check_metadata_name(key).map_err(|r| invalid(Some(&field), r))?;
                        match value {
                            Value::String(value) => check_value(value)
                                .map(|()| (key.clone(), value.trim().to_string()))
                                .map_err(|r| invalid(Some(&field), r)),
                            other => Err(invalid(
                                Some(&field),
                                format!("must be a string, not {}", json_kind(other)),
                            )),
                        }
                    })
                    .collect::<Result<_>>()?,
            ),
            Some(other) => {
                return Err(invalid(
                    Some("metadata"),
                    format!(
                        "must be an object of names and values such as {{ team: 'web' }}, not {}",
                        json_kind(other)
                    ),
                ))
            }
        },
    };
    if let Some(content_type) = &rule.content_type {
        let (kind, subtype) = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .split_once('/')
            .unwrap_or_default();
        if kind.trim().is_empty() || subtype.trim().is_empty() {
            return Err(invalid(
                Some("contentType"),
                format!("'{content_type}' is not a media type — give type/subtype, such as 'text/html; charset=utf-8'"),
            ));
        }
    }
    let sets_nothing = rule.content_type.is_none()
        && rule.cache_control.is_none()
        && rule.content_disposition.is_none()
        && rule.content_language.is_none()
        && rule.content_encoding.is_none()
        && rule.metadata.is_none();
    if sets_nothing {
        return Err(invalid(
            None,
            format!(
                "sets no header — give at least one of {}",
                RULE_FIELDS[1..].join(", ")
            ),
        ));
    }
    Ok(rule)
}

/// The `cacheControl` shorthand as rules: `{ glob: value }` is
/// `{ match: glob, cacheControl: value }`, after every `headers` rule.
pub fn shorthand(cache_control: &[(String, String)]) -> Vec<HeaderRule> {
    cache_control
        .iter()
        .map(|(glob, value)| HeaderRule {
            origin: Origin::CacheControl,
            glob: glob.clone(),
            cache_control: Some(value.clone()),
            ..Default::default()
        })
        .collect()
}

/// Why `value` cannot be a header value, if it cannot: headers are one line
/// of ASCII, and an empty value says nothing.
pub fn check_value(value: &str) -> std::result::Result<(), String> {
    // A line break would end the header: refused before any request.
    if value.chars().any(char::is_control) {
        return Err(
            "contains a line break or another control character — a header value is one line"
                .into(),
        );
    }
    if let Some(c) = value.chars().find(|c| !c.is_ascii()) {
        return Err(format!("contains '{c}', which is not ASCII — header values are ASCII: percent-encode it (a file name goes in filename*=UTF-8''…, RFC 8187)"));
    }
    if value.trim().is_empty() {
        return Err("is empty — leave the field out to keep the default".into());
    }
    Ok(())
}

/// Why `name` cannot be a metadata name, if it cannot.
fn check_metadata_name(name: &str) -> std::result::Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Ok(());
    }
    Err(format!("'{name}' is not a metadata name — use lowercase letters, digits and '_', starting with a letter (the names S3, GCS and Azure all keep as given; Azure refuses '-')"))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The user's header rules, compiled: `headers` first, in order, then the
/// `cacheControl` shorthand. Per field, the first matching rule that sets
/// it wins; the defaults come last.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    rules: Vec<(GlobMatcher, HeaderRule)>,
}

/// The name the rules had when they held `Cache-Control` only.
pub type CacheRules = HeaderRules;

impl HeaderRules {
    /// Compiles the rules.
    pub fn new(rules: &[HeaderRule]) -> Result<Self> {
        let rules = rules
            .iter()
            .map(|rule| {
                let matcher = globset::Glob::new(&rule.glob)
                    .map_err(|source| match rule.origin {
                        Origin::CacheControl => Error::InvalidGlob {
                            glob: rule.glob.clone(),
                            option: "cacheControl",
                            source,
                        },
                        Origin::Headers(index) => Error::InvalidOption {
                            name: format!("headers[{index}].match"),
                            reason: format!("'{}' is not a valid glob: {source}", rule.glob),
                        },
                    })?
                    .compile_matcher();
                Ok((matcher, rule.clone()))
            })
            .collect::<Result<_>>()?;
        Ok(Self { rules })
    }

    /// The first value of a field among the rules matching `relative`.
    fn first<'a, T: ?Sized>(
        &'a self,
        relative: &str,
        field: impl Fn(&'a HeaderRule) -> Option<&'a T>,
    ) -> Option<&'a T> {
        self.rules
            .iter()
            .filter(|(glob, _)| glob.is_match(relative))
            .find_map(|(_, rule)| field(rule))
    }

    /// The `Cache-Control` value for a file.
    pub fn for_file(&self, relative: &str, kind: FileKind) -> &str {
        self.user_rule(relative)
            .unwrap_or_else(|| default_cache_control(kind))
    }

    /// The `Cache-Control` of the first rule matching `relative` that sets
    /// one, if one does.
    pub fn user_rule(&self, relative: &str) -> Option<&str> {
        self.first(relative, |rule| rule.cache_control.as_deref())
    }
}

/// `Cache-Control` by role, where no user rule matches.
pub fn default_cache_control(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Hashed => IMMUTABLE,
        FileKind::Other | FileKind::Entry => REVALIDATE,
    }
}

/// How one object of the site is written: the headers stored with it. Every
/// writer of site objects (a deploy's uploads, a rollback's restores) takes
/// them from here, so both write a file the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHeaders {
    /// A rule's, else the built-in table's.
    pub content_type: String,
    /// A rule's, else the role's default.
    pub cache_control: String,
    /// A rule's `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// A rule's `Content-Language`.
    pub content_language: Option<String>,
    /// The `Content-Encoding` a rule declares the build's bytes already
    /// have; nothing is encoded for it.
    pub declared_encoding: Option<String>,
    /// A rule's user metadata.
    pub metadata: BTreeMap<String, String>,
    /// `Content-Encoding` of a file stored compressed (see
    /// [`crate::compress`]); `None` for the file's own bytes.
    pub content_encoding: Option<&'static str>,
}

impl ObjectHeaders {
    /// The headers of a built file, by the user's rules.
    pub fn for_file(relative: &str, kind: FileKind, rules: &HeaderRules) -> Self {
        Self {
            content_type: rules
                .first(relative, |r| r.content_type.as_deref())
                .unwrap_or_else(|| content_type(relative))
                .to_string(),
            content_disposition: rules
                .first(relative, |r| r.content_disposition.as_ref())
                .cloned(),
            content_language: rules
                .first(relative, |r| r.content_language.as_ref())
                .cloned(),
            declared_encoding: rules
                .first(relative, |r| r.content_encoding.as_ref())
                .cloned(),
            metadata: rules
                .first(relative, |r| r.metadata.as_ref())
                .cloned()
                .unwrap_or_default(),
            ..Self::with_rule(relative, kind, rules.user_rule(relative))
        }
    }

    /// The headers of a file whose `Cache-Control` rule (if any) is known,
    /// as a release records it for a rollback; other rule headers come back
    /// with the next deploy, which finds them missing by their fingerprint.
    pub fn with_rule(relative: &str, kind: FileKind, rule: Option<&str>) -> Self {
        Self {
            content_type: content_type(relative).to_string(),
            cache_control: rule
                .unwrap_or_else(|| default_cache_control(kind))
                .to_string(),
            content_disposition: None,
            content_language: None,
            declared_encoding: None,
            metadata: BTreeMap::new(),
            content_encoding: None,
        }
    }

    /// The same headers for the file stored compressed, with this
    /// `Content-Encoding` (see `compress::Method::content_encoding`).
    pub fn encoded(self, content_encoding: Option<&'static str>) -> Self {
        Self {
            content_encoding,
            ..self
        }
    }

    /// The object's attributes; none for a store that keeps no headers.
    pub fn attributes(&self, store_keeps_headers: bool) -> Attributes {
        let mut attributes = Attributes::new();
        // Sent even to a store said to keep no headers: compressed bytes
        // without it would be unreadable (`compress` refuses such stores).
        if let Some(encoding) = self.content_encoding {
            attributes.insert(Attribute::ContentEncoding, encoding.into());
        }
        if !store_keeps_headers {
            return attributes;
        }
        attributes.insert(Attribute::ContentType, self.content_type.clone().into());
        attributes.insert(Attribute::CacheControl, self.cache_control.clone().into());
        let optional = [
            (Attribute::ContentDisposition, &self.content_disposition),
            (Attribute::ContentLanguage, &self.content_language),
            (Attribute::ContentEncoding, &self.declared_encoding),
        ];
        for (attribute, value) in optional {
            if let Some(value) = value {
                attributes.insert(attribute, value.clone().into());
            }
        }
        for (name, value) in &self.metadata {
            attributes.insert(
                Attribute::Metadata(name.clone().into()),
                value.clone().into(),
            );
        }
        attributes
    }

    /// A short hash of every attribute sent with the object, which the
    /// ledger records: when the rules give a file another fingerprint than
    /// the one it was written with, the next deploy writes it again. Stable
    /// across versions and machines (MD5 of a sorted listing, not Rust's
    /// hasher), so an upgrade alone rewrites nothing.
    pub fn fingerprint(&self) -> String {
        let mut lines: Vec<String> = self
            .attributes(true)
            .iter()
            .map(|(attribute, value)| {
                let name = match attribute {
                    Attribute::ContentDisposition => "content-disposition".to_string(),
                    Attribute::ContentEncoding => "content-encoding".to_string(),
                    Attribute::ContentLanguage => "content-language".to_string(),
                    Attribute::ContentType => "content-type".to_string(),
                    Attribute::CacheControl => "cache-control".to_string(),
                    Attribute::StorageClass => "storage-class".to_string(),
                    Attribute::Metadata(name) => format!("meta-{name}"),
                    other => format!("{other:?}"),
                };
                format!("{name}: {}\n", value.as_ref())
            })
            .collect();
        lines.sort();
        let digest = Md5::digest(lines.concat().as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_do_not_depend_on_the_os() {
        let table = [
            ("assets/index-3fA9c1xZ.js", "text/javascript; charset=utf-8"),
            ("a/b.MJS", "text/javascript; charset=utf-8"),
            ("server.cjs", "text/javascript; charset=utf-8"),
            ("index.html", "text/html; charset=utf-8"),
            ("x.woff2", "font/woff2"),
            ("x.woff", "font/woff"),
            ("x.ttf", "font/ttf"),
            ("x.otf", "font/otf"),
            ("x.svg", "image/svg+xml"),
            ("x.js.map", "application/json; charset=utf-8"),
            (
                "site.webmanifest",
                "application/manifest+json; charset=utf-8",
            ),
            ("x.avif", "image/avif"),
            ("x.wasm", "application/wasm"),
            ("robots.txt", "text/plain; charset=utf-8"),
            ("sitemap.xml", "application/xml; charset=utf-8"),
            ("doc.pdf", "application/pdf"),
            ("clip.mp4", "video/mp4"),
            ("clip.webm", "video/webm"),
            ("model.glb", "model/gltf-binary"),
            ("model.gltf", "model/gltf+json"),
            ("feed.rss", "application/rss+xml; charset=utf-8"),
            ("captions.vtt", "text/vtt; charset=utf-8"),
            ("stream.m3u8", "application/vnd.apple.mpegurl"),
        ];
        for (path, expected) in table {
            assert_eq!(content_type(path), expected, "{path}");
        }
    }

    #[test]
    fn unknown_extensions_get_octet_stream_explicitly() {
        for path in ["x.unknownext", "data.bin", "a.PSD"] {
            assert_eq!(content_type(path), UNKNOWN_TYPE, "{path}");
        }
        // Sent, not left to the store: S3 would say binary/octet-stream.
        let headers = ObjectHeaders::for_file("x.unknownext", FileKind::Other, &Default::default());
        assert_eq!(
            headers
                .attributes(true)
                .get(&Attribute::ContentType)
                .map(|v| v.to_string()),
            Some(UNKNOWN_TYPE.to_string())
        );
    }

    #[test]
    fn ts_mts_and_extensionless_files_get_an_explicit_type() {
        for path in ["video/seg-001.ts", "clip.MTS", "a.m2ts"] {
            assert_eq!(content_type(path), "video/mp2t", "{path}");
        }
        for path in ["LICENSE", "_redirects", "CNAME", "nested/.htaccess"] {
            assert_eq!(content_type(path), UNKNOWN_TYPE, "{path}");
        }
        assert_eq!(
            content_type(".well-known/apple-app-site-association"),
            "application/json"
        );
    }

    fn rules(value: serde_json::Value) -> HeaderRules {
        HeaderRules::new(&parse_rules(&value).unwrap()).unwrap()
    }

    #[test]
    fn cache_control_defaults_by_role_and_user_rules_win_in_order() {
        let defaults = HeaderRules::default();
        assert_eq!(
            defaults.for_file("assets/a-3fA9c1xZ.js", FileKind::Hashed),
            IMMUTABLE
        );
        assert_eq!(defaults.for_file("index.html", FileKind::Entry), REVALIDATE);
        assert_eq!(defaults.for_file("robots.txt", FileKind::Other), REVALIDATE);

        let rules = HeaderRules::new(&shorthand(&[
            ("*.html".into(), "public, max-age=60".into()),
            ("**".into(), "private".into()),
        ]))
        .unwrap();
        assert_eq!(
            rules.for_file("nested/page.html", FileKind::Entry),
            "public, max-age=60"
        );
        assert_eq!(
            rules.for_file("assets/a-3fA9c1xZ.js", FileKind::Hashed),
            "private"
        );
        assert!(matches!(
            HeaderRules::new(&shorthand(&[("a[".into(), "x".into())])),
            Err(Error::InvalidGlob {
                option: "cacheControl",
                ..
            })
        ));
    }

    #[test]
    fn the_first_matching_rule_wins_per_field_and_headers_come_before_the_shorthand() {
        let mut all = parse_rules(&json!([
            { "match": "downloads/**", "contentDisposition": "attachment" },
            { "match": "**/*.pdf", "contentType": "application/x-pdf-custom", "cacheControl": "public, max-age=600", "metadata": { "team": "docs" } },
            { "match": "**", "contentLanguage": "en", "cacheControl": "private", "metadata": { "team": "web", "tier": "1" } },
        ]))
        .unwrap();
        all.extend(shorthand(&[("**/*.pdf".into(), "no-store".into())]));
        let rules = HeaderRules::new(&all).unwrap();

        let pdf = ObjectHeaders::for_file("downloads/a.pdf", FileKind::Other, &rules);
        assert_eq!(pdf.content_type, "application/x-pdf-custom");
        assert_eq!(
            pdf.cache_control, "public, max-age=600",
            "headers before cacheControl"
        );
        assert_eq!(pdf.content_disposition.as_deref(), Some("attachment"));
        assert_eq!(
            pdf.content_language.as_deref(),
            Some("en"),
            "from a later rule"
        );
        assert_eq!(
            pdf.metadata,
            BTreeMap::from([("team".to_string(), "docs".to_string())]),
            "metadata is one field: the first rule's, not merged"
        );

        let js = ObjectHeaders::for_file("assets/a-3fA9c1xZ.js", FileKind::Hashed, &rules);
        assert_eq!(
            js.content_type, "text/javascript; charset=utf-8",
            "the table's"
        );
        assert_eq!(js.cache_control, "private");
        assert_eq!(js.content_disposition, None);

        let attributes = pdf.attributes(true);
        let get = |a: Attribute| attributes.get(&a).map(|v| v.to_string());
        assert_eq!(
            get(Attribute::ContentDisposition).as_deref(),
            Some("attachment")
        );
        assert_eq!(get(Attribute::ContentLanguage).as_deref(), Some("en"));
        assert_eq!(
            get(Attribute::Metadata("team".into())).as_deref(),
            Some("docs")
        );
        assert_eq!(get(Attribute::ContentEncoding), None);
        assert!(pdf.attributes(false).is_empty(), "file:// keeps none");
    }

    #[test]
    fn a_declared_encoding_is_sent_as_given() {
        let rules = rules(json!([
            { "match": "data/*.json.gz", "contentType": "application/json", "contentEncoding": "gzip" }
        ]));
        let headers = ObjectHeaders::for_file("data/big.json.gz", FileKind::Other, &rules);
        let attributes = headers.attributes(true);
        assert_eq!(
            attributes
                .get(&Attribute::ContentEncoding)
                .map(|v| v.to_string())
                .as_deref(),
            Some("gzip")
        );
        assert_eq!(headers.content_type, "application/json");
    }

    fn error(value: serde_json::Value) -> String {
        parse_rules(&value).unwrap_err().to_string()
    }

    #[test]
    fn bad_rules_are_named_by_index_and_field_with_a_hint() {
        let cases = [
            (json!({ "match": "*" }), "invalid option `headers`: must be a list of rules"),
            (json!(["*.html"]), "invalid option `headers[0]`: must be a rule such as"),
            (json!([{ "cacheControl": "x" }]), "invalid option `headers[0].match`: is missing"),
            (json!([{ "match": 3, "cacheControl": "x" }]), "`headers[0].match`: must be a glob such as '**/*.html', not a number"),
            (json!([{ "match": "*", "cacheControl": "x" }, { "match": "a[", "cacheControl": "x" }]), "`headers[1].match`: 'a[' is not a valid glob"),
            (json!([{ "match": "*", "cachecontrol": "x" }]), "`headers[0].cachecontrol`: is not a field of a header rule — did you mean 'cacheControl'?"),
            (json!([{ "match": "*", "cache-control": "x" }]), "did you mean 'cacheControl'?"),
            (json!([{ "match": "*", "expires": "x" }]), "a rule takes match, contentType, cacheControl"),
            (json!([{ "match": "*" }]), "`headers[0]`: sets no header — give at least one of contentType, cacheControl"),
            (json!([{ "match": "*", "cacheControl": 60 }]), "`headers[0].cacheControl`: must be a string, not a number"),
            (json!([{ "match": "*", "cacheControl": "no-cache\r\nX-Injected: 1" }]), "`headers[0].cacheControl`: contains a line break"),
            (json!([{ "match": "*", "contentDisposition": "attachment; filename=\"résumé.pdf\"" }]), "contains 'é', which is not ASCII"),
            (json!([{ "match": "*", "contentLanguage": " " }]), "`headers[0].contentLanguage`: is empty"),
            (json!([{ "match": "*", "contentType": "html" }]), "`headers[0].contentType`: 'html' is not a media type"),
            (json!([{ "match": "*", "metadata": ["a"] }]), "`headers[0].metadata`: must be an object"),
            (json!([{ "match": "*", "metadata": { "Build-Id": "1" } }]), "`headers[0].metadata.Build-Id`: 'Build-Id' is not a metadata name"),
            (json!([{ "match": "*", "metadata": { "build": 1 } }]), "`headers[0].metadata.build`: must be a string"),
        ];
        for (value, expected) in cases {
            let message = error(value.clone());
            assert!(message.contains(expected), "{value}: {message}");
        }
        assert!(parse_rules(&json!([])).unwrap().is_empty());
    }

    #[test]
    fn the_fingerprint_changes_with_any_header_and_only_then() {
        let base = ObjectHeaders::for_file("index.html", FileKind::Entry, &Default::default());
        assert_eq!(base.fingerprint(), base.clone().fingerprint());
        assert_eq!(base.fingerprint().len(), 16);
        // Pinned: a new version must not see every stored object as changed.
        assert_eq!(base.fingerprint(), "9b7f82142135bf63");
        assert_eq!(
            base.fingerprint(),
            ObjectHeaders::with_rule("index.html", FileKind::Entry, None).fingerprint()
        );
        let variants = [
            ObjectHeaders {
                cache_control: "private".into(),
                ..base.clone()
            },
            ObjectHeaders {
                content_type: "text/plain".into(),
                ..base.clone()
            },
            ObjectHeaders {
                content_disposition: Some("inline".into()),
                ..base.clone()
            },
            ObjectHeaders {
                content_language: Some("en".into()),
                ..base.clone()
            },
            ObjectHeaders {
                declared_encoding: Some("gzip".into()),
                ..base.clone()
            },
            ObjectHeaders {
                metadata: BTreeMap::from([("a".into(), "1".into())]),
                ..base.clone()
            },
        ];
        let mut seen = std::collections::HashSet::from([base.fingerprint()]);
        for variant in &variants {
            assert!(seen.insert(variant.fingerprint()), "{variant:?}");
        }
    }
}

#[cfg(test)]
mod deploy_tests {
    use object_store::ObjectStoreExt;

    use crate::plan::Action;

    async fn deploy(
        dist: &std::path::Path,
        storage: &str,
        headers: serde_json::Value,
        repair: bool,
    ) -> crate::Report {
        let options = crate::DeployOptions {
            dir: dist.to_path_buf(),
            storage: Some(storage.into()),
            headers: Some(headers),
            repair_headers: repair,
            ..Default::default()
        };
        crate::deploy_with_env(options, |_| None, &(), &Default::default())
            .await
            .unwrap()
    }

    fn uploads(report: &crate::Report) -> Vec<(String, String)> {
        report
            .files
            .iter()
            .filter(|f| f.action == Action::Upload)
            .map(|f| (f.path.clone(), f.reason.clone()))
            .collect()
    }

    /// Issue 16: a rule change rewrites exactly the objects whose headers
    /// differ, hashed assets included; the same rules again write nothing.
    #[tokio::test]
    async fn a_rule_change_rewrites_what_it_changes_and_nothing_else() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        std::fs::create_dir_all(dist.join(".vite")).unwrap();
        std::fs::write(
            dist.join("index.html"),
            "<script src=/assets/app-3fA9c1xZ.js></script>",
        )
        .unwrap();
        std::fs::write(dist.join("assets/app-3fA9c1xZ.js"), "console.log(1)").unwrap();
        std::fs::write(dist.join("guide.pdf"), "%PDF-1.4").unwrap();
        std::fs::write(
            dist.join(".vite/manifest.json"),
            r#"{"index.html":{"file":"assets/app-3fA9c1xZ.js","isEntry":true}}"#,
        )
        .unwrap();
        let storage = format!("memory:///header-repair-{}/site", std::process::id());
        let wrong = serde_json::json!([{ "match": "assets/**", "cacheControl": "no-store" }]);
        let right = serde_json::json!([
            { "match": "**/*.pdf", "contentDisposition": "attachment", "metadata": { "team": "docs" } }
        ]);

        // robots.txt is in the store already, put there by another tool:
        // its headers are unknown.
        std::fs::write(dist.join("robots.txt"), "User-agent: *").unwrap();
        let target =
            crate::store::open(&storage, &Default::default(), &Default::default()).unwrap();
        target
            .store
            .put(&target.key("robots.txt").unwrap(), "User-agent: *".into())
            .await
            .unwrap();

        let first = deploy(&dist, &storage, wrong.clone(), false).await;
        assert_eq!(first.summary.uploaded.count, 4);
        assert!(
            first.notes.iter().all(|n| !n.contains("repair-headers")),
            "{:?}",
            first.notes
        );
        let again = deploy(&dist, &storage, wrong, false).await;
        assert!(uploads(&again).is_empty(), "{:?}", uploads(&again));

        let fixed = deploy(&dist, &storage, right.clone(), false).await;
        assert_eq!(
            uploads(&fixed),
            [
                (
                    "assets/app-3fA9c1xZ.js".to_string(),
                    "headers changed".to_string()
                ),
                ("guide.pdf".to_string(), "headers changed".to_string()),
            ]
        );
        assert_eq!(fixed.summary.headers_changed.count, 2);
        assert!(fixed.succeeded());
        assert!(
            fixed
                .notes
                .iter()
                .any(|n| n
                    .starts_with("2 file(s) rewritten for new headers, but 1 unchanged file(s)")),
            "{:?}",
            fixed.notes
        );
        let attributes = |relative: &'static str| {
            let target = &target;
            async move {
                target
                    .store
                    .get(&target.key(relative).unwrap())
                    .await
                    .unwrap()
                    .attributes
            }
        };
        let js = attributes("assets/app-3fA9c1xZ.js").await;
        assert_eq!(
            js.get(&object_store::Attribute::CacheControl)
                .map(|v| v.to_string())
                .as_deref(),
            Some(super::IMMUTABLE)
        );
        let pdf = attributes("guide.pdf").await;
        assert_eq!(
            pdf.get(&object_store::Attribute::ContentDisposition)
                .map(|v| v.to_string())
                .as_deref(),
            Some("attachment")
        );
        assert_eq!(
            pdf.get(&object_store::Attribute::Metadata("team".into()))
                .map(|v| v.to_string())
                .as_deref(),
            Some("docs")
        );

        let settled = deploy(&dist, &storage, right, false).await;
        assert!(uploads(&settled).is_empty(), "{:?}", uploads(&settled));
    }

    /// A rollback restores Cache-Control and Content-Type only, and records
    /// that: the next deploy of the same build puts the other rule headers
    /// back, then writes nothing.
    #[tokio::test]
    async fn what_a_rollback_does_not_restore_the_next_deploy_repairs() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        let storage = format!("memory:///header-rollback-{}/site", std::process::id());
        let rules = serde_json::json!([{ "match": "**/*.html", "contentLanguage": "en" }]);
        for version in ["a", "b"] {
            std::fs::create_dir_all(&dist).unwrap();
            std::fs::write(dist.join("index.html"), format!("<p>{version}</p>")).unwrap();
            deploy(&dist, &storage, rules.clone(), false).await;
        }
        crate::rollback::rollback(crate::rollback::LedgerOptions {
            storage: Some(storage.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
        std::fs::write(dist.join("index.html"), "<p>a</p>").unwrap();
        let after = deploy(&dist, &storage, rules.clone(), false).await;
        assert_eq!(
            uploads(&after),
            [("index.html".to_string(), "headers changed".to_string())]
        );
        let settled = deploy(&dist, &storage, rules, false).await;
        assert!(uploads(&settled).is_empty(), "{:?}", uploads(&settled));
    }
}
