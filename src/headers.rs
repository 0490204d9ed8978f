//! HTTP headers stored with each object: `Content-Type` from a built-in table
//! (so the result does not depend on the OS's MIME database) and
//! `Cache-Control` from the file's role or the user's per-glob rules.

use globset::GlobMatcher;
use object_store::{Attribute, Attributes};

use crate::error::{Error, Result};
use crate::local::FileKind;

/// `Cache-Control` for content-hashed assets: their name changes with their
/// content, so browsers and CDNs may keep them forever.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` for everything else: caches must revalidate, so a new
/// `index.html` is seen on the next load.
pub const REVALIDATE: &str = "no-cache";

/// The `Content-Type` for a key, by its extension; `None` (an extension not
/// in the table) leaves the store's default (`application/octet-stream` on
/// most, `binary/octet-stream` on S3).
pub fn content_type(relative: &str) -> Option<&'static str> {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    // iOS fetches it without an extension and requires JSON.
    if name == "apple-app-site-association" {
        return Some("application/json");
    }
    // Extensionless files (`_redirects`, `CNAME`, `LICENSE`) and dotfiles get
    // an explicit type, so no store guesses one a browser would render.
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return Some("application/octet-stream");
    };
    if stem.is_empty() {
        return Some("application/octet-stream");
    }
    let extension = extension.to_ascii_lowercase();
    Some(match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" | "cjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "bmp" => "image/bmp",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "mp4" => "video/mp4",
        // MPEG transport streams (HLS segments), as in Apache's and mime-db's
        // tables; a TypeScript file in `public/` is never run by a browser.
        "ts" | "mts" | "m2ts" => "video/mp2t",
        "webm" => "video/webm",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "wav" => "audio/wav",
        _ => return None,
    })
}

/// `Cache-Control` rules: the user's `(glob, value)` pairs first, in order,
/// then the defaults by file role.
#[derive(Debug, Clone, Default)]
pub struct CacheRules {
    rules: Vec<(GlobMatcher, String)>,
}

impl CacheRules {
    /// Compiles the user's rules.
    pub fn new(rules: &[(String, String)]) -> Result<Self> {
        let rules = rules
            .iter()
            .map(|(glob, value)| {
                let matcher = globset::Glob::new(glob)
                    .map_err(|source| Error::InvalidGlob {
                        glob: glob.clone(),
                        option: "cacheControl",
                        source,
                    })?
                    .compile_matcher();
                Ok((matcher, value.clone()))
            })
            .collect::<Result<_>>()?;
        Ok(Self { rules })
    }

    /// The `Cache-Control` value for a file.
    pub fn for_file(&self, relative: &str, kind: FileKind) -> &str {
        self.user_rule(relative)
            .unwrap_or_else(|| default_cache_control(kind))
    }

    /// The value of the first user rule matching `relative`, if one does.
    pub fn user_rule(&self, relative: &str) -> Option<&str> {
        self.rules
            .iter()
            .find(|(glob, _)| glob.is_match(relative))
            .map(|(_, value)| value.as_str())
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
    /// `None` leaves the store's default.
    pub content_type: Option<&'static str>,
    /// The user's rule or the role's default.
    pub cache_control: String,
    /// `Content-Encoding` of a file stored compressed (see
    /// [`crate::compress`]); `None` for the file's own bytes.
    pub content_encoding: Option<&'static str>,
}

impl ObjectHeaders {
    /// The headers of a built file, by the user's rules.
    pub fn for_file(relative: &str, kind: FileKind, rules: &CacheRules) -> Self {
        Self::with_rule(relative, kind, rules.user_rule(relative))
    }

    /// The headers of a file whose matching user rule (if any) is known, as
    /// a release records it for a rollback.
    pub fn with_rule(relative: &str, kind: FileKind, rule: Option<&str>) -> Self {
        Self {
            content_type: content_type(relative),
            cache_control: rule
                .unwrap_or_else(|| default_cache_control(kind))
                .to_string(),
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
        if store_keeps_headers {
            if let Some(content_type) = self.content_type {
                attributes.insert(Attribute::ContentType, content_type.into());
            }
            attributes.insert(Attribute::CacheControl, self.cache_control.clone().into());
        }
        // Sent even to a store said to keep no headers: compressed bytes
        // without it would be unreadable (`compress` refuses such stores).
        if let Some(encoding) = self.content_encoding {
            attributes.insert(Attribute::ContentEncoding, encoding.into());
        }
        attributes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_do_not_depend_on_the_os() {
        assert_eq!(
            content_type("assets/index-3fA9c1xZ.js"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            content_type("a/b.MJS"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(content_type("index.html"), Some("text/html; charset=utf-8"));
        assert_eq!(content_type("x.woff2"), Some("font/woff2"));
        assert_eq!(content_type("x.svg"), Some("image/svg+xml"));
        assert_eq!(
            content_type("x.js.map"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            content_type("site.webmanifest"),
            Some("application/manifest+json; charset=utf-8")
        );
        assert_eq!(content_type("x.unknownext"), None);
    }

    #[test]
    fn ts_mts_and_extensionless_files_get_an_explicit_type() {
        for path in ["video/seg-001.ts", "clip.MTS", "a.m2ts"] {
            assert_eq!(content_type(path), Some("video/mp2t"), "{path}");
        }
        for path in ["LICENSE", "_redirects", "CNAME", "nested/.htaccess"] {
            assert_eq!(
                content_type(path),
                Some("application/octet-stream"),
                "{path}"
            );
        }
        assert_eq!(
            content_type(".well-known/apple-app-site-association"),
            Some("application/json")
        );
    }

    #[test]
    fn cache_control_defaults_by_role_and_user_rules_win_in_order() {
        let defaults = CacheRules::default();
        assert_eq!(
            defaults.for_file("assets/a-3fA9c1xZ.js", FileKind::Hashed),
            IMMUTABLE
        );
        assert_eq!(defaults.for_file("index.html", FileKind::Entry), REVALIDATE);
        assert_eq!(defaults.for_file("robots.txt", FileKind::Other), REVALIDATE);

        let rules = CacheRules::new(&[
            ("*.html".into(), "public, max-age=60".into()),
            ("**".into(), "private".into()),
        ])
        .unwrap();
        assert_eq!(
            rules.for_file("nested/page.html", FileKind::Entry),
            "public, max-age=60"
        );
        assert_eq!(
            rules.for_file("assets/a-3fA9c1xZ.js", FileKind::Hashed),
            "private"
        );
        assert!(CacheRules::new(&[("a[".into(), "x".into())]).is_err());
    }
}
