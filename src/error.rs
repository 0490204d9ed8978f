//! One public error for the whole engine.
//!
//! Every variant names what went wrong (which file, which key, which store) and
//! how to fix it, because the message is what a user sees in a failed CI job.
//! [`Error::code`] gives a stable identifier that the JS layer exposes as
//! `error.code`, so scripts can branch without parsing messages.

use std::path::PathBuf;

/// The result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop a deploy before or while it runs.
///
/// Per-file upload failures are not errors of this type: they are collected in
/// the [`Report`](crate::report::Report) so that every failure is reported,
/// not just the first.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No storage URL in the options nor in `VITE_DEPLOY_STORAGE`.
    #[error("no storage given: pass `storage` (for example {}) or set VITE_DEPLOY_STORAGE", crate::backends::Backend::S3.example())]
    NoStorage,

    /// The storage URL cannot be parsed or lacks a part its scheme needs.
    #[error("invalid storage URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong and what a valid one looks like.
        reason: String,
    },

    /// The storage URL has a scheme vite-deploy does not publish to.
    #[error(
        "unsupported storage scheme '{scheme}:' in '{url}': use one of {}",
        crate::backends::examples()
    )]
    UnsupportedScheme {
        /// The scheme, without `://`.
        scheme: String,
        /// The URL as given.
        url: String,
    },

    /// A storage option key that the backend does not know.
    #[error("unknown option '{key}' for {backend} storage{hint}")]
    UnknownOption {
        /// The key as given.
        key: String,
        /// The backend the URL selected.
        backend: &'static str,
        /// A suggestion, starting with a space, or empty.
        hint: String,
    },

    /// A deploy option with a value that cannot work.
    #[error("invalid option `{name}`: {reason}")]
    InvalidOption {
        /// The option name as the JS API spells it.
        name: String,
        /// What is wrong and what is accepted.
        reason: String,
    },

    /// An include or exclude pattern that is not a valid glob.
    #[error("invalid glob '{glob}' in `{option}`: {source}")]
    InvalidGlob {
        /// The pattern as given.
        glob: String,
        /// `include`, `exclude` or `cacheControl`.
        option: &'static str,
        /// The parser's explanation.
        source: globset::Error,
    },

    /// The object_store builder refused the configuration.
    #[error("cannot configure {store}: {message}")]
    StoreConfig {
        /// The storage URL.
        store: String,
        /// The builder's message.
        message: String,
    },

    /// A cloud store with no credentials anywhere.
    #[error("no credentials for {store}: {hint}")]
    MissingCredentials {
        /// The storage URL.
        store: String,
        /// Which variables to set.
        hint: String,
    },

    /// The build directory does not exist.
    #[error("directory '{}' does not exist — run vite build first or pass the folder that holds the build", path.display())]
    DirMissing {
        /// The directory as given.
        path: PathBuf,
    },

    /// The build directory is a file.
    #[error("'{}' is not a directory — pass the folder that holds the build (Vite's build.outDir)", path.display())]
    NotADirectory {
        /// The path as given.
        path: PathBuf,
    },

    /// The directory looks like a project folder, not its build output.
    #[error("'{}' looks like a project folder, not a build: it has {marker} — pass the build output (usually dist), or force: true (--force) to publish it anyway", path.display())]
    NotABuild {
        /// The directory as given.
        path: PathBuf,
        /// The file that gave it away.
        marker: String,
    },

    /// The build directory holds no file to publish.
    #[error("directory '{}' has no files to publish{detail} — nothing was uploaded or deleted", path.display())]
    DirEmpty {
        /// The directory as given.
        path: PathBuf,
        /// Why, when filters removed every file.
        detail: String,
    },

    /// A symlink under the build directory points at one of its own ancestors.
    #[error("symlink loop at '{}' (it points back to '{}') — remove the link or exclude it", path.display(), ancestor.display())]
    SymlinkLoop {
        /// The link.
        path: PathBuf,
        /// The ancestor it points to.
        ancestor: PathBuf,
    },

    /// A symlink under the build directory points outside it.
    #[error("symlink '{}' points outside the build folder (to '{}') — publishing it would upload whatever it points at; remove or exclude it, or pass force: true (--force)", path.display(), target.display())]
    SymlinkEscapes {
        /// The link.
        path: PathBuf,
        /// Where it points.
        target: PathBuf,
    },

    /// A file or directory under the build directory cannot be read.
    #[error("cannot read '{}': {source} — check its permissions or exclude it", path.display())]
    Unreadable {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A file name that cannot become an object key.
    #[error("cannot publish '{}': {reason}", path.display())]
    BadFileName {
        /// The file.
        path: PathBuf,
        /// Why the name cannot be a key.
        reason: String,
    },

    /// Listing the target prefix failed: nothing of the live site changed
    /// (under the lease, new hashed assets may be up, unreferenced).
    #[error("cannot list {store}: {message}{hint}")]
    List {
        /// The storage URL.
        store: String,
        /// The store's message, with its sources.
        message: String,
        /// A hint, starting with " — ", or empty.
        hint: String,
    },

    /// The ledger cannot be read, understood or written.
    #[error("release ledger of {store}: {message}")]
    Ledger {
        /// The storage URL.
        store: String,
        /// What is wrong and what to do.
        message: String,
    },

    /// A rollback that cannot happen: no such release, the one asked for is
    /// live, its assets are gone, or a file could not be put back.
    #[error("rollback of {store}: {message}")]
    Rollback {
        /// The storage URL.
        store: String,
        /// What is wrong and what to do.
        message: String,
    },

    /// Another deploy committed a release to the same prefix first.
    #[error("another deploy to {store} recorded a release while this one ran: this deploy's files are uploaded but nothing was deleted and its release was not recorded — rerun it once the other deploy has finished")]
    LedgerConflict {
        /// The storage URL.
        store: String,
    },

    /// The deploy would delete more than the guard allows.
    #[error("deploy to {store} stopped before deleting: {why}")]
    TooManyDeletes {
        /// The storage URL.
        store: String,
        /// How many, against which limit, and what to do.
        why: String,
    },

    /// The deploy would delete a page of the live site, or the build has no
    /// page while the live site has.
    #[error("deploy to {store} stopped before writing: {why}")]
    LivePages {
        /// The storage URL.
        store: String,
        /// Which pages, and what to do.
        why: String,
    },

    /// HTML or the manifest references built assets that would not exist.
    #[error("deploy to {store} stopped before uploading: the entry files reference assets that are neither in the build nor in the store, so the old HTML stays live:\n  {}\n— rebuild, or check include/exclude", missing.join("\n  "))]
    MissingAssets {
        /// The storage URL.
        store: String,
        /// `entry → reference` for each.
        missing: Vec<String>,
    },

    /// Another deploy to the same prefix holds its lease.
    #[error("another deploy to {store} is running: {holder} holds its lease since {since} (renewed while it runs, else it expires {expires}); {waited} and wrote nothing — rerun once that deploy has finished, or, if it is dead, pass breakLease: true (--break-lease) to take the lease over")]
    LeaseHeld {
        /// The storage URL.
        store: String,
        /// Host, pid and CI job of the holder.
        holder: String,
        /// When it took the lease, RFC 3339.
        since: String,
        /// When the lease lapses unless renewed, RFC 3339.
        expires: String,
        /// How long this deploy waited, or that it was cancelled.
        waited: String,
    },

    /// The lease cannot be read or written.
    #[error("deploy lease of {store}: {message} — nothing was written; check the credentials' write access to the prefix")]
    Lease {
        /// The storage URL.
        store: String,
        /// What failed, with the store's message.
        message: String,
    },

    /// Reading a remote object to compare it with the local file failed.
    #[error("cannot read '{key}' from {store} to compare it: {message}")]
    Compare {
        /// The object key.
        key: String,
        /// The storage URL.
        store: String,
        /// The store's message, with its sources.
        message: String,
    },
}

