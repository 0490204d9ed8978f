//! The planner at 100,000 keys: `cargo bench --bench plan`.
//!
//! Prints the median wall time of `plan()` and `needs_remote_md5()` over 15
//! runs, for a build where 90% of the keys are unchanged, 5% changed, 5% new,
//! with 5% orphans. The bar: well under 100 ms.

use std::collections::HashMap;
use std::time::Instant;

use vite_deploy::local::{classify, FileKind, LocalFile};
use vite_deploy::plan::{needs_remote_md5, plan};
use vite_deploy::remote::RemoteObject;

fn main() {
    let keys = 100_000;
    let mut local = Vec::with_capacity(keys);
    let mut remote = Vec::with_capacity(keys);
    for i in 0..keys {
        let relative = if i % 100 == 0 {
            format!("pages/page{i}/index.html")
        } else {
            format!("assets/chunk{i}-Ab{:06}.js", i % 1_000_000)
        };
        let kind = classify(&relative);
        let size = 1_000 + (i as u64 * 7_919) % 50_000;
        let md5 = (kind != FileKind::Hashed).then_some([i as u8; 16]);
        match i % 20 {
            0 => {} // new: not in the store
            1 => remote.push(RemoteObject {
                relative: relative.clone(),
                size: size + 1,
                e_tag: None,
                modified: 0,
            }),
            _ => remote.push(RemoteObject {
                relative: relative.clone(),
                size,
                e_tag: Some(format!("\"{}\"", "ab".repeat(16))),
                modified: 0,
            }),
        }
        local.push(LocalFile {
            relative: relative.clone(),
            path: relative.into(),
            size,
            kind,
            md5,
        });
    }
    for i in 0..keys / 20 {
        remote.push(RemoteObject {
            relative: format!("assets/old{i}-Zz{:06}.js", i),
            size: 10,
            e_tag: None,
            modified: 0,
        });
    }

    let mut times = Vec::new();
    let mut uploads = 0;
    let mut compared = 0;
    for _ in 0..15 {
        let started = Instant::now();
        let needed = needs_remote_md5(&local, &remote, true);
        let plan = plan(&local, &remote, &HashMap::new(), true);
        times.push(started.elapsed());
        uploads = plan.with_action(vite_deploy::plan::Action::Upload).count();
        compared = needed.len();
    }
    times.sort();
    println!(
        "plan of {keys} local and {} remote keys: median {:.1} ms (min {:.1}, max {:.1}); {uploads} uploads planned, {compared} remote reads needed",
        remote.len(),
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}
