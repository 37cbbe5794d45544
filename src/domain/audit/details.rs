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

/// The snapshot a record's details name (`snapshotId`), whichever its
/// event: the one field a replay of the trail needs from most records, read
/// without reading the rest.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    pub snapshot_id: String,
}

impl SnapshotRef {
    pub fn of(details: &Value) -> Option<String> {
        SnapshotRef::deserialize(details)
            .ok()
            .map(|r| r.snapshot_id)
    }
}

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
mod tests;