impl Error {
    /// A stable identifier for scripts, such as `UNKNOWN_OPTION`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NoStorage => "NO_STORAGE",
            Error::InvalidUrl { .. } => "INVALID_URL",
            Error::UnsupportedScheme { .. } => "UNSUPPORTED_SCHEME",
            Error::UnknownOption { .. } => "UNKNOWN_OPTION",
            Error::InvalidOption { .. } => "INVALID_OPTION",
            Error::InvalidGlob { .. } => "INVALID_GLOB",
            Error::StoreConfig { .. } => "STORE_CONFIG",
            Error::MissingCredentials { .. } => "MISSING_CREDENTIALS",
            Error::DirMissing { .. } => "DIR_MISSING",
            Error::NotADirectory { .. } => "NOT_A_DIRECTORY",
            Error::DirEmpty { .. } => "DIR_EMPTY",
            Error::NotABuild { .. } => "NOT_A_BUILD",
            Error::SymlinkLoop { .. } => "SYMLINK_LOOP",
            Error::SymlinkEscapes { .. } => "SYMLINK_ESCAPES",
            Error::Unreadable { .. } => "UNREADABLE",
            Error::BadFileName { .. } => "BAD_FILE_NAME",
            Error::List { .. } => "LIST_FAILED",
            Error::Compare { .. } => "COMPARE_FAILED",
            Error::Ledger { .. } => "LEDGER",
            Error::TooManyDeletes { .. } => "TOO_MANY_DELETES",
            Error::LivePages { .. } => "LIVE_PAGES",
            Error::MissingAssets { .. } => "MISSING_ASSETS",
            Error::Rollback { .. } => "ROLLBACK",
            Error::LedgerConflict { .. } => "LEDGER_CONFLICT",
            Error::LeaseHeld { .. } => "LEASE_HELD",
            Error::Lease { .. } => "LEASE",
        }
    }

    /// True when the caller gave wrong input (exit code 2 in the CLI), false
    /// when the deploy itself failed (exit code 1).
    pub fn is_usage(&self) -> bool {
        !matches!(
            self,
            Error::List { .. }
                | Error::Compare { .. }
                | Error::Unreadable { .. }
                | Error::Ledger { .. }
                | Error::LedgerConflict { .. }
                | Error::Rollback { .. }
                | Error::LeaseHeld { .. }
                | Error::Lease { .. }
                | Error::TooManyDeletes { .. }
                | Error::LivePages { .. }
                | Error::MissingAssets { .. }
        )
    }
}

