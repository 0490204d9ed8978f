//! vite-deploy: publish a Vite build to object storage behind a CDN.
//!
//! A deploy is a pipeline of small steps, each in its own module:
//! [`options`] → [`store`] (URL to store) → [`local`] (scan) → [`remote`]
//! (listing) → [`plan`] (pure diff) → [`publish`] (ordered uploads, then
//! deletes) → [`report`]. `binding` is the only napi-facing file, behind the
//! default `napi` feature.

#![warn(missing_docs)]

pub mod backends;
#[cfg(feature = "napi")]
pub mod binding;
pub mod credentials;
pub mod digest;
pub mod error;
pub mod headers;
pub mod layout;
pub mod lease;
pub mod ledger;
pub mod local;
pub mod manifest;
pub mod options;
pub mod plan;
pub mod publish;
pub mod reachability;
pub mod redact;
pub mod remote;
pub mod report;
pub mod retention;
pub mod rollback;
pub mod store;
pub mod verify;
pub mod webdav;

use std::collections::HashMap;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};

pub use error::{Error, Result};
pub use options::DeployOptions;
pub use publish::{Cancellation, Event, Progress};
pub use report::Report;

/// Deploys with the process environment as the fallback for options and
/// credentials.
pub async fn deploy(
    options: DeployOptions,
    progress: &dyn Progress,
    cancel: &Cancellation,
) -> Result<Report> {
    deploy_with_env(options, |name| std::env::var(name).ok(), progress, cancel).await
}

/// Deploys a build directory to a store and reports what it did.
///
/// Errors here mean nothing was written: bad options, an unreadable build, a
/// failed listing. Failures while publishing are collected in
/// [`Report::failures`] instead, with nothing deleted.
///
/// A deploy that will write takes the prefix's lease first (see [`lease`]):
/// it plans once without it, so an unchanged build writes nothing, then
/// lists and plans again under the lease, since another deploy may have
/// changed the prefix meanwhile. The lease is released at the end, also when
/// the deploy failed or was cancelled.
pub async fn deploy_with_env(
    options: DeployOptions,
    env: impl Fn(&str) -> Option<String>,
    progress: &dyn Progress,
    cancel: &Cancellation,
) -> Result<Report> {
    let started = Instant::now();
    let options = options.resolve(env)?;
    let local = match run(&options, started, None, progress, cancel).await? {
        Pass::Done(report) => return Ok(*report),
        Pass::NeedsLease(local) => local,
    };
    let target = store::open(
        &options.storage,
        &options.storage_options,
        &network(&options),
    )?;
    let lease = lease::acquire(&target, &options.lease, progress, cancel).await?;
    let result = run(&options, started, Some((local, &lease)), progress, cancel).await;
    let notes = lease.notes.clone();
    let unreleased = lease.release().await;
    match result? {
        Pass::Done(report) => {
            let mut report = *report;
            // The wait or takeover first: it explains the rest.
            report.notes = notes
                .into_iter()
                .chain(report.notes)
                .chain(unreleased)
                .collect();
            Ok(report)
        }
        Pass::NeedsLease(_) => unreachable!("a pass with the lease never asks for it"),
    }
}

/// What one pass of a deploy ended with.
enum Pass {
    /// The report: nothing needed the lease, or it was held.
    Done(Box<Report>),
    /// The plan writes, so the lease must be taken and the prefix listed
    /// again; the scan of the build, to reuse.
    NeedsLease(local::Scan),
}

fn network(options: &options::Resolved) -> store::Network {
    store::Network {
        retries: options.retries,
        timeout: options.timeout.clone(),
    }
}

