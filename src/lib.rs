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
/// Errors here leave the live site as it was: bad options, an unreadable
/// build, a failed listing. Before the lease nothing is written; under it, the
/// new hashed assets may already be up, which nothing references yet.
/// Failures while publishing are collected in [`Report::failures`] instead,
/// with nothing deleted.
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
    let earlier = match run(&options, started, None, progress, cancel).await? {
        Pass::Done(report) => return Ok(*report),
        Pass::NeedsLease(earlier) => earlier,
    };
    let target = store::open(
        &options.storage,
        &options.storage_options,
        &network(&options),
    )?;
    let lease = lease::acquire(&target, &options.lease, progress, cancel).await?;
    let result = run(
        &options,
        started,
        Some((*earlier, &lease)),
        progress,
        cancel,
    )
    .await;
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
        Pass::NeedsLease(..) => unreachable!("a pass with the lease never asks for it"),
    }
}

/// What one pass of a deploy ended with.
enum Pass {
    /// The report: nothing needed the lease, or it was held.
    Done(Box<Report>),
    /// The plan writes, so the lease must be taken and the prefix listed
    /// again; what the pass without it found, to reuse.
    NeedsLease(Box<Earlier>),
}

/// What a pass without the lease hands to the pass with it.
struct Earlier {
    /// The scan of the build.
    scan: local::Scan,
    /// The ledger as read: read again only if it changed.
    loaded: ledger::Loaded,
    /// The hashed assets the plan would upload: they go up while the prefix
    /// is listed again (see [`publish::upload_early`]).
    early: Vec<plan::Step>,
    /// The plan's counts, announced before those uploads start.
    planned: Event,
}

/// The progress event announcing `plan`.
fn planned(plan: &plan::Plan) -> Event {
    Event::Planned {
        uploads: plan.with_action(plan::Action::Upload).count(),
        upload_bytes: plan.with_action(plan::Action::Upload).map(|s| s.size).sum(),
        deletes: plan.with_action(plan::Action::Delete).count(),
        unchanged: plan.with_action(plan::Action::Unchanged).count(),
    }
}

fn network(options: &options::Resolved) -> store::Network {
    store::Network {
        retries: options.retries,
        timeout: options.timeout.clone(),
    }
}

