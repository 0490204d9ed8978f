//! The Node binding: the only file that knows about napi.
//!
//! Domain errors are returned as values (`{ ok: false, error: { code,
//! message, usage } }`, beside `{ ok: true, value }`, as JSON text) rather
//! than thrown, so the JS layer can raise an `Error` with a stable `code`;
//! deploy.js does that.

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::{json, Value};

use crate::error::Error;
use crate::options::DeployOptions;
use crate::publish::{Cancellation, Event, Progress};
use crate::rollback::LedgerOptions;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// Deploys in flight, by the id JS gave them, so `cancelDeploy(id)` can stop one.
static RUNNING: LazyLock<Mutex<HashMap<u32, Cancellation>>> = LazyLock::new(Default::default);

type ProgressCallback = ThreadsafeFunction<Value, (), Value, napi::Status, false>;

struct JsProgress(Option<ProgressCallback>);

impl Progress for JsProgress {
    fn event(&self, event: Event) {
        if let (Some(callback), Ok(value)) = (&self.0, serde_json::to_value(event)) {
            // NonBlocking: a slow progress bar must never slow the uploads.
            callback.call(value, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// Runs a deploy; resolves to `{ ok: true, value: report }` or `{ ok: false, error }`, as JSON text.
#[napi(
    js_name = "deploy",
    ts_args_type = "options: object, onProgress?: (event: object) => void, id?: number, env?: Record<string, string>",
    ts_return_type = "Promise<string>"
)]
pub async fn deploy_binding(
    options: Value,
    on_progress: Option<ProgressCallback>,
    id: Option<u32>,
    env: Option<HashMap<String, String>>,
) -> napi::Result<String> {
    return_freed_memory();
    let cancel = Cancellation::default();
    if let Some(id) = id {
        RUNNING.lock().unwrap().insert(id, cancel.clone());
    }
    let progress = JsProgress(on_progress);
    let files = FileEnv(env.unwrap_or_default());
    let answer = answer(options, |options: DeployOptions| {
        let options = files.apply(options);
        crate::deploy_with_env(options, |name| files.get(name), &progress, &cancel)
    })
    .await;
    if let Some(id) = id {
        RUNNING.lock().unwrap().remove(&id);
    }
    Ok(answer)
}

/// Lets glibc give freed memory back to the system as it goes, once per
/// process, unless `MALLOC_TRIM_THRESHOLD_` says otherwise.
///
/// A deploy allocates on many threads (tokio's workers and blocking pool),
/// and glibc gives each its own heap. By default a heap is trimmed only once
/// more than twice the largest block freed so far sits free at its top; the
/// first freed multi-MB buffer (a listing page, the scan's file list, a
/// multipart part) raises that to tens of MB, so every heap kept its own
/// high-water mark. Fixed at glibc's initial 128 KiB it stays there: on the
/// 20,000-file build (debug addon, `file://`) peak RSS fell from 121 to 107
/// MB cold and from 129–132 to 109 MB incremental, at the same speed;
/// a `#[global_allocator]` did worse (mimalloc 118–191 MB, jemalloc 126–154
/// MB cold). It is process-wide, and glibc's own default value: only the
/// raising stops.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_none() {
                // SAFETY: mallopt only changes a malloc setting; it is
                // thread-safe (it takes each arena's lock).
                unsafe { libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024) };
            }
        });
    }
}

/// Checks the options and the store without deploying (see
/// [`crate::check_with_env`]); resolves to `{ ok: true }` or `{ ok: false, error }`, as JSON text.
#[napi(
    js_name = "check",
    ts_args_type = "options: object, env?: Record<string, string>, reach?: boolean",
    ts_return_type = "Promise<string>"
)]
pub async fn check_binding(
    options: Value,
    env: Option<HashMap<String, String>>,
    reach: Option<bool>,
) -> napi::Result<String> {
    let files = FileEnv(env.unwrap_or_default());
    Ok(answer(options, |options: DeployOptions| {
        let options = files.apply(options);
        crate::check_with_env(options, |name| files.get(name), reach.unwrap_or(false))
    })
    .await)
}

/// The AWS keys the deploy signs with, for the CloudFront invalidation that
/// cdn.js signs itself (see [`crate::aws_keys_with_env`]); `null` when no
/// source has any. Never printed: cdn.js redacts them from its messages.
#[napi(
    js_name = "awsKeys",
    ts_args_type = "options: object, env?: Record<string, string>",
    ts_return_type = "Promise<string>"
)]
pub async fn aws_keys_binding(
    options: Value,
    env: Option<HashMap<String, String>>,
) -> napi::Result<String> {
    let files = FileEnv(env.unwrap_or_default());
    Ok(answer(options, |options: DeployOptions| {
        let options = files.apply(options);
        crate::aws_keys_with_env(options, |name| files.get(name))
    })
    .await)
}

