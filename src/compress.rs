//! Precompression: text-like files stored gzip- or brotli-encoded, with
//! `Content-Encoding`, so a CDN serves fewer bytes without compressing them
//! itself.
//!
//! Which files: text-like ones (by their `Content-Type`: `text/*`, JSON, XML,
//! SVG, wasm) of at least [`MIN_SIZE`] bytes and at most the multipart
//! threshold. Larger files stream to the store part by part and are stored as
//! they are: a compressed copy would have to be held whole to be stored, and
//! text files that large are rare in a Vite build. A file that does not save
//! [`MIN_SAVING_PERCENT`] is stored as it is too.
//!
//! Change detection stays on the uncompressed content: the ledger records,
//! per key, the method tried and the size stored ([`Encoding`]), so the next
//! deploy recognises the stored object by that size and the ETag it recorded
//! (a listing only shows the compressed bytes) and compares the content's
//! MD5 the ledger recorded. A key whose method differs from the one wanted
//! now is uploaded again, with the reason `encoding changed`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ledger::Release;
use crate::local::LocalFile;
use crate::plan::{Action, Plan, Reason};
use crate::remote::RemoteObject;
use crate::store::{Backend, Target};

/// Files smaller than this are stored as they are: a response of one or two
/// packets gains nothing from compression, and gzip's own framing costs
/// 18 bytes.
pub const MIN_SIZE: u64 = 1024;

/// A file is stored compressed only when that saves at least this share of
/// its bytes; below it, the client's decompression is not worth it.
pub const MIN_SAVING_PERCENT: u64 = 10;

/// gzip level, chosen by measurement (bench/README.md, Compression levels):
/// 6 saves within 1% of 9 at a third of its CPU time.
pub const GZIP_LEVEL: u32 = 6;

/// Brotli quality, chosen by measurement (bench/README.md, Compression
/// levels): 11 saves a few % more at 10–20 times the CPU time, which on a
/// CI runner's 2 cores would be slower than the upload itself.
pub const BROTLI_QUALITY: u32 = 9;

/// How files are compressed: the `compress` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// `Content-Encoding: gzip`: every browser and CDN.
    Gzip,
    /// `Content-Encoding: br`: browsers send `Accept-Encoding: br` only over
    /// HTTPS, and the CDN must pass the header through.
    Br,
}

impl Method {
    /// The `Content-Encoding` value.
    pub fn content_encoding(self) -> &'static str {
        match self {
            Method::Gzip => "gzip",
            Method::Br => "br",
        }
    }

    /// The method named by the option's value: `gzip` or `br`.
    pub fn parse(value: &str) -> Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "gzip" => Ok(Method::Gzip),
            "br" | "brotli" => Ok(Method::Br),
            other => Err(Error::InvalidOption {
                name: "compress".into(),
                reason: format!(
                    "'{other}' is not a compression: use 'gzip', 'br' or false (see Precompression in the README)"
                ),
            }),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.content_encoding())
    }
}

/// What the ledger records of a key compression was tried on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Encoding {
    /// The method tried.
    pub method: Method,
    /// Bytes stored, when the file is stored compressed; `None` when it did
    /// not shrink enough and is stored as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_size: Option<u64>,
}

/// Whether `compress` would compress `relative` of `size` bytes; whether it
/// pays is known only once it is compressed.
pub fn is_candidate(relative: &str, size: u64) -> bool {
    (MIN_SIZE..=crate::publish::MULTIPART_THRESHOLD).contains(&size)
        && crate::headers::content_type(relative).is_some_and(is_text_like)
}

/// Whether a `Content-Type` is one that compresses: text, JSON, XML (SVG
/// too) and wasm; images, fonts and media are compressed already.
fn is_text_like(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    mime.starts_with("text/")
        || mime.ends_with("json")
        || mime.ends_with("+json")
        || mime.ends_with("xml")
        || mime.ends_with("+xml")
        || mime == "application/wasm"
        || mime == "application/javascript"
}

