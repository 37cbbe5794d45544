//! Governance workflow figures: dry-run diff and full rollback between two
//! large snapshots with 1 % churn, and audit verification over a long trail.
//!
//! Run: `cargo bench --bench governance` (defaults: 1,000,000 records per
//! snapshot, 1,000,000 audit records). Smaller: `SNAPGOV_BENCH_RECORDS=100000
//! SNAPGOV_BENCH_AUDIT=100000 cargo bench --bench governance`.
//! Results go in BENCHMARKS.md.

use chrono::{Duration, TimeZone, Utc};
use snapgov::config::Config;
use snapgov::domain::audit::{AuditEvent, NewAudit};
use snapgov::ingest::Format;
use snapgov::ops::import::{import, ImportRequest, Input};
use snapgov::ops::rollback::{execute, plan, Quiet, Target};
use snapgov::ops::{Clock, Env, NoProgress};
use snapgov::store::prelude::*;
use snapgov::store::{DiffSide, OpenMode, Store};
use snapgov::synthetic_feed::FeedSpec;
use std::time::Instant;

fn env_var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = env_var("SNAPGOV_BENCH_RECORDS", 1_000_000);
    let audit_n = env_var("SNAPGOV_BENCH_AUDIT", 1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let t0 = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
    let cfg = Config::default();
    let env_at = |d: i64| Env::new(cfg.clone(), "bench", Clock::Fixed(t0 + Duration::days(d)));

    println!(
        "snapgov governance benchmark: {n} records per snapshot, 1% churn; {audit_n} audit records"
    );
    let mut store = Store::open(dir.path().join("bench.db"), OpenMode::ReadWrite).expect("store");
    for (day, seed, churn) in [(0, 1, 0), (1, 2, 10)] {
        let spec = FeedSpec {
            packages: n,
            seed,
            churn_permille: churn,
            ..Default::default()
        };
        let path = dir.path().join(format!("feed{seed}.json"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("feed"));
        snapgov::synthetic_feed::write_feed(Format::SyftJson, &spec, &mut f).expect("write feed");
        drop(f);
        let t = Instant::now();
        let req = ImportRequest::new("syft", vec![Input::File(path.clone())]);
        let out = import(&mut store, &env_at(day), &req, &NoProgress).expect("import");
        println!(
            "import {} ({} records): {:.2} s",
            out.snapshot.id,
            out.snapshot.record_count,
            secs(t)
        );
        std::fs::remove_file(path).ok();
    }
    let (from, to) = store
        .read(|r| -> snapgov::ops::Result<_> {
            let snaps = r.list_snapshots(&Default::default())?;
            Ok((
                r.get_snapshot_pk(snaps[1].id.as_str())?.unwrap(),
                r.get_snapshot_pk(snaps[0].id.as_str())?.unwrap(),
            ))
        })
        .expect("snapshots");

    let t = Instant::now();
    let d = store
        .read(|r| {
            snapgov::ops::diff::diff(
                r,
                (DiffSide::Snapshot(from.1), from.0.id.as_str()),
                (DiffSide::Snapshot(to.1), to.0.id.as_str()),
                10,
            )
        })
        .expect("diff");
    let diff_s = secs(t);
    println!(
        "diff (store set operations): {diff_s:.3} s — {}",
        d.headline("rolling back")
    );

    let t = Instant::now();
    let v = snapgov::ops::snapshots::verify(&store, to.0.id.as_str()).expect("verify");
    println!(
        "verify target (re-hash {} records): {:.3} s, {}",
        v.actual_count,
        secs(t),
        v.status
    );

    let t = Instant::now();
    let p = plan(&mut store, "syft", &Target::Previous, 10).expect("plan");
    println!(
        "dry run (verify + diff): {:.3} s, {} records differ",
        secs(t),
        p.diff.total()
    );

    let t = Instant::now();
    let r = execute(
        &mut store,
        &env_at(2),
        "syft",
        &Target::Previous,
        None,
        "bench",
        &Quiet,
    )
    .expect("rollback");
    println!("full rollback (verify, restore, verify restore, commit, activate, audit): {:.3} s, {} records affected", secs(t), r.records_affected);

    // A long audit trail, appended through the store's public API.
    let mut audit = Store::open(dir.path().join("audit.db"), OpenMode::ReadWrite).expect("store");
    let t = Instant::now();
    let batch = 50_000;
    let mut done = 0;
    while done < audit_n {
        let k = batch.min(audit_n - done);
        audit
            .write(|tx| -> Result<(), snapgov::store::StoreError> {
                for i in 0..k {
                    tx.append_audit(&NewAudit {
                        event: AuditEvent::SnapshotActivated,
                        timestamp: t0 + Duration::seconds((done + i) as i64),
                        user: "bench".into(),
                        tool: Some("syft".into()),
                        snapshot_id: None,
                        details: serde_json::json!({"snapshotId": format!("syft-x-{}", done + i), "cause": "bench", "recordsAffected": i}),
                    })?;
                }
                Ok(())
            })
            .expect("append");
        done += k;
    }
    println!("append {audit_n} audit records: {:.2} s", secs(t));
    let t = Instant::now();
    let rep = snapgov::ops::audit::verify(&audit, &env_at(0), None).expect("verify");
    println!(
        "audit verify over {} records: {:.3} s ({})",
        rep.records_checked,
        secs(t),
        rep.status
    );
}
