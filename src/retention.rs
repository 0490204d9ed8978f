//! Which orphans a deploy may delete, and the guard against mass deletion.
//!
//! Deleting every orphan right after an upload breaks browser tabs still
//! running the previous HTML: their lazy chunks 404. So by default an orphan
//! is kept while one of the last releases references it, and a key no release
//! of vite-deploy ever recorded (uploaded by another tool) is never deleted
//! silently. Pure: it edits a [`Plan`] and does no I/O.

use std::time::Duration;

use crate::ledger::{Ledger, Release};
use crate::local::is_html;
use crate::plan::{Action, KeptBecause, Plan, Reason};
use crate::remote::RemoteObject;

/// Releases whose files survive by default: the live one and the previous.
pub const DEFAULT_KEEP: usize = 2;

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
    /// Delete an orphan only when none of the newest `keep` releases (the one
    /// being deployed included) references it, a release did record it, and
    /// it was written at least `older_than` ago.
    Retain {
        /// Releases whose files are kept, at least 1.
        keep: usize,
        /// Minimum age of an orphan before it is deleted.
        older_than: Option<Duration>,
    },
}

impl Default for DeletePolicy {
    fn default() -> Self {
        DeletePolicy::Retain {
            keep: DEFAULT_KEEP,
            older_than: None,
        }
    }
}

impl DeletePolicy {
    /// How many releases the ledger keeps.
    pub fn releases_kept(&self) -> usize {
        match self {
            DeletePolicy::Retain { keep, .. } => (*keep).max(1),
            DeletePolicy::Never | DeletePolicy::All => DEFAULT_KEEP,
        }
    }
}

