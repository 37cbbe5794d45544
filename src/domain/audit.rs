//! The audit trail: events, records and the hash chain that makes them
//! tamper-evident.

pub mod canonical;
pub mod details;
pub mod row;

use super::time::ts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Every kind of audit record snapgov writes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    SnapshotImported,
    SnapshotActivated,
    SnapshotImportFailed,
    SnapshotRolledBack,
    SnapshotRollbackFailed,
    SnapshotExpired,
    SnapshotArchived,
    SnapshotDeleted,
    FreshnessOverride,
    RetentionHoldAdded,
    RetentionHoldRemoved,
    RetentionRun,
    AuditPurged,
    TokenCreated,
    TokenRevoked,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 15] = [
        AuditEvent::SnapshotImported,
        AuditEvent::SnapshotActivated,
        AuditEvent::SnapshotImportFailed,
        AuditEvent::SnapshotRolledBack,
        AuditEvent::SnapshotRollbackFailed,
        AuditEvent::SnapshotExpired,
        AuditEvent::SnapshotArchived,
        AuditEvent::SnapshotDeleted,
        AuditEvent::FreshnessOverride,
        AuditEvent::RetentionHoldAdded,
        AuditEvent::RetentionHoldRemoved,
        AuditEvent::RetentionRun,
        AuditEvent::AuditPurged,
        AuditEvent::TokenCreated,
        AuditEvent::TokenRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditEvent::SnapshotImported => "snapshot_imported",
            AuditEvent::SnapshotActivated => "snapshot_activated",
            AuditEvent::SnapshotImportFailed => "snapshot_import_failed",
            AuditEvent::SnapshotRolledBack => "snapshot_rolled_back",
            AuditEvent::SnapshotRollbackFailed => "snapshot_rollback_failed",
            AuditEvent::SnapshotExpired => "snapshot_expired",
            AuditEvent::SnapshotArchived => "snapshot_archived",
            AuditEvent::SnapshotDeleted => "snapshot_deleted",
            AuditEvent::FreshnessOverride => "freshness_override",
            AuditEvent::RetentionHoldAdded => "retention_hold_added",
            AuditEvent::RetentionHoldRemoved => "retention_hold_removed",
            AuditEvent::RetentionRun => "retention_run",
            AuditEvent::AuditPurged => "audit_purged",
            AuditEvent::TokenCreated => "token_created",
            AuditEvent::TokenRevoked => "token_revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        AuditEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }

    pub fn known_list() -> String {
        AuditEvent::ALL.map(|e| e.as_str()).join(", ")
    }
}

impl fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hash the first record of a chain links to.
pub const GENESIS_HASH: &str =
    "b3:0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record, as the spec shows it (`prevHash` added so a reader can
/// check the link without the store).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: String,
    pub event: String,
    #[serde(with = "ts")]
    pub timestamp: DateTime<Utc>,
    pub user: String,
    pub details: Value,
    pub hash: String,
    pub prev_hash: String,
    /// The tool the event concerns (covered by the hash; used for filtering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The snapshot the event concerns (covered by the hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
}

/// What a workflow asks to have audited; the store assigns id and hashes.
#[derive(Clone, Debug)]
pub struct NewAudit {
    pub event: AuditEvent,
    pub timestamp: DateTime<Utc>,
    pub user: String,
    /// The tool the event concerns, for filtering (also inside `details`).
    pub tool: Option<String>,
    /// The snapshot the event concerns, for filtering.
    pub snapshot_id: Option<String>,
    pub details: Value,
}

impl NewAudit {
    /// A record about one snapshot of `tool` (filed under both).
    pub fn about_snapshot(
        event: AuditEvent,
        timestamp: DateTime<Utc>,
        user: &str,
        (tool, snapshot_id): (&str, &str),
        details: &impl details::Details,
    ) -> NewAudit {
        NewAudit {
            event,
            timestamp,
            user: user.to_string(),
            tool: Some(tool.to_string()),
            snapshot_id: Some(snapshot_id.to_string()),
            details: details.to_value(),
        }
    }
}

pub fn audit_id(seq: u64) -> String {
    let mut s = String::with_capacity(26);
    push_audit_id(&mut s, seq);
    s
}

/// Appends [`audit_id`]`(seq)` to `out`, for text built in one allocation.
pub fn push_audit_id(out: &mut String, seq: u64) {
    use std::fmt::Write;
    // Into a String: cannot fail.
    let _ = write!(out, "audit-{seq}");
}

