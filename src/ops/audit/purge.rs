//! Removing the oldest audit records while keeping the chain verifiable.

use crate::domain::audit::details::{self, Details};
use crate::domain::audit::{audit_id, AuditEvent, NewAudit};
use crate::domain::problem::{Hint, Param, Problem};
use crate::domain::time::fmt_ts;
use crate::ops::{Env, OpError, Result};
use crate::store::prelude::*;
use crate::store::{AuditFilter, SnapshotFilter};
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PurgeReport {
    pub purged: u64,
    pub purged_from: Option<String>,
    pub purged_through: Option<String>,
    /// `b3:` over the removed records' hashes, in order.
    pub removed_hash: Option<String>,
    /// The audit_purged record that attests the purge.
    pub record: Option<String>,
}

/// Removes the oldest audit records, those older than both `before` and the
/// audit retention. The chain stays verifiable: an `audit_purged` record
/// carries the hash of what was removed and the hash the rest links to.
pub fn purge(
    store: &mut crate::store::Store,
    env: &Env,
    before: DateTime<Utc>,
    reason: &str,
) -> Result<PurgeReport> {
    if reason.trim().is_empty() {
        return Err(OpError::usage(
            Problem::new("a purge needs a reason").hint(Hint::GiveReason),
        ));
    }
    let now = env.clock.now();
    let oldest_allowed = now - env.config.retention.audit_max_age;
    if before > oldest_allowed {
        return Err(OpError::usage(
            Problem::new(format!(
                "audit records are kept for {}: the cut-off must be {} or earlier",
                crate::domain::time::fmt_duration(env.config.retention.audit_max_age),
                fmt_ts(oldest_allowed)
            ))
            .param(Param::Before),
        ));
    }
    store.write(|tx| -> Result<PurgeReport> {
        let mut removed: Vec<(u64, String)> = Vec::new();
        tx.audit_walk(|seq, rec| {
            if rec.timestamp < before {
                removed.push((seq, rec.hash));
                Ok(true)
            } else {
                Ok(false)
            }
        })?;
        let (Some(first), Some(last)) = (removed.first().cloned(), removed.last().cloned()) else {
            return Ok(PurgeReport {
                purged: 0,
                purged_from: None,
                purged_through: None,
                removed_hash: None,
                record: None,
            });
        };
        let removed_hash = removed_hash(&removed);
        let surviving = surviving_snapshots(&*tx, last.0)?;
        crate::ops::fault::point("purge_delete")?;
        let n = tx.audit_delete_through(last.0, &last.1)?;
        crate::ops::fault::point("purge_audit")?;
        let rec = tx.append_audit(&NewAudit {
            event: AuditEvent::AuditPurged,
            timestamp: now,
            user: env.user.clone(),
            tool: None,
            snapshot_id: None,
            details: details::AuditPurged {
                purged_from: audit_id(first.0),
                purged_through: audit_id(last.0),
                count: n,
                removed_hash: removed_hash.clone(),
                anchor_hash: last.1.clone(),
                before: fmt_ts(before),
                reason: reason.to_string(),
                surviving_snapshots: Some(surviving),
            }
            .to_value(),
        })?;
        Ok(PurgeReport {
            purged: n,
            purged_from: Some(audit_id(first.0)),
            purged_through: Some(audit_id(last.0)),
            removed_hash: Some(removed_hash),
            record: Some(rec.id),
        })
    })
}

/// `b3:` over the removed records' hashes, one a line, in order.
fn removed_hash(removed: &[(u64, String)]) -> String {
    let mut h = blake3::Hasher::new();
    for (_, hash) in removed {
        h.update(hash.as_bytes());
        h.update(b"\n");
    }
    format!("b3:{}", h.finalize().to_hex())
}

/// The snapshots that will have no import record left once the records up
/// to `last_seq` are gone: verification accepts a snapshot without one only
/// if the purge lists it, so a row forged later cannot hide behind the purge.
fn surviving_snapshots(tx: &impl Queries, last_seq: u64) -> Result<Vec<String>> {
    let mut kept_imports = std::collections::HashSet::new();
    for ev in [
        AuditEvent::SnapshotImported,
        AuditEvent::SnapshotImportFailed,
    ] {
        for (_, r) in tx.audit_list(&AuditFilter {
            event: Some(ev.as_str().to_string()),
            after_seq: Some(last_seq),
            oldest_first: true,
            ..Default::default()
        })? {
            if let Some(id) = imported_snapshot(ev, &r.details) {
                kept_imports.insert(id);
            }
        }
    }
    let mut surviving: Vec<String> = tx
        .list_snapshots(&SnapshotFilter::default())?
        .into_iter()
        .map(|s| String::from(s.id))
        .filter(|id| !kept_imports.contains(id))
        .collect();
    surviving.sort();
    Ok(surviving)
}

/// The snapshot an import (or failed import) record names.
fn imported_snapshot(ev: AuditEvent, d: &serde_json::Value) -> Option<String> {
    match ev {
        AuditEvent::SnapshotImported => details::SnapshotImported::read(d).map(|d| d.snapshot_id),
        _ => details::SnapshotImportFailed::read(d).map(|d| d.snapshot_id),
    }
}
