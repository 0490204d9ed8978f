//! Executes a [`Plan`]: uploads in ordered groups with bounded concurrency,
//! then deletes — only when every upload succeeded.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use futures::StreamExt;
use md5::{Digest, Md5};
use object_store::{Attributes, PutMultipartOptions, PutOptions, PutPayload, WriteMultipart};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use crate::compress::{Encoding, Method};
use crate::error::describe;
use crate::headers::{CacheRules, ObjectHeaders};
use crate::local::{FileKind, LocalFile};
use crate::plan::{Action, Plan, Step};
use crate::store::Target;

/// Files above this size go up as multipart uploads, streamed from disk, so a
/// large media file is never held in memory whole.
pub const MULTIPART_THRESHOLD: u64 = 8 * 1024 * 1024;

/// Part size of multipart uploads: S3's smallest, so a multipart upload
/// holds as little as it can.
pub const PART_SIZE: usize = 5 * 1024 * 1024;

/// Extra rounds for deletes the store did not confirm.
const DELETE_RETRIES: u32 = 3;

/// Parts of one multipart upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// Multipart uploads running at once. Each holds up to
/// `(PARTS_IN_FLIGHT + 1) × PART_SIZE` bytes, so this bounds memory however
/// many large files the build has.
const MULTIPART_AT_ONCE: usize = 2;

/// Files read at once. Reads from the page cache take microseconds, so a few
/// keep 64 uploads fed, and each read in flight holds a thread of tokio's
/// blocking pool.
const READS_AT_ONCE: usize = 4;

/// KiB of small files held in memory at once (they are read whole before
/// their PUT). With the multipart bound this caps memory whatever the
/// concurrency and the size of the build: 8 MiB + 2 × 3 × 5 MiB at most.
/// 8 MiB in flight still fills a 1 Gbit/s link with 60 ms of latency. On the
/// 3,000-file benchmark build a cold deploy peaked at 90 MB with 16 MiB and
/// 83 MB with 8 MiB, at the same speed.
const IN_MEMORY_BUDGET_KIB: u32 = 8 * 1024;

/// A progress event, sent as work completes.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// The plan is ready; totals for a progress bar.
    #[serde(rename_all = "camelCase")]
    Planned {
        /// Files to upload.
        uploads: usize,
        /// Bytes to upload.
        upload_bytes: u64,
        /// Objects to delete.
        deletes: usize,
        /// Files already up to date.
        unchanged: usize,
    },
    /// One file is in the store.
    Uploaded {
        /// Relative path.
        path: String,
        /// Bytes written.
        size: u64,
    },
    /// One upload or delete failed.
    Failed {
        /// Relative path.
        path: String,
        /// Why.
        error: String,
    },
    /// One orphan is gone.
    Deleted {
        /// Relative path.
        path: String,
    },
    /// Another deploy holds the prefix's lease: this one waits for it.
    LeaseHeld {
        /// Host, pid and CI job of the holder.
        holder: String,
        /// When it took the lease, RFC 3339.
        since: String,
        /// When the lease lapses unless renewed, RFC 3339.
        expires: String,
    },
}

/// Receives [`Event`]s; called from worker tasks, so it must be cheap.
pub trait Progress: Send + Sync {
    /// Handles one event.
    fn event(&self, event: Event);
}

/// Ignores every event.
impl Progress for () {
    fn event(&self, _: Event) {}
}

/// A flag that stops a deploy between files: uploads not yet started are
/// skipped, the ones in flight finish (so no multipart upload is left half
/// done), and nothing is deleted. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancellation(Arc<AtomicBool>);

impl Cancellation {
    /// Asks the deploy to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How to publish.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Uploads in flight at once.
    pub concurrency: usize,
    /// `Cache-Control` rules.
    pub cache: CacheRules,
    /// Whether to send `Content-Type` and `Cache-Control` (false for stores
    /// that refuse them).
    pub headers: bool,
    /// Stops the deploy between files.
    pub cancel: Cancellation,
    /// The compression tried on text-like files (see [`crate::compress`]).
    pub compress: Option<Method>,
}

