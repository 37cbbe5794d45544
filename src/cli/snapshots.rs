//! Reading snapshots and their data: list, show, verify, the freshness SLA,
//! the guarded record stream, and expiry.

use super::output::{esc, print_json, snapshot_detail, snapshots_table, table};
use super::{Context, RecordsArgs, SnapshotsArgs};
use crate::domain::time::fmt_duration;
use crate::ops::{self, OpError};
use crate::store::SnapshotFilter;
use serde_json::json;
use std::io::Write;

type Result<T> = std::result::Result<T, OpError>;

pub fn list(ctx: &Context, a: SnapshotsArgs) -> Result<u8> {
    let mut store = ctx.open_ro()?;
    let filter = SnapshotFilter {
        tool: a.tool,
        state: a.state,
        limit: a.limit,
        newest_first: a.newest_first,
        ..Default::default()
    };
    let snaps = ops::snapshots::list(&mut store, &filter)?;
    if ctx.json {
        print_json(&json!({ "snapshots": snaps }));
    } else if snaps.is_empty() {
        println!(
            "no snapshots{}",
            if filter.tool.is_some() || filter.state.is_some() {
                " match"
            } else {
                " yet: import one with `snapgov ingest import`"
            }
        );
    } else {
        print!(
            "{}",
            snapshots_table(&ctx.style, &snaps, ctx.env.clock.now())
        );
    }
    Ok(0)
}

pub fn show(ctx: &Context, id: String) -> Result<u8> {
    let store = ctx.open_ro()?;
    let s = ops::snapshots::get(&store, &id)?;
    if ctx.json {
        print_json(&json!({ "snapshot": s }));
    } else {
        print!("{}", snapshot_detail(&ctx.style, &s, ctx.env.clock.now()));
    }
    Ok(0)
}

pub fn verify(ctx: &Context, id: Option<String>, all: bool) -> Result<u8> {
    let store = ctx.open_ro()?;
    let report = match id {
        Some(id) => {
            let r = ops::snapshots::verify_deep(&store, &id)?;
            ops::snapshots::VerifyAll {
                results: vec![r],
                active_problems: Vec::new(),
            }
        }
        None => {
            debug_assert!(all);
            ops::snapshots::verify_all(&store)?
        }
    };
    let results = &report.results;
    if ctx.json {
        let mut out = json!({ "verify": if all { json!(results) } else { json!(results[0]) } });
        if !report.active_problems.is_empty() {
            out["activeProblems"] = json!(report.active_problems);
        }
        print_json(&out);
    }
    if !report.is_ok() {
        return Err(report.into_error());
    }
    if !ctx.json {
        for r in results {
            println!(
                "snapshot {} verified: {} records re-hash to {}",
                esc(&r.snapshot_id),
                r.actual_count,
                esc(r.actual_hash.as_deref().unwrap_or("-"))
            );
        }
    }
    Ok(0)
}

pub fn sla(ctx: &Context, tool: Option<String>) -> Result<u8> {
    let store = ctx.open_ro()?;
    let report = ops::sla::report(&store, &ctx.env, tool.as_deref())?;
    let now = ctx.env.clock.now();
    if ctx.json {
        if tool.is_some() {
            print_json(&json!({ "sla": report[0].doc() }));
        } else {
            let docs: Vec<_> = report.iter().map(|r| r.doc()).collect();
            print_json(&json!({ "sla": docs }));
        }
        return Ok(0);
    }
    if report.is_empty() {
        println!("no tools yet: import a feed with `snapgov ingest import`");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = report
        .iter()
        .map(|r| {
            let d = r.doc();
            vec![
                esc(&r.tool),
                format!(
                    "{} {}",
                    super::output::freshness_glyph(&d.state, d.overdue),
                    r.label()
                ),
                d.age.unwrap_or_else(|| "-".into()),
                esc(d.snapshot_id.as_deref().unwrap_or("-")),
                r.time_left(now)
                    .map(fmt_duration)
                    .unwrap_or_else(|| "-".into()),
                d.next_check,
                format!(
                    "{} / {} / {}",
                    d.thresholds.max_age, d.thresholds.stale, d.thresholds.critical
                ),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "TOOL",
                "STATE",
                "AGE",
                "ACTIVE SNAPSHOT",
                "NEXT CHANGE IN",
                "NEXT CHECK",
                "MAX AGE / STALE / CRITICAL"
            ],
            &rows
        )
    );
    Ok(0)
}

pub fn records(ctx: &Context, a: RecordsArgs) -> Result<u8> {
    let mut store = ctx.open_rw()?;
    let q = ops::guarded_read::RecordsQuery {
        tool: a.tool,
        subject: a.subject,
        kind: a.kind,
        severities: a.severity,
        override_reason: a.override_reason,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut warned = false;
    let (cleared, _n) = ops::guarded_read::query(&mut store, &ctx.env, &q, |line| {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")
    })
    .inspect(|(c, _)| {
        if let Some(w) = &c.warning {
            eprintln!("warning: {}", esc(w));
            warned = true;
        }
    })?;
    let _ = out.flush();
    if !warned {
        if let Some(w) = cleared.warning {
            eprintln!("warning: {}", esc(&w));
        }
    }
    Ok(0)
}

pub fn expire(ctx: &Context, id: String, reason: String) -> Result<u8> {
    let mut store = ctx.open_rw()?;
    let s = ops::expire::expire(&mut store, &ctx.env, &id, &reason)?;
    if ctx.json {
        print_json(&json!({ "snapshot": s }));
    } else {
        println!(
            "expired {} ({}): its data is no longer available",
            esc(s.id.as_str()),
            esc(&s.tool)
        );
    }
    Ok(0)
}