/// Whether `id` is exactly [`audit_id`]`(seq)`, without building it (the
/// walk asks once per record).
fn is_audit_id(id: &str, seq: u64) -> bool {
    use std::io::Write;
    let mut buf = [0u8; 32];
    let mut rest = &mut buf[..];
    write!(rest, "audit-{seq}").expect("u64 fits in 32 bytes");
    let len = 32 - rest.len();
    id.as_bytes() == &buf[..len]
}

/// Parses `audit-N` (or a bare `N`).
pub fn parse_audit_id(s: &str) -> Option<u64> {
    s.strip_prefix("audit-").unwrap_or(s).parse().ok()
}

/// What the chain hash covers besides the link.
pub struct HashInput<'a> {
    pub id: &'a str,
    pub event: &'a str,
    pub timestamp: DateTime<Utc>,
    pub user: &'a str,
    pub details: &'a Value,
    pub tool: Option<&'a str>,
    pub snapshot_id: Option<&'a str>,
}

/// The chain hash of a record: `b3:` + BLAKE3 over the canonical JSON of
/// `{details, event, id, prevHash, snapshotId?, timestamp, tool?, user}`
/// (keys sorted, compact; `details` with its keys sorted too, which
/// serde_json's map guarantees; `tool` and `snapshotId` only when present).
pub fn chain_hash(r: &HashInput<'_>, prev_hash: &str) -> String {
    let digest = chain_digest(r, prev_hash, &mut Vec::with_capacity(512));
    format!("b3:{}", digest.to_hex())
}

/// The BLAKE3 digest [`chain_hash`] renders, serialized through `buf` (so a
/// caller hashing many records reuses one buffer).
pub fn chain_digest(r: &HashInput<'_>, prev_hash: &str, buf: &mut Vec<u8>) -> blake3::Hash {
    // The members in sorted order: the same bytes as a `serde_json::Map` of
    // them, without copying `details`.
    #[derive(Serialize)]
    struct Canonical<'a> {
        details: &'a Value,
        event: &'a str,
        id: &'a str,
        #[serde(rename = "prevHash")]
        prev_hash: &'a str,
        #[serde(rename = "snapshotId", skip_serializing_if = "Option::is_none")]
        snapshot_id: Option<&'a str>,
        timestamp: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        tool: Option<&'a str>,
        user: &'a str,
    }
    let mut ts = [0u8; super::time::TS_LEN];
    let timestamp = super::time::write_ts(r.timestamp, &mut ts);
    let canonical = Canonical {
        details: r.details,
        event: r.event,
        id: r.id,
        prev_hash,
        snapshot_id: r.snapshot_id,
        timestamp: &timestamp,
        tool: r.tool,
        user: r.user,
    };
    // One buffer, hashed at once: many small writes into the hasher cost more.
    buf.clear();
    serde_json::to_writer(&mut *buf, &canonical).expect("json values serialize");
    blake3::hash(buf)
}

/// `b3:` + hex BLAKE3 of `bytes`.
pub fn b3(bytes: &[u8]) -> String {
    format!("b3:{}", blake3::hash(bytes).to_hex())
}

impl AuditRecord {
    /// Recomputes this record's hash from its content and the given link.
    pub fn expected_hash(&self) -> String {
        chain_hash(&self.hash_input(), &self.prev_hash)
    }

    /// [`AuditRecord::expected_hash`] as a digest, serialized through `buf`.
    pub fn expected_digest(&self, buf: &mut Vec<u8>) -> blake3::Hash {
        chain_digest(&self.hash_input(), &self.prev_hash, buf)
    }

    pub fn hash_input(&self) -> HashInput<'_> {
        HashInput {
            id: &self.id,
            event: &self.event,
            timestamp: self.timestamp,
            user: &self.user,
            details: &self.details,
            tool: self.tool.as_deref(),
            snapshot_id: self.snapshot_id.as_deref(),
        }
    }
}

