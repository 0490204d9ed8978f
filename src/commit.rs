//! The release commit, after every upload succeeded: the ledger entry (with
//! the ETags the store now shows), the rollback copies it needs, then the
//! retention ages by the store's clock. Deletes come after this, in
//! [`crate::publish::delete`]: if another deploy committed first, this one
//! stops here and deletes nothing.

use std::collections::{BTreeSet, HashMap};

use crate::error::Result;
use crate::ledger::{self, Ledger, Release};
use crate::local::LocalFile;
use crate::plan::Plan;
use crate::remote::RemoteObject;
use crate::retention::{self, DeletePolicy};
use crate::store::Target;

/// What the deploy did and knows when it commits.
pub struct Deployed<'a> {
    /// The release being deployed (see [`new_release`]).
    pub build: Release,
    /// The scan.
    pub local: &'a [LocalFile],
    /// The listing.
    pub remote: &'a [RemoteObject],
    /// The ETag each upload returned, by key.
    pub e_tags: &'a HashMap<String, String>,
    /// Whether anything was uploaded.
    pub uploaded_any: bool,
}

/// What the commit did.
#[derive(Debug, Default)]
pub struct Committed {
    /// The live release: the one recorded, or the build's when it was live
    /// already.
    pub release: Option<String>,
    /// For the report.
    pub notes: Vec<crate::report::Note>,
}

/// What the commit phase needs besides the plan and the uploads' outcome.
pub struct Finish<'a> {
    /// The release being deployed (see [`new_release`]).
    pub build: Release,
    /// The scan.
    pub local: &'a [LocalFile],
    /// The listing and the ledger the plan was made from.
    pub survey: &'a crate::remote::Survey,
    /// The delete policy.
    pub delete: &'a DeletePolicy,
    /// The prefix's lease, when this deploy holds it.
    pub lease: Option<&'a crate::lease::Lease>,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// The phase after the uploads: when every upload succeeded, records the
/// release (see [`commit`]) and keeps the orphans another deploy may be
/// using; then deletes the orphans, which [`crate::publish::delete`] skips
/// unless all of that succeeded. Nothing is deleted before the release is
/// recorded.
pub async fn finish(
    target: &Target,
    plan: &mut Plan,
    outcome: &mut crate::publish::Outcome,
    finish: Finish<'_>,
    progress: &dyn crate::publish::Progress,
    cancel: &crate::publish::Cancellation,
) -> Result<Committed> {
    let Finish {
        build,
        local,
        survey,
        delete,
        lease,
        concurrency,
    } = finish;
    let mut committed = Committed::default();
    if outcome.failures.is_empty() && !outcome.cancelled {
        let ledger = survey.ledger();
        let deployed = Deployed {
            build,
            local,
            remote: &survey.objects,
            e_tags: &outcome.e_tags,
            uploaded_any: !outcome.uploaded.is_empty(),
        };
        committed = commit(
            target,
            plan,
            deployed,
            ledger,
            &survey.loaded,
            delete,
            concurrency,
        )
        .await?;
        let fresh =
            crate::lease::keep_fresh(target, plan, ledger, survey.listed_at, lease, concurrency)
                .await;
        committed
            .notes
            .extend(fresh.into_iter().map(crate::report::Note::from));
    }
    crate::publish::delete(target, plan, progress, cancel, outcome).await;
    Ok(committed)
}

/// Records the release (or, for a build that is live already, refreshes the
/// live release's ETags), stores its rollback copies, drops those no kept
/// release needs, and applies retention again by the store's clock.
pub async fn commit(
    target: &Target,
    plan: &mut Plan,
    deployed: Deployed<'_>,
    ledger: Option<&Ledger>,
    loaded: &ledger::Loaded,
    delete: &DeletePolicy,
    concurrency: usize,
) -> Result<Committed> {
    let Deployed {
        mut build,
        local,
        remote,
        e_tags,
        uploaded_any,
    } = deployed;
    let mut committed = Committed::default();
    let live = ledger
        .and_then(Ledger::latest)
        .filter(|live| live.same_files(&build));
    debug_assert!(
        remote.windows(2).all(|w| w[0].relative < w[1].relative),
        "the listing is sorted by key, for remote::find"
    );
    record_e_tags(&mut build, remote, e_tags);
    let stored = |key: &str| crate::remote::find(remote, key).is_some();
    // A build that is the live release already records nothing: the
    // ledger never holds a release twice in a row.
    if let Some(live) = live {
        committed.release = Some(live.id.clone());
        if uploaded_any {
            // The store differed from the live release (a deploy failed
            // or lost the ledger race after writing): record the ETags
            // it shows now, so the next deploy trusts the ledger again.
            let mut refreshed = ledger.cloned().unwrap_or_default();
            if let Some(latest) = refreshed.releases.last_mut() {
                for (key, entry) in latest.files.iter_mut() {
                    entry.e_tag = build.files.get(key).and_then(|e| e.e_tag.clone());
                    // A deploy that only rewrote headers records them here.
                    entry.headers = build.files.get(key).and_then(|e| e.headers.clone());
                }
            }
            ledger::write(target, &refreshed, loaded).await?;
        }
        return Ok(committed);
    }
    // The build moves into the next ledger: a release of a large build is
    // megabytes, not worth a copy.
    let Some(next) = Ledger::next(ledger, build, delete.releases_kept(), |key| stored(key)) else {
        return Ok(committed);
    };
    let build = next.latest().expect("the ledger just recorded the build");
    // The release is recorded before any delete: if another deploy
    // committed first, this one stops here and deletes nothing. The
    // rollback copies and the release objects go up side by side: nothing
    // names either until the index is written, which waits for both.
    let before: BTreeSet<String> = ledger
        .map(|l| l.snapshot_md5s().into_iter().map(String::from).collect())
        .unwrap_or_default();
    let (_, staged) = futures::try_join!(
        crate::rollback::snapshot(target, local, &before, concurrency),
        ledger::stage(target, &next, loaded),
    )?;
    if ledger::publish(target, &next, staged, loaded).await? == ledger::Written::Unconditionally {
        committed
            .notes
            .push(crate::report::Note::LedgerOverwritten {
                backend: target.backend.name(),
            });
    }
    committed.release = Some(build.id.clone());
    let after = next.snapshot_md5s();
    let unused: Vec<&String> = before
        .iter()
        .filter(|md5| !after.contains(md5.as_str()))
        .collect();
    crate::rollback::remove_snapshots(target, &unused).await;
    // Ages by the store's clock (the ledger just written carries
    // it), not this machine's: a fast runner clock must not make
    // orphans look older. Applied again, retention only keeps more, so
    // without a delete left in the plan there is nothing to ask the store.
    if plan
        .with_action(crate::plan::Action::Delete)
        .next()
        .is_none()
    {
        return Ok(committed);
    }
    let store_now = ledger::written_at(target).await.unwrap_or_else(|| {
        remote
            .iter()
            .map(|o| o.modified)
            .chain(loaded.modified)
            .max()
            .unwrap_or(i64::MIN)
    });
    retention::apply(plan, ledger, build, delete, store_now);
    Ok(committed)
}

