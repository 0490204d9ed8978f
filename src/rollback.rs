//! Rollback to an earlier release, and the snapshots that make it possible.
//!
//! Each release's unhashed files (HTML, the manifest, `public/` copies) are
//! copied by MD5 under `.vite-deploy/blobs/`, once per distinct content — by a
//! copy on the server where the store has one. The hashed assets of kept
//! releases are still in place (retention keeps them), so putting the old
//! unhashed files back returns the site to that release in seconds, without
//! a rebuild.

use std::collections::{BTreeSet, HashMap};

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStoreExt, PutOptions, PutPayload};
use serde::Serialize;

use crate::error::{describe, Error, Result};
use crate::headers::ObjectHeaders;
use crate::ledger::{self, blob_key, Ledger, Release};
use crate::local::{FileKind, LocalFile};
use crate::store::{self, Target};

/// Stores the snapshot copies this release needs that `existing` (the MD5s
/// kept releases already have) lacks, `concurrency` at a time: every one is
/// on the path between the last upload and the ledger.
pub async fn snapshot(
    target: &Target,
    local: &[LocalFile],
    existing: &BTreeSet<String>,
    concurrency: usize,
) -> Result<()> {
    let mut wanted: HashMap<String, &LocalFile> = HashMap::new();
    for file in local.iter().filter(|f| f.kind != FileKind::Hashed) {
        if let Some(md5) = file.md5.map(|m| ledger::hex(&m)) {
            if !existing.contains(&md5) {
                wanted.entry(md5).or_insert(file);
            }
        }
    }
    // Collected first: a lazy map inside the stream would make the future non-Send.
    let uploads: Vec<_> = wanted
        .into_iter()
        .map(|(md5, file)| async move {
            let error = |message: String| Error::Ledger {
                store: target.url.clone(),
                message: format!(
                    "cannot store the rollback copy of '{}': {message}",
                    file.relative
                ),
            };
            let key = target
                .key(&blob_key(&md5))
                .map_err(|e| error(e.to_string()))?;
            if target.backend.copies_server_side() {
                // Every upload succeeded, so the live key holds these bytes:
                // a copy on the server costs one request and no upload.
                let live = target
                    .key(&file.relative)
                    .map_err(|e| error(e.to_string()))?;
                target
                    .store
                    .copy(&live, &key)
                    .await
                    .map_err(|e| error(describe(&e)))?;
            } else {
                let body = tokio::fs::read(&file.path)
                    .await
                    .map_err(|e| error(e.to_string()))?;
                // Stored under the scan's MD5, so it must hold the scanned bytes.
                if let Some(why) = crate::publish::not_as_scanned(file, &body) {
                    return Err(error(why));
                }
                target
                    .store
                    .put(&key, PutPayload::from(body))
                    .await
                    .map_err(|e| error(describe(&e)))?;
            }
            Ok::<_, Error>(())
        })
        .collect();
    futures::stream::iter(uploads)
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Deletes snapshot copies no kept release needs any more. Failures only
/// leave a small object behind, so they are ignored.
pub async fn remove_snapshots(target: &Target, md5s: &[&String]) {
    let keys: Vec<_> = md5s
        .iter()
        .filter_map(|md5| target.key(&blob_key(md5)).ok())
        .map(Ok)
        .collect();
    let _ = target
        .store
        .delete_stream(futures::stream::iter(keys).boxed())
        .collect::<Vec<_>>()
        .await;
}

/// One release as `releases()` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseSummary {
    /// Its id.
    pub id: String,
    /// When it went live.
    pub time: String,
    /// The vite-deploy version that recorded it.
    pub version: String,
    /// Files.
    pub files: usize,
    /// Bytes.
    pub bytes: u64,
    /// Keys it has that the release before it had not.
    pub added: usize,
    /// Keys the release before it had that it has not.
    pub removed: usize,
    /// True for the live release.
    pub live: bool,
}

