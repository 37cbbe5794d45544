//! Importing a feed: files in, one verified snapshot out, made active.
//!
//! The whole import is one write transaction: a crash or any failure leaves
//! the store as it was, the previous snapshot still active. A refused import
//! is then recorded on its own (a `failed` snapshot and its audit records),
//! so the attempt stays visible.

mod failure;
mod parse;
mod prepare;
mod write;

use super::{Env, OpError, Progress, Result};
use crate::domain::problem::{Hint, Param, Problem};
use crate::domain::snapshot::{validate_tool_name, Snapshot};
use crate::domain::time::truncate;
use crate::ingest::{detect, Format, IngestError, Limits};
use crate::store::Store;
use chrono::{DateTime, Utc};
use failure::record_failure;
use prepare::{prepare, source_hash, Prepared};
use std::path::PathBuf;
use write::write_snapshot;

/// One input: a file, or standard input (`-`).
#[derive(Clone, Debug)]
pub enum Input {
    File(PathBuf),
    Stdin,
    /// A file known to people by another name (an upload, a generated
    /// feed): errors and the audit trail use the name, not the path.
    Named {
        path: PathBuf,
        name: String,
    },
}

impl Input {
    /// `-` means standard input.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }
    pub fn display(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Named { name, .. } => name.clone(),
            Input::Stdin => "-".to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ImportRequest {
    pub tool: String,
    /// `None`: detect each file's format.
    pub format: Option<Format>,
    pub inputs: Vec<Input>,
    pub source_uri: Option<String>,
    pub reason: Option<String>,
    /// Backdates the import (`--imported-at`); default now.
    pub imported_at: Option<DateTime<Utc>>,
    pub allow_empty: bool,
    pub allow_shrink: bool,
    /// Make a backfill (older than the tool's active snapshot) active
    /// anyway; needs a reason, audited with the activation.
    pub activate: bool,
}

impl ImportRequest {
    pub fn new(tool: &str, inputs: Vec<Input>) -> ImportRequest {
        ImportRequest {
            tool: tool.to_string(),
            format: None,
            inputs,
            source_uri: None,
            reason: None,
            imported_at: None,
            allow_empty: false,
            allow_shrink: false,
            activate: false,
        }
    }
}

/// What an import did: `{"import": …}` in the CLI's and the API's JSON, and
/// one sentence for people.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOutcome {
    pub snapshot: Snapshot,
    /// Whether it became the tool's active snapshot (a backfill older than
    /// the active one does not, unless asked).
    pub activated: bool,
    /// For a backfill: the newer snapshot whose previousSnapshot now names it.
    #[serde(skip)]
    pub next_snapshot: Option<String>,
    /// The snapshot it replaced as active.
    pub replaced: Option<String>,
    /// Records the parsers produced, before merging identical identities.
    pub records_received: u64,
    /// How many of those were merged into another with the same identity.
    pub records_merged: u64,
    /// Records added, removed or replaced in the tool's active data.
    pub records_affected: u64,
}

impl std::fmt::Display for ImportOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let esc = crate::domain::text::escaped;
        let s = &self.snapshot;
        write!(
            f,
            "imported {} as {}: {} records ({} received, {} merged), ",
            esc(&s.tool),
            esc(s.id.as_str()),
            s.record_count,
            self.records_received,
            self.records_merged
        )?;
        if !self.activated {
            let newer = self
                .next_snapshot
                .as_deref()
                .unwrap_or("the active snapshot");
            return write!(
                f,
                "stored in history as {}, not activated: {} is newer",
                s.state,
                esc(newer)
            );
        }
        f.write_str("now active")?;
        if let Some(r) = &self.replaced {
            write!(
                f,
                ", replacing {} ({} records changed)",
                esc(r),
                self.records_affected
            )?;
        }
        Ok(())
    }
}

/// Why the main transaction stopped, before it is recorded.
enum Failure {
    /// Bad input or failed validation: recorded as a failed import.
    Refused { problem: Problem, written: bool },
    /// Anything else (store busy, I/O): reported as is.
    Other(OpError),
}