/// Formats an error with all its sources, skipping a source whose text the
/// previous message already contains (object_store repeats them), and
/// shortening an XML error body to its `Code` and `Message`.
/// URLs in it are redacted: a client's message may carry an endpoint's
/// userinfo or a signed query.
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    crate::redact::redact_text(&tidy_xml(&chain(error)))
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// S3, GCS and Azure answer errors with an XML body; object_store puts all of
/// it in the message. Keep the text before it plus `Code: Message`.
fn tidy_xml(text: &str) -> String {
    let Some(start) = text.find("<?xml") else {
        return text.to_string();
    };
    let field = |name: &str| {
        let open = format!("<{name}>");
        let from = text.find(&open)? + open.len();
        let to = text[from..].find('<')? + from;
        Some(text[from..to].to_string())
    };
    let head = text[..start].trim_end().trim_end_matches(':');
    match (field("Code"), field("Message")) {
        (Some(code), Some(message)) => format!("{head}: {code}: {message}"),
        (Some(code), None) => format!("{head}: {code}"),
        _ => head.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_error_bodies_are_shortened() {
        let text = "GET http://h/b - 404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><RequestId>x</RequestId></Error>";
        assert_eq!(
            tidy_xml(text),
            "GET http://h/b - 404 Not Found: NoSuchBucket: The specified bucket does not exist"
        );
        assert_eq!(tidy_xml("plain"), "plain");
    }
}
