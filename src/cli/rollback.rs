//! `snapgov ingest rollback` and `snapgov ingest diff`: a preview first
//! (the record-level diff), then the verified, atomic rollback.

use super::output::{esc, print_json};
use super::{Context, RollbackArgs};
use crate::ops::diff::DiffSummary;
use crate::ops::rollback::{Observer, Plan, StepEvent, Target};
use crate::ops::{self, OpError};
use crate::store::Store;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};

type Result<T> = std::result::Result<T, OpError>;

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
        return forced(ctx, &mut store, &a, &target);
    }
    let plan = ops::rollback::preview(
        &mut store,
        &a.tool,
        &target,
        a.expect_active.as_deref(),
        a.sample,
    )?;
    if a.dry_run {
        dry_run(ctx, &plan, a.reason.as_deref());
        return Ok(0);
    }
    let Some(reason) = confirm(&plan, a.reason.clone().filter(|r| !r.trim().is_empty()))? else {
        eprintln!("cancelled; nothing was changed");
        return Ok(1);
    };
    let printer = StepPrinter(!ctx.json && std::io::stderr().is_terminal());
    let resp = ops::rollback::execute(
        &mut store,
        &ctx.env,
        &plan.tool,
        &Target::Id(plan.to.id.to_string()),
        Some(plan.from.id.as_str()),
        &reason,
        &printer,
    )?;
    print_rollback(ctx, &resp);
    Ok(0)
}

/// `--force`: no preview, no question; the active snapshot seen now (or
/// the one `--expect-active` names) is the one expected, so a rollback that
/// raced this one, or an import made meanwhile, fails with exit 5 instead
/// of being undone.
fn forced(ctx: &Context, store: &mut Store, a: &RollbackArgs, target: &Target) -> Result<u8> {
    let reason = a
        .reason
        .clone()
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| OpError::usage("a rollback needs a reason: pass --reason TEXT"))?;
    let expected = ops::rollback::expected_active(store, &a.tool, target, a.expect_active.clone())?;
    let printer = StepPrinter(!ctx.json && std::io::stderr().is_terminal());
    let resp = ops::rollback::execute(
        store,
        &ctx.env,
        &a.tool,
        target,
        Some(&expected),
        &reason,
        &printer,
    )?;
    print_rollback(ctx, &resp);
    Ok(0)
}

fn dry_run(ctx: &Context, plan: &Plan, reason: Option<&str>) {
    let resp = ops::rollback::dry_run_response(plan, &ctx.env, reason);
    if ctx.json {
        print_json(&json!({ "rollback": resp }));
        return;
    }
    println!("{resp} would change:");
    println!(
        "target verified: {} records re-hash to {}",
        plan.verification.actual_count,
        esc(plan.verification.actual_hash.as_deref().unwrap_or("-"))
    );
    print_diff(&plan.diff, "rolling back");
    println!("nothing was changed");
}

/// Shows what the rollback does and asks for a reason (unless given) and
/// the tool's name. `Ok(None)`: the operator cancelled.
fn confirm(plan: &Plan, mut reason: Option<String>) -> Result<Option<String>> {
    let tty = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !tty {
        return Err(OpError::usage(
            "a rollback asks for confirmation, and there is no terminal to ask on; in scripts pass --force and --reason",
        ));
    }
    eprintln!(
        "rolling {} back from {} ({} records) to {} ({} records){}",
        esc(&plan.tool),
        esc(plan.from.id.as_str()),
        plan.from.record_count,
        esc(plan.to.id.as_str()),
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
    Ok(reason.filter(|_| typed.as_deref() == Some(plan.tool.as_str())))
}

fn print_rollback(ctx: &Context, resp: &ops::rollback::Response) {
    if ctx.json {
        print_json(&json!({ "rollback": resp }));
    } else {
        println!("{resp}");
    }
}

pub fn diff(ctx: &Context, from: String, to: String, sample: usize) -> Result<u8> {
    let mut store = ctx.open_ro()?;
    let d = ops::diff::between(&mut store, &from, &to, sample)?;
    if ctx.json {
        print_json(&json!({ "diff": d }));
    } else {
        println!("from {} to {}:", esc(&from), esc(&to));
        print_diff(&d, "going there");
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
