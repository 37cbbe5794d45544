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
    /// Other facts the trail contradicts: the purge the chain rests on,
    /// tokens, holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
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
        // The purge first: when it fails, every snapshot it would account
        // for is reported too.
        out.extend(self.problems.iter().cloned());
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

/// The store as the trail says it should be, replayed record by record.
#[derive(Default)]
struct Replay {
    /// Each snapshot's state.
    states: HashMap<String, SnapshotState>,
    /// Each tool's active snapshot.
    active: HashMap<String, String>,
    /// When and by whom each tool's active pointer was last set.
    pointer_set: HashMap<String, (DateTime<Utc>, String)>,
    /// When (and by which record) each snapshot last changed state.
    changed: HashMap<String, (DateTime<Utc>, String)>,
    /// Live holds: snapshot → (reason, expiresAt, user, timestamp, record).
    holds: HashMap<String, (String, String, String, DateTime<Utc>, String)>,
    /// Tokens created: (name, role, fingerprint, timestamp, user, record).
    tokens_created: Vec<(String, String, String, DateTime<Utc>, String, String)>,
    /// Tokens revoked: (name, timestamp, user, record).
    tokens_revoked: Vec<(String, DateTime<Utc>, String, String)>,
}

impl Replay {
    fn set(&mut self, rec: &AuditRecord, id: String, st: SnapshotState) {
        self.changed
            .insert(id.clone(), (rec.timestamp, rec.id.clone()));
        self.states.insert(id, st);
    }

    /// Applies one record's changes to the replayed view of the store.
    fn apply(&mut self, rec: &AuditRecord) {
        let text = |k: &str| {
            rec.details
                .get(k)
                .and_then(|v| v.as_str())
                .map(String::from)
        };
        let Some(ev) = AuditEvent::parse(&rec.event) else {
            return;
        };
        let id = text("snapshotId");
        match ev {
            AuditEvent::SnapshotImportFailed => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Failed);
                }
            }
            AuditEvent::SnapshotImported => {
                // The row is written `active`; the activation record follows.
                if let Some(id) = id {
                    self.changed.insert(id, (rec.timestamp, rec.id.clone()));
                }
            }
            AuditEvent::SnapshotActivated => {
                let (Some(id), Some(tool)) = (id, rec.tool.clone()) else {
                    return;
                };
                if let Some(prev) = self.active.get(&tool).cloned() {
                    if self.states.get(&prev) == Some(&SnapshotState::Active) {
                        self.set(rec, prev, SnapshotState::Previous);
                    }
                }
                self.set(rec, id.clone(), SnapshotState::Active);
                self.pointer_set
                    .insert(tool.clone(), (rec.timestamp, rec.user.clone()));
                self.active.insert(tool, id);
            }
            AuditEvent::SnapshotExpired => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Expired);
                }
            }
            AuditEvent::SnapshotArchived => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Archived);
                }
            }
            AuditEvent::SnapshotDeleted => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Deleted);
                }
            }
            AuditEvent::RetentionHoldAdded => {
                if let Some(id) = id {
                    self.holds.insert(
                        id,
                        (
                            text("reason").unwrap_or_default(),
                            text("expiresAt").unwrap_or_default(),
                            rec.user.clone(),
                            rec.timestamp,
                            rec.id.clone(),
                        ),
                    );
                }
            }
            AuditEvent::RetentionHoldRemoved => {
                if let Some(id) = id {
                    self.holds.remove(&id);
                }
            }
            AuditEvent::TokenCreated => self.tokens_created.push((
                text("name").unwrap_or_default(),
                text("role").unwrap_or_default(),
                text("fingerprint").unwrap_or_default(),
                rec.timestamp,
                rec.user.clone(),
                rec.id.clone(),
            )),
            AuditEvent::TokenRevoked => self.tokens_revoked.push((
                text("name").unwrap_or_default(),
                rec.timestamp,
                rec.user.clone(),
                rec.id.clone(),
            )),
            _ => {}
        }
    }
}

/// How far in the future a purge record may be dated (clocks of several
/// operators' machines differ a little).
const CLOCK_SKEW_SECS: i64 = 300;

/// A purge the chain's anchor rests on, once checked.
struct VerifiedPurge {
    /// Records older than this were removed.
    before: DateTime<Utc>,
    /// Snapshots whose import records it removed (purges written before
    /// this list existed have none: then `before` alone decides).
    surviving: Option<Vec<String>>,
}

