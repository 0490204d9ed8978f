//! The release ledger: a small JSON document of vite-deploy's own, under the
//! prefix at `.vite-deploy/ledger.json`, recording the last releases (every
//! key with its size and content hash) and the keys of older releases not yet
//! deleted.
//!
//! It makes a redeploy exact and cheap (one GET beside the LIST: a same-size
//! change is found from the recorded MD5, with no read of remote content), and
//! it is what retention needs to know which orphans the previous release still
//! references. It is written after the site's files and before any delete,
//! with a conditional write where the store supports one, so two deploys to
//! one prefix at once cannot both commit a release on top of the same ledger.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

pub use crate::digest::{hex, parse_hex};
use crate::error::{describe, Error, Result};
use crate::local::FileKind;
use crate::store::Target;

pub use crate::layout::LEDGER_DIR;

/// The ledger's key relative to the prefix.
pub const LEDGER_FILE: &str = ".vite-deploy/ledger.json";

/// Where copies of each release's unhashed files (HTML, manifest, `public/`
/// files) live, by MD5, so a rollback can put them back without a rebuild.
/// Hashed assets need no copy: retention keeps them in place.
pub const BLOBS_DIR: &str = ".vite-deploy/blobs";

/// The key of a snapshot copy, relative to the prefix.
pub fn blob_key(md5_hex: &str) -> String {
    format!("{BLOBS_DIR}/{md5_hex}")
}

/// Where each kept release's keys are stored, one object per release, named
/// by its id and a hash of its content: written once, never changed, so a
/// deploy writes only the release it adds (and the small index).
pub const RELEASES_DIR: &str = ".vite-deploy/releases";

/// A key in [`RELEASES_DIR`], for checks of the folder a release object is
/// written to (see `remote::check_local_writes`).
pub const RELEASE_OBJECT_PROBE: &str = ".vite-deploy/releases/release.json";

/// The format this version writes; it reads this one and the older ones.
/// Format 1 held every release's keys in `ledger.json` itself, rewritten by
/// every deploy; format 2 makes `ledger.json` an index of release objects.
pub const FORMAT: u32 = 2;

/// The whole ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// The format version; a newer one is refused rather than misread.
    pub format: u32,
    /// Releases, oldest first; the last is live.
    pub releases: Vec<Release>,
    /// Keys of releases no longer kept here that were still in the store when
    /// they were dropped; retention may delete them.
    #[serde(default)]
    pub retired: BTreeSet<String>,
    /// For retired keys: when each stopped being live (the time of the first
    /// release that no longer had it), in seconds since the epoch by the
    /// store's clock. The age-based window of retention counts from here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replaced: BTreeMap<String, i64>,
}

/// One successful deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// A sortable id: `20261128T020501Z-3f9a`.
    pub id: String,
    /// When it went live, RFC 3339.
    pub time: String,
    /// The vite-deploy version that wrote it.
    pub version: String,
    /// Every key of the release, relative to the prefix.
    pub files: BTreeMap<String, Entry>,
}

/// One key of a release.
///
/// A deploy holds up to three releases of every key at once (the live one
/// as read, its copy in the next ledger, the build's), so an entry is kept
/// small: boxed strings, and the rarely set encoding behind a pointer (160
/// bytes each before, 88 now; on a 20,000-file build a noop deploy peaked
/// 4 MB lower). The JSON is the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Bytes.
    pub size: u64,
    /// MD5 of the content, hex, for files compared by content; hashed
    /// assets have none (their name is their content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<Box<str>>,
    /// The file's role.
    pub kind: FileKind,
    /// The store's ETag of the object this release wrote or found, for files
    /// with an MD5: the next deploy trusts the MD5 only while the store still
    /// shows this ETag (another write, such as a failed or lost deploy,
    /// changes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<Box<str>>,
    /// The user's `Cache-Control` rule the file was written with, for files
    /// a rollback restores; `None`: its role's default. A rollback writes
    /// the file again as this release did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<Box<str>>,
    /// The fingerprint of the headers the object was written with (see
    /// [`crate::headers::ObjectHeaders::fingerprint`]); `None`: unknown
    /// (written before ledgers recorded it, or on a store that keeps no
    /// headers). A deploy whose rules give another one writes it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Box<str>>,
    /// How the object is stored when `compress` was tried on it: the method
    /// and, if it is stored compressed, the size and MD5 of the bytes stored
    /// (see [`crate::compress`]). `None`: stored as the file is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Box<crate::compress::Encoding>>,
}

impl Release {
    /// Whether both releases publish the same keys with the same content,
    /// stored with the same encoding: ids, times and recorded ETags aside,
    /// they are the same site.
    pub fn same_files(&self, other: &Release) -> bool {
        self.files.len() == other.files.len()
            && self
                .files
                .iter()
                .zip(&other.files)
                .all(|((k1, e1), (k2, e2))| {
                    k1 == k2 && e1.size == e2.size && e1.md5 == e2.md5 && e1.encoding == e2.encoding
                })
    }

    /// A hash of what [`Release::same_files`] compares: equal releases have
    /// equal fingerprints, so most comparisons stop at one number.
    fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for (key, entry) in &self.files {
            (key, entry.size, &entry.md5, &entry.encoding).hash(&mut hasher);
        }
        hasher.finish()
    }

    /// When it went live, in seconds since the epoch; `None` if unreadable.
    pub fn unix_time(&self) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(&self.time)
            .ok()
            .map(|t| t.timestamp())
    }
}

