//! The deploy lease: one deploy at a time per prefix.
//!
//! Two deploys to one prefix at once can each delete what the other just
//! uploaded: with `delete: true` the first to finish deletes the other's
//! fresh assets, then the other's HTML goes live, broken. So a deploy that
//! will write takes a lease first, before it lists the prefix: a small JSON
//! object at `.vite-deploy/lease.json`, created only if absent
//! (`PutMode::Create`), naming its holder (host, pid, CI job, since when,
//! until when; never a credential).
//!
//! - A second deploy waits for the lease (`leaseWait`, by default
//!   [`DEFAULT_WAIT`]) and then fails with `LEASE_HELD`, saying who holds it.
//! - The holder renews the lease while it runs, so a lease outlives its
//!   expiry only when its holder died; the next deploy then takes it over.
//! - `breakLease: true` takes over a lease that has not expired yet.
//! - Before deleting, the holder checks that the lease is still its own, and
//!   [`keep_fresh`] keeps every unrecorded orphan written since the listing
//!   began: a deploy whose lease was broken still deletes nothing another
//!   deploy may be using.
//!
//! Where the store ignores the precondition (GCS servers without object
//! generations, such as moto), the lease is advisory: it is read before it
//! is written, and two deploys that start at the same moment can both take it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::error::{describe, Error, Result};
use crate::ledger::Ledger;
use crate::plan::{Action, KeptBecause, Plan, Reason};
use crate::publish::{Cancellation, Event, Progress};
use crate::store::{Backend, Target};

/// The lease's key relative to the prefix.
pub const LEASE_FILE: &str = ".vite-deploy/lease.json";

/// How long a lease lasts without renewal. A deploy renews it every
/// [`RENEW_EVERY`], so only a dead deploy's lease expires.
pub const TTL: Duration = Duration::from_secs(120);

/// How often the holder renews its lease: four chances before it expires.
pub const RENEW_EVERY: Duration = Duration::from_secs(30);

/// How long a deploy waits for another one's lease by default: longer than
/// [`TTL`], so a dead deploy's lease is taken over without help.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(300);

/// How often a waiting deploy looks at the lease again (one small GET).
const POLL: Duration = Duration::from_secs(1);

/// Failed attempts to read or write the lease before the deploy gives up.
const WRITE_ATTEMPTS: u32 = 3;

/// How far an object's time may lag behind our clock when [`keep_fresh`]
/// compares it with the start of the listing: S3's `Last-Modified` has whole
/// seconds and the store's own clock, and Linux stamps files from a clock
/// that ticks every few milliseconds. Only `memory://` uses our clock exactly.
const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// How to take the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long to wait for a lease another deploy holds. By default [`DEFAULT_WAIT`].
    pub wait: Duration,
    /// Take over the lease even though it has not expired.
    pub break_lease: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            wait: DEFAULT_WAIT,
            break_lease: false,
        }
    }
}

/// The lease object's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The host name of the deploying machine.
    pub host: String,
    /// The deploying process.
    pub pid: u32,
    /// The CI job's URL, when the environment names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// When the lease was taken, RFC 3339.
    pub since: String,
    /// When it lapses unless renewed, RFC 3339.
    pub expires: String,
    /// Tells two deploys of one process apart; random, not a secret.
    pub token: String,
    /// The vite-deploy version of the holder.
    #[serde(default)]
    pub version: String,
}

impl Holder {
    fn new(now: DateTime<Utc>) -> Self {
        Holder {
            host: host_name(),
            pid: std::process::id(),
            job: ci_job(|name| std::env::var(name).ok()),
            since: rfc3339(now),
            expires: rfc3339(now + delta(TTL)),
            token: token(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// `host ci-7 (pid 4242, job https://…)`, for messages.
    pub fn describe(&self) -> String {
        match &self.job {
            Some(job) => format!("host {} (pid {}, job {job})", self.host, self.pid),
            None => format!("host {} (pid {})", self.host, self.pid),
        }
    }

    fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.expires)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// A `std` duration for chrono's time arithmetic.
fn delta(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The CI job's URL from the variables GitHub Actions and GitLab CI set: in
/// CI the host name is a throwaway runner, the job is what a person finds.
fn ci_job(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let job = match (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        (Some(server), Some(repository), Some(run)) => {
            format!("{server}/{repository}/actions/runs/{run}")
        }
        _ => env("CI_JOB_URL").filter(|url| !url.is_empty())?,
    };
    // The lease is readable by anyone who can list the prefix: a URL with a
    // user or password in it goes without them.
    match url::Url::parse(&job) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            Some(url.to_string())
        }
        Ok(_) => Some(job),
        Err(_) => None,
    }
}

fn token() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64;
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}{:08x}{:04x}",
        nanos,
        std::process::id(),
        count & 0xffff
    )
}