/// Variables read from Vite's env files (`.env`, `.env.[mode].local`, …) by
/// the JS side, for this deploy only: they are never written to the process
/// environment, which wins over them.
struct FileEnv(HashMap<String, String>);

impl FileEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.0.get(name).cloned())
    }

    /// Credentials from the files (`AWS_*`, `GOOGLE_*`, `AZURE_*`) as storage
    /// options, under those given: object_store's builders read only the
    /// process environment.
    fn apply(&self, mut options: DeployOptions) -> DeployOptions {
        self.complete(&mut options.storage, &mut options.storage_options);
        options
    }

    /// [`FileEnv::apply`] for `releases` and `rollback`.
    fn apply_to_ledger(&self, mut options: LedgerOptions) -> LedgerOptions {
        self.complete(&mut options.storage, &mut options.storage_options);
        options
    }

    /// The storage URL from `VITE_DEPLOY_STORAGE` when none is given, and the
    /// files' credentials for its backend under the options given.
    fn complete(
        &self,
        storage: &mut Option<String>,
        storage_options: &mut std::collections::BTreeMap<String, String>,
    ) {
        if storage.as_deref().is_none_or(|s| s.trim().is_empty()) {
            *storage = self.get("VITE_DEPLOY_STORAGE").or(storage.take());
        }
        let Some(storage) = storage.as_deref() else {
            return;
        };
        let given: std::collections::HashSet<String> = storage_options
            .keys()
            .map(|k| k.to_ascii_lowercase())
            .collect();
        let unset: HashMap<String, String> = self
            .0
            .iter()
            .filter(|(name, _)| std::env::var_os(name).is_none())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, value) in crate::store::options_from_vars(storage, &unset) {
            if !given.contains(&key) {
                storage_options.insert(key, value);
            }
        }
    }
}

/// Stops the deploy started with `id` between files: nothing new is uploaded,
/// uploads in flight finish, nothing is deleted. Unknown ids are ignored.
#[napi(js_name = "cancelDeploy")]
pub fn cancel_deploy(id: u32) {
    if let Some(cancel) = RUNNING.lock().unwrap().get(&id) {
        cancel.cancel();
    }
}

/// The answer to JS as JSON text, parsed there with `JSON.parse`: a report
/// of 20,000 files built as JS objects one napi call at a time, through a
/// `serde_json::Value`, held 18 MB at once; as text it is one string.
fn respond<T: serde::Serialize>(result: crate::Result<T>) -> String {
    #[derive(serde::Serialize)]
    struct Answer<T> {
        ok: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        value: Option<T>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<Value>,
    }
    let answer = match result {
        Ok(value) => Answer {
            ok: true,
            value: Some(value),
            error: None,
        },
        Err(error) => Answer {
            ok: false,
            value: None,
            error: Some(
                json!({ "code": error.code(), "message": crate::store::redact_text(&error.to_string()), "usage": error.is_usage() }),
            ),
        },
    };
    serde_json::to_string(&answer).unwrap_or_else(|error| {
        json!({ "ok": false, "error": { "code": "INTERNAL", "message": format!("cannot encode the answer: {error}"), "usage": false } }).to_string()
    })
}

/// Parses the options, runs `operation` with them, and answers as [`respond`] does.
async fn answer<O, T, F>(options: Value, operation: impl FnOnce(O) -> F) -> String
where
    O: serde::de::DeserializeOwned,
    T: serde::Serialize,
    F: std::future::Future<Output = crate::Result<T>>,
{
    let result = match parse_options(options) {
        Ok(options) => operation(options).await,
        Err(error) => Err(error),
    };
    respond(result)
}

/// Options from JS; a wrong field is named by its path (`delete.keep`).
/// serde quotes the value it refused, so for the storage URL and its options,
/// which hold credentials, only what was expected is said.
fn parse_options<T: serde::de::DeserializeOwned>(options: Value) -> crate::Result<T> {
    serde_path_to_error::deserialize(options).map_err(|error| {
        let name = error.path().to_string();
        let reason = error.into_inner().to_string();
        let reason = if name.starts_with("storage") {
            match reason.split_once(", expected ") {
                Some((_, expected)) => format!(
                    "expected {expected} (the value given is not shown: it may be a secret)"
                ),
                None => "this value is not accepted (it is not shown: it may be a secret)".into(),
            }
        } else {
            reason
        };
        Error::InvalidOption { name, reason }
    })
}

