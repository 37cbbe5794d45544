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
    get_with_key(store, id).map(|(s, _)| s)
}

/// [`get`], with the snapshot's key in the store (what a diff side needs).
pub fn get_with_key(store: &impl Queries, id: &str) -> Result<(Snapshot, i64)> {
    if let Err(m) = SnapshotId::parse(id) {
        return Err(OpError::not_found(m));
    }
    store.get_snapshot_pk(id)?.ok_or_else(|| {
        OpError::not_found(format!(
            "no snapshot {id}; list them with `snapgov ingest snapshots`"
        ))
    })
}

/// Whether a snapshot's records still match its hash.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum VerifyStatus {
    Verified,
    Mismatch,
}

impl VerifyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Verified => "verified",
            VerifyStatus::Mismatch => "mismatch",
        }
    }
}

impl std::fmt::Display for VerifyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResult {
    pub snapshot_id: String,
    pub status: VerifyStatus,
    pub expected_hash: Option<String>,
    pub actual_hash: Option<String>,
    pub expected_count: u64,
    pub actual_count: u64,
    /// The first stored record whose content no longer matches its address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_record: Option<String>,
    /// Stored fields outside the hash that disagree with the records
    /// (e.g. the snapshot's `stats`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Re-reads a snapshot's stored records, re-hashes each, and compares with
/// the snapshot's `normalizedHash` and `recordCount`: the quick check a
/// rollback makes of its target. An operator's check is [`verify_deep`].
pub fn verify(store: &impl Queries, id: &str) -> Result<VerifyResult> {
    verify_collect(store, id, false).map(|(v, _)| v)
}

/// The thorough check an operator asks for, the one every front end runs
/// (`ingest verify`, the API's `/verify`): as [`verify`], and each record's
/// identity is checked against the key it is filed under.
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
        return Err(OpError::invalid(format!(
            "snapshot {id} is {}: it has no records to verify",
            snap.state
        )));
    }
    let (_, pk) = store
        .get_snapshot_pk(id)?
        .ok_or_else(|| OpError::not_found(format!("no snapshot {id}")))?;
    let (summary, bad, hashes) = store.rehash_with_hashes(DiffSide::Snapshot(pk), deep)?;
    let mut problems = Vec::new();
    // `stats` (what listings and the console show) is outside every hash;
    // recounting it from the records costs nothing more than the re-hash.
    if let Some(stats) = &snap.stats {
        if *stats != summary.stats {
            problems.push(format!(
                "its stats say {} but its records count {}",
                stats_text(stats),
                stats_text(&summary.stats)
            ));
        }
    }
    let ok = bad.is_none()
        && problems.is_empty()
        && Some(&summary.normalized_hash) == snap.normalized_hash.as_ref()
        && summary.count == snap.record_count;
    Ok((
        VerifyResult {
            snapshot_id: String::from(snap.id),
            status: match ok {
                true => VerifyStatus::Verified,
                false => VerifyStatus::Mismatch,
            },
            expected_hash: snap.normalized_hash,
            actual_hash: Some(summary.normalized_hash),
            expected_count: snap.record_count,
            actual_count: summary.count,
            bad_record: bad.map(|b| format!("record {} ({})", b.record_id, b.identity)),
            problems,
        },
        hashes,
    ))
}

impl VerifyResult {
    pub fn is_ok(&self) -> bool {
        self.status == VerifyStatus::Verified
    }

    /// The failure as an integrity error naming what differs.
    pub fn into_error(self) -> OpError {
        let mut m = format!("snapshot {} does not verify: ", self.snapshot_id);
        if let Some(b) = &self.bad_record {
            m.push_str(&format!("stored {b} was altered; "));
        }
        for p in &self.problems {
            m.push_str(&format!("{p}; "));
        }
        if self.actual_hash != self.expected_hash || self.actual_count != self.expected_count {
            m.push_str(&format!(
                "its records hash to {} ({} records) but the snapshot says {} ({} records)",
                self.actual_hash.as_deref().unwrap_or("-"),
                self.actual_count,
                self.expected_hash.as_deref().unwrap_or("-"),
                self.expected_count
            ));
        }
        OpError::integrity(m.trim_end_matches("; ").to_string())
    }
}

fn stats_text(s: &crate::domain::snapshot::RecordStats) -> String {
    let sev: Vec<String> = s
        .by_severity
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    format!(
        "{} packages, {} findings ({})",
        s.packages,
        s.vulnerabilities,
        sev.join(", ")
    )
}

/// Every restorable snapshot verified deeply, and every tool's active data
/// checked against its active snapshot.
#[derive(Clone, Debug)]
pub struct VerifyAll {
    pub results: Vec<VerifyResult>,
    /// Tools whose active data is not their active snapshot's records.
    pub active_problems: Vec<String>,
}

impl VerifyAll {
    pub fn is_ok(&self) -> bool {
        self.results.iter().all(|r| r.is_ok()) && self.active_problems.is_empty()
    }

    /// The failures as one integrity error naming each.
    pub fn into_error(self) -> OpError {
        let mut parts = Vec::new();
        let bad: Vec<_> = self.results.into_iter().filter(|r| !r.is_ok()).collect();
        let more = bad.len().saturating_sub(1);
        if let Some(first) = bad.into_iter().next() {
            let mut e = first.into_error().to_string();
            if more > 0 {
                e.push_str(&format!(" (and {more} more snapshots fail)"));
            }
            parts.push(e);
        }
        parts.extend(self.active_problems);
        OpError::integrity(parts.join("; "))
    }
}

