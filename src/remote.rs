//! What is already in the store under the prefix.

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use object_store::path::Path;
use object_store::ObjectStoreExt;

pub use crate::digest::etag_md5;
use crate::error::{describe, Error, Result};
use crate::ledger::{Release, LEDGER_DIR, LEDGER_FILE, RELEASE_OBJECT_PROBE};
use crate::local::{Filter, LocalFile};
use crate::store::{Backend, Target};

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

/// What the store holds under the prefix, as the plan needs it: the
/// listing, the ledger, and the content MD5s of the files compared by
/// content.
pub struct Survey {
    /// The listing, sorted by key, without the objects set aside.
    pub objects: Vec<RemoteObject>,
    /// Keys [`set_aside`] took out of the listing.
    pub exposed: Vec<String>,
    /// The ledger as read.
    pub loaded: crate::ledger::Loaded,
    /// Remote content MD5s by key, where the listing's ETag does not give one.
    pub md5s: HashMap<String, [u8; 16]>,
    /// How many of `md5s` were read back from the store.
    pub compared_by_content: usize,
    /// When the listing began, by this machine's clock.
    pub listed_at: chrono::DateTime<chrono::Utc>,
}

impl Survey {
    /// The ledger, if the prefix has one.
    pub fn ledger(&self) -> Option<&crate::ledger::Ledger> {
        self.loaded.ledger.as_ref()
    }
}

/// One LIST and one small GET: the listing and the ledger (read again only
/// if it changed since `previous`, see [`crate::ledger::read_since`]). The
/// content MD5s the plan needs besides come with [`Survey::read_md5s`].
pub async fn survey(
    target: &Target,
    filter: &Filter,
    local: &[LocalFile],
    previous: crate::ledger::Loaded,
) -> Result<Survey> {
    let local_keys: Vec<&str> = local.iter().map(|f| f.relative.as_str()).collect();
    let listed_at = chrono::Utc::now();
    let (listed, loaded) = tokio::join!(
        list(target, filter, &local_keys),
        crate::ledger::read_since(target, previous)
    );
    // The listing's error names the bucket and credentials: report it first.
    let (mut objects, loaded) = (listed?, loaded?);
    let exposed = set_aside(&mut objects, filter);
    let md5s = ledger_md5s(
        loaded
            .ledger
            .as_ref()
            .and_then(crate::ledger::Ledger::latest),
        &objects,
        target.backend.etag_is_md5(),
    );
    Ok(Survey {
        objects,
        exposed,
        loaded,
        md5s,
        compared_by_content: 0,
        listed_at,
    })
}

impl Survey {
    /// Reads the content MD5s of `keys` (those the plan cannot compare
    /// from the listing) that the ledger did not answer for: the ledger's
    /// MD5s stand in only where the store still shows what it recorded.
    pub async fn read_md5s(
        &mut self,
        target: &Target,
        keys: Vec<String>,
        concurrency: usize,
    ) -> Result<()> {
        let to_read: Vec<String> = keys
            .into_iter()
            .filter(|key| !self.md5s.contains_key(key))
            .collect();
        self.md5s
            .extend(content_md5s(target, &to_read, concurrency).await?);
        self.compared_by_content = to_read.len();
        Ok(())
    }
}

/// The object of `relative` in a listing sorted by key (as [`list`] and
/// [`Survey::objects`] are), without a map of every key.
pub fn find<'a>(objects: &'a [RemoteObject], relative: &str) -> Option<&'a RemoteObject> {
    objects
        .binary_search_by(|o| o.relative.as_str().cmp(relative))
        .ok()
        .map(|at| &objects[at])
}

/// Keys one LIST page returns on S3 and GCS.
const PAGE: usize = 1000;

/// Ranges listed at a time. A build of up to 14,400 files lists in one
/// round trip; a larger one in a few. All at once, a 100,000-file build sent 112
/// listings together, and a server that walks its folder for each (s3s-fs)
/// answered none of them within the 30 s timeout.
const RANGES_AT_ONCE: usize = 16;

/// Lists every object under the target's prefix that `filter` allows.
/// Objects outside the prefix are never returned, excluded objects are
/// neither compared nor deleted, and vite-deploy's own ledger folder is not
/// part of the site.
///
/// A listing is a chain of pages, each waiting for the previous one's
/// continuation token. On stores that list from an offset (S3, GCS), the
/// build's own keys split the prefix into ranges of under a page each, and
/// the ranges are listed `RANGES_AT_ONCE` at a time: a build of 3,000
/// files costs one page of latency instead of three or four.
pub async fn list(target: &Target, filter: &Filter, local: &[&str]) -> Result<Vec<RemoteObject>> {
    if target.backend == Backend::Local {
        return list_local(target, filter).await;
    }
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
    let mut objects: Vec<RemoteObject> = futures::stream::iter(ranges)
        .buffered(RANGES_AT_ONCE)
        .try_collect::<Vec<_>>()
        .await
        .map_err(|error| list_error(target, error))?
        .into_iter()
        .flatten()
        .collect();
    objects.sort_by(|a, b| a.relative.cmp(&b.relative));
    objects.dedup_by(|a, b| a.relative == b.relative);
    Ok(objects)
}

