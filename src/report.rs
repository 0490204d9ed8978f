//! The report of a deploy: what was planned, what happened, and why.

use serde::Serialize;

use crate::local::FileKind;
use crate::plan::{Action, Plan, Reason};
use crate::publish::{Failure, Outcome};

/// A count of files and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Files.
    pub count: usize,
    /// Bytes.
    pub bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }
}

/// Counts per category. `new`, `changed`, `unchanged`, `orphans` describe the
/// plan; `uploaded` and `deleted` what was done (zero in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Files in the build (after include/exclude).
    pub local: usize,
    /// Objects under the prefix (after include/exclude).
    pub remote: usize,
    /// Files not in the store.
    pub new: Tally,
    /// Files whose size or content differs, or whose headers do.
    pub changed: Tally,
    /// Of `changed`: files written again only for their headers.
    pub headers_changed: Tally,
    /// Files already up to date.
    pub unchanged: Tally,
    /// Remote objects the build no longer has.
    pub orphans: Tally,
    /// Remote objects read back to compare content (stores without MD5 ETags).
    pub compared_by_content: usize,
    /// Files written.
    pub uploaded: Tally,
    /// Orphans removed.
    pub deleted: Tally,
}

/// One key in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// Path relative to the build directory and the prefix.
    pub path: String,
    /// The full object key.
    pub key: String,
    /// What the plan chose.
    pub action: Action,
    /// Why, for example `new` or `unchanged (same md5)`.
    pub reason: String,
    /// Bytes.
    pub size: u64,
    /// The file's role; absent for orphans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<FileKind>,
    /// `done`, `planned` (dry run), `failed`, `notAttempted` or `skipped`.
    pub status: &'static str,
}

/// The result of a deploy.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The storage URL.
    pub storage: String,
    /// True when nothing was written.
    pub dry_run: bool,
    /// Whether `Content-Type`/`Cache-Control` were stored.
    pub headers_applied: bool,
    /// Remarks worth a user's attention (headers dropped, deletes skipped).
    pub notes: Vec<String>,
    /// Counts.
    pub summary: Summary,
    /// What the deploy changes (uploads in publish order, then deletes and
    /// kept orphans); with `report: 'full'`, every key, unchanged ones too.
    pub files: Vec<FileReport>,
    /// Every failure; empty on success.
    pub failures: Vec<Failure>,
    /// True when the deploy was cancelled: later files were not uploaded and
    /// nothing was deleted.
    pub cancelled: bool,
    /// Why the store counted as unreachable, when it stopped answering
    /// during the deploy: later uploads were not attempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// The id of the release now live, as recorded in the ledger.
    pub release: Option<String>,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

impl Report {
    /// True when every step succeeded.
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty() && !self.cancelled
    }

    /// Builds the report from the plan and, unless it was a dry run, what
    /// publishing did. Unchanged files are counted, and listed only when
    /// `full`.
    pub fn new(
        plan: &Plan,
        outcome: Option<&Outcome>,
        key_of: impl Fn(&str) -> String,
        full: bool,
    ) -> Self {
        let mut summary = Summary::default();
        // Sets, so a report of 20,000 files stays linear.
        fn set(items: Option<&Vec<String>>) -> std::collections::HashSet<&str> {
            items.into_iter().flatten().map(String::as_str).collect()
        }
        let uploaded = set(outcome.map(|o| &o.uploaded));
        let deleted = set(outcome.map(|o| &o.deleted));
        let failed: std::collections::HashSet<&str> = outcome
            .into_iter()
            .flat_map(|o| o.failures.iter().map(|f| f.path.as_str()))
            .collect();
        let mut files = Vec::new();
        for step in &plan.steps {
            match (step.action, step.reason) {
                (Action::Upload, Reason::New) => summary.new.add(step.size),
                (Action::Upload, Reason::HeadersChanged | Reason::HeadersUnknown) => {
                    summary.changed.add(step.size);
                    summary.headers_changed.add(step.size);
                }
                (Action::Upload, _) => summary.changed.add(step.size),
                (Action::Unchanged, _) => summary.unchanged.add(step.size),
                (Action::Delete | Action::KeepOrphan, _) => summary.orphans.add(step.size),
            }
            if step.kind.is_some() {
                summary.local += 1;
            }
            if step.reason != Reason::New {
                summary.remote += 1;
            }
            if step.action == Action::Unchanged && !full {
                continue;
            }
            let status = match outcome {
                _ if matches!(step.action, Action::Unchanged | Action::KeepOrphan) => "skipped",
                None => "planned",
                Some(_) => {
                    let done = match step.action {
                        Action::Upload => uploaded.contains(step.relative.as_str()),
                        _ => deleted.contains(step.relative.as_str()),
                    };
                    if done {
                        match step.action {
                            Action::Upload => summary.uploaded.add(step.size),
                            _ => summary.deleted.add(step.size),
                        }
                        "done"
                    } else if failed.contains(step.relative.as_str()) {
                        "failed"
                    } else {
                        "notAttempted"
                    }
                }
            };
            files.push(FileReport {
                path: step.relative.clone(),
                key: key_of(&step.relative),
                action: step.action,
                reason: step.reason.to_string(),
                size: step.size,
                kind: step.kind,
                status,
            });
        }
        Report {
            storage: String::new(),
            dry_run: outcome.is_none(),
            headers_applied: false,
            notes: Vec::new(),
            summary,
            files,
            failures: outcome.map(|o| o.failures.clone()).unwrap_or_default(),
            cancelled: false,
            unreachable: None,
            release: None,
            duration_ms: 0,
        }
    }
}

