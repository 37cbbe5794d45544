//! Commands of the governance workflows: SLA, records, expiry, rollback,
//! diff, retention, audit purge.

use super::output::{esc, print_json, table};
use super::{Context, HoldCmd, RecordsArgs, RetentionCmd, RollbackArgs};
use crate::domain::time::{fmt_duration, fmt_ts};
use crate::ops::diff::DiffSummary;
use crate::ops::rollback::{Observer, StepEvent, Target};
use crate::ops::{self, OpError};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};

type Result<T> = std::result::Result<T, OpError>;

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
    let q = ops::records::RecordsQuery {
        tool: a.tool,
        subject: a.subject,
        kind: a.kind,
        severities: a.severity,
        override_reason: a.override_reason,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut warned = false;
    let (cleared, _n) = ops::records::query(&mut store, &ctx.env, &q, |line| {
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
            esc(&s.id),
            esc(&s.tool)
        );
    }
    Ok(0)
}

fn print_diff(d: &DiffSummary, verb: &str) {
    println!("{}", esc(&d.headline(verb)));
    let by = |c: &ops::diff::Counts| {
        let sev: Vec<String> = c
            .by_severity
            .iter()
            .map(|(k, v)| format!("{} {v}", esc(k)))
            .collect();
        format!(
            "{} ({} packages, {} findings{})",
            c.total,
            c.packages,
            c.vulnerabilities,
            if sev.is_empty() {
                String::new()
            } else {
                format!(": {}", sev.join(", "))
            }
        )
    };
    println!("  added:   {}", by(&d.added));
    println!("  removed: {}", by(&d.removed));
    println!("  changed: {}", by(&d.changed));
    for it in &d.samples {
        let sign = match it.change {
            ops::diff::Change::Added => "+",
            ops::diff::Change::Removed => "-",
            ops::diff::Change::Changed => "~",
        };
        let mut line = format!("  {sign} {}", it.identity);
        if let Some(s) = &it.severity {
            line.push_str(&format!(" [{s}]"));
        }
        if let (Some(o), Some(n)) = (&it.old, &it.new) {
            let changes = ops::diff::changed_fields(o, n);
            if !changes.is_empty() {
                line.push_str(&format!(": {}", changes.join(", ")));
            }
        }
        // One line per record: a name holding a line break must not
        // forge a row.
        println!("{}", esc(&line));
    }
}

/// Prints each step as it happens, on a terminal.
struct StepPrinter(bool);
impl Observer for StepPrinter {
    fn on(&self, e: &StepEvent) {
        if !self.0 {
            return;
        }
        match e {
            StepEvent::Started(_) => {}
            StepEvent::Done(s) => eprintln!("  ✓ {}", s.label()),
            StepEvent::Failed(s, m) => eprintln!("  ✗ {}: {}", s.label(), esc(m)),
        }
    }
}

fn prompt(question: &str) -> Option<String> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

pub fn rollback(ctx: &Context, a: RollbackArgs) -> Result<u8> {
    let mut store = ctx.open_rw()?;
    let target = match (&a.snapshot_id, a.at) {
        (Some(id), _) => Target::Id(id.clone()),
        (None, Some(t)) => Target::At(t),
        (None, None) => Target::Previous,
    };
    // Scripts (--force) go straight to the workflow, which verifies the
    // target itself; people get the preview first.
    if a.force && !a.dry_run {
        let reason = a
            .reason
            .clone()
            .filter(|r| !r.trim().is_empty())
            .ok_or_else(|| OpError::usage("a rollback needs a reason: pass --reason TEXT"))?;
        // Without --expect-active, the active snapshot seen now is the one
        // expected: a rollback that raced this one, or an import made
        // meanwhile, makes this one fail with exit 5 instead of undoing it.
        let expected = match a.expect_active.clone() {
            Some(e) => e,
            None => {
                ops::rollback::resolve_now(&mut store, &a.tool, &target)?
                    .0
                    .id
            }
        };
        let printer = StepPrinter(!ctx.json && std::io::stderr().is_terminal());
        let resp = ops::rollback::execute(
            &mut store,
            &ctx.env,
            &a.tool,
            &target,
            Some(&expected),
            &reason,
            &printer,
        )?;
        print_rollback(ctx, &resp);
        return Ok(0);
    }
    let plan = ops::rollback::plan(&mut store, &a.tool, &target, a.sample)?;
    if let Some(exp) = &a.expect_active {
        if *exp != plan.from.id {
            return Err(OpError::conflict(format!(
                "{}'s active snapshot is {}, not {exp}",
                a.tool, plan.from.id
            )));
        }
    }
    if a.dry_run {
        let resp = ops::rollback::dry_run_response(&plan, &ctx.env, a.reason.as_deref());
        if ctx.json {
            print_json(&json!({ "rollback": resp }));
        } else {
            println!(
                "dry run: rolling {} back from {} ({} records) to {} ({} records){} would change:",
                esc(&plan.tool),
                esc(&plan.from.id),
                plan.from.record_count,
                esc(&plan.to.id),
                plan.to.record_count,
                if plan.target_was_archived {
                    ", an archived snapshot"
                } else {
                    ""
                }
            );
            println!(
                "target verified: {} records re-hash to {}",
                plan.verification.actual_count,
                esc(plan.verification.actual_hash.as_deref().unwrap_or("-"))
            );
            print_diff(&plan.diff, "rolling back");
            println!("nothing was changed");
        }
        return Ok(0);
    }
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut reason = a.reason.clone().filter(|r| !r.trim().is_empty());
    if !a.force {
        if !tty {
            return Err(OpError::usage(
                "a rollback asks for confirmation, and there is no terminal to ask on; in scripts pass --force and --reason",
            ));
        }
        eprintln!(
            "rolling {} back from {} ({} records) to {} ({} records){}",
            esc(&plan.tool),
            esc(&plan.from.id),
            plan.from.record_count,
            esc(&plan.to.id),
            plan.to.record_count,
            if plan.target_was_archived {
                " (archived)"
            } else {
                ""
            }
        );
        eprintln!("{}", esc(&plan.diff.headline("rolling back")));
        if reason.is_none() {
            reason = prompt("reason for the rollback: ").filter(|r| !r.is_empty());
            if reason.is_none() {
                return Err(OpError::usage(
                    "a rollback needs a reason; nothing was changed",
                ));
            }
        }
        let typed = prompt(&format!(
            "type the tool name ({}) to roll back, anything else cancels: ",
            plan.tool
        ));
        if typed.as_deref() != Some(plan.tool.as_str()) {
            eprintln!("cancelled; nothing was changed");
            return Ok(1);
        }
    }
    let reason =
        reason.ok_or_else(|| OpError::usage("a rollback needs a reason: pass --reason TEXT"))?;
    let printer = StepPrinter(!ctx.json && std::io::stderr().is_terminal());
    let resp = ops::rollback::execute(
        &mut store,
        &ctx.env,
        &plan.tool,
        &Target::Id(plan.to.id.clone()),
        Some(&plan.from.id),
        &reason,
        &printer,
    )?;
    print_rollback(ctx, &resp);
    Ok(0)
}

