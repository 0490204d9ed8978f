//! The local scan: every file of the build directory, with what the plan
//! needs to know about it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use md5::{Digest, Md5};
use walkdir::WalkDir;

use crate::error::{Error, Result};
use crate::layout::LEDGER_DIR;

/// How a file takes part in the publish order and in change detection.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum FileKind {
    /// A file whose name carries a content hash (`assets/index-3fA9c1xZ.js`):
    /// same name means same content, so its size is enough to compare, and
    /// it may be cached forever. Published first.
    Hashed,
    /// Any other file (copies from `public/`, `robots.txt`): compared by
    /// content. Published second.
    Other,
    /// An entry HTML file or Vite's manifest: what references the hashed
    /// assets, so it goes live last. Compared by content.
    Entry,
}

/// One file of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// The path relative to the build directory, joined with `/`.
    pub relative: String,
    /// Where to read it.
    pub path: PathBuf,
    /// Its size in bytes at scan time.
    pub size: u64,
    /// Its role.
    pub kind: FileKind,
    /// The MD5 of its content, for files compared by content.
    pub md5: Option<[u8; 16]>,
}

/// Which relative paths a deploy publishes.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// The include globs that name a file skipped by default (see
    /// [`skipped_by_default`]): only these publish one.
    naming: Option<GlobSet>,
}

impl Filter {
    /// Builds a filter; `*` also matches across `/`, so `*.map` matches
    /// `assets/index-3fA9c1xZ.js.map`.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        let naming: Vec<String> = include
            .iter()
            .filter(|glob| {
                let lower = glob.to_ascii_lowercase();
                SKIPPED_NAMES.iter().any(|name| lower.contains(name))
            })
            .cloned()
            .collect();
        Ok(Self {
            include: glob_set(include, "include")?,
            exclude: glob_set(exclude, "exclude")?,
            naming: glob_set(&naming, "include")?,
        })
    }

    /// Whether a file the filter allows is still left out because it is
    /// usually a secret or repository data: returns what it is part of
    /// (`.env.local`, `.git/`), unless an include glob names it. Such files
    /// are neither published nor, in the store, compared or deleted.
    pub fn skips(&self, relative: &str) -> Option<String> {
        let part = skipped_by_default(relative)?;
        match &self.naming {
            Some(set) if set.is_match(relative) => None,
            _ => Some(part),
        }
    }

    /// Whether the file at `relative` is published (and its remote copy
    /// considered for deletion).
    pub fn allows(&self, relative: &str) -> bool {
        self.include
            .as_ref()
            .is_none_or(|set| set.is_match(relative))
            && !self
                .exclude
                .as_ref()
                .is_some_and(|set| set.is_match(relative))
    }

    fn is_active(&self) -> bool {
        self.include.is_some() || self.exclude.is_some()
    }
}

/// Lower-case fragments of the names [`skipped_by_default`] matches: an
/// include glob containing one publishes such a file on purpose.
const SKIPPED_NAMES: [&str; 5] = [".env", ".git", ".svn", ".hg", ".ds_store"];

/// The part of `relative` that makes it a file no site needs and a build
/// folder picks up by accident (a `public/` copy, a copy step, Finder): a
/// `.env*` file (secrets), anything under `.git/`, `.svn/` or `.hg/`
/// (repository data, remotes with tokens), or `.DS_Store` — at any depth.
/// `.well-known/` and other dot-folders are ordinary files.
pub fn skipped_by_default(relative: &str) -> Option<String> {
    let parts: Vec<&str> = relative.split('/').collect();
    let found = parts.iter().position(|part| {
        let lower = part.to_ascii_lowercase();
        lower.starts_with(".env") || matches!(lower.as_str(), ".git" | ".svn" | ".hg" | ".ds_store")
    })?;
    let mut part = parts[..=found].join("/");
    if found + 1 < parts.len() {
        part.push('/');
    }
    Some(part)
}

/// Compiles globs into one set, or `None` for an empty list.
pub fn glob_set(globs: &[String], option: &'static str) -> Result<Option<GlobSet>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let compiled = Glob::new(glob).map_err(|source| Error::InvalidGlob {
            glob: glob.clone(),
            option,
            source,
        })?;
        builder.add(compiled);
    }
    builder
        .build()
        .map(Some)
        .map_err(|source| Error::InvalidGlob {
            glob: globs.join(", "),
            option,
            source,
        })
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// The files to publish, sorted by relative path.
    pub files: Vec<LocalFile>,
    /// Relative paths left out by [`Filter::skips`], sorted.
    pub skipped: Vec<String>,
    /// Which framework rules made files immutable ([`Roles::notes`]).
    pub roles: Vec<String>,
}

/// Walks `dir` and returns its files sorted by relative path; see
/// [`scan_build`].
pub fn scan(
    dir: &Path,
    filter: &Filter,
    roles: &Roles,
    allow_outside: bool,
) -> Result<Vec<LocalFile>> {
    scan_build(dir, filter, roles, allow_outside).map(|scan| scan.files)
}