/// One failed step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// Relative path.
    pub path: String,
    /// `upload` or `delete`.
    pub action: Action,
    /// The error, with the key and store it concerns.
    pub error: String,
}

/// What publishing did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Relative paths uploaded.
    pub uploaded: Vec<String>,
    /// Relative paths deleted.
    pub deleted: Vec<String>,
    /// Every failure.
    pub failures: Vec<Failure>,
    /// Steps not started because an earlier group failed or the deploy was
    /// cancelled.
    pub not_attempted: Vec<String>,
    /// True when the deploy was cancelled before it finished.
    pub cancelled: bool,
    /// Why the store counted as unreachable, when it stopped answering: no
    /// upload was started after that.
    pub unreachable: Option<String>,
    /// The ETag the store gave each uploaded file, for the ledger.
    pub e_tags: HashMap<String, String>,
    /// How each uploaded file compression was tried on is stored, for the
    /// ledger.
    pub encodings: HashMap<String, Encoding>,
}

/// Runs the plan's uploads stage by stage (see [`stages`]).
///
/// A stage starts only when the previous one fully succeeded: if a hashed
/// asset fails, no HTML referencing it goes live. No upload starts once the
/// deploy is cancelled or the store stopped answering.
pub async fn upload(
    target: &Target,
    plan: &Plan,
    local: &[LocalFile],
    settings: &Settings,
    progress: &dyn Progress,
) -> Outcome {
    upload_rest(target, plan, local, settings, progress, Outcome::default()).await
}

/// Uploads hashed assets ahead of the plan they will belong to: those the
/// plan made before the lease found missing, sent while the prefix is
/// listed again under the lease. A hashed asset's name is its content, so
/// writing one is right whatever that listing shows; everything that
/// references it still waits for [`upload_rest`].
pub async fn upload_early(
    target: &Target,
    steps: &[Step],
    local: &[LocalFile],
    settings: &Settings,
    progress: &dyn Progress,
) -> Outcome {
    debug_assert!(steps.iter().all(|s| s.kind == Some(FileKind::Hashed)));
    let stage: Vec<&Step> = steps.iter().collect();
    run_stages(
        target,
        vec![stage],
        local,
        settings,
        progress,
        Outcome::default(),
    )
    .await
}

/// The plan's uploads after [`upload_early`] did `early`: what it uploaded
/// is not uploaded again, and a failure there stops every stage here.
pub async fn upload_rest(
    target: &Target,
    plan: &Plan,
    local: &[LocalFile],
    settings: &Settings,
    progress: &dyn Progress,
    early: Outcome,
) -> Outcome {
    let done: std::collections::HashSet<&str> = early.uploaded.iter().map(String::as_str).collect();
    let stages: Vec<Vec<&Step>> = stages(plan.upload_groups())
        .into_iter()
        .map(|stage| {
            stage
                .into_iter()
                .filter(|s| !done.contains(s.relative.as_str()))
                .collect::<Vec<_>>()
        })
        .filter(|stage| !stage.is_empty())
        .collect();
    drop(done);
    run_stages(target, stages, local, settings, progress, early).await
}

