//! Governance figures on PostgreSQL, side by side with SQLite in one run:
//! the dry run (verify + diff) and the full rollback between two large
//! snapshots with 1 % churn (issue 15's targets: dry run <= 1 s, full
//! rollback <= 3 s at 1,000,000 records).
//!
//! Run: `SNAPGOV_BENCH_PG=postgres://root@127.0.0.1:5432/test?sslmode=disable
//! cargo bench --bench pg_governance` (default 1,000,000 records per
//! snapshot; `SNAPGOV_BENCH_RECORDS=300000` for fewer). The bench creates a
//! schema `snapgov_govbench_<pid>` in that database and drops it at the end.
//! Without SNAPGOV_BENCH_PG it says so and does nothing.
//! Results go in BENCHMARKS.md ("PostgreSQL").

use chrono::{Duration, TimeZone, Utc};
use snapgov::config::Config;
use snapgov::ingest::Format;
use snapgov::ops::import::{import, ImportRequest, Input};
use snapgov::ops::rollback::{execute, plan, Target};
use snapgov::ops::{Clock, Env, NoProgress};
use snapgov::store::{Location, OpenMode, Store};
use snapgov::synthetic_feed::FeedSpec;
use std::path::Path;
use std::time::Instant;

#[path = "common/steps.rs"]
mod steps;
use steps::StepTimes;

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// One backend's figures, in seconds.
#[derive(Default)]
struct Figures {
    import: f64,
    import_churn: f64,
    dry_run: f64,
    rollback: f64,
}

fn run(location: Location, feeds: &[&Path], label: &str) -> Figures {
    let t0 = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
    let cfg = Config::default();
    let env_at = |d: i64| Env::new(cfg.clone(), "bench", Clock::Fixed(t0 + Duration::days(d)));
    let mut store = Store::open(location, OpenMode::ReadWrite).expect("store");
    let mut fig = Figures::default();
    for (day, path) in feeds.iter().enumerate() {
        let t = Instant::now();
        let req = ImportRequest::new("syft", vec![Input::File(path.to_path_buf())]);
        let out = import(&mut store, &env_at(day as i64), &req, &NoProgress).expect("import");
        let s = secs(t);
        println!(
            "{label}: import {} ({} records): {s:.2} s",
            out.snapshot.id, out.snapshot.record_count
        );
        if day == 0 {
            fig.import = s;
        } else {
            fig.import_churn = s;
        }
    }
    let t = Instant::now();
    let p = plan(&mut store, "syft", &Target::Previous, 10).expect("plan");
    fig.dry_run = secs(t);
    println!(
        "{label}: dry run (verify + diff): {:.3} s, {} records differ",
        fig.dry_run,
        p.diff.total()
    );
    // Its parts, and the same again on a warm cache (the figure is the first).
    let t = Instant::now();
    let v = snapgov::ops::snapshots::verify(&store, p.to.id.as_str()).expect("verify");
    println!(
        "{label}:   verify target alone: {:.3} s, {}",
        secs(t),
        v.status
    );
    let t = Instant::now();
    plan(&mut store, "syft", &Target::Previous, 10).expect("plan");
    println!("{label}:   dry run again: {:.3} s", secs(t));
    let steps = StepTimes::default();
    let t = Instant::now();
    let r = execute(
        &mut store,
        &env_at(2),
        "syft",
        &Target::Previous,
        None,
        "bench",
        &steps,
    )
    .expect("rollback");
    fig.rollback = secs(t);
    println!(
        "{label}: full rollback: {:.3} s, {} records affected",
        fig.rollback, r.records_affected
    );
    println!("{label}:   by step: {}", steps.report());
    fig
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Ok(base) = std::env::var("SNAPGOV_BENCH_PG") else {
        eprintln!("pg_governance: set SNAPGOV_BENCH_PG to a PostgreSQL URL (postgres://user@host/db?sslmode=disable) to run it");
        return;
    };
    let n: u64 = std::env::var("SNAPGOV_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let feeds: Vec<_> = [(1, 0), (2, 10)]
        .into_iter()
        .map(|(seed, churn)| {
            let spec = FeedSpec {
                packages: n,
                seed,
                churn_permille: churn,
                ..Default::default()
            };
            let path = dir.path().join(format!("feed{seed}.json"));
            let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("feed"));
            snapgov::synthetic_feed::write_feed(Format::SyftJson, &spec, &mut f)
                .expect("write feed");
            drop(f);
            path
        })
        .collect();
    let feeds: Vec<&Path> = feeds.iter().map(|p| p.as_path()).collect();

    let schema = format!("snapgov_govbench_{}", std::process::id());
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).expect("connect");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .expect("create schema");
    let sep = if base.contains('?') { '&' } else { '?' };
    let pg_url = format!("{base}{sep}options=-csearch_path%3D{schema}");

    println!("snapgov governance on PostgreSQL and SQLite: {n} records per snapshot, 1% churn");
    let lite = run(
        Location::parse(dir.path().join("bench.db")),
        &feeds,
        "SQLite",
    );
    let pg = run(Location::parse(&pg_url), &feeds, "PostgreSQL");
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .expect("drop schema");

    println!(
        "\n{:<34} {:>10} {:>12} {:>14}",
        "step", "SQLite s", "PostgreSQL s", "PG target"
    );
    let verdict = |v: f64, t: f64| if v <= t { "met" } else { "MISSED" };
    let row = |name: &str, a: f64, b: f64, target: Option<f64>| {
        let t = target.map_or(String::new(), |t| format!("<= {t} s {}", verdict(b, t)));
        println!("{name:<34} {a:>10.3} {b:>12.3} {t:>14}");
    };
    row("import (fresh store)", lite.import, pg.import, None);
    row(
        "import (1% churn)",
        lite.import_churn,
        pg.import_churn,
        None,
    );
    row(
        "dry run (verify + diff)",
        lite.dry_run,
        pg.dry_run,
        Some(1.0),
    );
    row("full rollback", lite.rollback, pg.rollback, Some(3.0));
}
