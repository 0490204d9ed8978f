//! What is already in the store under the prefix.

use futures::TryStreamExt;
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::ObjectStoreExt;

use crate::error::{describe, Error, Result};
use crate::ledger::LEDGER_DIR;
use crate::local::Filter;
use crate::store::Target;

/// One object under the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteObject {
    /// The key relative to the prefix, joined with `/`.
    pub relative: String,
    /// Its size in bytes.
    pub size: u64,
    /// The store's ETag, quotes included, when it gives one.
    pub e_tag: Option<String>,
    /// When it was last written, in seconds since the epoch.
    pub modified: i64,
}

/// Keys one LIST page returns on S3 and GCS.
const PAGE: usize = 1000;

/// Lists every object under the target's prefix that `filter` allows.
/// Objects outside the prefix are never returned, excluded objects are
/// neither compared nor deleted, and vite-deploy's own ledger folder is not
/// part of the site.
///
/// A listing is a chain of pages, each waiting for the previous one's
/// continuation token. On stores that list from an offset (S3, GCS), the
/// build's own keys split the prefix into ranges of under a page each, and
/// the ranges are listed at once: a build of 3,000 files costs one page of
/// latency instead of three or four.
pub async fn list(target: &Target, filter: &Filter, local: &[&str]) -> Result<Vec<RemoteObject>> {
    let points = if target.backend.lists_from_offset() {
        split_points(target, local)
    } else {
        Vec::new()
    };
    list_ranges(target, filter, &points).await
}

/// Every `PAGE * 9 / 10`-th local key, as full keys in listing order: each
/// range then holds less than a page even with some keys only the store has.
/// Relative paths sort as their keys do (the prefix is common to all), so
/// only the few split points become keys.
fn split_points(target: &Target, local: &[&str]) -> Vec<Path> {
    if local.len() <= PAGE {
        return Vec::new();
    }
    let mut sorted = local.to_vec();
    sorted.sort_unstable();
    sorted
        .into_iter()
        .skip(PAGE * 9 / 10)
        .step_by(PAGE * 9 / 10)
        .filter_map(|relative| target.key(relative).ok())
        .collect()
}

/// Lists `(previous point, point]` ranges concurrently and joins them.
async fn list_ranges(
    target: &Target,
    filter: &Filter,
    points: &[Path],
) -> Result<Vec<RemoteObject>> {
    let prefix = (!target.prefix.as_ref().is_empty()).then_some(&target.prefix);
    // Each listed object is kept in its small form as it arrives, so the
    // store's fuller metadata of a whole build is never held at once.
    let keep = |meta: object_store::ObjectMeta| {
        let relative = target.relative(&meta.location)?.to_string();
        if relative.starts_with(LEDGER_DIR) && relative[LEDGER_DIR.len()..].starts_with('/') {
            return None;
        }
        filter.allows(&relative).then_some(RemoteObject {
            relative,
            size: meta.size,
            e_tag: meta.e_tag,
            modified: meta.last_modified.timestamp(),
        })
    };
    let starts = std::iter::once(None).chain(points.iter().map(Some));
    let ends = points.iter().map(Some).chain(std::iter::once(None));
    let ranges: Vec<_> = starts
        .zip(ends)
        .map(|(start, end): (Option<&Path>, Option<&Path>)| {
            let stream = match start {
                None => target.store.list(prefix),
                Some(start) => target.store.list_with_offset(prefix, start),
            };
            let end = end.cloned();
            // Listings come in key order, so the range ends at the first key
            // past its end, and the rest of the page is never requested.
            stream
                .try_take_while(move |meta| {
                    futures::future::ready(Ok(end.as_ref().is_none_or(|end| meta.location <= *end)))
                })
                .try_filter_map(move |meta| futures::future::ready(Ok(keep(meta))))
                .try_collect::<Vec<_>>()
        })
        .collect();
    let mut objects: Vec<RemoteObject> = futures::future::try_join_all(ranges)
        .await
        .map_err(|error| list_error(target, error))?
        .into_iter()
        .flatten()
        .collect();
    objects.sort_by(|a, b| a.relative.cmp(&b.relative));
    objects.dedup_by(|a, b| a.relative == b.relative);
    Ok(objects)
}

/// The MD5 of a remote object's content, streamed, for stores whose ETag is
/// not a content hash.
pub async fn content_md5(target: &Target, relative: &str) -> Result<[u8; 16]> {
    let error = |message: String| Error::Compare {
        key: relative.to_string(),
        store: target.url.clone(),
        message,
    };
    let key = target.key(relative).map_err(|e| error(e.to_string()))?;
    let result = target
        .store
        .get(&key)
        .await
        .map_err(|e| error(describe(&e)))?;
    let mut stream = result.into_stream();
    let mut hasher = Md5::new();
    while let Some(chunk) = stream.try_next().await.map_err(|e| error(describe(&e)))? {
        hasher.update(&chunk);
    }
    Ok(hasher.finalize().into())
}

/// The MD5 in an ETag such as `"9e107d9d372bb6826bd81d3542a419d6"`, or `None`
/// when the ETag is not 32 hex digits (multipart uploads end in `-N`, Azure
/// and local stores use other shapes).
pub fn etag_md5(e_tag: &str) -> Option<[u8; 16]> {
    let hex = e_tag.trim_start_matches("W/").trim_matches('"');
    if hex.len() != 32 {
        return None;
    }
    let mut digest = [0u8; 16];
    for (i, byte) in digest.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(digest)
}

