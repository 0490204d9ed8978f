//! Properties of the planner over arbitrary local and remote trees.
//!
//! Keys come from a small alphabet of path segments, so local and remote
//! trees share many keys and every branch of the diff (new, size differs,
//! content differs, unchanged, orphan) is hit in most cases. The expected plan
//! is computed by a model that knows each remote object's true content, and
//! the planner only sees what a store would show it: sizes, ETags that may
//! or may not be MD5s, and the remote MD5s it asked for with
//! `needs_remote_md5`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use proptest::prelude::*;
use vite_deploy::ledger::Release;
use vite_deploy::local::{classify, FileKind, LocalFile};
use vite_deploy::plan::{needs_remote_md5, plan, Action, Plan, Reason};
use vite_deploy::remote::RemoteObject;
use vite_deploy::retention::{self, DeletePolicy};

/// Segments chosen to produce every file kind: hashed assets (`-3fA9c1xZ`,
/// `.1a2b3c4d`, source maps), entries (`.html`, the manifest under `.vite`)
/// and other files, plus names that only differ by a space or a suffix.
const SEGMENTS: &[&str] = &[
    "a",
    "a b",
    "ü",
    ".vite",
    "assets",
    "index.html",
    "manifest.json",
    "robots.txt",
    "x-3fA9c1xZ.js",
    "x-3fA9c1xZ.js.map",
    "y.1a2b3c4d.css",
];

/// What a file holds: its size and an identifier of its bytes. Two contents
/// are equal when both are, and the MD5 stands in as 16 copies of the id.
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

/// The ETag a store shows for an object.
#[derive(Debug, Clone, Copy)]
enum ETag {
    /// S3 and GCS single-part uploads: the hex MD5 of the content.
    Md5,
    /// S3 multipart uploads (`-N`), Azure, local files: not a content hash.
    Opaque,
    /// No ETag at all.
    Missing,
}

fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SEGMENTS), 1..=3).prop_map(|parts| parts.join("/"))
}

fn content() -> impl Strategy<Value = Content> {
    // Few sizes and ids, so "same size, different content" is common.
    (0u64..3, 0u8..3).prop_map(|(size, id)| Content { size, id })
}

fn etag() -> impl Strategy<Value = ETag> {
    prop_oneof![Just(ETag::Md5), Just(ETag::Opaque), Just(ETag::Missing)]
}

fn local_tree() -> impl Strategy<Value = BTreeMap<String, Content>> {
    prop::collection::btree_map(key(), content(), 0..24)
}

fn remote_tree() -> impl Strategy<Value = BTreeMap<String, (Content, ETag)>> {
    prop::collection::btree_map(key(), (content(), etag()), 0..24)
}