/// Walks `dir` and returns its files, and those skipped by default.
///
/// Symlinks are followed when they stay inside `dir`; one that points
/// outside is refused unless `allow_outside` (`force`), since it would publish
/// whatever it points at. A missing, non-directory or empty `dir` is refused
/// here, before anything touches the store, and so is a file under
/// `.vite-deploy/`, which would overwrite the store's ledger.
pub fn scan_build(dir: &Path, filter: &Filter, roles: &Roles, allow_outside: bool) -> Result<Scan> {
    let metadata = std::fs::metadata(dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::DirMissing {
            path: dir.to_path_buf(),
        },
        _ => Error::Unreadable {
            path: dir.to_path_buf(),
            source,
        },
    })?;
    if !metadata.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.to_path_buf(),
        });
    }

    let root = dir.canonicalize().map_err(|source| Error::Unreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = 0usize;
    for entry in WalkDir::new(dir).follow_links(true) {
        let entry = entry.map_err(|error| walk_error(dir, error))?;
        if entry.path_is_symlink() && !allow_outside {
            // A link out of the build would publish whatever it points at.
            let target = entry
                .path()
                .canonicalize()
                .map_err(|source| Error::Unreadable {
                    path: entry.path().to_path_buf(),
                    source,
                })?;
            if !target.starts_with(&root) {
                return Err(Error::SymlinkEscapes {
                    path: entry.path().to_path_buf(),
                    target,
                });
            }
        }
        if !entry.file_type().is_file() {
            continue;
        }
        seen += 1;
        let relative = relative_key(dir, entry.path())?;
        if !filter.allows(&relative) {
            continue;
        }
        if is_reserved(&relative) {
            return Err(Error::BadFileName {
                path: entry.path().to_path_buf(),
                reason: format!("'{LEDGER_DIR}/' is reserved for vite-deploy's release ledger and rollback copies in the store, and this file would overwrite them — rename the folder, or exclude it (exclude: ['{LEDGER_DIR}/**'])"),
            });
        }
        if filter.skips(&relative).is_some() {
            skipped.push(relative);
            continue;
        }
        let unreadable = |source| Error::Unreadable {
            path: entry.path().to_path_buf(),
            source,
        };
        let kind = roles.classify(&relative);
        // Hashed assets are thousands and compared by size: a stat is enough,
        // and an unreadable one fails its upload (before any delete). The few
        // other files are read for their MD5.
        let (size, md5) = match kind {
            FileKind::Hashed => (
                entry.metadata().map_err(|e| walk_error(dir, e))?.len(),
                None,
            ),
            FileKind::Other | FileKind::Entry => {
                let mut file = File::open(entry.path()).map_err(unreadable)?;
                let size = file.metadata().map_err(unreadable)?.len();
                (size, Some(md5_of(&mut file).map_err(unreadable)?))
            }
        };
        files.push(LocalFile {
            relative,
            path: entry.path().to_path_buf(),
            size,
            kind,
            md5,
        });
    }

    skipped.sort();
    if files.is_empty() {
        let detail = if !skipped.is_empty() {
            format!(
                ": it only has files skipped by default ({}) — an include glob that names one publishes it",
                describe_skipped(&skipped)
            )
        } else if seen > 0 && filter.is_active() {
            format!(": include/exclude left none of its {seen} files")
        } else {
            String::new()
        };
        return Err(Error::DirEmpty {
            path: dir.to_path_buf(),
            detail,
        });
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    // The deploy holds the scan to its end; growth left up to half of it unused.
    files.shrink_to_fit();
    let roles = roles.notes(&files);
    Ok(Scan {
        files,
        skipped,
        roles,
    })
}

/// Whether `relative` is inside the store's own folder at the top of the prefix.
fn is_reserved(relative: &str) -> bool {
    relative
        .strip_prefix(LEDGER_DIR)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The report's notes about files skipped by default: those of the build,
/// and those the store already has from an earlier deploy.
pub fn skip_notes(skipped: &[String], in_store: &[String]) -> Vec<String> {
    let mut notes = Vec::new();
    if !skipped.is_empty() {
        notes.push(format!(
            "skipped {} file(s) that are usually secrets or repository data: {} — not published; an include glob that names one (include: ['**', '.env.example']) publishes it",
            skipped.len(),
            describe_skipped(skipped)
        ));
    }
    if !in_store.is_empty() {
        notes.push(format!(
            "the store already has {}, which vite-deploy skips: left in place and still public — delete it from the store yourself, and change any secret it holds",
            describe_skipped(in_store)
        ));
    }
    notes
}

/// Names skipped files for a note, a folder once with its count:
/// `.env, .git/ (3 files), sub/.DS_Store`.
pub fn describe_skipped(relatives: &[String]) -> String {
    let mut parts: Vec<(String, usize)> = Vec::new();
    for relative in relatives {
        let part = skipped_by_default(relative).unwrap_or_else(|| relative.clone());
        match parts.iter_mut().find(|(p, _)| *p == part) {
            Some((_, count)) => *count += 1,
            None => parts.push((part, 1)),
        }
    }
    let named: Vec<String> = parts
        .iter()
        .take(8)
        .map(|(part, count)| match (part.ends_with('/'), count) {
            (true, 1) => format!("{part} (1 file)"),
            (true, n) => format!("{part} ({n} files)"),
            (false, _) => part.clone(),
        })
        .collect();
    let more = parts.len().saturating_sub(named.len());
    if more > 0 {
        format!("{} and {more} more", named.join(", "))
    } else {
        named.join(", ")
    }
}

/// Refuses a folder that is a project rather than its build. A project root
/// has an `index.html` too, so the markers below count whatever else the
/// folder holds: `package.json`, `vite.config.*`, `node_modules/` or `.git`
/// never sit at the top of a build. `src/` does only without an `index.html`
/// or a Vite manifest. Publishing a project would upload its sources and
/// `.env`, and replace the live `index.html` with the source one.
pub fn check_is_build(dir: &Path) -> Result<()> {
    let has = |name: &str| dir.join(name).exists();
    let mut markers: Vec<String> = Vec::new();
    if has("package.json") {
        markers.push("package.json".into());
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut configs: Vec<String> = entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.starts_with("vite.config."))
            .collect();
        configs.sort();
        markers.extend(configs);
    }
    if has("node_modules") {
        markers.push("node_modules/".into());
    }
    if has(".git") {
        markers.push(".git".into());
    }
    let built = has("index.html") || has(".vite/manifest.json") || has("manifest.json");
    if markers.is_empty() && !built && has("src") {
        markers.push("src/ but no index.html or .vite/manifest.json".into());
    }
    let Some((last, rest)) = markers.split_last() else {
        return Ok(());
    };
    let marker = if rest.is_empty() {
        last.clone()
    } else {
        format!("{} and {last}", rest.join(", "))
    };
    Err(Error::NotABuild {
        path: dir.to_path_buf(),
        marker,
    })
}

fn walk_error(dir: &Path, error: walkdir::Error) -> Error {
    let path = error.path().unwrap_or(dir).to_path_buf();
    if let Some(ancestor) = error.loop_ancestor() {
        return Error::SymlinkLoop {
            path,
            ancestor: ancestor.to_path_buf(),
        };
    }
    let source = error
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("unreadable directory entry"));
    if source.kind() == std::io::ErrorKind::NotFound {
        // A dangling symlink: walkdir cannot follow it.
        return Error::BadFileName {
            path,
            reason: "it is a symlink to a file that does not exist — remove it or exclude it"
                .into(),
        };
    }
    Error::Unreadable { path, source }
}