/// Turns the plan's deletes into keeps where the policy says so.
/// `now` is in seconds since the epoch, as [`RemoteObject::modified`].
pub fn apply(
    plan: &mut Plan,
    remote: &[RemoteObject],
    ledger: Option<&Ledger>,
    policy: &DeletePolicy,
    now: i64,
) {
    let modified: std::collections::HashMap<&str, i64> = remote
        .iter()
        .map(|o| (o.relative.as_str(), o.modified))
        .collect();
    let recent = match (policy, ledger) {
        // The release being deployed is one of the `keep`; the ledger holds the others.
        (DeletePolicy::Retain { keep, .. }, Some(ledger)) => {
            ledger.referenced_by_last(keep.saturating_sub(1))
        }
        _ => Default::default(),
    };
    for step in plan.steps.iter_mut().filter(|s| s.action == Action::Delete) {
        let kept = match policy {
            DeletePolicy::All => None,
            DeletePolicy::Never => Some(KeptBecause::DeleteOff),
            DeletePolicy::Retain { keep, older_than } => {
                let age = now - modified.get(step.relative.as_str()).copied().unwrap_or(now);
                if recent.contains(step.relative.as_str()) {
                    Some(KeptBecause::RecentRelease { keep: *keep })
                } else if !ledger.is_some_and(|l| l.knows(&step.relative)) {
                    Some(KeptBecause::NotRecorded)
                } else if older_than.is_some_and(|min| age < min.as_secs() as i64) {
                    Some(KeptBecause::TooRecent {
                        older_than: older_than.unwrap_or_default(),
                    })
                } else {
                    None
                }
            }
        };
        if let Some(because) = kept {
            step.action = Action::Keep;
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

/// Parses a duration such as `90s`, `30m`, `1h`, `7d` or `1h30m`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        // Checked: an overflow would panic, or wrap to a short duration.
        total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(unit)?)?;
        number.clear();
    }
    if !number.is_empty() {
        return None;
    }
    // Ages are compared as i64 seconds: a larger value would turn negative.
    let fits = i64::try_from(total).is_ok();
    (fits && (total > 0 || text.trim() == "0s")).then(|| Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Entry, Release};
    use crate::local::FileKind;
    use crate::plan::Step;

    fn orphan(relative: &str) -> Step {
        Step {
            relative: relative.into(),
            action: Action::Delete,
            reason: Reason::Orphan,
            size: 1,
            kind: None,
        }
    }

    fn remote(relative: &str, modified: i64) -> RemoteObject {
        RemoteObject {
            relative: relative.into(),
            size: 1,
            e_tag: None,
            modified,
        }
    }

    fn release(id: &str, keys: &[&str]) -> Release {
        let entry = || Entry {
            size: 1,
            md5: None,
            kind: FileKind::Hashed,
        };
        Release {
            id: id.into(),
            time: String::new(),
            version: String::new(),
            files: keys.iter().map(|k| (k.to_string(), entry())).collect(),
        }
    }

    fn outcome(plan: &Plan) -> Vec<(String, Action, String)> {
        plan.steps
            .iter()
            .map(|s| (s.relative.clone(), s.action, s.reason.to_string()))
            .collect()
    }

    #[test]
    fn the_previous_release_survives_and_older_ones_go() {
        let mut ledger = Ledger::default();
        ledger.commit(release("1", &["a1.js"]), 2, |_| true);
        ledger.commit(release("2", &["a2.js"]), 2, |_| true);
        let mut plan = Plan {
            steps: vec![orphan("a1.js"), orphan("a2.js"), orphan("foreign.js")],
        };
        let store = [
            remote("a1.js", 0),
            remote("a2.js", 0),
            remote("foreign.js", 0),
        ];
        apply(
            &mut plan,
            &store,
            Some(&ledger),
            &DeletePolicy::default(),
            1_000,
        );
        assert_eq!(
            outcome(&plan),
            [
                ("a1.js".into(), Action::Delete, "orphan".into()),
                (
                    "a2.js".into(),
                    Action::Keep,
                    "orphan, kept: in one of the last 2 releases".into()
                ),
                (
                    "foreign.js".into(),
                    Action::Keep,
                    "orphan, kept: no release recorded it (delete: true removes it)".into()
                ),
            ]
        );
    }

    #[test]
    fn older_than_holds_recent_orphans_back() {
        let mut ledger = Ledger::default();
        ledger.commit(release("1", &["old.js", "fresh.js"]), 2, |_| true);
        ledger.commit(release("2", &["x.js"]), 2, |_| true);
        ledger.commit(release("3", &["y.js"]), 2, |_| true);
        let mut plan = Plan {
            steps: vec![orphan("fresh.js"), orphan("old.js")],
        };
        let policy = DeletePolicy::Retain {
            keep: 2,
            older_than: Some(Duration::from_secs(3600)),
        };
        apply(
            &mut plan,
            &[remote("fresh.js", 9_000), remote("old.js", 1_000)],
            Some(&ledger),
            &policy,
            10_000,
        );
        assert_eq!(plan.steps[0].action, Action::Keep);
        assert_eq!(
            plan.steps[0].reason.to_string(),
            "orphan, kept: written less than 3600 s ago"
        );
        assert_eq!(plan.steps[1].action, Action::Delete);
    }

    #[test]
    fn without_a_ledger_nothing_is_deleted_unless_delete_is_true() {
        let mut plan = Plan {
            steps: vec![orphan("x.js")],
        };
        apply(
            &mut plan,
            &[remote("x.js", 0)],
            None,
            &DeletePolicy::default(),
            0,
        );
        assert_eq!(plan.steps[0].action, Action::Keep);
        let mut all = Plan {
            steps: vec![orphan("x.js")],
        };
        apply(&mut all, &[remote("x.js", 0)], None, &DeletePolicy::All, 0);
        assert_eq!(all.steps[0].action, Action::Delete);
        let mut never = Plan {
            steps: vec![orphan("x.js")],
        };
        apply(&mut never, &[], None, &DeletePolicy::Never, 0);
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
            step.action = Action::Keep;
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
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("90"), None);
        assert_eq!(parse_duration("1y"), None);
    }
}