/// One listing request under the prefix, to learn early whether the bucket
/// exists and the credentials work: the plugin sends it while Vite builds.
pub async fn probe(target: &Target) -> Result<()> {
    let prefix = (!target.prefix.as_ref().is_empty()).then_some(&target.prefix);
    target
        .store
        .list_with_delimiter(prefix)
        .await
        .map(|_| ())
        .map_err(|error| list_error(target, error))
}

fn list_error(target: &Target, error: object_store::Error) -> Error {
    let message = describe(&error);
    let lower = message.to_ascii_lowercase();
    let hint = match &error {
        object_store::Error::NotFound { .. } => " — the bucket or container does not exist: create it or fix the storage URL",
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            " — check the credentials (storageOptions, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, GOOGLE_SERVICE_ACCOUNT, AZURE_STORAGE_ACCOUNT_NAME/AZURE_STORAGE_ACCOUNT_KEY)"
        }
        _ if lower.contains("nosuchbucket") || lower.contains("containernotfound") || lower.contains("bucket does not exist") => {
            " — the bucket or container does not exist: create it or fix the storage URL"
        }
        _ if lower.contains("169.254.169.254") || lower.contains("credential") => {
            " — no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or GOOGLE_SERVICE_ACCOUNT, AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY), or pass them in storageOptions"
        }
        _ if lower.contains("connect") || lower.contains("dns") => " — is the endpoint reachable? check aws_endpoint/azure_storage_endpoint and the network",
        _ => "",
    };
    // A WebDAV listing refused by a server that is S3 (MinIO, …): name the URL to write.
    let s3 = (target.backend == crate::store::Backend::Http
        && lower.contains("propfind")
        && (lower.contains("405") || lower.contains("501")))
    .then(|| crate::store::as_s3(&target.url))
    .flatten();
    let hint = match s3 {
        Some((s3, endpoint)) => format!(" — the server does not speak WebDAV; if it is S3-compatible (MinIO, …), write {s3} with aws_endpoint={endpoint}"),
        None => hint.to_string(),
    };
    Error::List {
        store: target.url.clone(),
        message,
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open;
    use object_store::PutPayload;

    #[tokio::test]
    async fn ranges_list_every_key_once() {
        let target = open(
            "memory:///ranges/site",
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        let mut local = Vec::new();
        for i in 0..2_500 {
            let relative = format!("assets/chunk{i:05}.js");
            if i % 7 != 0 {
                target
                    .store
                    .put(
                        &target.key(&relative).unwrap(),
                        PutPayload::from_static(b"x"),
                    )
                    .await
                    .unwrap();
            }
            local.push(relative);
        }
        for extra in ["assets/chunk00900-only-remote.js", "zzz.txt", "index.html"] {
            target
                .store
                .put(&target.key(extra).unwrap(), PutPayload::from_static(b"x"))
                .await
                .unwrap();
        }
        target
            .store
            .put(
                &"ranges/sitex/outside.js".into(),
                PutPayload::from_static(b"x"),
            )
            .await
            .unwrap();
        let local: Vec<&str> = local.iter().map(String::as_str).collect();
        let points = split_points(&target, &local);
        assert_eq!(points.len(), 2, "2,500 keys: three ranges");
        let ranged = list_ranges(&target, &Filter::default(), &points)
            .await
            .unwrap();
        let whole = list_ranges(&target, &Filter::default(), &[]).await.unwrap();
        assert_eq!(ranged, whole);
        assert_eq!(whole.len(), 2_500 - 358 + 3);
        assert!(whole.iter().all(|o| !o.relative.contains("outside")));
    }

    #[test]
    fn etags_are_md5_only_when_shaped_like_one() {
        let digest = etag_md5("\"9e107d9d372bb6826bd81d3542a419d6\"").unwrap();
        assert_eq!(digest[0], 0x9e);
        assert_eq!(digest[15], 0xd6);
        assert!(etag_md5("\"9e107d9d372bb6826bd81d3542a419d6-2\"").is_none());
        assert!(etag_md5("\"0x8DC1234567890AB\"").is_none());
        assert!(etag_md5("2a-5f0e-10").is_none());
        assert!(etag_md5("\"zz107d9d372bb6826bd81d3542a419d6\"").is_none());
    }

    #[tokio::test]
    async fn listing_stays_inside_the_prefix() {
        let target = open(
            "memory:///remote-test/a",
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        for key in [
            "remote-test/a/x.js",
            "remote-test/a/sub/y.js",
            "remote-test/ab/z.js",
            "remote-test/b.js",
        ] {
            target
                .store
                .put(&key.into(), PutPayload::from_static(b"1"))
                .await
                .unwrap();
        }
        let listed = list(&target, &Filter::default(), &[]).await.unwrap();
        let names: Vec<_> = listed.iter().map(|o| o.relative.as_str()).collect();
        assert_eq!(names, ["sub/y.js", "x.js"]);
        let md5 = content_md5(&target, "x.js").await.unwrap();
        assert_eq!(md5, <[u8; 16]>::from(Md5::digest(b"1")));
    }
}