/// A time as the ledger writes it.
pub fn format_time(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Ledger {
    /// The live release.
    pub fn latest(&self) -> Option<&Release> {
        self.releases.last()
    }

    /// Whether any kept release or the retired list records `key`.
    pub fn knows(&self, key: &str) -> bool {
        self.retired.contains(key) || self.releases.iter().any(|r| r.files.contains_key(key))
    }

    /// Keys referenced by the newest `count` kept releases.
    pub fn referenced_by_last(&self, count: usize) -> BTreeSet<&str> {
        let skip = self.releases.len().saturating_sub(count);
        self.releases[skip..]
            .iter()
            .flat_map(|r| r.files.keys().map(String::as_str))
            .collect()
    }

    /// MD5s of the unhashed files of every kept release: the snapshot copies
    /// that must exist.
    pub fn snapshot_md5s(&self) -> BTreeSet<&str> {
        self.releases
            .iter()
            .flat_map(|r| r.files.values())
            .filter(|e| e.kind != FileKind::Hashed)
            .filter_map(|e| e.md5.as_deref())
            .collect()
    }

    /// Finds a kept release by id, or the newest one whose files differ
    /// from the live one's.
    pub fn release_before_latest_or(&self, id: Option<&str>) -> Option<&Release> {
        match id {
            Some(id) => self.releases.iter().find(|r| r.id == id),
            None => {
                let live = self.latest()?;
                self.releases.iter().rev().find(|r| !r.same_files(live))
            }
        }
    }

    /// The newest `count` distinct releases, newest first, with `build` (the
    /// release being deployed, if any) as the newest: a release deployed
    /// again, or rolled back to, counts once.
    pub fn last_distinct<'a>(
        &'a self,
        count: usize,
        build: Option<&'a Release>,
    ) -> Vec<&'a Release> {
        let mut distinct: Vec<(&Release, u64)> = Vec::new();
        for release in build.into_iter().chain(self.releases.iter().rev()) {
            if distinct.len() >= count {
                break;
            }
            let fingerprint = release.fingerprint();
            if !distinct
                .iter()
                .any(|(d, f)| *f == fingerprint && d.same_files(release))
            {
                distinct.push((release, fingerprint));
            }
        }
        distinct.into_iter().map(|(release, _)| release).collect()
    }

    /// How many distinct releases the ledger holds.
    pub fn distinct_count(&self) -> usize {
        self.last_distinct(usize::MAX, None).len()
    }

    /// When `key`, which `build` does not have, stopped being live: the time
    /// of the first release after the last one that had it (`now` when that
    /// is `build`), or for a retired key the time recorded when it retired.
    /// `None` when no release recorded the key.
    pub fn stopped_live(&self, key: &str, now: i64) -> Option<i64> {
        match self
            .releases
            .iter()
            .rposition(|r| r.files.contains_key(key))
        {
            // A release time that cannot be read counts as now: kept longer.
            Some(last) => Some(
                self.releases
                    .get(last + 1)
                    .map_or(now, |next| next.unix_time().unwrap_or(now)),
            ),
            None if self.retired.contains(key) => {
                Some(self.replaced.get(key).copied().unwrap_or_else(|| {
                    // Retired before times were recorded: it stopped being
                    // live no later than the oldest kept release went live.
                    self.releases
                        .first()
                        .and_then(Release::unix_time)
                        .unwrap_or(now)
                }))
            }
            None => None,
        }
    }

    /// Makes the live release's time the store's: the ledger's
    /// Last-Modified, written when the release went live, by the clock that
    /// every later age is measured against. Times this release's commit
    /// recorded for retired keys move with it.
    pub fn adopt_store_time(&mut self, written: i64) {
        let Some(latest) = self.releases.last_mut() else {
            return;
        };
        let recorded = latest.unix_time().unwrap_or(written);
        let shift = written.saturating_sub(recorded);
        if shift == 0 {
            return;
        }
        latest.time = format_time(written);
        for time in self.replaced.values_mut() {
            if *time >= recorded {
                *time = time.saturating_add(shift);
            }
        }
    }

    /// Adds `release` as the live one and keeps the newest releases that
    /// cover `keep` distinct ones. Keys only dropped releases had, and that
    /// `still_stored` says are in the store, move to `retired` (with the
    /// time they stopped being live) so a later deploy may delete them.
    pub fn commit(&mut self, release: Release, keep: usize, still_stored: impl Fn(&str) -> bool) {
        self.format = FORMAT;
        let now = release.unix_time().unwrap_or_default();
        self.releases.push(release);
        let oldest_kept = self
            .last_distinct(keep.max(1), None)
            .last()
            .map(|r| r.id.clone());
        let drop = self
            .releases
            .iter()
            .rposition(|r| Some(&r.id) == oldest_kept.as_ref())
            .unwrap_or(0);
        // Times are read before the drop, while every release is here.
        let mut stopped: BTreeMap<String, i64> = BTreeMap::new();
        let untimed = self
            .retired
            .iter()
            .filter(|key| !self.replaced.contains_key(*key));
        for key in self.releases[..drop]
            .iter()
            .flat_map(|r| r.files.keys())
            .chain(untimed)
        {
            if let Some(time) = self.stopped_live(key, now) {
                stopped.insert(key.clone(), time);
            }
        }
        self.releases.drain(..drop);
        // Borrowed: a copy of every kept key of a large build is megabytes.
        let kept: BTreeSet<&str> = self
            .releases
            .iter()
            .flat_map(|r| r.files.keys().map(String::as_str))
            .collect();
        for (key, time) in stopped {
            if !kept.contains(key.as_str()) && still_stored(&key) {
                self.retired.insert(key.clone());
                self.replaced.entry(key).or_insert(time);
            }
        }
        self.retired
            .retain(|key| !kept.contains(key.as_str()) && still_stored(key));
        let retired = &self.retired;
        self.replaced.retain(|key, _| retired.contains(key));
    }

    /// The ledger after a deploy of `build`, or `None` when `build` is
    /// already the live release: a redeploy records nothing, so the ledger
    /// never holds the same release twice in a row and the previous
    /// release stays the one to roll back to.
    pub fn next(
        current: Option<&Ledger>,
        build: Release,
        keep: usize,
        still_stored: impl Fn(&str) -> bool,
    ) -> Option<Ledger> {
        if current
            .and_then(Ledger::latest)
            .is_some_and(|live| live.same_files(&build))
        {
            return None;
        }
        let mut next = current.cloned().unwrap_or_default();
        next.commit(build, keep, still_stored);
        Some(next)
    }
}

