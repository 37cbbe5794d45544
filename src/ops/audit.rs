//! Reading and verifying the audit trail.

use super::{OpError, Result};
use crate::domain::audit::{
    audit_id, parse_audit_id, AuditEvent, AuditRecord, ChainBreak, ChainWalker, GENESIS_HASH,
};
use crate::domain::snapshot::SnapshotState;
use crate::domain::time::fmt_ts;
use crate::store::prelude::*;
use crate::store::{AuditFilter, SnapshotFilter};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

pub fn list(store: &impl Queries, filter: &AuditFilter) -> Result<Vec<(u64, AuditRecord)>> {
    if let Some(e) = &filter.event {
        if AuditEvent::parse(e).is_none() {
            return Err(OpError::Usage(format!(
                "`{e}` is not an audit event; events are {}",
                AuditEvent::known_list()
            )));
        }
    }
    Ok(store.audit_list(filter)?)
}

pub fn show(store: &impl Queries, id: &str) -> Result<AuditRecord> {
    let seq = parse_audit_id(id).ok_or_else(|| {
        OpError::NotFound(format!("`{id}` is not an audit id; ids look like audit-42"))
    })?;
    store.audit_get(seq)?.ok_or_else(|| {
        OpError::NotFound(format!(
            "no audit record {}; list them with `snapgov ingest audit list`",
            audit_id(seq)
        ))
    })
}

/// The head of the chain, kept outside the store to detect truncation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub seq: u64,
    pub id: String,
    pub hash: String,
    pub created_at: String,
}

#[derive(Serialize, Deserialize)]
struct CheckpointFile {
    checkpoint: Checkpoint,
}

/// Writes the chain's head to `path` (atomically: a temp file renamed).
pub fn write_checkpoint(
    store: &impl Queries,
    path: &Path,
    now: DateTime<Utc>,
) -> Result<Checkpoint> {
    let (seq, hash) = store.audit_head()?.ok_or_else(|| {
        OpError::Invalid("the audit trail is empty; nothing to checkpoint".into())
    })?;
    let cp = Checkpoint {
        seq,
        id: audit_id(seq),
        hash,
        created_at: fmt_ts(now),
    };
    let text = serde_json::to_string_pretty(&CheckpointFile {
        checkpoint: cp.clone(),
    })
    .expect("checkpoint serializes");
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |e: std::io::Error| {
        OpError::Invalid(format!("cannot write checkpoint {}: {e}", path.display()))
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, format!("{text}\n").as_bytes()).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(cp)
}

pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| OpError::Usage(format!("cannot read checkpoint {}: {e}", path.display())))?;
    let f: CheckpointFile = serde_json::from_str(&text).map_err(|e| {
        OpError::Usage(format!(
            "{} is not a snapgov checkpoint ({e}); write one with `snapgov ingest audit checkpoint FILE`",
            path.display()
        ))
    })?;
    Ok(f.checkpoint)
}

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// `ok` or `failed`.
    pub status: &'static str,
    pub records_checked: u64,
    /// The last record checked.
    pub head: Option<String>,
    pub head_hash: Option<String>,
    /// The first record that fails, and how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<ChainBreak>,
    /// Snapshots whose hashes or counts differ from what their import
    /// recorded in the trail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub snapshot_problems: Vec<String>,
    pub snapshots_checked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }

    /// One line per problem, for an error message.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = &self.first_failure {
            out.push(b.to_string());
        }
        out.extend(self.snapshot_problems.iter().cloned());
        out
    }
}

/// What the trail recorded about a snapshot at import.
struct Imported {
    audit: String,
    /// The import record's user, timestamp-independent fields and details.
    user: String,
    details: serde_json::Value,
    source_hash: Option<String>,
    normalized_hash: Option<String>,
    record_count: Option<u64>,
    failed: bool,
}

