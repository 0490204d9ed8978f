//! Header repair: which unchanged objects are written again because the
//! headers the rules give differ from those the ledger recorded, and what
//! each key of the new release records. The decision itself is
//! [`crate::plan::repair_headers`] (pure); this module feeds it the rules'
//! fingerprints and the ledger's.

use std::collections::HashMap;

use crate::headers::{HeaderRules, ObjectHeaders};
use crate::ledger::{Ledger, Release};
use crate::local::LocalFile;
use crate::plan::{Action, Plan};

/// The header fingerprint the ledger knows for each key: the one the newest
/// kept release with the key recorded (`None`: unknown). Releases carry it
/// forward for the files they did not write, so the newest one is the
/// store's.
pub fn recorded(ledger: Option<&Ledger>) -> HashMap<&str, Option<&str>> {
    let mut known = HashMap::new();
    for release in ledger.into_iter().flat_map(|l| l.releases.iter().rev()) {
        for (key, entry) in &release.files {
            known
                .entry(key.as_str())
                .or_insert(entry.headers.as_deref());
        }
    }
    known
}

/// Plans the header repairs of a deploy and records in `build` the
/// headers each key will be stored with: the rules' for what it uploads,
/// what the ledger knew for the rest. See [`crate::plan::repair_headers`];
/// a store that keeps no headers (`file://`) records none and repairs none.
///
/// Returns a note when a rule change is being applied but some files were
/// left alone because their stored headers are unknown: the user expects
/// the change everywhere, and `repairHeaders` is what gives it.
pub fn repair(
    plan: &mut Plan,
    build: &mut Release,
    local: &[LocalFile],
    rules: &HeaderRules,
    ledger: Option<&Ledger>,
    store_keeps_headers: bool,
    repair_unknown: bool,
) -> Option<String> {
    let wanted: Vec<Box<str>> = if store_keeps_headers {
        local
            .iter()
            .map(|file| {
                ObjectHeaders::for_file(&file.relative, file.kind, rules)
                    .fingerprint()
                    .into()
            })
            .collect()
    } else {
        Vec::new()
    };
    let known = recorded(ledger);
    let stored = |key: &str| known.get(key).copied().flatten();
    let unknown = crate::plan::repair_headers(
        plan,
        |index| wanted.get(index).map(|w| &**w),
        stored,
        repair_unknown,
    );
    for step in &plan.steps {
        let (Some(index), Some(entry)) = (step.local, build.files.get_mut(&step.relative)) else {
            continue;
        };
        entry.headers = match step.action {
            Action::Upload => wanted.get(index).cloned(),
            _ if store_keeps_headers => stored(&step.relative).map(Box::from),
            _ => None,
        };
    }
    let changed = plan
        .with_action(Action::Upload)
        .filter(|s| s.reason == crate::plan::Reason::HeadersChanged)
        .count();
    (changed > 0 && unknown > 0).then(|| format!(
        "{changed} file(s) rewritten for new headers, but {unknown} unchanged file(s) were stored before the ledger recorded headers and keep theirs: repairHeaders: true (--repair-headers) rewrites them once"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::shorthand;
    use crate::local::FileKind;

    #[test]
    fn the_release_records_the_headers_each_key_will_have() {
        let file = |relative: &str, kind| LocalFile {
            relative: relative.into(),
            path: relative.into(),
            size: 1,
            kind,
            md5: (kind != FileKind::Hashed).then_some([1; 16]),
        };
        let local = [
            file("index.html", FileKind::Entry),
            file("robots.txt", FileKind::Other),
            file("new.txt", FileKind::Other),
        ];
        let listed = |relative: &str| crate::remote::RemoteObject {
            relative: relative.into(),
            size: 1,
            e_tag: Some(format!("\"{}\"", "01".repeat(16))),
            modified: 0,
        };
        let remote = [listed("index.html"), listed("robots.txt")];
        let rules = HeaderRules::new(&shorthand(&[("*.txt".into(), "private".into())])).unwrap();
        let want =
            |relative: &str, kind| ObjectHeaders::for_file(relative, kind, &rules).fingerprint();
        // The live release knew index.html's headers (the rules' ones), not robots.txt's.
        let mut live = crate::commit::new_release(chrono::Utc::now(), &local[..2], &rules);
        live.files.get_mut("index.html").unwrap().headers =
            Some(want("index.html", FileKind::Entry).into());
        let ledger = Ledger {
            releases: vec![live],
            ..Default::default()
        };
        let planned = || crate::plan::plan(&local, &remote, &HashMap::new(), true);

        let mut plan = planned();
        let mut build = crate::commit::new_release(chrono::Utc::now(), &local, &rules);
        let note = repair(
            &mut plan,
            &mut build,
            &local,
            &rules,
            Some(&ledger),
            true,
            false,
        );
        assert_eq!(note, None, "no rule change: nothing to say");
        let recorded =
            |build: &Release, key: &str| build.files[key].headers.as_deref().map(String::from);
        assert_eq!(
            recorded(&build, "index.html"),
            Some(want("index.html", FileKind::Entry)),
            "unchanged: as the ledger knew it"
        );
        assert_eq!(
            recorded(&build, "robots.txt"),
            None,
            "unchanged and unknown: still unknown"
        );
        assert_eq!(
            recorded(&build, "new.txt"),
            Some(want("new.txt", FileKind::Other)),
            "uploaded: the rules'"
        );

        let mut plan = planned();
        let mut build = crate::commit::new_release(chrono::Utc::now(), &local, &rules);
        repair(
            &mut plan,
            &mut build,
            &local,
            &rules,
            Some(&ledger),
            true,
            true,
        );
        assert_eq!(
            recorded(&build, "robots.txt"),
            Some(want("robots.txt", FileKind::Other)),
            "repaired: the rules'"
        );

        let mut plan = planned();
        let mut build = crate::commit::new_release(chrono::Utc::now(), &local, &rules);
        repair(
            &mut plan,
            &mut build,
            &local,
            &rules,
            Some(&ledger),
            false,
            true,
        );
        assert!(
            build.files.values().all(|e| e.headers.is_none()),
            "file:// keeps none"
        );
        assert_eq!(plan, planned());

        // A rule change for index.html, robots.txt unknown: said, with the fix.
        let changed = HeaderRules::new(&shorthand(&[("*.html".into(), "private".into())])).unwrap();
        let mut plan = planned();
        let mut build = crate::commit::new_release(chrono::Utc::now(), &local, &changed);
        let note = repair(
            &mut plan,
            &mut build,
            &local,
            &changed,
            Some(&ledger),
            true,
            false,
        )
        .unwrap();
        assert!(
            note.starts_with("1 file(s) rewritten for new headers, but 1 unchanged file(s)"),
            "{note}"
        );
        assert!(note.contains("--repair-headers"), "{note}");
    }
}