/// A storage URL with its credentials hidden, as the engine shows URLs: the
/// CLI and the plugin print theirs through this too.
#[napi(js_name = "redactUrl")]
pub fn redact_url(url: String) -> String {
    crate::store::redact_url(&url)
}

/// How a storage URL's backend names its option keys, from the backends
/// table: the CLI leaves out a config's options of another backend with it.
#[napi(object)]
pub struct StorageKeys {
    /// Whether the backend takes options at all (`file://` and `memory://` do not).
    pub takes_options: bool,
    /// The prefix of its own keys (`aws_`), if it has one.
    pub prefix: Option<String>,
    /// The prefixes of every backend's keys.
    pub prefixes: Vec<String>,
}

/// [`StorageKeys`] of a storage URL; an unknown scheme takes any option
/// (the engine refuses it with its own message).
#[napi(js_name = "storageKeys")]
pub fn storage_keys(url: String) -> StorageKeys {
    use crate::backends::Backend;
    let backend = url
        .split_once("://")
        .and_then(|(scheme, _)| Backend::for_url_scheme(scheme));
    let prefix_of = |backend: Backend| backend.credentials().map(|c| c.env_prefix.to_string());
    StorageKeys {
        takes_options: backend.is_none_or(|b| !b.keys().is_empty()),
        prefix: backend.and_then(prefix_of),
        prefixes: Backend::all().filter_map(prefix_of).collect(),
    }
}

/// Lists the kept releases; resolves to `{ ok, value }` or `{ ok: false, error }`, as JSON text.
#[napi(
    js_name = "releases",
    ts_args_type = "options: object, env?: Record<string, string>",
    ts_return_type = "Promise<string>"
)]
pub async fn releases_binding(
    options: Value,
    env: Option<HashMap<String, String>>,
) -> napi::Result<String> {
    let files = FileEnv(env.unwrap_or_default());
    Ok(answer(options, |options: LedgerOptions| {
        crate::rollback::releases(files.apply_to_ledger(options))
    })
    .await)
}

/// Rolls back to an earlier release; resolves to `{ ok, value }` or `{ ok: false, error }`, as JSON text.
#[napi(
    js_name = "rollback",
    ts_args_type = "options: object, env?: Record<string, string>",
    ts_return_type = "Promise<string>"
)]
pub async fn rollback_binding(
    options: Value,
    env: Option<HashMap<String, String>>,
) -> napi::Result<String> {
    let files = FileEnv(env.unwrap_or_default());
    Ok(answer(options, |options: LedgerOptions| {
        crate::rollback::rollback(files.apply_to_ledger(options))
    })
    .await)
}

/// One object of the process's `memory://` store.
#[napi(object)]
pub struct MemoryObject {
    /// Its key, relative to the prefix read.
    pub key: String,
    /// Its bytes.
    pub body: napi::bindgen_prelude::Buffer,
}