/// Where a chain walk stopped.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ChainBreak {
    /// The record's content no longer matches its hash.
    Edited { id: String },
    /// The record does not link to the one before it (a record was removed
    /// or the records were reordered).
    Gap { id: String, expected_prev: String },
    /// A sequence number is missing before this record.
    Missing { id: String, missing_from: u64 },
    /// The chain ends before the checkpoint's head.
    Truncated {
        last_id: Option<String>,
        checkpoint_id: String,
    },
    /// The checkpoint's record exists but its hash differs.
    CheckpointMismatch { id: String },
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChainBreak::Edited { id } => write!(f, "{id} was edited: its content does not match its hash"),
            ChainBreak::Gap { id, .. } => write!(f, "{id} does not link to the record before it: a record was removed or reordered"),
            ChainBreak::Missing { id, missing_from } => write!(f, "records from audit-{missing_from} up to {id} are missing"),
            ChainBreak::Truncated { last_id, checkpoint_id } => write!(
                f,
                "the trail was truncated: it ends at {} but the checkpoint's head is {checkpoint_id}",
                last_id.as_deref().unwrap_or("(no records)")
            ),
            ChainBreak::CheckpointMismatch { id } => write!(f, "{id} differs from the checkpoint's record of it"),
        }
    }
}

/// What a record's link in the chain is checked on.
struct Link<'a> {
    id: &'a str,
    hash: &'a str,
    prev_hash: &'a str,
}

/// An incremental verifier: feed records in sequence order.
pub struct ChainWalker {
    prev_hash: String,
    prev_seq: Option<u64>,
    pub checked: u64,
    /// Each record's canonical form is serialized here: one buffer for the
    /// walk rather than one grown from empty per record.
    buf: Vec<u8>,
}

impl ChainWalker {
    /// `anchor`: the hash the first record must link to (the genesis, or the
    /// head a purge attested).
    pub fn new(anchor: &str) -> Self {
        ChainWalker {
            prev_hash: anchor.to_string(),
            prev_seq: None,
            checked: 0,
            buf: Vec::with_capacity(512),
        }
    }

    pub fn feed(&mut self, seq: u64, rec: &AuditRecord) -> Result<(), ChainBreak> {
        let mut buf = std::mem::take(&mut self.buf);
        let expected = rec.expected_digest(&mut buf);
        self.buf = buf;
        self.feed_hashed(seq, rec, &expected)
    }

    /// [`ChainWalker::feed`] with the record's hash already recomputed
    /// (`expected`: its [`AuditRecord::expected_digest`]), so that callers
    /// can recompute many on other threads; the checks and their order are
    /// the same.
    pub fn feed_hashed(
        &mut self,
        seq: u64,
        rec: &AuditRecord,
        expected: &blake3::Hash,
    ) -> Result<(), ChainBreak> {
        let link = Link {
            id: &rec.id,
            hash: &rec.hash,
            prev_hash: &rec.prev_hash,
        };
        self.check(seq, link, expected)
    }

    /// [`ChainWalker::feed`] for a row read in place: the same checks.
    pub fn feed_row(&mut self, seq: u64, row: &row::AuditRow<'_>) -> Result<(), ChainBreak> {
        let expected = match row.digest {
            Some(d) => d,
            None => {
                let mut buf = std::mem::take(&mut self.buf);
                let d = row.expected_digest(&mut buf);
                self.buf = buf;
                d
            }
        };
        let link = Link {
            id: row.id,
            hash: row.hash,
            prev_hash: row.prev_hash,
        };
        self.check(seq, link, &expected)
    }

    fn check(
        &mut self,
        seq: u64,
        rec: Link<'_>,
        expected: &blake3::Hash,
    ) -> Result<(), ChainBreak> {
        if let Some(p) = self.prev_seq {
            if seq != p + 1 {
                return Err(ChainBreak::Missing {
                    id: rec.id.to_string(),
                    missing_from: p + 1,
                });
            }
        }
        let matches = rec
            .hash
            .strip_prefix("b3:")
            .is_some_and(|h| h == expected.to_hex().as_str());
        if !is_audit_id(rec.id, seq) || !matches {
            return Err(ChainBreak::Edited { id: audit_id(seq) });
        }
        if rec.prev_hash != self.prev_hash {
            return Err(ChainBreak::Gap {
                id: rec.id.to_string(),
                expected_prev: self.prev_hash.clone(),
            });
        }
        // Into the buffer it already has: no allocation per record.
        self.prev_hash.clear();
        self.prev_hash.push_str(rec.hash);
        self.prev_seq = Some(seq);
        self.checked += 1;
        Ok(())
    }

