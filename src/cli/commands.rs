//! Dispatch: one function per command lives in the module of its
//! subcommand (import, snapshots, rollback, retention, audit, server); the
//! small commands (demo, generate, config check) live here.

use super::output::{esc, print_json, snapshots_table};
use super::{Command, Context, IngestCmd};
use crate::domain::time::fmt_ts;
use crate::ops::{self, OpError};
use crate::store::prelude::SnapshotReads;
use crate::store::{OpenMode, SnapshotFilter, Store};
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
        Command::Store(c) => super::store::run(ctx, c),
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

fn ingest(ctx: &mut Context, cmd: IngestCmd) -> Result<u8> {
    match cmd {
        IngestCmd::Import(a) => super::import::import(ctx, a),
        IngestCmd::Snapshots(a) => super::snapshots::list(ctx, a),
        IngestCmd::Show { id } => super::snapshots::show(ctx, id),
        IngestCmd::Verify { id, all } => super::snapshots::verify(ctx, id, all),
        IngestCmd::Audit(c) => super::audit::run(ctx, c),
        IngestCmd::Sla { tool } => super::snapshots::sla(ctx, tool),
        IngestCmd::Records(a) => super::snapshots::records(ctx, a),
        IngestCmd::Expire {
            snapshot_id,
            reason,
        } => super::snapshots::expire(ctx, snapshot_id, reason),
        IngestCmd::Rollback(a) => super::rollback::rollback(ctx, a),
        IngestCmd::Diff { from, to, sample } => super::rollback::diff(ctx, from, to, sample),
        IngestCmd::Retention(c) => super::retention::run(ctx, c),
    }
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
            (p.into(), Some(dir.keep()))
        }
    };
    if path.path().is_some_and(|p| p.exists()) {
        return Err(OpError::usage(format!(
            "{path} already exists; the demo builds a fresh store, so name a new file with --db"
        )));
    }
    let mut store = Store::open(path.clone(), OpenMode::ReadWrite)?;
    if store.count_snapshots()? > 0 {
        return Err(OpError::usage(format!(
            "{path} already holds snapshots; the demo builds a fresh store, so name an empty database or schema with --db"
        )));
    }
    let summary = ops::demo::build(&mut store, &ctx.env)?;
    // The location as the commands printed below must spell it.
    let db_word = super::output::shell_word(&path.to_string());
    if keep.is_some() {
        eprintln!("demo store: {path} (a fresh temporary store; pass --db to choose)");
    }
    if ctx.json {
        print_json(
            &json!({ "demo": { "db": path.to_string(), "imports": summary.imports, "now": fmt_ts(summary.now) } }),
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
            "demo store: {path}; open it again with: SNAPGOV_NOW={} snapgov --db {db_word} console",
            fmt_ts(summary.now),
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
        "built a demo store with {} imports over {} days ({path} as of {})",
        summary.imports,
        summary.days,
        fmt_ts(summary.now)
    );
    print!("{}", snapshots_table(&ctx.style, &snaps, summary.now));
    println!(
        "\nexplore it: SNAPGOV_NOW={} snapgov --db {db_word} ingest snapshots",
        fmt_ts(summary.now),
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
