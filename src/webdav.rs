//! WebDAV (`http(s)://`): object_store's HTTP store, with the collections
//! (folders) a write needs made once, before the write.
//!
//! object_store makes them itself when a PUT fails with 409 or 404: every
//! upload that fails that way sends its own `MKCOL` for the same collection at
//! the same time. Servers answer the losers with `405` (wsgidav: it exists
//! now) or `423 Locked` (rclone: another request holds the lock), and the
//! upload fails — on a first deploy, or at the ledger's first write after the
//! HTML is live. Here each collection is made by one request while the writes
//! into it wait for that request, and an answer meaning "it exists now" is
//! success.
//!
//! WebDAV has no multipart upload: a file above the multipart threshold is
//! gathered in memory and sent as one PUT when complete. A server that
//! refuses `PROPFIND` with `Depth: infinity` (403) is listed one collection
//! at a time.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::client::{HttpClient, HttpConnector, HttpRequestBody, HttpResponse};
use object_store::http::HttpBuilder;
use object_store::path::Path;
use object_store::{
    Attributes, ClientOptions, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RetryConfig,
    UploadPart,
};
use tokio::sync::OnceCell;
use url::Url;

use crate::reachability::Connector;

const STORE: &str = "WebDAV";

/// Answers to `MKCOL` after which the collection exists.
fn made(status: u16) -> bool {
    // 405: "MKCOL can only be executed on an unmapped URL" (RFC 4918 9.3.1),
    // what a server answers for a collection that exists already.
    matches!(status, 200 | 201 | 204 | 405)
}

/// A WebDAV store: object_store's `HttpStore` for every request but `MKCOL`.
#[derive(Debug, Clone)]
pub struct WebDav(Arc<Shared>);

struct Shared {
    inner: Arc<dyn ObjectStore>,
    client: HttpClient,
    base: Url,
    /// The deploy's prefix: collections from here down are made top down.
    prefix: Path,
    /// One cell per collection: the first write into it makes it, the others
    /// wait for that. Made collections stay in the map for the store's life
    /// (a deploy makes a few hundred at most).
    collections: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebDav")
            .field("base", &self.base.as_str())
            .finish()
    }
}

impl fmt::Display for WebDav {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebDav({})", self.0.base)
    }
}

/// Opens the WebDAV server at `base` (scheme, host and port: keys are full
/// paths from the server's root) for a deploy under `prefix`, with one set
/// of client options and one connector (which notices a dead server) for
/// object_store's requests and for `MKCOL`.
pub fn open(
    base: &str,
    prefix: &Path,
    client: ClientOptions,
    retry: RetryConfig,
    connector: Connector,
) -> object_store::Result<WebDav> {
    let inner = HttpBuilder::new()
        .with_url(base)
        .with_client_options(client.clone())
        .with_retry(retry)
        .with_http_connector(connector.clone())
        .build()?;
    let base = Url::parse(base).map_err(|e| generic(format!("invalid URL '{base}': {e}")))?;
    Ok(WebDav(Arc::new(Shared {
        inner: Arc::new(inner),
        client: connector.connect(&client)?,
        base,
        prefix: prefix.clone(),
        collections: Mutex::default(),
    })))
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE,
        source: message.into(),
    }
}

/// The collection holding `key` (`a/b` for `a/b/c.js`), `None` at the root.
fn parent(key: &str) -> Option<&str> {
    key.rsplit_once('/').map(|(parent, _)| parent)
}

/// The collections to make, top down, for a write into `collection`: the
/// prefix and each one below it. Above the prefix, collections are only
/// made when the server says they are missing (409), so a deploy touches
/// nothing outside its prefix that exists.
fn chain<'a>(collection: &'a str, prefix: &str) -> Vec<&'a str> {
    let under_prefix = prefix.is_empty()
        || collection == prefix
        || collection
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'));
    let from = match under_prefix {
        true => prefix.len().max(1),
        false => collection.len(),
    };
    collection
        .match_indices('/')
        .map(|(at, _)| at)
        .chain([collection.len()])
        .filter(|&end| end >= from)
        .map(|end| &collection[..end])
        .collect()
}