/// Runs `stages` in order, each only when everything before it (`outcome`
/// included) succeeded; adds to `outcome`.
async fn run_stages(
    target: &Target,
    stages: Vec<Vec<&Step>>,
    local: &[LocalFile],
    settings: &Settings,
    progress: &dyn Progress,
    mut outcome: Outcome,
) -> Outcome {
    // Each upload runs as a task of its own, so the CPU work of many
    // (reading, MD5, the request's signature over the body) spreads over
    // every worker thread instead of queueing in this one future; on 2
    // cores the uploads sent their next request tens of milliseconds late
    // while one poll hashed another's body.
    let shared = Arc::new(Shared {
        target: target.clone(),
        settings: settings.clone(),
        limits: Limits {
            multipart: Semaphore::new(MULTIPART_AT_ONCE),
            reads: Semaphore::new(READS_AT_ONCE),
            memory_kib: Semaphore::new(IN_MEMORY_BUDGET_KIB as usize),
        },
    });

    let stopped = || settings.cancel.is_cancelled() || target.reachability.down().is_some();
    for group in stages {
        if !outcome.failures.is_empty() || stopped() {
            outcome
                .not_attempted
                .extend(group.iter().map(|s| s.relative.clone()));
            continue;
        }
        // Each upload's future is made when it starts, not up front: a
        // future holds its whole state machine (over a kilobyte), so a Vec of
        // 20,000 of them held tens of megabytes. The stream goes by index: a
        // closure taking a `&Step` makes the deploy's future non-Send (the
        // compiler cannot see it works for every lifetime).
        let (shared, stopped, group) = (&shared, &stopped, &group);
        let mut results = futures::stream::iter(0..group.len())
            .map(move |at| {
                let step: &Step = group[at];
                let file = local[step.local.expect("an upload has a local file")].clone();
                let shared = Arc::clone(shared);
                async move {
                    if stopped() {
                        return (step, None);
                    }
                    let task = AbortOnDrop(tokio::spawn(async move {
                        let Shared {
                            target,
                            settings,
                            limits,
                        } = &*shared;
                        upload_file(target, &file, settings, limits).await
                    }));
                    let result = task.await.unwrap_or_else(|e| {
                        Err(format!("the upload of '{}' stopped: {e}", step.relative))
                    });
                    (step, Some(result))
                }
            })
            .buffer_unordered(settings.concurrency);
        while let Some((step, result)) = results.next().await {
            match result {
                None => outcome.not_attempted.push(step.relative.clone()),
                Some(Ok(Written { e_tag, encoding })) => {
                    if let Some(e_tag) = e_tag {
                        outcome.e_tags.insert(step.relative.clone(), e_tag);
                    }
                    if let Some(encoding) = encoding {
                        outcome.encodings.insert(step.relative.clone(), encoding);
                    }
                    progress.event(Event::Uploaded {
                        path: step.relative.clone(),
                        size: step.size,
                    });
                    outcome.uploaded.push(step.relative.clone());
                }
                Some(Err(error)) => {
                    progress.event(Event::Failed {
                        path: step.relative.clone(),
                        error: error.clone(),
                    });
                    outcome.failures.push(Failure {
                        path: step.relative.clone(),
                        action: Action::Upload,
                        error,
                    });
                }
            }
        }
    }
    outcome.cancelled = settings.cancel.is_cancelled();
    outcome.unreachable = target.reachability.down();

    outcome
}

/// The plan's upload groups as publish stages, each finishing before the
/// next starts: hashed assets, other files, then the entries in two stages —
/// every entry but the root `index.html` (other pages, the manifests), then
/// the root `index.html` alone. A failure in the entry group thus leaves the
/// site's front page old; what did go up references only assets already in
/// the store, since those went first.
pub fn stages(groups: Vec<(FileKind, Vec<&Step>)>) -> Vec<Vec<&Step>> {
    let mut stages = Vec::new();
    for (kind, group) in groups {
        if kind == FileKind::Entry {
            let (root, others): (Vec<&Step>, Vec<&Step>) =
                group.into_iter().partition(|s| is_root_page(&s.relative));
            stages.extend([others, root].into_iter().filter(|s| !s.is_empty()));
        } else {
            stages.push(group);
        }
    }
    stages
}

/// Whether `relative` is the page a visitor of the site's root gets:
/// published (and restored by a rollback) strictly last.
pub fn is_root_page(relative: &str) -> bool {
    relative == "index.html"
}

/// Why `bytes`, read from `file` to be written to the store, are not the
/// bytes the scan measured and hashed, if they are not. Hashed assets are
/// checked by size only: their name is their content.
pub fn not_as_scanned(file: &LocalFile, bytes: &[u8]) -> Option<String> {
    if bytes.len() as u64 != file.size {
        return Some(changed_on_disk(file, Some(bytes.len() as u64)));
    }
    let expected = file.md5?;
    (<[u8; 16]>::from(Md5::digest(bytes)) != expected).then(|| changed_on_disk(file, None))
}

