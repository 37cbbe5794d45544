//! One function per command: parse arguments into a workflow request, call
//! the workflow, print the result.

use super::output::{esc, print_json, snapshot_detail, snapshots_table, table};
use super::{AuditCmd, Command, Context, IngestCmd};
use crate::domain::time::fmt_ts;
use crate::ops::{self, OpError, Progress};
use crate::store::{AuditFilter, OpenMode, SnapshotFilter, Store};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;

type Result<T> = std::result::Result<T, OpError>;

pub fn dispatch(ctx: &mut Context, cmd: Command) -> Result<u8> {
    match cmd {
        Command::Ingest(c) => ingest(ctx, c),
        Command::Demo(a) => demo(ctx, a),
        Command::Console(a) => crate::console::run(console_options(ctx, a.read_only)),
        Command::Generate(a) => generate(a),
        Command::Serve(a) => super::server::serve(ctx, a),
        Command::Token(c) => super::server::token(ctx, c),
        // The config was loaded and validated before any command runs: a
        // bad one never gets here (exit 2).
        Command::Config(super::ConfigCmd::Check) => {
            let summary = ctx.env.config.summary();
            if ctx.json {
                print_json(&json!({ "config": summary }));
            } else {
                println!(
                    "config {} is valid",
                    esc(&ctx
                        .env
                        .config
                        .source
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "(none: defaults)".into()))
                );
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).expect("json serializes")
                );
            }
            Ok(0)
        }
    }
}

/// A record counter on a terminal's stderr; nothing when piped.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(json: bool) -> Bar {
        if json || !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg}: {human_pos} records ({per_sec}, {elapsed})",
            )
            .expect("valid template"),
        );
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar(Some(pb))
    }
}

impl Progress for Bar {
    fn set_message(&self, msg: &str) {
        if let Some(p) = &self.0 {
            p.set_message(msg.to_string());
        }
    }
    fn inc(&self, n: u64) {
        if let Some(p) = &self.0 {
            p.inc(n);
        }
    }
    fn finish(&self) {
        if let Some(p) = &self.0 {
            p.finish_and_clear();
        }
    }
}

fn ingest(ctx: &mut Context, cmd: IngestCmd) -> Result<u8> {
    let now = ctx.env.clock.now();
    match cmd {
        IngestCmd::Import(a) => {
            let mut store = ctx.open_rw()?;
            let mut req = ops::import::ImportRequest::new(
                &a.tool,
                a.files
                    .iter()
                    .map(|f| ops::import::Input::from_arg(f))
                    .collect(),
            );
            req.format = a.format.to_format();
            req.source_uri = a.source_uri;
            req.reason = a.reason;
            req.imported_at = a.imported_at;
            req.allow_empty = a.allow_empty;
            req.allow_shrink = a.allow_shrink;
            req.activate = a.activate;
            let bar = Bar::new(ctx.json);
            let out = ops::import::import(&mut store, &ctx.env, &req, &bar)?;
            if ctx.json {
                print_json(&json!({
                    "import": {
                        "snapshot": out.snapshot,
                        "replaced": out.replaced,
                        "recordsReceived": out.records_received,
                        "recordsMerged": out.records_merged,
                        "recordsAffected": out.records_affected,
                        "activated": out.activated,
                    }
                }));
            } else if !out.activated {
                let s = &out.snapshot;
                println!(
                    "imported {} as {}: {} records ({} received, {} merged), stored in history as {}, not activated: {} is newer{}",
                    s.tool,
                    ctx.style.bold(&s.id),
                    s.record_count,
                    out.records_received,
                    out.records_merged,
                    s.state,
                    out.next_snapshot.as_deref().unwrap_or("the active snapshot"),
                    if out.next_snapshot.is_some() {
                        " (pass --activate --reason TEXT to make the backfill active)"
                    } else {
                        ""
                    }
                );
                println!(
                    "  normalized hash {}",
                    s.normalized_hash.as_deref().unwrap_or("-")
                );
                for w in &s.warnings {
                    eprintln!("warning: {w}");
                }
            } else {
                let s = &out.snapshot;
                println!(
                    "imported {} as {}: {} records ({} received, {} merged), now active{}",
                    esc(&s.tool),
                    ctx.style.bold(&esc(&s.id)),
                    s.record_count,
                    out.records_received,
                    out.records_merged,
                    out.replaced
                        .as_ref()
                        .map(|r| format!(
                            ", replacing {} ({} records changed)",
                            esc(r),
                            out.records_affected
                        ))
                        .unwrap_or_default()
                );
                println!(
                    "  normalized hash {}",
                    esc(s.normalized_hash.as_deref().unwrap_or("-"))
                );
                for w in &s.warnings {
                    eprintln!("warning: {}", esc(w));
                }
            }
            Ok(0)
        }
        IngestCmd::Snapshots(a) => {
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
                print!("{}", snapshots_table(&ctx.style, &snaps, now));
            }
            Ok(0)
        }
        IngestCmd::Show { id } => {
            let store = ctx.open_ro()?;
            let s = ops::snapshots::get(&store, &id)?;
            if ctx.json {
                print_json(&json!({ "snapshot": s }));
            } else {
                print!("{}", snapshot_detail(&ctx.style, &s, now));
            }
            Ok(0)
        }
        IngestCmd::Verify { id, all } => {
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
                let mut out =
                    json!({ "verify": if all { json!(results) } else { json!(results[0]) } });
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
        IngestCmd::Audit(c) => audit(ctx, c),
        IngestCmd::Sla { tool } => super::governance::sla(ctx, tool),
        IngestCmd::Records(a) => super::governance::records(ctx, a),
        IngestCmd::Expire {
            snapshot_id,
            reason,
        } => super::governance::expire(ctx, snapshot_id, reason),
        IngestCmd::Rollback(a) => super::governance::rollback(ctx, a),
        IngestCmd::Diff { from, to, sample } => super::governance::diff(ctx, from, to, sample),
        IngestCmd::Retention(c) => super::governance::retention(ctx, c),
    }
}