impl Shared {
    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("an http(s) URL has a path")
            .extend(path.split('/'));
        url
    }

    async fn send(
        &self,
        method: &[u8],
        path: &str,
        depth: Option<&str>,
    ) -> object_store::Result<HttpResponse> {
        let name = String::from_utf8_lossy(method).into_owned();
        let mut request = http::Request::builder()
            .method(http::Method::from_bytes(method).expect("a valid method"))
            .uri(self.url(path).as_str());
        if let Some(depth) = depth {
            request = request.header("Depth", depth);
        }
        let request = request
            .body(HttpRequestBody::empty())
            .map_err(|e| generic(format!("{name} '{path}': {e}")))?;
        self.client
            .execute(request)
            .await
            .map_err(|e| generic(format!("{name} '{path}': {e}")))
    }

    /// Whether `path` is a collection now (`PROPFIND`, depth 0).
    async fn is_collection(&self, path: &str) -> object_store::Result<bool> {
        let response = self.send(b"PROPFIND", path, Some("0")).await?;
        if response.status().as_u16() != 207 {
            return Ok(false);
        }
        let body = response
            .into_body()
            .bytes()
            .await
            .map_err(|e| generic(format!("PROPFIND '{path}': {e}")))?;
        Ok(String::from_utf8_lossy(&body).contains("collection"))
    }

    /// Makes sure the collection at `path` exists, with one `MKCOL` per
    /// collection however many writes wait for it.
    fn collection<'a>(
        self: &'a Arc<Self>,
        path: &'a str,
    ) -> BoxFuture<'a, object_store::Result<()>> {
        async move {
            let cell = self
                .collections
                .lock()
                .expect("not poisoned")
                .entry(path.to_string())
                .or_default()
                .clone();
            cell.get_or_try_init(|| self.make(path)).await.map(|_| ())
        }
        .boxed()
    }

    async fn make(self: &Arc<Self>, path: &str) -> object_store::Result<()> {
        // A lock another client holds on the collection, or a server error,
        // is usually brief: a few tries, 50, 100, 200 ms apart.
        const ATTEMPTS: u32 = 3;
        let mut parent_made = false;
        let mut status = 0;
        for attempt in 0..=ATTEMPTS {
            if attempt > 0 && (status == 423 || status >= 500) {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            status = self.send(b"MKCOL", path, None).await?.status().as_u16();
            match status {
                s if made(s) => return Ok(()),
                // The parent is missing (some servers say 404): make it,
                // which only climbs as far as collections are missing.
                409 | 404 if !parent_made => match parent(path) {
                    Some(up) => {
                        self.collection(up).await?;
                        parent_made = true;
                    }
                    None => break,
                },
                // Another request holds the lock, often one that is making
                // this very collection.
                423 => {
                    if self.is_collection(path).await? {
                        return Ok(());
                    }
                }
                500..=599 => {}
                _ => break,
            }
        }
        let hint = match status {
            401 | 403 => {
                " — check the server's credentials (basic auth) and that this user may write there"
            }
            _ => "",
        };
        Err(generic(format!(
            "cannot create the folder '{path}' (MKCOL answered {status}){hint}"
        )))
    }

    /// Makes every collection above `location`, from the prefix down, so
    /// each MKCOL finds its parent (no 409 and second try).
    async fn parents(self: &Arc<Self>, location: &Path) -> object_store::Result<()> {
        if let Some(collection) = parent(location.as_ref()) {
            for path in chain(collection, self.prefix.as_ref()) {
                self.collection(path).await?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for WebDav {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.0.parents(location).await?;
        self.0.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Ok(Box::new(WholeUpload {
            store: self.clone(),
            location: location.clone(),
            attributes: opts.attributes,
            parts: Vec::new(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.0.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.0.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let shared = self.0.clone();
        let prefix = prefix.cloned();
        // object_store lists with one `PROPFIND` of `Depth: infinity` and
        // holds the whole answer anyway, so collecting first costs nothing.
        futures::stream::once(async move {
            let everything = shared
                .inner
                .list(prefix.as_ref())
                .try_collect::<Vec<_>>()
                .await;
            let objects = match everything {
                // Apache's mod_dav (`DavDepthInfinity Off`, its default) and
                // others refuse infinite depth with 403: walk one level at a
                // time instead. A 403 for want of permission fails there too.
                Err(object_store::Error::PermissionDenied { .. }) => {
                    walk(&shared.inner, prefix).await?
                }
                other => other?,
            };
            Ok::<_, object_store::Error>(futures::stream::iter(objects.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.0.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.0.parents(to).await?;
        self.0.inner.copy_opts(from, to, options).await
    }
}

/// Every object under `prefix`, one `PROPFIND` of depth 1 per collection.
async fn walk(
    store: &Arc<dyn ObjectStore>,
    prefix: Option<Path>,
) -> object_store::Result<Vec<ObjectMeta>> {
    let mut objects = Vec::new();
    let mut pending = vec![prefix];
    while let Some(collection) = pending.pop() {
        let listing = store.list_with_delimiter(collection.as_ref()).await?;
        objects.extend(listing.objects);
        pending.extend(listing.common_prefixes.into_iter().map(Some));
    }
    Ok(objects)
}

/// A "multipart" upload to a WebDAV server: the parts are kept and go up as
/// one PUT on `complete`, as WebDAV has no way to join parts.
#[derive(Debug)]
struct WholeUpload {
    store: WebDav,
    location: Path,
    attributes: Attributes,
    parts: Vec<PutPayload>,
}

#[async_trait]
impl MultipartUpload for WholeUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.parts.push(data);
        futures::future::ready(Ok(())).boxed()
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let payload: PutPayload = std::mem::take(&mut self.parts)
            .iter()
            .flat_map(|part| part.iter().cloned())
            .collect();
        let options = PutOptions {
            attributes: self.attributes.clone(),
            ..Default::default()
        };
        self.store.put_opts(&self.location, payload, options).await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.parts.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_lives_in_the_collection_above_it() {
        assert_eq!(parent("app/assets/x.js"), Some("app/assets"));
        assert_eq!(parent("x.js"), None);
    }

    #[test]
    fn collections_are_made_from_the_prefix_down() {
        assert_eq!(
            chain("site/app/docs/a", "site/app"),
            ["site/app", "site/app/docs", "site/app/docs/a"]
        );
        assert_eq!(chain("site/app", "site/app"), ["site/app"]);
        assert_eq!(chain("a/b", ""), ["a", "a/b"]);
        // `app2` is not under `app`: only its own collection.
        assert_eq!(chain("app2/x", "app"), ["app2/x"]);
    }

    #[test]
    fn exists_already_is_made() {
        assert!(made(201) && made(405));
        assert!(!made(409) && !made(423) && !made(403));
    }

    #[test]
    fn paths_become_encoded_segments_under_the_base() {
        let store = open(
            "http://127.0.0.1:9",
            &Path::default(),
            ClientOptions::new(),
            RetryConfig::default(),
            Connector(Arc::default()),
        )
        .expect("opens without a request");
        assert_eq!(
            store.0.url("app/docs/a file & ü+#1").as_str(),
            "http://127.0.0.1:9/app/docs/a%20file%20&%20%C3%BC+%231"
        );
    }
}