/// A lease found in the store.
#[derive(Debug, Clone)]
struct Found {
    holder: Holder,
    /// From the holder's own clock, or the object's time plus [`TTL`] when
    /// the lease cannot be read.
    expires: DateTime<Utc>,
    version: UpdateVersion,
}

/// What one attempt at the lease found.
enum Attempt {
    /// The lease is ours; a note for the report when it was taken over.
    Taken {
        version: Option<UpdateVersion>,
        note: Option<String>,
    },
    /// Another deploy holds it.
    Held(Box<Found>),
    /// It changed hands while we looked: look again.
    Changed,
}

/// A held lease. [`release`](Lease::release) it at the end of the deploy,
/// also when the deploy failed; dropped without that, it stops being renewed
/// and expires.
#[derive(Debug)]
pub struct Lease {
    target: Target,
    key: Path,
    shared: Arc<Mutex<Shared>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    renewer: Option<tokio::task::JoinHandle<()>>,
    /// What the report should say about the lease: a wait, a takeover, a
    /// store where it is only advisory.
    pub notes: Vec<String>,
}

#[derive(Debug)]
struct Shared {
    holder: Holder,
    version: Option<UpdateVersion>,
    /// Why the lease is no longer ours, once a renewal found out.
    lost: Option<String>,
}

fn lease_error(target: &Target, message: String) -> Error {
    Error::Lease {
        store: target.url.clone(),
        message,
    }
}

fn lease_key(target: &Target) -> Result<Path> {
    target
        .key(LEASE_FILE)
        .map_err(|e| lease_error(target, e.to_string()))
}

/// Takes the prefix's lease, waiting up to `settings.wait` for another
/// deploy's; fails with [`Error::LeaseHeld`] when it is still held then, or
/// when `cancel` is set while waiting. Sends [`Event::LeaseHeld`] once when
/// it starts to wait.
pub async fn acquire(
    target: &Target,
    settings: &Settings,
    progress: &dyn Progress,
    cancel: &Cancellation,
) -> Result<Lease> {
    acquire_renewing_every(target, settings, progress, cancel, RENEW_EVERY).await
}

/// [`acquire`], renewing every `renew_every` (short in tests).
async fn acquire_renewing_every(
    target: &Target,
    settings: &Settings,
    progress: &dyn Progress,
    cancel: &Cancellation,
    renew_every: Duration,
) -> Result<Lease> {
    let key = lease_key(target)?;
    let started = Instant::now();
    let mut waited_for: Option<String> = None;
    // One token for every attempt: a write that timed out may have landed,
    // and the next attempt then finds the lease is already this deploy's.
    let token = token();
    let mut failures = 0;
    loop {
        let mine = Holder {
            token: token.clone(),
            ..Holder::new(Utc::now())
        };
        let attempted = match attempt(target, &key, &mine, settings.break_lease).await {
            // object_store does not retry a conditional write that timed out
            // or lost its connection (it is not idempotent); this one is.
            Err(_) if failures < WRITE_ATTEMPTS => {
                failures += 1;
                tokio::time::sleep(POLL).await;
                continue;
            }
            other => other?,
        };
        let found = match attempted {
            Attempt::Taken { version, note } => {
                let mut notes: Vec<String> = note.into_iter().collect();
                if let Some(holder) = waited_for {
                    notes.push(format!(
                        "waited {} s for the lease of {holder} before listing",
                        started.elapsed().as_secs()
                    ));
                }
                // Real GCS answers with the object's generation; a server
                // without generations (moto) also ignores the precondition.
                if target.backend == Backend::Gcs
                    && version.as_ref().is_none_or(|v| v.version.is_none())
                {
                    notes.push("this GCS server keeps no object generations, so it ignores preconditions: the deploy lease is advisory here, two deploys started at the same moment could both take it".into());
                }
                return Ok(Lease::start(target, key, mine, version, notes, renew_every));
            }
            Attempt::Changed => {
                tokio::time::sleep(POLL / 10).await;
                continue;
            }
            Attempt::Held(found) => found,
        };
        let waited = started.elapsed();
        if waited >= settings.wait || cancel.is_cancelled() {
            let waited = if cancel.is_cancelled() {
                format!("cancelled after waiting {} s", waited.as_secs())
            } else {
                format!("waited {} s (leaseWait)", waited.as_secs())
            };
            return Err(Error::LeaseHeld {
                store: target.url.clone(),
                holder: found.holder.describe(),
                since: found.holder.since.clone(),
                expires: rfc3339(found.expires),
                waited,
            });
        }
        if waited_for.is_none() {
            progress.event(Event::LeaseHeld {
                holder: found.holder.describe(),
                since: found.holder.since.clone(),
                expires: rfc3339(found.expires),
            });
            waited_for = Some(found.holder.describe());
        }
        tokio::time::sleep(POLL.min(settings.wait - waited)).await;
    }
}

