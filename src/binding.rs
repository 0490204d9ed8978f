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
    ts_args_type = "options: object, onProgress?: (event: object) => void, id?: number",
    ts_return_type = "Promise<string>"
)]
pub async fn deploy_binding(
    options: Value,
    on_progress: Option<ProgressCallback>,
    id: Option<u32>,
) -> napi::Result<String> {
    let cancel = Cancellation::default();
    if let Some(id) = id {
        RUNNING.lock().unwrap().insert(id, cancel.clone());
    }
    let progress = JsProgress(on_progress);
    let answer = answer(options, |options: DeployOptions| {
        crate::deploy(options, &progress, &cancel)
    })
    .await;
    if let Some(id) = id {
        RUNNING.lock().unwrap().remove(&id);
    }
    Ok(answer)
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

/// Lists the kept releases; resolves to `{ ok, value }` or `{ ok: false, error }`, as JSON text.
#[napi(
    js_name = "releases",
    ts_args_type = "options: object",
    ts_return_type = "Promise<string>"
)]
pub async fn releases_binding(options: Value) -> napi::Result<String> {
    Ok(answer(options, crate::rollback::releases).await)
}

/// Rolls back to an earlier release; resolves to `{ ok, value }` or `{ ok: false, error }`, as JSON text.
#[napi(
    js_name = "rollback",
    ts_args_type = "options: object",
    ts_return_type = "Promise<string>"
)]
pub async fn rollback_binding(options: Value) -> napi::Result<String> {
    Ok(answer(options, crate::rollback::rollback).await)
}