/// Where a rollback or listing looks: the storage URL and its options.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LedgerOptions {
    /// Storage URL. By default `VITE_DEPLOY_STORAGE`.
    #[serde(default)]
    pub storage: Option<String>,
    /// object_store keys, as for a deploy.
    #[serde(default)]
    pub storage_options: std::collections::BTreeMap<String, String>,
    /// For a rollback: the release to return to; by default the one before
    /// the live one.
    #[serde(default)]
    pub to: Option<String>,
    /// For a rollback: say what would be restored, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Retries of a failed request, as for a deploy.
    #[serde(default)]
    pub retries: Option<i64>,
    /// Time limit of one request, as for a deploy.
    #[serde(default)]
    pub timeout: Option<String>,
}

async fn open_ledger(options: &LedgerOptions) -> Result<(Target, ledger::Loaded, Ledger)> {
    let storage =
        crate::options::storage_or_env(options.storage.clone(), |name| std::env::var(name).ok())?;
    let storage_options = crate::options::lowercase_keys(options.storage_options.clone())?;
    let network = crate::options::network(options.retries, options.timeout.as_deref())?;
    let target = store::open(&storage, &storage_options, &network)?;
    target.resolve_credentials().await?;
    let loaded = ledger::read(&target).await?;
    let ledger = loaded.ledger.clone().ok_or_else(|| Error::Ledger {
        store: target.url.clone(),
        message: "no releases recorded here yet: deploy with vite-deploy first".into(),
    })?;
    Ok((target, loaded, ledger))
}

/// The kept releases, oldest first.
pub async fn releases(options: LedgerOptions) -> Result<Vec<ReleaseSummary>> {
    let (_, _, ledger) = open_ledger(&options).await?;
    Ok(summaries(&ledger))
}

/// Each kept release with what it added and removed against the one before.
fn summaries(ledger: &Ledger) -> Vec<ReleaseSummary> {
    let live = ledger.latest().map(|r| r.id.clone());
    let mut previous: Option<&Release> = None;
    let mut out = Vec::new();
    for release in &ledger.releases {
        let had = |key: &String| previous.is_some_and(|p| p.files.contains_key(key));
        out.push(ReleaseSummary {
            id: release.id.clone(),
            time: release.time.clone(),
            version: release.version.clone(),
            files: release.files.len(),
            bytes: release.files.values().map(|e| e.size).sum(),
            added: release.files.keys().filter(|k| !had(k)).count(),
            removed: previous.map_or(0, |p| {
                p.files
                    .keys()
                    .filter(|k| !release.files.contains_key(*k))
                    .count()
            }),
            live: live.as_deref() == Some(release.id.as_str()),
        });
        previous = Some(release);
    }
    out
}

/// What a rollback did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackReport {
    /// The storage URL.
    pub storage: String,
    /// The release whose files are live again.
    pub to: String,
    /// The release recorded for the rollback (absent in a dry run).
    pub release: Option<String>,
    /// Unhashed files put back.
    pub restored: Vec<String>,
    /// True when nothing was written.
    pub dry_run: bool,
}

/// Puts back the unhashed files of an earlier release and records it as a
/// new release. Refuses when an asset it references is no longer stored.
///
/// It holds the prefix's deploy lease (see [`crate::lease`]) while it writes,
/// as a deploy does, waiting for a deploy in progress; a dry run takes none.
pub async fn rollback(options: LedgerOptions) -> Result<RollbackReport> {
    if options.dry_run {
        return rollback_now(options).await;
    }
    let (target, _, _) = open_ledger(&options).await?;
    let lease = crate::lease::acquire(
        &target,
        &Default::default(),
        &(),
        &crate::publish::Cancellation::default(),
    )
    .await?;
    let result = rollback_now(options).await;
    lease.release().await;
    result
}