/// The message for a file that changed since the scan: `now` is its size
/// when that differs, `None` for a same-size rewrite — an HTML file or
/// manifest rewritten in place by a concurrent build keeps its size but may
/// reference assets this deploy never uploaded.
fn changed_on_disk(file: &LocalFile, now: Option<u64>) -> String {
    let how = match now {
        Some(now) => format!("{} bytes at scan, {now} now", file.size),
        None => "same size, different content than at scan".to_string(),
    };
    format!(
        "'{}' changed on disk during the deploy ({how}) — rerun the deploy once the build is finished",
        file.path.display()
    )
}

/// Deletes the plan's orphans, only when every upload succeeded and the
/// deploy was not cancelled; otherwise they are marked not attempted.
///
/// The cancellation is checked here again, not only after the uploads: a
/// cancel that arrives while the ledger is written still stops the deletes.
pub async fn delete(
    target: &Target,
    plan: &Plan,
    progress: &dyn Progress,
    cancel: &Cancellation,
    outcome: &mut Outcome,
) {
    let steps: Vec<&Step> = plan.with_action(Action::Delete).collect();
    // With nothing to delete the deploy is complete: a late cancel changes nothing.
    outcome.cancelled |= !steps.is_empty() && cancel.is_cancelled();
    if !outcome.failures.is_empty() || outcome.cancelled {
        outcome
            .not_attempted
            .extend(steps.iter().map(|s| s.relative.clone()));
        return;
    }
    let mut pending: Vec<String> = steps.iter().map(|s| s.relative.clone()).collect();
    let mut last_error: HashMap<String, String> = HashMap::new();
    pending.retain(
        |relative| match crate::remote::symlink_in_destination(target, relative) {
            Some(link) => {
                let message = format!("cannot delete '{relative}' from {}: '{}' is a symlink inside the destination, and vite-deploy never deletes through one — the files it points at were left alone", target.url, link.display());
                last_error.insert(relative.clone(), message);
                false
            }
            None => true,
        },
    );
    // A bulk delete answers per key, but a reset or timeout loses the whole
    // batch, and object_store does not retry it (POST is not idempotent).
    // Deleting again is harmless, so unconfirmed keys are tried again.
    for attempt in 0..=DELETE_RETRIES {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
        }
        let mut keys = Vec::with_capacity(pending.len());
        for relative in &pending {
            match target.key(relative) {
                Ok(key) => keys.push(key),
                Err(error) => {
                    last_error.insert(relative.clone(), error.to_string());
                }
            }
        }
        let mut confirmed = std::collections::HashSet::new();
        let mut permanent = false;
        let mut results = target
            .store
            .delete_stream(futures::stream::iter(keys.into_iter().map(Ok)).boxed());
        while let Some(result) = results.next().await {
            match result {
                Ok(key) => {
                    let path = target.relative(&key).unwrap_or(key.as_ref()).to_string();
                    progress.event(Event::Deleted { path: path.clone() });
                    confirmed.insert(path.clone());
                    outcome.deleted.push(path);
                }
                Err(error) => {
                    permanent |= is_refusal(&error);
                    let message =
                        format!("cannot delete from {}: {}", target.url, describe(&error));
                    // The error names its key only sometimes: keep it for
                    // every key of the batch not confirmed below.
                    let path = match &error {
                        object_store::Error::NotFound { path, .. }
                        | object_store::Error::PermissionDenied { path, .. }
                        | object_store::Error::Unauthenticated { path, .. } => {
                            target_relative(target, path)
                        }
                        _ => None,
                    };
                    match path {
                        Some(path) => {
                            last_error.insert(path, message);
                        }
                        None => {
                            for relative in &pending {
                                last_error
                                    .entry(relative.clone())
                                    .or_insert_with(|| message.clone());
                            }
                        }
                    }
                }
            }
        }
        pending.retain(|relative| !confirmed.contains(relative) && target.key(relative).is_ok());
        for relative in &confirmed {
            last_error.remove(relative);
        }
        if permanent {
            break; // the store refused: asking again gets the same answer
        }
    }
    // Every key not confirmed is a failure, with the error that names it or
    // else the last error of its batch.
    let deleted: std::collections::HashSet<&String> = outcome.deleted.iter().collect();
    let fallback = last_error.values().next().cloned().unwrap_or_else(|| {
        format!(
            "cannot delete from {}: the store did not confirm the delete",
            target.url
        )
    });
    let mut failed: Vec<(String, String)> = steps
        .iter()
        .map(|s| &s.relative)
        .filter(|relative| !deleted.contains(relative))
        .map(|relative| {
            let error = last_error
                .get(relative)
                .cloned()
                .unwrap_or_else(|| fallback.clone());
            (relative.clone(), error)
        })
        .collect();
    failed.sort();
    for (path, error) in failed {
        progress.event(Event::Failed {
            path: path.clone(),
            error: error.clone(),
        });
        outcome.failures.push(Failure {
            path,
            action: Action::Delete,
            error,
        });
    }
}