    pub fn head_hash(&self) -> &str {
        &self.prev_hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rec(seq: u64, prev: &str, user: &str) -> AuditRecord {
        let id = audit_id(seq);
        let t = Utc.with_ymd_and_hms(2025, 12, 4, 0, 0, seq as u32).unwrap();
        let details = serde_json::json!({"b": 1, "a": "x"});
        let mut r = AuditRecord {
            id,
            event: "snapshot_imported".into(),
            timestamp: t,
            user: user.into(),
            details,
            hash: String::new(),
            prev_hash: prev.into(),
            tool: Some("syft".into()),
            snapshot_id: None,
        };
        r.hash = r.expected_hash();
        r
    }

    #[test]
    fn is_audit_id_is_equality_with_audit_id() {
        for seq in [0, 1, 9, 10, 12_345, u64::MAX] {
            assert!(is_audit_id(&audit_id(seq), seq));
        }
        for (id, seq) in [
            ("audit-01", 1),
            ("audit-+1", 1),
            ("audit-1 ", 1),
            ("audit-", 0),
            ("Audit-1", 1),
            ("audit-12", 1),
            ("1", 1),
        ] {
            assert!(!is_audit_id(id, seq), "{id}");
        }
    }

    #[test]
    fn a_clean_chain_verifies_and_an_edit_is_named() {
        let a = rec(1, GENESIS_HASH, "ann");
        let b = rec(2, &a.hash, "bob");
        let mut w = ChainWalker::new(GENESIS_HASH);
        w.feed(1, &a).unwrap();
        w.feed(2, &b).unwrap();
        assert_eq!(w.checked, 2);

        let mut edited = b.clone();
        edited.user = "mallory".into();
        let mut retooled = b.clone();
        retooled.tool = Some("trivy".into());
        let mut w = ChainWalker::new(GENESIS_HASH);
        w.feed(1, &a).unwrap();
        assert!(
            w.feed(2, &retooled).is_err(),
            "the tool column is covered by the hash"
        );
        let mut w = ChainWalker::new(GENESIS_HASH);
        w.feed(1, &a).unwrap();
        assert_eq!(
            w.feed(2, &edited),
            Err(ChainBreak::Edited {
                id: "audit-2".into()
            })
        );
    }

    /// The chain hash as it was first written: a `serde_json::Map` of the
    /// members (sorted keys), serialized compact. Every stored chain was
    /// hashed this way.
    fn map_hash(r: &HashInput<'_>, prev_hash: &str) -> String {
        let mut canonical = serde_json::json!({
            "details": r.details,
            "event": r.event,
            "id": r.id,
            "prevHash": prev_hash,
            "timestamp": crate::domain::time::fmt_ts(r.timestamp),
            "user": r.user,
        });
        if let Some(t) = r.tool {
            canonical["tool"] = Value::String(t.to_string());
        }
        if let Some(s) = r.snapshot_id {
            canonical["snapshotId"] = Value::String(s.to_string());
        }
        b3(&serde_json::to_vec(&canonical).unwrap())
    }

    #[test]
    fn the_chain_hash_is_the_map_hash_byte_for_byte() {
        let mut r = rec(7, GENESIS_HASH, "Zoë \"q\" \u{1F600}\n");
        r.details = serde_json::json!({
            "z": [1, {"b": null, "a": "é\u{0}"}],
            "a": {"y": 1.5, "x": -3},
            "snapshotId": "syft-20251204T000000Z-001",
        });
        for (tool, snap) in [
            (None, None),
            (Some("syft"), None),
            (None, Some("s-1")),
            (Some("t"), Some("s")),
        ] {
            r.tool = tool.map(String::from);
            r.snapshot_id = snap.map(String::from);
            let i = r.hash_input();
            assert_eq!(
                chain_hash(&i, "b3:prev"),
                map_hash(&i, "b3:prev"),
                "{tool:?} {snap:?}"
            );
        }
    }

    #[test]
    fn removal_is_a_missing_range_and_reorder_is_a_gap() {
        let a = rec(1, GENESIS_HASH, "ann");
        let b = rec(2, &a.hash, "bob");
        let c = rec(3, &b.hash, "cy");
        let mut w = ChainWalker::new(GENESIS_HASH);
        w.feed(1, &a).unwrap();
        assert!(matches!(
            w.feed(3, &c),
            Err(ChainBreak::Missing {
                missing_from: 2,
                ..
            })
        ));
        let mut w = ChainWalker::new(GENESIS_HASH);
        assert!(matches!(w.feed(1, &b), Err(ChainBreak::Edited { .. })));
    }
}