/// One pass: without `held`, up to the plan, and to the end only when it
/// writes nothing; with `held` (the scan and the lease), the whole deploy.
async fn run(
    options: &options::Resolved,
    started: Instant,
    held: Option<(local::Scan, &lease::Lease)>,
    progress: &dyn Progress,
    cancel: &Cancellation,
) -> Result<Pass> {
    let (scanned, held) = match held {
        Some((local, lease)) => (Some(local), Some(lease)),
        None => (None, None),
    };
    let filter = local::Filter::new(&options.include, &options.exclude)?;
    let cache = headers::CacheRules::new(&options.cache_control)?;
    let target = store::open(
        &options.storage,
        &options.storage_options,
        &network(options),
    )?;
    target.resolve_credentials().await?;
    let concurrency = options
        .concurrency
        .unwrap_or(target.backend.default_concurrency());
    if !options.force {
        local::check_is_build(&options.dir)?;
    }

    let dir = options.dir.clone();
    let scan_filter = filter.clone();
    let hashed_files = options.hashed_files.clone();
    let force = options.force;
    let local::Scan {
        files: local,
        skipped,
    } = match scanned {
        Some(scan) => scan,
        None => tokio::task::spawn_blocking(move || {
            let roles = local::Roles::for_build(&dir, hashed_files);
            local::scan_build(&dir, &scan_filter, &roles, force)
        })
        .await
        .map_err(|e| Error::Unreadable {
            path: options.dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })??,
    };

    if let Some((file, reason)) = local
        .iter()
        .find_map(|f| target.unstorable(&f.relative).map(|reason| (f, reason)))
    {
        return Err(Error::BadFileName {
            path: file.path.clone(),
            reason,
        });
    }

    // One LIST and one small GET: everything the plan needs.
    let local_keys: Vec<&str> = local.iter().map(|f| f.relative.as_str()).collect();
    let listed_at = chrono::Utc::now();
    let (remote, loaded) = tokio::join!(
        remote::list(&target, &filter, &local_keys),
        ledger::read(&target)
    );
    // The listing's error names the bucket and credentials: report it first.
    let (mut remote, loaded) = (remote?, loaded?);
    let exposed = remote::set_aside(&mut remote, &filter);
    let ledger = loaded.ledger.as_ref();
    let etag_is_md5 = target.backend.etag_is_md5();
    let now = chrono::Utc::now();
    let mut build = new_release(now, &local, &cache);
    let live = ledger
        .and_then(ledger::Ledger::latest)
        .filter(|live| live.same_files(&build));

    // The ledger's MD5s stand in for the remote content only where the store
    // still shows what the ledger recorded; the rest is read back.
    let mut remote_md5 = remote::ledger_md5s(
        ledger.and_then(ledger::Ledger::latest),
        &remote,
        etag_is_md5,
    );
    let to_compare: Vec<String> = plan::needs_remote_md5(&local, &remote, etag_is_md5)
        .into_iter()
        .filter(|key| !remote_md5.contains_key(key))
        .collect();
    let reads: Vec<_> = to_compare
        .iter()
        .map(|relative| {
            let target = &target;
            async move {
                remote::content_md5(target, relative)
                    .await
                    .map(|md5| (relative.clone(), md5))
            }
        })
        .collect();
    let fetched: Vec<(String, [u8; 16])> = futures::stream::iter(reads)
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    remote_md5.extend(fetched);

    let mut plan = plan::plan(&local, &remote, &remote_md5, etag_is_md5);
    // The plan and a dry run measure ages with this machine's clock; a real
    // deploy checks them again by the store's before it deletes anything.
    retention::apply(&mut plan, ledger, &build, &options.delete, now.timestamp());
    let mut notes = Vec::new();
    if let Some(live) = live {
        let writes = plan
            .steps
            .iter()
            .any(|s| matches!(s.action, plan::Action::Upload | plan::Action::Delete));
        if !writes {
            notes.push(format!(
                "this build is already live (release {}): nothing written or deleted, no release recorded",
                live.id
            ));
        }
    }
    if let Some(why) = retention::guard(&plan, remote.len(), options.max_deletes) {
        let why = format!("{why}; nothing was uploaded or deleted — check the storage URL and the build folder, or pass force: true (--force) if this is intended");
        if options.dry_run {
            notes.push(format!("a real deploy would stop: {why}"));
        } else if !options.force {
            return Err(Error::TooManyDeletes {
                store: target.url.clone(),
                why,
            });
        }
    }
    if let Some(why) =
        retention::guard_entries(&plan, &remote, ledger.and_then(ledger::Ledger::latest))
    {
        let why = format!("{why}; nothing was uploaded or deleted — check the build folder and the storage URL, or pass force: true (--force) if this is intended");
        if options.dry_run {
            notes.push(format!("a real deploy would stop: {why}"));
        } else if !options.force {
            return Err(Error::LivePages {
                store: target.url.clone(),
                why,
            });
        }
    }
    notes.extend(local::skip_notes(&skipped, &exposed));
    remote::check_local_writes(
        &target,
        plan.with_action(plan::Action::Upload)
            .map(|s| s.relative.as_str()),
    )?;
    check_references(&plan, &local, &remote, options.base.as_deref(), &target)?;

    let writes = ledger.is_none()
        || plan
            .steps
            .iter()
            .any(|s| matches!(s.action, plan::Action::Upload | plan::Action::Delete));
    if held.is_none() && writes && !options.dry_run {
        return Ok(Pass::NeedsLease(local::Scan {
            files: local,
            skipped,
        }));
    }

    progress.event(Event::Planned {
        uploads: plan.with_action(plan::Action::Upload).count(),
        upload_bytes: plan.with_action(plan::Action::Upload).map(|s| s.size).sum(),
        deletes: plan.with_action(plan::Action::Delete).count(),
        unchanged: plan.with_action(plan::Action::Unchanged).count(),
    });

    let mut release = None;
    let outcome = if options.dry_run {
        None
    } else {
        let settings = publish::Settings {
            concurrency,
            cache,
            headers: target.backend.keeps_headers(),
            cancel: cancel.clone(),
        };
        let mut outcome = publish::upload(&target, &plan, &local, &settings, progress).await;
        if outcome.failures.is_empty() && !outcome.cancelled {
            record_e_tags(&mut build, &remote, &outcome.e_tags);
            let stored: std::collections::HashSet<&str> =
                remote.iter().map(|o| o.relative.as_str()).collect();
            // A build that is the live release already records nothing: the
            // ledger never holds a release twice in a row.
            let next = ledger::Ledger::next(
                ledger,
                build.clone(),
                options.delete.releases_kept(),
                |key| stored.contains(key),
            );
            if let Some(next) = next {
                // The release is recorded before any delete: if another deploy
                // committed first, this one stops here and deletes nothing.
                let before: std::collections::BTreeSet<String> = ledger
                    .map(|l| l.snapshot_md5s().into_iter().map(String::from).collect())
                    .unwrap_or_default();
                rollback::snapshot(&target, &local, &before).await?;
                if ledger::write(&target, &next, &loaded).await? == ledger::Written::Unconditionally
                {
                    notes.push(format!(
                        "{} has no conditional writes: the ledger was overwritten, so two deploys to this prefix at once could lose a release record",
                        target.backend.name()
                    ));
                }
                release = Some(build.id.clone());
                let after = next.snapshot_md5s();
                let unused: Vec<&String> = before
                    .iter()
                    .filter(|md5| !after.contains(md5.as_str()))
                    .collect();
                rollback::remove_snapshots(&target, &unused).await;
                // Ages by the store's clock (the ledger just written carries
                // it), not this machine's: a fast runner clock must not make
                // orphans look older. Applied again, retention only keeps more.
                let store_now = ledger::written_at(&target).await.unwrap_or_else(|| {
                    remote
                        .iter()
                        .map(|o| o.modified)
                        .chain(loaded.modified)
                        .max()
                        .unwrap_or(i64::MIN)
                });
                retention::apply(&mut plan, ledger, &build, &options.delete, store_now);
            } else if let Some(live) = live {
                release = Some(live.id.clone());
                if !outcome.uploaded.is_empty() {
                    // The store differed from the live release (a deploy failed
                    // or lost the ledger race after writing): record the ETags
                    // it shows now, so the next deploy trusts the ledger again.
                    let mut refreshed = ledger.cloned().unwrap_or_default();
                    if let Some(latest) = refreshed.releases.last_mut() {
                        for (key, entry) in latest.files.iter_mut() {
                            entry.e_tag = build.files.get(key).and_then(|e| e.e_tag.clone());
                        }
                    }
                    ledger::write(&target, &refreshed, &loaded).await?;
                }
            }
            notes.extend(
                lease::keep_fresh(&target, &mut plan, ledger, listed_at, held, concurrency).await,
            );
            publish::delete(&target, &plan, progress, cancel, &mut outcome).await;
        } else {
            publish::delete(&target, &plan, progress, cancel, &mut outcome).await;
        }
        Some(outcome)
    };

    // The report of a large build is built last; what it does not need goes first.
    drop((local_keys, remote_md5, build));
    drop((local, remote, loaded));

    let key_of = |relative: &str| {
        target
            .key(relative)
            .map(|k| k.to_string())
            .unwrap_or_else(|_| relative.to_string())
    };
    let mut report = Report::new(&plan, outcome.as_ref(), key_of);
    report.release = release;
    report.notes.extend(notes);
    report.storage = target.url.clone();
    report.headers_applied = target.backend.keeps_headers() && !options.dry_run;
    report.summary.compared_by_content = to_compare.len();
    if !target.backend.keeps_headers() {
        report.notes.push(format!(
            "{} does not store Content-Type or Cache-Control: files were written without them",
            target.backend.name()
        ));
    }
    if target.backend == store::Backend::Http && report.headers_applied {
        report.notes.push(
            "WebDAV servers keep no Cache-Control, and most answer with a Content-Type guessed from the file name: set caching headers on the web server in front".into(),
        );
    }
    if !report.succeeded() && plan.with_action(plan::Action::Delete).next().is_some() {
        report
            .notes
            .push("uploads failed, so no orphan was deleted".into());
    }
    let kept = plan.with_action(plan::Action::KeepOrphan).count();
    if kept > 0 {
        report.notes.push(format!(
            "{kept} orphan(s) kept (see each file's reason); they go once no recent release references them"
        ));
    }
    report.cancelled = outcome.as_ref().is_some_and(|o| o.cancelled);
    report.unreachable = outcome.as_ref().and_then(|o| o.unreachable.clone());
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(Pass::Done(Box::new(report)))
}