fn audit(ctx: &mut Context, cmd: AuditCmd) -> Result<u8> {
    match cmd {
        AuditCmd::List(a) => {
            let store = ctx.open_ro()?;
            let filter = AuditFilter {
                event: a.event,
                tool: a.tool,
                user: a.by_user,
                since: a.since,
                until: a.until,
                text: a.search,
                limit: Some(a.limit),
                ..Default::default()
            };
            let recs = ops::audit::list(&store, &filter)?;
            if ctx.json {
                let v: Vec<_> = recs.iter().map(|(_, r)| r).collect();
                print_json(&json!({ "audit": v }));
            } else if recs.is_empty() {
                println!("no audit records match");
            } else {
                let rows: Vec<Vec<String>> = recs
                    .iter()
                    .map(|(_, r)| {
                        vec![
                            esc(&r.id),
                            fmt_ts(r.timestamp),
                            esc(&r.event),
                            esc(&r.user),
                            esc(&summary(&r.details)),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    table(&["ID", "TIMESTAMP", "EVENT", "USER", "DETAILS"], &rows)
                );
            }
            Ok(0)
        }
        AuditCmd::Show { id } => {
            let store = ctx.open_ro()?;
            let r = ops::audit::show(&store, &id)?;
            print_json(&json!({ "audit": r }));
            Ok(0)
        }
        AuditCmd::Verify { checkpoint } => {
            let store = ctx.open_ro()?;
            let cp = checkpoint
                .as_deref()
                .map(ops::audit::read_checkpoint)
                .transpose()?;
            let r = ops::audit::verify(&store, &ctx.env, cp.as_ref())?;
            if ctx.json {
                print_json(&json!({ "verify": r }));
            }
            if !r.is_ok() {
                return Err(OpError::integrity(format!(
                    "audit verification failed: {}",
                    r.problems().join("; ")
                )));
            }
            if !ctx.json {
                println!(
                    "audit trail verified: {} records, head {} ({}); {} snapshots match their import records{}",
                    r.records_checked,
                    r.head.as_deref().unwrap_or("-"),
                    r.head_hash.as_deref().unwrap_or("-"),
                    r.snapshots_checked,
                    r.checkpoint.as_ref().map(|c| format!("; reaches checkpoint {c}")).unwrap_or_default()
                );
            }
            Ok(0)
        }
        AuditCmd::Purge { before, reason } => super::governance::purge(ctx, before, reason),
        AuditCmd::Checkpoint { file } => {
            let store = ctx.open_ro()?;
            let cp = ops::audit::write_checkpoint(&store, &file, ctx.env.clock.now())?;
            if ctx.json {
                print_json(&json!({ "checkpoint": cp }));
            } else {
                println!(
                    "checkpoint written to {}: head {} {}",
                    file.display(),
                    cp.id,
                    cp.hash
                );
            }
            Ok(0)
        }
    }
}

/// A one-line digest of an audit record's details for tables.
fn summary(d: &serde_json::Value) -> String {
    let d = crate::domain::audit::details::Digest::of(d);
    let mut parts = Vec::new();
    if let (Some(f), Some(t)) = (d.from_snapshot, d.to_snapshot) {
        parts.push(format!("{f} → {t}"));
    } else if let Some(s) = d.snapshot_id {
        parts.push(s);
    }
    if let Some(n) = d.record_count {
        parts.push(format!("{n} records"));
    }
    if let Some(r) = d.reason {
        let r: String = r.chars().take(60).collect();
        parts.push(r);
    }
    parts.join(", ")
}

fn console_options(ctx: &Context, read_only: bool) -> crate::console::Options {
    crate::console::Options {
        db: ctx.db.clone(),
        env: ctx.env.clone(),
        read_only,
        color: ctx.style.color,
    }
}

fn demo(ctx: &mut Context, a: super::DemoArgs) -> Result<u8> {
    let (path, keep) = match ctx.db_given {
        true => (ctx.db.clone(), None),
        false => {
            let dir = tempfile::Builder::new()
                .prefix("snapgov-demo-")
                .tempdir()
                .map_err(|e| OpError::invalid(format!("cannot create a temporary folder: {e}")))?;
            let p = dir.path().join("demo.db");
            (p, Some(dir.keep()))
        }
    };
    if path.exists() {
        return Err(OpError::usage(format!(
            "{} already exists; the demo builds a fresh store, so name a new file with --db",
            path.display()
        )));
    }
    let mut store = Store::open(&path, OpenMode::ReadWrite)?;
    let summary = ops::demo::build(&mut store, &ctx.env)?;
    if keep.is_some() {
        eprintln!(
            "demo store: {} (a fresh temporary store; pass --db to choose)",
            path.display()
        );
    }
    if ctx.json {
        print_json(
            &json!({ "demo": { "db": path, "imports": summary.imports, "now": fmt_ts(summary.now) } }),
        );
        return Ok(0);
    }
    // On a terminal the demo opens the console on the store it built.
    if !a.no_console && std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        drop(store);
        let mut opts = console_options(ctx, false);
        opts.db = path.clone();
        let code = crate::console::run(opts)?;
        println!(
            "demo store: {}; open it again with: SNAPGOV_NOW={} snapgov --db {} console",
            path.display(),
            fmt_ts(summary.now),
            path.display()
        );
        return Ok(code);
    }
    let snaps = ops::snapshots::list(
        &mut store,
        &SnapshotFilter {
            newest_first: true,
            limit: Some(12),
            ..Default::default()
        },
    )?;
    println!(
        "built a demo store with {} imports over {} days ({} as of {})",
        summary.imports,
        summary.days,
        path.display(),
        fmt_ts(summary.now)
    );
    print!("{}", snapshots_table(&ctx.style, &snaps, summary.now));
    println!(
        "\nexplore it: SNAPGOV_NOW={} snapgov --db {} ingest snapshots",
        fmt_ts(summary.now),
        path.display()
    );
    Ok(0)
}

fn generate(a: super::GenerateArgs) -> Result<u8> {
    let spec = crate::synthetic_feed::FeedSpec {
        packages: a.packages,
        vuln_percent: a.vuln_percent,
        seed: a.seed,
        churn_permille: a.churn_permille,
        ..Default::default()
    };
    let f = std::fs::File::create(&a.out)
        .map_err(|e| OpError::usage(format!("cannot create {}: {e}", a.out.display())))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    crate::synthetic_feed::write_feed(a.format, &spec, &mut w)
        .and_then(|_| std::io::Write::flush(&mut w))
        .map_err(|e| OpError::invalid(format!("cannot write {}: {e}", a.out.display())))?;
    Ok(0)
}