fn print_rollback(ctx: &Context, resp: &ops::rollback::Response) {
    if ctx.json {
        print_json(&json!({ "rollback": resp }));
    } else {
        println!(
            "rolled {} back from {} ({} records) to {} ({} records){}: {} records changed; by {} at {}",
            esc(&resp.tool),
            esc(&resp.from.snapshot_id),
            resp.from.record_count,
            esc(&resp.to.snapshot_id),
            resp.to.record_count,
            if resp.target_was_archived { ", restored from the archive" } else { "" },
            resp.records_affected,
            esc(&resp.executed_by),
            resp.executed_at
        );
    }
}

pub fn diff(ctx: &Context, from: String, to: String, sample: usize) -> Result<u8> {
    let mut store = ctx.open_ro()?;
    let d = store.read(|r| -> Result<DiffSummary> {
        use crate::store::prelude::*;
        let side =
            |id: &str| -> Result<(crate::store::DiffSide, crate::domain::snapshot::Snapshot)> {
                let s = ops::snapshots::get(r, id)?;
                if !s.state.is_restorable()
                    && s.state != crate::domain::snapshot::SnapshotState::Expired
                {
                    return Err(OpError::invalid(format!(
                        "{id} is {}: it has no records to compare",
                        s.state
                    )));
                }
                let (_, pk) = r
                    .get_snapshot_pk(id)?
                    .ok_or_else(|| OpError::not_found(id.to_string()))?;
                Ok((crate::store::DiffSide::Snapshot(pk), s))
            };
        let (a, _) = side(&from)?;
        let (b, _) = side(&to)?;
        ops::diff::diff(r, (a, &from), (b, &to), sample)
    })?;
    if ctx.json {
        print_json(&json!({ "diff": d }));
    } else {
        println!("from {} to {}:", esc(&from), esc(&to));
        print_diff(&d, "going there");
    }
    Ok(0)
}

pub fn retention(ctx: &Context, cmd: RetentionCmd) -> Result<u8> {
    match cmd {
        RetentionCmd::Status => {
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
        RetentionCmd::Run { dry_run } => {
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
        RetentionCmd::Hold(HoldCmd::Add {
            snapshot_id,
            reason,
            until,
        }) => {
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

pub fn purge(ctx: &Context, before: chrono::DateTime<chrono::Utc>, reason: String) -> Result<u8> {
    let mut store = ctx.open_rw()?;
    let r = ops::audit::purge(&mut store, &ctx.env, before, &reason)?;
    if ctx.json {
        print_json(&json!({ "purge": r }));
    } else if r.purged == 0 {
        println!("no audit records older than {}", fmt_ts(before));
    } else {
        println!(
            "purged {} audit records ({} to {}); {} attests it with hash {}",
            r.purged,
            esc(r.purged_from.as_deref().unwrap_or("-")),
            esc(r.purged_through.as_deref().unwrap_or("-")),
            esc(r.record.as_deref().unwrap_or("-")),
            r.removed_hash.as_deref().unwrap_or("-")
        );
    }
    Ok(0)
}