/// Takes the objects [`Filter::skips`] leaves out (a `.env` or `.git/` an
/// older deploy published) out of a listing and returns their keys. They are
/// neither compared nor deleted: skipping a file is no reason to delete what
/// the store has, and deleting it would not take back a secret already
/// served — the report names them instead.
pub fn set_aside(objects: &mut Vec<RemoteObject>, filter: &Filter) -> Vec<String> {
    let mut taken = Vec::new();
    objects.retain(|object| {
        let skipped = filter.skips(&object.relative).is_some();
        if skipped {
            taken.push(object.relative.clone());
        }
        !skipped
    });
    taken
}

/// Lists a `file://` destination without following symlinks.
///
/// object_store's local listing follows them: with `uploads -> /srv/uploads`
/// inside the destination, the files there were listed as the site's orphans,
/// and deleted there. A symlink is nothing a deploy wrote, so nothing at or
/// under one is listed, and so nothing through one is ever deleted;
/// [`check_local_writes`] refuses to write through one. Keys, sizes, times
/// and ETags are the ones object_store's listing gives.
async fn list_local(target: &Target, filter: &Filter) -> Result<Vec<RemoteObject>> {
    let (owned, filter) = (target.clone(), filter.clone());
    tokio::task::spawn_blocking(move || walk_local(&owned, &filter))
        .await
        .map_err(|e| local_list_error(target, e.to_string()))?
}

fn walk_local(target: &Target, filter: &Filter) -> Result<Vec<RemoteObject>> {
    let root = local_root(target).map_err(|e| list_error(target, e))?;
    let walk = walkdir::WalkDir::new(&root)
        .min_depth(1)
        .follow_links(false)
        .into_iter()
        // The ledger folder is not part of the site (see `list_ranges`).
        .filter_entry(|entry| {
            !(entry.depth() == 1 && entry.file_type().is_dir() && entry.file_name() == LEDGER_DIR)
        });
    let mut objects = Vec::new();
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            // A destination that does not exist yet lists as empty.
            Err(error)
                if error.io_error().map(std::io::Error::kind)
                    == Some(std::io::ErrorKind::NotFound) =>
            {
                continue
            }
            Err(error) => return Err(local_list_error(target, error.to_string())),
        };
        // Not following links, a symlink is neither a file nor a directory.
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(relative) = entry
            .path()
            .strip_prefix(&root)
            .ok()
            .and_then(|path| path.to_str())
            .map(|path| path.replace(std::path::MAIN_SEPARATOR, "/"))
        else {
            continue;
        };
        // object_store stages uploads as `name#N` and does not list them, and
        // a name that is no valid key is nothing a deploy wrote.
        let staged = relative
            .rsplit_once('#')
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if staged || target.key(&relative).is_err() || !filter.allows(&relative) {
            continue;
        }
        let metadata = entry
            .metadata()
            .map_err(|e| local_list_error(target, e.to_string()))?;
        let modified = metadata
            .modified()
            .map_err(|e| local_list_error(target, e.to_string()))?;
        objects.push(RemoteObject {
            relative,
            size: metadata.len(),
            e_tag: Some(local_etag(&metadata, modified)),
            modified: chrono::DateTime::<chrono::Utc>::from(modified).timestamp(),
        });
    }
    objects.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(objects)
}

/// The ETag object_store's local store gives a file (inode, mtime in
/// microseconds, size), so a listing here matches its `head` and `put`.
fn local_etag(metadata: &std::fs::Metadata, modified: std::time::SystemTime) -> String {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(metadata);
    #[cfg(not(unix))]
    let inode = 0u64;
    let mtime = modified
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    format!("\"{inode:x}-{mtime:x}-{:x}\"", metadata.len())
}

/// The folder of a `file://` target's prefix.
fn local_root(target: &Target) -> std::result::Result<std::path::PathBuf, object_store::Error> {
    if target.prefix.as_ref().is_empty() {
        return Ok(std::path::PathBuf::from("/"));
    }
    object_store::local::LocalFileSystem::new().path_to_filesystem(&target.prefix)
}

