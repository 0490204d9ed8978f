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
    /// Files whose size or content differs.
    pub changed: Tally,
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
    /// Every key, uploads in publish order.
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
    /// publishing did.
    pub fn new(plan: &Plan, outcome: Option<&Outcome>, key_of: impl Fn(&str) -> String) -> Self {
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
        let mut files = Vec::with_capacity(plan.steps.len());
        for step in &plan.steps {
            match (step.action, step.reason) {
                (Action::Upload, Reason::New) => summary.new.add(step.size),
                (Action::Upload, _) => summary.changed.add(step.size),
                (Action::Skip, _) => summary.unchanged.add(step.size),
                (Action::Delete | Action::Keep, _) => summary.orphans.add(step.size),
            }
            if step.kind.is_some() {
                summary.local += 1;
            }
            if step.reason != Reason::New {
                summary.remote += 1;
            }
            let status = match outcome {
                _ if matches!(step.action, Action::Skip | Action::Keep) => "skipped",
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