/// The method to try on a file: the setting's, for a candidate.
pub fn wanted(setting: Option<Method>, file: &LocalFile) -> Option<Method> {
    setting.filter(|_| is_candidate(&file.relative, file.size))
}

/// Refuses `compress` on a store that cannot keep `Content-Encoding`: the
/// files would be served as compressed bytes no browser decodes.
pub fn check_store(setting: Option<Method>, target: &Target) -> Result<()> {
    let Some(method) = setting else {
        return Ok(());
    };
    if target.backend.keeps_headers() && target.backend != Backend::Http {
        return Ok(());
    }
    let why = if target.backend == Backend::Http {
        "a WebDAV server stores no Content-Encoding (most ignore it)"
    } else {
        "a file:// target stores no Content-Encoding"
    };
    Err(Error::InvalidOption {
        name: "compress".into(),
        reason: format!(
            "compress: '{method}' cannot be used with {}: {why}, so browsers would get compressed bytes they cannot read — leave compress off there (let the web server compress), or deploy to s3://, gs:// or az://",
            target.url
        ),
    })
}

/// A writer that refuses to grow past `limit` bytes, so a file that does not
/// shrink enough costs no more than its useful share of memory.
struct Capped {
    buffer: Vec<u8>,
    limit: usize,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buffer.len() + data.len() > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                NOT_WORTH_IT,
            ));
        }
        self.buffer.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const NOT_WORTH_IT: &str = "compression saves too little";

/// Reads a sequence of pieces as one stream.
struct Pieces<'a, T> {
    pieces: &'a [T],
    at: usize,
    offset: usize,
}

impl<T: AsRef<[u8]>> std::io::Read for Pieces<'_, T> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while let Some(piece) = self.pieces.get(self.at) {
            let rest = &piece.as_ref()[self.offset..];
            if rest.is_empty() {
                self.at += 1;
                self.offset = 0;
                continue;
            }
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.offset += n;
            return Ok(n);
        }
        Ok(0)
    }
}

/// The content compressed with `method`, or `None` when that would not save
/// [`MIN_SAVING_PERCENT`] of its `size` bytes (compression then stops as soon
/// as it is past that). CPU-bound: run it on a blocking thread.
pub fn compress<T: AsRef<[u8]>>(
    method: Method,
    pieces: &[T],
    size: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let limit = size - size * MIN_SAVING_PERCENT as usize / 100;
    let output = Capped {
        buffer: Vec::with_capacity(limit.min(size / 2 + 64)),
        limit,
    };
    let result = match method {
        Method::Gzip => {
            // flate2's header carries no name and mtime 0: the same content
            // gives the same bytes, so the same ETag, on every deploy.
            let level = flate2::Compression::new(GZIP_LEVEL);
            let mut encoder = flate2::write::GzEncoder::new(output, level);
            pieces
                .iter()
                .try_for_each(|piece| encoder.write_all(piece.as_ref()))
                .and_then(|()| encoder.finish())
        }
        Method::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: BROTLI_QUALITY as i32,
                size_hint: size,
                ..Default::default()
            };
            let mut reader = Pieces {
                pieces,
                at: 0,
                offset: 0,
            };
            let mut output = output;
            brotli::BrotliCompress(&mut reader, &mut output, &params).map(|_| output)
        }
    };
    match result {
        Ok(output) => Ok(Some(output.buffer)),
        Err(e) if e.kind() == std::io::ErrorKind::WriteZero => Ok(None),
        Err(e) => Err(e),
    }
}

/// How the objects of the store are encoded, as far as the live release
/// recorded them: by key, for the keys whose listed object is the one the
/// ledger recorded.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    encodings: HashMap<String, Encoding>,
    /// The content's MD5 of objects stored compressed: their ETag is the
    /// compressed bytes'.
    md5s: HashMap<String, [u8; 16]>,
    /// The content's size of objects stored compressed.
    sizes: HashMap<String, u64>,
}