/// One pass: without `held`, up to the plan, and to the end only when it
/// writes nothing; with `held` (the scan and the lease), the whole deploy.
/// The phases in order: scan → survey (list) → plan → publish → commit →
/// report, each returning what the next needs.
async fn run(
    options: &options::Resolved,
    started: Instant,
    held: Option<(Earlier, &lease::Lease)>,
    progress: &dyn Progress,
    cancel: &Cancellation,
) -> Result<Pass> {
    let (scanned, loaded, early, announced, lease) = match held {
        Some((earlier, lease)) => (
            Some(earlier.scan),
            earlier.loaded,
            earlier.early,
            Some(earlier.planned),
            Some(lease),
        ),
        None => (None, ledger::Loaded::default(), Vec::new(), None, None),
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

    let scan = scan(options, &target, &filter, scanned).await?;
    let settings = publish::Settings {
        concurrency,
        cache: cache.clone(),
        headers: target.backend.keeps_headers(),
        cancel: cancel.clone(),
        compress: options.compress,
    };
    // With uploads about to start, the plan before the lease announces
    // them; otherwise the plan made next does.
    let announced = announced.filter(|_| !early.is_empty());
    let announced_early = announced.is_some();
    if let Some(event) = announced {
        progress.event(event);
    }
    let planning = async {
        let mut survey = remote::survey(&target, &filter, &scan.files, loaded).await?;
        let stored = stored_encoding(&target, &mut survey, concurrency).await?;
        // The raw listing is enough here: the content MD5 of every object
        // stored compressed is in the survey already, and `read_md5s` skips
        // those.
        let unreadable =
            plan::needs_remote_md5(&scan.files, &survey.objects, target.backend.etag_is_md5());
        survey.read_md5s(&target, unreadable, concurrency).await?;
        let planned = plan_deploy(options, &target, &scan, &survey, &stored, &cache)?;
        Ok::<_, Error>((survey, stored, planned))
    };
    let uploading = async {
        if early.is_empty() {
            return publish::Outcome::default();
        }
        publish::upload_early(&target, &early, &scan.files, &settings, progress).await
    };
    let (planning, early_outcome) = tokio::join!(planning, uploading);
    let (
        survey,
        stored,
        Planned {
            mut plan,
            mut build,
            mut notes,
            writes,
        },
    ) = planning?;
    if lease.is_none() && writes && !options.dry_run {
        let early = plan
            .with_action(plan::Action::Upload)
            .filter(|s| s.kind == Some(local::FileKind::Hashed))
            .cloned()
            .collect();
        let planned = planned(&plan);
        let loaded = survey.loaded;
        return Ok(Pass::NeedsLease(Box::new(Earlier {
            scan,
            loaded,
            early,
            planned,
        })));
    }
    // What went up early is this deploy's upload, whether or not the
    // listing under the lease already showed it.
    plan::count_as_uploaded(&mut plan, &early, &early_outcome.uploaded);
    // A step per new hashed asset, held since the first plan: not needed past here.
    drop(early);
    if !announced_early {
        progress.event(planned(&plan));
    }

    let mut release = None;
    let outcome = if options.dry_run {
        None
    } else {
        let mut outcome = publish::upload_rest(
            &target,
            &plan,
            &scan.files,
            &settings,
            progress,
            early_outcome,
        )
        .await;
        stored.record(&mut build, Some((&outcome.uploaded, &outcome.encodings)));
        let finish = commit::Finish {
            build,
            local: &scan.files,
            survey: &survey,
            delete: &options.delete,
            lease,
            concurrency,
        };
        let committed =
            commit::finish(&target, &mut plan, &mut outcome, finish, progress, cancel).await?;
        release = committed.release;
        notes.extend(committed.notes);
        Some(outcome)
    };

    // The report of a large build is built last; what it does not need goes first.
    let compared_by_content = survey.compared_by_content;
    drop((scan, survey));
    let done = report::Done {
        plan,
        outcome,
        release,
        notes,
        compared_by_content,
        started,
        full: options.report == options::ReportDetail::Full,
    };
    Ok(Pass::Done(Box::new(report::build(&target, done))))
}

/// What the plan phase decided.
struct Planned {
    /// The steps, retention applied.
    plan: plan::Plan,
    /// The release this build would record.
    build: ledger::Release,
    /// Notes for the report, in order.
    notes: Vec<report::Note>,
    /// Whether the deploy writes: an upload, a delete, or the first ledger.
    writes: bool,
}

/// The plan phase: the pure plan with retention applied, and the checks that
/// stop a deploy before anything is written (the guards, a write through a
/// symlink, HTML that references an asset the store would not have).
fn plan_deploy(
    options: &options::Resolved,
    target: &store::Target,
    scan: &local::Scan,
    survey: &remote::Survey,
    stored: &stored_encoding::Stored,
    rules: &headers::HeaderRules,
) -> Result<Planned> {
    let (local, remote, ledger) = (&scan.files, &survey.objects, survey.ledger());
    let now = chrono::Utc::now();
    let mut build = commit::new_release(now, local, rules);
    stored.record(&mut build, None);
    // Objects stored compressed are compared by their content; everything
    // after the plan sees the listing as it is.
    let mut plan = plan::plan(
        local,
        &stored.content_view(remote),
        &survey.md5s,
        target.backend.etag_is_md5(),
    );
    stored.mark_changes(&mut plan, local, options.compress);
    let unrepaired = repair::repair(
        &mut plan,
        &mut build,
        local,
        rules,
        ledger,
        target.backend.keeps_headers(),
        options.repair_headers,
    );
    // The plan and a dry run measure ages with this machine's clock; a real
    // deploy checks them again by the store's before it deletes anything.
    retention::apply(&mut plan, ledger, &build, &options.delete, now.timestamp());
    let changes = plan
        .steps
        .iter()
        .any(|s| matches!(s.action, plan::Action::Upload | plan::Action::Delete));
    let mut notes: Vec<report::Note> = unrepaired.into_iter().map(report::Note::from).collect();
    if let Some(live) = ledger.and_then(ledger::Ledger::latest) {
        if live.same_files(&build) && !changes {
            notes.push(report::Note::AlreadyLive {
                release: live.id.clone(),
            });
        }
    }
    notes.extend(guards(options, target, &plan, remote, ledger)?);
    notes.extend(scan.roles.iter().cloned().map(report::Note::from));
    notes.extend(
        local::skip_notes(&scan.skipped, &survey.exposed)
            .into_iter()
            .map(report::Note::from),
    );
    remote::check_local_writes(
        target,
        plan.with_action(plan::Action::Upload)
            .map(|s| s.relative.as_str()),
    )?;
    verify::check_references(&plan, local, remote, options.base.as_deref(), target)?;
    Ok(Planned {
        plan,
        build,
        notes,
        writes: ledger.is_none() || changes,
    })
}

/// How the listed objects are stored (see [`stored_encoding`]): those the
/// ledger recorded compressed are recognised by their ETag, or, where the
/// listing shows none, by reading them back. Their content MD5s join the
/// survey's, so the plan compares content, never compressed bytes.
async fn stored_encoding(
    target: &store::Target,
    survey: &mut remote::Survey,
    concurrency: usize,
) -> Result<stored_encoding::Stored> {
    let latest = survey.ledger().and_then(ledger::Ledger::latest);
    let mut stored = stored_encoding::Stored::recognize(latest, &survey.objects);
    let unconfirmed = stored.unconfirmed();
    if !unconfirmed.is_empty() {
        let read = remote::content_md5s(target, &unconfirmed, concurrency).await?;
        stored.confirm(latest, &read);
    }
    survey.md5s.extend(stored.content_md5s());
    Ok(stored)
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

/// AWS credentials for a request the deploy does not make through a store:
/// the CloudFront invalidation, which `cdn.js` signs itself.
// No `Debug`: nothing may print the secret by accident.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsKeys {
    /// The access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

/// The AWS credentials the deploy signs with, found where the deploy finds
/// them: keys in the storage options, then `AWS_*` (Vite's env files too),
/// then the AWS CLI's chain (profiles, SSO, `credential_process`, web
/// identity, ECS, the instance role). For `s3://` it is the very chain, cached,
/// that signs the deploy, so nothing is fetched twice. `None`: no source has
/// any.
pub async fn aws_keys_with_env(
    options: DeployOptions,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<AwsKeys>> {
    let options = options.resolve(&env)?;
    let target = store::open(
        &options.storage,
        &options.storage_options,
        &network(&options),
    )?;
    let option = |keys: &[&str]| {
        keys.iter()
            .find_map(|key| options.storage_options.get(*key))
            .filter(|value| !value.trim().is_empty())
            .cloned()
    };
    let set = |name: &str| env(name).filter(|value| !value.trim().is_empty());
    let chain = match &target.credentials {
        Some(chain) => Some(chain.clone()),
        None if target.backend == store::Backend::S3 => None,
        // Another store: the keys or profile are the AWS CLI's, for CloudFront only.
        None => (set("AWS_ACCESS_KEY_ID").is_none()).then(|| credentials::shared(None, None, None)),
    };
    if let Some(chain) = chain {
        let found = chain
            .credential()
            .await
            .map_err(|e| Error::MissingCredentials {
                store: target.url.clone(),
                hint: e.to_string(),
            });
        return match found {
            Ok(credential) => Ok(Some(AwsKeys {
                access_key_id: credential.key_id.clone(),
                secret_access_key: credential.secret_key.clone(),
                session_token: credential.token.clone(),
            })),
            Err(_) if target.backend != store::Backend::S3 => Ok(None),
            Err(error) => Err(error),
        };
    }
    let from_options = option(&["aws_access_key_id", "access_key_id"]).map(|id| AwsKeys {
        access_key_id: id,
        secret_access_key: option(&["aws_secret_access_key", "secret_access_key"])
            .unwrap_or_default(),
        session_token: option(&["aws_session_token", "aws_token", "session_token", "token"]),
    });
    let from_env = || {
        set("AWS_ACCESS_KEY_ID").map(|id| AwsKeys {
            access_key_id: id,
            secret_access_key: set("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
            session_token: set("AWS_SESSION_TOKEN"),
        })
    };
    Ok(from_options
        .or_else(from_env)
        .filter(|keys| !keys.secret_access_key.is_empty()))
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
    async fn aws_keys_are_the_deploys_own_options_first_then_the_environment() {
        let mut s3 = options("s3://bucket/app");
        s3.storage_options = [
            ("aws_access_key_id", "AKIDOPTION"),
            ("aws_secret_access_key", "secret-option"),
            ("aws_region", "eu-west-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let env = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDENV".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret-env".to_string()),
            "AWS_SESSION_TOKEN" => Some("token-env".to_string()),
            _ => None,
        };
        let keys = aws_keys_with_env(s3, env).await.unwrap().unwrap();
        assert_eq!(
            (keys.access_key_id.as_str(), keys.secret_access_key.as_str()),
            ("AKIDOPTION", "secret-option")
        );
        assert_eq!(keys.session_token, None);
        // Another store: AWS_* as Vite's env files or the process give them.
        let keys = aws_keys_with_env(options("memory:///cdn"), env)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (keys.access_key_id.as_str(), keys.session_token.as_deref()),
            ("AKIDENV", Some("token-env"))
        );
        // A key id without its secret signs nothing.
        let half = |name: &str| (name == "AWS_ACCESS_KEY_ID").then(|| "AKIDENV".to_string());
        assert!(aws_keys_with_env(options("memory:///cdn"), half)
            .await
            .unwrap()
            .is_none());
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