/// A ledger as read, with the version needed to replace it conditionally.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// `None` when the prefix has no ledger yet.
    pub ledger: Option<Ledger>,
    /// ETag and version of the ledger object, for `PutMode::Update`.
    pub version: Option<UpdateVersion>,
    /// The ledger object's Last-Modified, by the store's clock, in seconds
    /// since the epoch.
    pub modified: Option<i64>,
    /// The release objects the index named (empty for a format 1 ledger):
    /// a write stores only the others.
    pub objects: BTreeSet<String>,
}

/// `ledger.json` as stored: the releases without their keys, which are in
/// the release objects it names (format 2), or inline (format 1).
#[derive(Serialize, Deserialize)]
struct Index {
    format: u32,
    releases: Vec<Listed>,
    #[serde(default)]
    retired: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    replaced: BTreeMap<String, i64>,
}

/// One release in the index.
#[derive(Serialize, Deserialize)]
struct Listed {
    id: String,
    time: String,
    version: String,
    /// Format 2: the key, relative to the prefix, of the release's object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<String>,
    /// Format 1: the release's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<BTreeMap<String, Entry>>,
}

/// Whether `key` can name a release object: a file directly in
/// [`RELEASES_DIR`]. The index is read from the store, and a write deletes
/// the objects it no longer names, so nothing else may be named.
fn is_release_object(key: &str) -> bool {
    key.strip_prefix(RELEASES_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| {
            name.ends_with(".json")
                && !name.starts_with('.')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
}

/// The key of the release object of `files`, and its length: the release id
/// and the MD5 of the content, so equal content has one name and any change
/// another. The JSON is hashed as it is written, not kept: of the releases
/// a ledger write names, only the new one is stored, and its body is then
/// made at its exact size (see [`release_body`]).
fn release_object(
    id: &str,
    files: &BTreeMap<String, Entry>,
) -> serde_json::Result<(String, usize)> {
    use md5::{Digest, Md5};
    struct Digesting(Md5, usize);
    impl std::io::Write for Digesting {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            self.1 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut digesting = Digesting(Md5::new(), 0);
    serde_json::to_writer(&mut digesting, files)?;
    let Digesting(md5, len) = digesting;
    let md5 = hex(&md5.finalize().into());
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((format!("{RELEASES_DIR}/{safe}-{}.json", &md5[..16]), len))
}

/// The body of the release object [`release_object`] named: a release of a
/// large build is megabytes, and a growing buffer held up to twice that.
fn release_body(files: &BTreeMap<String, Entry>, len: usize) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(len);
    serde_json::to_writer(&mut body, files)?;
    Ok(body)
}

/// Reads the ledger; a missing one is `None`, a corrupt or newer one an error
/// (retention must not guess which keys are safe to delete).
pub async fn read(target: &Target) -> Result<Loaded> {
    read_since(target, Loaded::default()).await
}

/// Reads the ledger again, `previous` being what an earlier [`read`] of it
/// gave. The index is asked for only if it changed since (`If-None-Match`
/// its ETag); unchanged, `previous` is the ledger still, and its release
/// objects are not read again: a deploy that lists again under its lease
/// saves a round trip.
pub async fn read_since(target: &Target, previous: Loaded) -> Result<Loaded> {
    let error = |message: String| Error::Ledger {
        store: target.url.clone(),
        message,
    };
    let key = target.key(LEDGER_FILE).map_err(|e| error(e.to_string()))?;
    let unless = previous
        .ledger
        .as_ref()
        .and(previous.version.as_ref())
        .and_then(|v| v.e_tag.clone());
    let options = object_store::GetOptions {
        if_none_match: unless,
        ..Default::default()
    };
    let result = match target.store.get_opts(&key, options).await {
        Ok(result) => result,
        Err(object_store::Error::NotModified { .. }) => return Ok(previous),
        Err(object_store::Error::NotFound { .. }) => return Ok(Loaded::default()),
        Err(e) => {
            return Err(error(format!(
                "cannot read {LEDGER_FILE}: {}",
                describe(&e)
            )))
        }
    };
    let version = UpdateVersion {
        e_tag: result.meta.e_tag.clone(),
        version: result.meta.version.clone(),
    };
    let written = result.meta.last_modified.timestamp();
    let bytes = result
        .bytes()
        .await
        .map_err(|e| error(format!("cannot read {LEDGER_FILE}: {}", describe(&e))))?;
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
        error(format!(
            "{LEDGER_FILE} is not a valid ledger ({e}) — restore it, or delete it to start over (retention then keeps every older file)"
        ))
    })?;
    drop(bytes);
    if index.format > FORMAT {
        return Err(error(format!(
            "{LEDGER_FILE} has format {} but this vite-deploy reads format {FORMAT} or older — upgrade vite-deploy",
            index.format
        )));
    }
    let objects: BTreeSet<String> = index
        .releases
        .iter()
        .filter_map(|r| r.object.clone())
        .collect();
    let releases = futures::future::try_join_all(
        index
            .releases
            .into_iter()
            .map(|listed| read_release(target, listed)),
    )
    .await?;
    let mut ledger = Ledger {
        format: index.format,
        releases,
        retired: index.retired,
        replaced: index.replaced,
    };
    if let Some(problem) = invalid_entry(&ledger, target) {
        return Err(error(format!(
            "{LEDGER_FILE} {problem}, so a rollback or retention could write or delete outside the site — restore the ledger, or delete it to start over (retention then keeps every older file)"
        )));
    }
    ledger.adopt_store_time(written);
    Ok(Loaded {
        ledger: Some(ledger),
        version: Some(version),
        modified: Some(written),
        objects,
    })
}