async fn attempt(target: &Target, key: &Path, mine: &Holder, force: bool) -> Result<Attempt> {
    // GCS servers without generations overwrite on create: look first.
    if target.backend == Backend::Gcs {
        if let Some(found) = read(target, key).await? {
            return decide(target, key, mine, found, force).await;
        }
    }
    match put(target, key, mine, PutMode::Create).await {
        Ok(result) => Ok(Attempt::Taken {
            version: Some(version_of(result)),
            note: None,
        }),
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => match read(target, key).await? {
            Some(found) => decide(target, key, mine, found, force).await,
            None => Ok(Attempt::Changed),
        },
        Err(e) if no_conditions(&e) => {
            // A store that cannot create conditionally: look, then write.
            if let Some(found) = read(target, key).await? {
                if !force && found.expires > Utc::now() && found.holder.token != mine.token {
                    return Ok(Attempt::Held(Box::new(found)));
                }
            }
            let result = put(target, key, mine, PutMode::Overwrite)
                .await
                .map_err(|e| write_error(target, &e))?;
            Ok(Attempt::Taken {
                version: Some(version_of(result)),
                note: Some(format!("{} has no conditional writes: the deploy lease is advisory there, two deploys started at the same moment could both take it", target.backend.name())),
            })
        }
        Err(e) => Err(write_error(target, &e)),
    }
}

/// Takes over `found` when it expired or `force` says so; else it is held.
async fn decide(
    target: &Target,
    key: &Path,
    mine: &Holder,
    found: Found,
    force: bool,
) -> Result<Attempt> {
    if found.holder.token == mine.token {
        // An earlier attempt of this deploy landed after all.
        return Ok(Attempt::Taken {
            version: Some(found.version),
            note: None,
        });
    }
    let now = Utc::now();
    let expired = found.expires <= now;
    if !expired && !force {
        return Ok(Attempt::Held(Box::new(found)));
    }
    let note = if expired {
        format!(
            "took over the expired lease of {} (taken {}, expired {}): that deploy stopped without releasing it",
            found.holder.describe(),
            found.holder.since,
            rfc3339(found.expires)
        )
    } else {
        format!(
            "broke the lease of {} (taken {}, valid until {}) as breakLease asked",
            found.holder.describe(),
            found.holder.since,
            rfc3339(found.expires)
        )
    };
    let taken = |result: PutResult| Attempt::Taken {
        version: Some(version_of(result)),
        note: Some(note.clone()),
    };
    match put(target, key, mine, PutMode::Update(found.version.clone())).await {
        Ok(result) => Ok(taken(result)),
        Err(
            object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. },
        ) => Ok(Attempt::Changed),
        Err(e) if no_conditions(&e) || target.backend == Backend::Gcs => {
            // No replace-if-unchanged here (object_store's local store):
            // remove it, then create ours only if no one else did meanwhile.
            match target.store.delete(key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(write_error(target, &e)),
            }
            match put(target, key, mine, PutMode::Create).await {
                Ok(result) => Ok(taken(result)),
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => Ok(Attempt::Changed),
                Err(e) => Err(write_error(target, &e)),
            }
        }
        Err(e) => Err(write_error(target, &e)),
    }
}

/// Whether the store cannot write conditionally (it said so, or answered
/// the precondition with "not supported"), as opposed to a failure.
fn no_conditions(error: &object_store::Error) -> bool {
    match error {
        object_store::Error::NotImplemented { .. } => true,
        object_store::Error::Generic { .. } => crate::ledger::rejects_conditions(error),
        _ => false,
    }
}

fn write_error(target: &Target, error: &object_store::Error) -> Error {
    lease_error(
        target,
        format!("cannot write {LEASE_FILE}: {}", describe(error)),
    )
}

fn version_of(result: PutResult) -> UpdateVersion {
    UpdateVersion {
        e_tag: result.e_tag,
        version: result.version,
    }
}

async fn put(
    target: &Target,
    key: &Path,
    holder: &Holder,
    mode: PutMode,
) -> object_store::Result<PutResult> {
    let body = serde_json::to_vec_pretty(holder).unwrap_or_default();
    let options = PutOptions {
        mode,
        attributes: crate::ledger::json_attributes(target),
        ..Default::default()
    };
    target
        .store
        .put_opts(key, PutPayload::from(body), options)
        .await
}

