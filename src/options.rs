//! Deploy options, their environment fallbacks, and the validation of storage
//! option keys.
//!
//! Precedence for every setting:
//! 1. the value passed in [`DeployOptions`];
//! 2. the environment variable named in its doc (`VITE_DEPLOY_*`);
//! 3. the default stated in its doc.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

pub use crate::backends::{
    is_credential_key, suggest, AZURE_KEYS, CLIENT_KEYS, DEFAULT_CONCURRENCY,
    DEFAULT_LOCAL_CONCURRENCY, DEFAULT_WEBDAV_CONCURRENCY, GCS_KEYS, S3_KEYS, WEBDAV_KEYS,
};
use crate::error::{Error, Result};
use crate::retention::{parse_duration, DeletePolicy, DEFAULT_KEEP, DEFAULT_WINDOW};

/// Concurrency above this is refused: it only opens sockets for nothing.
pub const MAX_CONCURRENCY: usize = 1024;

/// Retries of a failed request (5xx, connection errors, timeouts), with
/// exponential backoff; object_store's own default.
pub const DEFAULT_RETRIES: usize = 10;

/// Retries above this are refused.
pub const MAX_RETRIES: usize = 100;

/// What to publish, where, and how, as given by the caller.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployOptions {
    /// The local build directory (Vite's `build.outDir`).
    pub dir: PathBuf,
    /// Storage URL. By default, `VITE_DEPLOY_STORAGE`.
    #[serde(default)]
    pub storage: Option<String>,
    /// object_store configuration keys for the backend, such as `aws_region`.
    /// Credentials not given here come from the standard environment.
    #[serde(default)]
    pub storage_options: BTreeMap<String, String>,
    /// Which orphans to delete once every upload succeeded: `true` (all now),
    /// `false` (none), or `{ keep, olderThan }`. By default `{ keep: 2 }`:
    /// orphans the previous release still references survive.
    /// `VITE_DEPLOY_DELETE=false` turns deletion off.
    #[serde(default)]
    pub delete: Option<DeleteOption>,
    /// Refuse to delete more than this many objects (unless `force`). By
    /// default: more than 1,000, or more than half of the remote keys.
    #[serde(default)]
    pub max_deletes: Option<i64>,
    /// The URL or path the site is served from (Vite's `base`), to resolve
    /// asset URLs in HTML when checking them before the HTML goes live.
    #[serde(default)]
    pub base: Option<String>,
    /// Plan only: list, compare and report, with no write at all.
    #[serde(default)]
    pub dry_run: bool,
    /// What the report's `files` lists. By default only what the deploy
    /// changes (uploads, deletes, kept orphans); unchanged files are counted
    /// in the summary. `full` lists every file.
    #[serde(default)]
    pub report: ReportDetail,
    /// Uploads in flight at once. By default [`DEFAULT_CONCURRENCY`] for
    /// cloud stores, [`DEFAULT_WEBDAV_CONCURRENCY`] for WebDAV and
    /// [`DEFAULT_LOCAL_CONCURRENCY`] for local ones.
    #[serde(default)]
    pub concurrency: Option<i64>,
    /// Only files matching one of these globs (relative to `dir`) are published.
    /// By default every file is.
    #[serde(default)]
    pub include: Vec<String>,
    /// Files matching one of these globs are neither published nor deleted.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `Cache-Control` per glob; the first matching glob wins over the
    /// defaults (`immutable` for hashed assets, `no-cache` otherwise).
    #[serde(default)]
    pub cache_control: serde_json::Map<String, serde_json::Value>,
    /// Header rules: a list of `{ match, contentType?, cacheControl?,
    /// contentDisposition?, contentLanguage?, contentEncoding?, metadata? }`;
    /// per header, the first matching rule that sets it wins, before
    /// `cacheControl` and the defaults. Checked by
    /// [`crate::headers::parse_rules`], which names the rule and field.
    #[serde(default)]
    pub headers: Option<serde_json::Value>,
    /// Write again, once, the unchanged objects whose headers the ledger
    /// does not know (written before it recorded them), so every object
    /// has the headers the rules give. By default only objects whose
    /// recorded headers differ from the rules' are written again.
    #[serde(default)]
    pub repair_headers: bool,
    /// Paths (relative to `dir`) known to be content-hashed, such as every
    /// `file`, `css` and `assets` entry of Vite's manifest. When given, only
    /// these (and their source maps) count as hashed; by default the Vite
    /// manifest in `dir` decides, and without one no file is hashed.
    #[serde(default)]
    pub hashed_files: Option<Vec<String>>,
    /// Retries of a request that failed with a 5xx, a reset connection or a
    /// timeout; 4xx answers are never retried. By default [`DEFAULT_RETRIES`].
    #[serde(default)]
    pub retries: Option<i64>,
    /// Time limit of one request, such as `30s` or `2m`. By default
    /// object_store's (30 seconds).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Proceed when `dir` looks like a project folder rather than a build,
    /// or when the deploy would delete more than `maxDeletes`.
    #[serde(default)]
    pub force: bool,
    /// How long to wait for another deploy's lease on the prefix before
    /// failing with `LEASE_HELD`, such as `30s` or `10m`; `0s` fails at
    /// once. By default 5 minutes.
    #[serde(default)]
    pub lease_wait: Option<String>,
    /// Take over the prefix's lease even though another deploy holds it and
    /// it has not expired: for a deploy that died without releasing it.
    #[serde(default)]
    pub break_lease: bool,
    /// Store text-like files compressed, with `Content-Encoding`: `'gzip'`,
    /// `'br'` or `false` (see [`crate::compress`]). By default `false`.
    #[serde(default)]
    pub compress: Option<CompressOption>,
}