fn local_list_error(target: &Target, message: String) -> Error {
    Error::List {
        store: target.url.clone(),
        message,
        hint: " — check the destination folder's permissions".into(),
    }
}

/// Refuses, on `file://`, to write at or through a symlink inside the
/// destination — each of `relatives` and the ledger — before anything is
/// written: a write there would change the files the link points at, outside
/// the target. The destination folder itself may be a link.
pub fn check_local_writes<'a>(
    target: &Target,
    relatives: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    if target.backend != Backend::Local {
        return Ok(());
    }
    let root = local_root(target).map_err(|e| list_error(target, e))?;
    let mut checked = std::collections::HashSet::new();
    // The ledger's index, and the folder of its release objects.
    for relative in relatives
        .into_iter()
        .chain([LEDGER_FILE, RELEASE_OBJECT_PROBE])
    {
        if let Some(path) = symlink_on_path(&root, relative, &mut checked) {
            return Err(Error::BadFileName {
                path,
                reason: format!("it is a symlink inside the destination {}, and vite-deploy never writes or deletes through one (it would change what the link points at) — remove the link there, or exclude '{relative}' from the build", target.url),
            });
        }
    }
    Ok(())
}

/// On `file://`, the symlink at or above `relative` inside the destination,
/// if there is one: the delete path asks before each delete, so nothing is
/// deleted through a link, whatever planned the delete and whenever the link
/// appeared.
pub fn symlink_in_destination(target: &Target, relative: &str) -> Option<std::path::PathBuf> {
    if target.backend != Backend::Local {
        return None;
    }
    let root = local_root(target).ok()?;
    symlink_on_path(&root, relative, &mut Default::default())
}

/// The first symlink among `relative`'s folders and itself under `root`,
/// skipping the parts in `checked` (which it extends).
fn symlink_on_path(
    root: &std::path::Path,
    relative: &str,
    checked: &mut std::collections::HashSet<String>,
) -> Option<std::path::PathBuf> {
    let ends = relative
        .match_indices('/')
        .map(|(at, _)| at)
        .chain([relative.len()]);
    for end in ends {
        let part = &relative[..end];
        if !checked.insert(part.to_string()) {
            continue;
        }
        let path = root.join(part);
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => return Some(path),
            Ok(_) => {}
            // Nothing below a missing folder can be a link.
            Err(_) => return None,
        }
    }
    None
}