/// Whether the store refused (4xx: credentials, permissions) rather than
/// failed in transit; object_store's own retries follow the same rule.
fn is_refusal(error: &object_store::Error) -> bool {
    matches!(
        error,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || describe(error).contains("status code: 4")
}

/// The relative path of a key an error names, if it is under the prefix.
fn target_relative(target: &Target, path: &str) -> Option<String> {
    let key = object_store::path::Path::parse(path).ok()?;
    target.relative(&key).map(String::from)
}

fn attributes(file: &LocalFile, settings: &Settings, encoding: Option<Method>) -> Attributes {
    ObjectHeaders::for_file(&file.relative, file.kind, &settings.cache)
        .encoded(encoding.map(Method::content_encoding))
        .attributes(settings.headers)
}

/// What every upload task shares.
struct Shared {
    target: Target,
    settings: Settings,
    limits: Limits,
}

/// A spawned task that is aborted when its handle is dropped: an upload
/// never outlives the deploy that started it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> std::future::Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

/// Bounds on what uploads may hold in memory together.
struct Limits {
    /// One permit per multipart upload.
    multipart: Semaphore,
    /// One permit per file being read.
    reads: Semaphore,
    /// One permit per KiB of small files read whole.
    memory_kib: Semaphore,
}

/// Size of the pieces a file is read in.
const READ_CHUNK: usize = 64 * 1024;

/// What reading a file whole found.
enum Read {
    /// The file as a payload of `READ_CHUNK` pieces, or compressed when
    /// compression was tried on it (see [`Encoding`]).
    Whole(PutPayload, Option<Encoding>),
    /// The file no longer has the size the scan saw; its size now.
    Changed(u64),
    /// The file has the size the scan saw but not the content it hashed.
    Rewritten,
}

/// Reads a file of `size` bytes whole and, when the scan hashed it, checks
/// that the bytes read are the bytes hashed; then, with `compress`, tries to
/// compress them on the same blocking thread (so compressions run at most
/// [`READS_AT_ONCE`] at once, beside the uploads in flight).
///
/// The buffers are allocated here, on the runtime's worker threads, and only
/// filled on a blocking thread. Each thread has its own heap in glibc's
/// allocator; buffers allocated on the many blocking threads left each of
/// those heaps holding its own high-water mark, 5–10 MB more peak memory on
/// a 3,000-file build. Pieces of one size, rather than one buffer per file,
/// are reused from one file to the next.
async fn read_whole(
    path: &std::path::Path,
    size: u64,
    md5: Option<[u8; 16]>,
    compress: Option<Method>,
) -> std::io::Result<Read> {
    let size = usize::try_from(size).map_err(std::io::Error::other)?;
    let mut chunks: Vec<BytesMut> = (0..size.div_ceil(READ_CHUNK))
        .map(|i| BytesMut::zeroed(READ_CHUNK.min(size - i * READ_CHUNK)))
        .collect();
    let buffer = match compress {
        Some(_) => Vec::with_capacity(crate::compress::limit(size)),
        None => Vec::new(),
    };
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read as _;
        let mut reader = std::fs::File::open(&path)?;
        for chunk in &mut chunks {
            match reader.read_exact(chunk) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(Read::Changed(std::fs::metadata(&path)?.len()));
                }
                Err(e) => return Err(e),
            }
        }
        if reader.read(&mut [0u8; 1])? != 0 {
            return Ok(Read::Changed(std::fs::metadata(&path)?.len()));
        }
        if let Some(expected) = md5 {
            let mut hasher = Md5::new();
            chunks.iter().for_each(|chunk| hasher.update(chunk));
            if <[u8; 16]>::from(hasher.finalize()) != expected {
                return Ok(Read::Rewritten);
            }
        }
        if let Some(method) = compress {
            let mut buffer = buffer;
            let compressed =
                if crate::compress::precompressed(method, &path, &chunks, size, &mut buffer)? {
                    Some(buffer)
                } else {
                    crate::compress::compress_into(method, &chunks, size, buffer)?
                };
            let encoding = Encoding {
                method,
                stored_size: compressed.as_ref().map(|c| c.len() as u64),
                stored_md5: compressed
                    .as_ref()
                    .map(|c| crate::digest::hex(&Md5::digest(c).into())),
            };
            if let Some(compressed) = compressed {
                return Ok(Read::Whole(PutPayload::from(compressed), Some(encoding)));
            }
            let payload = chunks.into_iter().map(BytesMut::freeze).collect();
            return Ok(Read::Whole(payload, Some(encoding)));
        }
        let payload = chunks.into_iter().map(BytesMut::freeze).collect();
        Ok(Read::Whole(payload, None))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// What one upload wrote.
