//! `snapgov ingest retention`: the policy and what it would do, runs, holds.

use super::output::{esc, print_json};
use super::{Context, HoldCmd, RetentionCmd};
use crate::domain::time::fmt_ts;
use crate::ops::{self, OpError};
use serde_json::json;

type Result<T> = std::result::Result<T, OpError>;

pub fn run(ctx: &Context, cmd: RetentionCmd) -> Result<u8> {
    match cmd {
        RetentionCmd::Status => status(ctx),
        RetentionCmd::Run { dry_run } => run_now(ctx, dry_run),
        RetentionCmd::Hold(HoldCmd::Add {
            snapshot_id,
            reason,
            until,
        }) => hold_add(ctx, snapshot_id, reason, until),
        RetentionCmd::Hold(HoldCmd::Remove { snapshot_id }) => {
            let mut store = ctx.open_rw()?;
            ops::retention::hold_remove(&mut store, &ctx.env, &snapshot_id)?;
            if ctx.json {
                print_json(&json!({ "hold": { "snapshotId": snapshot_id, "removed": true } }));
            } else {
                println!("removed the hold on {}", esc(&snapshot_id));
            }
            Ok(0)
        }
    }
}

fn print_plan(p: &crate::domain::retention::Plan, lead: &str, idle: &str) {
    if p.actions.is_empty() {
        println!("{idle}");
    } else {
        println!("{lead}");
        for a in &p.actions {
            let verb = match a.action {
                crate::domain::retention::Action::Archive => "archive",
                crate::domain::retention::Action::Delete => "delete",
            };
            println!("  {verb} {} ({})", esc(&a.snapshot_id), esc(&a.reason));
        }
    }
    for s in &p.skipped {
        println!("  keep {} ({})", esc(&s.snapshot_id), esc(&s.reason));
    }
}

fn status(ctx: &Context) -> Result<u8> {
    let store = ctx.open_ro()?;
    let st = ops::retention::status(&store, &ctx.env)?;
    if ctx.json {
        print_json(&json!({ "retention": st }));
        return Ok(0);
    }
    println!("schedule: {} (next run {})", st.schedule, st.next_run);
    for r in &st.rules {
        println!(
            "  {} snapshots: {} after {}",
            esc(r.category),
            esc(r.action.as_str()),
            esc(&r.max_age)
        );
    }
    println!(
        "  (each age counts from when the snapshot entered its category, its stateChangedAt; a tool's current snapshot and held ones are kept)"
    );
    println!(
        "  audit records: kept {}, purged only on request",
        st.audit_max_age
    );
    if st.exceptions.is_empty() {
        println!("holds: none");
    } else {
        println!("holds:");
        for h in &st.exceptions {
            println!(
                "  {} until {}{}: {}",
                esc(&h.snapshot_id),
                esc(&h.expires_at),
                if h.active { "" } else { " (expired)" },
                esc(&h.reason)
            );
        }
    }
    print_plan(
        &st.pending,
        "the next run would:",
        "the next run has nothing to do",
    );
    Ok(0)
}

fn run_now(ctx: &Context, dry_run: bool) -> Result<u8> {
    let mut store = ctx.open_rw()?;
    let rep = ops::retention::run(&mut store, &ctx.env, dry_run)?;
    if ctx.json {
        print_json(&json!({ "retentionRun": rep }));
    } else {
        if dry_run {
            print_plan(
                &rep.plan,
                "dry run: the run would:",
                "dry run: nothing to do",
            );
        } else {
            print_plan(&rep.plan, "done:", "done: nothing to do");
        }
        if !dry_run {
            println!(
                "archived {}, deleted {} ({} stored records freed)",
                rep.archived.len(),
                rep.deleted.len(),
                rep.records_freed
            );
        }
    }
    Ok(0)
}

fn hold_add(
    ctx: &Context,
    snapshot_id: String,
    reason: String,
    until: chrono::DateTime<chrono::Utc>,
) -> Result<u8> {
    let mut store = ctx.open_rw()?;
    let h = ops::retention::hold_add(&mut store, &ctx.env, &snapshot_id, &reason, until)?;
    if ctx.json {
        print_json(&json!({ "hold": h }));
    } else {
        println!(
            "held {} until {}: {}",
            esc(&h.snapshot_id),
            fmt_ts(h.expires_at),
            esc(&h.reason)
        );
    }
    Ok(0)
}
