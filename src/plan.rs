//! The plan: what to upload, in what order, and what to delete.
//!
//! Pure: it compares a local scan with a remote listing (plus remote content
//! hashes fetched beforehand where needed) and does no I/O, so every rule is
//! unit-tested without a store.
//!
//! Change detection:
//! 1. a file absent from the store is `new`;
//! 2. a file whose size differs is `changed`;
//! 3. a content-hashed asset of the same size is `unchanged`: its name is its
//!    content;
//! 4. any other file of the same size (HTML, the manifest, `public/` copies) is
//!    compared by MD5 — with the ETag on S3 and GCS when it is a plain MD5,
//!    otherwise with a hash of the remote content read back — so an
//!    `index.html` that changed but kept its length is uploaded.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::digest::etag_md5;
use crate::local::{FileKind, LocalFile};
use crate::remote::RemoteObject;

/// What happens to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Write the local file to the store.
    Upload,
    /// Leave the remote copy, it is the same.
    #[serde(rename = "skip")]
    Unchanged,
    /// Remove the remote object, the build no longer has it.
    Delete,
    /// An orphan left in place: deletion is off, or retention keeps it.
    #[serde(rename = "keep")]
    KeepOrphan,
}

/// Why an action was chosen; shown per file in dry runs and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not in the store.
    New,
    /// Different size.
    SizeDiffers {
        /// Local size.
        local: u64,
        /// Remote size.
        remote: u64,
    },
    /// Same size, different MD5.
    ContentDiffers,
    /// A hashed asset of the same size.
    SameSize,
    /// Same MD5.
    SameContent,
    /// Same content, but the ledger records other headers than the rules
    /// give now: written again with the rules' headers.
    HeadersChanged,
    /// Same content, headers the ledger does not know, and `repairHeaders`
    /// asks to write them.
    HeadersUnknown,
    /// Same content, stored with another `Content-Encoding` than `compress`
    /// wants now: compression was switched on, off, or to the other method.
    EncodingChanged {
        /// The method tried on the stored object; `None`: stored as it is.
        stored: Option<crate::compress::Method>,
        /// The method to try now; `None`: store it as it is.
        wanted: Option<crate::compress::Method>,
    },
    /// In the store, not in the build.
    Orphan,
    /// In the store, not in the build, and kept.
    OrphanKept(KeptBecause),
    /// In the store, not in the build, and deleted by retention: no recent
    /// release has it and it stopped being live before the window.
    OrphanExpired {
        /// Releases kept.
        keep: usize,
        /// Seconds since it stopped being live.
        ago: u64,
        /// The window, in seconds.
        window: u64,
    },
}