/// `compress` as JS gives it: a method's name or `false`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CompressOption {
    /// `false` (off); `true` is refused, it names no method.
    Flag(bool),
    /// `'gzip'` or `'br'`.
    Method(String),
}

impl CompressOption {
    fn resolve(self) -> Result<Option<crate::compress::Method>> {
        match self {
            CompressOption::Flag(false) => Ok(None),
            CompressOption::Flag(true) => Err(Error::InvalidOption {
                name: "compress".into(),
                reason: "true names no method: use 'gzip' (every browser) or 'br' (HTTPS only), or false".into(),
            }),
            CompressOption::Method(name) => crate::compress::Method::parse(&name).map(Some),
        }
    }
}

/// What the report's `files` lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReportDetail {
    /// Uploads, deletes and kept orphans; unchanged files are only counted:
    /// the report of a large build then does not grow with it.
    #[default]
    Changed,
    /// Every file, unchanged ones included.
    Full,
}

/// `delete` as JS gives it: a boolean or retention settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DeleteOption {
    /// `true`: every orphan now; `false`: none.
    All(bool),
    /// `{ keep, olderThan }`.
    Retain(RetainOption),
}

/// `delete: { keep, olderThan }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetainOption {
    /// Releases whose files survive, the live one included. By default 2.
    #[serde(default)]
    pub keep: Option<i64>,
    /// Minimum age of an orphan before deletion, such as `1h`.
    #[serde(default)]
    pub older_than: Option<String>,
}

