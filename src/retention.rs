//! Which orphans a deploy may delete, and the guard against mass deletion.
//!
//! Deleting every orphan right after an upload breaks browser tabs still
//! running the previous HTML: their lazy chunks 404. So by default an orphan
//! is kept while one of the last distinct releases references it, or while it
//! was live within the window (`olderThan`, 24 hours by default), and a key
//! no release of vite-deploy ever recorded (uploaded by another tool) is
//! never deleted silently. A redeploy of the live release deletes nothing.
//! Pure: it edits a [`Plan`] and does no I/O.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::ledger::{Ledger, Release};
use crate::local::is_html;
use crate::plan::{Action, KeptBecause, Plan, Reason};
use crate::remote::RemoteObject;

/// Distinct releases whose files survive by default: the live one and the
/// previous.
pub const DEFAULT_KEEP: usize = 2;

/// How long an orphan survives by default after it stopped being live.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Deletes above this always need `force`.
pub const MAX_DELETES: usize = 1000;

/// Deletes at or below this never trip the "more than half" rule, so a small
/// site can replace most of its few files.
const SMALL_DELETE: usize = 10;

/// What may be deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeletePolicy {
    /// Delete nothing.
    Never,
    /// Delete every orphan now, also keys no release recorded.
    All,
    /// Delete an orphan only when none of the newest `keep` distinct releases
    /// (the one being deployed included) references it, a release did record
    /// it, and it stopped being live at least `older_than` ago.
    Retain {
        /// Distinct releases whose files are kept, at least 1.
        keep: usize,
        /// How long after it stopped being live an orphan is kept.
        older_than: Option<Duration>,
    },
}

impl Default for DeletePolicy {
    fn default() -> Self {
        DeletePolicy::Retain {
            keep: DEFAULT_KEEP,
            older_than: Some(DEFAULT_WINDOW),
        }
    }
}

impl DeletePolicy {
    /// How many distinct releases the ledger keeps.
    pub fn releases_kept(&self) -> usize {
        match self {
            DeletePolicy::Retain { keep, .. } => (*keep).max(1),
            DeletePolicy::Never | DeletePolicy::All => DEFAULT_KEEP,
        }
    }
}

/// Turns the plan's deletes into keeps where the policy says so, and gives
/// each orphan retention deletes its reason. `build` is the release being
/// deployed; `now` is in seconds since the epoch by the store's clock (the
/// clock the ledger's times are in). Only deletes are looked at, so applying
/// it again with a later `now` can only keep more.
pub fn apply(
    plan: &mut Plan,
    ledger: Option<&Ledger>,
    build: &Release,
    policy: &DeletePolicy,
    now: i64,
) {
    let already_live = ledger
        .and_then(Ledger::latest)
        .is_some_and(|live| live.same_files(build));
    let protected: BTreeSet<&str> = match (policy, ledger) {
        (DeletePolicy::Retain { keep, .. }, Some(ledger)) => ledger
            .last_distinct(*keep, Some(build))
            .into_iter()
            .flat_map(|r| r.files.keys().map(String::as_str))
            .collect(),
        _ => BTreeSet::new(),
    };
    for step in plan.steps.iter_mut().filter(|s| s.action == Action::Delete) {
        let kept = match policy {
            DeletePolicy::All => None,
            DeletePolicy::Never => Some(KeptBecause::DeleteOff),
            DeletePolicy::Retain { keep, older_than } => {
                let window = older_than.unwrap_or_default().as_secs();
                let stopped = ledger.and_then(|l| l.stopped_live(&step.relative, now));
                if already_live {
                    Some(KeptBecause::AlreadyLive)
                } else if protected.contains(step.relative.as_str()) {
                    Some(KeptBecause::RecentRelease { keep: *keep })
                } else if let Some(stopped) = stopped {
                    let ago = u64::try_from(now.saturating_sub(stopped)).unwrap_or(0);
                    if ago < window {
                        Some(KeptBecause::TooRecent { ago, window })
                    } else {
                        step.reason = Reason::OrphanExpired {
                            keep: *keep,
                            ago,
                            window,
                        };
                        None
                    }
                } else {
                    Some(KeptBecause::NotRecorded)
                }
            }
        };
        if let Some(because) = kept {
            step.action = Action::KeepOrphan;
            step.reason = Reason::OrphanKept(because);
        }
    }
}