/// Checks the options and opens the store without deploying: everything
/// that needs no network, the credentials (see below), and with `reach` one
/// listing request that finds a missing bucket or refused credentials. The build directory is not looked
/// at (the plugin checks before Vite writes it).
pub async fn check_with_env(
    options: DeployOptions,
    env: impl Fn(&str) -> Option<String>,
    reach: bool,
) -> Result<()> {
    let options = options.resolve(env)?;
    local::Filter::new(&options.include, &options.exclude)?;
    headers::CacheRules::new(&options.cache_control)?;
    let network = store::Network {
        retries: options.retries,
        timeout: options.timeout.clone(),
    };
    let target = store::open(&options.storage, &options.storage_options, &network)?;
    // Missing credentials must fail before the build, not after it. The
    // chain reads files and the environment first; only when nothing is
    // configured does it ask the metadata service, which answers or times
    // out within about a second. The credentials found are cached for the
    // deploy, so a `credential_process` or STS call is not repeated.
    target.resolve_credentials().await?;
    if reach {
        remote::probe(&target).await?;
    }
    Ok(())
}

/// The release record of this deploy: every key with its size and, for the
/// files compared by content, its MD5. Hashed assets carry none: their name
/// is their content, and leaving it out keeps the ledger, which every deploy
/// reads and writes, at half the size.
fn new_release(
    now: chrono::DateTime<chrono::Utc>,
    local: &[local::LocalFile],
    cache: &headers::CacheRules,
) -> ledger::Release {
    let files = local
        .iter()
        .map(|file| {
            // Only what a rollback restores needs its rule.
            let cache_control = (file.kind != local::FileKind::Hashed)
                .then(|| cache.user_rule(&file.relative).map(String::from))
                .flatten();
            let entry = ledger::Entry {
                size: file.size,
                md5: file.md5.map(|md5| ledger::hex(&md5)),
                kind: file.kind,
                e_tag: None,
                cache_control,
            };
            (file.relative.clone(), entry)
        })
        .collect();
    ledger::Release {
        id: ledger::release_id(now),
        time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        version: env!("CARGO_PKG_VERSION").to_string(),
        files,
    }
}