/// An importer's refusal as the facts and hint recorded for it.
fn refusal(e: &IngestError) -> Problem {
    Problem {
        message: e.to_string(),
        param: None,
        hint: e.hint(),
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Other(e.into())
    }
}

/// What every step of one import shares: the request, who imports and
/// when, and what the files hashed and were detected as.
struct ImportCtx<'a> {
    env: &'a Env,
    req: &'a ImportRequest,
    now: DateTime<Utc>,
    imported_at: DateTime<Utc>,
    src_hash: String,
    formats: Vec<Format>,
}

/// Imports a feed as the tool's new active snapshot.
pub fn import(
    store: &mut Store,
    env: &Env,
    req: &ImportRequest,
    progress: &dyn Progress,
) -> Result<ImportOutcome> {
    let now = env.clock.now();
    check_request(req, now)?;
    let imported_at = truncate(req.imported_at.unwrap_or(now));
    // Hash and detect before taking the write lock.
    let (prepared, formats, early) = prepare_all(req, &env.config.limits, progress);
    let src_hash = if prepared.len() == req.inputs.len() {
        source_hash(&prepared)
    } else {
        // A file could not be read: hash what names the attempt instead.
        format!("b3:{}", blake3::hash(b"").to_hex())
    };
    let ctx = ImportCtx {
        env,
        req,
        now,
        imported_at,
        src_hash,
        formats,
    };
    if let Some(e) = early {
        return record_failure(store, &ctx, refusal(&e), false);
    }

    let result = store.write(|tx| -> std::result::Result<ImportOutcome, Failure> {
        write_snapshot(tx, &ctx, &prepared, progress)
    });
    progress.finish();
    match result {
        Ok(out) => Ok(out),
        Err(Failure::Other(e @ OpError::Fault(_))) => {
            record_failure(store, &ctx, Problem::new(e.to_string()), true)
        }
        Err(Failure::Other(e)) => Err(e),
        Err(Failure::Refused { problem, written }) => record_failure(store, &ctx, problem, written),
    }
}

/// The request's own checks, before any file is read.
fn check_request(req: &ImportRequest, now: DateTime<Utc>) -> Result<()> {
    validate_tool_name(&req.tool).map_err(OpError::usage)?;
    if req.inputs.is_empty() {
        return Err(OpError::usage(
            "name at least one file to import (or - for standard input)",
        ));
    }
    if req
        .inputs
        .iter()
        .filter(|i| matches!(i, Input::Stdin))
        .count()
        > 1
    {
        return Err(OpError::usage("standard input (-) can be named only once"));
    }
    if let Some(at) = req.imported_at {
        crate::domain::snapshot::check_imported_at(at, now)
            .map_err(|m| OpError::usage(Problem::new(m).param(Param::ImportedAt)))?;
    }
    if req.activate && req.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(OpError::usage(
            Problem::new("making a backfill active over a newer snapshot needs a reason")
                .param(Param::Activate)
                .hint(Hint::GiveReason),
        ));
    }
    Ok(())
}

/// Prepares and detects every input, stopping at the first that fails.
fn prepare_all(
    req: &ImportRequest,
    limits: &Limits,
    progress: &dyn Progress,
) -> (Vec<Prepared>, Vec<Format>, Option<IngestError>) {
    let mut prepared = Vec::new();
    let mut formats = Vec::new();
    let mut early: Option<IngestError> = None;
    for input in &req.inputs {
        match prepare(input, limits, progress) {
            Ok(p) => prepared.push(p),
            Err(e) => {
                early = Some(e);
                break;
            }
        }
    }
    if early.is_none() {
        for p in &prepared {
            let f = match req.format {
                Some(f) => f,
                None => match detect::detect(&p.path, &p.display, limits) {
                    Ok(f) => f,
                    Err(e) => {
                        early = Some(e);
                        break;
                    }
                },
            };
            formats.push(f);
        }
    }
    (prepared, formats, early)
}
