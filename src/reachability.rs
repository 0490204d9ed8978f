//! Notices a store that stopped answering, so a deploy fails fast instead of
//! retrying every remaining file against a dead endpoint.
//!
//! object_store retries each request on its own (up to `retries` times, with
//! backoff), so a dead store used to cost every remaining file its whole
//! retry budget: minutes for a large build. Every HTTP attempt, retries
//! included, goes through [`Connector`]'s client, which counts attempts that
//! got no answer at all. After [`UNREACHABLE_AFTER`] of them in a row — no
//! answer of any status in between — the store counts as unreachable: later
//! attempts fail at once without being sent (and are not retried), and the
//! publisher starts no new upload.
//!
//! Only failures to connect and timeouts count. A connection dropped in the
//! middle of a request (a reset) neither counts nor clears the count: a
//! killed server drops its open connections and then refuses new ones, and
//! the refusals are what prove it is gone. Any HTTP answer, even a 500,
//! clears the count: a store that answers, however slowly, is not dead.

use std::sync::{Arc, Mutex};

use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
    ReqwestConnector,
};
use object_store::ClientOptions;

/// Attempts in a row, across all requests in flight, that failed to connect
/// or timed out before the store counts as unreachable. Retries count too:
/// with the default 10 retries a single request alone trips it; at any
/// concurrency the first few seconds of refused connections do.
pub const UNREACHABLE_AFTER: u32 = 10;

/// Whether the store still answers; shared by every request of one deploy.
#[derive(Debug, Default)]
pub struct Reachability {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Attempts without an answer since the last answer.
    unanswered: u32,
    /// The last of them, for the message.
    last_error: String,
    /// Set once, never cleared: why the store counts as unreachable.
    down: Option<String>,
}

impl Reachability {
    /// The store answered (any status).
    pub fn answered(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.down.is_none() {
            state.unanswered = 0;
        }
    }

    /// An attempt got no answer: it could not connect or timed out.
    pub fn unanswered(&self, error: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.down.is_some() {
            return;
        }
        state.unanswered += 1;
        state.last_error = error.to_string();
        if state.unanswered >= UNREACHABLE_AFTER {
            state.down = Some(format!(
                "{} requests in a row got no answer; the last: {}",
                state.unanswered, state.last_error
            ));
        }
    }

    /// Why the store counts as unreachable, once it does.
    pub fn down(&self) -> Option<String> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .down
            .clone()
    }
}

/// object_store's reqwest client, watched by a [`Reachability`].
#[derive(Debug, Clone)]
pub struct Connector(pub Arc<Reachability>);

impl HttpConnector for Connector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let inner = ReqwestConnector::default().connect(options)?;
        Ok(HttpClient::new(Watched {
            inner,
            reachability: self.0.clone(),
        }))
    }
}

#[derive(Debug)]
struct Watched {
    inner: HttpClient,
    reachability: Arc<Reachability>,
}

#[async_trait::async_trait]
impl HttpService for Watched {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        if let Some(why) = self.reachability.down() {
            // `Unknown` is the one kind object_store does not retry.
            return Err(HttpError::new(
                HttpErrorKind::Unknown,
                std::io::Error::other(format!("not sent: the store stopped answering: {why}")),
            ));
        }
        let result = self.inner.execute(request).await;
        match &result {
            Ok(_) => self.reachability.answered(),
            Err(error)
                if matches!(
                    error.kind(),
                    HttpErrorKind::Connect | HttpErrorKind::Timeout
                ) =>
            {
                self.reachability.unanswered(&crate::error::describe(error))
            }
            Err(_) => {}
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanswered_attempts_in_a_row_make_the_store_unreachable() {
        let store = Reachability::default();
        for _ in 0..UNREACHABLE_AFTER - 1 {
            store.unanswered("connection refused");
        }
        store.answered();
        for _ in 0..UNREACHABLE_AFTER - 1 {
            store.unanswered("connection refused");
        }
        assert_eq!(store.down(), None, "an answer in between clears the count");
        store.unanswered("tcp connect error: Connection refused");
        let why = store.down().expect("unreachable");
        assert!(
            why.starts_with("10 requests in a row got no answer"),
            "{why}"
        );
        assert!(why.contains("Connection refused"), "{why}");
        store.answered();
        assert!(store.down().is_some(), "once unreachable, it stays so");
    }
}