/// One release of the index with its keys: inline (format 1), or read
/// from its object.
async fn read_release(target: &Target, listed: Listed) -> Result<Release> {
    let error = |message: String| Error::Ledger {
        store: target.url.clone(),
        message,
    };
    let files = match (listed.files, listed.object) {
        (Some(files), _) => files,
        (None, Some(object)) => {
            if !is_release_object(&object) {
                return Err(error(format!(
                    "{LEDGER_FILE} names {object:?} for release {}, which is not a release object under {RELEASES_DIR}/ — restore the ledger, or delete it to start over (retention then keeps every older file)",
                    listed.id
                )));
            }
            let key = target.key(&object).map_err(|e| error(e.to_string()))?;
            let bytes = match target.store.get(&key).await {
                Ok(result) => result.bytes().await,
                Err(e) => Err(e),
            };
            let bytes = bytes.map_err(|e| match e {
                object_store::Error::NotFound { .. } => error(format!(
                    "{object}, which {LEDGER_FILE} names for release {}, is missing — restore it, or delete {LEDGER_DIR}/ to start over (retention then keeps every older file)",
                    listed.id
                )),
                e => error(format!("cannot read {object}: {}", describe(&e))),
            })?;
            serde_json::from_slice(&bytes).map_err(|e| {
                error(format!(
                    "{object} is not a valid release ({e}) — restore it, or delete {LEDGER_DIR}/ to start over (retention then keeps every older file)"
                ))
            })?
        }
        (None, None) => BTreeMap::new(),
    };
    Ok(Release {
        id: listed.id,
        time: listed.time,
        version: listed.version,
        files,
    })
}

/// The first entry that does not name a file of the site, if any. Every key
/// is written back under the prefix by a rollback and may be deleted by
/// retention, so each must map to a key inside the prefix and back to
/// itself: `""` would name the object called like the prefix (`app` beside
/// `app/`), and `..` or `.vite-deploy/…` other things entirely.
fn invalid_entry(ledger: &Ledger, target: &Target) -> Option<String> {
    let keys = ledger
        .releases
        .iter()
        .flat_map(|r| r.files.keys())
        .chain(&ledger.retired);
    for key in keys {
        let inside = !key.is_empty()
            && key != LEDGER_DIR
            && !key.starts_with(&format!("{LEDGER_DIR}/"))
            && target
                .key(key)
                .is_ok_and(|path| target.relative(&path) == Some(key.as_str()));
        if !inside {
            return Some(format!(
                "records the key {key:?}, which is not a file under the prefix"
            ));
        }
    }
    let md5s = ledger.releases.iter().flat_map(|r| r.files.values());
    for md5 in md5s.filter_map(|e| e.md5.as_deref()) {
        if md5.len() != 32 || parse_hex(md5).is_none() {
            return Some(format!(
                "records the content hash {md5:?}, which is not an MD5"
            ));
        }
    }
    None
}

/// The ledger's Last-Modified by the store's clock, in seconds since the
/// epoch: right after a write, the store's "now". `None` if it cannot be read.
pub async fn written_at(target: &Target) -> Option<i64> {
    let key = target.key(LEDGER_FILE).ok()?;
    let meta = target.store.head(&key).await.ok()?;
    Some(meta.last_modified.timestamp())
}

/// How the ledger was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// With a precondition: no other deploy wrote it in between.
    Conditionally,
    /// Overwritten, because the store has no conditional writes.
    Unconditionally,
}

/// Writes the ledger ([`stage`], then [`publish`]). With a previous version
/// it replaces only that version; without, it creates the object only if it
/// is still absent. Another deploy that wrote first makes this an error; a
/// store without conditional writes falls back to a plain overwrite.
pub async fn write(target: &Target, ledger: &Ledger, previous: &Loaded) -> Result<Written> {
    let staged = stage(target, ledger, previous).await?;
    publish(target, ledger, staged, previous).await
}

/// The release objects a ledger's index will name, written by [`stage`].
pub struct Staged {
    releases: Vec<Listed>,
    objects: BTreeSet<String>,
}

