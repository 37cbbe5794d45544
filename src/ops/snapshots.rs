//! Reading snapshots, and verifying one against its hash.

use super::{OpError, Result};
use crate::domain::snapshot::{Snapshot, SnapshotId};
use crate::store::prelude::*;
use crate::store::{DiffSide, SnapshotFilter, Store};
use serde::Serialize;

pub fn list(store: &mut Store, filter: &SnapshotFilter) -> Result<Vec<Snapshot>> {
    Ok(store.list_snapshots(filter)?)
}

/// Every snapshot, oldest first.
pub fn list_all(store: &impl Queries) -> Result<Vec<Snapshot>> {
    Ok(store.list_snapshots(&SnapshotFilter::default())?)
}

/// The snapshot with this id, or a NotFound naming it.
pub fn get(store: &impl Queries, id: &str) -> Result<Snapshot> {
    if let Err(m) = SnapshotId::parse(id) {
        return Err(OpError::NotFound(m));
    }
    store.get_snapshot(id)?.ok_or_else(|| {
        OpError::NotFound(format!(
            "no snapshot {id}; list them with `snapgov ingest snapshots`"
        ))
    })
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResult {
    pub snapshot_id: String,
    pub status: &'static str,
    pub expected_hash: Option<String>,
    pub actual_hash: Option<String>,
    pub expected_count: u64,
    pub actual_count: u64,
    /// The first stored record whose content no longer matches its address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_record: Option<String>,
}

/// Re-reads a snapshot's stored records, re-hashes each, and compares with
/// the snapshot's `normalizedHash` and `recordCount`.
pub fn verify(store: &impl Queries, id: &str) -> Result<VerifyResult> {
    verify_collect(store, id, false).map(|(v, _)| v)
}

/// The thorough check an operator runs by hand: as [`verify`], and each
/// record's identity is checked against the key it is filed under.
pub fn verify_deep(store: &impl Queries, id: &str) -> Result<VerifyResult> {
    verify_collect(store, id, true).map(|(v, _)| v)
}

/// As [`verify`], also returning the records' recomputed content hashes.
pub fn verify_collect(
    store: &impl Queries,
    id: &str,
    deep: bool,
) -> Result<(VerifyResult, crate::store::ContentHashes)> {
    let snap = get(store, id)?;
    if !snap.state.is_restorable() {
        return Err(OpError::Invalid(format!(
            "snapshot {id} is {}: it has no records to verify",
            snap.state
        )));
    }
    let (_, pk) = store
        .get_snapshot_pk(id)?
        .ok_or_else(|| OpError::NotFound(format!("no snapshot {id}")))?;
    let (summary, bad, hashes) = store.rehash_with_hashes(DiffSide::Snapshot(pk), deep)?;
    let ok = bad.is_none()
        && Some(&summary.normalized_hash) == snap.normalized_hash.as_ref()
        && summary.count == snap.record_count;
    Ok((
        VerifyResult {
            snapshot_id: snap.id,
            status: if ok { "verified" } else { "mismatch" },
            expected_hash: snap.normalized_hash,
            actual_hash: Some(summary.normalized_hash),
            expected_count: snap.record_count,
            actual_count: summary.count,
            bad_record: bad.map(|b| format!("record {} ({})", b.record_id, b.identity)),
        },
        hashes,
    ))
}

impl VerifyResult {
    pub fn is_ok(&self) -> bool {
        self.status == "verified"
    }

    /// The failure as an integrity error naming what differs.
    pub fn into_error(self) -> OpError {
        let mut m = format!("snapshot {} does not verify: ", self.snapshot_id);
        if let Some(b) = &self.bad_record {
            m.push_str(&format!("stored {b} was altered; "));
        }
        m.push_str(&format!(
            "its records hash to {} ({} records) but the snapshot says {} ({} records)",
            self.actual_hash.as_deref().unwrap_or("-"),
            self.actual_count,
            self.expected_hash.as_deref().unwrap_or("-"),
            self.expected_count
        ));
        OpError::Integrity(m)
    }
}