/// The content MD5s of `keys`, read `concurrency` at a time.
pub async fn content_md5s(
    target: &Target,
    keys: &[String],
    concurrency: usize,
) -> Result<Vec<(String, [u8; 16])>> {
    let reads: Vec<_> = keys
        .iter()
        .map(|relative| async move {
            content_md5(target, relative)
                .await
                .map(|md5| (relative.clone(), md5))
        })
        .collect();
    futures::stream::iter(reads)
        .buffer_unordered(concurrency)
        .try_collect()
        .await
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

/// The MD5s the ledger recorded for `release` (the live one) that still
/// describe what the store holds. The store is the truth: a failed, killed or
/// lost deploy may have overwritten a key since the ledger was written. Where
/// the listing's ETag is an MD5 (`etag_is_md5`), it answers and the ledger is
/// not needed; elsewhere the ledger's MD5 counts only while the object has
/// the size and the ETag the ledger recorded with it. What is left out here
/// is read back when the planner needs it.
pub fn ledger_md5s(
    release: Option<&Release>,
    remote: &[RemoteObject],
    etag_is_md5: bool,
) -> HashMap<String, [u8; 16]> {
    let Some(release) = release else {
        return HashMap::new();
    };
    remote
        .iter()
        .filter(|object| !(etag_is_md5 && object.e_tag.as_deref().and_then(etag_md5).is_some()))
        .filter_map(|object| {
            let entry = release.files.get(&object.relative)?;
            let recorded = entry.e_tag.as_deref()?;
            let same = entry.size == object.size
                && object.e_tag.as_deref().map(bare_etag) == Some(bare_etag(recorded));
            let md5 = crate::ledger::parse_hex(entry.md5.as_deref()?)?;
            same.then(|| (object.relative.clone(), md5))
        })
        .collect()
}

/// An ETag without its quotes and weak marker: Azure quotes it in the
/// response to a write but not in listings.
fn bare_etag(e_tag: &str) -> &str {
    e_tag.trim_start_matches("W/").trim_matches('"')
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
    let lower = without_urls(&message).to_ascii_lowercase();
    let hint = match &error {
        object_store::Error::NotFound { .. } => " — the bucket or container does not exist: create it or fix the storage URL",
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
            if target.backend == crate::store::Backend::Http =>
        {
            " — check the server's basic-auth credentials: webdav_username and webdav_password in storageOptions (-o), or user:password@ in the URL"
        }
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            " — check the credentials (storageOptions, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, GOOGLE_SERVICE_ACCOUNT, AZURE_STORAGE_ACCOUNT_NAME/AZURE_STORAGE_ACCOUNT_KEY)"
        }
        _ if lower.contains("nosuchbucket") || lower.contains("containernotfound") || lower.contains("bucket does not exist") => {
            " — the bucket or container does not exist: create it or fix the storage URL"
        }
        _ if message.contains("169.254.169.254") || lower.contains("credential") => {
            " — no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or GOOGLE_SERVICE_ACCOUNT, AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY), or pass them in storageOptions"
        }
        _ if lower.contains("url scheme is not allowed") => {
            " — an http:// endpoint needs allow_http=true (-o allow_http=true; aws_allow_http=true for s3://)"
        }
        _ if lower.contains("connect") || lower.contains("dns") => " — is the endpoint reachable? check aws_endpoint/azure_storage_endpoint and the network",
        _ => "",
    };
    // A WebDAV listing refused by a server that is S3 (MinIO, …): name the URL to write.
    let s3 = (target.backend == crate::store::Backend::Http && refused_propfind(&lower))
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

/// The text of an error with its URLs cut out, so that the hint is chosen
/// by what the store said and not by a bucket, host or port that happens to
/// contain "connect", "credential" or "405".
fn without_urls(text: &str) -> String {
    text.split(' ')
        .map(|word| if word.contains("://") { "<url>" } else { word })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a listing failed because the server does not know PROPFIND.
/// Matched on the status as object_store words it, not on a bare number: a
/// port such as 40505 in the URL is not a 405.
fn refused_propfind(lower: &str) -> bool {
    lower.contains("propfind")
        && ["status code: 405", "status code: 501"]
            .iter()
            .any(|status| lower.contains(status))
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

    #[cfg(unix)]
    #[tokio::test]
    async fn a_file_destination_is_listed_and_written_without_following_symlinks() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let (site, elsewhere) = (dir.path().join("site"), dir.path().join("elsewhere"));
        for (path, content) in [
            (site.join("index.html"), "<html>"),
            (site.join("assets/a-3fA9c1xZ.js"), "js"),
            (site.join(".vite-deploy/ledger.json"), "{}"),
            (site.join("staged.html#3"), "half"),
            (elsewhere.join("photo.jpg"), "jpg"),
        ] {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        symlink(&elsewhere, site.join("uploads")).unwrap();
        symlink(elsewhere.join("photo.jpg"), site.join("photo.jpg")).unwrap();
        let url = format!("file://{}", site.display());
        let target = open(&url, &Default::default(), &Default::default()).unwrap();

        let listed = list(&target, &Filter::default(), &[]).await.unwrap();
        let names: Vec<_> = listed.iter().map(|o| o.relative.as_str()).collect();
        assert_eq!(names, ["assets/a-3fA9c1xZ.js", "index.html"]);
        for object in &listed {
            let head = target
                .store
                .head(&target.key(&object.relative).unwrap())
                .await
                .unwrap();
            assert_eq!(object.e_tag, head.e_tag, "{}", object.relative);
            assert_eq!(object.size, head.size);
            assert_eq!(object.modified, head.last_modified.timestamp());
        }

        check_local_writes(&target, ["index.html", "new/b.js", "assets/c.js"]).unwrap();
        for through_link in ["uploads/new.jpg", "photo.jpg"] {
            let error = check_local_writes(&target, [through_link]).unwrap_err();
            assert!(matches!(error, Error::BadFileName { .. }), "{error}");
            assert!(
                error.to_string().contains("symlink inside the destination"),
                "{error}"
            );
        }

        let missing = open(
            &format!("file://{}", dir.path().join("not-yet").display()),
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        assert!(list(&missing, &Filter::default(), &[])
            .await
            .unwrap()
            .is_empty());

        let linked_ledger = dir.path().join("linked-ledger");
        std::fs::create_dir_all(&linked_ledger).unwrap();
        symlink(&elsewhere, linked_ledger.join(".vite-deploy")).unwrap();
        let target = open(
            &format!("file://{}", linked_ledger.display()),
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        let error = check_local_writes(&target, ["index.html"]).unwrap_err();
        assert!(error.to_string().contains(".vite-deploy"), "{error}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_delete_never_goes_through_a_symlink_whatever_planned_it() {
        use crate::plan::{Action, Plan, Reason, Step};
        let dir = tempfile::tempdir().unwrap();
        let (site, elsewhere) = (dir.path().join("site"), dir.path().join("elsewhere"));
        std::fs::create_dir_all(&site).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(site.join("gone.txt"), "orphan").unwrap();
        std::fs::write(elsewhere.join("photo.jpg"), "user upload").unwrap();
        std::os::unix::fs::symlink(&elsewhere, site.join("uploads")).unwrap();
        let target = open(
            &format!("file://{}", site.display()),
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        let orphan = |relative: &str| Step {
            relative: relative.into(),
            action: Action::Delete,
            reason: Reason::Orphan,
            size: 1,
            kind: None,
            local: None,
        };
        let plan = Plan {
            steps: vec![orphan("gone.txt"), orphan("uploads/photo.jpg")],
        };
        let mut outcome = crate::publish::Outcome::default();
        crate::publish::delete(
            &target,
            &plan,
            &(),
            &crate::publish::Cancellation::default(),
            &mut outcome,
        )
        .await;
        assert_eq!(outcome.deleted, ["gone.txt"]);
        assert!(
            elsewhere.join("photo.jpg").exists(),
            "the link's target stays"
        );
        assert_eq!(outcome.failures.len(), 1);
        assert_eq!(outcome.failures[0].path, "uploads/photo.jpg");
        assert!(
            outcome.failures[0].error.contains(
                "is a symlink inside the destination, and vite-deploy never deletes through one"
            ),
            "{}",
            outcome.failures[0].error
        );
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

    /// Issue 13 item 7: a deploy that wrote `index.html` and then failed,
    /// was killed or lost the ledger race leaves a ledger whose MD5 no longer
    /// describes the store.
    #[test]
    fn the_ledger_md5_counts_only_while_the_store_shows_what_it_recorded() {
        use crate::ledger::{Entry, Release};
        use crate::local::FileKind;
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        let entry = |e_tag: Option<&str>| Entry {
            size: 10,
            md5: Some(md5.into()),
            kind: FileKind::Entry,
            e_tag: e_tag.map(Box::from),
            cache_control: None,
            headers: None,
            encoding: None,
        };
        let release = Release {
            id: "1".into(),
            time: String::new(),
            version: String::new(),
            files: [
                ("same.html".to_string(), entry(Some("\"v1\""))),
                ("rewritten.html".to_string(), entry(Some("\"v1\""))),
                ("unrecorded.html".to_string(), entry(None)),
                ("md5-etag.html".to_string(), entry(Some("\"v1\""))),
            ]
            .into(),
        };
        let object = |relative: &str, e_tag: &str| RemoteObject {
            relative: relative.into(),
            size: 10,
            e_tag: Some(e_tag.into()),
            modified: 0,
        };
        let remote = [
            // Azure: quoted when written, bare in a listing.
            object("same.html", "v1"),
            object("rewritten.html", "\"v2\""),
            object("unrecorded.html", "\"v1\""),
            object("md5-etag.html", "\"0123456789abcdef0123456789abcdef\""),
        ];
        let trusted = ledger_md5s(Some(&release), &remote, false);
        assert_eq!(trusted.keys().collect::<Vec<_>>(), ["same.html"]);
        // Where the ETag is an MD5 the listing answers, whatever the ledger says.
        let trusted = ledger_md5s(Some(&release), &remote, true);
        assert!(!trusted.contains_key("md5-etag.html"));
        assert!(trusted.contains_key("same.html"));
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

    #[test]
    fn only_a_405_or_501_answer_to_propfind_means_not_webdav() {
        let refused = "error performing propfind http://127.0.0.1:9000/app in 2ms - server returned non-2xx status code: 405 method not allowed: ";
        assert!(refused_propfind(refused));
        assert!(refused_propfind(
            &refused.replace("405 method not allowed", "501 not implemented")
        ));
        // A port that contains "405" is not a status.
        let unauthorized = "error performing propfind http://127.0.0.1:40505/app in 1.8ms - server returned non-2xx status code: 401 unauthorized: unauthorized";
        assert!(!refused_propfind(unauthorized));
        assert!(!refused_propfind("error performing propfind http://127.0.0.1:45011/app - server returned non-2xx status code: 500"));
    }

    #[test]
    fn a_hint_is_chosen_by_what_the_store_said_not_by_its_url() {
        let said = without_urls("Error performing GET https://connect-credentials.example/dns?list-type=2 in 3ms - Server returned non-2xx status code: 500");
        assert!(
            !said.contains("connect") && !said.contains("credential") && !said.contains("dns"),
            "{said}"
        );
        assert!(said.contains("status code: 500"), "{said}");
    }
}
