//! Bytes saved against CPU time per compression level, with the crates
//! vite-deploy links and the rules of `compress` (text-like files of 1 KiB
//! to 8 MiB, stored compressed only when that saves 10%): the measurement
//! behind `GZIP_LEVEL` and `BROTLI_QUALITY` in src/compress.rs.
//!
//! ```sh
//! node bench/fixture.mjs --preset large --out /tmp/large
//! cargo run --target x86_64-unknown-linux-gnu --example compress_levels -- /tmp/large
//! ```
//!
//! A debug build is enough: Cargo.toml optimises the compression crates in
//! it. One thread, so the time is CPU time on one core.

use std::time::Instant;

use vite_deploy::compress::{compress_at, is_candidate, Method};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: compress_levels BUILD_DIR");
    let files: Vec<Vec<u8>> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| {
            let relative = entry.path().strip_prefix(&dir).unwrap_or(entry.path());
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            is_candidate(&relative.to_string_lossy(), size)
        })
        .map(|entry| std::fs::read(entry.path()).expect("readable"))
        .collect();
    let input: usize = files.iter().map(Vec::len).sum();
    println!(
        "{} text-like files, {:.1} MB ({dir})",
        files.len(),
        input as f64 / 1e6
    );
    println!("| level | stored | saved | CPU time (one core) | MB/s |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let levels = [
        (Method::Gzip, 1),
        (Method::Gzip, 6),
        (Method::Gzip, 9),
        (Method::Br, 4),
        (Method::Br, 6),
        (Method::Br, 9),
        (Method::Br, 11),
    ];
    for (method, level) in levels {
        let started = Instant::now();
        let stored: usize = files
            .iter()
            .map(|file| {
                compress_at(method, level, &[file], file.len())
                    .expect("compresses")
                    .map_or(file.len(), |c| c.len())
            })
            .sum();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "| {method} {level} | {:.1} MB | {:.1}% | {seconds:.2} s | {:.0} |",
            stored as f64 / 1e6,
            100.0 * (1.0 - stored as f64 / input as f64),
            input as f64 / 1e6 / seconds
        );
    }
}