/// Why an orphan is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptBecause {
    /// `delete: false`.
    DeleteOff,
    /// One of the newest `keep` releases references it: open tabs may still
    /// load it.
    RecentRelease {
        /// Releases kept.
        keep: usize,
    },
    /// Stopped being live less than the window (`olderThan`) ago: a tab
    /// opened just before may still load it.
    TooRecent {
        /// Seconds since it stopped being live.
        ago: u64,
        /// The window, in seconds.
        window: u64,
    },
    /// The build is the live release already: a redeploy deletes nothing.
    AlreadyLive,
    /// No release in the ledger recorded it: another tool put it there.
    NotRecorded,
    /// No release recorded it and it was written while this deploy ran:
    /// another deploy may be about to reference it.
    WrittenDuringDeploy,
    /// The deploy lease was lost before deleting: another deploy may be
    /// running.
    LeaseLost,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::New => f.write_str("new"),
            Reason::SizeDiffers { local, remote } => {
                write!(f, "size differs ({remote} → {local} bytes)")
            }
            Reason::ContentDiffers => f.write_str("content differs (same size, md5 differs)"),
            Reason::SameSize => f.write_str("unchanged (hashed name, same size)"),
            Reason::SameContent => f.write_str("unchanged (same md5)"),
            Reason::HeadersChanged => f.write_str("headers changed"),
            Reason::HeadersUnknown => {
                f.write_str("headers changed (not recorded before; repairHeaders)")
            }
            Reason::EncodingChanged { stored, wanted } => {
                let name = |m: &Option<crate::compress::Method>| {
                    m.map_or("none", crate::compress::Method::content_encoding)
                };
                write!(f, "encoding changed ({} → {})", name(stored), name(wanted))
            }
            Reason::Orphan => f.write_str("orphan"),
            Reason::OrphanKept(KeptBecause::DeleteOff) => {
                f.write_str("orphan, kept: delete is off")
            }
            Reason::OrphanKept(KeptBecause::RecentRelease { keep }) => {
                write!(f, "orphan, kept: in one of the last {keep} releases")
            }
            Reason::OrphanKept(KeptBecause::TooRecent { ago, window }) => {
                write!(
                    f,
                    "orphan, kept: replaced {}, window {}",
                    ago_text(*ago),
                    window_text(*window)
                )
            }
            Reason::OrphanKept(KeptBecause::AlreadyLive) => f.write_str(
                "orphan, kept: this build is already live (retention runs with the next release)",
            ),
            Reason::OrphanExpired { keep, ago, window } => write!(
                f,
                "orphan, goes: not in the last {keep} releases, replaced {}, window {}",
                ago_text(*ago),
                window_text(*window)
            ),
            Reason::OrphanKept(KeptBecause::NotRecorded) => {
                f.write_str("orphan, kept: no release recorded it (delete: true removes it)")
            }
            Reason::OrphanKept(KeptBecause::WrittenDuringDeploy) => f.write_str(
                "orphan, kept: written while this deploy ran, by another deploy perhaps",
            ),
            Reason::OrphanKept(KeptBecause::LeaseLost) => {
                f.write_str("orphan, kept: the deploy lease was lost before deleting")
            }
        }
    }
}

/// How long ago, for a reason: `just now`, `42 s ago`, `3 min ago`,
/// `5 h ago`, `3 d ago`.
pub fn ago_text(seconds: u64) -> String {
    match seconds {
        0 => "just now".into(),
        s if s < 60 => format!("{s} s ago"),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 2 * 86_400 => format!("{} h ago", s / 3600),
        s => format!("{} d ago", s / 86_400),
    }
}

/// A window as `olderThan` spells it: `0s`, `90s`, `30m`, `24h`, `7d`.
pub fn window_text(seconds: u64) -> String {
    match seconds {
        0 => "0s".into(),
        s if s % 86_400 == 0 && s >= 2 * 86_400 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// One key's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The key relative to the prefix.
    pub relative: String,
    /// What happens.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Bytes: the local size for uploads and skips, the remote size for
    /// deletes.
    pub size: u64,
    /// The role of the local file; `None` for orphans.
    pub kind: Option<FileKind>,
    /// Where its local file is in the scan the plan was made from; `None`
    /// for orphans. Writers take the file from here rather than looking its
    /// key up again.
    pub local: Option<usize>,
}

/// The whole plan, uploads in publish order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Every step: uploads grouped by [`FileKind`] (hashed assets, then other
    /// files, then entries), then skips, then orphans.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Steps with the given action, in plan order.
    pub fn with_action(&self, action: Action) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(move |s| s.action == action)
    }

    /// Puts the steps in plan order (see [`Plan::steps`]), by key within
    /// each group; again after a step's action changed.
    pub fn sort(&mut self) {
        let order = |step: &Step| match step.action {
            Action::Upload => (0, step.kind),
            Action::Unchanged => (1, None),
            Action::Delete | Action::KeepOrphan => (2, None),
        };
        // Keys are unique, so an unstable sort gives the same order, faster.
        self.steps.sort_unstable_by(|a, b| {
            order(a)
                .cmp(&order(b))
                .then_with(|| a.relative.cmp(&b.relative))
        });
    }

    /// Uploads split into publish groups; each group must finish before the
    /// next starts, so no HTML goes live before the assets it references.
    pub fn upload_groups(&self) -> Vec<(FileKind, Vec<&Step>)> {
        let mut groups: BTreeMap<FileKind, Vec<&Step>> = BTreeMap::new();
        for step in self.with_action(Action::Upload) {
            groups
                .entry(step.kind.expect("uploads have a local file"))
                .or_default()
                .push(step);
        }
        groups.into_iter().collect()
    }
}