impl Stored {
    /// Reads the live release's encodings, trusting each only while the
    /// listing shows the object it recorded: the size stored and, for files
    /// compared by content, the ETag. Any other object (written by another
    /// tool, or a deploy that failed before its ledger) counts as stored as
    /// it is: it is then compared as usual, and uploaded again if compression
    /// is wanted.
    pub fn recognize(live: Option<&Release>, remote: &[RemoteObject]) -> Self {
        let mut stored = Stored::default();
        let Some(live) = live else {
            return stored;
        };
        for object in remote {
            let Some(entry) = live.files.get(&object.relative) else {
                continue;
            };
            let Some(encoding) = entry.encoding else {
                continue;
            };
            let expected_size = encoding.stored_size.unwrap_or(entry.size);
            let same_e_tag = match (&entry.e_tag, &object.e_tag) {
                (Some(recorded), Some(listed)) => bare(recorded) == bare(listed),
                (Some(_), None) => false,
                // Hashed assets record none: their name is their content.
                (None, _) => entry.md5.is_none(),
            };
            if object.size != expected_size || !same_e_tag {
                continue;
            }
            if encoding.stored_size.is_some() {
                stored.sizes.insert(object.relative.clone(), entry.size);
                if let Some(md5) = entry.md5.as_deref().and_then(crate::digest::parse_hex) {
                    stored.md5s.insert(object.relative.clone(), md5);
                }
            }
            stored.encodings.insert(object.relative.clone(), encoding);
        }
        stored
    }

    /// The encoding of a key, if compression was tried on the object stored.
    pub fn encoding(&self, relative: &str) -> Option<Encoding> {
        self.encodings.get(relative).copied()
    }

    /// The listing as the plan must see it: objects stored compressed with
    /// the size of their content.
    /// Borrowed when nothing is stored compressed.
    pub fn content_view<'a>(&self, remote: &'a [RemoteObject]) -> Cow<'a, [RemoteObject]> {
        if self.sizes.is_empty() {
            return Cow::Borrowed(remote);
        }
        remote
            .iter()
            .map(|object| match self.sizes.get(&object.relative) {
                Some(&size) => RemoteObject {
                    size,
                    ..object.clone()
                },
                None => object.clone(),
            })
            .collect()
    }

    /// The content MD5s of objects stored compressed, for the plan: they
    /// replace what their ETags (the compressed bytes' MD5) would say.
    pub fn content_md5s(&self) -> impl Iterator<Item = (String, [u8; 16])> + '_ {
        self.md5s.iter().map(|(k, v)| (k.clone(), *v))
    }

    /// Marks for upload every file the plan leaves unchanged whose stored
    /// encoding is not the one wanted now: compression switched on, off, or
    /// to the other method.
    pub fn mark_changes(&self, plan: &mut Plan, local: &[LocalFile], setting: Option<Method>) {
        let mut changed = false;
        for step in plan.steps.iter_mut() {
            if step.action != Action::Unchanged {
                continue;
            }
            let Some(file) = step.local.and_then(|i| local.get(i)) else {
                continue;
            };
            let wanted = wanted(setting, file);
            let stored = self.encoding(&step.relative).map(|e| e.method);
            if wanted != stored {
                step.action = Action::Upload;
                step.reason = Reason::EncodingChanged { stored, wanted };
                changed = true;
            }
        }
        if changed {
            plan.sort();
        }
    }

    /// Records in the release being deployed how each key is stored: the
    /// encoding found for keys left as they were, the one `uploaded` (the
    /// outcome's) for keys written.
    pub fn record(
        &self,
        release: &mut Release,
        uploaded: Option<(&[String], &HashMap<String, Encoding>)>,
    ) {
        for (key, entry) in release.files.iter_mut() {
            entry.encoding = self.encoding(key);
        }
        if let Some((written, encodings)) = uploaded {
            for key in written {
                if let Some(entry) = release.files.get_mut(key) {
                    entry.encoding = encodings.get(key).copied();
                }
            }
        }
    }
}

