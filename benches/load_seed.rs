//! Seeds a store for the HTTP load check (`benches/load.sh`): many small
//! imports through the import workflow, in-process (no HTTP, no process per
//! import), so 10,000 snapshots take well under a minute.
//!
//! Run: `cargo bench --bench load_seed -- DB [SNAPSHOTS] [TOOLS] [PACKAGES]`
//! (DB: a file, or a postgres:// store location)
//! (defaults 10000 snapshots over 20 tools, 50 packages per feed). Times are
//! spread back from 2025-12-04T12:00:00Z so the tools end in every freshness
//! state; serve the store with that SNAPGOV_NOW for the same picture.

use chrono::{Duration, TimeZone, Utc};
use snapgov::config::Config;
use snapgov::ingest::Format;
use snapgov::ops::import::{import, ImportRequest, Input};
use snapgov::ops::{Clock, Env, NoProgress};
use snapgov::store::{Location, OpenMode, Store};
use snapgov::synthetic_feed::FeedSpec;
use std::time::Instant;

fn main() {
    // `cargo bench` adds --bench; `cargo test --benches` runs us with no DB.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let Some(db) = args.first() else {
        eprintln!("usage: cargo bench --bench load_seed -- DB [SNAPSHOTS] [TOOLS] [PACKAGES]");
        return;
    };
    let num = |i: usize, d: u64| args.get(i).and_then(|v| v.parse().ok()).unwrap_or(d);
    let snapshots = num(1, 10_000);
    let tools = num(2, 20).max(1);
    let packages = num(3, 50);
    let per_tool = snapshots.div_ceil(tools);
    let now = Utc.with_ymd_and_hms(2025, 12, 4, 12, 0, 0).unwrap();
    let dir = tempfile::tempdir().expect("temp dir");

    // A few feed variants (different churn) to cycle through.
    let feeds: Vec<_> = (0..4u64)
        .map(|i| {
            let spec = FeedSpec {
                packages,
                seed: i + 1,
                churn_permille: if i == 0 { 0 } else { 100 },
                ..Default::default()
            };
            let path = dir.path().join(format!("feed{i}.json"));
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("feed"));
            snapgov::synthetic_feed::write_feed(Format::SyftJson, &spec, &mut f)
                .expect("write feed");
            drop(f);
            path
        })
        .collect();

    let location = Location::parse(db);
    let mut store = Store::open(&location, OpenMode::ReadWrite).expect("store");
    let cfg = Config::default();
    let t = Instant::now();
    let mut done = 0u64;
    for k in 0..tools {
        let tool = format!("tool{k:02}");
        // Tool k's newest import is k*2 days old: fresh, stale, critical.
        let newest = now - Duration::days(k as i64 * 2);
        for i in 0..per_tool {
            if done >= snapshots {
                break;
            }
            let at = newest - Duration::hours((per_tool - 1 - i) as i64);
            let env = Env::new(cfg.clone(), "seed", Clock::Fixed(at));
            let mut req = ImportRequest::new(
                &tool,
                vec![Input::File(
                    feeds[(i % feeds.len() as u64) as usize].clone(),
                )],
            );
            req.reason = Some("load seed".into());
            import(&mut store, &env, &req, &NoProgress).expect("import");
            done += 1;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "seeded {location}: {done} snapshots over {tools} tools ({packages} packages each) in {secs:.1} s ({:.0} imports/s)",
        done as f64 / secs
    );
}