/// Marks the steps of `uploaded` (keys [`crate::publish::upload_early`]
/// wrote, from the `early` steps of the plan before the lease) as uploads,
/// for the reason that plan gave: the listing under the lease may show them
/// as this very deploy left them (unchanged, or stored differently from
/// what the ledger says). Then puts the plan back in order.
pub fn count_as_uploaded(plan: &mut Plan, early: &[Step], uploaded: &[String]) {
    if uploaded.is_empty() {
        return;
    }
    let reasons: HashMap<&str, Reason> = early
        .iter()
        .map(|s| (s.relative.as_str(), s.reason))
        .collect();
    let uploaded: std::collections::HashSet<&str> = uploaded.iter().map(String::as_str).collect();
    for step in plan.steps.iter_mut() {
        if uploaded.contains(step.relative.as_str()) {
            step.action = Action::Upload;
            if let Some(reason) = reasons.get(step.relative.as_str()) {
                step.reason = *reason;
            }
        }
    }
    plan.sort();
}

/// Same-size files whose remote content must be hashed before planning:
/// unhashed files whose ETag is not a usable MD5.
pub fn needs_remote_md5(
    local: &[LocalFile],
    remote: &[RemoteObject],
    etag_is_md5: bool,
) -> Vec<String> {
    let mut by_key: HashMap<&str, &RemoteObject> = HashMap::with_capacity(remote.len());
    by_key.extend(remote.iter().map(|o| (o.relative.as_str(), o)));
    local
        .iter()
        .filter(|file| file.md5.is_some())
        .filter_map(|file| {
            let object = by_key.get(file.relative.as_str())?;
            let etag_usable = etag_is_md5 && object.e_tag.as_deref().and_then(etag_md5).is_some();
            (object.size == file.size && !etag_usable).then(|| file.relative.clone())
        })
        .collect()
}

/// Compares the build with the store.
///
/// `remote_md5` holds the content hashes fetched for the keys that
/// [`needs_remote_md5`] named. With `delete` off, orphans are kept.
pub fn plan(
    local: &[LocalFile],
    remote: &[RemoteObject],
    remote_md5: &HashMap<String, [u8; 16]>,
    etag_is_md5: bool,
) -> Plan {
    // Each local file takes its remote object out of the map, so what is
    // left are the orphans: one map for both questions.
    let mut unmatched: HashMap<&str, &RemoteObject> = HashMap::with_capacity(remote.len());
    unmatched.extend(remote.iter().map(|o| (o.relative.as_str(), o)));

    // Sized exactly: the steps of a large build are megabytes, and a noop
    // has no orphans where `local + remote` would reserve twice its steps.
    let mut steps: Vec<Step> = Vec::with_capacity(local.len());
    steps.extend(local.iter().enumerate().map(|(index, file)| {
        let (action, reason) = match unmatched.remove(file.relative.as_str()) {
            None => (Action::Upload, Reason::New),
            Some(object) if object.size != file.size => (
                Action::Upload,
                Reason::SizeDiffers {
                    local: file.size,
                    remote: object.size,
                },
            ),
            Some(object) => match file.md5 {
                None => (Action::Unchanged, Reason::SameSize),
                Some(local_md5) => {
                    let remote = remote_md5.get(&file.relative).copied().or_else(|| {
                        object
                            .e_tag
                            .as_deref()
                            .filter(|_| etag_is_md5)
                            .and_then(etag_md5)
                    });
                    if remote == Some(local_md5) {
                        (Action::Unchanged, Reason::SameContent)
                    } else {
                        (Action::Upload, Reason::ContentDiffers)
                    }
                }
            },
        };
        Step {
            relative: file.relative.clone(),
            action,
            reason,
            size: file.size,
            kind: Some(file.kind),
            local: Some(index),
        }
    }));
    steps.reserve_exact(unmatched.len());
    steps.extend(unmatched.into_values().map(|object| Step {
        relative: object.relative.clone(),
        action: Action::Delete,
        reason: Reason::Orphan,
        size: object.size,
        kind: None,
        local: None,
    }));

    let mut plan = Plan { steps };
    plan.sort();
    plan
}