/// The release record of this deploy: every key with its size and, for the
/// files compared by content, its MD5. Hashed assets carry none: their name
/// is their content, and leaving it out keeps the ledger, which every deploy
/// reads and writes, at half the size.
pub fn new_release(
    now: chrono::DateTime<chrono::Utc>,
    local: &[crate::local::LocalFile],
    cache: &crate::headers::CacheRules,
) -> crate::ledger::Release {
    let files = local
        .iter()
        .map(|file| {
            // Only what a rollback restores needs its rule.
            let cache_control = (file.kind != crate::local::FileKind::Hashed)
                .then(|| cache.user_rule(&file.relative).map(Box::from))
                .flatten();
            let entry = crate::ledger::Entry {
                size: file.size,
                md5: file.md5.map(|md5| crate::ledger::hex(&md5).into()),
                kind: file.kind,
                e_tag: None,
                cache_control,
                headers: None,
                encoding: None,
            };
            (file.relative.clone(), entry)
        })
        .collect();
    crate::ledger::Release {
        id: crate::ledger::release_id(now),
        time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        version: env!("CARGO_PKG_VERSION").to_string(),
        files,
    }
}

/// Records in the release the ETag the store shows for each file compared by
/// content: the one its upload returned, else the listing's.
fn record_e_tags(
    build: &mut crate::ledger::Release,
    remote: &[crate::remote::RemoteObject],
    uploaded: &HashMap<String, String>,
) {
    // Looked up in the sorted listing: a map of every listed key held a
    // megabyte at 20,000 files for the few unhashed ones asked for.
    for (key, entry) in build.files.iter_mut().filter(|(_, e)| e.md5.is_some()) {
        entry.e_tag = match uploaded.get(key) {
            Some(e_tag) => Some(e_tag.as_str().into()),
            None => crate::remote::find(remote, key)
                .and_then(|o| o.e_tag.as_deref())
                .map(Into::into),
        };
    }
}

#[cfg(test)]
mod release_tests {
    use super::*;

    fn file(
        relative: &str,
        kind: crate::local::FileKind,
        md5: Option<[u8; 16]>,
    ) -> crate::local::LocalFile {
        crate::local::LocalFile {
            relative: relative.into(),
            path: relative.into(),
            size: relative.len() as u64,
            kind,
            md5,
        }
    }

    fn build() -> Vec<crate::local::LocalFile> {
        vec![
            file(
                "assets/app-3fA9c1xZ.js",
                crate::local::FileKind::Hashed,
                None,
            ),
            file("robots.txt", crate::local::FileKind::Other, Some([1; 16])),
            file("index.html", crate::local::FileKind::Entry, Some([2; 16])),
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
            .map(|(key, e)| {
                (
                    key.as_str(),
                    e.size,
                    e.md5.as_deref().map(String::from),
                    e.kind,
                    e.e_tag.as_deref().map(String::from),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                (
                    "assets/app-3fA9c1xZ.js",
                    22,
                    None,
                    crate::local::FileKind::Hashed,
                    None
                ),
                (
                    "index.html",
                    10,
                    Some("02".repeat(16)),
                    crate::local::FileKind::Entry,
                    None
                ),
                (
                    "robots.txt",
                    10,
                    Some("01".repeat(16)),
                    crate::local::FileKind::Other,
                    None
                ),
            ]
        );
    }

    #[test]
    fn e_tags_come_from_the_upload_else_the_listing_and_only_for_files_compared_by_content() {
        let mut release = new_release(chrono::Utc::now(), &build(), &Default::default());
        let listed = |relative: &str, e_tag: &str| crate::remote::RemoteObject {
            relative: relative.into(),
            size: 1,
            e_tag: Some(e_tag.into()),
            modified: 0,
        };
        // Sorted by key, as every listing is.
        let remote = [
            listed("assets/app-3fA9c1xZ.js", "\"listed-asset\""),
            listed("index.html", "\"listed-index\""),
            listed("robots.txt", "\"listed-robots\""),
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