/// Every object under a `memory://` URL's prefix, read with object_store's
/// own list and get on a second handle to the process's in-memory store, not
/// through the deploy's listing or ledger: the tests read `memory://` back
/// with it, as they read other stores from their servers.
#[napi(js_name = "readMemoryStore")]
pub async fn read_memory_store(url: String) -> napi::Result<Vec<MemoryObject>> {
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    let failed = |message: String| napi::Error::from_reason(message);
    if !url.starts_with("memory://") {
        return Err(failed(format!("not a memory:// URL: {url}")));
    }
    let network = crate::store::Network {
        retries: 0,
        timeout: None,
    };
    let target = crate::store::open(&url, &Default::default(), &network)
        .map_err(|e| failed(e.to_string()))?;
    let prefix = (!target.prefix.as_ref().is_empty()).then_some(&target.prefix);
    let listed: Vec<_> = target
        .store
        .list(prefix)
        .try_collect()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let mut objects = Vec::with_capacity(listed.len());
    for meta in listed {
        let body = target
            .store
            .get(&meta.location)
            .await
            .map_err(|e| failed(e.to_string()))?
            .bytes()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let key = target
            .relative(&meta.location)
            .unwrap_or(meta.location.as_ref())
            .to_string();
        objects.push(MemoryObject {
            key,
            body: body.to_vec().into(),
        });
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn storage_keys_come_from_the_backends_table() {
        let keys = storage_keys("az://container/app".into());
        assert!(keys.takes_options);
        assert_eq!(keys.prefix.as_deref(), Some("azure_"));
        assert_eq!(keys.prefixes, ["aws_", "google_", "azure_"]);
        assert_eq!(
            storage_keys("S3A://b/p".into()).prefix.as_deref(),
            Some("aws_")
        );
        for local in ["file:///tmp/x", "memory:///p"] {
            assert!(!storage_keys(local.into()).takes_options, "{local}");
        }
        for any in ["https://dav.example/site", "ftp://host/x", "no-scheme"] {
            let keys = storage_keys(any.into());
            assert!(keys.takes_options && keys.prefix.is_none(), "{any}");
        }
    }

    #[test]
    fn file_variables_fill_in_under_what_is_given() {
        let names = ["VITE_DEPLOY_STORAGE", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"];
        if names.iter().any(|name| std::env::var_os(name).is_some()) {
            return; // the process environment would win over the files
        }
        let files = FileEnv(
            [
                ("VITE_DEPLOY_STORAGE", "s3://bucket/app"),
                ("AWS_SECRET_ACCESS_KEY", "from-the-file"),
                ("AWS_REGION", "eu-west-1"),
                ("AZURE_STORAGE_ACCOUNT_KEY", "other-backend"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        );
        let mut storage = None;
        let mut options = BTreeMap::from([("AWS_REGION".to_string(), "us-east-1".to_string())]);
        files.complete(&mut storage, &mut options);
        assert_eq!(storage.as_deref(), Some("s3://bucket/app"));
        assert_eq!(
            options,
            BTreeMap::from([
                ("AWS_REGION".to_string(), "us-east-1".to_string()),
                (
                    "aws_secret_access_key".to_string(),
                    "from-the-file".to_string()
                ),
            ])
        );
        let mut given = Some("memory:///x".to_string());
        files.complete(&mut given, &mut BTreeMap::new());
        assert_eq!(given.as_deref(), Some("memory:///x"));
    }
}

/// The `src` and `href` values of an HTML document, for the check through the
/// public URL (check.js): the same reading as the deploy's own asset check.
#[napi(js_name = "htmlReferences")]
pub fn html_references_binding(html: String) -> Vec<String> {
    crate::verify::html_references(&html)
}

/// The headers the deploy stores for each file under the `cacheControl` and
/// `headers` options; the check through the public URL compares the CDN's
/// answers with these, so both come from headers.rs.
#[napi(
    js_name = "storedHeaders",
    ts_args_type = "files: Array<{ path: string, kind: 'hashed' | 'other' | 'entry' }>, cacheControl?: Record<string, string>, headers?: unknown[]",
    ts_return_type = "Array<{ contentType: string, cacheControl: string, contentDisposition: string | null, contentLanguage: string | null, contentEncoding: string | null, metadata: Record<string, string> }>"
)]
pub fn stored_headers_binding(
    files: Value,
    cache_control: Option<Value>,
    headers: Option<Value>,
) -> napi::Result<Value> {
    #[derive(serde::Deserialize)]
    struct File {
        path: String,
        kind: crate::local::FileKind,
    }
    let invalid = |error: String| napi::Error::from_reason(error);
    let files: Vec<File> = serde_json::from_value(files).map_err(|e| invalid(e.to_string()))?;
    let shorthand: Vec<(String, String)> = match cache_control {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => serde_json::from_value::<serde_json::Map<String, Value>>(value)
            .map_err(|e| invalid(format!("cacheControl: {e}")))?
            .into_iter()
            .map(|(glob, value)| (glob, value.as_str().unwrap_or_default().to_string()))
            .collect(),
    };
    let mut rules = match headers {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => crate::headers::parse_rules(&value).map_err(|e| invalid(e.to_string()))?,
    };
    rules.extend(crate::headers::shorthand(&shorthand));
    let rules = crate::headers::HeaderRules::new(&rules).map_err(|e| invalid(e.to_string()))?;
    Ok(Value::Array(
        files
            .iter()
            .map(|file| {
                let headers =
                    crate::headers::ObjectHeaders::for_file(&file.path, file.kind, &rules);
                json!({
                    "contentType": headers.content_type,
                    "cacheControl": headers.cache_control,
                    "contentDisposition": headers.content_disposition,
                    "contentLanguage": headers.content_language,
                    "contentEncoding": headers.declared_encoding,
                    "metadata": headers.metadata,
                })
            })
            .collect(),
    ))
}