/// `ingest verify --all`.
///
/// The active data (`active_records`, what `ingest records` and the API
/// serve) is a copy of the active snapshot's membership. It is checked here
/// rather than silently rebuilt on open: an auditor must learn that someone
/// edited what was served, and a read-only open cannot repair anything. The
/// check is a merge of two index-ordered scans of (identity, record) pairs,
/// no record body is read: with the deep re-hash of the snapshot itself this
/// makes the served data as trustworthy as the snapshot's `normalizedHash`.
pub fn verify_all(store: &impl Queries) -> Result<VerifyAll> {
    let snaps = list_all(store)?;
    let mut results = Vec::new();
    for s in snaps.iter().filter(|s| s.state.is_restorable()) {
        results.push(verify_deep(store, s.id.as_str())?);
    }
    let mut active_problems = Vec::new();
    for t in store.tools()? {
        let Some(key) = store.tool_key_of(&t.name)? else {
            continue;
        };
        let active = t
            .active_snapshot
            .as_deref()
            .and_then(|id| snaps.iter().find(|s| s.id == id));
        match active {
            Some(a) if a.state.is_restorable() => {
                let Some((_, pk)) = store.get_snapshot_pk(a.id.as_str())? else {
                    continue;
                };
                let (mut added, mut removed, mut changed) = (0u64, 0u64, 0u64);
                store.diff(DiffSide::Snapshot(pk), DiffSide::Active(key), |e| {
                    match (e.old, e.new) {
                        (Some(_), Some(_)) => changed += 1,
                        (None, _) => added += 1,
                        (_, None) => removed += 1,
                    }
                    Ok(())
                })?;
                if added + removed + changed > 0 {
                    active_problems.push(format!(
                        "tool {}: the active records served by `ingest records` differ from its active snapshot {} ({added} added, {removed} removed, {changed} pointing at other records)",
                        t.name, a.id
                    ));
                }
            }
            _ => {
                let n = store.active_count(key)?;
                if n > 0 {
                    active_problems.push(format!(
                        "tool {}: it has no restorable active snapshot ({}), yet {n} active records would be served",
                        t.name,
                        t.active_snapshot.as_deref().unwrap_or("none")
                    ));
                }
            }
        }
    }
    Ok(VerifyAll {
        results,
        active_problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::import::{import, ImportRequest, Input};
    use crate::ops::{Clock, Env, NoProgress};
    use crate::store::db::p;

    fn syft(dir: &std::path::Path, name: &str, packages: impl Iterator<Item = String>) -> Input {
        let artifacts: Vec<_> = packages
            .map(|p| {
                serde_json::json!({"id": p, "name": p, "version": "1.0", "type": "deb",
                    "purl": format!("pkg:deb/{p}@1.0")})
            })
            .collect();
        let feed = serde_json::json!({"artifacts": artifacts, "descriptor": {"name": "syft"},
            "source": {"type": "image", "target": {"userInput": "app:1"}},
            "schema": {"version": "16.0.40"}});
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(&feed).unwrap()).unwrap();
        Input::File(path)
    }

    /// A snapshot whose records are few among many other tools' (sparse in
    /// the store's record ids) is read in a few requests, not one a record:
    /// on PostgreSQL each request is a round trip, and `verify --all` of a
    /// store with many tools took 3 s for 25k records. A record altered
    /// among them is still found and named.
    #[test]
    fn a_sparse_snapshot_is_verified_in_a_few_requests_and_tampering_is_found() {
        let mut scratch = crate::store::testing::scratch();
        let store: &mut Store = &mut scratch;
        let dir = tempfile::tempdir().unwrap();
        let env = |day: u32| {
            let t = format!("2025-12-0{day}T12:00:00Z");
            Env::new(
                crate::config::Config::default(),
                "root",
                Clock::Fixed(crate::domain::time::parse_ts(&t).unwrap()),
            )
        };
        let mut run = |day, tool: &str, input| {
            let mut req = ImportRequest::new(tool, vec![input]);
            req.allow_shrink = true;
            import(store, &env(day), &req, &NoProgress).unwrap();
        };
        run(
            1,
            "a",
            syft(dir.path(), "a1", (0..60).map(|i| format!("a{i}"))),
        );
        run(
            2,
            "b",
            syft(dir.path(), "b1", (0..600).map(|i| format!("b{i}"))),
        );
        run(
            3,
            "a",
            syft(dir.path(), "a2", (30..90).map(|i| format!("a{i}"))),
        );
        let id = list_all(store)
            .unwrap()
            .into_iter()
            .find(|s| s.tool == "a" && s.state == crate::domain::snapshot::SnapshotState::Active)
            .unwrap()
            .id
            .to_string();

        let before = store.db().pg().map(|pg| pg.requests());
        let v = verify_deep(store, &id).unwrap();
        assert!(v.is_ok(), "{v:?}");
        if let (Some(pg), Some(before)) = (store.db().pg(), before) {
            let requests = pg.requests() - before;
            assert!(requests < 30, "{requests} requests to verify 60 records");
        }

        let (_, pk) = store.get_snapshot_pk(&id).unwrap().unwrap();
        let victim: i64 = store
            .db()
            .one(
                "SELECT record FROM snapshot_records WHERE snapshot = ?1 ORDER BY ident LIMIT 1",
                p![pk],
                |r| r.i64(0),
            )
            .unwrap();
        store
            .db()
            .exec(
                "UPDATE records SET body = replace(body, '\"name\":\"a', '\"name\":\"x') WHERE id = ?1",
                p![victim],
            )
            .unwrap();
        let v = verify_deep(store, &id).unwrap();
        assert!(!v.is_ok());
        assert!(
            v.bad_record
                .as_deref()
                .is_some_and(|b| b.starts_with(&format!("record {victim} "))),
            "{v:?}"
        );
    }
}
