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
    let demo = Demo {
        env,
        now: env.clock.now(),
        dir: tempfile::tempdir().map_err(io_err)?,
    };
    let mut imports = 0;
    // Interleave the tools day by day so the audit trail reads like a real one.
    for day in (0..=DAYS).rev() {
        for (n, f) in FEEDS.iter().enumerate() {
            if day < f.last_days_ago || (day - f.last_days_ago) % f.every != 0 {
                continue;
            }
            demo.import_feed(store, f, n, day)?;
            imports += 1;
        }
        demo.operate(store, day)?;
        // One broken feed, refused and recorded as failed.
        if day == 20 {
            demo.import_broken(store, day)?;
            imports += 1;
        }
    }
    demo.expire_custom(store)?;
    Ok(DemoSummary {
        imports,
        days: DAYS,
        now: demo.now,
    })
}

/// The demo being built: its clock and where its feeds are written.
struct Demo<'a> {
    env: &'a Env,
    now: DateTime<Utc>,
    dir: tempfile::TempDir,
}

impl Demo<'_> {
    /// An env for `user` with the clock at `at`.
    fn env_at(&self, user: &str, at: DateTime<Utc>) -> Env {
        Env::new(self.env.config.clone(), user, Clock::Fixed(at))
    }

    /// Imports feed `f` (the `n`th) `day` days ago.
    fn import_feed(&self, store: &mut Store, f: &Feed, n: usize, day: i64) -> Result<()> {
        let at = self.now - Duration::days(day) + Duration::minutes(n as i64 * 7 + 5);
        let at = at.min(self.now);
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
        let path = self.dir.path().join(format!("{}-{day}.json", f.tool));
        let file = std::fs::File::create(&path).map_err(io_err)?;
        let mut w = std::io::BufWriter::new(file);
        write_feed(f.format, &spec, &mut w).map_err(io_err)?;
        std::io::Write::flush(&mut w).map_err(io_err)?;
        drop(w);
        let name = format!("{}-day{day}.json", f.tool);
        let mut req = ImportRequest::new(f.tool, vec![Input::Named { path, name }]);
        req.reason = Some("scheduled_sync".into());
        req.source_uri = Some(format!("s3://scans/{}/{day}.json", f.tool));
        import(store, &self.env_at(f.user, at), &req, &NoProgress)?;
        Ok(())
    }

    /// Operators at work: rollbacks, a hold, retention runs, an expiry.
    fn operate(&self, store: &mut Store, day: i64) -> Result<()> {
        let start = self.now - Duration::days(day);
        let bob = |h: i64| self.env_at("bob", start + Duration::hours(h));
        let rollback = |store: &mut Store, env: &Env, tool: &str, why: &str| {
            super::rollback::execute(
                store,
                env,
                tool,
                &super::rollback::Target::Previous,
                None,
                why,
                &super::rollback::Quiet,
            )
            .map(drop)
        };
        match day {
            40 => rollback(
                store,
                &bob(9),
                "trivy",
                "scanner upgrade produced false positives",
            )?,
            25 => rollback(
                store,
                &bob(10),
                "syft",
                "data corruption detected in the nightly SBOM",
            )?,
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
                        &bob(11),
                        s.id.as_str(),
                        "Audit hold: Q4 compliance review",
                        self.now + Duration::days(45),
                    )?;
                }
            }
            7 | 2 => {
                let system = self.env_at(super::SYSTEM_USER, start + Duration::hours(1));
                super::retention::run(store, &system, false)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// A truncated trivy feed: the import must be refused.
    fn import_broken(&self, store: &mut Store, day: i64) -> Result<()> {
        let path = self.dir.path().join("trivy-truncated.json");
        std::fs::write(&path, b"{\"SchemaVersion\": 2, \"ArtifactName\": \"registry.example.com/shop/trivy\", \"Results\": [{\"Target\": ").map_err(io_err)?;
        let at = self.now - Duration::days(day) + Duration::hours(3);
        let name = "trivy-truncated.json".to_string();
        let mut req = ImportRequest::new("trivy", vec![Input::Named { path, name }]);
        req.reason = Some("scheduled_sync".into());
        match import(store, &self.env_at("ci-pipeline", at), &req, &NoProgress) {
            Err(OpError::Rejected { .. }) => Ok(()),
            Err(other) => Err(other),
            Ok(_) => Err(OpError::invalid("the demo's broken feed was accepted")),
        }
    }

    /// The custom tool's latest feed turned out to be wrong: expire it.
    fn expire_custom(&self, store: &mut Store) -> Result<()> {
        if let Some(active) =
            crate::store::prelude::SnapshotReads::active_snapshot(store, "licensewatch")?
        {
            let e = self.env_at("alice", self.now - Duration::hours(5));
            super::expire::expire(
                store,
                &e,
                active.id.as_str(),
                "license database found corrupt upstream",
            )?;
        }
        Ok(())
    }
}
