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

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::local::LocalFile;
use crate::store::{Backend, Target};

/// Files smaller than this are stored as they are: a response of one or two
/// packets gains nothing from compression, and gzip's own framing costs
/// 18 bytes.
pub const MIN_SIZE: u64 = 1024;

/// Files larger than this are stored as they are: the multipart threshold
/// (`publish::MULTIPART_THRESHOLD`, the same by a test), above which files
/// stream in parts and a compressed copy would have to be held whole.
pub const MAX_SIZE: u64 = 8 * 1024 * 1024;

/// A file is stored compressed only when that saves at least this share of
/// its bytes; below it, the client's decompression is not worth it.
pub const MIN_SAVING_PERCENT: u64 = 10;

/// gzip level, chosen by measurement (bench/README.md, Compression levels):
/// 6 saves within 0.2% of 9 at half its CPU time or less, and 1–5% more
/// than 1.
pub const GZIP_LEVEL: u32 = 6;

/// Brotli quality, chosen by measurement (bench/README.md, Compression
/// levels): 9 saves under 1% more at 8–15 times the CPU time, 11 slower
/// still; on a CI runner's 2 cores either would take longer than the upload.
pub const BROTLI_QUALITY: u32 = 6;

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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Encoding {
    /// The method tried.
    pub method: Method,
    /// Bytes stored, when the file is stored compressed; `None` when it did
    /// not shrink enough and is stored as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_size: Option<u64>,
    /// MD5 of the bytes stored, hex, when stored compressed: where a listing
    /// shows no ETag (s3s-fs), the stored object is read back and compared
    /// with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_md5: Option<String>,
}