/// Why a deploy must not delete what it planned to, unless forced: more
/// than `max_deletes` (default: more than 1,000, or more than half of the
/// remote keys once past a handful).
pub fn guard(plan: &Plan, remote_count: usize, max_deletes: Option<usize>) -> Option<String> {
    let deletes = plan.with_action(Action::Delete).count();
    let limit = match max_deletes {
        Some(limit) => limit,
        None if deletes > SMALL_DELETE && deletes * 2 > remote_count => {
            return Some(format!(
                "it would delete {deletes} of the {remote_count} objects under the prefix, more than half"
            ))
        }
        None => MAX_DELETES,
    };
    (deletes > limit)
        .then(|| format!("it would delete {deletes} objects, more than the limit of {limit}"))
}

/// Why a deploy must not go ahead unless forced, whatever the count: it
/// would delete a page of the live site, or the build has no HTML page while
/// the live site has. Both are what a wrong folder looks like (a two-file
/// folder with `delete: true` once wiped a ten-file site, `index.html`
/// included), and a small site never trips [`guard`].
///
/// The live pages are the HTML files in the listing that the live release
/// recorded — all of them when no release is recorded. So a page an earlier
/// release dropped, which retention deletes later, does not count.
pub fn guard_entries(
    plan: &Plan,
    remote: &[RemoteObject],
    live: Option<&Release>,
) -> Option<String> {
    let live_pages: Vec<&str> = remote
        .iter()
        .map(|o| o.relative.as_str())
        .filter(|key| is_html(key))
        .filter(|key| live.is_none_or(|release| release.files.contains_key(*key)))
        .collect();
    if live_pages.is_empty() {
        return None;
    }
    let is_live: std::collections::HashSet<&str> = live_pages.iter().copied().collect();
    let deleted: Vec<&str> = plan
        .with_action(Action::Delete)
        .map(|s| s.relative.as_str())
        .filter(|key| is_live.contains(key))
        .collect();
    if !deleted.is_empty() {
        return Some(format!(
            "it would delete {} page(s) of the live site ({})",
            deleted.len(),
            first_few(&deleted)
        ));
    }
    let built_pages = plan
        .steps
        .iter()
        .any(|s| s.kind.is_some() && is_html(&s.relative));
    (!built_pages).then(|| {
        format!(
            "the build has no HTML page, but the live site has {} ({}) — is this the build folder?",
            live_pages.len(),
            first_few(&live_pages)
        )
    })
}

/// Up to three names, then how many more.
fn first_few(names: &[&str]) -> String {
    let shown = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    match names.len() {
        n if n > 3 => format!("{shown} and {} more", n - 3),
        _ => shown,
    }
}

/// The longest `olderThan`: ages are compared in signed seconds.
const MAX_DURATION_SECS: u64 = i64::MAX as u64;