fn relative_key(dir: &Path, path: &Path) -> Result<String> {
    let bad = |reason: &str| Error::BadFileName {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let relative = path
        .strip_prefix(dir)
        .map_err(|_| bad("it is outside the build directory"))?;
    let mut parts = Vec::new();
    for component in relative.components() {
        let part = component
            .as_os_str()
            .to_str()
            .ok_or_else(|| bad("its name is not valid UTF-8"))?;
        if part.chars().any(|c| c.is_control()) {
            return Err(bad("its name contains a control character"));
        }
        parts.push(part);
    }
    Ok(parts.join("/"))
}

/// Streams a file through MD5 without holding it in memory.
pub fn md5_of(reader: &mut impl Read) -> std::io::Result<[u8; 16]> {
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().into())
}

/// Decides each file's role. A file counts as content-hashed (compared by
/// size, cached as immutable) only when the build proves it: it is in the
/// list the caller passes (the plugin's list of what Rollup emitted), or in
/// the Vite manifest found in the build directory. Names prove nothing: a
/// `public/og-image-1200x630.png` looks hashed but is edited in place, and a
/// false "hashed" hides a same-size change behind a year of `immutable`,
/// while a false "other" only costs a content comparison.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    hashed: std::collections::HashSet<String>,
    frameworks: Vec<FrameworkRule>,
}

/// A meta-framework's own contract for one folder of its static output,
/// detected from a file its build always writes. That contract is proof of
/// the same kind as Rollup's list: the framework writes only content-hashed
/// build output there, so a name like Nuxt's `_nuxt/BfK3xU2a.js` is hashed
/// although it has no `name-` stem.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FrameworkRule {
    framework: &'static str,
    /// The folder, relative to the build, with a trailing `/`.
    folder: String,
    /// A sub-folder the framework rewrites in place (Nuxt's `builds/`).
    except: Option<String>,
    /// The folder may also hold copies of `public/` files (Vite's
    /// `assets/`), so only names of Vite's hashed shape count.
    hashed_names_only: bool,
}

impl FrameworkRule {
    fn covers(&self, relative: &str) -> bool {
        let Some(inside) = relative.strip_prefix(&self.folder) else {
            return false;
        };
        if self
            .except
            .as_deref()
            .is_some_and(|except| relative.starts_with(except))
        {
            return false;
        }
        !self.hashed_names_only || has_content_hash(inside.rsplit('/').next().unwrap_or(inside))
    }
}

/// Vite manifests the engine reads when the caller lists no hashed files:
/// `build.manifest: true` writes the first, Vite 4 and backend integrations
/// (`build.manifest: 'manifest.json'`) the second.
pub const MANIFEST_NAMES: [&str; 2] = [".vite/manifest.json", "manifest.json"];

