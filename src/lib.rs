//! vite-deploy: publish a Vite build to object storage behind a CDN.
//!
//! A deploy is a pipeline of small steps, each in its own module:
//! [`options`] → [`store`] (URL to store) → [`local`] (scan) → [`remote`]
//! (listing) → [`plan`] (pure diff) → [`publish`] (ordered uploads, then
//! deletes) → [`report`]. [`binding`] is the only napi-facing file.

#![warn(missing_docs)]

pub mod binding;
pub mod error;
pub mod headers;
pub mod local;
pub mod options;
pub mod plan;
pub mod publish;
pub mod remote;
pub mod report;
pub mod store;

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
pub async fn deploy_with_env(
    options: DeployOptions,
    env: impl Fn(&str) -> Option<String>,
    progress: &dyn Progress,
    cancel: &Cancellation,
) -> Result<Report> {
    let started = Instant::now();
    let options = options.resolve(env)?;
    let filter = local::Filter::new(&options.include, &options.exclude)?;
    let cache = headers::CacheRules::new(&options.cache_control)?;
    let network = store::Network {
        retries: options.retries,
        timeout: options.timeout.clone(),
    };
    let target = store::open(&options.storage, &options.storage_options, &network)?;
    let concurrency = options
        .concurrency
        .unwrap_or(target.backend.default_concurrency());
    if !options.force {
        local::check_is_build(&options.dir)?;
    }

    let dir = options.dir.clone();
    let scan_filter = filter.clone();
    let roles = local::Roles::new(options.hashed_files.clone());
    let local = tokio::task::spawn_blocking(move || local::scan(&dir, &scan_filter, &roles))
        .await
        .map_err(|e| Error::Unreadable {
            path: options.dir.clone(),
            source: std::io::Error::other(e.to_string()),
        })??;

    let remote = remote::list(&target, &filter).await?;
    let etag_is_md5 = target.backend.etag_is_md5();
    let to_compare = plan::needs_remote_md5(&local, &remote, etag_is_md5);
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
    let remote_md5: HashMap<String, [u8; 16]> = futures::stream::iter(reads)
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let plan = plan::plan(&local, &remote, &remote_md5, etag_is_md5, options.delete);

    progress.event(Event::Planned {
        uploads: plan.with_action(plan::Action::Upload).count(),
        upload_bytes: plan.with_action(plan::Action::Upload).map(|s| s.size).sum(),
        deletes: plan.with_action(plan::Action::Delete).count(),
        unchanged: plan.with_action(plan::Action::Skip).count(),
    });

    let outcome = if options.dry_run {
        None
    } else {
        let settings = publish::Settings {
            concurrency,
            cache,
            headers: target.backend.keeps_headers(),
            cancel: cancel.clone(),
        };
        Some(publish::publish(&target, &plan, &local, &settings, progress).await)
    };

    let key_of = |relative: &str| {
        target
            .key(relative)
            .map(|k| k.to_string())
            .unwrap_or_else(|_| relative.to_string())
    };
    let mut report = Report::new(&plan, outcome.as_ref(), key_of);
    report.storage = target.url.clone();
    report.headers_applied = target.backend.keeps_headers() && !options.dry_run;
    report.summary.compared_by_content = to_compare.len();
    if !target.backend.keeps_headers() {
        report.notes.push(format!(
            "{} does not store Content-Type or Cache-Control: files were written without them",
            target.backend.name()
        ));
    }
    if !report.succeeded() && plan.with_action(plan::Action::Delete).next().is_some() {
        report
            .notes
            .push("uploads failed, so no orphan was deleted".into());
    }
    let kept = plan.with_action(plan::Action::Keep).count();
    if kept > 0 {
        report
            .notes
            .push(format!("{kept} orphan(s) kept because delete is off"));
    }
    report.cancelled = outcome.as_ref().is_some_and(|o| o.cancelled);
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}