/// Parses a duration such as `90s`, `30m`, `1h`, `7d`, `2w` or `1h30m`
/// (units: s, m, h, d, w). Zero in any unit is zero. The error says what is
/// wrong: not a duration, or too long to count in seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let not_a_duration = || {
        format!("'{text}' is not a duration: use a number and a unit (s, m, h, d, w), for example 90s, 30m, 1h, 7d or 1h30m")
    };
    let too_long = || {
        format!("'{text}' is too long: at most {MAX_DURATION_SECS} seconds (use 0s for no window)")
    };
    let mut total = 0u64;
    let mut number = String::new();
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(not_a_duration());
    }
    for c in trimmed.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(not_a_duration()),
        };
        if number.is_empty() {
            return Err(not_a_duration());
        }
        // Digits only, so the one failure left is a number past u64.
        let count: u64 = number.parse().map_err(|_| too_long())?;
        total = count
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .filter(|total| *total <= MAX_DURATION_SECS)
            .ok_or_else(too_long)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(not_a_duration());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{format_time, Entry, Release};
    use crate::local::FileKind;
    use crate::plan::Step;

    fn remote(relative: &str, modified: i64) -> RemoteObject {
        RemoteObject {
            relative: relative.into(),
            size: 1,
            e_tag: None,
            modified,
        }
    }

    fn orphan(relative: &str) -> Step {
        Step {
            relative: relative.into(),
            action: Action::Delete,
            reason: Reason::Orphan,
            size: 1,
            kind: None,
            local: None,
        }
    }

    fn release_at(id: &str, time: i64, keys: &[&str]) -> Release {
        let entry = || Entry {
            size: 1,
            md5: None,
            kind: FileKind::Hashed,
            e_tag: None,
            cache_control: None,
            headers: None,
            encoding: None,
        };
        Release {
            id: id.into(),
            time: format_time(time),
            version: String::new(),
            files: keys.iter().map(|k| (k.to_string(), entry())).collect(),
        }
    }

    fn release(id: &str, keys: &[&str]) -> Release {
        release_at(id, 0, keys)
    }

    fn ledger_of(releases: &[Release]) -> Ledger {
        let mut ledger = Ledger::default();
        for release in releases {
            // A roomy `keep`: these tests set the ledger up as they want it.
            ledger.commit(release.clone(), 100, |_| true);
        }
        ledger
    }

    fn plan_of(keys: &[&str]) -> Plan {
        Plan {
            steps: keys.iter().map(|k| orphan(k)).collect(),
        }
    }

    fn outcome(plan: &Plan) -> Vec<(String, Action, String)> {
        plan.steps
            .iter()
            .map(|s| (s.relative.clone(), s.action, s.reason.to_string()))
            .collect()
    }

    fn no_window(keep: usize) -> DeletePolicy {
        DeletePolicy::Retain {
            keep,
            older_than: Some(Duration::ZERO),
        }
    }

    #[test]
    fn the_previous_release_survives_and_older_ones_go() {
        let ledger = ledger_of(&[release("1", &["a1.js"]), release("2", &["a2.js"])]);
        let mut plan = plan_of(&["a1.js", "a2.js", "foreign.js"]);
        let build = release("3", &["a3.js"]);
        apply(&mut plan, Some(&ledger), &build, &no_window(2), 3 * 86_400);
        assert_eq!(
            outcome(&plan),
            [
                (
                    "a1.js".into(),
                    Action::Delete,
                    "orphan, goes: not in the last 2 releases, replaced 3 d ago, window 0s".into()
                ),
                (
                    "a2.js".into(),
                    Action::KeepOrphan,
                    "orphan, kept: in one of the last 2 releases".into()
                ),
                (
                    "foreign.js".into(),
                    Action::KeepOrphan,
                    "orphan, kept: no release recorded it (delete: true removes it)".into()
                ),
            ]
        );
    }

    /// Issue 12 §1: deploy A, deploy B, deploy B again.
    #[test]
    fn a_redeploy_of_the_live_release_deletes_nothing() {
        let ledger = ledger_of(&[
            release("a", &["index.html", "a.js"]),
            release("b", &["index.html", "b.js"]),
        ]);
        let mut plan = plan_of(&["a.js"]);
        let again = release("b-again", &["index.html", "b.js"]);
        apply(&mut plan, Some(&ledger), &again, &no_window(2), 1_000_000);
        assert_eq!(
            outcome(&plan),
            [(
                "a.js".into(),
                Action::KeepOrphan,
                "orphan, kept: this build is already live (retention runs with the next release)"
                    .into()
            )]
        );
    }

    #[test]
    fn keep_counts_distinct_releases() {
        // A ledger written before releases were deduplicated: B twice.
        let ledger = ledger_of(&[
            release("a", &["a.js"]),
            release("b", &["b.js"]),
            release("b2", &["b.js"]),
        ]);
        let mut plan = plan_of(&["a.js"]);
        apply(
            &mut plan,
            Some(&ledger),
            &release("c", &["c.js"]),
            &no_window(3),
            1_000_000,
        );
        assert_eq!(
            outcome(&plan)[0].2,
            "orphan, kept: in one of the last 3 releases",
            "C, B and A are the last 3 distinct releases"
        );
    }

    #[test]
    fn the_window_counts_from_when_an_orphan_stopped_being_live() {
        let ledger = ledger_of(&[
            release_at("1", 1_000, &["a.js"]),
            release_at("2", 5_000, &["b.js"]),
            release_at("3", 9_000, &["c.js"]),
        ]);
        let policy = DeletePolicy::Retain {
            keep: 1,
            older_than: Some(Duration::from_secs(3600)),
        };
        let build = release_at("4", 10_000, &["d.js"]);
        let mut plan = plan_of(&["a.js", "b.js", "c.js"]);
        apply(&mut plan, Some(&ledger), &build, &policy, 10_000);
        assert_eq!(
            outcome(&plan),
            [
                (
                    "a.js".into(),
                    Action::Delete,
                    "orphan, goes: not in the last 1 releases, replaced 1 h ago, window 1h".into()
                ),
                (
                    "b.js".into(),
                    Action::KeepOrphan,
                    "orphan, kept: replaced 16 min ago, window 1h".into()
                ),
                (
                    "c.js".into(),
                    Action::KeepOrphan,
                    "orphan, kept: replaced just now, window 1h".into()
                ),
            ]
        );
        // Applied again with the store's clock, 3 h behind a fast runner's:
        // only keeps more.
        let mut plan = plan_of(&["a.js", "b.js", "c.js"]);
        apply(&mut plan, Some(&ledger), &build, &policy, 10_000 + 3 * 3600);
        // c.js stops being live with this deploy, whatever the clock says.
        assert_eq!(plan.with_action(Action::Delete).count(), 2);
        apply(&mut plan, Some(&ledger), &build, &policy, 10_000);
        assert_eq!(
            plan.with_action(Action::Delete)
                .map(|s| s.relative.as_str())
                .collect::<Vec<_>>(),
            ["a.js"]
        );
    }

    #[test]
    fn the_default_keeps_two_releases_and_a_day() {
        let day = 86_400;
        let ledger = ledger_of(&[
            release_at("1", 0, &["a.js"]),
            release_at("2", day, &["b.js"]),
            release_at("3", 10 * day + 60, &["c.js"]),
        ]);
        let build = release_at("4", 10 * day + 120, &["d.js"]);
        let mut plan = plan_of(&["a.js", "b.js", "c.js"]);
        apply(
            &mut plan,
            Some(&ledger),
            &build,
            &DeletePolicy::default(),
            10 * day + 120,
        );
        let actions: Vec<Action> = plan.steps.iter().map(|s| s.action).collect();
        // a.js: replaced 9 days ago; b.js: replaced a minute ago (two quick
        // deploys in a row); c.js: in the previous release.
        assert_eq!(
            actions,
            [Action::Delete, Action::KeepOrphan, Action::KeepOrphan]
        );
        assert_eq!(
            plan.steps[1].reason.to_string(),
            "orphan, kept: replaced 1 min ago, window 24h"
        );
    }

    #[test]
    fn retired_keys_keep_the_time_they_stopped_being_live() {
        let mut ledger = Ledger::default();
        ledger.commit(release_at("1", 1_000, &["a.js"]), 1, |_| true);
        ledger.commit(release_at("2", 2_000, &["b.js"]), 1, |_| true);
        ledger.commit(release_at("3", 50_000, &["c.js"]), 1, |_| true);
        assert_eq!(ledger.releases.len(), 1);
        assert_eq!(ledger.stopped_live("a.js", 60_000), Some(2_000));
        assert_eq!(ledger.stopped_live("b.js", 60_000), Some(50_000));
        assert_eq!(ledger.stopped_live("c.js", 60_000), Some(60_000));
        assert_eq!(ledger.stopped_live("foreign.js", 60_000), None);
    }

    #[test]
    fn without_a_ledger_nothing_is_deleted_unless_delete_is_true() {
        let build = release("1", &[]);
        let mut plan = plan_of(&["x.js"]);
        apply(&mut plan, None, &build, &DeletePolicy::default(), 0);
        assert_eq!(plan.steps[0].action, Action::KeepOrphan);
        let mut all = plan_of(&["x.js"]);
        apply(&mut all, None, &build, &DeletePolicy::All, 0);
        assert_eq!(all.steps[0].action, Action::Delete);
        assert_eq!(all.steps[0].reason.to_string(), "orphan");
        let mut never = plan_of(&["x.js"]);
        apply(&mut never, None, &build, &DeletePolicy::Never, 0);
        assert_eq!(
            never.steps[0].reason.to_string(),
            "orphan, kept: delete is off"
        );
    }

    #[test]
    fn the_guard_stops_mass_deletes() {
        let plan = |n: usize| Plan {
            steps: (0..n).map(|i| orphan(&format!("k{i}"))).collect(),
        };
        assert!(
            guard(&plan(5), 6, None).is_none(),
            "a handful never trips it"
        );
        assert!(guard(&plan(11), 40, None).is_none());
        assert!(guard(&plan(11), 20, None)
            .unwrap()
            .contains("more than half"));
        assert!(guard(&plan(1001), 100_000, None)
            .unwrap()
            .contains("limit of 1000"));
        assert!(guard(&plan(3), 100, Some(2))
            .unwrap()
            .contains("limit of 2"));
    }

    fn built(relative: &str) -> Step {
        Step {
            relative: relative.into(),
            action: Action::Upload,
            reason: Reason::New,
            size: 1,
            kind: Some(FileKind::Other),
            local: None,
        }
    }

    #[test]
    fn the_live_pages_are_guarded_whatever_the_count() {
        let store: Vec<RemoteObject> = ["a.js", "about.html", "index.html", "old.html"]
            .iter()
            .map(|k| remote(k, 0))
            .collect();
        // A two-file folder with delete: true, against a four-file site.
        let wrong = Plan {
            steps: vec![
                built("x.txt"),
                built("y.txt"),
                orphan("a.js"),
                orphan("about.html"),
                orphan("index.html"),
                orphan("old.html"),
            ],
        };
        let why = guard_entries(&wrong, &store, None).unwrap();
        assert_eq!(
            why,
            "it would delete 3 page(s) of the live site (about.html, index.html, old.html)"
        );
        // The same folder with deletes kept: still no page in the build.
        let mut kept = wrong.clone();
        for step in kept.steps.iter_mut().filter(|s| s.kind.is_none()) {
            step.action = Action::KeepOrphan;
        }
        let why = guard_entries(&kept, &store, None).unwrap();
        assert!(
            why.starts_with("the build has no HTML page, but the live site has 3 (about.html, index.html, old.html)"),
            "{why}"
        );
        // Only pages of the live release count: old.html went out earlier.
        let live = release("2", &["index.html", "about.html", "a.js"]);
        let mut retired = Plan {
            steps: vec![built("index.html"), built("about.html"), orphan("old.html")],
        };
        assert_eq!(guard_entries(&retired, &store, Some(&live)), None);
        retired.steps[1] = orphan("about.html");
        assert!(guard_entries(&retired, &store, Some(&live))
            .unwrap()
            .contains("1 page(s) of the live site (about.html)"));
        // An empty store, or one without pages, has nothing to guard.
        assert_eq!(guard_entries(&kept, &[], None), None);
        assert_eq!(guard_entries(&kept, &[remote("a.js", 0)], None), None);
        assert_eq!(first_few(&["a", "b", "c", "d", "e"]), "a, b, c and 2 more");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(1_209_600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0h"), Ok(Duration::ZERO), "0h is 0s");
        assert_eq!(parse_duration("0d0m"), Ok(Duration::ZERO));
        for bad in ["90", "1y", "", "h", "1h 30m", "-1h"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains("is not a duration"), "{bad}: {error}");
        }
        // Issue 13 item 13: these wrapped around or deleted at once.
        for huge in [
            "10000000000000000000s",
            "213503982334602d",
            "99999999999999999999999s",
            "9223372036854775807s1s",
        ] {
            let error = parse_duration(huge).unwrap_err();
            assert!(error.contains("is too long"), "{huge}: {error}");
        }
        assert_eq!(
            parse_duration("9223372036854775807s"),
            Ok(Duration::from_secs(i64::MAX as u64))
        );
    }
}
