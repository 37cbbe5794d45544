//! The `details` of each audit event, typed.
//!
//! The chain hash covers the details as stored, so these structs must
//! serialize to exactly what the trail already holds: the same keys, `null`
//! where a value was absent and a key left out only where it always was.
//! Details go through `serde_json::Value` (a sorted map), so field order
//! here does not reach the stored bytes.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A typed `details` document.
pub trait Details: Serialize + DeserializeOwned {
    /// The details as stored in the record.
    fn to_value(&self) -> Value {
        // Plain structs of strings, numbers, booleans and lists: nothing
        // here can fail to become JSON.
        serde_json::to_value(self).expect("audit details serialize to JSON")
    }

    /// Reads a record's details; `None` when they do not have this shape
    /// (an edited record, or another event's details).
    fn read(details: &Value) -> Option<Self> {
        Self::deserialize(details).ok()
    }
}

/// Keeps an explicit `null` apart from a missing key: `Some(None)` is a
/// `null`, a missing key stays `None` (through `#[serde(default)]`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Why a snapshot became its tool's active one.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ActivationCause {
    Import,
    Backfill,
    Rollback,
}

/// `snapshot_imported`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotImported {
    pub snapshot_id: String,
    pub tool: String,
    pub imported_at: String,
    pub tool_version: Option<String>,
    pub previous_snapshot: Option<String>,
    pub source_hash: String,
    pub normalized_hash: Option<String>,
    pub record_count: u64,
    pub format: Option<String>,
    pub files: Vec<String>,
    pub source_uri: Option<String>,
    pub reason: Option<String>,
    pub warnings: Vec<String>,
    /// Only on a backfill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<bool>,
    /// Only on a backfill: the newer neighbour it relinked (`null` when
    /// there is none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub next_snapshot: Option<Option<String>>,
}

impl Details for SnapshotImported {}

/// `snapshot_import_failed`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotImportFailed {
    pub snapshot_id: String,
    pub tool: String,
    pub source_hash: String,
    pub imported_at: String,
    pub files: Vec<String>,
    pub reason: String,
    pub active_snapshot: Option<String>,
}

impl Details for SnapshotImportFailed {}

/// `snapshot_activated`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotActivated {
    pub snapshot_id: String,
    pub previous_snapshot: Option<String>,
    pub cause: ActivationCause,
    pub records_affected: u64,
    /// Only on a backfill made active (`null` when no reason was given).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub reason: Option<Option<String>>,
}

impl Details for SnapshotActivated {}

/// `snapshot_rolled_back`: an operator's rollback, or the automatic one
/// after a failed import.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRolledBack {
    /// Only on an operator's rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub from_snapshot: String,
    /// `null` when a failed import had nothing to fall back to.
    pub to_snapshot: Option<String>,
    pub reason: String,
    pub records_affected: u64,
    /// Only on an operator's rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_was_archived: Option<bool>,
    /// Only on the automatic rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic: Option<bool>,
}

impl Details for SnapshotRolledBack {}

/// `snapshot_rollback_failed`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRollbackFailed {
    pub tool: String,
    pub from_snapshot: String,
    pub to_snapshot: String,
    pub step: String,
    pub error: String,
    pub reason: String,
    /// Only for a conflict: the active snapshot the preview was made against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_active: Option<String>,
}

impl Details for SnapshotRollbackFailed {}

/// `snapshot_expired`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotExpired {
    pub snapshot_id: String,
    pub tool: String,
    pub reason: String,
    pub was_active: bool,
    pub records_withdrawn: u64,
}

impl Details for SnapshotExpired {}

/// `snapshot_archived` and `snapshot_deleted` (retention's actions).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RetentionAction {
    pub snapshot_id: String,
    pub tool: String,
    pub reason: String,
    /// Only on a deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records_freed: Option<u64>,
}

impl Details for RetentionAction {}

