//! `snapgov ingest audit`: list, show, verify, checkpoint, purge.

use super::output::{esc, print_json, table};
use super::{AuditCmd, Context};
use crate::domain::time::fmt_ts;
use crate::ops::{self, OpError};
use crate::store::AuditFilter;
use serde_json::json;

type Result<T> = std::result::Result<T, OpError>;

/// How much of a record's digest a table row shows.
const DIGEST_CHARS: usize = 100;

pub fn run(ctx: &Context, cmd: AuditCmd) -> Result<u8> {
    match cmd {
        AuditCmd::List(a) => list(ctx, a),
        AuditCmd::Show { id } => {
            let store = ctx.open_ro()?;
            let r = ops::audit::show(&store, &id)?;
            print_json(&json!({ "audit": r }));
            Ok(0)
        }
        AuditCmd::Verify { checkpoint } => verify(ctx, checkpoint),
        AuditCmd::Purge { before, reason } => purge(ctx, before, reason),
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

/// `s` cut to `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
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

fn list(ctx: &Context, a: super::AuditListArgs) -> Result<u8> {
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
                    esc(&clip(&ops::audit::digest(&r.details), DIGEST_CHARS)),
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

fn verify(ctx: &Context, checkpoint: Option<std::path::PathBuf>) -> Result<u8> {
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
            r.summary("`--json` lists them all")
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
