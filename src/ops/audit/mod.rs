//! Reading and verifying the audit trail.
//!
//! `verify` re-walks the chain (`verify`), checks the purge its anchor rests
//! on (`anchor`), replays the trail into the state the store should be in
//! (`replay`) and compares it with the snapshot rows (`snapshots`) and the
//! tokens and holds (`facts`).

mod anchor;
mod checkpoint;
mod facts;
mod purge;
mod replay;
mod snapshots;
mod verify;
mod walk;

pub use checkpoint::{read_checkpoint, write_checkpoint, Checkpoint};
pub use purge::{purge, PurgeReport};
pub use verify::{verify, VerifyReport};

use super::{OpError, Result};
use crate::domain::audit::{audit_id, parse_audit_id, AuditEvent, AuditRecord};
use crate::store::prelude::*;
use crate::store::AuditFilter;

pub fn list(store: &impl Queries, filter: &AuditFilter) -> Result<Vec<(u64, AuditRecord)>> {
    if let Some(e) = &filter.event {
        if AuditEvent::parse(e).is_none() {
            return Err(OpError::usage(format!(
                "`{e}` is not an audit event; events are {}",
                AuditEvent::known_list()
            )));
        }
    }
    Ok(store.audit_list(filter)?)
}

pub fn show(store: &impl Queries, id: &str) -> Result<AuditRecord> {
    let seq = parse_audit_id(id).ok_or_else(|| {
        OpError::not_found(format!("`{id}` is not an audit id; ids look like audit-42"))
    })?;
    store.audit_get(seq)?.ok_or_else(|| {
        OpError::not_found(format!(
            "no audit record {}; list them with `snapgov ingest audit list`",
            audit_id(seq)
        ))
    })
}

/// A one-line digest of an audit record's details, the same in every front
/// end: the snapshots it moved between (or the one it is about), a record
/// count, and its reason, error or cause.
pub fn digest(details: &serde_json::Value) -> String {
    let d = crate::domain::audit::details::Digest::of(details);
    let mut parts: Vec<String> = Vec::new();
    match (d.from_snapshot, d.to_snapshot) {
        (Some(f), Some(t)) => parts.push(format!("{f} → {t}")),
        _ => parts.extend(d.snapshot_id),
    }
    parts.extend(d.record_count.map(|n| format!("{n} records")));
    parts.extend([d.reason, d.error, d.cause].into_iter().flatten());
    parts.join(", ")
}

#[cfg(test)]
mod digest_tests {
    use super::digest;
    use serde_json::json;

    #[test]
    fn a_rollback_reads_from_to_with_its_reason() {
        let d = json!({"fromSnapshot": "a", "toSnapshot": "b", "reason": "bad feed", "recordsAffected": 3});
        assert_eq!(digest(&d), "a → b, bad feed");
        let d = json!({"snapshotId": "s", "recordCount": 12, "error": "disk full"});
        assert_eq!(digest(&d), "s, 12 records, disk full");
    }
}