/// `freshness_override`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FreshnessOverride {
    pub tool: String,
    pub snapshot_id: String,
    /// The freshness overridden (always `critical`).
    pub state: String,
    pub age: String,
    pub reason: String,
    pub purpose: String,
}

impl Details for FreshnessOverride {}

/// `retention_hold_added`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HoldAdded {
    pub snapshot_id: String,
    pub reason: String,
    pub expires_at: String,
}

impl Details for HoldAdded {}

/// `retention_hold_removed`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HoldRemoved {
    pub snapshot_id: String,
}

impl Details for HoldRemoved {}

/// `audit_purged`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuditPurged {
    pub purged_from: String,
    pub purged_through: String,
    pub count: u64,
    pub removed_hash: String,
    pub anchor_hash: String,
    pub before: String,
    pub reason: String,
    /// Always written; purges from before it existed lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surviving_snapshots: Option<Vec<String>>,
}

impl Details for AuditPurged {}

/// `token_created`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenCreated {
    pub name: String,
    pub role: String,
    /// The first characters of the token's hash.
    pub fingerprint: String,
}

impl Details for TokenCreated {}

/// `token_revoked`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenRevoked {
    pub name: String,
    pub role: String,
}

impl Details for TokenRevoked {}

/// The fields a one-line digest of any record shows, whichever its event.
/// Reads only; every field is optional.
#[derive(Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    #[serde(default, deserialize_with = "text")]
    pub snapshot_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub from_snapshot: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub to_snapshot: Option<String>,
    #[serde(default, deserialize_with = "count")]
    pub record_count: Option<u64>,
    #[serde(default, deserialize_with = "text")]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub cause: Option<String>,
}

impl Digest {
    /// A digest never fails: a field of an unexpected type is left out.
    pub fn of(details: &Value) -> Digest {
        Digest::deserialize(details).unwrap_or_default()
    }
}

/// A string, or nothing for any other JSON value.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        _ => None,
    })
}

/// An unsigned integer, or nothing for any other JSON value.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Value::deserialize(d)?.as_u64())
}

#[cfg(test)]
mod tests {
    //! Each struct against the `json!` the workflows wrote before it
    //! existed: the stored bytes (and so every chain hash) must not move.
    use super::*;
    use serde_json::json;