fn local_files(tree: &BTreeMap<String, Content>) -> Vec<LocalFile> {
    tree.iter()
        .map(|(relative, content)| {
            let kind = classify(relative);
            LocalFile {
                relative: relative.clone(),
                path: relative.into(),
                size: content.size,
                kind,
                // As the scan does: hashed assets are compared by size only.
                md5: (kind != FileKind::Hashed).then(|| content.md5()),
            }
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn remote_objects(tree: &BTreeMap<String, (Content, ETag)>) -> Vec<RemoteObject> {
    tree.iter()
        .map(|(relative, (content, etag))| RemoteObject {
            relative: relative.clone(),
            size: content.size,
            e_tag: match etag {
                ETag::Md5 => Some(format!("\"{}\"", hex(&content.md5()))),
                ETag::Opaque => Some(format!("\"{}-2\"", hex(&content.md5()))),
                ETag::Missing => None,
            },
            modified: 0,
        })
        .collect()
}

/// Runs the planner as `deploy()` does: ask which remote contents must be
/// hashed, "read" exactly those, plan, then apply the delete policy.
fn run_planner(
    local: &BTreeMap<String, Content>,
    remote: &BTreeMap<String, (Content, ETag)>,
    etag_is_md5: bool,
    delete: bool,
) -> (Plan, Vec<String>) {
    let files = local_files(local);
    let objects = remote_objects(remote);
    let to_read = needs_remote_md5(&files, &objects, etag_is_md5);
    let fetched: HashMap<String, [u8; 16]> = to_read
        .iter()
        .map(|relative| (relative.clone(), remote[relative].0.md5()))
        .collect();
    let mut plan = plan(&files, &objects, &fetched, etag_is_md5);
    let build = Release {
        id: "build".into(),
        time: String::new(),
        version: String::new(),
        files: BTreeMap::new(),
    };
    let policy = if delete {
        DeletePolicy::All
    } else {
        DeletePolicy::Never
    };
    retention::apply(&mut plan, None, &build, &policy, 0);
    (plan, to_read)
}

/// The keys whose remote copy differs from the build: absent, another size,
/// or (for files not named by their content) other bytes.
fn expected_uploads(
    local: &BTreeMap<String, Content>,
    remote: &BTreeMap<String, (Content, ETag)>,
) -> BTreeSet<String> {
    local
        .iter()
        .filter(|(relative, content)| match remote.get(*relative) {
            None => true,
            Some((stored, _)) if stored.size != content.size => true,
            Some(_) if classify(relative) == FileKind::Hashed => false,
            Some((stored, _)) => stored.id != content.id,
        })
        .map(|(relative, _)| relative.clone())
        .collect()
}

fn keys_with(plan: &Plan, action: Action) -> BTreeSet<String> {
    plan.with_action(action)
        .map(|s| s.relative.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn uploads_exactly_the_missing_and_changed_keys(
        local in local_tree(), remote in remote_tree(), etag_is_md5 in any::<bool>(), delete in any::<bool>(),
    ) {
        let (plan, _) = run_planner(&local, &remote, etag_is_md5, delete);
        let uploads = keys_with(&plan, Action::Upload);
        prop_assert_eq!(&uploads, &expected_uploads(&local, &remote));
        let skips = keys_with(&plan, Action::Unchanged);
        let local_keys: BTreeSet<String> = local.keys().cloned().collect();
        prop_assert_eq!(skips, local_keys.difference(&uploads).cloned().collect::<BTreeSet<_>>());
        for step in plan.with_action(Action::Upload) {
            let expected_reason = match remote.get(&step.relative) {
                None => Reason::New,
                Some((stored, _)) if stored.size != step.size => Reason::SizeDiffers { local: step.size, remote: stored.size },
                Some(_) => Reason::ContentDiffers,
            };
            prop_assert_eq!(step.reason, expected_reason, "{}", step.relative);
            prop_assert_eq!(step.size, local[&step.relative].size);
            prop_assert_eq!(step.kind, Some(classify(&step.relative)));
        }
    }

    #[test]
    fn every_key_appears_once_and_no_local_key_is_deleted(
        local in local_tree(), remote in remote_tree(), etag_is_md5 in any::<bool>(), delete in any::<bool>(),
    ) {
        let (plan, _) = run_planner(&local, &remote, etag_is_md5, delete);
        let mut seen = BTreeSet::new();
        for step in &plan.steps {
            prop_assert!(seen.insert(step.relative.clone()), "{} planned twice", step.relative);
            if local.contains_key(&step.relative) {
                prop_assert!(
                    matches!(step.action, Action::Upload | Action::Unchanged),
                    "{} is in the build but planned {:?}", step.relative, step.action
                );
            }
        }
        let all: BTreeSet<String> = local.keys().chain(remote.keys()).cloned().collect();
        prop_assert_eq!(seen, all);
    }

    #[test]
    fn orphans_are_deleted_only_with_delete_on_and_kept_otherwise(
        local in local_tree(), remote in remote_tree(), etag_is_md5 in any::<bool>(), delete in any::<bool>(),
    ) {
        let (plan, _) = run_planner(&local, &remote, etag_is_md5, delete);
        let remote_only: BTreeSet<String> =
            remote.keys().filter(|k| !local.contains_key(*k)).cloned().collect();
        let (deleted, kept) = (keys_with(&plan, Action::Delete), keys_with(&plan, Action::KeepOrphan));
        if delete {
            prop_assert_eq!(&deleted, &remote_only);
            prop_assert!(kept.is_empty());
        } else {
            prop_assert!(deleted.is_empty());
            prop_assert_eq!(&kept, &remote_only);
        }
        for step in plan.steps.iter().filter(|s| remote_only.contains(&s.relative)) {
            // A kept orphan may say why it is kept.
            prop_assert!(
                matches!(step.reason, Reason::Orphan | Reason::OrphanKept(_)),
                "{}: {:?}",
                step.relative,
                step.reason
            );
            prop_assert_eq!(step.kind, None);
            prop_assert_eq!(step.size, remote[&step.relative].0.size);
        }
    }

    #[test]
    fn uploads_go_hashed_then_other_then_entry_before_anything_else(
        local in local_tree(), remote in remote_tree(), etag_is_md5 in any::<bool>(), delete in any::<bool>(),
    ) {
        let (plan, _) = run_planner(&local, &remote, etag_is_md5, delete);
        // In the step list: every upload first, kinds in publish order.
        let uploads = plan.steps.iter().take_while(|s| s.action == Action::Upload).count();
        prop_assert_eq!(uploads, plan.with_action(Action::Upload).count(), "an upload after a non-upload step");
        let kinds: Vec<FileKind> = plan.steps[..uploads].iter().map(|s| s.kind.unwrap()).collect();
        prop_assert!(kinds.windows(2).all(|w| w[0] <= w[1]), "upload kinds out of order: {:?}", kinds);
        // In the publish groups: one group per kind, in that order, holding
        // exactly the uploads.
        let groups = plan.upload_groups();
        let group_kinds: Vec<FileKind> = groups.iter().map(|(kind, _)| *kind).collect();
        let mut distinct = kinds.clone();
        distinct.dedup();
        prop_assert_eq!(group_kinds, distinct);
        for (kind, steps) in &groups {
            prop_assert!(!steps.is_empty());
            prop_assert!(steps.iter().all(|s| s.kind == Some(*kind) && s.action == Action::Upload));
        }
        let grouped: Vec<&str> = groups.iter().flat_map(|(_, s)| s.iter().map(|s| s.relative.as_str())).collect();
        let listed: Vec<&str> = plan.steps[..uploads].iter().map(|s| s.relative.as_str()).collect();
        prop_assert_eq!(grouped, listed);
    }

    #[test]
    fn remote_content_is_read_only_when_the_listing_cannot_decide(
        local in local_tree(), remote in remote_tree(), etag_is_md5 in any::<bool>(),
    ) {
        let (_, to_read) = run_planner(&local, &remote, etag_is_md5, true);
        let expected: Vec<String> = local
            .iter()
            .filter(|(relative, content)| {
                let Some((stored, etag)) = remote.get(*relative) else { return false };
                let etag_answers = etag_is_md5 && matches!(etag, ETag::Md5);
                classify(relative) != FileKind::Hashed && stored.size == content.size && !etag_answers
            })
            .map(|(relative, _)| relative.clone())
            .collect();
        prop_assert_eq!(to_read, expected);
    }

    #[test]
    fn a_redeploy_after_a_successful_deploy_plans_no_write(
        local in local_tree(), remote in remote_tree(), etag_is_md5 in any::<bool>(),
    ) {
        // After a deploy with delete on, the store holds exactly the build;
        // uploaded objects got fresh single-part ETags, others kept theirs.
        let mut after: BTreeMap<String, (Content, ETag)> = BTreeMap::new();
        for (relative, content) in &local {
            let etag = match remote.get(relative) {
                Some((stored, etag)) if stored == content => *etag,
                _ => ETag::Md5,
            };
            after.insert(relative.clone(), (*content, etag));
        }
        let (plan, _) = run_planner(&local, &after, etag_is_md5, true);
        prop_assert!(
            plan.steps.iter().all(|s| s.action == Action::Unchanged),
            "{:?}", plan.steps.iter().filter(|s| s.action != Action::Unchanged).collect::<Vec<_>>()
        );
    }
}