/// Checks the purge record that attests the chain's anchor: it must be
/// dated no later than now, its cut-off must respect the configured audit
/// age on its own date, and the first record it kept must not be older than
/// its cut-off. Returns the problems found.
fn check_purge(
    rec: &AuditRecord,
    first_kept: Option<DateTime<Utc>>,
    env: &super::Env,
) -> (Option<VerifiedPurge>, Vec<String>) {
    let mut problems = Vec::new();
    let before = match rec
        .details
        .get("before")
        .and_then(|v| v.as_str())
        .map(crate::domain::time::parse_ts)
    {
        Some(Ok(b)) => b,
        _ => {
            return (
                None,
                vec![format!(
                "{} (audit_purged) has no readable `before` cut-off: the purge cannot be checked",
                rec.id
            )],
            )
        }
    };
    let now = env.clock.now();
    if rec.timestamp > now + chrono::Duration::seconds(CLOCK_SKEW_SECS) {
        problems.push(format!(
            "{} (audit_purged) is dated {}, after now ({}): a purge record from the future is forged",
            rec.id,
            fmt_ts(rec.timestamp),
            fmt_ts(now)
        ));
    }
    let age = env.config.retention.audit_max_age;
    let allowed = rec.timestamp - age;
    if before > allowed {
        problems.push(format!(
            "{} (audit_purged) claims records before {} were purged on {}, but records are kept for {} (retention.audit_max_age): only records before {} could have been; the purge is forged or the configuration was changed",
            rec.id,
            fmt_ts(before),
            fmt_ts(rec.timestamp),
            crate::domain::time::fmt_duration(age),
            fmt_ts(allowed)
        ));
    }
    if let Some(first) = first_kept {
        if first < before {
            problems.push(format!(
                "{} (audit_purged) removed records before {}, yet the first record it kept is dated {}: it is not the purge it claims to be",
                rec.id,
                fmt_ts(before),
                fmt_ts(first)
            ));
        }
    }
    let surviving = rec
        .details
        .get("survivingSnapshots")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        });
    let verified = problems
        .is_empty()
        .then_some(VerifiedPurge { before, surviving });
    (verified, problems)
}