/// Options after fallbacks and validation.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The build directory.
    pub dir: PathBuf,
    /// The storage URL.
    pub storage: String,
    /// Storage option keys, lowercased, with their values.
    pub storage_options: BTreeMap<String, String>,
    /// Which orphans are deleted.
    pub delete: DeletePolicy,
    /// The mass-delete limit, if given.
    pub max_deletes: Option<usize>,
    /// The site's base URL or path, if given.
    pub base: Option<String>,
    /// Plan only.
    pub dry_run: bool,
    /// What the report's `files` lists.
    pub report: ReportDetail,
    /// Uploads in flight at once, when given; the store decides otherwise.
    pub concurrency: Option<usize>,
    /// Include globs.
    pub include: Vec<String>,
    /// Exclude globs.
    pub exclude: Vec<String>,
    /// Header rules: `headers` in order, then the `cacheControl` shorthand.
    pub headers: Vec<crate::headers::HeaderRule>,
    /// Write again the objects whose stored headers are unknown.
    pub repair_headers: bool,
    /// Known content-hashed paths, if any.
    pub hashed_files: Option<Vec<String>>,
    /// Retries per request.
    pub retries: usize,
    /// Time limit per request, as given.
    pub timeout: Option<String>,
    /// Skip the "is this a build?" check.
    pub force: bool,
    /// How to take the deploy lease.
    pub lease: crate::lease::Settings,
    /// The compression tried on text-like files, if any.
    pub compress: Option<crate::compress::Method>,
}

impl DeployOptions {
    /// Applies the environment fallbacks read through `env` and checks values.
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<Resolved> {
        let storage = storage_or_env(self.storage, &env)?;

        let delete = match self.delete {
            Some(DeleteOption::All(true)) => DeletePolicy::All,
            Some(DeleteOption::All(false)) => DeletePolicy::Never,
            Some(DeleteOption::Retain(retain)) => retain.policy()?,
            None => match env("VITE_DEPLOY_DELETE") {
                Some(value) if !parse_bool("VITE_DEPLOY_DELETE", &value)? => DeletePolicy::Never,
                _ => DeletePolicy::default(),
            },
        };
        let max_deletes = match self.max_deletes {
            None => None,
            Some(n) if n >= 0 => Some(n as usize),
            Some(n) => {
                return Err(Error::InvalidOption {
                    name: "maxDeletes".into(),
                    reason: format!("{n} is negative"),
                })
            }
        };

        let concurrency = match self.concurrency {
            None => None,
            Some(n) if n >= 1 && n as usize <= MAX_CONCURRENCY => Some(n as usize),
            Some(n) => {
                return Err(Error::InvalidOption {
                    name: "concurrency".into(),
                    reason: format!("{n} is not between 1 and {MAX_CONCURRENCY}"),
                })
            }
        };

        let network = network(self.retries, self.timeout.as_deref())?;

        let cache_control = self
            .cache_control
            .into_iter()
            .map(|(glob, value)| match value {
                serde_json::Value::String(value) => match crate::headers::check_value(&value) {
                    Ok(()) => Ok((glob, value)),
                    Err(reason) => Err(Error::InvalidOption {
                        name: "cacheControl".into(),
                        reason: format!("the value for '{glob}' {reason}"),
                    }),
                },
                other => Err(Error::InvalidOption {
                    name: "cacheControl".into(),
                    reason: format!("the value for '{glob}' must be a string, not {other}"),
                }),
            })
            .collect::<Result<Vec<(String, String)>>>()?;
        let mut headers = match &self.headers {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(value) => crate::headers::parse_rules(value)?,
        };
        headers.extend(crate::headers::shorthand(&cache_control));
        let compress = self
            .compress
            .map(CompressOption::resolve)
            .transpose()?
            .flatten();
        // Bytes a rule declares already encoded would be compressed again
        // under one Content-Encoding, which no browser can read.
        if let (Some(method), Some(rule)) = (
            compress,
            headers.iter().find(|rule| rule.content_encoding.is_some()),
        ) {
            let name = match rule.origin {
                crate::headers::Origin::Headers(index) => {
                    format!("headers[{index}].contentEncoding")
                }
                crate::headers::Origin::CacheControl => "headers".into(),
            };
            return Err(Error::InvalidOption {
                name,
                reason: format!(
                    "declares files already encoded, and compress: '{}' would encode them again — with compress on, leave Content-Encoding to it (drop the rule's contentEncoding), or turn compress off",
                    method.content_encoding()
                ),
            });
        }

        let lease = crate::lease::Settings {
            wait: match self.lease_wait.as_deref().map(str::trim) {
                None | Some("") => crate::lease::DEFAULT_WAIT,
                Some(text) => parse_duration(text).map_err(|reason| Error::InvalidOption {
                    name: "leaseWait".into(),
                    reason: format!(
                        "{reason} (0s fails at once when another deploy holds the lease)"
                    ),
                })?,
            },
            break_lease: self.break_lease,
        };

        Ok(Resolved {
            dir: self.dir,
            storage,
            storage_options: lowercase_keys(self.storage_options)?,
            delete,
            max_deletes,
            base: self.base.filter(|b| !b.is_empty()),
            dry_run: self.dry_run,
            report: self.report,
            concurrency,
            include: self.include,
            exclude: self.exclude,
            headers,
            repair_headers: self.repair_headers,
            hashed_files: self.hashed_files,
            retries: network.retries,
            timeout: network.timeout,
            force: self.force,
            lease,
            compress,
        })
    }
}