/// Records in the release the ETag the store shows for each file compared by
/// content: the one its upload returned, else the listing's.
fn record_e_tags(
    build: &mut ledger::Release,
    remote: &[remote::RemoteObject],
    uploaded: &HashMap<String, String>,
) {
    let listed: HashMap<&str, &str> = remote
        .iter()
        .filter_map(|o| Some((o.relative.as_str(), o.e_tag.as_deref()?)))
        .collect();
    for (key, entry) in build.files.iter_mut().filter(|(_, e)| e.md5.is_some()) {
        entry.e_tag = match uploaded.get(key) {
            Some(e_tag) => Some(e_tag.clone()),
            None => listed.get(key.as_str()).map(|e| e.to_string()),
        };
    }
}

/// Refuses a deploy whose HTML or manifest references a built asset that
/// would not be in the store, before anything is written: the old HTML stays.
fn check_references(
    plan: &plan::Plan,
    local: &[local::LocalFile],
    remote: &[remote::RemoteObject],
    base: Option<&str>,
    target: &store::Target,
) -> Result<()> {
    let known: std::collections::HashSet<&str> = local
        .iter()
        .map(|f| f.relative.as_str())
        .chain(remote.iter().map(|o| o.relative.as_str()))
        .collect();
    let files: HashMap<&str, &local::LocalFile> =
        local.iter().map(|f| (f.relative.as_str(), f)).collect();
    let mut missing = Vec::new();
    for step in plan.with_action(plan::Action::Upload) {
        if step.kind != Some(local::FileKind::Entry) {
            continue;
        }
        let file = files[step.relative.as_str()];
        let Ok(content) = std::fs::read(&file.path) else {
            continue; // the upload reports an unreadable file
        };
        let is_html = !step.relative.ends_with(".json");
        let (entry, references) = if is_html {
            (
                step.relative.as_str(),
                verify::html_references(&String::from_utf8_lossy(&content)),
            )
        } else {
            ("", verify::manifest_references(&content))
        };
        for reference in verify::missing(entry, &references, base, |key| known.contains(key)) {
            missing.push(format!("{} → {reference}", step.relative));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::MissingAssets {
            store: target.url.clone(),
            missing,
        })
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;

    fn options(storage: &str) -> DeployOptions {
        DeployOptions {
            dir: "no-such-build-yet".into(),
            storage: Some(storage.into()),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn check_opens_the_store_without_the_build_and_names_setup_errors() {
        let none = |_: &str| None;
        check_with_env(options("memory:///checked"), none, true)
            .await
            .unwrap();
        let error = check_with_env(options("ftp://host/x"), none, false)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "UNSUPPORTED_SCHEME");
        let mut bad_glob = options("memory:///checked");
        bad_glob.include = vec!["[".into()];
        let error = check_with_env(bad_glob, none, false).await.unwrap_err();
        assert_eq!(error.code(), "INVALID_GLOB");
        let error = check_with_env(
            DeployOptions {
                storage: None,
                ..options("")
            },
            |name| (name == "VITE_DEPLOY_STORAGE").then(|| "memory:///from-env".into()),
            false,
        )
        .await;
        assert!(error.is_ok(), "{error:?}");
    }
}

#[cfg(test)]
mod release_tests {
    use super::*;

    fn file(relative: &str, kind: local::FileKind, md5: Option<[u8; 16]>) -> local::LocalFile {
        local::LocalFile {
            relative: relative.into(),
            path: relative.into(),
            size: relative.len() as u64,
            kind,
            md5,
        }
    }

    fn build() -> Vec<local::LocalFile> {
        vec![
            file("assets/app-3fA9c1xZ.js", local::FileKind::Hashed, None),
            file("robots.txt", local::FileKind::Other, Some([1; 16])),
            file("index.html", local::FileKind::Entry, Some([2; 16])),
        ]
    }

    #[test]
    fn a_new_release_records_every_file_with_its_md5_and_the_time() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T02:05:01Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let release = new_release(now, &build(), &Default::default());
        assert!(
            release.id.starts_with("20261128T020501Z-"),
            "{}",
            release.id
        );
        assert_eq!(release.time, "2026-11-28T02:05:01Z");
        assert_eq!(release.version, env!("CARGO_PKG_VERSION"));
        let entries: Vec<_> = release
            .files
            .iter()
            .map(|(key, e)| (key.as_str(), e.size, e.md5.clone(), e.kind, e.e_tag.clone()))
            .collect();
        assert_eq!(
            entries,
            [
                (
                    "assets/app-3fA9c1xZ.js",
                    22,
                    None,
                    local::FileKind::Hashed,
                    None
                ),
                (
                    "index.html",
                    10,
                    Some("02".repeat(16)),
                    local::FileKind::Entry,
                    None
                ),
                (
                    "robots.txt",
                    10,
                    Some("01".repeat(16)),
                    local::FileKind::Other,
                    None
                ),
            ]
        );
    }

    #[test]
    fn e_tags_come_from_the_upload_else_the_listing_and_only_for_files_compared_by_content() {
        let mut release = new_release(chrono::Utc::now(), &build(), &Default::default());
        let listed = |relative: &str, e_tag: &str| remote::RemoteObject {
            relative: relative.into(),
            size: 1,
            e_tag: Some(e_tag.into()),
            modified: 0,
        };
        let remote = [
            listed("assets/app-3fA9c1xZ.js", "\"listed-asset\""),
            listed("robots.txt", "\"listed-robots\""),
            listed("index.html", "\"listed-index\""),
        ];
        let uploaded =
            HashMap::from([("index.html".to_string(), "\"uploaded-index\"".to_string())]);
        record_e_tags(&mut release, &remote, &uploaded);
        let e_tag = |key: &str| release.files[key].e_tag.clone();
        assert_eq!(e_tag("index.html").as_deref(), Some("\"uploaded-index\""));
        assert_eq!(e_tag("robots.txt").as_deref(), Some("\"listed-robots\""));
        assert_eq!(
            e_tag("assets/app-3fA9c1xZ.js"),
            None,
            "a hashed asset needs none"
        );
    }
}