/// Re-walks the chain from its anchor, checks every snapshot row, token
/// and hold against what the trail recorded, and (with a checkpoint) that
/// the chain still reaches the checkpoint's head.
pub fn verify(
    store: &impl Queries,
    env: &super::Env,
    checkpoint: Option<&Checkpoint>,
) -> Result<VerifyReport> {
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
    // The newest audit_purged record that attests the anchor.
    let mut attesting: Option<AuditRecord> = None;
    let mut first_kept: Option<DateTime<Utc>> = None;
    let mut rp = Replay::default();
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
        if first_kept.is_none() {
            first_kept = Some(rec.timestamp);
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
                attesting = Some(rec.clone());
            }
        }
        rp.apply(&rec);
        if ev == AuditEvent::SnapshotImported.as_str()
            || ev == AuditEvent::SnapshotImportFailed.as_str()
        {
            let d = &rec.details;
            // A backfill relinked its newer neighbour to itself.
            if let (Some(id), Some(next)) = (
                d.get("snapshotId").and_then(|v| v.as_str()),
                d.get("nextSnapshot").and_then(|v| v.as_str()),
            ) {
                if let Some(n) = imports.get_mut(next) {
                    n.details["previousSnapshot"] = serde_json::json!(id);
                }
            }
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
                    // The checkpoint's own record became the anchor: its
                    // hash is the one the rest of the chain links to.
                    let anchor_differs = anchor
                        .as_ref()
                        .is_some_and(|a| a.0 == cp.seq && a.1 != cp.hash);
                    if anchor_differs {
                        first_failure = Some(ChainBreak::CheckpointMismatch { id: cp.id.clone() });
                    } else if last_seq < cp.seq || !purged_past {
                        first_failure = Some(ChainBreak::Truncated {
                            last_id: last.as_ref().map(|l| audit_id(l.0)),
                            checkpoint_id: cp.id.clone(),
                        });
                    }
                }
            }
        }
    }

    if let (None, Some((aseq, _)), None) = (&first_failure, &anchor, &attesting) {
        first_failure = Some(ChainBreak::Missing {
            id: format!("the chain's start (records up to {} are gone with no audit_purged record attesting it)", audit_id(*aseq)),
            missing_from: 1,
        });
    }

    // Problems of the trail itself beyond the chain: the purge, tokens, holds.
    let mut problems = Vec::new();
    let mut purge: Option<VerifiedPurge> = None;
    if let (None, Some(p)) = (&first_failure, &attesting) {
        let (mut v, mut ps) = check_purge(p, first_kept, env);
        // A purge that removed the checkpoint's record came after the
        // checkpoint was written.
        if let (Some(cp), Some((aseq, _))) = (checkpoint, &anchor) {
            let written = crate::domain::time::parse_ts(&cp.created_at).ok();
            if cp.seq <= *aseq && written.is_some_and(|w| p.timestamp < w) {
                ps.push(format!(
                    "{} (audit_purged) removed the checkpoint's record {} but is dated {}, before the checkpoint was written ({})",
                    p.id,
                    cp.id,
                    fmt_ts(p.timestamp),
                    cp.created_at
                ));
                v = None;
            }
        }
        purge = v;
        problems.extend(ps);
    }
    // Whether a fact older than this was (legitimately) purged from the trail.
    let purged_before = |t: DateTime<Utc>| purge.as_ref().is_some_and(|p| t < p.before);

    // Each snapshot row must match its import record; a row no import
    // record mentions was not written by snapgov, unless a verified purge
    // removed its record (and, for newer purges, lists it).
    let mut snapshot_problems = Vec::new();
    // Snapshots without an import record while the purge does not verify.
    let mut unaccounted: Vec<String> = Vec::new();
    let mut checked = 0;
    let snapshots = store.list_snapshots(&SnapshotFilter::default())?;
    for s in &snapshots {
        match imports.get(&s.id) {
            Some(i) => {
                // Only snapshots compared with their import record count
                // (after a purge, older ones have none left to match).
                checked += 1;
                let mut diffs = Vec::new();
                // A failed import stays failed until retention deletes it
                // (which the replay below checks against the trail).
                let failed_row = match s.state {
                    SnapshotState::Failed => true,
                    SnapshotState::Deleted => i.failed,
                    _ => false,
                };
                if i.failed != failed_row {
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
                if i.details.get("importedAt").and_then(|v| v.as_str())
                    != Some(crate::domain::time::fmt_ts(s.imported_at).as_str())
                {
                    diffs.push("importedAt".to_string());
                }
                let d = &i.details;
                let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(String::from);
                if !i.failed {
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
                    if d.get("previousSnapshot").is_some()
                        && text("previousSnapshot") != s.previous_snapshot
                    {
                        diffs.push("previousSnapshot".to_string());
                    }
                    if text("tool").as_deref() != Some(s.tool.as_str()) {
                        diffs.push("tool".to_string());
                    }
                    if d.get("format").is_some() && text("format") != s.format {
                        diffs.push("format".to_string());
                    }
                    if let Some(w) = d.get("warnings") {
                        let want: Vec<String> =
                            serde_json::from_value(w.clone()).unwrap_or_default();
                        if want != s.warnings {
                            diffs.push("warnings".to_string());
                        }
                    }
                } else if d.get("reason").is_some() && text("reason") != s.failure_reason {
                    diffs.push("failureReason".to_string());
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
            None if first_failure.is_some() => {}
            None => {
                // Its import record was older than the cut-off, and so (import
                // times are never in the future) was its import time; and the
                // purge's own list, hashed in the chain, must name it (purges
                // written before the list existed have only the time).
                let attested = purge.as_ref().is_some_and(|p| {
                    s.imported_at < p.before
                        && p.surviving.as_ref().is_none_or(|l| l.contains(&s.id))
                });
                if !attested && attesting.is_some() && purge.is_none() {
                    // Said once below, not once a snapshot.
                    unaccounted.push(s.id.clone());
                } else if !attested {
                    snapshot_problems.push(match &attesting {
                        None => format!(
                            "snapshot {} has no import record in the audit trail: it was not written by snapgov",
                            s.id
                        ),
                        Some(p) => match &purge {
                            // (Collected in `unaccounted` above; kept total.)
                            None => format!(
                                "snapshot {} has no import record in the audit trail, and the purge {} that would account for it does not verify",
                                s.id, p.id
                            ),
                            Some(v) if s.imported_at >= v.before => format!(
                                "snapshot {} has no import record in the audit trail, yet it was imported at {}, after the cut-off of the purge {} ({}): it was not written by snapgov or the purge is forged",
                                s.id,
                                fmt_ts(s.imported_at),
                                p.id,
                                fmt_ts(v.before)
                            ),
                            Some(_) => format!(
                                "snapshot {} has no import record in the audit trail and is not among the snapshots the purge {} kept: it was not written by snapgov",
                                s.id, p.id
                            ),
                        },
                    });
                }
            }
        }
        let mut diffs = Vec::new();
        if let Some(want) = rp.states.get(&s.id) {
            if *want != s.state {
                diffs.push(format!("state ({}, but the trail says {want})", s.state));
            }
        }
        // Retention ages a snapshot from this time.
        if let Some((t, _)) = rp.changed.get(&s.id) {
            if s.state_changed_at != Some(*t) {
                diffs.push(format!(
                    "stateChangedAt ({}, but the trail says {})",
                    s.state_changed_at
                        .map(fmt_ts)
                        .unwrap_or_else(|| "none".into()),
                    fmt_ts(*t)
                ));
            }
        }
        // Listings show `stats`; the recount from the records is in
        // `ingest verify`, here its totals must add up to the audited count.
        if let Some(st) = &s.stats {
            let by_sev: u64 = st.by_severity.values().sum();
            if st.packages + st.vulnerabilities != s.record_count || by_sev != st.vulnerabilities {
                diffs.push(format!(
                    "stats ({} packages + {} findings, {} by severity, but the trail says {} records)",
                    st.packages, st.vulnerabilities, by_sev, s.record_count
                ));
            }
        }
        if !diffs.is_empty() {
            snapshot_problems.push(format!(
                "snapshot {}: {} differ from the audit trail",
                s.id,
                diffs.join(", ")
            ));
        }
    }
    if let (Some(first), Some(p)) = (unaccounted.first(), &attesting) {
        snapshot_problems.insert(
            0,
            format!(
                "{} snapshots ({first}{}) have no import record in the audit trail, and the purge {} that would account for them does not verify",
                unaccounted.len(),
                if unaccounted.len() > 1 { ", …" } else { "" },
                p.id
            ),
        );
    }
    if first_failure.is_none() {
        // A snapshot the trail knows (imported, and deleted only as a row
        // state by retention) must still be in the store.
        let have: std::collections::HashSet<&str> =
            snapshots.iter().map(|s| s.id.as_str()).collect();
        let mut known: Vec<(&String, String)> = rp
            .states
            .iter()
            .map(|(id, st)| {
                let by = rp.changed.get(id).map(|c| c.1.clone()).unwrap_or_default();
                (id, format!("{st} per {by}"))
            })
            .collect();
        if let Some(l) = purge.as_ref().and_then(|p| p.surviving.as_ref()) {
            for id in l {
                if !rp.states.contains_key(id) {
                    let by = attesting.as_ref().map(|a| a.id.clone()).unwrap_or_default();
                    known.push((id, format!("kept by the purge {by}")));
                }
            }
        }
        known.sort();
        for (id, why) in known {
            if !have.contains(id.as_str()) {
                snapshot_problems.push(format!(
                    "snapshot {id}: the audit trail says it exists ({why}) but the store has no such snapshot: it was deleted outside snapgov"
                ));
            }
        }
        for t in store.tools()? {
            if let Some(want) = rp.active.get(&t.name) {
                if t.active_snapshot.as_deref() != Some(want.as_str()) {
                    snapshot_problems.push(format!(
                        "tool {}: its active pointer is {} but the trail says {want}",
                        t.name,
                        t.active_snapshot.as_deref().unwrap_or("(none)")
                    ));
                }
            }
            // Who changed the pointer, and when, is what a losing rollback
            // is told; it must be what the trail says.
            if let Some((at, by)) = rp.pointer_set.get(&t.name) {
                if t.changed_at != Some(*at) || t.changed_by.as_deref() != Some(by.as_str()) {
                    snapshot_problems.push(format!(
                        "tool {}: its active pointer says it was set by {} at {}, but the trail says by {by} at {}",
                        t.name,
                        t.changed_by.as_deref().unwrap_or("(nobody)"),
                        t.changed_at.map(fmt_ts).unwrap_or_else(|| "-".into()),
                        fmt_ts(*at)
                    ));
                }
            }
        }
        problems.extend(check_tokens(store, &rp, &purged_before)?);
        problems.extend(check_holds(store, &rp, &purged_before)?);
    }
    let ok = first_failure.is_none() && snapshot_problems.is_empty() && problems.is_empty();
    Ok(VerifyReport {
        status: if ok { "ok" } else { "failed" },
        records_checked: walker.checked,
        head: last.as_ref().map(|l| audit_id(l.0)),
        head_hash: last.map(|l| l.1),
        first_failure,
        snapshot_problems,
        problems,
        snapshots_checked: checked,
        checkpoint: checkpoint.map(|c| c.id.clone()),
    })
}

/// Every token row must be one the trail created (same name, role,
/// fingerprint, time and user), revoked exactly when and by whom the trail
/// says; every token the trail created must still be there.
fn check_tokens(
    store: &impl Queries,
    rp: &Replay,
    purged_before: &impl Fn(DateTime<Utc>) -> bool,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let rows = store.tokens()?;
    let mut created_used = vec![false; rp.tokens_created.len()];
    let mut revoked_used = vec![false; rp.tokens_revoked.len()];
    for t in &rows {
        let fp: String = t.hash.chars().take(15).collect();
        let created = rp.tokens_created.iter().enumerate().position(|(i, c)| {
            !created_used[i]
                && c.0 == t.name
                && c.1 == t.role
                && c.2 == fp
                && c.3 == t.created_at
                && c.4 == t.created_by
        });
        match created {
            Some(i) => created_used[i] = true,
            None if purged_before(t.created_at) => {}
            None => problems.push(format!(
                "token {}: no token_created record in the audit trail matches it (role {}, fingerprint {fp}, created {} by {}): it was inserted or altered outside snapgov",
                t.name,
                t.role,
                fmt_ts(t.created_at),
                t.created_by
            )),
        }
        if let Some(at) = t.revoked_at {
            let revoked = rp.tokens_revoked.iter().enumerate().position(|(i, r)| {
                !revoked_used[i]
                    && r.0 == t.name
                    && r.1 == at
                    && Some(&r.2) == t.revoked_by.as_ref()
            });
            match revoked {
                Some(i) => revoked_used[i] = true,
                None if purged_before(at) => {}
                None => problems.push(format!(
                    "token {}: revoked at {} in the store, but no token_revoked record in the audit trail says so",
                    t.name,
                    fmt_ts(at)
                )),
            }
        }
    }
    for (i, c) in rp.tokens_created.iter().enumerate() {
        if !created_used[i] && !rows.iter().any(|t| t.name == c.0 && t.created_at == c.3) {
            problems.push(format!(
                "token {}: created in {} but missing from the store: it was deleted outside snapgov",
                c.0, c.5
            ));
        }
    }
    for (i, r) in rp.tokens_revoked.iter().enumerate() {
        if !revoked_used[i] {
            problems.push(format!(
                "token {}: revoked in {} but the store has no token of that name revoked then: it was revived or deleted outside snapgov",
                r.0, r.3
            ));
        }
    }
    Ok(problems)
}

/// Every hold must be the one the trail last added for its snapshot, and
/// every hold the trail still has must be in the store (a hold decides what
/// retention may delete).
fn check_holds(
    store: &impl Queries,
    rp: &Replay,
    purged_before: &impl Fn(DateTime<Utc>) -> bool,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let holds = store.holds()?;
    for h in &holds {
        match rp.holds.get(&h.snapshot_id) {
            Some((reason, until, user, at, _))
                if *reason == h.reason
                    && *until == fmt_ts(h.expires_at)
                    && *user == h.created_by
                    && *at == h.created_at => {}
            Some((_, _, _, _, by)) => problems.push(format!(
                "hold on {}: its reason, expiry or author differ from {}, which added it",
                h.snapshot_id, by
            )),
            None if purged_before(h.created_at) => {}
            None => problems.push(format!(
                "hold on {}: no retention_hold_added record in the audit trail put it there: it was inserted outside snapgov",
                h.snapshot_id
            )),
        }
    }
    let mut missing: Vec<_> = rp
        .holds
        .iter()
        .filter(|(id, _)| !holds.iter().any(|h| &h.snapshot_id == *id))
        .collect();
    missing.sort();
    for (id, (.., by)) in missing {
        problems.push(format!(
            "hold on {id}: added in {by} and never removed, but missing from the store: it was deleted outside snapgov"
        ));
    }
    Ok(problems)
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
        // The snapshots that will have no import record left: verification
        // accepts a snapshot without one only if the purge lists it, so a
        // row forged later cannot hide behind the purge.
        let mut kept_imports = std::collections::HashSet::new();
        for ev in [
            AuditEvent::SnapshotImported,
            AuditEvent::SnapshotImportFailed,
        ] {
            for (_, r) in tx.audit_list(&AuditFilter {
                event: Some(ev.as_str().to_string()),
                after_seq: Some(last.0),
                oldest_first: true,
                ..Default::default()
            })? {
                if let Some(id) = r.details.get("snapshotId").and_then(|v| v.as_str()) {
                    kept_imports.insert(id.to_string());
                }
            }
        }
        let mut surviving: Vec<String> = tx
            .list_snapshots(&SnapshotFilter::default())?
            .into_iter()
            .map(|s| s.id)
            .filter(|id| !kept_imports.contains(id))
            .collect();
        surviving.sort();
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
                "survivingSnapshots": surviving,
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
