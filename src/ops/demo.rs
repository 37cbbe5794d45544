//! The demo data set: several tools with 60+ days of history, imported
//! through the same workflows an operator uses, from feeds generated in
//! each tool's real format.

use super::import::{import, ImportRequest, Input};
use super::{Clock, Env, NoProgress, OpError, Result};
use crate::ingest::Format;
use crate::store::Store;
use crate::synthetic_feed::{write_feed, FeedSpec};
use chrono::{DateTime, Duration, Utc};

pub struct DemoSummary {
    pub imports: u64,
    pub days: i64,
    pub now: DateTime<Utc>,
}

/// One tool's schedule in the demo.
struct Feed {
    tool: &'static str,
    format: Format,
    /// Days between imports.
    every: i64,
    /// Days since the last import (sets its freshness now).
    last_days_ago: i64,
    packages: u64,
    user: &'static str,
}

const DAYS: i64 = 64;

const FEEDS: [Feed; 4] = [
    Feed {
        tool: "syft",
        format: Format::SyftJson,
        every: 1,
        last_days_ago: 1,
        packages: 240,
        user: "ci-pipeline",
    },
    Feed {
        tool: "trivy",
        format: Format::TrivyJson,
        every: 2,
        last_days_ago: 9,
        packages: 180,
        user: "ci-pipeline",
    },
    Feed {
        tool: "clair",
        format: Format::ClairV4,
        every: 3,
        last_days_ago: 33,
        packages: 150,
        user: "quay-sync",
    },
    Feed {
        tool: "licensewatch",
        format: Format::Snapgov,
        every: 4,
        last_days_ago: 18,
        packages: 120,
        user: "alice",
    },
];

fn io_err(e: std::io::Error) -> OpError {
    OpError::invalid(format!("cannot write a demo feed: {e}"))
}

/// Fills an empty store with the demo history, as of the env's clock.
pub fn build(store: &mut Store, env: &Env) -> Result<DemoSummary> {
    let now = env.clock.now();
    let dir = tempfile::tempdir().map_err(io_err)?;
    let mut imports = 0;
    // Interleave the tools day by day so the audit trail reads like a real one.
    for day in (0..=DAYS).rev() {
        for (n, f) in FEEDS.iter().enumerate() {
            if day < f.last_days_ago || (day - f.last_days_ago) % f.every != 0 {
                continue;
            }
            let at = now - Duration::days(day) + Duration::minutes(n as i64 * 7 + 5);
            let at = at.min(now);
            let spec = FeedSpec {
                packages: f.packages + (DAYS - day) as u64 / 8,
                vuln_percent: 12,
                seed: (DAYS - day) as u64 + 1,
                churn_permille: 30,
                subject: format!(
                    "registry.example.com/shop/{}:2.{}",
                    f.tool,
                    (DAYS - day) / 10
                ),
                generated_at: crate::domain::time::fmt_ts(at),
            };
            let path = dir.path().join(format!("{}-{day}.json", f.tool));
            let file = std::fs::File::create(&path).map_err(io_err)?;
            let mut w = std::io::BufWriter::new(file);
            write_feed(f.format, &spec, &mut w).map_err(io_err)?;
            std::io::Write::flush(&mut w).map_err(io_err)?;
            drop(w);
            let name = format!("{}-day{day}.json", f.tool);
            let mut req = ImportRequest::new(f.tool, vec![Input::Named { path, name }]);
            req.reason = Some("scheduled_sync".into());
            req.source_uri = Some(format!("s3://scans/{}/{day}.json", f.tool));
            let e = Env::new(env.config.clone(), f.user, Clock::Fixed(at));
            import(store, &e, &req, &NoProgress)?;
            imports += 1;
        }
        // Operators at work: rollbacks, a hold, retention runs, an expiry.
        let at = |h: i64| {
            Env::new(
                env.config.clone(),
                "bob",
                Clock::Fixed(now - Duration::days(day) + Duration::hours(h)),
            )
        };
        match day {
            40 => {
                super::rollback::execute(
                    store,
                    &at(9),
                    "trivy",
                    &super::rollback::Target::Previous,
                    None,
                    "scanner upgrade produced false positives",
                    &super::rollback::Quiet,
                )?;
            }
            25 => {
                super::rollback::execute(
                    store,
                    &at(10),
                    "syft",
                    &super::rollback::Target::Previous,
                    None,
                    "data corruption detected in the nightly SBOM",
                    &super::rollback::Quiet,
                )?;
            }
            12 => {
                let first = super::snapshots::list(
                    store,
                    &crate::store::SnapshotFilter {
                        tool: Some("syft".into()),
                        limit: Some(1),
                        ..Default::default()
                    },
                )?;
                if let Some(s) = first.first() {
                    super::retention::hold_add(
                        store,
                        &at(11),
                        &s.id,
                        "Audit hold: Q4 compliance review",
                        now + Duration::days(45),
                    )?;
                }
            }
            7 | 2 => {
                super::retention::run(
                    store,
                    &Env::new(
                        env.config.clone(),
                        super::SYSTEM_USER,
                        Clock::Fixed(now - Duration::days(day) + Duration::hours(1)),
                    ),
                    false,
                )?;
            }
            _ => {}
        }
        // One broken feed, refused and recorded as failed.
        if day == 20 {
            let path = dir.path().join("trivy-truncated.json");
            std::fs::write(&path, b"{\"SchemaVersion\": 2, \"ArtifactName\": \"registry.example.com/shop/trivy\", \"Results\": [{\"Target\": ").map_err(io_err)?;
            let at = now - Duration::days(day) + Duration::hours(3);
            let name = "trivy-truncated.json".to_string();
            let mut req = ImportRequest::new("trivy", vec![Input::Named { path, name }]);
            req.reason = Some("scheduled_sync".into());
            let e = Env::new(env.config.clone(), "ci-pipeline", Clock::Fixed(at));
            match import(store, &e, &req, &NoProgress) {
                Err(OpError::Rejected { .. }) => imports += 1,
                Err(other) => return Err(other),
                Ok(_) => return Err(OpError::invalid("the demo's broken feed was accepted")),
            }
        }
    }
    // The custom tool's latest feed turned out to be wrong: expire it.
    if let Some(active) =
        crate::store::prelude::SnapshotReads::active_snapshot(store, "licensewatch")?
    {
        let e = Env::new(
            env.config.clone(),
            "alice",
            Clock::Fixed(now - Duration::hours(5)),
        );
        super::expire::expire(
            store,
            &e,
            &active.id,
            "license database found corrupt upstream",
        )?;
    }
    Ok(DemoSummary {
        imports,
        days: DAYS,
        now,
    })
}
