//! Bytes saved against CPU time per compression level, with the crates
//! vite-deploy links and the rules of `compress` (text-like files of 1 KiB
//! to 8 MiB, stored compressed only when that saves 10%): the measurement
//! behind `GZIP_LEVEL` and `BROTLI_QUALITY` in src/compress.rs.
//!
//! ```sh
//! node bench/fixture.mjs --preset large --out /tmp/large
//! cargo run --target x86_64-unknown-linux-gnu --example compress_levels -- /tmp/large gzip
//! ```
//!
//! gzip is measured well in a debug build: Cargo.toml optimises zlib-rs
//! there, where all its work is done. brotli is not: its encoder is generic
//! code, compiled in vite-deploy's unoptimised crate, 10–20 times slower
//! than it ships (its sizes hold, its times do not; see bench/README.md).
//! One thread, so the time is CPU time on one core.

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
    // A second argument, `gzip` or `br`, measures that method only.
    let only = std::env::args().nth(2);
    let levels = levels.into_iter().filter(|(method, _)| {
        only.as_deref()
            .is_none_or(|m| m == method.content_encoding())
    });
    for (method, level) in levels {
        let started = cpu_seconds();
        let stored: usize = files
            .iter()
            .map(|file| {
                compress_at(method, level, &[file], file.len())
                    .expect("compresses")
                    .map_or(file.len(), |c| c.len())
            })
            .sum();
        let seconds = cpu_seconds() - started;
        println!(
            "| {method} {level} | {:.1} MB | {:.1}% | {seconds:.2} s | {:.0} |",
            stored as f64 / 1e6,
            100.0 * (1.0 - stored as f64 / input as f64),
            input as f64 / 1e6 / seconds
        );
    }
}

/// CPU time of this process (user + system), from /proc/self/stat: the
/// machine is shared, so wall time would count other processes' turns.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // Fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat") + 2..]
        .split(' ')
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}