async fn rollback_now(options: LedgerOptions) -> Result<RollbackReport> {
    let (target, loaded, mut ledger) = open_ledger(&options).await?;
    let kept: Vec<&str> = ledger.releases.iter().map(|r| r.id.as_str()).collect();
    let release = ledger
        .release_before_latest_or(options.to.as_deref())
        .cloned()
        .ok_or_else(|| Error::Rollback {
            store: target.url.clone(),
            message: match &options.to {
                Some(id) => format!("no kept release '{id}' (kept: {})", kept.join(", ")),
                None => "only one release is recorded: there is nothing to roll back to".into(),
            },
        })?;

    if ledger
        .latest()
        .is_some_and(|live| live.same_files(&release))
    {
        return Err(Error::Rollback {
            store: target.url.clone(),
            message: format!(
                "release {} is already live: there is nothing to roll back (kept: {})",
                release.id,
                kept.join(", ")
            ),
        });
    }

    let listing: BTreeSet<String> = crate::remote::list(&target, &Default::default(), &[])
        .await?
        .into_iter()
        .map(|o| o.relative)
        .collect();
    let missing: Vec<&String> = release
        .files
        .iter()
        .filter(|(key, entry)| entry.kind == FileKind::Hashed && !listing.contains(*key))
        .map(|(key, _)| key)
        .collect();
    if !missing.is_empty() {
        return Err(Error::Rollback {
            store: target.url.clone(),
            message: format!(
                "release {} cannot come back: {} of its assets are no longer stored (first: {}) — redeploy that build instead",
                release.id,
                missing.len(),
                missing[0]
            ),
        });
    }

    let stages = restore_stages(&release);
    let restored: Vec<String> = stages
        .iter()
        .flatten()
        .map(|(key, _)| (*key).clone())
        .collect();
    if options.dry_run {
        return Ok(RollbackReport {
            storage: target.url.clone(),
            to: release.id.clone(),
            release: None,
            restored,
            dry_run: true,
        });
    }

    for stage in &stages {
        let writes = stage
            .iter()
            .map(|(key, entry)| put_back(&target, key, entry))
            .collect::<Vec<_>>();
        futures::stream::iter(writes)
            .buffer_unordered(8)
            .try_collect::<Vec<_>>()
            .await?;
    }

    let now = chrono::Utc::now();
    let mut again = release.clone();
    again.id = ledger::release_id(now);
    again.time = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // The headers each key is now stored with: what put_back wrote for the
    // restored files, what the ledger knew for the assets left in place. A
    // deploy then finds by the fingerprints what a rule gave the release
    // that a rollback does not restore (contentDisposition, metadata…).
    let known = crate::repair::recorded(Some(&ledger));
    let keeps_headers = target.backend.keeps_headers();
    for (key, entry) in again.files.iter_mut() {
        entry.headers = if !keeps_headers {
            None
        } else if entry.kind == FileKind::Hashed {
            known.get(key.as_str()).copied().flatten().map(Box::from)
        } else {
            Some(restored_headers(key, entry).fingerprint().into())
        };
    }
    let id = again.id.clone();
    // A rollback drops no release: the one it leaves stays one to return to.
    let keep = ledger.distinct_count().max(crate::retention::DEFAULT_KEEP);
    ledger.commit(again, keep, |key| listing.contains(key));
    ledger::write(&target, &ledger, &loaded).await?;
    Ok(RollbackReport {
        storage: target.url.clone(),
        to: release.id,
        release: Some(id),
        restored,
        dry_run: false,
    })
}

/// The files a rollback puts back, in the stages a deploy publishes them
/// in (see [`crate::publish::stages`]), by the role the release recorded:
/// other files, then the entries but the root page, then the root page.
fn restore_stages(release: &Release) -> Vec<Vec<(&String, &ledger::Entry)>> {
    let mut stages = vec![Vec::new(), Vec::new(), Vec::new()];
    for (key, entry) in &release.files {
        let stage = match entry.kind {
            FileKind::Hashed => continue, // still stored: retention kept them
            FileKind::Other => 0,
            FileKind::Entry if crate::publish::is_root_page(key) => 2,
            FileKind::Entry => 1,
        };
        stages[stage].push((key, entry));
    }
    stages.retain(|s| !s.is_empty());
    stages
}