/// What the phases of a deploy return, for its report.
pub struct Done {
    /// The plan, as retention and the commit left it.
    pub plan: Plan,
    /// What publishing did; `None` for a dry run.
    pub outcome: Option<Outcome>,
    /// The release now live.
    pub release: Option<String>,
    /// The phases' notes, in order.
    pub notes: Vec<Note>,
    /// Remote objects read back to compare content.
    pub compared_by_content: usize,
    /// When the deploy began.
    pub started: std::time::Instant,
    /// Whether the report lists unchanged files too.
    pub full: bool,
}

/// The report, built once from what the phases returned.
pub fn build(target: &crate::store::Target, done: Done) -> Report {
    let Done {
        plan,
        outcome,
        release,
        mut notes,
        compared_by_content,
        started,
        full,
    } = done;
    let key_of = |relative: &str| {
        target
            .key(relative)
            .map(|k| k.to_string())
            .unwrap_or_else(|_| relative.to_string())
    };
    let mut report = Report::new(&plan, outcome.as_ref(), key_of, full);
    report.release = release;
    report.storage = target.url.clone();
    report.headers_applied = target.backend.keeps_headers() && outcome.is_some();
    report.summary.compared_by_content = compared_by_content;
    if !target.backend.keeps_headers() {
        notes.push(Note::HeadersNotStored {
            backend: target.backend.name(),
        });
    }
    if target.backend == crate::store::Backend::Http && report.headers_applied {
        notes.push(Note::WebDavHeaders);
    }
    if !report.succeeded() && plan.with_action(Action::Delete).next().is_some() {
        notes.push(Note::NothingDeleted);
    }
    let kept = plan.with_action(Action::KeepOrphan).count();
    if kept > 0 {
        notes.push(Note::OrphansKept { count: kept });
    }
    report.notes.extend(notes.iter().map(ToString::to_string));
    report.cancelled = outcome.as_ref().is_some_and(|o| o.cancelled);
    report.unreachable = outcome.as_ref().and_then(|o| o.unreachable.clone());
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

/// A note of the report: what the deploy did that is not a file's action.
/// The phases return these; the report shows them as text, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// The build is the live release: nothing was written.
    AlreadyLive {
        /// The live release.
        release: String,
    },
    /// A dry run passed a guard a real deploy would stop at.
    WouldStop {
        /// The guard's message.
        why: String,
    },
    /// The store has no conditional writes, so the ledger was overwritten.
    LedgerOverwritten {
        /// The backend's name.
        backend: &'static str,
    },
    /// The store keeps no `Content-Type` or `Cache-Control`.
    HeadersNotStored {
        /// The backend's name.
        backend: &'static str,
    },
    /// WebDAV servers keep no `Cache-Control`.
    WebDavHeaders,
    /// Uploads failed, so the planned deletes did not run.
    NothingDeleted,
    /// Orphans retention kept.
    OrphansKept {
        /// How many.
        count: usize,
    },
    /// A note another part (the scan, the lease) words itself.
    Text(String),
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::AlreadyLive { release } => write!(f, "this build is already live (release {release}): nothing written or deleted, no release recorded"),
            Note::WouldStop { why } => write!(f, "a real deploy would stop: {why}"),
            Note::LedgerOverwritten { backend } => write!(f, "{backend} has no conditional writes: the ledger was overwritten, so two deploys to this prefix at once could lose a release record"),
            Note::HeadersNotStored { backend } => write!(f, "{backend} does not store Content-Type or Cache-Control: files were written without them"),
            Note::WebDavHeaders => f.write_str("WebDAV servers keep no Cache-Control, and most answer with a Content-Type guessed from the file name: set caching headers on the web server in front"),
            Note::NothingDeleted => f.write_str("uploads failed, so no orphan was deleted"),
            Note::OrphansKept { count } => write!(f, "{count} orphan(s) kept (see each file's reason); they go once no recent release references them"),
            Note::Text(text) => f.write_str(text),
        }
    }
}