/// `retries` and `timeout` as deploy, releases and rollback take them: one
/// check and one set of defaults for every operation that talks to a store.
/// The timeout reaches object_store in whole seconds (`30s`), the unit its
/// parser and ours share.
pub fn network(retries: Option<i64>, timeout: Option<&str>) -> Result<crate::store::Network> {
    let retries = match retries {
        None => DEFAULT_RETRIES,
        Some(n) if n >= 0 && n as usize <= MAX_RETRIES => n as usize,
        Some(n) => {
            return Err(Error::InvalidOption {
                name: "retries".into(),
                reason: format!("{n} is not between 0 and {MAX_RETRIES}"),
            })
        }
    };
    let timeout = match timeout.map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            let invalid = |reason: String| Error::InvalidOption {
                name: "timeout".into(),
                reason: format!(
                    "{reason} — the time limit of one request, such as 30s or 2m (by default 30s)"
                ),
            };
            let limit = parse_duration(text).map_err(invalid)?;
            if limit.is_zero() {
                return Err(invalid(format!("'{text}' would fail every request")));
            }
            Some(format!("{}s", limit.as_secs()))
        }
    };
    Ok(crate::store::Network { retries, timeout })
}

/// The storage URL given, else `VITE_DEPLOY_STORAGE`; blank counts as none.
pub fn storage_or_env(
    storage: Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String> {
    // Trimmed: a trailing newline (a pasted URL) would read as a path change.
    storage
        .filter(|s| !s.trim().is_empty())
        .or_else(|| env("VITE_DEPLOY_STORAGE").filter(|s| !s.trim().is_empty()))
        .map(|s| s.trim().to_string())
        .ok_or(Error::NoStorage)
}

/// Storage option keys in lower case, as object_store's key parsers expect.
/// Two keys that differ only in case are refused: one would silently win.
pub fn lowercase_keys(options: BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
    let mut lowered: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (key, value) in options {
        let lower = key.to_ascii_lowercase();
        if let Some((first, _)) = lowered.get(&lower) {
            return Err(Error::InvalidOption {
                name: "storageOptions".into(),
                reason: format!("'{first}' and '{key}' are the same option — give it once"),
            });
        }
        lowered.insert(lower, (key, value));
    }
    Ok(lowered
        .into_iter()
        .map(|(lower, (_, value))| (lower, value))
        .collect())
}

impl RetainOption {
    fn policy(self) -> Result<DeletePolicy> {
        let keep = match self.keep {
            None => DEFAULT_KEEP,
            Some(n) if n >= 1 => n as usize,
            Some(n) => {
                return Err(Error::InvalidOption {
                    name: "delete.keep".into(),
                    reason: format!("{n} is less than 1: the live release is always kept"),
                })
            }
        };
        let older_than = match self.older_than {
            None => DEFAULT_WINDOW,
            Some(text) => parse_duration(&text).map_err(|reason| Error::InvalidOption {
                name: "delete.olderThan".into(),
                reason,
            })?,
        };
        let older_than = Some(older_than);
        Ok(DeletePolicy::Retain { keep, older_than })
    }
}

fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(Error::InvalidOption {
            name: name.into(),
            reason: format!("'{other}' is not a boolean: use true or false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn options(storage: Option<&str>) -> DeployOptions {
        DeployOptions {
            dir: "dist".into(),
            storage: storage.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn storage_falls_back_to_environment() {
        let resolved = options(None)
            .resolve(|name| (name == "VITE_DEPLOY_STORAGE").then(|| "memory:///x".to_string()))
            .unwrap();
        assert_eq!(resolved.storage, "memory:///x");
        let given = options(Some("file:///a"))
            .resolve(|name| (name == "VITE_DEPLOY_STORAGE").then(|| "memory:///x".into()))
            .unwrap();
        assert_eq!(given.storage, "file:///a");
        assert!(matches!(
            options(None).resolve(no_env),
            Err(Error::NoStorage)
        ));
        let pasted = options(None)
            .resolve(|name| (name == "VITE_DEPLOY_STORAGE").then(|| "memory:///x\n".to_string()))
            .unwrap();
        assert_eq!(pasted.storage, "memory:///x");
    }

    #[test]
    fn delete_defaults_to_retention_and_env_can_turn_it_off() {
        assert_eq!(
            options(Some("memory://")).resolve(no_env).unwrap().delete,
            DeletePolicy::default()
        );
        let parsed: DeployOptions = serde_json::from_value(
            serde_json::json!({"dir": "d", "storage": "memory://", "delete": {"keep": 3, "olderThan": "1h"}}),
        )
        .unwrap();
        assert_eq!(
            parsed.resolve(no_env).unwrap().delete,
            DeletePolicy::Retain {
                keep: 3,
                older_than: Some(std::time::Duration::from_secs(3600))
            }
        );
        let bad: DeployOptions = serde_json::from_value(serde_json::json!({"dir": "d", "storage": "memory://", "delete": {"olderThan": "soon"}})).unwrap();
        assert!(bad
            .resolve(no_env)
            .unwrap_err()
            .to_string()
            .contains("'soon' is not a duration"));
        for huge in ["10000000000000000000s", "213503982334602d"] {
            let bad: DeployOptions = serde_json::from_value(serde_json::json!({"dir": "d", "storage": "memory://", "delete": {"olderThan": huge}})).unwrap();
            let error = bad.resolve(no_env).unwrap_err();
            assert!(
                matches!(&error, Error::InvalidOption { name, .. } if name == "delete.olderThan"),
                "{huge}: {error}"
            );
            assert!(error.to_string().contains("is too long"), "{error}");
        }
        // The 24-hour window applies unless olderThan says otherwise.
        let keep_only: DeployOptions = serde_json::from_value(
            serde_json::json!({"dir": "d", "storage": "memory://", "delete": {"keep": 3}}),
        )
        .unwrap();
        assert_eq!(
            keep_only.resolve(no_env).unwrap().delete,
            DeletePolicy::Retain {
                keep: 3,
                older_than: Some(DEFAULT_WINDOW)
            }
        );
        let off = options(Some("memory://"))
            .resolve(|n| (n == "VITE_DEPLOY_DELETE").then(|| "false".to_string()))
            .unwrap();
        assert_eq!(off.delete, DeletePolicy::Never);
        let bad = options(Some("memory://"))
            .resolve(|n| (n == "VITE_DEPLOY_DELETE").then(|| "maybe".to_string()));
        assert!(matches!(bad, Err(Error::InvalidOption { .. })));
    }

    #[test]
    fn lease_wait_is_a_duration_and_defaults_to_five_minutes() {
        let wait = |text: Option<&str>| {
            let mut o = options(Some("memory://"));
            o.lease_wait = text.map(String::from);
            o.resolve(no_env).map(|r| r.lease.wait)
        };
        assert_eq!(wait(None).unwrap(), crate::lease::DEFAULT_WAIT);
        assert_eq!(wait(Some("0s")).unwrap(), std::time::Duration::ZERO);
        assert_eq!(
            wait(Some("1h30m")).unwrap(),
            std::time::Duration::from_secs(5400)
        );
        let error = wait(Some("soon")).unwrap_err().to_string();
        assert!(
            error.starts_with("invalid option `leaseWait`: 'soon' is not a duration"),
            "{error}"
        );
    }

    #[test]
    fn concurrency_must_be_positive() {
        for bad in [0, -1, 100_000] {
            let mut o = options(Some("memory://"));
            o.concurrency = Some(bad);
            assert!(
                matches!(o.resolve(no_env), Err(Error::InvalidOption { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            options(Some("memory://"))
                .resolve(no_env)
                .unwrap()
                .concurrency,
            None
        );
    }

    #[test]
    fn retries_and_timeout_are_checked_once_for_every_operation() {
        let defaults = network(None, None).unwrap();
        assert_eq!(
            (defaults.retries, defaults.timeout),
            (DEFAULT_RETRIES, None)
        );
        let given = network(Some(0), Some(" 2m ")).unwrap();
        assert_eq!((given.retries, given.timeout.as_deref()), (0, Some("120s")));
        assert_eq!(network(None, Some("")).unwrap().timeout, None);
        for (retries, timeout, message) in [
            (Some(-1), None, "invalid option `retries`: -1 is not between 0 and 100"),
            (Some(101), None, "invalid option `retries`: 101 is not between 0 and 100"),
            (None, Some("soon"), "invalid option `timeout`: 'soon' is not a duration"),
            (None, Some("500ms"), "invalid option `timeout`: '500ms' is not a duration"),
            (None, Some("0s"), "invalid option `timeout`: '0s' would fail every request — the time limit of one request, such as 30s or 2m (by default 30s)"),
        ] {
            let error = network(retries, timeout).unwrap_err().to_string();
            assert!(error.starts_with(message), "{error}");
            // deploy() says the same.
            let mut o = options(Some("memory://"));
            o.retries = retries;
            o.timeout = timeout.map(str::to_string);
            assert_eq!(o.resolve(no_env).unwrap_err().to_string(), error);
        }
    }

    #[test]
    fn keys_differing_only_in_case_are_refused() {
        let mut o = options(Some("memory://"));
        o.storage_options = BTreeMap::from([
            ("aws_endpoint".to_string(), "http://a".to_string()),
            ("AWS_ENDPOINT".to_string(), "http://b".to_string()),
        ]);
        let error = o.resolve(no_env).unwrap_err().to_string();
        assert!(
            error.contains("'AWS_ENDPOINT' and 'aws_endpoint' are the same option"),
            "{error}"
        );
        let mut o = options(Some("memory://"));
        o.storage_options = BTreeMap::from([("AWS_Region".to_string(), "x".to_string())]);
        let resolved = o.resolve(no_env).unwrap();
        assert_eq!(resolved.storage_options["aws_region"], "x");
    }

    #[test]
    fn durations_too_long_to_count_are_refused() {
        for text in [
            "99999999999999999d",
            "18446744073709551615s1s",
            "9223372036854775808s",
        ] {
            let parsed: DeployOptions = serde_json::from_value(serde_json::json!({"dir": "d", "storage": "memory://", "delete": {"olderThan": text}})).unwrap();
            assert!(
                matches!(parsed.resolve(no_env), Err(Error::InvalidOption { .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn header_values_are_one_line() {
        let mut o = options(Some("memory://"));
        o.cache_control =
            serde_json::from_value(serde_json::json!({"**/*.html": "no-cache\r\nX-Injected: 1"}))
                .unwrap();
        let error = o.resolve(no_env).unwrap_err().to_string();
        assert!(
            error.contains("'**/*.html'") && error.contains("line break"),
            "{error}"
        );
    }

    #[test]
    fn compress_refuses_rules_that_declare_an_encoding() {
        // Compressing bytes a rule says are already encoded would store them
        // encoded twice under one Content-Encoding: unreadable.
        let parsed: DeployOptions = serde_json::from_value(serde_json::json!({
            "dir": "d",
            "storage": "memory://",
            "compress": "gzip",
            "headers": [{ "match": "**/*.html", "cacheControl": "no-cache" }, { "match": "**/*.js", "contentEncoding": "br" }],
        }))
        .unwrap();
        let error = parsed.resolve(no_env).unwrap_err().to_string();
        assert!(
            error.contains("headers[1].contentEncoding") && error.contains("compress"),
            "{error}"
        );
    }

    #[test]
    fn header_rules_come_before_the_cache_control_shorthand() {
        let parsed: DeployOptions = serde_json::from_value(serde_json::json!({
            "dir": "d",
            "storage": "memory://",
            "cacheControl": { "**/*.html": "public, max-age=60" },
            "headers": [{ "match": "**", "cacheControl": "private", "contentLanguage": "en" }],
            "repairHeaders": true,
        }))
        .unwrap();
        let resolved = parsed.resolve(no_env).unwrap();
        let origins: Vec<_> = resolved.headers.iter().map(|r| r.origin).collect();
        assert_eq!(
            origins,
            [
                crate::headers::Origin::Headers(0),
                crate::headers::Origin::CacheControl
            ]
        );
        assert!(resolved.repair_headers);
        let bad: DeployOptions = serde_json::from_value(serde_json::json!({
            "dir": "d",
            "storage": "memory://",
            "headers": [{ "match": "**", "cacheControl": "x" }, { "match": "*.pdf", "contentDisposition": 1 }],
        }))
        .unwrap();
        let error = bad.resolve(no_env).unwrap_err();
        assert_eq!(error.code(), "INVALID_OPTION");
        assert!(
            error
                .to_string()
                .starts_with("invalid option `headers[1].contentDisposition`: must be a string"),
            "{error}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected_by_name() {
        let error = serde_json::from_value::<DeployOptions>(
            serde_json::json!({"dir": "d", "dryrun": true}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("dryrun") && error.contains("dryRun"),
            "{error}"
        );
    }

    #[test]
    fn suggestions_name_the_closest_key() {
        assert_eq!(
            suggest("aws_endpoin", S3_KEYS, "s3://"),
            " (did you mean 'aws_endpoint'?)"
        );
        assert_eq!(
            suggest("azure_storage_use_emultor", AZURE_KEYS, "az://"),
            " (did you mean 'azure_storage_use_emulator'?)"
        );
        assert!(suggest("aws_region", AZURE_KEYS, "az://").contains("is an S3 option"));
        assert!(suggest("anything", &[], "file://").contains("takes no options"));
    }

    #[test]
    fn listed_keys_are_real_object_store_keys() {
        use object_store::aws::AmazonS3ConfigKey;
        use object_store::azure::AzureConfigKey;
        use object_store::gcp::GoogleConfigKey;
        // `aws_profile` is vite-deploy's own: the credential chain reads it.
        let s3_keys = S3_KEYS
            .iter()
            .filter(|key| **key != crate::credentials::PROFILE_KEY);
        for key in s3_keys.chain(CLIENT_KEYS) {
            assert!(AmazonS3ConfigKey::from_str(key).is_ok(), "{key}");
        }
        for key in GCS_KEYS.iter().chain(CLIENT_KEYS) {
            assert!(GoogleConfigKey::from_str(key).is_ok(), "{key}");
        }
        for key in AZURE_KEYS.iter().chain(CLIENT_KEYS) {
            assert!(AzureConfigKey::from_str(key).is_ok(), "{key}");
        }
    }
}