/// The headers a rollback writes a file with: its recorded `Cache-Control`
/// rule, the table's `Content-Type`.
fn restored_headers(key: &str, entry: &ledger::Entry) -> ObjectHeaders {
    ObjectHeaders::with_rule(key, entry.kind, entry.cache_control.as_deref())
}

async fn put_back(target: &Target, key: &str, entry: &ledger::Entry) -> Result<()> {
    let md5 = entry.md5.as_deref().unwrap_or_default();
    let error = |message: String| Error::Rollback {
        store: target.url.clone(),
        message: format!("cannot restore '{key}': {message}"),
    };
    if md5.is_empty() {
        return Err(error("its content hash was not recorded".into()));
    }
    let source = target
        .key(&blob_key(md5))
        .map_err(|e| error(e.to_string()))?;
    let copy = target
        .store
        .get(&source)
        .await
        .map_err(|e| error(format!("its rollback copy is missing ({})", describe(&e))))?;
    // The copy was made from the live object, compressed or not (see
    // `compress`): its bytes go back with the encoding they were stored with.
    let encoding = copy
        .attributes
        .get(&object_store::Attribute::ContentEncoding)
        .and_then(|value| crate::compress::Method::parse(value).ok());
    let body = copy.bytes().await.map_err(|e| error(describe(&e)))?;
    let headers = restored_headers(key, entry)
        .encoded(encoding.map(crate::compress::Method::content_encoding));
    let attributes = headers.attributes(target.backend.keeps_headers());
    let destination = target.key(key).map_err(|e| error(e.to_string()))?;
    let options = PutOptions {
        attributes,
        ..Default::default()
    };
    target
        .store
        .put_opts(&destination, PutPayload::from(body), options)
        .await
        .map_err(|e| error(describe(&e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Entry, Release};

    fn release(id: &str, files: &[(&str, u64)]) -> Release {
        Release {
            id: id.into(),
            time: "2026-11-28T00:00:00Z".into(),
            version: "test".into(),
            files: files
                .iter()
                .map(|(key, size)| {
                    let entry = Entry {
                        size: *size,
                        md5: None,
                        kind: FileKind::Hashed,
                        e_tag: None,
                        cache_control: None,
                        headers: None,
                        encoding: None,
                    };
                    (key.to_string(), entry)
                })
                .collect(),
        }
    }

    #[test]
    fn summaries_count_what_each_release_added_and_removed_and_mark_the_live_one() {
        let ledger = Ledger {
            format: ledger::FORMAT,
            releases: vec![
                release("a", &[("index.html", 10), ("assets/a.js", 100)]),
                release("b", &[("index.html", 12), ("assets/b.js", 200)]),
                release(
                    "c",
                    &[("index.html", 12), ("assets/b.js", 200), ("x.txt", 1)],
                ),
            ],
            ..Default::default()
        };
        let rows: Vec<_> = summaries(&ledger)
            .into_iter()
            .map(|r| (r.id, r.files, r.bytes, r.added, r.removed, r.live))
            .collect();
        assert_eq!(
            rows,
            [
                ("a".to_string(), 2, 110, 2, 0, false),
                ("b".to_string(), 2, 212, 1, 1, false),
                ("c".to_string(), 3, 213, 1, 0, true),
            ]
        );
        assert!(summaries(&Ledger::default()).is_empty());
    }

    /// Issue 15 item 2: a rollback writes each file as the deploy did, with
    /// the user's `cacheControl` rule, not the role's default.
    #[tokio::test]
    async fn a_rollback_restores_the_cache_control_the_deploy_wrote() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        let storage = "memory:///rollback-cache-control/site";
        for version in ["a", "b"] {
            let _ = std::fs::remove_dir_all(&dist);
            std::fs::create_dir_all(&dist).unwrap();
            std::fs::write(dist.join("index.html"), format!("<p>{version}</p>")).unwrap();
            std::fs::write(dist.join("robots.txt"), format!("# {version}")).unwrap();
            let mut rules = serde_json::Map::new();
            rules.insert("**/*.html".into(), "public, max-age=60".into());
            let options = crate::DeployOptions {
                dir: dist.clone(),
                storage: Some(storage.into()),
                cache_control: rules,
                ..Default::default()
            };
            crate::deploy_with_env(options, |_| None, &(), &Default::default())
                .await
                .unwrap();
        }
        rollback(LedgerOptions {
            storage: Some(storage.into()),
            ..Default::default()
        })
        .await
        .unwrap();
        let target = crate::store::open(storage, &Default::default(), &Default::default()).unwrap();
        let stored = |relative: &'static str| {
            let target = &target;
            async move {
                let got = target
                    .store
                    .get(&target.key(relative).unwrap())
                    .await
                    .unwrap();
                let cache = got
                    .attributes
                    .get(&object_store::Attribute::CacheControl)
                    .map(|v| v.to_string());
                (got.bytes().await.unwrap(), cache)
            }
        };
        let (body, cache) = stored("index.html").await;
        assert_eq!(&body[..], b"<p>a</p>", "rolled back");
        assert_eq!(cache.as_deref(), Some("public, max-age=60"));
        let (_, cache) = stored("robots.txt").await;
        assert_eq!(cache.as_deref(), Some(crate::headers::REVALIDATE));
    }

    /// Issue 15 item 2: a restored page goes out in the deploy's stages, by
    /// its recorded role: a `.htm` page is an entry, the root page is last.
    #[test]
    fn a_rollback_restores_in_the_deploys_stages_by_recorded_role() {
        let mut release = release("a", &[]);
        for (key, kind) in [
            ("index.html", FileKind::Entry),
            ("legacy/page.htm", FileKind::Entry),
            (".vite/manifest.json", FileKind::Entry),
            ("robots.txt", FileKind::Other),
            ("assets/app-3fA9c1xZ.js", FileKind::Hashed),
        ] {
            let entry = Entry {
                size: 1,
                md5: Some("00".repeat(16).into()),
                kind,
                e_tag: None,
                cache_control: None,
                headers: None,
                encoding: None,
            };
            release.files.insert(key.into(), entry);
        }
        let stages: Vec<Vec<&str>> = restore_stages(&release)
            .into_iter()
            .map(|stage| stage.into_iter().map(|(key, _)| key.as_str()).collect())
            .collect();
        assert_eq!(
            stages,
            [
                vec!["robots.txt"],
                vec![".vite/manifest.json", "legacy/page.htm"],
                vec!["index.html"],
            ]
        );
    }

    /// Issue 15: a rollback that cannot happen has its own code, not the
    /// ledger's (which means the record itself is unreadable or unwritable).
    #[tokio::test]
    async fn a_refused_rollback_has_its_own_code() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        let storage = "memory:///rollback-refused/site";
        let mut ids = Vec::new();
        for version in ["a", "b"] {
            std::fs::create_dir_all(&dist).unwrap();
            std::fs::write(dist.join("index.html"), format!("<p>{version}</p>")).unwrap();
            let options = crate::DeployOptions {
                dir: dist.clone(),
                storage: Some(storage.into()),
                ..Default::default()
            };
            let report = crate::deploy_with_env(options, |_| None, &(), &Default::default())
                .await
                .unwrap();
            ids.push(report.release.unwrap());
        }
        for to in [ids[1].as_str(), "no-such-release"] {
            let error = rollback(LedgerOptions {
                storage: Some(storage.into()),
                to: Some(to.into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
            assert_eq!(error.code(), "ROLLBACK", "{error}");
            assert!(!error.is_usage(), "{error}");
        }
    }
}