/// Applies one record's state changes to the replayed view of the store.
fn replay(
    rec: &AuditRecord,
    states: &mut HashMap<String, SnapshotState>,
    active: &mut HashMap<String, String>,
) {
    let id = || {
        rec.details
            .get("snapshotId")
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    let Some(ev) = AuditEvent::parse(&rec.event) else {
        return;
    };
    match ev {
        AuditEvent::SnapshotImportFailed => {
            if let Some(id) = id() {
                states.insert(id, SnapshotState::Failed);
            }
        }
        AuditEvent::SnapshotActivated => {
            let (Some(id), Some(tool)) = (id(), rec.tool.clone()) else {
                return;
            };
            if let Some(prev) = active.get(&tool) {
                if states.get(prev) == Some(&SnapshotState::Active) {
                    states.insert(prev.clone(), SnapshotState::Previous);
                }
            }
            states.insert(id.clone(), SnapshotState::Active);
            active.insert(tool, id);
        }
        AuditEvent::SnapshotExpired => {
            if let Some(id) = id() {
                states.insert(id, SnapshotState::Expired);
            }
        }
        AuditEvent::SnapshotArchived => {
            if let Some(id) = id() {
                states.insert(id, SnapshotState::Archived);
            }
        }
        AuditEvent::SnapshotDeleted => {
            if let Some(id) = id() {
                states.insert(id, SnapshotState::Deleted);
            }
        }
        _ => {}
    }
}

/// Re-walks the chain from its anchor, checks every snapshot row against
/// what its import recorded, and (with a checkpoint) that the chain still
/// reaches the checkpoint's head.
pub fn verify(store: &impl Queries, checkpoint: Option<&Checkpoint>) -> Result<VerifyReport> {
    let anchor = store.audit_anchor()?;
    let mut walker = ChainWalker::new(
        anchor
            .as_ref()
            .map(|a| a.1.as_str())
            .unwrap_or(GENESIS_HASH),
    );
    let mut expected_seq = anchor.as_ref().map(|a| a.0 + 1).unwrap_or(1);
    let mut first_failure = None;
    let mut last: Option<(u64, String)> = None;
    let mut imports: HashMap<String, Imported> = HashMap::new();
    let mut checkpoint_hit: Option<String> = None;
    let mut anchor_attested = false;
    // The states the trail says each snapshot is in, and each tool's active one.
    let mut replay_state: HashMap<String, SnapshotState> = HashMap::new();
    let mut replay_active: HashMap<String, String> = HashMap::new();
    store.audit_walk(|seq, rec| {
        if seq != expected_seq && first_failure.is_none() {
            first_failure = Some(ChainBreak::Missing {
                id: rec.id.clone(),
                missing_from: expected_seq,
            });
            return Ok(false);
        }
        expected_seq = seq + 1;
        if let Err(b) = walker.feed(seq, &rec) {
            first_failure = Some(b);
            return Ok(false);
        }
        if let Some(cp) = checkpoint {
            if cp.seq == seq {
                checkpoint_hit = Some(rec.hash.clone());
            }
        }
        let ev = rec.event.as_str();
        if let Some((aseq, ahash)) = &anchor {
            if ev == AuditEvent::AuditPurged.as_str()
                && rec.details.get("purgedThrough").and_then(|v| v.as_str())
                    == Some(audit_id(*aseq).as_str())
                && rec.details.get("anchorHash").and_then(|v| v.as_str()) == Some(ahash.as_str())
            {
                anchor_attested = true;
            }
        }
        replay(&rec, &mut replay_state, &mut replay_active);
        if ev == AuditEvent::SnapshotImported.as_str()
            || ev == AuditEvent::SnapshotImportFailed.as_str()
        {
            let d = &rec.details;
            if let Some(id) = d.get("snapshotId").and_then(|v| v.as_str()) {
                imports.insert(
                    id.to_string(),
                    Imported {
                        audit: rec.id.clone(),
                        user: rec.user.clone(),
                        details: rec.details.clone(),
                        source_hash: d
                            .get("sourceHash")
                            .and_then(|v| v.as_str())
                            .map(String::from),
                        normalized_hash: d
                            .get("normalizedHash")
                            .and_then(|v| v.as_str())
                            .map(String::from),
                        record_count: d.get("recordCount").and_then(|v| v.as_u64()),
                        failed: ev == AuditEvent::SnapshotImportFailed.as_str(),
                    },
                );
            }
        }
        last = Some((seq, rec.hash));
        Ok(true)
    })?;

    if first_failure.is_none() {
        if let Some(cp) = checkpoint {
            match &checkpoint_hit {
                Some(h) if *h != cp.hash => {
                    first_failure = Some(ChainBreak::CheckpointMismatch { id: cp.id.clone() })
                }
                Some(_) => {}
                None => {
                    let last_seq = last.as_ref().map(|l| l.0).unwrap_or(0);
                    let purged_past = anchor.as_ref().is_some_and(|a| a.0 >= cp.seq);
                    if last_seq < cp.seq || !purged_past {
                        first_failure = Some(ChainBreak::Truncated {
                            last_id: last.as_ref().map(|l| audit_id(l.0)),
                            checkpoint_id: cp.id.clone(),
                        });
                    }
                }
            }
        }
    }

    if let (None, Some((aseq, _)), false) = (&first_failure, &anchor, anchor_attested) {
        first_failure = Some(ChainBreak::Missing {
            id: format!("the chain's start (records up to {} are gone with no audit_purged record attesting it)", audit_id(*aseq)),
            missing_from: 1,
        });
    }

    // Each snapshot row must match its import record; a row no import
    // record mentions was not written by snapgov (unless a purge removed
    // its record, which is older than the anchor).
    let mut snapshot_problems = Vec::new();
    let mut checked = 0;
    let snapshots = store.list_snapshots(&SnapshotFilter::default())?;
    for s in &snapshots {
        match imports.get(&s.id) {
            Some(i) => {
                // Only snapshots compared with their import record count
                // (after a purge, older ones have none left to match).
                checked += 1;
                let mut diffs = Vec::new();
                if i.failed != (s.state == SnapshotState::Failed) {
                    diffs.push("state".to_string());
                }
                if i.source_hash.as_deref() != Some(s.source_hash.as_str()) {
                    diffs.push("sourceHash".to_string());
                }
                if !i.failed {
                    if i.normalized_hash != s.normalized_hash {
                        diffs.push("normalizedHash".to_string());
                    }
                    if i.record_count != Some(s.record_count) {
                        diffs.push("recordCount".to_string());
                    }
                }
                if i.details.get("importedAt").and_then(|v| v.as_str()) != Some(crate::domain::time::fmt_ts(s.imported_at).as_str()) {
                    diffs.push("importedAt".to_string());
                }
                if !i.failed {
                    let d = &i.details;
                    let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(String::from);
                    if i.user != s.metadata.import_user {
                        diffs.push("metadata.importUser".to_string());
                    }
                    if text("sourceUri") != s.metadata.source_uri {
                        diffs.push("metadata.sourceUri".to_string());
                    }
                    if text("reason") != s.metadata.import_reason {
                        diffs.push("metadata.importReason".to_string());
                    }
                    if d.get("toolVersion").is_some() && text("toolVersion") != s.tool_version {
                        diffs.push("toolVersion".to_string());
                    }
                    if d.get("previousSnapshot").is_some() && text("previousSnapshot") != s.previous_snapshot {
                        diffs.push("previousSnapshot".to_string());
                    }
                    if text("tool").as_deref() != Some(s.tool.as_str()) {
                        diffs.push("tool".to_string());
                    }
                }
                if let Some(want) = replay_state.get(&s.id) {
                    if *want != s.state {
                        diffs.push(format!("state ({}, but the trail says {want})", s.state));
                    }
                }
                if !diffs.is_empty() {
                    snapshot_problems.push(format!(
                        "snapshot {}: {} differ from its import record {}",
                        s.id,
                        diffs.join(", "),
                        i.audit
                    ));
                }
            }
            None if anchor.is_none() && first_failure.is_none() => snapshot_problems.push(format!(
                "snapshot {} has no import record in the audit trail: it was not written by snapgov",
                s.id
            )),
            None => {}
        }
    }
    if first_failure.is_none() {
        for t in store.tools()? {
            if let Some(want) = replay_active.get(&t.name) {
                if t.active_snapshot.as_deref() != Some(want.as_str()) {
                    snapshot_problems.push(format!(
                        "tool {}: its active pointer is {} but the trail says {want}",
                        t.name,
                        t.active_snapshot.as_deref().unwrap_or("(none)")
                    ));
                }
            }
        }
    }
    let ok = first_failure.is_none() && snapshot_problems.is_empty();
    Ok(VerifyReport {
        status: if ok { "ok" } else { "failed" },
        records_checked: walker.checked,
        head: last.as_ref().map(|l| audit_id(l.0)),
        head_hash: last.map(|l| l.1),
        first_failure,
        snapshot_problems,
        snapshots_checked: checked,
        checkpoint: checkpoint.map(|c| c.id.clone()),
    })
}

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
    env: &super::Env,
    before: DateTime<Utc>,
    reason: &str,
) -> Result<PurgeReport> {
    use crate::domain::audit::NewAudit;
    if reason.trim().is_empty() {
        return Err(OpError::Usage(
            "a purge needs a reason (--reason TEXT)".into(),
        ));
    }
    let now = env.clock.now();
    let oldest_allowed = now - env.config.retention.audit_max_age;
    if before > oldest_allowed {
        return Err(OpError::Usage(format!(
            "audit records are kept for {}: --before must be {} or earlier",
            crate::domain::time::fmt_duration(env.config.retention.audit_max_age),
            fmt_ts(oldest_allowed)
        )));
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
        let mut h = blake3::Hasher::new();
        for (_, hash) in &removed {
            h.update(hash.as_bytes());
            h.update(b"\n");
        }
        let removed_hash = format!("b3:{}", h.finalize().to_hex());
        super::fault::point("purge_delete")?;
        let n = tx.audit_delete_through(last.0, &last.1)?;
        super::fault::point("purge_audit")?;
        let rec = tx.append_audit(&NewAudit {
            event: AuditEvent::AuditPurged,
            timestamp: now,
            user: env.user.clone(),
            tool: None,
            snapshot_id: None,
            details: serde_json::json!({
                "purgedFrom": audit_id(first.0),
                "purgedThrough": audit_id(last.0),
                "count": n,
                "removedHash": removed_hash,
                "anchorHash": last.1,
                "before": fmt_ts(before),
                "reason": reason,
            }),
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
