//! The check before HTML goes live: every asset an entry file references
//! must be in the store once the deploy's other files are up. Pure but for
//! [`check_references`], which reads the entry files to upload.
//!
//! A reference counts when it resolves to a key under the deployed prefix:
//! through `base` (the URL the site is served from), as a path relative to
//! the HTML file, or, failing both, because its path ends with a key the
//! deploy knows. A reference that resolves to nothing known and whose name
//! looks like a built asset (`name-XXXXXXXX.ext`) is missing; links to pages
//! and other sites are left alone.
use crate::local::{classify, FileKind};
pub use crate::manifest::manifest_references;

/// `src` and `href` values of an HTML document, in order.
pub fn html_references(html: &str) -> Vec<String> {
    let mut references = Vec::new();
    let lower = html.to_ascii_lowercase();
    for attribute in ["src=", "href="] {
        let mut from = 0;
        while let Some(found) = lower[from..].find(attribute) {
            let start = from + found + attribute.len();
            from = start;
            // `data-src=` and the like are not URLs the browser loads.
            let before = lower[..start - attribute.len()].chars().next_back();
            if !before.is_some_and(char::is_whitespace) {
                continue;
            }
            let rest = &html[start..];
            let value = match rest.chars().next() {
                Some(quote @ ('"' | '\'')) => rest[1..].split(quote).next().unwrap_or(""),
                _ => rest
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or(""),
            };
            references.push(value.to_string());
        }
    }
    references
}

/// The references of `entry` (a path relative to the prefix) that point at
/// no key `exists` knows.
pub fn missing(
    entry: &str,
    references: &[String],
    base: Option<&str>,
    exists: impl Fn(&str) -> bool,
) -> Vec<String> {
    references
        .iter()
        .filter(|reference| match resolve(entry, reference, base) {
            Resolved::Ignore => false,
            Resolved::Candidates(candidates) => {
                let found = candidates.iter().any(|c| exists(c));
                let looks_built = candidates
                    .first()
                    .is_some_and(|c| classify(c) == FileKind::Hashed);
                !found && looks_built
            }
        })
        .cloned()
        .collect()
}

enum Resolved {
    Ignore,
    /// Keys to try, the most likely first.
    Candidates(Vec<String>),
}

fn resolve(entry: &str, reference: &str, base: Option<&str>) -> Resolved {
    let reference = reference.split(['?', '#']).next().unwrap_or("").trim();
    let lower = reference.to_ascii_lowercase();
    if reference.is_empty()
        || ["data:", "mailto:", "tel:", "javascript:", "blob:"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        return Resolved::Ignore;
    }
    if let Some(base) = base.filter(|b| !b.is_empty() && *b != "/" && *b != "./") {
        if let Some(rest) = reference.strip_prefix(base) {
            return Resolved::Candidates(vec![normalize(rest)]);
        }
    }
    let is_absolute_url = lower.starts_with("http://")
        || lower.starts_with("https://")
        || reference.starts_with("//");
    let path = if is_absolute_url {
        let without_scheme = reference.split_once("//").map_or("", |(_, rest)| rest);
        match without_scheme.split_once('/') {
            Some((_, path)) => path.to_string(),
            None => return Resolved::Ignore,
        }
    } else if let Some(path) = reference.strip_prefix('/') {
        path.to_string()
    } else {
        // Relative to the entry file's folder.
        let folder = entry
            .rsplit_once('/')
            .map(|(folder, _)| folder)
            .unwrap_or("");
        return Resolved::Candidates(vec![normalize(&format!("{folder}/{reference}"))]);
    };
    // Under an unknown base path: try every suffix of the path.
    let path = normalize(&path);
    let parts: Vec<&str> = path.split('/').collect();
    Resolved::Candidates((0..parts.len()).map(|i| parts[i..].join("/")).collect())
}