/// Makes uploads of the unchanged files stored with other headers than the
/// rules give: those whose recorded fingerprint differs (`headers changed`),
/// and with `repair_unknown` those with none recorded. Their content is the
/// same, so they go up in their usual stage, and a `no-cache` page is never
/// rewritten before a hashed asset it references.
///
/// `wanted` gives the fingerprint of a local file (by its index in the
/// scan) under the rules, `None` on a store that keeps no headers: there is
/// nothing to repair there. `recorded` gives what the ledger knows of a key.
///
/// Returns how many unchanged files were left alone because their headers
/// are unknown (none with `repair_unknown`).
pub fn repair_headers<'a>(
    plan: &mut Plan,
    wanted: impl Fn(usize) -> Option<&'a str>,
    recorded: impl Fn(&str) -> Option<&'a str>,
    repair_unknown: bool,
) -> usize {
    let mut changed = false;
    let mut unknown = 0;
    for step in plan
        .steps
        .iter_mut()
        .filter(|s| s.action == Action::Unchanged)
    {
        let Some(wanted) = step.local.and_then(&wanted) else {
            continue;
        };
        let reason = match recorded(&step.relative) {
            Some(stored) if stored == wanted => continue,
            Some(_) => Reason::HeadersChanged,
            None if repair_unknown => Reason::HeadersUnknown,
            None => {
                unknown += 1;
                continue;
            }
        };
        step.action = Action::Upload;
        step.reason = reason;
        changed = true;
    }
    if changed {
        plan.sort();
    }
    unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::classify;
    use md5::{Digest, Md5};

    fn md5(content: &str) -> [u8; 16] {
        Md5::digest(content.as_bytes()).into()
    }

    fn local(relative: &str, content: &str) -> LocalFile {
        let kind = classify(relative);
        LocalFile {
            relative: relative.into(),
            path: relative.into(),
            size: content.len() as u64,
            kind,
            md5: (kind != FileKind::Hashed).then(|| md5(content)),
        }
    }

    fn remote(relative: &str, content: &str) -> RemoteObject {
        RemoteObject {
            relative: relative.into(),
            size: content.len() as u64,
            e_tag: Some(format!("\"{}\"", hex(&md5(content)))),
            modified: 0,
        }
    }

    fn opaque(relative: &str, content: &str) -> RemoteObject {
        RemoteObject {
            e_tag: Some("\"0x8DC0000\"".into()),
            ..remote(relative, content)
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn summary(plan: &Plan) -> Vec<(String, Action, String)> {
        plan.steps
            .iter()
            .map(|s| (s.relative.clone(), s.action, s.reason.to_string()))
            .collect()
    }

    fn row(relative: &str, action: Action, reason: &str) -> (String, Action, String) {
        (relative.into(), action, reason.into())
    }

    #[test]
    fn first_deploy_uploads_hashed_assets_then_others_then_entries() {
        let files = [
            local("index.html", "<html>"),
            local(".vite/manifest.json", "{}"),
            local("robots.txt", "ok"),
            local("assets/index-3fA9c1xZ.js", "js"),
            local("assets/index-DiwrgTda.css", "css"),
        ];
        let plan = plan(&files, &[], &HashMap::new(), true);
        let order: Vec<_> = plan.steps.iter().map(|s| s.relative.as_str()).collect();
        assert_eq!(
            order,
            [
                "assets/index-3fA9c1xZ.js",
                "assets/index-DiwrgTda.css",
                "robots.txt",
                ".vite/manifest.json",
                "index.html"
            ]
        );
        let groups: Vec<_> = plan
            .upload_groups()
            .into_iter()
            .map(|(kind, steps)| (kind, steps.len()))
            .collect();
        assert_eq!(
            groups,
            [
                (FileKind::Hashed, 2),
                (FileKind::Other, 1),
                (FileKind::Entry, 2)
            ]
        );
        assert!(plan.steps.iter().all(|s| s.reason == Reason::New));
    }

    #[test]
    fn unchanged_build_plans_no_write() {
        let files = [
            local("index.html", "<html>"),
            local("assets/a-3fA9c1xZ.js", "js"),
        ];
        let store = [
            remote("index.html", "<html>"),
            remote("assets/a-3fA9c1xZ.js", "js"),
        ];
        let plan = plan(&files, &store, &HashMap::new(), true);
        assert_eq!(
            summary(&plan),
            [
                row(
                    "assets/a-3fA9c1xZ.js",
                    Action::Unchanged,
                    "unchanged (hashed name, same size)"
                ),
                row("index.html", Action::Unchanged, "unchanged (same md5)"),
            ]
        );
        assert!(
            needs_remote_md5(&files, &store, true).is_empty(),
            "S3 ETags answer without a GET"
        );
    }

    #[test]
    fn same_size_change_of_index_html_is_uploaded() {
        let files = [local("index.html", "<script src=/a-1.js>")];
        let store = [remote("index.html", "<script src=/a-2.js>")];
        let plan = plan(&files, &store, &HashMap::new(), true);
        assert_eq!(
            summary(&plan),
            [row(
                "index.html",
                Action::Upload,
                "content differs (same size, md5 differs)"
            )]
        );
    }

    #[test]
    fn opaque_etags_need_the_remote_content() {
        let files = [
            local("index.html", "new!"),
            local("robots.txt", "same"),
            local("assets/a-3fA9c1xZ.js", "js"),
        ];
        let store = [
            opaque("index.html", "old!"),
            opaque("robots.txt", "same"),
            opaque("assets/a-3fA9c1xZ.js", "js"),
        ];
        assert_eq!(
            needs_remote_md5(&files, &store, false),
            ["index.html", "robots.txt"]
        );
        // The ETag of an S3-shaped store is not trusted for other backends.
        let md5_etags = [remote("index.html", "old!"), remote("robots.txt", "same")];
        assert_eq!(
            needs_remote_md5(&files[..2], &md5_etags, false),
            ["index.html", "robots.txt"]
        );

        let fetched = HashMap::from([
            ("index.html".to_string(), md5("old!")),
            ("robots.txt".to_string(), md5("same")),
        ]);
        let plan = plan(&files, &store, &fetched, false);
        assert_eq!(
            summary(&plan),
            [
                row(
                    "index.html",
                    Action::Upload,
                    "content differs (same size, md5 differs)"
                ),
                row(
                    "assets/a-3fA9c1xZ.js",
                    Action::Unchanged,
                    "unchanged (hashed name, same size)"
                ),
                row("robots.txt", Action::Unchanged, "unchanged (same md5)"),
            ]
        );
    }

    #[test]
    fn incremental_build_uploads_changes_and_deletes_orphans_last() {
        let files = [
            local("index.html", "<html v2>"),
            local("assets/new-3fA9c1xZ.js", "js"),
        ];
        let store = [
            remote("index.html", "<html>"),
            remote("assets/old-Bq81kLxy.js", "js"),
        ];
        let with_delete = plan(&files, &store, &HashMap::new(), true);
        assert_eq!(
            summary(&with_delete),
            [
                row("assets/new-3fA9c1xZ.js", Action::Upload, "new"),
                row("index.html", Action::Upload, "size differs (6 → 9 bytes)"),
                row("assets/old-Bq81kLxy.js", Action::Delete, "orphan"),
            ]
        );
    }

    #[test]
    fn files_stored_with_other_headers_are_written_again_in_their_stage() {
        let files = [
            local("index.html", "<html>"),
            local("robots.txt", "ok"),
            local("assets/a-3fA9c1xZ.js", "js"),
            local("assets/b-Bq81kLxy.js", "js"),
            local("assets/new-DiwrgTda.js", "new"),
        ];
        let store = [
            remote("index.html", "<html>"),
            remote("robots.txt", "ok"),
            remote("assets/a-3fA9c1xZ.js", "js"),
            remote("assets/b-Bq81kLxy.js", "js"),
        ];
        let wanted = ["page", "other", "immutable", "immutable", "immutable"];
        // robots.txt was written with other rules, the hashed a.js with a
        // wrong immutable, b.js before the ledger recorded headers.
        let recorded = HashMap::from([
            ("index.html", "page"),
            ("robots.txt", "old-other"),
            ("assets/a-3fA9c1xZ.js", "wrong"),
        ]);
        let planned = || plan(&files, &store, &HashMap::new(), true);
        let by_ledger = |key: &str| recorded.get(key).copied();

        let mut repaired = planned();
        let unknown = repair_headers(&mut repaired, |i| Some(wanted[i]), by_ledger, false);
        assert_eq!(unknown, 1, "b.js, left alone");
        assert_eq!(
            summary(&repaired),
            [
                row("assets/a-3fA9c1xZ.js", Action::Upload, "headers changed"),
                row("assets/new-DiwrgTda.js", Action::Upload, "new"),
                row("robots.txt", Action::Upload, "headers changed"),
                row(
                    "assets/b-Bq81kLxy.js",
                    Action::Unchanged,
                    "unchanged (hashed name, same size)"
                ),
                row("index.html", Action::Unchanged, "unchanged (same md5)"),
            ]
        );

        let mut all = planned();
        assert_eq!(
            repair_headers(&mut all, |i| Some(wanted[i]), by_ledger, true),
            0
        );
        let b = all
            .steps
            .iter()
            .find(|s| s.relative == "assets/b-Bq81kLxy.js")
            .unwrap();
        assert_eq!(
            (b.action, b.reason),
            (Action::Upload, Reason::HeadersUnknown)
        );

        // Same rules: nothing to write. No headers kept (file://): nothing either.
        let same = HashMap::from([
            ("index.html", "page"),
            ("robots.txt", "other"),
            ("assets/a-3fA9c1xZ.js", "immutable"),
            ("assets/b-Bq81kLxy.js", "immutable"),
        ]);
        let mut unchanged = planned();
        repair_headers(
            &mut unchanged,
            |i| Some(wanted[i]),
            |k| same.get(k).copied(),
            true,
        );
        assert_eq!(unchanged, planned());
        let mut local_store = planned();
        repair_headers(&mut local_store, |_| None, by_ledger, true);
        assert_eq!(local_store, planned());
    }

    #[test]
    fn unusual_key_names_are_compared_as_they_are() {
        let names = [
            "a b.txt",
            "ünï/cödé.txt",
            "c++.txt",
            "issue#1.txt",
            "nested/deep/er/x.txt",
        ];
        let files: Vec<_> = names.iter().map(|n| local(n, n)).collect();
        let store: Vec<_> = names.iter().map(|n| remote(n, n)).collect();
        let plan = plan(&files, &store, &HashMap::new(), true);
        assert!(
            plan.steps.iter().all(|s| s.action == Action::Unchanged),
            "{:?}",
            summary(&plan)
        );
    }

    #[test]
    fn what_went_up_early_counts_as_uploaded_whatever_the_second_listing_saw() {
        let step = |relative: &str, action, reason| Step {
            relative: relative.into(),
            action,
            reason,
            size: 1,
            kind: Some(FileKind::Hashed),
            local: Some(0),
        };
        let differs = Reason::SizeDiffers {
            local: 1,
            remote: 2,
        };
        let early = vec![
            step("assets/a-1.js", Action::Upload, Reason::New),
            step("assets/b-1.js", Action::Upload, Reason::New),
            step("assets/c-1.js", Action::Upload, Reason::New),
        ];
        let mut plan = Plan {
            steps: vec![
                step("assets/b-1.js", Action::Upload, differs),
                step("index.html", Action::Upload, Reason::New),
                // Seen by the listing under the lease: this deploy's own upload.
                step("assets/a-1.js", Action::Unchanged, Reason::SameSize),
                // Its early upload failed: the plan decides.
                step("assets/c-1.js", Action::Unchanged, Reason::SameSize),
            ],
        };
        plan.steps[1].kind = Some(FileKind::Entry);
        count_as_uploaded(
            &mut plan,
            &early,
            &["assets/a-1.js".into(), "assets/b-1.js".into()],
        );
        let actions: Vec<_> = plan
            .steps
            .iter()
            .map(|s| (s.relative.as_str(), s.action, s.reason))
            .collect();
        // In plan order again (uploads by kind, then skips), each for the
        // reason the plan before the lease gave.
        assert_eq!(
            actions,
            [
                ("assets/a-1.js", Action::Upload, Reason::New),
                ("assets/b-1.js", Action::Upload, Reason::New),
                ("index.html", Action::Upload, Reason::New),
                ("assets/c-1.js", Action::Unchanged, Reason::SameSize),
            ]
        );
    }
}