    fn same<T: Details + std::fmt::Debug + PartialEq>(typed: &T, before: Value) {
        assert_eq!(
            serde_json::to_string(&typed.to_value()).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
        assert_eq!(T::read(&before).as_ref(), Some(typed));
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn snapshot_imported_is_unchanged() {
        let mut d = SnapshotImported {
            snapshot_id: "syft-20251204T000000Z-001".into(),
            tool: "syft".into(),
            imported_at: "2025-12-04T00:00:00Z".into(),
            tool_version: None,
            previous_snapshot: Some("syft-20251203T000000Z-001".into()),
            source_hash: "b3:aa".into(),
            normalized_hash: Some("b3:bb".into()),
            record_count: 80,
            format: Some("syft".into()),
            files: strings(&["a.json"]),
            source_uri: None,
            reason: Some("weekly".into()),
            warnings: vec![],
            backfill: None,
            next_snapshot: None,
        };
        let (id, prev) = (
            "syft-20251204T000000Z-001",
            Some("syft-20251203T000000Z-001"),
        );
        let none: Option<String> = None;
        let before = json!({
            "snapshotId": id,
            "tool": "syft",
            "importedAt": "2025-12-04T00:00:00Z",
            "toolVersion": none,
            "previousSnapshot": prev,
            "sourceHash": "b3:aa",
            "normalizedHash": Some("b3:bb"),
            "recordCount": 80u64,
            "format": Some("syft"),
            "files": ["a.json"],
            "sourceUri": none,
            "reason": Some("weekly"),
            "warnings": Vec::<String>::new(),
        });
        same(&d, before.clone());
        let mut backfill = before;
        backfill["backfill"] = json!(true);
        backfill["nextSnapshot"] = json!(none);
        d.backfill = Some(true);
        d.next_snapshot = Some(None);
        same(&d, backfill);
    }

    #[test]
    fn snapshot_import_failed_is_unchanged() {
        let none: Option<String> = None;
        same(
            &SnapshotImportFailed {
                snapshot_id: "syft-20251204T000000Z-002".into(),
                tool: "syft".into(),
                source_hash: "b3:aa".into(),
                imported_at: "2025-12-04T00:00:00Z".into(),
                files: strings(&["a.json", "b.json"]),
                reason: "no records".into(),
                active_snapshot: None,
            },
            json!({
                "snapshotId": "syft-20251204T000000Z-002",
                "tool": "syft",
                "sourceHash": "b3:aa",
                "importedAt": "2025-12-04T00:00:00Z",
                "files": ["a.json", "b.json"],
                "reason": "no records",
                "activeSnapshot": none,
            }),
        );
    }

    #[test]
    fn snapshot_activated_is_unchanged() {
        let mut d = SnapshotActivated {
            snapshot_id: "s-2".into(),
            previous_snapshot: None,
            cause: ActivationCause::Import,
            records_affected: 3,
            reason: None,
        };
        let none: Option<String> = None;
        let mut before = json!({
            "snapshotId": "s-2",
            "previousSnapshot": none,
            "cause": "import",
            "recordsAffected": 3u64,
        });
        same(&d, before.clone());
        before["cause"] = json!("backfill");
        before["reason"] = json!(none);
        d.cause = ActivationCause::Backfill;
        d.reason = Some(None);
        same(&d, before);
        same(
            &SnapshotActivated {
                snapshot_id: "s-1".into(),
                previous_snapshot: Some("s-2".into()),
                cause: ActivationCause::Rollback,
                records_affected: 7,
                reason: None,
            },
            json!({
                "snapshotId": "s-1",
                "previousSnapshot": "s-2",
                "cause": "rollback",
                "recordsAffected": 7u64,
            }),
        );
    }

    #[test]
    fn snapshot_rolled_back_is_unchanged() {
        same(
            &SnapshotRolledBack {
                tool: Some("syft".into()),
                from_snapshot: "s-2".into(),
                to_snapshot: Some("s-1".into()),
                reason: "bad feed".into(),
                records_affected: 12,
                target_was_archived: Some(false),
                automatic: None,
            },
            json!({
                "tool": "syft",
                "fromSnapshot": "s-2",
                "toSnapshot": "s-1",
                "reason": "bad feed",
                "recordsAffected": 12u64,
                "targetWasArchived": false,
            }),
        );
        let none: Option<String> = None;
        same(
            &SnapshotRolledBack {
                tool: None,
                from_snapshot: "s-3".into(),
                to_snapshot: None,
                reason: "automatic: import failed: x".into(),
                records_affected: 0,
                target_was_archived: None,
                automatic: Some(true),
            },
            json!({
                "fromSnapshot": "s-3",
                "toSnapshot": none,
                "reason": format!("automatic: import failed: {}", "x"),
                "automatic": true,
                "recordsAffected": 0,
            }),
        );
    }

    #[test]
    fn snapshot_rollback_failed_is_unchanged() {
        let mut d = SnapshotRollbackFailed {
            tool: "syft".into(),
            from_snapshot: "s-2".into(),
            to_snapshot: "s-1".into(),
            step: "verify".into(),
            error: "mismatch".into(),
            reason: "bad feed".into(),
            expected_active: None,
        };
        let mut before = json!({
            "tool": "syft",
            "fromSnapshot": "s-2",
            "toSnapshot": "s-1",
            "step": "verify",
            "error": "mismatch",
            "reason": "bad feed",
        });
        same(&d, before.clone());
        before["expectedActive"] = json!("s-0");
        d.expected_active = Some("s-0".into());
        same(&d, before);
    }

    #[test]
    fn snapshot_expired_is_unchanged() {
        same(
            &SnapshotExpired {
                snapshot_id: "s-1".into(),
                tool: "syft".into(),
                reason: "withdrawn".into(),
                was_active: true,
                records_withdrawn: 5,
            },
            json!({
                "snapshotId": "s-1",
                "tool": "syft",
                "reason": "withdrawn",
                "wasActive": true,
                "recordsWithdrawn": 5u64,
            }),
        );
    }

    #[test]
    fn retention_actions_are_unchanged() {
        let why = "older than 30d";
        same(
            &RetentionAction {
                snapshot_id: "s-1".into(),
                tool: "syft".into(),
                reason: format!("retention: {why}"),
                records_freed: None,
            },
            json!({"snapshotId": "s-1", "tool": "syft", "reason": format!("retention: {why}")}),
        );
        same(
            &RetentionAction {
                snapshot_id: "s-1".into(),
                tool: "syft".into(),
                reason: format!("retention: {why}"),
                records_freed: Some(9),
            },
            json!({"snapshotId": "s-1", "tool": "syft", "reason": format!("retention: {why}"), "recordsFreed": 9u64}),
        );
    }

    #[test]
    fn freshness_override_is_unchanged() {
        same(
            &FreshnessOverride {
                tool: "syft".into(),
                snapshot_id: "s-1".into(),
                state: "critical".into(),
                age: "9d".into(),
                reason: "incident".into(),
                purpose: "records".into(),
            },
            json!({
                "tool": "syft",
                "snapshotId": "s-1",
                "state": "critical",
                "age": "9d",
                "reason": "incident",
                "purpose": "records",
            }),
        );
    }

    #[test]
    fn holds_are_unchanged() {
        same(
            &HoldAdded {
                snapshot_id: "s-1".into(),
                reason: "legal".into(),
                expires_at: "2026-01-01T00:00:00Z".into(),
            },
            json!({"snapshotId": "s-1", "reason": "legal", "expiresAt": "2026-01-01T00:00:00Z"}),
        );
        same(
            &HoldRemoved {
                snapshot_id: "s-1".into(),
            },
            json!({"snapshotId": "s-1"}),
        );
    }

    #[test]
    fn audit_purged_is_unchanged() {
        same(
            &AuditPurged {
                purged_from: "audit-1".into(),
                purged_through: "audit-4".into(),
                count: 4,
                removed_hash: "b3:aa".into(),
                anchor_hash: "b3:bb".into(),
                before: "2025-01-01T00:00:00Z".into(),
                reason: "yearly".into(),
                surviving_snapshots: Some(strings(&["s-1"])),
            },
            json!({
                "purgedFrom": "audit-1",
                "purgedThrough": "audit-4",
                "count": 4u64,
                "removedHash": "b3:aa",
                "anchorHash": "b3:bb",
                "before": "2025-01-01T00:00:00Z",
                "reason": "yearly",
                "survivingSnapshots": ["s-1"],
            }),
        );
    }

    #[test]
    fn tokens_are_unchanged() {
        same(
            &TokenCreated {
                name: "ci".into(),
                role: "reader".into(),
                fingerprint: "b3:0123456789ab".into(),
            },
            json!({"name": "ci", "role": "reader", "fingerprint": "b3:0123456789ab"}),
        );
        same(
            &TokenRevoked {
                name: "ci".into(),
                role: "reader".into(),
            },
            json!({"name": "ci", "role": "reader"}),
        );
    }

    #[test]
    fn a_digest_skips_what_it_cannot_read() {
        let d = Digest::of(
            &json!({"fromSnapshot": "a", "toSnapshot": null, "recordCount": "x", "reason": "r"}),
        );
        assert_eq!(d.from_snapshot.as_deref(), Some("a"));
        assert_eq!(d.to_snapshot, None);
        assert_eq!(d.record_count, None);
        assert_eq!(d.reason.as_deref(), Some("r"));
        assert_eq!(Digest::of(&json!("not an object")), Digest::default());
    }
}
