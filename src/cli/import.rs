//! `snapgov ingest import`.

use super::output::{esc, print_json};
use super::{Context, ImportArgs};
use crate::ops::{self, OpError, Progress};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;

type Result<T> = std::result::Result<T, OpError>;

/// A record counter on a terminal's stderr; nothing when piped.
pub(super) struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(json: bool) -> Bar {
        Bar::counting(json, "records")
    }

    /// A counter of `unit` (records, rows).
    pub(super) fn counting(json: bool, unit: &str) -> Bar {
        if json || !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let pb = ProgressBar::new_spinner();
        pb.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{msg}}: {{human_pos}} {unit} ({{per_sec}}, {{elapsed}})"
            ))
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
    let bar = Bar::new(ctx.json);
    let out = ops::import::import(&mut store, &ctx.env, &req, &bar)?;
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