impl From<String> for Note {
    fn from(text: String) -> Self {
        Note::Text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{KeptBecause, Step};

    fn step(relative: &str, action: Action, reason: Reason, size: u64) -> Step {
        let kind = match action {
            Action::Delete | Action::KeepOrphan => None,
            _ if relative.ends_with(".html") => Some(FileKind::Entry),
            _ => Some(FileKind::Hashed),
        };
        Step {
            relative: relative.into(),
            action,
            reason,
            size,
            kind,
            local: None,
        }
    }

    fn plan() -> Plan {
        Plan {
            steps: vec![
                step("assets/a-1.js", Action::Upload, Reason::New, 10),
                step("assets/b-2.js", Action::Upload, Reason::New, 20),
                step("index.html", Action::Upload, Reason::ContentDiffers, 5),
                step("assets/c-3.js", Action::Unchanged, Reason::SameSize, 7),
                step("assets/old-0.js", Action::Delete, Reason::Orphan, 3),
                step(
                    "assets/kept-0.js",
                    Action::KeepOrphan,
                    Reason::OrphanKept(KeptBecause::DeleteOff),
                    4,
                ),
            ],
        }
    }

    fn statuses(report: &Report) -> Vec<(&str, &str)> {
        report
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.status))
            .collect()
    }

    #[test]
    fn a_dry_run_counts_the_plan_and_does_nothing() {
        let report = Report::new(&plan(), None, |relative| format!("app/{relative}"), true);
        assert!(report.dry_run);
        assert!(report.succeeded());
        let summary = &report.summary;
        assert_eq!(
            summary.new,
            Tally {
                count: 2,
                bytes: 30
            }
        );
        assert_eq!(summary.changed, Tally { count: 1, bytes: 5 });
        assert_eq!(summary.unchanged, Tally { count: 1, bytes: 7 });
        assert_eq!(summary.orphans, Tally { count: 2, bytes: 7 });
        assert_eq!((summary.local, summary.remote), (4, 4));
        assert_eq!(summary.uploaded, Tally::default());
        assert_eq!(summary.deleted, Tally::default());
        assert_eq!(report.files[0].key, "app/assets/a-1.js");
        assert_eq!(report.files[4].reason, "orphan");
        assert_eq!(
            statuses(&report),
            [
                ("assets/a-1.js", "planned"),
                ("assets/b-2.js", "planned"),
                ("index.html", "planned"),
                ("assets/c-3.js", "skipped"),
                ("assets/old-0.js", "planned"),
                ("assets/kept-0.js", "skipped"),
            ]
        );
    }

    #[test]
    fn only_what_publishing_did_counts_as_done() {
        // b failed, so the later group (index.html) and the delete never ran.
        let outcome = Outcome {
            uploaded: vec!["assets/a-1.js".into()],
            failures: vec![Failure {
                path: "assets/b-2.js".into(),
                action: Action::Upload,
                error: "upload assets/b-2.js: 403".into(),
            }],
            not_attempted: vec!["index.html".into(), "assets/old-0.js".into()],
            ..Default::default()
        };
        let report = Report::new(&plan(), Some(&outcome), str::to_string, true);
        assert!(!report.dry_run);
        assert!(!report.succeeded());
        assert_eq!(report.failures, outcome.failures);
        assert_eq!(
            report.summary.uploaded,
            Tally {
                count: 1,
                bytes: 10
            }
        );
        assert_eq!(report.summary.deleted, Tally::default());
        assert_eq!(
            statuses(&report),
            [
                ("assets/a-1.js", "done"),
                ("assets/b-2.js", "failed"),
                ("index.html", "notAttempted"),
                ("assets/c-3.js", "skipped"),
                ("assets/old-0.js", "notAttempted"),
                ("assets/kept-0.js", "skipped"),
            ]
        );
    }

    #[test]
    fn a_complete_deploy_counts_uploads_and_deletes_by_their_bytes() {
        let outcome = Outcome {
            uploaded: vec![
                "index.html".into(),
                "assets/a-1.js".into(),
                "assets/b-2.js".into(),
            ],
            deleted: vec!["assets/old-0.js".into()],
            ..Default::default()
        };
        let report = Report::new(&plan(), Some(&outcome), str::to_string, true);
        assert!(report.succeeded());
        assert_eq!(
            report.summary.uploaded,
            Tally {
                count: 3,
                bytes: 35
            }
        );
        assert_eq!(report.summary.deleted, Tally { count: 1, bytes: 3 });
        // A kept orphan stays in the store: skipped, never done.
        assert_eq!(report.files[5].status, "skipped");
    }

    #[test]
    fn unchanged_files_are_counted_and_listed_only_in_a_full_report() {
        let report = Report::new(&plan(), None, str::to_string, false);
        let listed: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            listed,
            [
                "assets/a-1.js",
                "assets/b-2.js",
                "index.html",
                "assets/old-0.js",
                "assets/kept-0.js"
            ]
        );
        assert_eq!(report.summary.unchanged, Tally { count: 1, bytes: 7 });
        assert_eq!((report.summary.local, report.summary.remote), (4, 4));
        let full = Report::new(&plan(), None, str::to_string, true);
        assert_eq!(full.files.len(), 6);
        assert_eq!(full.summary, report.summary);
    }

    #[test]
    fn notes_read_as_before() {
        assert_eq!(
            Note::OrphansKept { count: 2 }.to_string(),
            "2 orphan(s) kept (see each file's reason); they go once no recent release references them"
        );
        assert_eq!(
            Note::HeadersNotStored { backend: "file://" }.to_string(),
            "file:// does not store Content-Type or Cache-Control: files were written without them"
        );
        assert_eq!(Note::from("as worded".to_string()).to_string(), "as worded");
    }
}
