//! `snapgov ingest import`.

use super::output::{esc, print_json};
use super::progress::ImportProgress;
use super::{Context, ImportArgs};
use crate::ops::{self, OpError};
use serde_json::json;

type Result<T> = std::result::Result<T, OpError>;

pub fn import(ctx: &Context, a: ImportArgs) -> Result<u8> {
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
    let bar = ImportProgress::new(ctx.json, a.quiet, ctx.no_color);
    let out = ops::import::import(&mut store, &ctx.env, &req, &bar);
    bar.close(out.is_ok());
    let out = out?;
    if ctx.json {
        print_json(&json!({ "import": out }));
        return Ok(0);
    }
    let hint = match (&out.next_snapshot, out.activated) {
        (Some(_), false) => " (pass --activate --reason TEXT to make the backfill active)",
        _ => "",
    };
    println!("{out}{hint}");
    let s = &out.snapshot;
    println!(
        "  normalized hash {}",
        esc(s.normalized_hash.as_deref().unwrap_or("-"))
    );
    for w in &s.warnings {
        eprintln!("warning: {}", esc(w));
    }
    Ok(0)
}