impl Roles {
    /// Roles from an explicit list of content-hashed paths relative to the
    /// build directory; `None` proves nothing, so every file is compared by
    /// content.
    pub fn new(hashed_files: Option<Vec<String>>) -> Self {
        Self {
            hashed: hashed_files
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.trim_start_matches('/').to_string())
                .collect(),
            frameworks: Vec::new(),
        }
    }

    /// The roles of the build in `dir`: the caller's list when there is one,
    /// else the `file`, `css` and `assets` entries of the first Vite manifest
    /// of [`MANIFEST_NAMES`] in `dir` (a `manifest.json` of another shape, such
    /// as a web app manifest, lists nothing), else none.
    pub fn for_build(dir: &Path, hashed_files: Option<Vec<String>>) -> Self {
        if hashed_files.is_some() {
            return Self::new(hashed_files);
        }
        let listed = MANIFEST_NAMES.iter().find_map(|name| {
            let content = std::fs::read(dir.join(name)).ok()?;
            let files = crate::manifest::manifest_references(&content);
            (!files.is_empty()).then_some(files)
        });
        Self::new(listed).with_frameworks(dir)
    }

    /// Adds the rules of the meta-frameworks whose static output `dir` is.
    /// Each is detected from a file the framework's build always writes, not
    /// from a folder name alone:
    /// - SvelteKit: `<appDir>/version.json` beside `<appDir>/immutable/`
    ///   (`_app` by default): everything under `immutable/` is hashed;
    ///   `version.json` itself changes every build.
    /// - Nuxt (`nuxi generate`): `<buildAssetsDir>/builds/latest.json` and
    ///   `builds/meta/` (`_nuxt` by default): everything under the folder but
    ///   `builds/` is hashed.
    /// - React Router (framework mode, `build/client`): its route manifest
    ///   `assets/manifest-HASH.js` (`window.__reactRouterManifest=`, Remix's
    ///   `window.__remixManifest=`): files of Vite's hashed shape under
    ///   `assets/`.
    /// - Astro: `_astro/`, the folder its build writes its bundles to, which
    ///   `public/` files do not go to: files of Astro's hashed shape
    ///   (`name.HASH.ext`) there.
    fn with_frameworks(mut self, dir: &Path) -> Self {
        let top_folders: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        let is_file = |relative: &str| dir.join(relative).is_file();
        let is_dir = |relative: &str| dir.join(relative).is_dir();
        for folder in &top_folders {
            if is_dir(&format!("{folder}/immutable")) && is_sveltekit_version(&dir.join(folder)) {
                self.frameworks.push(FrameworkRule {
                    framework: "SvelteKit",
                    folder: format!("{folder}/immutable/"),
                    except: None,
                    hashed_names_only: false,
                });
            }
            if is_file(&format!("{folder}/builds/latest.json"))
                && is_dir(&format!("{folder}/builds/meta"))
            {
                self.frameworks.push(FrameworkRule {
                    framework: "Nuxt",
                    folder: format!("{folder}/"),
                    except: Some(format!("{folder}/builds/")),
                    hashed_names_only: false,
                });
            }
        }
        if top_folders.iter().any(|f| f == "assets")
            && has_react_router_manifest(&dir.join("assets"))
        {
            self.frameworks.push(FrameworkRule {
                framework: "React Router",
                folder: "assets/".into(),
                except: None,
                hashed_names_only: true,
            });
        }
        if top_folders.iter().any(|f| f == "_astro") {
            self.frameworks.push(FrameworkRule {
                framework: "Astro",
                folder: "_astro/".into(),
                except: None,
                hashed_names_only: true,
            });
        }
        self
    }

    /// The plan's notes on which framework rules applied, with how many of
    /// `files` each made immutable.
    pub fn notes(&self, files: &[LocalFile]) -> Vec<String> {
        self.frameworks
            .iter()
            .filter_map(|rule| {
                let count = files
                    .iter()
                    .filter(|f| f.kind == FileKind::Hashed && rule.covers(&f.relative))
                    .count();
                let except = rule
                    .except
                    .as_deref()
                    .map(|e| format!(" (not `{e}`)"))
                    .unwrap_or_default();
                (count > 0).then(|| {
                    format!(
                        "immutable: {} `{}`{except}, {count} file{}",
                        rule.framework,
                        rule.folder,
                        if count == 1 { "" } else { "s" }
                    )
                })
            })
            .collect()
    }

    /// The role of the file at `relative`: entry files by name, then hashed
    /// when listed or when it is the source map of a listed file.
    pub fn classify(&self, relative: &str) -> FileKind {
        if is_entry(relative) {
            FileKind::Entry
        } else if self.hashed.contains(relative)
            || relative
                .strip_suffix(".map")
                .is_some_and(|f| self.hashed.contains(f))
            || self.frameworks.iter().any(|rule| rule.covers(relative))
        {
            FileKind::Hashed
        } else {
            FileKind::Other
        }
    }
}

/// SvelteKit's `version.json`: `{"version":"…"}`, written every build.
fn is_sveltekit_version(app_dir: &Path) -> bool {
    #[derive(serde::Deserialize)]
    struct Version {
        #[allow(dead_code)]
        version: String,
    }
    std::fs::read(app_dir.join("version.json"))
        .ok()
        .is_some_and(|content| serde_json::from_slice::<Version>(&content).is_ok())
}

/// Whether `assets` holds React Router's (or Remix's) route manifest.
fn has_react_router_manifest(assets: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(assets) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with("manifest-") && name.ends_with(".js") && has_content_hash(&name)) {
            return false;
        }
        let mut head = [0u8; 64];
        let read = File::open(entry.path())
            .and_then(|mut f| f.read(&mut head))
            .unwrap_or(0);
        let head = String::from_utf8_lossy(&head[..read]);
        head.starts_with("window.__reactRouterManifest=")
            || head.starts_with("window.__remixManifest=")
    })
}

/// Decides a file's role from its path alone. The scan does not use it (see
/// [`Roles`]); it tells whether a missing reference looks like a built asset.
///
/// Vite names emitted assets `[name]-[hash].[ext]` under `build.assetsDir`
/// (`assets/` by default), with an 8-character base64url hash (hex in Vite
/// 2–4). A name counts as hashed when it ends that way and is not HTML: a
/// false "hashed" would hide a same-size change, while a false "other" only
/// costs a content comparison, so the rule is strict.
pub fn classify(relative: &str) -> FileKind {
    if is_entry(relative) {
        return FileKind::Entry;
    }
    if has_content_hash(relative.rsplit('/').next().unwrap_or(relative))
        || in_framework_build_folder(relative)
    {
        FileKind::Hashed
    } else {
        FileKind::Other
    }
}

/// Under the default build folders of SvelteKit (`_app/immutable/`) and Nuxt
/// (`_nuxt/`, but not its `builds/` metadata), whose chunks are named by
/// their hash alone (`_nuxt/BfK3xU2a.js`): a reference there is to a built
/// file.
fn in_framework_build_folder(relative: &str) -> bool {
    relative.starts_with("_app/immutable/")
        || (relative.starts_with("_nuxt/") && !relative.starts_with("_nuxt/builds/"))
}