/// Resolves `.` and `..` and drops empty segments.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// Refuses a deploy whose HTML or manifest references a built asset that
/// would not be in the store, before anything is written: the old HTML stays.
pub fn check_references(
    plan: &crate::plan::Plan,
    local: &[crate::local::LocalFile],
    remote: &[crate::remote::RemoteObject],
    base: Option<&str>,
    target: &crate::store::Target,
) -> crate::error::Result<()> {
    let known: std::collections::HashSet<&str> = local
        .iter()
        .map(|f| f.relative.as_str())
        .chain(remote.iter().map(|o| o.relative.as_str()))
        .collect();
    let mut broken = Vec::new();
    for step in plan.with_action(crate::plan::Action::Upload) {
        if step.kind != Some(FileKind::Entry) {
            continue;
        }
        let file = &local[step.local.expect("an upload has a local file")];
        let Ok(content) = std::fs::read(&file.path) else {
            continue; // the upload reports an unreadable file
        };
        let is_html = !step.relative.ends_with(".json");
        let (entry, references) = if is_html {
            (
                step.relative.as_str(),
                html_references(&String::from_utf8_lossy(&content)),
            )
        } else {
            ("", manifest_references(&content))
        };
        for reference in missing(entry, &references, base, |key| known.contains(key)) {
            broken.push(format!("{} → {reference}", step.relative));
        }
    }
    if broken.is_empty() {
        Ok(())
    } else {
        Err(crate::error::Error::MissingAssets {
            store: target.url.clone(),
            missing: broken,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: &str = r#"<!doctype html><html><head>
        <script type="module" crossorigin src="https://cdn.example.com/app/assets/index-3fA9c1xZ.js"></script>
        <link rel="modulepreload" href="/app/assets/vendor-Bq81kLxy.js">
        <link rel=stylesheet href=./assets/index-DiwrgTda.css>
        <img data-src="assets/lazy-Zz9Yy8Xx.png" src="data:image/png;base64,xx">
        <a href="/about/">About</a> <a href="https://github.com/x/y">code</a>
        </head></html>"#;

    #[test]
    fn finds_the_urls_a_browser_loads() {
        let references = html_references(HTML);
        assert_eq!(
            references,
            [
                "https://cdn.example.com/app/assets/index-3fA9c1xZ.js",
                "data:image/png;base64,xx",
                "/app/assets/vendor-Bq81kLxy.js",
                "./assets/index-DiwrgTda.css",
                "/about/",
                "https://github.com/x/y",
            ]
        );
    }

    #[test]
    fn missing_names_only_built_assets_absent_from_the_store() {
        let references = html_references(HTML);
        let all = |key: &str| {
            [
                "assets/index-3fA9c1xZ.js",
                "assets/vendor-Bq81kLxy.js",
                "assets/index-DiwrgTda.css",
            ]
            .contains(&key)
        };
        assert!(missing(
            "index.html",
            &references,
            Some("https://cdn.example.com/app/"),
            all
        )
        .is_empty());
        assert!(
            missing("index.html", &references, None, all).is_empty(),
            "suffixes match without a base"
        );
        let no_vendor = |key: &str| all(key) && key != "assets/vendor-Bq81kLxy.js";
        assert_eq!(
            missing("index.html", &references, None, no_vendor),
            ["/app/assets/vendor-Bq81kLxy.js"]
        );
        let nested = vec!["../assets/index-3fA9c1xZ.js".to_string()];
        assert!(missing("about/index.html", &nested, None, all).is_empty());
        assert_eq!(
            missing("about/deep/index.html", &nested, None, all),
            ["../assets/index-3fA9c1xZ.js"]
        );
    }

    #[test]
    fn missing_framework_chunks_named_by_their_hash_alone_are_caught() {
        let html = r#"<link rel="modulepreload" href="/_app/immutable/chunks/CzRk7a1B.js"><script src="/_nuxt/BfK3xU2a.js"></script><link href="/_nuxt/builds/meta/a.json"><a href="/about/">"#;
        let references = html_references(html);
        assert_eq!(
            missing("index.html", &references, None, |_| false),
            ["/_nuxt/BfK3xU2a.js", "/_app/immutable/chunks/CzRk7a1B.js"]
        );
    }

    #[test]
    fn manifest_files_css_and_assets() {
        let json = br#"{"index.html":{"file":"assets/index-3fA9c1xZ.js","css":["assets/index-DiwrgTda.css"],"assets":["assets/logo-a1B2c3D4.svg"],"imports":["_vendor.js"]},"_vendor.js":{"file":"assets/vendor-Bq81kLxy.js"}}"#;
        let mut references = manifest_references(json);
        references.sort();
        assert_eq!(
            references,
            [
                "assets/index-3fA9c1xZ.js",
                "assets/index-DiwrgTda.css",
                "assets/logo-a1B2c3D4.svg",
                "assets/vendor-Bq81kLxy.js"
            ]
        );
        assert!(manifest_references(b"not json").is_empty());
        // Not Vite's shape: a web app manifest, a chunk that is no object.
        assert!(manifest_references(br#"{"name":"App","icons":[]}"#).is_empty());
        assert!(manifest_references(br#"{"a.js":{"file":"assets/a-1.js"},"b":3}"#).is_empty());
        assert!(manifest_references(br#"{"a.js":{"file":"assets/a-1.js"}} trailing"#).is_empty());
    }
}