fn bare(e_tag: &str) -> &str {
    e_tag.trim_start_matches("W/").trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Entry;
    use crate::local::FileKind;
    use object_store::ObjectStoreExt;
    use std::io::Read;

    fn text(size: usize) -> Vec<u8> {
        let line = b"export const greeting = () => console.log('hello, world');\n";
        line.iter().copied().cycle().take(size).collect()
    }

    /// Bytes that do not compress: a simple PRNG.
    fn noise(size: usize) -> Vec<u8> {
        let mut x: u32 = 2463534242;
        (0..size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    fn decompress(method: Method, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match method {
            Method::Gzip => flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap(),
            Method::Br => brotli::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .unwrap(),
        };
        out
    }

    #[test]
    fn text_like_files_from_1_kib_to_the_multipart_threshold_are_candidates() {
        for path in [
            "assets/index-3fA9c1xZ.js",
            "a.mjs",
            "assets/index-DiwrgTda.css",
            "index.html",
            "icon.svg",
            ".vite/manifest.json",
            "assets/index-3fA9c1xZ.js.map",
            "robots.txt",
            "sitemap.xml",
            "site.webmanifest",
            "assets/app-3fA9c1xZ.wasm",
        ] {
            assert!(is_candidate(path, 4096), "{path}");
            assert!(
                !is_candidate(path, MIN_SIZE - 1),
                "{path} below the threshold"
            );
            assert!(
                !is_candidate(path, crate::publish::MULTIPART_THRESHOLD + 1),
                "{path} above the multipart threshold"
            );
        }
        for path in [
            "a.png",
            "a.jpg",
            "a.woff2",
            "a.mp4",
            "a.zip",
            "a.pdf",
            "LICENSE",
            "a.unknownext",
        ] {
            assert!(!is_candidate(path, 4096), "{path}");
        }
        assert!(is_candidate("a.js", MIN_SIZE));
    }

    #[test]
    fn compressed_bytes_round_trip_and_are_the_same_each_time() {
        let content = text(100_000);
        // In pieces, as the upload reads a file.
        let pieces: Vec<&[u8]> = content.chunks(64 * 1024).collect();
        for method in [Method::Gzip, Method::Br] {
            let compressed = compress(method, &pieces, content.len()).unwrap().unwrap();
            assert!(compressed.len() < content.len() / 10, "{method}");
            assert_eq!(decompress(method, &compressed), content, "{method}");
            let again = compress(method, &pieces, content.len()).unwrap().unwrap();
            assert_eq!(again, compressed, "{method}: deterministic, so one ETag");
        }
    }

    #[test]
    fn a_file_that_does_not_save_10_percent_is_stored_as_it_is() {
        let random = noise(50_000);
        for method in [Method::Gzip, Method::Br] {
            assert_eq!(
                compress(method, &[&random], random.len()).unwrap(),
                None,
                "{method}"
            );
        }
        // 20% text, 80% noise: saves less than 10%... or a little more; the
        // rule is the ratio, checked on both sides of it.
        let mut mixed = text(45_000);
        mixed.extend(noise(5_000));
        assert!(compress(Method::Gzip, &[&mixed], mixed.len())
            .unwrap()
            .is_some());
        let mut mostly_noise = noise(47_000);
        mostly_noise.extend(text(3_000));
        assert!(compress(Method::Gzip, &[&mostly_noise], mostly_noise.len())
            .unwrap()
            .is_none());
    }

    #[test]
    fn the_option_names_its_values() {
        assert_eq!(Method::parse("gzip").unwrap(), Method::Gzip);
        assert_eq!(Method::parse(" BR ").unwrap(), Method::Br);
        let error = Method::parse("zstd").unwrap_err().to_string();
        assert!(
            error.contains("'zstd' is not a compression: use 'gzip', 'br' or false"),
            "{error}"
        );
    }

    fn entry(
        size: u64,
        md5: Option<&str>,
        e_tag: Option<&str>,
        encoding: Option<Encoding>,
    ) -> Entry {
        Entry {
            size,
            md5: md5.map(String::from),
            kind: if md5.is_some() {
                FileKind::Entry
            } else {
                FileKind::Hashed
            },
            e_tag: e_tag.map(String::from),
            cache_control: None,
            encoding,
        }
    }

    fn listed(relative: &str, size: u64, e_tag: &str) -> RemoteObject {
        RemoteObject {
            relative: relative.into(),
            size,
            e_tag: Some(e_tag.into()),
            modified: 0,
        }
    }

    #[test]
    fn stored_objects_are_recognised_by_the_size_and_etag_the_ledger_recorded() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let gzip = |stored_size| {
            Some(Encoding {
                method: Method::Gzip,
                stored_size,
            })
        };
        let live = Release {
            id: "1".into(),
            time: "2026-12-02T00:00:00Z".into(),
            version: "test".into(),
            files: [
                (
                    "index.html",
                    entry(5000, Some(md5), Some("\"e1\""), gzip(Some(900))),
                ),
                (
                    "assets/a-3fA9c1xZ.js",
                    entry(9000, None, None, gzip(Some(2000))),
                ),
                (
                    "random.json",
                    entry(3000, Some(md5), Some("e3"), gzip(None)),
                ),
                (
                    "rewritten.html",
                    entry(5000, Some(md5), Some("\"e4\""), gzip(Some(900))),
                ),
                ("plain.html", entry(5000, Some(md5), Some("\"e5\""), None)),
            ]
            .into_iter()
            .map(|(k, e)| (k.to_string(), e))
            .collect(),
        };
        let remote = [
            listed("index.html", 900, "e1"),
            listed("assets/a-3fA9c1xZ.js", 2000, "x"),
            listed("random.json", 3000, "\"e3\""),
            // Another tool wrote it since: same size, another ETag.
            listed("rewritten.html", 900, "\"other\""),
            listed("plain.html", 5000, "\"e5\""),
        ];
        let stored = Stored::recognize(Some(&live), &remote);
        assert_eq!(stored.encoding("index.html"), gzip(Some(900)));
        assert_eq!(stored.encoding("assets/a-3fA9c1xZ.js"), gzip(Some(2000)));
        assert_eq!(stored.encoding("random.json"), gzip(None));
        assert_eq!(stored.encoding("rewritten.html"), None);
        assert_eq!(stored.encoding("plain.html"), None);

        let view = stored.content_view(&remote);
        let sizes: Vec<u64> = view.iter().map(|o| o.size).collect();
        assert_eq!(sizes, [5000, 9000, 3000, 900, 5000]);
        let md5s: HashMap<String, [u8; 16]> = stored.content_md5s().collect();
        assert_eq!(
            md5s.keys().collect::<Vec<_>>(),
            ["index.html"],
            "only objects stored compressed need their content's MD5"
        );
        assert!(Stored::recognize(None, &remote)
            .encoding("index.html")
            .is_none());
    }

    #[test]
    fn switching_compression_on_off_or_to_another_method_uploads_the_unchanged_files() {
        let file = |relative: &str, size: u64| LocalFile {
            relative: relative.into(),
            path: relative.into(),
            size,
            kind: FileKind::Hashed,
            md5: None,
        };
        let local = [
            file("assets/a-3fA9c1xZ.js", 9000),
            file("assets/small-3fA9c1xZ.js", 100),
            file("assets/b-3fA9c1xZ.png", 9000),
        ];
        let remote: Vec<RemoteObject> = local
            .iter()
            .map(|f| listed(&f.relative, f.size, "x"))
            .collect();
        let reasons = |stored: &Stored, setting| {
            let mut plan = crate::plan::plan(&local, &remote, &HashMap::new(), true);
            stored.mark_changes(&mut plan, &local, setting);
            plan.steps
                .iter()
                .map(|s| format!("{} {}", s.relative, s.reason))
                .collect::<Vec<_>>()
        };
        let nothing = Stored::default();
        assert_eq!(
            reasons(&nothing, Some(Method::Gzip)),
            [
                "assets/a-3fA9c1xZ.js encoding changed (none → gzip)",
                "assets/b-3fA9c1xZ.png unchanged (hashed name, same size)",
                "assets/small-3fA9c1xZ.js unchanged (hashed name, same size)",
            ],
            "uploads first, then the files left as they are"
        );
        assert!(reasons(&nothing, None)
            .iter()
            .all(|r| r.contains("unchanged")));

        let mut gzipped = Stored::default();
        gzipped.encodings.insert(
            "assets/a-3fA9c1xZ.js".into(),
            Encoding {
                method: Method::Gzip,
                stored_size: Some(2000),
            },
        );
        assert!(reasons(&gzipped, Some(Method::Gzip))
            .iter()
            .all(|r| r.contains("unchanged")));
        assert_eq!(
            reasons(&gzipped, None)[0],
            "assets/a-3fA9c1xZ.js encoding changed (gzip → none)"
        );
        assert_eq!(
            reasons(&gzipped, Some(Method::Br))[0],
            "assets/a-3fA9c1xZ.js encoding changed (gzip → br)"
        );
    }

    async fn deploy(
        dist: &std::path::Path,
        storage: &str,
        compress: Option<&str>,
    ) -> crate::Report {
        let options = crate::DeployOptions {
            dir: dist.to_path_buf(),
            storage: Some(storage.into()),
            compress: Some(match compress {
                Some(name) => crate::options::CompressOption::Method(name.into()),
                None => crate::options::CompressOption::Flag(false),
            }),
            ..Default::default()
        };
        crate::deploy_with_env(options, |_| None, &(), &Default::default())
            .await
            .unwrap()
    }

    fn reasons(report: &crate::Report) -> Vec<String> {
        report
            .files
            .iter()
            .map(|f| format!("{} {}", f.path, f.reason))
            .collect()
    }

    async fn stored(target: &Target, relative: &str) -> (Vec<u8>, Option<String>, Option<String>) {
        let got = target
            .store
            .get(&target.key(relative).unwrap())
            .await
            .unwrap();
        let attribute = |a| got.attributes.get(&a).map(|v| v.to_string());
        let encoding = attribute(object_store::Attribute::ContentEncoding);
        let content_type = attribute(object_store::Attribute::ContentType);
        (got.bytes().await.unwrap().to_vec(), encoding, content_type)
    }

    #[tokio::test]
    async fn a_deploy_stores_text_compressed_a_redeploy_writes_nothing_and_switching_rewrites() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        let page = format!("<!doctype html><p>{}</p>", "hello ".repeat(500));
        let script = text(20_000);
        std::fs::write(dist.join("index.html"), &page).unwrap();
        std::fs::write(dist.join("assets/app-3fA9c1xZ.js"), &script).unwrap();
        std::fs::write(dist.join("assets/tiny-3fA9c1xZ.js"), "export{}").unwrap();
        std::fs::write(dist.join("noise.json"), noise(4096)).unwrap();
        std::fs::write(dist.join("logo.png"), text(4096)).unwrap();
        let storage = "memory:///compress-e2e/site";
        let target = crate::store::open(storage, &Default::default(), &Default::default()).unwrap();

        let first = deploy(&dist, storage, Some("gzip")).await;
        assert_eq!(first.summary.uploaded.count, 5, "{:?}", reasons(&first));
        let (body, encoding, content_type) = stored(&target, "assets/app-3fA9c1xZ.js").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(
            content_type.as_deref(),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(decompress(Method::Gzip, &body), script);
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(decompress(Method::Gzip, &body), page.as_bytes());
        for (relative, why) in [
            ("assets/tiny-3fA9c1xZ.js", "below 1 KiB"),
            ("noise.json", "does not shrink"),
            ("logo.png", "not text-like"),
        ] {
            let (body, encoding, _) = stored(&target, relative).await;
            assert_eq!(encoding, None, "{relative}: {why}");
            assert_eq!(
                body,
                std::fs::read(dist.join(relative)).unwrap(),
                "{relative}"
            );
        }

        let again = deploy(&dist, storage, Some("gzip")).await;
        assert_eq!(again.summary.uploaded.count, 0, "{:?}", reasons(&again));
        assert!(
            again.notes.iter().any(|n| n.contains("already live")),
            "{:?}",
            again.notes
        );

        let off = deploy(&dist, storage, None).await;
        let uploaded: Vec<String> = reasons(&off)
            .into_iter()
            .filter(|r| r.contains("encoding changed"))
            .collect();
        assert_eq!(
            uploaded,
            [
                "assets/app-3fA9c1xZ.js encoding changed (gzip → none)",
                "noise.json encoding changed (gzip → none)",
                "index.html encoding changed (gzip → none)",
            ]
        );
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!((body, encoding), (page.as_bytes().to_vec(), None));
        assert_eq!(deploy(&dist, storage, None).await.summary.uploaded.count, 0);

        let on = deploy(&dist, storage, Some("br")).await;
        assert_eq!(on.summary.uploaded.count, 3, "{:?}", reasons(&on));
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("br"));
        assert_eq!(decompress(Method::Br, &body), page.as_bytes());
        assert_eq!(
            deploy(&dist, storage, Some("br"))
                .await
                .summary
                .uploaded
                .count,
            0
        );

        // A rollback puts the earlier page back with the encoding of its copy.
        let changed = format!("<!doctype html><p>{}</p>", "changed ".repeat(500));
        std::fs::write(dist.join("index.html"), &changed).unwrap();
        deploy(&dist, storage, Some("gzip")).await;
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(decompress(Method::Gzip, &body), changed.as_bytes());
        crate::rollback::rollback(crate::rollback::LedgerOptions {
            storage: Some(storage.into()),
            ..Default::default()
        })
        .await
        .unwrap();
        // The copy of this content was made when it first went up, gzipped.
        let (body, encoding, _) = stored(&target, "index.html").await;
        assert_eq!(encoding.as_deref(), Some("gzip"));
        assert_eq!(decompress(Method::Gzip, &body), page.as_bytes());
    }

    #[tokio::test]
    async fn compress_is_refused_where_content_encoding_cannot_be_stored() {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<p>x</p>").unwrap();
        let storage = format!("file://{}", work.path().join("out").display());
        let options = crate::DeployOptions {
            dir: dist.clone(),
            storage: Some(storage.clone()),
            compress: Some(crate::options::CompressOption::Method("gzip".into())),
            ..Default::default()
        };
        let error = crate::deploy_with_env(options, |_| None, &(), &Default::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "INVALID_OPTION");
        let message = error.to_string();
        assert!(
            message.contains("compress: 'gzip' cannot be used with file://")
                && message.contains("a file:// target stores no Content-Encoding"),
            "{message}"
        );
        assert!(
            !work.path().join("out/index.html").exists(),
            "nothing written"
        );
        let options = crate::DeployOptions {
            dir: dist,
            storage: Some(storage),
            compress: Some(crate::options::CompressOption::Flag(true)),
            ..Default::default()
        };
        let error = crate::deploy_with_env(options, |_| None, &(), &Default::default())
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("true names no method"),
            "{error}"
        );
    }
}