/// The lease in the store, if there is one. One that cannot be parsed still
/// counts, held by an unknown deploy until its object's time plus [`TTL`].
async fn read(target: &Target, key: &Path) -> Result<Option<Found>> {
    let result = match target.store.get(key).await {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => {
            return Err(lease_error(
                target,
                format!("cannot read {LEASE_FILE}: {}", describe(&e)),
            ))
        }
    };
    let version = UpdateVersion {
        e_tag: result.meta.e_tag.clone(),
        version: result.meta.version.clone(),
    };
    let modified = result.meta.last_modified;
    let bytes = match result.bytes().await {
        Ok(bytes) => bytes,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => {
            return Err(lease_error(
                target,
                format!("cannot read {LEASE_FILE}: {}", describe(&e)),
            ))
        }
    };
    let parsed: Option<Holder> = serde_json::from_slice(&bytes).ok();
    let found = match parsed {
        Some(holder) => Found {
            expires: holder.expires_at().unwrap_or(modified + delta(TTL)),
            holder,
            version,
        },
        None => Found {
            holder: Holder {
                host: format!("unknown (unreadable {LEASE_FILE})"),
                pid: 0,
                job: None,
                since: rfc3339(modified),
                expires: rfc3339(modified + delta(TTL)),
                token: String::new(),
                version: String::new(),
            },
            expires: modified + delta(TTL),
            version,
        },
    };
    Ok(Some(found))
}

