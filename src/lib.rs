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
pub mod commit;
pub mod compress;
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
pub mod repair;
pub mod report;
pub mod retention;
pub mod rollback;
pub mod store;
pub mod stored_encoding;
pub mod verify;
pub mod webdav;

use std::time::Instant;

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
    let cache = headers::HeaderRules::new(&options.headers)?;
    let target = store::open(
        &options.storage,
        &options.storage_options,
        &network(options),
    )?;
    target.resolve_credentials().await?;
    compress::check_store(options.compress, &target)?;
    let concurrency = options
        .concurrency
        .unwrap_or(target.backend.default_concurrency());
    let local::Scan {
        files: local,
        skipped,
        roles,
    } = scan(options, &target, &filter, scanned).await?;

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
    // Objects stored compressed are planned by their content, as the ledger
    // recorded it; the rest of the deploy sees the listing as it is.
    let latest = ledger.and_then(ledger::Ledger::latest);
    let mut stored = stored_encoding::Stored::recognize(latest, &remote);
    let unconfirmed = stored.unconfirmed();
    if !unconfirmed.is_empty() {
        let read = remote::content_md5s(&target, &unconfirmed, concurrency).await?;
        stored.confirm(latest, &read);
    }
    let content_remote = stored.content_view(&remote);
    let now = chrono::Utc::now();
    let mut build = commit::new_release(now, &local, &cache);
    stored.record(&mut build, None);
    let live = ledger
        .and_then(ledger::Ledger::latest)
        .filter(|live| live.same_files(&build));

    let (mut remote_md5, compared_by_content) =
        remote_hashes(&target, ledger, &local, &content_remote, concurrency).await?;
    remote_md5.extend(stored.content_md5s());

    let mut plan = plan::plan(
        &local,
        &content_remote,
        &remote_md5,
        target.backend.etag_is_md5(),
    );
    stored.mark_changes(&mut plan, &local, options.compress);
    let keeps_headers = target.backend.keeps_headers();
    let unrepaired = repair::repair(
        &mut plan,
        &mut build,
        &local,
        &cache,
        ledger,
        keeps_headers,
        options.repair_headers,
    );
    // The plan and a dry run measure ages with this machine's clock; a real
    // deploy checks them again by the store's before it deletes anything.
    retention::apply(&mut plan, ledger, &build, &options.delete, now.timestamp());
    let mut notes: Vec<report::Note> = unrepaired.into_iter().map(report::Note::from).collect();
    if let Some(live) = live {
        let writes = plan
            .steps
            .iter()
            .any(|s| matches!(s.action, plan::Action::Upload | plan::Action::Delete));
        if !writes {
            notes.push(report::Note::AlreadyLive {
                release: live.id.clone(),
            });
        }
    }
    notes.extend(guards(options, &target, &plan, &remote, ledger)?);
    notes.extend(roles.iter().cloned().map(report::Note::from));
    notes.extend(
        local::skip_notes(&skipped, &exposed)
            .into_iter()
            .map(report::Note::from),
    );
    remote::check_local_writes(
        &target,
        plan.with_action(plan::Action::Upload)
            .map(|s| s.relative.as_str()),
    )?;
    verify::check_references(&plan, &local, &remote, options.base.as_deref(), &target)?;

    let writes = ledger.is_none()
        || plan
            .steps
            .iter()
            .any(|s| matches!(s.action, plan::Action::Upload | plan::Action::Delete));
    if held.is_none() && writes && !options.dry_run {
        return Ok(Pass::NeedsLease(local::Scan {
            files: local,
            skipped,
            roles,
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
            compress: options.compress,
        };
        let mut outcome = publish::upload(&target, &plan, &local, &settings, progress).await;
        // Nothing is deleted until every upload succeeded and the release is
        // recorded; `publish::delete` reports the deletes not attempted.
        if outcome.failures.is_empty() && !outcome.cancelled {
            stored.record(&mut build, Some((&outcome.uploaded, &outcome.encodings)));
            let committed = commit::commit(
                &target,
                &mut plan,
                commit::Deployed {
                    build,
                    local: &local,
                    remote: &remote,
                    e_tags: &outcome.e_tags,
                    uploaded_any: !outcome.uploaded.is_empty(),
                },
                ledger,
                &loaded,
                &options.delete,
            )
            .await?;
            release = committed.release;
            notes.extend(committed.notes);
            let fresh =
                lease::keep_fresh(&target, &mut plan, ledger, listed_at, held, concurrency).await;
            notes.extend(fresh.into_iter().map(report::Note::from));
        }
        publish::delete(&target, &plan, progress, cancel, &mut outcome).await;
        Some(outcome)
    };

    // The report of a large build is built last; what it does not need goes first.
    drop((local_keys, remote_md5, content_remote));
    drop((local, remote, loaded));

    let done = Done {
        plan,
        outcome,
        release,
        notes,
        compared_by_content,
    };
    Ok(Pass::Done(Box::new(report(
        options, &target, started, done,
    ))))
}

/// What the phases of a deploy return, for its report.
struct Done {
    plan: plan::Plan,
    outcome: Option<publish::Outcome>,
    release: Option<String>,
    notes: Vec<report::Note>,
    compared_by_content: usize,
}

/// The report, built once from what the phases returned.
fn report(
    options: &options::Resolved,
    target: &store::Target,
    started: Instant,
    done: Done,
) -> Report {
    let Done {
        plan,
        outcome,
        release,
        notes,
        compared_by_content,
    } = done;
    let key_of = |relative: &str| {
        target
            .key(relative)
            .map(|k| k.to_string())
            .unwrap_or_else(|_| relative.to_string())
    };
    let mut report = Report::new(&plan, outcome.as_ref(), key_of);
    report.release = release;
    report.storage = target.url.clone();
    report.headers_applied = target.backend.keeps_headers() && !options.dry_run;
    report.summary.compared_by_content = compared_by_content;
    let mut notes = notes;
    if !target.backend.keeps_headers() {
        notes.push(report::Note::HeadersNotStored {
            backend: target.backend.name(),
        });
    }
    if target.backend == store::Backend::Http && report.headers_applied {
        notes.push(report::Note::WebDavHeaders);
    }
    if !report.succeeded() && plan.with_action(plan::Action::Delete).next().is_some() {
        notes.push(report::Note::NothingDeleted);
    }
    let kept = plan.with_action(plan::Action::KeepOrphan).count();
    if kept > 0 {
        notes.push(report::Note::OrphansKept { count: kept });
    }
    report.notes.extend(notes.iter().map(ToString::to_string));
    report.cancelled = outcome.as_ref().is_some_and(|o| o.cancelled);
    report.unreachable = outcome.as_ref().and_then(|o| o.unreachable.clone());
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

/// Scans the build (or takes the scan of the first pass) and refuses a file
/// the store cannot hold under its name.
async fn scan(
    options: &options::Resolved,
    target: &store::Target,
    filter: &local::Filter,
    scanned: Option<local::Scan>,
) -> Result<local::Scan> {
    if !options.force {
        local::check_is_build(&options.dir)?;
    }

    let dir = options.dir.clone();
    let scan_filter = filter.clone();
    let hashed_files = options.hashed_files.clone();
    let force = options.force;
    let scan = match scanned {
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

    if let Some((file, reason)) = scan
        .files
        .iter()
        .find_map(|f| target.unstorable(&f.relative).map(|reason| (f, reason)))
    {
        return Err(Error::BadFileName {
            path: file.path.clone(),
            reason,
        });
    }
    Ok(scan)
}

/// The remote content MD5s the plan needs, and how many were read back:
/// the ledger's stand in only where the store still shows what the ledger
/// recorded; the rest is read.
async fn remote_hashes(
    target: &store::Target,
    ledger: Option<&ledger::Ledger>,
    local: &[local::LocalFile],
    remote: &[remote::RemoteObject],
    concurrency: usize,
) -> Result<(std::collections::HashMap<String, [u8; 16]>, usize)> {
    let etag_is_md5 = target.backend.etag_is_md5();
    let mut remote_md5 =
        remote::ledger_md5s(ledger.and_then(ledger::Ledger::latest), remote, etag_is_md5);
    let to_compare: Vec<String> = plan::needs_remote_md5(local, remote, etag_is_md5)
        .into_iter()
        .filter(|key| !remote_md5.contains_key(key))
        .collect();
    remote_md5.extend(remote::content_md5s(target, &to_compare, concurrency).await?);
    Ok((remote_md5, to_compare.len()))
}

/// The guards against a deploy that would take the live site down: too
/// many deletes, or deleting live pages. They stop a real deploy (unless
/// forced); a dry run reports them as notes.
fn guards(
    options: &options::Resolved,
    target: &store::Target,
    plan: &plan::Plan,
    remote: &[remote::RemoteObject],
    ledger: Option<&ledger::Ledger>,
) -> Result<Vec<report::Note>> {
    let mut notes = Vec::new();
    if let Some(why) = retention::guard(plan, remote.len(), options.max_deletes) {
        let why = format!("{why}; nothing was uploaded or deleted — check the storage URL and the build folder, or pass force: true (--force) if this is intended");
        if options.dry_run {
            notes.push(report::Note::WouldStop { why });
        } else if !options.force {
            return Err(Error::TooManyDeletes {
                store: target.url.clone(),
                why,
            });
        }
    }
    if let Some(why) =
        retention::guard_entries(plan, remote, ledger.and_then(ledger::Ledger::latest))
    {
        let why = format!("{why}; nothing was uploaded or deleted — check the build folder and the storage URL, or pass force: true (--force) if this is intended");
        if options.dry_run {
            notes.push(report::Note::WouldStop { why });
        } else if !options.force {
            return Err(Error::LivePages {
                store: target.url.clone(),
                why,
            });
        }
    }
    Ok(notes)
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
    headers::HeaderRules::new(&options.headers)?;
    let network = store::Network {
        retries: options.retries,
        timeout: options.timeout.clone(),
    };
    let target = store::open(&options.storage, &options.storage_options, &network)?;
    compress::check_store(options.compress, &target)?;
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
