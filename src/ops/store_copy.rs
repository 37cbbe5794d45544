//! Copying a whole store to another location, SQLite or PostgreSQL either
//! way (`snapgov store copy`), verified before it is kept.
//!
//! The source is read in one read transaction (a consistent view while
//! others write to it); the target is written in one write transaction.
//! Before that transaction commits, the target is verified as an auditor
//! would: the audit chain is re-walked (`ops::audit::verify`) and every
//! snapshot that has records is re-hashed and compared with its
//! `normalizedHash`. Anything that does not match rolls the whole copy
//! back, so a failed copy leaves the target as empty as it was.

use super::{Env, OpError, Progress, Result};
use crate::store::copy::{copy_all, ensure_empty, CopyCounts};
use crate::store::prelude::*;
use crate::store::{Location, OpenMode, SnapshotFilter, Store, StoreError, WriteTx};
use serde::Serialize;

/// What a copy did.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CopyOutcome {
    /// The source, as shown to people (a URL's password redacted).
    pub from: String,
    pub to: String,
    /// Rows copied, per table.
    pub copied: CopyCounts,
    /// Snapshots with records whose normalizedHash was re-computed on the
    /// target and matched.
    pub snapshots_verified: u64,
    /// Audit records whose chain links were re-checked on the target.
    pub audit_records_checked: u64,
    /// The audit chain's head on the target (the same as the source's).
    pub audit_head: Option<String>,
}

impl std::fmt::Display for CopyOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.copied;
        writeln!(f, "copied {} to {}", self.from, self.to)?;
        writeln!(
            f,
            "  {} snapshots of {} tools, {} records, {} audit events, {} holds, {} tokens",
            c.snapshots, c.tools, c.records, c.audit_events, c.holds, c.tokens
        )?;
        write!(
            f,
            "  verified on the target: {} snapshot hashes, the audit chain ({} records, head {})",
            self.snapshots_verified,
            self.audit_records_checked,
            self.audit_head.as_deref().unwrap_or("none")
        )
    }
}

/// Copies the store at `from` into the empty store at `to` (created if it
/// is a SQLite file that does not exist yet), verifies the copy, and keeps
/// it only if it verifies.
pub fn copy(
    from: &Location,
    to: &Location,
    env: &Env,
    progress: &dyn Progress,
) -> Result<CopyOutcome> {
    if from == to {
        return Err(OpError::usage(format!(
            "the source and the target are the same store ({from}); copy into a new store"
        )));
    }
    // The source first: a missing one must not leave a new target behind.
    let mut src = Store::open(from, OpenMode::ReadOnly).map_err(|e| match e {
        StoreError::Missing { .. } => OpError::not_found(format!(
            "no store at {from} to copy from; name an existing store (a SQLite file or a PostgreSQL URL whose schema holds one)"
        )),
        e => e.into(),
    })?;
    // A SQLite target the copy creates is removed again if the copy fails,
    // so a failed copy leaves nothing behind, not even an empty store.
    let created = to.path().filter(|p| !p.exists()).map(|p| p.to_path_buf());
    let mut dst = Store::open(to, OpenMode::ReadWrite)?;
    let (from_name, to_name) = (from.redacted(), to.redacted());
    let out = src.read(|s| {
        dst.write(|w| {
            ensure_empty(w, &to_name)?;
            let mut current = "";
            let copied = copy_all(s, w, &mut |table, n| {
                if table != current {
                    current = table;
                    progress.set_message(&format!("copying {table}"));
                }
                progress.inc(n);
            })?;
            if s.audit_head()? != w.audit_head()? {
                return Err(not_verified(
                    &to_name,
                    vec!["its audit chain's head differs from the source's".into()],
                ));
            }
            progress.set_message("verifying the copy");
            let (audit_records_checked, audit_head) = verify_audit(w, env, &to_name)?;
            let snapshots_verified = verify_snapshots(w, &to_name, progress)?;
            Ok::<_, OpError>(CopyOutcome {
                from: from_name.clone(),
                to: to_name.clone(),
                copied,
                snapshots_verified,
                audit_records_checked,
                audit_head,
            })
        })
    });
    progress.finish();
    if let (Err(_), Some(path)) = (&out, created) {
        drop(dst);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    out
}

fn not_verified(to: &str, problems: Vec<String>) -> OpError {
    OpError::integrity(format!(
        "the copy does not verify on {to}, so nothing was kept there: {}; if the source is damaged, `snapgov ingest audit verify` and `snapgov ingest verify` on it say where",
        problems.join("; ")
    ))
}

/// The audit chain, re-walked on the target as `ingest audit verify` does.
fn verify_audit(w: &WriteTx<'_>, env: &Env, to: &str) -> Result<(u64, Option<String>)> {
    let report = super::audit::verify(w, env, None)?;
    if !report.is_ok() {
        let all = "the source's own audit verification report lists them all";
        return Err(not_verified(to, vec![report.summary(all)]));
    }
    Ok((report.records_checked, report.head))
}

/// Every snapshot with records, re-hashed on the target.
fn verify_snapshots(w: &WriteTx<'_>, to: &str, progress: &dyn Progress) -> Result<u64> {
    let mut problems = Vec::new();
    let mut verified = 0;
    for s in w.list_snapshots(&SnapshotFilter::default())? {
        if !s.state.is_restorable() {
            continue;
        }
        let v = super::snapshots::verify(w, s.id.as_str())?;
        if v.is_ok() {
            verified += 1;
        } else {
            problems.push(format!(
                "snapshot {}: its records hash to {} ({} records) where its normalizedHash is {} ({} records){}",
                v.snapshot_id,
                v.actual_hash.as_deref().unwrap_or("nothing"),
                v.actual_count,
                v.expected_hash.as_deref().unwrap_or("missing"),
                v.expected_count,
                v.bad_record.map(|b| format!(", first bad: {b}")).unwrap_or_default()
            ));
            problems.extend(
                v.problems
                    .iter()
                    .map(|p| format!("snapshot {}: {p}", v.snapshot_id)),
            );
        }
        progress.inc(1);
    }
    if !problems.is_empty() {
        return Err(not_verified(to, problems));
    }
    Ok(verified)
}
