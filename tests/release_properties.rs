//! Properties of releases and retention over random sequences of deploys,
//! redeploys, interrupted deploys and rollbacks (issue 12 §1, issue 13 item 7).
//!
//! A model store holds each key's content and the ETag it shows. Each step
//! runs the pure parts of a deploy in `deploy()`'s order: the ledger's
//! trusted MD5s, the reads the planner asks for, the plan, retention, the
//! uploads, the ledger, then the deletes. A rollback does what `rollback()`
//! does. After every step:
//! - every hashed asset of the last `keep` distinct recorded releases, and of
//!   every release live within the window, is in the store (retention
//!   settings fixed per sequence);
//! - the live HTML's assets are all in the store;
//! - after a deploy that finished, the live HTML is that build's;
//! - the ledger never holds the same release twice in a row.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use proptest::prelude::*;
use vite_deploy::ledger::{format_time, hex, Entry, Ledger, Release};
use vite_deploy::local::{classify, FileKind, LocalFile};
use vite_deploy::plan::{needs_remote_md5, plan, Action};
use vite_deploy::remote::{ledger_md5s, RemoteObject};
use vite_deploy::retention::{apply, DeletePolicy};

/// What a file holds: a size and an identifier of its bytes; its MD5 stands
/// in as 16 copies of the id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Content {
    size: u64,
    id: u8,
}

impl Content {
    fn md5(self) -> [u8; 16] {
        [self.id; 16]
    }
}

/// The hashed assets build `b` references from its HTML: its own entry
/// chunk, one shared with every other build of the same parity, and a
/// vendor chunk every build shares.
fn assets(b: u8) -> Vec<String> {
    vec![
        format!("assets/entry-B{b}000000.js"),
        format!("assets/shared-S{}000000.js", b % 2),
        "assets/vendor-V0000000.js".to_string(),
    ]
}

/// Build `b`: its assets, an `index.html` of the same size in every build
/// (a same-size change), an unchanged `robots.txt` and a page some builds
/// have.
fn build(b: u8) -> BTreeMap<String, Content> {
    let mut files: BTreeMap<String, Content> = assets(b)
        .into_iter()
        .map(|key| (key, Content { size: 7, id: 100 }))
        .collect();
    files.insert("index.html".into(), Content { size: 10, id: b });
    files.insert("robots.txt".into(), Content { size: 3, id: 200 });
    if b.is_multiple_of(3) {
        files.insert(
            "about.html".into(),
            Content {
                size: 4,
                id: 50 + b,
            },
        );
    }
    files
}

#[derive(Debug, Clone)]
enum Step {
    /// Deploy build `b` after `wait` seconds; `interrupted`: killed between
    /// the last upload and the ledger write.
    Deploy { b: u8, wait: i64, interrupted: bool },
    /// Roll back to the release before the live one.
    Rollback { wait: i64 },
}

fn step() -> impl Strategy<Value = Step> {
    let wait = prop::sample::select(vec![0i64, 60, 3_600, 2 * 86_400]);
    prop_oneof![
        6 => (0u8..4, wait.clone(), prop::bool::weighted(0.15))
            .prop_map(|(b, wait, interrupted)| Step::Deploy { b, wait, interrupted }),
        1 => wait.prop_map(|wait| Step::Rollback { wait }),
    ]
}

struct Model {
    /// key → (content, ETag the store shows).
    store: BTreeMap<String, (Content, String)>,
    ledger: Option<Ledger>,
    etag_is_md5: bool,
    writes: u64,
    now: i64,
    /// Release id → build.
    builds: HashMap<String, u8>,
    /// Builds of the recorded releases with the time each went live, in
    /// order, redeploys of the live one included (they record nothing but
    /// are live again).
    history: Vec<(u8, i64)>,
}

impl Model {
    fn write(&mut self, key: &str, content: Content) {
        self.writes += 1;
        let e_tag = if self.etag_is_md5 {
            format!("\"{}\"", hex(&content.md5()))
        } else {
            format!("\"w{}\"", self.writes)
        };
        self.store.insert(key.to_string(), (content, e_tag));
    }

    fn listing(&self) -> Vec<RemoteObject> {
        self.store
            .iter()
            .map(|(key, (content, e_tag))| RemoteObject {
                relative: key.clone(),
                size: content.size,
                e_tag: Some(e_tag.clone()),
                modified: 0,
            })
            .collect()
    }