/// The first half of [`write()`]: the release objects the previous index did
/// not name (their names change with their content). Nothing names them
/// until [`publish`] writes the index, so this may run alongside other work
/// that must precede the index, such as the rollback copies. A deploy that
/// then loses the race leaves its new object unnamed; it is not deleted, as
/// an equal one may be another deploy's.
pub async fn stage(target: &Target, ledger: &Ledger, previous: &Loaded) -> Result<Staged> {
    let error = |message: String| Error::Ledger {
        store: target.url.clone(),
        message,
    };
    let attributes = json_attributes(target);
    let mut releases = Vec::with_capacity(ledger.releases.len());
    let mut objects = BTreeSet::new();
    let mut writes = Vec::new();
    for release in &ledger.releases {
        let (object, len) =
            release_object(&release.id, &release.files).map_err(|e| error(e.to_string()))?;
        if !previous.objects.contains(&object) {
            let body = release_body(&release.files, len).map_err(|e| error(e.to_string()))?;
            let object_key = target.key(&object).map_err(|e| error(e.to_string()))?;
            let options = PutOptions {
                attributes: attributes.clone(),
                ..Default::default()
            };
            let name = object.clone();
            writes.push(async move {
                target
                    .store
                    .put_opts(&object_key, PutPayload::from(body), options)
                    .await
                    .map_err(|e| error(format!("cannot write {name}: {}", describe(&e))))
            });
        }
        releases.push(Listed {
            id: release.id.clone(),
            time: release.time.clone(),
            version: release.version.clone(),
            object: Some(object.clone()),
            files: None,
        });
        objects.insert(object);
    }
    // Usually one (this deploy's release); every kept release when a
    // format-1 ledger is migrated.
    futures::stream::iter(writes)
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(Staged { releases, objects })
}

/// The second half of [`write()`]: the index naming the staged release
/// objects, written conditionally (see `write_index`), then the objects
/// of releases no longer kept.
pub async fn publish(
    target: &Target,
    ledger: &Ledger,
    staged: Staged,
    previous: &Loaded,
) -> Result<Written> {
    let error = |message: String| Error::Ledger {
        store: target.url.clone(),
        message,
    };
    let key = target.key(LEDGER_FILE).map_err(|e| error(e.to_string()))?;
    let Staged { releases, objects } = staged;
    let index = Index {
        format: FORMAT,
        releases,
        retired: ledger.retired.clone(),
        replaced: ledger.replaced.clone(),
    };
    // Compact: the index goes up with every deploy and is read by every
    // next one (`jq .` shows it pretty). Bytes, so a retry shares them.
    let body = bytes::Bytes::from(serde_json::to_vec(&index).map_err(|e| error(e.to_string()))?);
    let written = write_index(target, &key, body, json_attributes(target), previous).await?;
    // Objects of releases no longer kept, once the index no longer names
    // them; one left behind costs nothing but its bytes.
    let dropped: Vec<&String> = previous.objects.difference(&objects).collect();
    for object in dropped {
        if let Ok(object_key) = target.key(object) {
            let _ = target.store.delete(&object_key).await;
        }
    }
    Ok(written)
}

/// The headers of vite-deploy's own JSON objects (the ledger, the lease),
/// where the store keeps headers: never cached.
pub(crate) fn json_attributes(target: &Target) -> object_store::Attributes {
    let mut attributes = object_store::Attributes::new();
    if target.backend.keeps_headers() {
        attributes.insert(
            object_store::Attribute::ContentType,
            "application/json".into(),
        );
        attributes.insert(object_store::Attribute::CacheControl, "no-store".into());
    }
    attributes
}

/// Writes the index: conditionally where the store can, else over whatever
/// is there (see [`write`]).
async fn write_index(
    target: &Target,
    key: &object_store::path::Path,
    body: bytes::Bytes,
    attributes: object_store::Attributes,
    previous: &Loaded,
) -> Result<Written> {
    let error = |message: String| Error::Ledger {
        store: target.url.clone(),
        message,
    };
    let overwrite = |attributes: object_store::Attributes| async {
        let options = PutOptions {
            attributes,
            ..Default::default()
        };
        target
            .store
            .put_opts(key, PutPayload::from(body.clone()), options)
            .await
            .map(|_| Written::Unconditionally)
            .map_err(|e| error(format!("cannot write {LEDGER_FILE}: {}", describe(&e))))
    };
    let mode = match &previous.version {
        None => PutMode::Create,
        // GCS matches on the generation; a store that gave none cannot.
        Some(version)
            if version.version.is_none()
                && (version.e_tag.is_none() || target.backend == crate::store::Backend::Gcs) =>
        {
            return overwrite(attributes).await
        }
        Some(version) => PutMode::Update(version.clone()),
    };
    let options = PutOptions {
        mode,
        attributes: attributes.clone(),
        ..Default::default()
    };
    match target
        .store
        .put_opts(key, PutPayload::from(body.clone()), options)
        .await
    {
        Ok(_) => Ok(Written::Conditionally),
        Err(
            object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. },
        ) => Err(Error::LedgerConflict {
            store: target.url.clone(),
        }),
        // No conditional writes here (object_store's local store, S3 without
        // `aws_conditional_put`, or a server that rejects the header). A
        // network failure is not that: it must not drop the protection.
        Err(object_store::Error::NotImplemented { .. }) => overwrite(attributes).await,
        Err(e @ object_store::Error::Generic { .. }) if rejects_conditions(&e) => {
            overwrite(attributes).await
        }
        Err(e) => Err(error(format!(
            "cannot write {LEDGER_FILE}: {}",
            describe(&e)
        ))),
    }
}