struct Written {
    /// The store's ETag, if it gave one.
    e_tag: Option<String>,
    /// How the file is stored, when compression was tried on it.
    encoding: Option<Encoding>,
}

async fn upload_file(
    target: &Target,
    file: &LocalFile,
    settings: &Settings,
    limits: &Limits,
) -> Result<Written, String> {
    let key = target
        .key(&file.relative)
        .map_err(|e| format!("invalid key for '{}': {e}", file.relative))?;
    let store_error = |e: object_store::Error| {
        format!(
            "cannot upload '{}' to {}: {}",
            file.relative,
            target.url,
            describe(&e)
        )
    };
    let read_error = |e: std::io::Error| format!("cannot read '{}': {e}", file.path.display());
    let changed = |now: u64| changed_on_disk(file, Some(now));
    let rewritten = || changed_on_disk(file, None);

    if file.size <= MULTIPART_THRESHOLD {
        let compress = crate::compress::wanted(settings.compress, file);
        // A file being compressed holds its compressed copy too, at most
        // 90% of its size. A file larger than the whole budget waits for
        // all of it.
        let held = if compress.is_some() { 2 } else { 1 } * file.size;
        let kib = (held / 1024).clamp(1, IN_MEMORY_BUDGET_KIB as u64) as u32;
        let _memory = limits
            .memory_kib
            .acquire_many(kib)
            .await
            .map_err(|e| e.to_string())?;
        let read = {
            let _reading = limits.reads.acquire().await.map_err(|e| e.to_string())?;
            read_whole(&file.path, file.size, file.md5, compress)
                .await
                .map_err(read_error)?
        };
        let (payload, encoding) = match read {
            Read::Whole(payload, encoding) => (payload, encoding),
            Read::Changed(now) => return Err(changed(now)),
            Read::Rewritten => return Err(rewritten()),
        };
        let stored_encoding = encoding
            .as_ref()
            .filter(|e| e.stored_size.is_some())
            .map(|e| e.method);
        let options = PutOptions {
            attributes: attributes(file, settings, stored_encoding),
            ..Default::default()
        };
        let written = target
            .store
            .put_opts(&key, payload, options)
            .await
            .map_err(store_error)?;
        return Ok(Written {
            e_tag: written.e_tag,
            encoding,
        });
    }

    // Above the multipart threshold a file streams as it is: a compressed
    // copy would have to be held whole, and `compress` leaves such files
    // alone (see `compress::is_candidate`).

    let _slot = limits
        .multipart
        .acquire()
        .await
        .map_err(|e| e.to_string())?;
    let mut reader = tokio::fs::File::open(&file.path)
        .await
        .map_err(read_error)?;
    let options = PutMultipartOptions {
        attributes: attributes(file, settings, None),
        ..Default::default()
    };
    let upload = target
        .store
        .put_multipart_opts(&key, options)
        .await
        .map_err(store_error)?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut read_total = 0u64;
    let mut hasher = file.md5.map(|_| Md5::new());
    let streamed: Result<(), String> = async {
        loop {
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(store_error)?;
            let mut buffer = BytesMut::with_capacity(1024 * 1024);
            let read = reader.read_buf(&mut buffer).await.map_err(read_error)?;
            if read == 0 {
                break;
            }
            read_total += read as u64;
            if let Some(hasher) = &mut hasher {
                hasher.update(&buffer);
            }
            writer.put(buffer.freeze());
        }
        if read_total != file.size {
            return Err(changed(read_total));
        }
        // Checked before `finish`: the object only appears once it completes.
        if let (Some(hasher), Some(expected)) = (hasher.take(), file.md5) {
            if <[u8; 16]>::from(hasher.finalize()) != expected {
                return Err(rewritten());
            }
        }
        Ok(())
    }
    .await;
    match streamed {
        Ok(()) => Ok(Written {
            e_tag: writer.finish().await.map_err(store_error)?.e_tag,
            encoding: None,
        }),
        Err(error) => {
            // Leave no dangling parts behind; the upload's own error matters more.
            let _ = writer.abort().await;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Reason;
    use object_store::ObjectStoreExt;

    fn step(relative: &str, kind: FileKind) -> Step {
        Step {
            relative: relative.into(),
            action: Action::Upload,
            reason: Reason::New,
            size: 1,
            kind: Some(kind),
            local: Some(0),
        }
    }

    #[test]
    fn the_root_index_html_is_a_stage_of_its_own_after_every_other_entry() {
        let plan = Plan {
            steps: vec![
                step("assets/a-3fA9c1xZ.js", FileKind::Hashed),
                step("robots.txt", FileKind::Other),
                step(".vite/manifest.json", FileKind::Entry),
                step("about/index.html", FileKind::Entry),
                step("index.html", FileKind::Entry),
            ],
        };
        let names: Vec<Vec<&str>> = stages(plan.upload_groups())
            .iter()
            .map(|stage| stage.iter().map(|s| s.relative.as_str()).collect())
            .collect();
        assert_eq!(
            names,
            [
                vec!["assets/a-3fA9c1xZ.js"],
                vec!["robots.txt"],
                vec![".vite/manifest.json", "about/index.html"],
                vec!["index.html"],
            ]
        );
        let only_root = Plan {
            steps: vec![step("index.html", FileKind::Entry)],
        };
        assert_eq!(stages(only_root.upload_groups()).len(), 1);
    }

    #[test]
    fn bytes_not_as_scanned_are_named_with_how_they_differ() {
        let file = LocalFile {
            relative: "index.html".into(),
            path: "dist/index.html".into(),
            size: 3,
            kind: FileKind::Entry,
            md5: Some(Md5::digest(b"abc").into()),
        };
        assert_eq!(not_as_scanned(&file, b"abc"), None);
        let rewritten = not_as_scanned(&file, b"abd").unwrap();
        assert!(rewritten.contains("'dist/index.html' changed on disk during the deploy (same size, different content than at scan)"), "{rewritten}");
        let grown = not_as_scanned(&file, b"abcd").unwrap();
        assert!(grown.contains("(3 bytes at scan, 4 now)"), "{grown}");
        let hashed = LocalFile {
            md5: None,
            kind: FileKind::Hashed,
            ..file
        };
        assert_eq!(
            not_as_scanned(&hashed, b"xyz"),
            None,
            "a hashed asset is checked by size"
        );
    }

    fn memory_target(name: &str) -> Target {
        let url = format!("memory:///publish-tests-{name}-{}", std::process::id());
        crate::store::open(&url, &Default::default(), &Default::default()).unwrap()
    }

    fn settings(cancel: Cancellation) -> Settings {
        Settings {
            concurrency: 4,
            cache: CacheRules::new(&[]).unwrap(),
            headers: false,
            cancel,
            compress: None,
        }
    }

    #[tokio::test]
    async fn a_same_size_rewrite_after_the_scan_fails_its_upload_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let large = (MULTIPART_THRESHOLD + 1) as usize;
        std::fs::write(dir.path().join("index.html"), "<p>scanned</p>").unwrap();
        std::fs::write(dir.path().join("video.mp4"), vec![1u8; large]).unwrap();
        let local = crate::local::scan(dir.path(), &Default::default(), &Default::default(), false)
            .unwrap();
        // A concurrent build rewrites both in place, keeping their sizes.
        std::fs::write(dir.path().join("index.html"), "<p>REWRITE</p>").unwrap();
        std::fs::write(dir.path().join("video.mp4"), vec![2u8; large]).unwrap();

        let target = memory_target("rewrite");
        let plan = crate::plan::plan(&local, &[], &HashMap::new(), false);
        let outcome = upload(
            &target,
            &plan,
            &local,
            &settings(Cancellation::default()),
            &(),
        )
        .await;

        // video.mp4 goes up first (other files before entries) and fails, so
        // index.html is not even attempted; each check is shown on its own
        // below with the video skipped.
        assert_eq!(outcome.failures.len(), 1, "{:?}", outcome.failures);
        assert_eq!(outcome.failures[0].path, "video.mp4");
        assert!(
            outcome.failures[0].error.contains(
                "changed on disk during the deploy (same size, different content than at scan)"
            ),
            "{}",
            outcome.failures[0].error
        );
        assert_eq!(outcome.not_attempted, ["index.html"]);

        let html_only: Vec<LocalFile> = local
            .into_iter()
            .filter(|f| f.relative == "index.html")
            .collect();
        let plan = crate::plan::plan(&html_only, &[], &HashMap::new(), false);
        let outcome = upload(
            &target,
            &plan,
            &html_only,
            &settings(Cancellation::default()),
            &(),
        )
        .await;
        assert_eq!(outcome.failures.len(), 1, "{:?}", outcome.failures);
        assert!(outcome.failures[0]
            .error
            .contains("same size, different content"));
        for relative in ["index.html", "video.mp4"] {
            let key = target.key(relative).unwrap();
            assert!(
                target.store.head(&key).await.is_err(),
                "{relative} was stored"
            );
        }
    }

    #[tokio::test]
    async fn a_cancel_after_the_uploads_still_stops_the_deletes() {
        let target = memory_target("cancel");
        let key = target.key("assets/old-3fA9c1xZ.js").unwrap();
        target.store.put(&key, "old".into()).await.unwrap();
        let plan = Plan {
            steps: vec![Step {
                relative: "assets/old-3fA9c1xZ.js".into(),
                action: Action::Delete,
                reason: Reason::Orphan,
                size: 3,
                kind: None,
                local: None,
            }],
        };
        let mut outcome = Outcome::default();
        let cancel = Cancellation::default();
        // Cancelled after the uploads finished, as while the ledger is written.
        cancel.cancel();
        delete(&target, &plan, &(), &cancel, &mut outcome).await;
        assert!(outcome.cancelled);
        assert!(outcome.deleted.is_empty());
        assert_eq!(outcome.not_attempted, ["assets/old-3fA9c1xZ.js"]);
        assert!(
            target.store.head(&key).await.is_ok(),
            "the orphan is still there"
        );
    }
}