    fn deploy(&mut self, b: u8, interrupted: bool, policy: &DeletePolicy) {
        let files = build(b);
        let local: Vec<LocalFile> = files
            .iter()
            .map(|(key, content)| {
                let kind = classify(key);
                LocalFile {
                    relative: key.clone(),
                    path: key.into(),
                    size: content.size,
                    kind,
                    md5: (kind != FileKind::Hashed).then(|| content.md5()),
                }
            })
            .collect();
        let remote = self.listing();
        let latest = self.ledger.as_ref().and_then(Ledger::latest);
        let mut md5s = ledger_md5s(latest, &remote, self.etag_is_md5);
        for key in needs_remote_md5(&local, &remote, self.etag_is_md5) {
            md5s.entry(key.clone())
                .or_insert_with(|| self.store[&key].0.md5());
        }
        let mut plan = plan(&local, &remote, &md5s, self.etag_is_md5);
        let mut release = Release {
            id: format!("r{}", self.builds.len()),
            time: format_time(self.now),
            version: "test".into(),
            files: local
                .iter()
                .map(|f| {
                    let entry = Entry {
                        size: f.size,
                        md5: f.md5.map(|m| hex(&m).into()),
                        kind: f.kind,
                        e_tag: None,
                        cache_control: None,
                        headers: None,
                        encoding: None,
                    };
                    (f.relative.clone(), entry)
                })
                .collect(),
        };
        apply(&mut plan, self.ledger.as_ref(), &release, policy, self.now);
        for step in plan.with_action(Action::Upload) {
            self.write(&step.relative, files[&step.relative]);
        }
        if interrupted {
            return;
        }
        for (key, entry) in release.files.iter_mut() {
            if entry.md5.is_some() {
                entry.e_tag = Some(self.store[key].1.as_str().into());
            }
        }
        let stored: BTreeSet<String> = remote.iter().map(|o| o.relative.clone()).collect();
        let next = Ledger::next(
            self.ledger.as_ref(),
            release.clone(),
            policy.releases_kept(),
            |key| stored.contains(key),
        );
        if let Some(next) = next {
            self.builds.insert(release.id.clone(), b);
            self.ledger = Some(next);
        }
        self.history.push((b, self.now));
        for step in plan.with_action(Action::Delete) {
            self.store.remove(&step.relative);
        }
    }

    fn rollback(&mut self) {
        let Some(ledger) = self.ledger.as_mut() else {
            return;
        };
        let Some(target) = ledger.release_before_latest_or(None).cloned() else {
            return;
        };
        let missing = target
            .files
            .iter()
            .any(|(key, e)| e.kind == FileKind::Hashed && !self.store.contains_key(key));
        if missing {
            return; // rollback() refuses
        }
        let b = self.builds[&target.id];
        let listing: BTreeSet<String> = self.store.keys().cloned().collect();
        let mut again = target.clone();
        again.id = format!("r{}", self.builds.len());
        again.time = format_time(self.now);
        let keep = ledger
            .distinct_count()
            .max(vite_deploy::retention::DEFAULT_KEEP);
        ledger.commit(again.clone(), keep, |key| listing.contains(key));
        self.builds.insert(again.id, b);
        for (key, content) in build(b) {
            if classify(&key) != FileKind::Hashed {
                self.write(&key, content);
            }
        }
        self.history.push((b, self.now));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn retention_never_breaks_a_recent_release_and_the_store_is_the_truth(
        steps in prop::collection::vec(step(), 1..14),
        keep in 1usize..4,
        window in prop::sample::select(vec![0u64, 3_600, 86_400]),
        delete_all in prop::bool::weighted(0.2),
        etag_is_md5 in any::<bool>(),
    ) {
        let policy = if delete_all {
            DeletePolicy::All
        } else {
            DeletePolicy::Retain { keep, older_than: Some(Duration::from_secs(window)) }
        };
        let mut model = Model {
            store: BTreeMap::new(),
            ledger: None,
            etag_is_md5,
            writes: 0,
            now: 1_800_000_000,
            builds: HashMap::new(),
            history: Vec::new(),
        };
        for (n, step) in steps.iter().enumerate() {
            match *step {
                Step::Deploy { b, wait, interrupted } => {
                    model.now += wait;
                    model.deploy(b, interrupted, &policy);
                    if !interrupted {
                        prop_assert_eq!(
                            model.store["index.html"].0.id, b,
                            "step {}: after deploying build {} another build's HTML is live", n, b
                        );
                    }
                }
                Step::Rollback { wait } => {
                    model.now += wait;
                    model.rollback();
                }
            }
            let Some((live, _)) = model.store.get("index.html") else { continue };
            let live = live.id;
            for asset in assets(live) {
                prop_assert!(
                    model.store.contains_key(&asset),
                    "step {}: the live HTML (build {}) references {}, which is gone", n, live, asset
                );
            }
            if !delete_all {
                // Live less than `window` ago: every build whose successor
                // went live within the window, and the live one.
                let stops = model.history.iter().skip(1).map(|(_, t)| *t).map(Some).chain([None]);
                for ((b, _), stopped) in model.history.iter().zip(stops) {
                    if stopped.is_some_and(|t| model.now - t >= window as i64) {
                        continue;
                    }
                    for asset in assets(*b) {
                        prop_assert!(
                            model.store.contains_key(&asset),
                            "step {}: {} of build {}, live {:?} s ago (window {} s), is gone ({:?})",
                            n, asset, b, stopped.map(|t| model.now - t), window, model.history
                        );
                    }
                }
                let mut distinct: Vec<u8> = Vec::new();
                for (b, _) in model.history.iter().rev() {
                    if distinct.len() == keep { break; }
                    if !distinct.contains(b) { distinct.push(*b); }
                }
                for b in distinct {
                    for asset in assets(b) {
                        prop_assert!(
                            model.store.contains_key(&asset),
                            "step {}: {} of build {}, one of the last {} distinct releases ({:?}), is gone",
                            n, asset, b, keep, model.history
                        );
                    }
                }
            }
            if let Some(ledger) = &model.ledger {
                for pair in ledger.releases.windows(2) {
                    prop_assert!(
                        !pair[0].same_files(&pair[1]),
                        "step {}: {} and {} are the same release in a row", n, pair[0].id, pair[1].id
                    );
                }
            }
        }
    }
}