/// HTML pages and Vite's manifests: what references the hashed assets.
fn is_entry(relative: &str) -> bool {
    is_html(relative) || is_manifest(relative)
}

/// An HTML page: what visitors open.
pub fn is_html(relative: &str) -> bool {
    let lower = relative.to_ascii_lowercase();
    lower.ends_with(".html") || lower.ends_with(".htm")
}

fn is_manifest(relative: &str) -> bool {
    matches!(
        relative,
        ".vite/manifest.json" | ".vite/ssr-manifest.json" | "manifest.json" | "ssr-manifest.json"
    )
}

/// True for `stem-HASH.ext` and `stem.HASH.ext` (optionally followed by
/// `.map`, `.gz` or `.br`), where HASH is exactly 8 characters (Rollup's
/// default length) of
/// `[A-Za-z0-9_-]` holding at least one digit or one upper-case letter, so
/// plain words (`-settings.js`) do not count.
fn has_content_hash(name: &str) -> bool {
    let mut name = name;
    for suffix in [".map", ".gz", ".br"] {
        if let Some(stripped) = name.strip_suffix(suffix) {
            name = stripped;
        }
    }
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return false;
    };
    if extension.is_empty() || !extension.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    // The hash itself may contain '-' or '_', so try every split point.
    stem.char_indices()
        .filter(|(_, c)| *c == '-' || *c == '.')
        .any(|(at, _)| {
            let hash = &stem[at + 1..];
            at > 0
                && hash.len() == 8
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                && hash
                    .bytes()
                    .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_vite_output() {
        for hashed in [
            "assets/index-3fA9c1xZ.js",
            "assets/index-B-x_2kL9.js",
            "assets/vendor-react-Bq81kLxy.js",
            "assets/index-3fA9c1xZ.js.map",
            "assets/logo.1a2b3c4d.svg",
            "assets/index-DiwrgTda.css",
        ] {
            assert_eq!(classify(hashed), FileKind::Hashed, "{hashed}");
        }
        for other in [
            "robots.txt",
            "favicon.ico",
            "assets/settings-page.js",
            "img/photo.jpg",
            "vendor-lib.js",
            "fonts/Roboto-Regular2020.woff2",
            "assets/noext-3fA9c1xZ",
        ] {
            assert_eq!(classify(other), FileKind::Other, "{other}");
        }
        for entry in [
            "index.html",
            "nested/page.html",
            ".vite/manifest.json",
            "about-3fA9c1xZ.html",
        ] {
            assert_eq!(classify(entry), FileKind::Entry, "{entry}");
        }
    }

    #[test]
    fn a_manifest_list_replaces_name_patterns() {
        let roles = Roles::new(Some(vec![
            "assets/main.js".into(),
            "/assets/logo-3fA9c1xZ.svg".into(),
        ]));
        assert_eq!(roles.classify("assets/main.js"), FileKind::Hashed);
        assert_eq!(roles.classify("assets/main.js.map"), FileKind::Hashed);
        assert_eq!(roles.classify("assets/logo-3fA9c1xZ.svg"), FileKind::Hashed);
        assert_eq!(
            roles.classify("assets/unlisted-3fA9c1xZ.js"),
            FileKind::Other
        );
        assert_eq!(roles.classify("index.html"), FileKind::Entry);
    }

    #[test]
    fn names_that_look_hashed_prove_nothing() {
        let unproven = Roles::default();
        for path in [
            "assets/unlisted-3fA9c1xZ.js",
            "og-image-1200x630.png",
            "hero-20240101.jpg",
        ] {
            assert_eq!(unproven.classify(path), FileKind::Other, "{path}");
        }
        assert_eq!(unproven.classify("index.html"), FileKind::Entry);
    }

    #[test]
    fn the_build_manifest_proves_hashed_files_unless_a_list_is_given() {
        let dir = Dir::new();
        dir.touch(
            ".vite/manifest.json",
            r#"{"index.html":{"file":"assets/index-3fA9c1xZ.js","css":["assets/index-DiwrgTda.css"],"assets":["assets/logo-a1B2c3D4.svg"]}}"#,
        );
        let roles = Roles::for_build(dir.0.path(), None);
        for hashed in [
            "assets/index-3fA9c1xZ.js",
            "assets/index-3fA9c1xZ.js.map",
            "assets/index-DiwrgTda.css",
            "assets/logo-a1B2c3D4.svg",
        ] {
            assert_eq!(roles.classify(hashed), FileKind::Hashed, "{hashed}");
        }
        assert_eq!(roles.classify("hero-20240101.jpg"), FileKind::Other);
        let listed = Roles::for_build(dir.0.path(), Some(vec!["a-1b2C3d4e.js".into()]));
        assert_eq!(listed.classify("assets/index-3fA9c1xZ.js"), FileKind::Other);
        assert_eq!(listed.classify("a-1b2C3d4e.js"), FileKind::Hashed);

        // A web app manifest is not Vite's: it proves nothing.
        let pwa = Dir::new();
        pwa.touch(
            "manifest.json",
            r#"{"name":"App","icons":[{"src":"icon-512x512.png"}]}"#,
        );
        let roles = Roles::for_build(pwa.0.path(), None);
        assert_eq!(roles.classify("icon-512x512.png"), FileKind::Other);
        assert_eq!(roles.classify("assets/index-3fA9c1xZ.js"), FileKind::Other);
    }

    /// Roles and the plan's notes for a build laid out by `files`.
    fn framework_roles(files: &[(&str, &str)]) -> (Roles, Vec<String>) {
        let dir = Dir::new();
        for (relative, content) in files {
            dir.touch(relative, content);
        }
        let roles = Roles::for_build(dir.0.path(), None);
        let scan = scan_build(dir.0.path(), &Filter::default(), &roles, false).unwrap();
        (roles, scan.roles)
    }

    #[test]
    fn sveltekit_immutable_folder_is_hashed_when_its_version_file_proves_it() {
        let build = [
            ("index.html", "<html>"),
            ("about/index.html", "<html>"),
            ("404.html", "<html>"),
            ("_app/version.json", r#"{"version":"1764633600000"}"#),
            ("_app/immutable/chunks/CzRk7a1B.js", "x"),
            ("_app/immutable/entry/start.BDsZ0k2q.js", "x"),
            ("_app/immutable/nodes/0.Dq3xk1Lz.js", "x"),
            ("_app/immutable/assets/0.CbD9aZ1x.css", "x"),
            ("favicon.png", "x"),
        ];
        let (roles, notes) = framework_roles(&build);
        for hashed in [
            "_app/immutable/chunks/CzRk7a1B.js",
            "_app/immutable/entry/start.BDsZ0k2q.js",
            "_app/immutable/nodes/0.Dq3xk1Lz.js",
            "_app/immutable/assets/0.CbD9aZ1x.css",
        ] {
            assert_eq!(roles.classify(hashed), FileKind::Hashed, "{hashed}");
        }
        assert_eq!(roles.classify("_app/version.json"), FileKind::Other);
        assert_eq!(roles.classify("favicon.png"), FileKind::Other);
        assert_eq!(roles.classify("about/index.html"), FileKind::Entry);
        assert_eq!(notes, ["immutable: SvelteKit `_app/immutable/`, 4 files"]);

        // A custom appDir is found by its version file, not by its name.
        let (custom, _) = framework_roles(&[
            ("site/version.json", r#"{"version":"1"}"#),
            ("site/immutable/chunks/CzRk7a1B.js", "x"),
        ]);
        assert_eq!(
            custom.classify("site/immutable/chunks/CzRk7a1B.js"),
            FileKind::Hashed
        );

        // The folder name alone proves nothing.
        let (unproven, notes) = framework_roles(&[
            ("index.html", "<html>"),
            ("_app/immutable/chunks/CzRk7a1B.js", "x"),
        ]);
        assert_eq!(
            unproven.classify("_app/immutable/chunks/CzRk7a1B.js"),
            FileKind::Other
        );
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn nuxt_build_folder_is_hashed_when_its_build_metadata_proves_it_but_not_the_metadata() {
        let build = [
            ("index.html", "<html>"),
            ("200.html", "<html>"),
            ("404.html", "<html>"),
            ("_payload.json", "{}"),
            ("_nuxt/BfK3xU2a.js", "x"),
            ("_nuxt/entry.DkQx3a9Z.css", "x"),
            ("_nuxt/builds/latest.json", r#"{"id":"a"}"#),
            ("_nuxt/builds/meta/a.json", r#"{"id":"a"}"#),
        ];
        let (roles, notes) = framework_roles(&build);
        assert_eq!(roles.classify("_nuxt/BfK3xU2a.js"), FileKind::Hashed);
        assert_eq!(roles.classify("_nuxt/BfK3xU2a.js.map"), FileKind::Hashed);
        assert_eq!(roles.classify("_nuxt/entry.DkQx3a9Z.css"), FileKind::Hashed);
        assert_eq!(roles.classify("_nuxt/builds/latest.json"), FileKind::Other);
        assert_eq!(roles.classify("_nuxt/builds/meta/a.json"), FileKind::Other);
        assert_eq!(roles.classify("_payload.json"), FileKind::Other);
        assert_eq!(roles.classify("200.html"), FileKind::Entry);
        assert_eq!(
            notes,
            ["immutable: Nuxt `_nuxt/` (not `_nuxt/builds/`), 2 files"]
        );

        let (unproven, _) =
            framework_roles(&[("index.html", "<html>"), ("_nuxt/BfK3xU2a.js", "x")]);
        assert_eq!(unproven.classify("_nuxt/BfK3xU2a.js"), FileKind::Other);
    }

    #[test]
    fn react_router_assets_are_hashed_when_its_route_manifest_proves_it() {
        let build = [
            ("index.html", "<html>"),
            (
                "assets/manifest-3c1dA9fZ.js",
                r#"window.__reactRouterManifest={"entry":{"module":"/assets/entry.client-Bq81kLxy.js"}};"#,
            ),
            ("assets/entry.client-Bq81kLxy.js", "x"),
            ("assets/about-D4x9kQ2a.js", "x"),
            ("assets/logo-a1B2c3D4.svg", "x"),
            // A `public/assets/` copy keeps its name: not hashed.
            ("assets/terms.pdf", "x"),
        ];
        let (roles, notes) = framework_roles(&build);
        for hashed in [
            "assets/manifest-3c1dA9fZ.js",
            "assets/entry.client-Bq81kLxy.js",
            "assets/about-D4x9kQ2a.js",
            "assets/logo-a1B2c3D4.svg",
        ] {
            assert_eq!(roles.classify(hashed), FileKind::Hashed, "{hashed}");
        }
        assert_eq!(roles.classify("assets/terms.pdf"), FileKind::Other);
        assert_eq!(notes, ["immutable: React Router `assets/`, 4 files"]);

        // A hashed-looking `manifest-*.js` that is not the route manifest
        // proves nothing.
        let (unproven, _) = framework_roles(&[
            ("index.html", "<html>"),
            ("assets/manifest-3c1dA9fZ.js", "export const x = 1;"),
            ("assets/about-D4x9kQ2a.js", "x"),
        ]);
        assert_eq!(
            unproven.classify("assets/about-D4x9kQ2a.js"),
            FileKind::Other
        );
    }

    #[test]
    fn astro_bundles_are_hashed_by_their_shape_in_its_folder() {
        let (roles, notes) = framework_roles(&[
            ("index.html", "<html>"),
            ("about/index.html", "<html>"),
            ("_astro/index.BjR2x7aN.css", "x"),
            ("_astro/Counter.D8c9aS1x.js", "x"),
            ("_astro/readme.txt", "x"),
            ("img/photo-20240101.jpg", "x"),
        ]);
        assert_eq!(
            roles.classify("_astro/index.BjR2x7aN.css"),
            FileKind::Hashed
        );
        assert_eq!(
            roles.classify("_astro/Counter.D8c9aS1x.js"),
            FileKind::Hashed
        );
        assert_eq!(roles.classify("_astro/readme.txt"), FileKind::Other);
        assert_eq!(roles.classify("img/photo-20240101.jpg"), FileKind::Other);
        assert_eq!(notes, ["immutable: Astro `_astro/`, 2 files"]);
    }

    #[test]
    fn a_plain_vite_build_gets_no_framework_rule() {
        let (roles, notes) = framework_roles(&[
            ("index.html", "<html>"),
            ("assets/index-3fA9c1xZ.js", "x"),
            ("app/version.json", r#"{"version":"1"}"#),
        ]);
        assert_eq!(roles.classify("assets/index-3fA9c1xZ.js"), FileKind::Other);
        assert!(notes.is_empty(), "{notes:?}");
    }

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Self {
            Dir(tempfile::tempdir().unwrap())
        }
        fn touch(&self, relative: &str, content: &str) -> &Self {
            let path = self.0.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
            self
        }
        fn scan(&self, include: &[&str], exclude: &[&str]) -> Result<Vec<LocalFile>> {
            let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            scan(
                self.0.path(),
                &Filter::new(&strings(include), &strings(exclude))?,
                &Roles::default(),
                false,
            )
        }
    }

    fn names(files: &[LocalFile]) -> Vec<&str> {
        files.iter().map(|f| f.relative.as_str()).collect()
    }

    #[test]
    fn scan_lists_files_with_slash_keys_sizes_and_hashes() {
        let dir = Dir::new();
        dir.touch("index.html", "<html>")
            .touch("assets/a-3fA9c1xZ.js", "js")
            .touch("a b/ü+#.txt", "x");
        let files = dir.scan(&[], &[]).unwrap();
        assert_eq!(
            names(&files),
            ["a b/ü+#.txt", "assets/a-3fA9c1xZ.js", "index.html"]
        );
        assert_eq!(files[2].size, 6);
        let proven = scan(
            dir.0.path(),
            &Filter::default(),
            &Roles::new(Some(vec!["assets/a-3fA9c1xZ.js".into()])),
            false,
        )
        .unwrap();
        assert!(
            proven[1].md5.is_none(),
            "hashed assets are compared by size"
        );
        assert!(
            files[1].md5.is_some(),
            "an unproven name is compared by content"
        );
        assert_eq!(files[2].md5, Some(Md5::digest(b"<html>").into()));
    }

    #[test]
    fn include_and_exclude_filter_relative_paths() {
        let dir = Dir::new();
        dir.touch("index.html", "")
            .touch("assets/a-3fA9c1xZ.js", "")
            .touch("assets/a-3fA9c1xZ.js.map", "");
        assert_eq!(
            names(&dir.scan(&[], &["*.map"]).unwrap()),
            ["assets/a-3fA9c1xZ.js", "index.html"]
        );
        assert_eq!(
            names(&dir.scan(&["assets/**"], &[]).unwrap()),
            ["assets/a-3fA9c1xZ.js", "assets/a-3fA9c1xZ.js.map"]
        );
        let error = dir.scan(&[], &["**"]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("include/exclude left none of its 3 files"),
            "{error}"
        );
        assert!(matches!(
            dir.scan(&["a[b"], &[]),
            Err(Error::InvalidGlob { .. })
        ));
    }

    #[test]
    fn missing_empty_and_file_dirs_are_refused() {
        let dir = Dir::new();
        assert!(matches!(dir.scan(&[], &[]), Err(Error::DirEmpty { .. })));
        let missing = dir.0.path().join("nope");
        assert!(matches!(
            scan(&missing, &Filter::default(), &Roles::default(), false),
            Err(Error::DirMissing { .. })
        ));
        dir.touch("file", "");
        assert!(matches!(
            scan(
                &dir.0.path().join("file"),
                &Filter::default(),
                &Roles::default(),
                false
            ),
            Err(Error::NotADirectory { .. })
        ));
    }

    #[test]
    fn a_project_folder_is_not_a_build() {
        let dir = Dir::new();
        dir.touch("package.json", "{}").touch("src/main.js", "");
        let error = check_is_build(dir.0.path()).unwrap_err();
        assert!(error.to_string().contains("package.json"), "{error}");
        let sources = Dir::new();
        sources.touch("src/main.js", "");
        let error = check_is_build(sources.0.path()).unwrap_err();
        assert!(
            error.to_string().contains("src/ but no index.html"),
            "{error}"
        );
        sources.touch("index.html", "");
        assert!(
            check_is_build(sources.0.path()).is_ok(),
            "a build may have src/"
        );
        let assets_only = Dir::new();
        assets_only.touch("assets/a-3fA9c1xZ.js", "");
        assert!(
            check_is_build(assets_only.0.path()).is_ok(),
            "no project markers: nothing to say"
        );
    }

    #[test]
    fn a_project_root_is_not_a_build_even_with_an_index_html() {
        for (marker, named) in [
            ("package.json", "package.json"),
            ("vite.config.mts", "vite.config.mts"),
            ("node_modules/vite/package.json", "node_modules/"),
            (".git/config", ".git"),
        ] {
            let dir = Dir::new();
            dir.touch("index.html", "<html>").touch(marker, "");
            let error = check_is_build(dir.0.path()).unwrap_err();
            assert!(
                matches!(error, Error::NotABuild { .. }),
                "{marker}: {error}"
            );
            let text = error.to_string();
            assert!(text.contains(&format!("it has {named} —")), "{text}");
            assert!(
                text.contains("usually dist") && text.contains("--force"),
                "{text}"
            );
        }
        let project = Dir::new();
        project
            .touch("index.html", "")
            .touch("package.json", "{}")
            .touch("vite.config.ts", "")
            .touch(".git/HEAD", "");
        let error = check_is_build(project.0.path()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("it has package.json, vite.config.ts and .git —"),
            "{error}"
        );
        let build = Dir::new();
        build
            .touch("index.html", "")
            .touch("assets/a-3fA9c1xZ.js", "")
            .touch("vite.svg", "")
            .touch(".well-known/security.txt", "");
        assert!(check_is_build(build.0.path()).is_ok());
    }

    #[test]
    fn secrets_and_repository_data_are_skipped_unless_an_include_names_them() {
        let dir = Dir::new();
        for name in [
            ".env",
            ".env.production.local",
            ".env.example",
            ".git/config",
            ".git/HEAD",
            "docs/.DS_Store",
            "vendor/.svn/entries",
            ".hg/store/data",
            "nested/.ENV",
            ".well-known/security.txt",
            ".gitignore",
            "environment.js",
            "index.html",
        ] {
            dir.touch(name, "x");
        }
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let scan_with = |include: &[&str], exclude: &[&str]| {
            scan_build(
                dir.0.path(),
                &Filter::new(&strings(include), &strings(exclude)).unwrap(),
                &Roles::default(),
                false,
            )
            .unwrap()
        };
        let found = scan_with(&[], &[]);
        assert_eq!(
            names(&found.files),
            [
                ".gitignore",
                ".well-known/security.txt",
                "environment.js",
                "index.html"
            ]
        );
        assert_eq!(
            describe_skipped(&found.skipped),
            ".env, .env.example, .env.production.local, .git/ (2 files), .hg/ (1 file), docs/.DS_Store, nested/.ENV, vendor/.svn/ (1 file)"
        );
        let named = scan_with(&["**", ".env.example"], &[]);
        assert!(names(&named.files).contains(&".env.example"));
        assert!(!names(&named.files).contains(&".env"));
        assert_eq!(named.skipped.len(), 8);
        let excluded = scan_with(&[], &[".git/**"]);
        assert_eq!(excluded.skipped.len(), 7, "excluded files are not news");

        let only_secrets = Dir::new();
        only_secrets.touch(".env", "KEY=1");
        let error = only_secrets.scan(&[], &[]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("it only has files skipped by default (.env)"),
            "{error}"
        );
    }

    #[test]
    fn files_under_the_reserved_folder_are_refused() {
        let dir = Dir::new();
        dir.touch("index.html", "")
            .touch("docs/.vite-deploy/page.html", "")
            .touch(".vite-deployed", "");
        assert_eq!(dir.scan(&[], &[]).unwrap().len(), 3);
        dir.touch(".vite-deploy/ledger.json", "{}");
        let error = dir.scan(&[], &[]).unwrap_err();
        assert!(matches!(error, Error::BadFileName { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains(".vite-deploy/ledger.json"), "{text}");
        assert!(
            text.contains("reserved for vite-deploy's release ledger"),
            "{text}"
        );
        assert!(text.contains("exclude: ['.vite-deploy/**']"), "{text}");
        assert_eq!(dir.scan(&[], &[".vite-deploy/**"]).unwrap().len(), 3);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_inside_and_refused_outside_and_in_loops() {
        let dir = Dir::new();
        dir.touch("index.html", "").touch("real/a.txt", "a");
        std::os::unix::fs::symlink(dir.0.path().join("real"), dir.0.path().join("linked")).unwrap();
        assert_eq!(
            names(&dir.scan(&[], &[]).unwrap()),
            ["index.html", "linked/a.txt", "real/a.txt"]
        );
        let shared = Dir::new();
        shared.touch("secret.txt", "s");
        std::os::unix::fs::symlink(
            shared.0.path().join("secret.txt"),
            dir.0.path().join("escape.txt"),
        )
        .unwrap();
        let error = dir.scan(&[], &[]).unwrap_err();
        assert!(matches!(error, Error::SymlinkEscapes { .. }), "{error}");
        let forced = scan(dir.0.path(), &Filter::default(), &Roles::default(), true).unwrap();
        assert!(names(&forced).contains(&"escape.txt"));
        std::fs::remove_file(dir.0.path().join("escape.txt")).unwrap();
        std::os::unix::fs::symlink(dir.0.path(), dir.0.path().join("loop")).unwrap();
        assert!(matches!(dir.scan(&[], &[]), Err(Error::SymlinkLoop { .. })));
    }
}