/// Whether a store answered a conditional write with "not supported" (400,
/// 501, or GCS wanting a generation it never gave) rather than failing.
pub(crate) fn rejects_conditions(error: &object_store::Error) -> bool {
    let text = describe(error).to_ascii_lowercase();
    [
        "501",
        "400 bad request",
        "not implemented",
        "notimplemented",
        "version required",
        "invalidargument",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// A new release id from the time and a few random bits, sortable by time.
pub fn release_id(now: chrono::DateTime<chrono::Utc>) -> String {
    let nanos = now.timestamp_subsec_nanos();
    format!(
        "{}-{:04x}",
        now.format("%Y%m%dT%H%M%SZ"),
        (nanos ^ std::process::id()) & 0xffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: &str, keys: &[&str]) -> Release {
        Release {
            id: id.into(),
            time: "2026-11-28T00:00:00Z".into(),
            version: "test".into(),
            files: keys
                .iter()
                .map(|k| {
                    let entry = Entry {
                        size: 1,
                        md5: None,
                        kind: FileKind::Hashed,
                        e_tag: None,
                        cache_control: None,
                        headers: None,
                        encoding: None,
                    };
                    (k.to_string(), entry)
                })
                .collect(),
        }
    }

    #[test]
    fn commit_keeps_the_newest_releases_and_retires_what_only_older_ones_had() {
        let mut ledger = Ledger::default();
        ledger.commit(
            release("1", &["index.html", "a1.js", "shared.js"]),
            2,
            |_| true,
        );
        ledger.commit(
            release("2", &["index.html", "a2.js", "shared.js"]),
            2,
            |_| true,
        );
        assert!(ledger.retired.is_empty());
        ledger.commit(
            release("3", &["index.html", "a3.js", "shared.js"]),
            2,
            |_| true,
        );
        let ids: Vec<_> = ledger.releases.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["2", "3"]);
        assert_eq!(ledger.retired, BTreeSet::from(["a1.js".to_string()]));
        assert!(ledger.knows("a1.js") && ledger.knows("a2.js") && !ledger.knows("other.js"));
        assert_eq!(
            ledger.referenced_by_last(1),
            BTreeSet::from(["index.html", "a3.js", "shared.js"])
        );
        // Once deleted from the store, a retired key is forgotten.
        ledger.commit(release("4", &["index.html", "a4.js"]), 2, |key| {
            key != "a1.js"
        });
        assert_eq!(ledger.retired, BTreeSet::from(["a2.js".to_string()]));
    }

    #[test]
    fn the_live_release_takes_the_store_time_and_retired_times_move_with_it() {
        let at = |id: &str, time: i64, keys: &[&str]| Release {
            time: format_time(time),
            ..release(id, keys)
        };
        let mut ledger = Ledger::default();
        ledger.commit(at("1", 1_000, &["a.js"]), 1, |_| true);
        ledger.commit(at("2", 1_500, &["b.js"]), 1, |_| true);
        // Written by a runner 3 h slow: the store wrote the ledger at 12,800.
        ledger.commit(at("3", 2_000, &["c.js"]), 1, |_| true);
        assert_eq!(ledger.stopped_live("b.js", 99_999), Some(2_000));
        ledger.adopt_store_time(12_800);
        assert_eq!(ledger.latest().unwrap().unix_time(), Some(12_800));
        assert_eq!(ledger.stopped_live("b.js", 99_999), Some(12_800));
        assert_eq!(
            ledger.stopped_live("a.js", 99_999),
            Some(1_500),
            "retired by an earlier release"
        );
    }

    #[test]
    fn a_redeploy_of_the_live_release_records_nothing_and_rollback_skips_copies() {
        let mut ledger = Ledger::default();
        ledger.commit(release("a", &["a.js"]), 2, |_| true);
        ledger.commit(release("b", &["b.js"]), 2, |_| true);
        assert!(Ledger::next(Some(&ledger), release("b2", &["b.js"]), 2, |_| true).is_none());
        let next = Ledger::next(Some(&ledger), release("a2", &["a.js"]), 2, |_| true).unwrap();
        let ids: Vec<_> = next.releases.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            ["b", "a2"],
            "A again: B and A are the two distinct releases"
        );
        assert_eq!(next.release_before_latest_or(None).unwrap().id, "b");
        // A ledger written before redeploys were deduplicated.
        let mut old = Ledger::default();
        for (id, key) in [("a", "a.js"), ("b", "b.js"), ("b2", "b.js")] {
            old.releases.push(release(id, &[key]));
        }
        assert_eq!(old.release_before_latest_or(None).unwrap().id, "a");
        assert_eq!(old.distinct_count(), 2);
    }

    #[test]
    fn ledger_round_trips_through_json() {
        let mut ledger = Ledger::default();
        ledger.commit(release("1", &["index.html"]), 2, |_| true);
        let text = serde_json::to_string(&ledger).unwrap();
        assert_eq!(serde_json::from_str::<Ledger>(&text).unwrap(), ledger);
        assert!(release_id(chrono::Utc::now()).len() > 16);
    }

    #[tokio::test]
    async fn corrupt_newer_and_missing_ledgers() {
        let target = memory("memory:///ledger-test");
        assert!(read(&target).await.unwrap().ledger.is_none());
        let key = target.key(LEDGER_FILE).unwrap();
        target
            .store
            .put(&key, PutPayload::from_static(b"{not json"))
            .await
            .unwrap();
        let error = read(&target).await.unwrap_err().to_string();
        assert!(error.contains("not a valid ledger"), "{error}");
        target
            .store
            .put(
                &key,
                PutPayload::from_static(b"{\"format\": 99, \"releases\": []}"),
            )
            .await
            .unwrap();
        let error = read(&target).await.unwrap_err().to_string();
        assert!(error.contains("upgrade vite-deploy"), "{error}");
    }

    #[tokio::test]
    async fn keys_that_do_not_map_back_into_the_prefix_are_refused() {
        let target = memory("memory:///ledger-keys/app");
        let key = target.key(LEDGER_FILE).unwrap();
        let md5 = "0123456789abcdef0123456789abcdef";
        for bad in [
            "",
            "a/../b",
            "..",
            "./x",
            "a//b",
            "/x",
            "x/",
            ".vite-deploy/ledger.json",
            ".vite-deploy",
            "a\u{0}b",
        ] {
            let mut ledger = Ledger::default();
            ledger.commit(release("1", &["index.html", bad]), 2, |_| true);
            let body = serde_json::to_vec(&ledger).unwrap();
            target
                .store
                .put(&key, PutPayload::from(body))
                .await
                .unwrap();
            let error = read(&target).await.unwrap_err().to_string();
            assert!(
                error.contains("not a file under the prefix"),
                "{bad:?}: {error}"
            );
            // The retired list is read the same way.
            let mut ledger = Ledger::default();
            ledger.commit(release("1", &["index.html"]), 2, |_| true);
            ledger.retired.insert(bad.to_string());
            let body = serde_json::to_vec(&ledger).unwrap();
            target
                .store
                .put(&key, PutPayload::from(body))
                .await
                .unwrap();
            assert!(read(&target).await.is_err(), "retired {bad:?}");
        }
        let mut ledger = Ledger::default();
        let mut good = release("1", &["index.html", "a b/ü#1.txt"]);
        good.files.get_mut("index.html").unwrap().md5 = Some(md5.into());
        ledger.commit(good.clone(), 2, |_| true);
        let body = serde_json::to_vec(&ledger).unwrap();
        target
            .store
            .put(&key, PutPayload::from(body))
            .await
            .unwrap();
        assert!(read(&target).await.unwrap().ledger.is_some());
        good.files.get_mut("index.html").unwrap().md5 = Some("../../index.html".into());
        let mut ledger = Ledger::default();
        ledger.commit(good, 2, |_| true);
        let body = serde_json::to_vec(&ledger).unwrap();
        target
            .store
            .put(&key, PutPayload::from(body))
            .await
            .unwrap();
        let error = read(&target).await.unwrap_err().to_string();
        assert!(error.contains("not an MD5"), "{error}");
    }

    /// What a ledger records, times aside (a read makes the live
    /// release's time the store's).
    fn memory(url: &str) -> Target {
        crate::store::open(url, &Default::default(), &Default::default()).unwrap()
    }

    fn shape(ledger: Option<&Ledger>) -> String {
        let shape = ledger.map(|l| {
            let releases: Vec<_> = l.releases.iter().map(|r| (&r.id, &r.files)).collect();
            (releases, &l.retired)
        });
        format!("{shape:?}")
    }

    /// Issue 19: the ledger is an index plus one object per release, so a
    /// deploy writes only the release it adds, not every kept release again.
    #[tokio::test]
    async fn a_write_stores_each_release_once_and_the_index_names_them() {
        let target = memory("memory:///ledger-split/app");
        let objects = || async {
            let prefix = target.key(RELEASES_DIR).unwrap();
            let mut names: Vec<String> = target
                .store
                .list(Some(&prefix))
                .map_ok(|meta| meta.location.to_string())
                .try_collect()
                .await
                .unwrap();
            names.sort();
            names
        };
        let mut ledger = Ledger::default();
        ledger.commit(release("1", &["index.html", "a1.js"]), 2, |_| true);
        write(&target, &ledger, &Loaded::default()).await.unwrap();
        let first = objects().await;
        assert_eq!(first.len(), 1, "{first:?}");

        let loaded = read(&target).await.unwrap();
        assert_eq!(shape(loaded.ledger.as_ref()), shape(Some(&ledger)));
        let index: serde_json::Value = serde_json::from_slice(
            &target
                .store
                .get(&target.key(LEDGER_FILE).unwrap())
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(index["format"], FORMAT);
        assert!(
            index["releases"][0].get("files").is_none(),
            "the index holds no keys: {index}"
        );

        let mut next = ledger.clone();
        next.commit(release("2", &["index.html", "a2.js"]), 2, |_| true);
        let before = target.store.head(&first[0].as_str().into()).await.unwrap();
        write(&target, &next, &loaded).await.unwrap();
        let second = objects().await;
        assert_eq!(second.len(), 2, "{second:?}");
        assert!(second.contains(&first[0]));
        let after = target.store.head(&first[0].as_str().into()).await.unwrap();
        assert_eq!(before.e_tag, after.e_tag, "release 1 was not written again");
        let loaded = read(&target).await.unwrap();
        assert_eq!(shape(loaded.ledger.as_ref()), shape(Some(&next)));

        // Release 1 dropped: its object goes once the index no longer names it.
        let mut third = next.clone();
        third.commit(release("3", &["index.html", "a3.js"]), 1, |_| true);
        write(&target, &third, &loaded).await.unwrap();
        let remaining = objects().await;
        assert_eq!(remaining.len(), 1, "{remaining:?}");
        assert_eq!(
            shape(read(&target).await.unwrap().ledger.as_ref()),
            shape(Some(&third))
        );
    }

    #[tokio::test]
    async fn a_ledger_read_again_unchanged_reads_no_release_object() {
        for url in ["memory:///ledger-again/app", "file:///"] {
            let dir = tempfile::tempdir().unwrap();
            let url = if url == "file:///" {
                format!("file://{}/app", dir.path().display())
            } else {
                url.to_string()
            };
            let target =
                crate::store::open(&url, &Default::default(), &Default::default()).unwrap();
            let mut ledger = Ledger::default();
            ledger.commit(release("1", &["index.html", "a1.js"]), 2, |_| true);
            write(&target, &ledger, &Loaded::default()).await.unwrap();
            let loaded = read(&target).await.unwrap();

            // The release object gone behind the deploy's back: a read that
            // fetched it would fail, so reading again proves it was not.
            let object = loaded.objects.iter().next().unwrap().clone();
            target
                .store
                .delete(&target.key(&object).unwrap())
                .await
                .unwrap();
            assert!(
                read(&target).await.is_err(),
                "{url}: a full read needs the object"
            );
            let again = read_since(&target, loaded.clone()).await.unwrap();
            assert_eq!(
                shape(again.ledger.as_ref()),
                shape(loaded.ledger.as_ref()),
                "{url}"
            );

            // Changed since (release 1 no longer kept): read in full.
            let mut next = ledger.clone();
            next.commit(release("2", &["index.html", "a2.js"]), 1, |_| true);
            write(&target, &next, &loaded).await.unwrap();
            let changed = read_since(&target, loaded).await.unwrap();
            assert_eq!(shape(changed.ledger.as_ref()), shape(Some(&next)), "{url}");
        }
    }

    #[tokio::test]
    async fn a_single_file_ledger_is_read_and_migrated_on_the_next_write() {
        let target = memory("memory:///ledger-migrate");
        let mut old = Ledger::default();
        old.commit(release("1", &["index.html", "a1.js"]), 2, |_| true);
        old.commit(release("2", &["index.html", "a2.js"]), 2, |_| true);
        old.format = 1;
        // As vite-deploy wrote it before: every release with its files inline.
        let body = serde_json::to_vec(&old).unwrap();
        assert!(String::from_utf8_lossy(&body).contains("\"files\""));
        target
            .store
            .put(&target.key(LEDGER_FILE).unwrap(), PutPayload::from(body))
            .await
            .unwrap();
        let loaded = read(&target).await.unwrap();
        assert_eq!(shape(loaded.ledger.as_ref()), shape(Some(&old)));

        let mut next = old.clone();
        next.commit(release("3", &["index.html", "a3.js"]), 2, |_| true);
        write(&target, &next, &loaded).await.unwrap();
        let index = target
            .store
            .get(&target.key(LEDGER_FILE).unwrap())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&index).contains("\"files\""));
        assert_eq!(
            shape(read(&target).await.unwrap().ledger.as_ref()),
            shape(Some(&next))
        );
    }

    #[test]
    fn the_probe_is_a_release_object() {
        assert!(is_release_object(RELEASE_OBJECT_PROBE));
    }

    #[tokio::test]
    async fn an_index_naming_a_missing_or_outside_release_object_is_refused() {
        let target = memory("memory:///ledger-missing");
        let key = target.key(LEDGER_FILE).unwrap();
        for (object, expected) in [
            (".vite-deploy/releases/1-00.json", "is missing"),
            ("index.html", "not a release object"),
            (
                ".vite-deploy/releases/../ledger.json",
                "not a release object",
            ),
        ] {
            let index = serde_json::json!({
                "format": FORMAT,
                "releases": [{ "id": "1", "time": "2026-11-28T00:00:00Z", "version": "t", "object": object }],
            });
            target
                .store
                .put(&key, PutPayload::from(serde_json::to_vec(&index).unwrap()))
                .await
                .unwrap();
            let error = read(&target).await.unwrap_err().to_string();
            assert!(error.contains(expected), "{object}: {error}");
        }
    }

    #[tokio::test]
    async fn a_second_writer_on_the_same_version_is_refused() {
        let target = memory("memory:///ledger-race");
        let mut ledger = Ledger::default();
        ledger.commit(release("1", &["a"]), 2, |_| true);
        assert_eq!(
            write(&target, &ledger, &Loaded::default()).await.unwrap(),
            Written::Conditionally
        );
        // Both start from the same read...
        let first = read(&target).await.unwrap();
        let second = read(&target).await.unwrap();
        write(&target, &ledger, &first).await.unwrap();
        // ...and the second one to write loses.
        assert!(matches!(
            write(&target, &ledger, &second).await,
            Err(Error::LedgerConflict { .. })
        ));
        // A writer that saw no ledger loses against any ledger.
        assert!(matches!(
            write(&target, &ledger, &Loaded::default()).await,
            Err(Error::LedgerConflict { .. })
        ));
    }

    #[test]
    fn an_entry_stays_small() {
        // See [`Entry`]: every key of a build is held up to three times.
        assert!(std::mem::size_of::<Entry>() <= 88);
    }

    #[test]
    fn a_release_object_is_named_by_the_md5_of_the_body_stored() {
        use md5::{Digest, Md5};
        let release = release("20261128T020501Z-3f9a", &["index.html", "a.js"]);
        let (name, len) = release_object(&release.id, &release.files).unwrap();
        let body = release_body(&release.files, len).unwrap();
        assert_eq!(body.len(), len);
        assert_eq!(body, serde_json::to_vec(&release.files).unwrap());
        let md5 = hex(&Md5::digest(&body).into());
        assert_eq!(
            name,
            format!("{RELEASES_DIR}/20261128T020501Z-3f9a-{}.json", &md5[..16])
        );
    }
}