/// Whether `compress` would compress `relative` of `size` bytes; whether it
/// pays is known only once it is compressed.
pub fn is_candidate(relative: &str, size: u64) -> bool {
    (MIN_SIZE..=MAX_SIZE).contains(&size) && is_text_like(crate::headers::content_type(relative))
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
            "'{method}' cannot be used with {}: {why}, so browsers would get compressed bytes they cannot read — leave compress off there (let the web server compress), or deploy to s3://, gs:// or az://",
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

/// Whether the file at `path` has a precompressed copy beside it, as a Vite
/// compression plugin writes them (`name.gz` for gzip, `name.br` for br),
/// that decodes to exactly `pieces` (the file as read) and is within the
/// size limit; if so, `buffer` holds its bytes. A stale or corrupt copy is
/// ignored. Decoding costs far less than compressing, and a plugin may have
/// used a slower, stronger level (brotli 11).
pub fn precompressed<T: AsRef<[u8]>>(
    method: Method,
    path: &std::path::Path,
    pieces: &[T],
    size: usize,
    buffer: &mut Vec<u8>,
) -> std::io::Result<bool> {
    use std::io::Read;
    let mut sibling = path.as_os_str().to_owned();
    sibling.push(match method {
        Method::Gzip => ".gz",
        Method::Br => ".br",
    });
    let Ok(file) = std::fs::File::open(&sibling) else {
        return Ok(false);
    };
    let length = file.metadata()?.len();
    if length > limit(size) as u64 {
        return Ok(false);
    }
    buffer.clear();
    file.take(length).read_to_end(buffer)?;
    let same = match method {
        Method::Gzip => same_content(flate2::read::GzDecoder::new(&buffer[..]), pieces),
        Method::Br => same_content(brotli::Decompressor::new(&buffer[..], 4096), pieces),
    };
    Ok(same)
}

/// Whether `decoded` yields exactly the bytes of `pieces`; a decoding error
/// is a difference.
fn same_content<T: AsRef<[u8]>>(mut decoded: impl std::io::Read, pieces: &[T]) -> bool {
    use std::io::Read;
    let mut expected = Pieces {
        pieces,
        at: 0,
        offset: 0,
    };
    let mut got = [0u8; 8192];
    let mut want = [0u8; 8192];
    loop {
        let n = match decoded.read(&mut got) {
            Ok(n) => n,
            Err(_) => return false,
        };
        if n == 0 {
            return matches!(expected.read(&mut want[..1]), Ok(0));
        }
        if expected.read_exact(&mut want[..n]).is_err() || got[..n] != want[..n] {
            return false;
        }
    }
}

/// The most bytes a compressed copy of `size` bytes may take.
pub fn limit(size: usize) -> usize {
    size - size * MIN_SAVING_PERCENT as usize / 100
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
    compress_into(method, pieces, size, Vec::new())
}

/// [`compress`] into `buffer`, which should have room for 90% of `size`:
/// the upload allocates it on the runtime's thread, as it does the file's
/// pieces (see `publish::read_whole`), not on the blocking thread that
/// compresses.
pub fn compress_into<T: AsRef<[u8]>>(
    method: Method,
    pieces: &[T],
    size: usize,
    buffer: Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    let level = match method {
        Method::Gzip => GZIP_LEVEL,
        Method::Br => BROTLI_QUALITY,
    };
    compress_with(method, level, pieces, size, buffer)
}

/// [`compress`] at another level (gzip 0–9, brotli 0–11), to measure them:
/// `examples/compress_levels.rs`.
pub fn compress_at<T: AsRef<[u8]>>(
    method: Method,
    level: u32,
    pieces: &[T],
    size: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    compress_with(method, level, pieces, size, Vec::new())
}

fn compress_with<T: AsRef<[u8]>>(
    method: Method,
    level: u32,
    pieces: &[T],
    size: usize,
    mut buffer: Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    let limit = limit(size);
    buffer.clear();
    buffer.reserve(limit);
    let output = Capped { buffer, limit };
    let result = match method {
        Method::Gzip => {
            // flate2's header carries no name and mtime 0: the same content
            // gives the same bytes, so the same ETag, on every deploy.
            let mut encoder =
                flate2::write::GzEncoder::new(output, flate2::Compression::new(level));
            pieces
                .iter()
                .try_for_each(|piece| encoder.write_all(piece.as_ref()))
                .and_then(|()| encoder.finish())
        }
        Method::Br => {
            // A window larger than the file finds nothing more and costs
            // memory: 4 encoders at once, each with a 4 MiB window by default.
            let lgwin = (usize::BITS - size.max(1).leading_zeros()).clamp(10, 22) as i32;
            let params = brotli::enc::BrotliEncoderParams {
                quality: level as i32,
                lgwin,
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Read;

    pub(crate) fn text(size: usize) -> Vec<u8> {
        let line = b"export const greeting = () => console.log('hello, world');\n";
        line.iter().copied().cycle().take(size).collect()
    }

    /// Bytes that do not compress: a simple PRNG.
    pub(crate) fn noise(size: usize) -> Vec<u8> {
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

    pub(crate) fn decompress(method: Method, bytes: &[u8]) -> Vec<u8> {
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
        assert_eq!(MAX_SIZE, crate::publish::MULTIPART_THRESHOLD);
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

    /// gzip at level 9 with a file name in its header: not the bytes
    /// `compress` would make, as a Vite plugin's copy would not be.
    pub(crate) fn plugin_gzip(content: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::GzBuilder::new()
            .filename("app.js")
            .write(Vec::new(), flate2::Compression::best());
        encoder.write_all(content).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_precompressed_copy_beside_the_file_is_used_only_if_it_decodes_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.js");
        let content = text(30_000);
        std::fs::write(&path, &content).unwrap();
        let pieces: Vec<&[u8]> = content.chunks(64 * 1024).collect();
        let mut buffer = Vec::new();
        let check = |method, buffer: &mut Vec<u8>| {
            precompressed(method, &path, &pieces, content.len(), buffer).unwrap()
        };
        assert!(!check(Method::Gzip, &mut buffer), "no copy");

        let gz = plugin_gzip(&content);
        std::fs::write(dir.path().join("app.js.gz"), &gz).unwrap();
        assert!(check(Method::Gzip, &mut buffer));
        assert_eq!(buffer, gz);
        assert!(!check(Method::Br, &mut buffer), "a .gz is no brotli copy");

        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &content[..], &mut br, &params).unwrap();
        std::fs::write(dir.path().join("app.js.br"), &br).unwrap();
        assert!(check(Method::Br, &mut buffer));
        assert_eq!(buffer, br);

        // Stale: the copy of an older build; corrupt; larger than the limit.
        let mut older = content.clone();
        older[100] = b'#';
        std::fs::write(dir.path().join("app.js.gz"), plugin_gzip(&older)).unwrap();
        assert!(!check(Method::Gzip, &mut buffer), "stale");
        std::fs::write(dir.path().join("app.js.gz"), &gz[..gz.len() / 2]).unwrap();
        assert!(!check(Method::Gzip, &mut buffer), "truncated");
        let mut longer = content.clone();
        longer.extend(b"more");
        std::fs::write(dir.path().join("app.js.gz"), plugin_gzip(&longer)).unwrap();
        assert!(!check(Method::Gzip, &mut buffer), "decodes to more");
        std::fs::write(dir.path().join("app.js.gz"), noise(content.len())).unwrap();
        assert!(!check(Method::Gzip, &mut buffer), "over the limit");
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
            message.contains("invalid option `compress`: 'gzip' cannot be used with file://")
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
        let options = crate::DeployOptions {
            dir: work.path().join("dist"),
            storage: Some("http://127.0.0.1:9/dav/site".into()),
            storage_options: [("allow_http".to_string(), "true".to_string())].into(),
            compress: Some(crate::options::CompressOption::Method("br".into())),
            ..Default::default()
        };
        let error = crate::deploy_with_env(options, |_| None, &(), &Default::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "INVALID_OPTION");
        assert!(
            error
                .to_string()
                .contains("a WebDAV server stores no Content-Encoding"),
            "{error}"
        );
    }
}
