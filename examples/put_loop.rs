//! The benchmark's limits: the fastest bare S3 client this stack allows, so
//! that the gap between vite-deploy and it is what vite-deploy adds.
//!
//! ```text
//! put_loop put  DIR --endpoint URL --bucket B [--prefix P] [--concurrency 64]
//! put_loop list DIR --endpoint URL --bucket B [--prefix P] [--get KEY]
//! ```
//!
//! - `put`: every file of DIR PUT once, whole, `concurrency` in flight, with
//!   object_store's S3 client — unsigned payloads, no listing, no headers, no
//!   ordering, no multipart (the floor of a cold deploy).
//! - `list`: one listing of the prefix, split at every 900th key of DIR into
//!   ranges listed 16 at once (as vite-deploy splits it), then one GET of KEY
//!   (vite-deploy's ledger) — the floor of a no-op deploy.
//!
//! Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else `test`.
//! Prints one JSON line with the counts and the time of each step.
//!
//! Built for figures with `cargo build --release --example put_loop`.

use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

const PAGE: usize = 1000;

struct Args {
    mode: String,
    dir: std::path::PathBuf,
    endpoint: String,
    bucket: String,
    prefix: String,
    concurrency: usize,
    get: Option<String>,
}

fn usage(message: &str) -> ! {
    eprintln!("put_loop: {message}\nusage: put_loop put|list DIR --endpoint URL --bucket B [--prefix P] [--concurrency N] [--get KEY]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut positional = Vec::new();
    let (mut endpoint, mut bucket, mut prefix, mut concurrency, mut get) =
        (None, None, String::new(), 64, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--endpoint" => endpoint = Some(value()),
            "--bucket" => bucket = Some(value()),
            "--prefix" => prefix = value().trim_matches('/').to_string(),
            "--concurrency" => {
                concurrency = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--concurrency takes a whole number"))
            }
            "--get" => get = Some(value()),
            _ if arg.starts_with("--") => usage(&format!("unknown option {arg}")),
            _ => positional.push(arg),
        }
    }
    let [mode, dir] = <[String; 2]>::try_from(positional)
        .unwrap_or_else(|_| usage("expected a mode (put or list) and a folder"));
    if mode != "put" && mode != "list" {
        usage(&format!("unknown mode {mode}"));
    }
    Args {
        mode,
        dir: dir.into(),
        endpoint: endpoint.unwrap_or_else(|| usage("--endpoint is required")),
        bucket: bucket.unwrap_or_else(|| usage("--bucket is required")),
        prefix,
        concurrency: concurrency.max(1),
        get,
    }
}

/// The folder's files as relative paths with `/`, sorted.
fn scan(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.unwrap_or_else(|e| usage(&format!("cannot read {dir:?}: {e}"))))
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            let relative = entry.path().strip_prefix(dir).expect("under the folder");
            relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    files.sort_unstable();
    files
}

fn key(prefix: &str, relative: &str) -> Path {
    if prefix.is_empty() {
        Path::from(relative)
    } else {
        Path::from(format!("{prefix}/{relative}"))
    }
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let env = |name: &str| std::env::var(name).unwrap_or_else(|_| "test".to_string());
    let store: Arc<dyn ObjectStore> = Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(&args.endpoint)
            .with_allow_http(true)
            .with_bucket_name(&args.bucket)
            .with_region(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()))
            .with_access_key_id(env("AWS_ACCESS_KEY_ID"))
            .with_secret_access_key(env("AWS_SECRET_ACCESS_KEY"))
            .with_virtual_hosted_style_request(false)
            .with_unsigned_payload(true)
            .build()
            .unwrap_or_else(|e| usage(&format!("cannot build the S3 client: {e}"))),
    );
    let started = Instant::now();
    let files = scan(&args.dir);
    let scanned_ms = started.elapsed().as_secs_f64() * 1000.0;
    if args.mode == "put" {
        let bytes: u64 = futures::stream::iter(files.iter())
            .map(|relative| {
                let (store, dir, location) =
                    (store.clone(), &args.dir, key(&args.prefix, relative));
                async move {
                    let body = tokio::fs::read(dir.join(relative))
                        .await
                        .map_err(|e| format!("read {relative}: {e}"))?;
                    let size = body.len() as u64;
                    store
                        .put(&location, PutPayload::from(body))
                        .await
                        .map_err(|e| format!("PUT {location}: {e}"))?;
                    Ok::<u64, String>(size)
                }
            })
            .buffer_unordered(args.concurrency)
            .try_fold(0, |total, size| async move { Ok(total + size) })
            .await
            .unwrap_or_else(|e| {
                eprintln!("put_loop: {e}");
                std::process::exit(1)
            });
        println!(
            "{{\"mode\":\"put\",\"files\":{},\"bytes\":{bytes},\"concurrency\":{},\"scanMs\":{scanned_ms:.1},\"totalMs\":{:.1}}}",
            files.len(),
            args.concurrency,
            started.elapsed().as_secs_f64() * 1000.0
        );
        return;
    }

    // Ranges of under a page each, 16 at once (as vite-deploy lists); a
    // range stops at the first key past its end, so no page is read twice.
    let prefix = (!args.prefix.is_empty()).then(|| Path::from(args.prefix.as_str()));
    let points: Vec<Path> = if files.len() > PAGE {
        files
            .iter()
            .skip(PAGE * 9 / 10)
            .step_by(PAGE * 9 / 10)
            .map(|relative| key(&args.prefix, relative))
            .collect()
    } else {
        Vec::new()
    };
    let starts = std::iter::once(None).chain(points.iter().map(Some));
    let ends = points.iter().map(Some).chain(std::iter::once(None));
    let ranges = starts.zip(ends).map(|(start, end)| {
        let stream = match start {
            None => store.list(prefix.as_ref()),
            Some(start) => store.list_with_offset(prefix.as_ref(), start),
        };
        let end = end.cloned();
        stream
            .try_take_while(move |meta| {
                futures::future::ready(Ok(end.as_ref().is_none_or(|end| meta.location <= *end)))
            })
            .try_fold(0usize, |n, _| async move { Ok(n + 1) })
    });
    let list_started = Instant::now();
    let keys: usize = futures::stream::iter(ranges)
        .buffered(16)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_or_else(|e| {
            eprintln!("put_loop: list: {e}");
            std::process::exit(1)
        })
        .into_iter()
        .sum();
    let list_ms = list_started.elapsed().as_secs_f64() * 1000.0;
    let get_started = Instant::now();
    let got = match &args.get {
        Some(relative) => {
            let location = key(&args.prefix, relative);
            let result = store.get(&location).await;
            match result {
                Ok(result) => result
                    .bytes()
                    .await
                    .map(|b| b.len() as i64)
                    .unwrap_or_else(|e| {
                        eprintln!("put_loop: GET {location}: {e}");
                        std::process::exit(1)
                    }),
                // Still a round trip: a store without a ledger answers 404.
                Err(object_store::Error::NotFound { .. }) => -1,
                Err(e) => {
                    eprintln!("put_loop: GET {location}: {e}");
                    std::process::exit(1)
                }
            }
        }
        None => 0,
    };
    println!(
        "{{\"mode\":\"list\",\"keys\":{keys},\"ranges\":{},\"listMs\":{list_ms:.1},\"getBytes\":{got},\"getMs\":{:.1},\"scanMs\":{scanned_ms:.1},\"totalMs\":{:.1}}}",
        points.len() + 1,
        get_started.elapsed().as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() * 1000.0
    );
}