impl Lease {
    fn start(
        target: &Target,
        key: Path,
        holder: Holder,
        version: Option<UpdateVersion>,
        notes: Vec<String>,
        renew_every: Duration,
    ) -> Lease {
        let shared = Arc::new(Mutex::new(Shared {
            holder,
            version,
            lost: None,
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let renewer = tokio::spawn(renew(
            target.clone(),
            key.clone(),
            Arc::clone(&shared),
            stopped,
            renew_every,
        ));
        Lease {
            target: target.clone(),
            key,
            shared,
            stop: Some(stop),
            renewer: Some(renewer),
            notes,
        }
    }

    /// Why the lease is no longer this deploy's, if it is not: another
    /// deploy took it over, or it expired unrenewed. Reads the lease object.
    pub async fn confirm(&self) -> std::result::Result<(), String> {
        let (token, expires, lost) = {
            let shared = self.shared.lock().unwrap();
            (
                shared.holder.token.clone(),
                shared.holder.expires_at(),
                shared.lost.clone(),
            )
        };
        if let Some(why) = lost {
            return Err(why);
        }
        if expires.is_none_or(|t| t <= Utc::now()) {
            return Err("the lease expired before it could be renewed".into());
        }
        match read(&self.target, &self.key).await {
            Ok(Some(found)) if found.holder.token == token => Ok(()),
            Ok(Some(found)) => Err(format!(
                "{} took the lease over (breakLease, or after it expired)",
                found.holder.describe()
            )),
            Ok(None) => Err("the lease was removed by another deploy".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Stops renewing and removes the lease if it is still this deploy's.
    /// Returns a note for the report when it could not be removed.
    pub async fn release(mut self) -> Option<String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A renewal in flight lands before the delete, not after it.
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.await;
        }
        let token = self.shared.lock().unwrap().holder.token.clone();
        let gone = |e: String| {
            Some(format!(
                "the deploy lease could not be removed ({e}); it expires within {} s, or pass breakLease: true (--break-lease)",
                TTL.as_secs()
            ))
        };
        match read(&self.target, &self.key).await {
            Ok(Some(found)) if found.holder.token == token => {
                match self.target.store.delete(&self.key).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => None,
                    Err(e) => gone(describe(&e)),
                }
            }
            // Another deploy's now, or gone: not ours to remove.
            Ok(_) => None,
            Err(e) => gone(e.to_string()),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Not released (a panic, a dropped future): stop renewing, let it expire.
        if let Some(renewer) = &self.renewer {
            renewer.abort();
        }
    }
}

async fn renew(
    target: Target,
    key: Path,
    shared: Arc<Mutex<Shared>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    every: Duration,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = &mut stopped => return,
        }
        let (mut holder, version) = {
            let shared = shared.lock().unwrap();
            (shared.holder.clone(), shared.version.clone())
        };
        holder.expires = rfc3339(Utc::now() + delta(TTL));
        let conditional = version
            .as_ref()
            .is_some_and(|v| v.e_tag.is_some() || v.version.is_some());
        let mut result = match (&version, conditional) {
            (Some(v), true) => put(&target, &key, &holder, PutMode::Update(v.clone())).await,
            _ => Err(object_store::Error::NotImplemented {
                operation: "conditional renewal".into(),
                implementer: target.url.clone(),
            }),
        };
        if matches!(&result, Err(e) if no_conditions(e) || target.backend == Backend::Gcs) {
            // Check, then overwrite: the best a store without conditions allows.
            result = match read(&target, &key).await {
                Ok(Some(found)) if found.holder.token == holder.token => {
                    put(&target, &key, &holder, PutMode::Overwrite).await
                }
                Ok(_) => Err(object_store::Error::Precondition {
                    path: key.to_string(),
                    source: "the lease is another deploy's now".into(),
                }),
                // A failed read is retried at the next renewal.
                Err(e) => Err(object_store::Error::Generic {
                    store: "lease",
                    source: e.to_string().into(),
                }),
            };
        }
        let mut shared = shared.lock().unwrap();
        match result {
            Ok(done) => {
                shared.holder = holder;
                shared.version = Some(version_of(done));
            }
            Err(object_store::Error::Precondition { .. }) => {
                shared.lost = Some("another deploy took the lease over while this one ran".into());
                return;
            }
            // A failed renewal is retried at the next one; confirm() sees
            // the expiry if none succeeds.
            Err(_) => {}
        }
    }
}

/// Keeps, rather than deletes, the orphans another deploy may be using:
/// with the lease lost, every orphan; otherwise each orphan no release
/// recorded that was written since `listed_at` (when this deploy's listing
/// began), as the store reports it now. Returns notes for the report.
pub async fn keep_fresh(
    target: &Target,
    plan: &mut Plan,
    ledger: Option<&Ledger>,
    listed_at: DateTime<Utc>,
    lease: Option<&Lease>,
    concurrency: usize,
) -> Vec<String> {
    let candidates: Vec<String> = plan
        .with_action(Action::Delete)
        .filter(|step| !ledger.is_some_and(|l| l.knows(&step.relative)))
        .map(|step| step.relative.clone())
        .collect();
    let mut notes = Vec::new();
    if let Some(lease) = lease {
        if plan.with_action(Action::Delete).next().is_some() {
            if let Err(why) = lease.confirm().await {
                let kept = keep_all(plan, KeptBecause::LeaseLost);
                notes.push(format!("the deploy lease is no longer this deploy's ({why}), so the {kept} orphan(s) it planned to delete were kept"));
                return notes;
            }
        }
    }
    if candidates.is_empty() {
        return notes;
    }
    let heads: Vec<_> = candidates
        .iter()
        .map(|relative| async move {
            let key = target.key(relative).ok()?;
            let meta = target.store.head(&key).await.ok()?;
            Some((relative.clone(), meta.last_modified))
        })
        .collect();
    let written: Vec<(String, DateTime<Utc>)> = futures::stream::iter(heads)
        .buffer_unordered(concurrency.max(1))
        .filter_map(futures::future::ready)
        .collect()
        .await;
    let skew = match target.backend {
        Backend::Memory => Duration::ZERO,
        _ => CLOCK_SKEW,
    };
    let kept = keep_written_since(plan, ledger, &written, listed_at - delta(skew));
    if kept > 0 {
        notes.push(format!("{kept} orphan(s) no release recorded were written while this deploy ran, so another deploy may be using them: kept (see each file's reason)"));
    }
    notes
}

fn keep_all(plan: &mut Plan, because: KeptBecause) -> usize {
    let mut kept = 0;
    for step in plan.steps.iter_mut().filter(|s| s.action == Action::Delete) {
        step.action = Action::KeepOrphan;
        step.reason = Reason::OrphanKept(because);
        kept += 1;
    }
    kept
}

/// Turns into keeps the deletes of keys no release in `ledger` recorded
/// whose `written` time is at or after `since`. Pure; returns how many.
pub fn keep_written_since(
    plan: &mut Plan,
    ledger: Option<&Ledger>,
    written: &[(String, DateTime<Utc>)],
    since: DateTime<Utc>,
) -> usize {
    let fresh: std::collections::HashSet<&str> = written
        .iter()
        .filter(|(_, time)| *time >= since)
        .map(|(relative, _)| relative.as_str())
        .collect();
    let mut kept = 0;
    for step in plan.steps.iter_mut().filter(|s| s.action == Action::Delete) {
        if fresh.contains(step.relative.as_str())
            && !ledger.is_some_and(|l| l.knows(&step.relative))
        {
            step.action = Action::KeepOrphan;
            step.reason = Reason::OrphanKept(KeptBecause::WrittenDuringDeploy);
            kept += 1;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open;

    fn now_settings(break_lease: bool) -> Settings {
        Settings {
            wait: Duration::ZERO,
            break_lease,
        }
    }

    /// Writes a lease of another deploy by hand, valid for `valid_for`
    /// seconds (negative: expired that long ago).
    async fn foreign_lease(target: &Target, valid_for: i64) {
        let now = Utc::now();
        let holder = Holder {
            host: "ghost-runner".into(),
            pid: 7,
            job: None,
            since: rfc3339(now - chrono::Duration::seconds(600)),
            expires: rfc3339(now + chrono::Duration::seconds(valid_for)),
            token: "other".into(),
            version: "0.0.0".into(),
        };
        let key = lease_key(target).unwrap();
        put(target, &key, &holder, PutMode::Overwrite)
            .await
            .unwrap();
    }

    async fn stored_holder(target: &Target) -> Option<Holder> {
        read(target, &lease_key(target).unwrap())
            .await
            .unwrap()
            .map(|f| f.holder)
    }

    fn targets(name: &str) -> Vec<(Target, Option<tempfile::TempDir>)> {
        let dir = tempfile::tempdir().unwrap();
        let file = open(
            &format!("file://{}/site", dir.path().display()),
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        let memory = open(
            &format!("memory:///lease-{name}/site"),
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        vec![(memory, None), (file, Some(dir))]
    }

    #[tokio::test]
    async fn a_second_deploy_is_refused_while_the_first_holds_the_lease() {
        for (target, _dir) in targets("held") {
            let first = acquire(&target, &Settings::default(), &(), &Default::default())
                .await
                .unwrap();
            let error = acquire(&target, &now_settings(false), &(), &Default::default())
                .await
                .unwrap_err();
            assert_eq!(error.code(), "LEASE_HELD", "{}", target.url);
            let message = error.to_string();
            assert!(message.contains(&host_name()), "{message}");
            assert!(
                message.contains(&format!("pid {}", std::process::id())),
                "{message}"
            );
            assert!(
                message.contains("breakLease: true (--break-lease)"),
                "{message}"
            );
            assert!(first.confirm().await.is_ok());
            assert_eq!(first.release().await, None);
            assert_eq!(stored_holder(&target).await, None, "released");
            let again = acquire(&target, &now_settings(false), &(), &Default::default())
                .await
                .unwrap();
            assert!(again.notes.is_empty(), "{:?}", again.notes);
            again.release().await;
        }
    }

    #[tokio::test]
    async fn a_waiting_deploy_takes_the_lease_once_it_is_released() {
        let (target, _dir) = targets("wait").remove(0);
        let first = acquire(&target, &Settings::default(), &(), &Default::default())
            .await
            .unwrap();
        struct Waiting(std::sync::mpsc::Sender<String>);
        impl Progress for Waiting {
            fn event(&self, event: Event) {
                if let Event::LeaseHeld { holder, .. } = event {
                    let _ = self.0.send(holder);
                }
            }
        }
        let (told, heard) = std::sync::mpsc::channel();
        let waiting = Waiting(told);
        let (settings, cancel) = (Settings::default(), Cancellation::default());
        let second = acquire(&target, &settings, &waiting, &cancel);
        let release_after_the_wait_began = async {
            // The event is sent before the first pause, so this is no race.
            while heard.try_recv().is_err() {
                tokio::task::yield_now().await;
            }
            first.release().await
        };
        let (second, released) = tokio::join!(second, release_after_the_wait_began);
        assert_eq!(released, None);
        let second = second.unwrap();
        assert!(
            second.notes.iter().any(|n| n.starts_with("waited")),
            "{:?}",
            second.notes
        );
        second.release().await;
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_a_live_one_only_when_broken() {
        for (target, _dir) in targets("stale") {
            foreign_lease(&target, -5).await;
            let lease = acquire(&target, &now_settings(false), &(), &Default::default())
                .await
                .unwrap();
            assert!(
                lease.notes[0]
                    .starts_with("took over the expired lease of host ghost-runner (pid 7)"),
                "{:?}",
                lease.notes
            );
            assert_eq!(
                stored_holder(&target).await.unwrap().pid,
                std::process::id()
            );
            lease.release().await;

            foreign_lease(&target, 3600).await;
            let error = acquire(&target, &now_settings(false), &(), &Default::default())
                .await
                .unwrap_err();
            assert!(
                error.to_string().contains("host ghost-runner (pid 7)"),
                "{error}"
            );
            let broken = acquire(&target, &now_settings(true), &(), &Default::default())
                .await
                .unwrap();
            assert!(broken.notes[0].starts_with("broke the lease of host ghost-runner"));
            broken.release().await;
            assert_eq!(stored_holder(&target).await, None);
        }
    }

    #[tokio::test]
    async fn a_broken_lease_is_noticed_and_not_removed_by_its_old_holder() {
        for (target, _dir) in targets("lost") {
            let first = acquire(&target, &Settings::default(), &(), &Default::default())
                .await
                .unwrap();
            let breaker = acquire(&target, &now_settings(true), &(), &Default::default())
                .await
                .unwrap();
            let why = first.confirm().await.unwrap_err();
            assert!(why.contains("took the lease over"), "{why}");
            first.release().await;
            assert!(
                breaker.confirm().await.is_ok(),
                "the old holder left it alone"
            );
            breaker.release().await;
        }
    }

    #[tokio::test]
    async fn an_unreadable_lease_counts_as_held_until_its_time_plus_the_ttl() {
        let (target, _dir) = targets("garbage").remove(0);
        target
            .store
            .put(
                &lease_key(&target).unwrap(),
                PutPayload::from_static(b"{oops"),
            )
            .await
            .unwrap();
        let error = acquire(&target, &now_settings(false), &(), &Default::default())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("unknown (unreadable"), "{error}");
    }

    fn orphan(relative: &str) -> crate::plan::Step {
        crate::plan::Step {
            relative: relative.into(),
            action: Action::Delete,
            reason: Reason::Orphan,
            size: 1,
            kind: None,
            local: None,
        }
    }

    #[test]
    fn only_unrecorded_orphans_written_since_the_listing_are_kept() {
        let listed = Utc::now();
        let before = listed - chrono::Duration::seconds(30);
        let after = listed + chrono::Duration::seconds(2);
        let mut plan = Plan {
            steps: vec![
                orphan("assets/old-stray.js"),
                orphan("assets/fresh-stray.js"),
                orphan("assets/recorded.js"),
                orphan("assets/unheard.js"),
            ],
        };
        let mut ledger = Ledger::default();
        ledger.retired.insert("assets/recorded.js".into());
        let written = vec![
            ("assets/old-stray.js".to_string(), before),
            ("assets/fresh-stray.js".to_string(), after),
            ("assets/recorded.js".to_string(), after),
            ("assets/unheard.js".to_string(), listed),
        ];
        let kept = keep_written_since(&mut plan, Some(&ledger), &written, listed);
        assert_eq!(kept, 2);
        let actions: Vec<_> = plan
            .steps
            .iter()
            .map(|s| (s.relative.as_str(), s.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("assets/old-stray.js", Action::Delete),
                ("assets/fresh-stray.js", Action::KeepOrphan),
                ("assets/recorded.js", Action::Delete),
                ("assets/unheard.js", Action::KeepOrphan),
            ]
        );
        assert_eq!(
            plan.steps[1].reason.to_string(),
            "orphan, kept: written while this deploy ran, by another deploy perhaps"
        );
    }

    #[test]
    fn the_ci_job_names_the_holder_in_ci() {
        let github = |name: &str| {
            match name {
                "GITHUB_SERVER_URL" => Some("https://github.com"),
                "GITHUB_REPOSITORY" => Some("acme/site"),
                "GITHUB_RUN_ID" => Some("42"),
                _ => None,
            }
            .map(String::from)
        };
        assert_eq!(
            ci_job(github).as_deref(),
            Some("https://github.com/acme/site/actions/runs/42")
        );
        assert_eq!(ci_job(|_| None), None);
        let gitlab = |name: &str| {
            (name == "CI_JOB_URL").then(|| "https://ci:t0ken@gitlab.example/g/p/-/jobs/7".into())
        };
        assert_eq!(
            ci_job(gitlab).as_deref(),
            Some("https://gitlab.example/g/p/-/jobs/7")
        );
    }

    fn build(dir: &std::path::Path, chunk: &str) {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(
            dir.join("index.html"),
            format!("<!doctype html><script type=\"module\" src=\"/assets/{chunk}\"></script>"),
        )
        .unwrap();
        std::fs::write(
            dir.join("assets").join(chunk),
            format!("console.log('{chunk}')"),
        )
        .unwrap();
    }

    fn options(dir: &std::path::Path, storage: &str) -> crate::DeployOptions {
        crate::DeployOptions {
            dir: dir.to_path_buf(),
            storage: Some(storage.to_string()),
            delete: Some(crate::options::DeleteOption::All(true)),
            lease_wait: Some("0s".into()),
            ..Default::default()
        }
    }

    async fn deploy(
        options: crate::DeployOptions,
        progress: &dyn Progress,
    ) -> Result<crate::Report> {
        crate::deploy_with_env(options, |_| None, progress, &Default::default()).await
    }

    #[tokio::test]
    async fn only_a_deploy_that_writes_needs_the_lease() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        let storage = format!("file://{}/site", work.path().display());
        build(&dist, "app-Aa111111.js");
        deploy(options(&dist, &storage), &()).await.unwrap();
        let target = open(&storage, &Default::default(), &Default::default()).unwrap();
        assert_eq!(stored_holder(&target).await, None, "released at the end");

        foreign_lease(&target, 3600).await;
        let unchanged = deploy(options(&dist, &storage), &()).await.unwrap();
        assert_eq!(unchanged.summary.uploaded.count, 0);
        let mut dry = options(&dist, &storage);
        dry.dry_run = true;
        build(&dist, "app-Bb222222.js");
        deploy(dry, &()).await.unwrap();
        let error = deploy(options(&dist, &storage), &()).await.unwrap_err();
        assert_eq!(error.code(), "LEASE_HELD");
        assert!(
            std::fs::read_to_string(work.path().join("site/index.html"))
                .unwrap()
                .contains("app-Aa111111.js"),
            "nothing was written"
        );
        assert_eq!(stored_holder(&target).await.unwrap().host, "ghost-runner");
    }

    /// Rewrites a file of the store on the first upload: another deploy
    /// writing the same key while this one runs.
    struct Rewrite(std::path::PathBuf, std::sync::atomic::AtomicBool);
    impl Progress for Rewrite {
        fn event(&self, event: Event) {
            if matches!(event, Event::Uploaded { .. })
                && !self.1.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                std::fs::write(&self.0, "export const theirs = 1").unwrap();
            }
        }
    }

    #[tokio::test]
    async fn an_unrecorded_orphan_written_during_the_deploy_is_not_deleted() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        let site = work.path().join("site");
        let storage = format!("file://{}", site.display());
        build(&dist, "app-Aa111111.js");
        deploy(options(&dist, &storage), &()).await.unwrap();
        // Another tool's files, there before the next deploy's listing.
        let a_minute_ago = std::time::SystemTime::now() - Duration::from_secs(60);
        for stray in ["assets/stale-Cc333333.js", "assets/theirs-Dd444444.js"] {
            std::fs::write(site.join(stray), "export const old = 1").unwrap();
            let file = std::fs::File::options()
                .write(true)
                .open(site.join(stray))
                .unwrap();
            file.set_modified(a_minute_ago).unwrap();
        }
        build(&dist, "app-Bb222222.js");
        let rewrite = Rewrite(site.join("assets/theirs-Dd444444.js"), Default::default());
        let report = deploy(options(&dist, &storage), &rewrite).await.unwrap();
        assert!(rewrite.1.load(std::sync::atomic::Ordering::SeqCst));
        let action = |path: &str| {
            let file = report.files.iter().find(|f| f.path == path).unwrap();
            (file.action, file.reason.clone(), file.status)
        };
        assert_eq!(action("assets/stale-Cc333333.js").0, Action::Delete);
        assert_eq!(action("assets/app-Aa111111.js").2, "done");
        assert_eq!(
            action("assets/theirs-Dd444444.js"),
            (
                Action::KeepOrphan,
                "orphan, kept: written while this deploy ran, by another deploy perhaps".into(),
                "skipped"
            )
        );
        assert!(site.join("assets/theirs-Dd444444.js").exists());
        assert!(!site.join("assets/stale-Cc333333.js").exists());
    }

    #[tokio::test]
    async fn a_rollback_goes_through_the_lease_too() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        let storage = format!("file://{}/site", work.path().display());
        for chunk in ["app-Aa111111.js", "app-Bb222222.js"] {
            build(&dist, chunk);
            let mut keep = options(&dist, &storage);
            keep.delete = None;
            deploy(keep, &()).await.unwrap();
        }
        let target = open(&storage, &Default::default(), &Default::default()).unwrap();
        foreign_lease(&target, -5).await;
        let rollback = |dry_run| {
            crate::rollback::rollback(crate::rollback::LedgerOptions {
                storage: Some(storage.clone()),
                dry_run,
                ..Default::default()
            })
        };
        rollback(true).await.unwrap();
        assert_eq!(
            stored_holder(&target).await.unwrap().host,
            "ghost-runner",
            "a dry run takes no lease"
        );
        rollback(false).await.unwrap();
        assert_eq!(
            stored_holder(&target).await,
            None,
            "taken over, then released"
        );
    }

    /// Waits up to 10 s for `done` to hold, checking every 10 ms.
    async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
        for _ in 0..1000 {
            if done().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn the_holder_renews_its_lease_and_stops_when_another_took_it_over() {
        for (target, _dir) in targets("renew") {
            let key = lease_key(&target).unwrap();
            let lease = acquire_renewing_every(
                &target,
                &Settings::default(),
                &(),
                &Default::default(),
                Duration::from_millis(20),
            )
            .await
            .unwrap();
            let taken = read(&target, &key).await.unwrap().unwrap().version;
            assert!(
                eventually(async || read(&target, &key).await.unwrap().unwrap().version != taken)
                    .await,
                "renewed: {}",
                target.url
            );
            let breaker = acquire(&target, &now_settings(true), &(), &Default::default())
                .await
                .unwrap();
            assert!(
                eventually(async || lease.shared.lock().unwrap().lost.is_some()).await,
                "the next renewal finds the lease taken over: {}",
                target.url
            );
            assert!(lease.confirm().await.is_err());
            assert!(
                breaker.confirm().await.is_ok(),
                "not overwritten by the old holder"
            );
            lease.release().await;
            breaker.release().await;
        }
    }
}
