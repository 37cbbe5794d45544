//! Each snapshot row and tool pointer against what the trail recorded.

use super::anchor::VerifiedPurge;
use super::replay::{ImportRecord, Imported, Pointer, Replay};
use super::walk::Walk;
use crate::domain::audit::details::SnapshotImported;
use crate::domain::audit::push_audit_id;
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use crate::ops::Result;
use crate::store::prelude::*;

/// Each snapshot row must match its import record; a row no import
/// record mentions was not written by snapgov, unless a verified purge
/// removed its record (and, for newer purges, lists it). Returns the
/// problems and how many snapshots were compared with an import record.
pub(super) fn check_snapshots(
    snapshots: &[Snapshot],
    w: &Walk,
    purge: Option<&VerifiedPurge>,
) -> (Vec<String>, u64) {
    let mut snapshot_problems = Vec::new();
    // Snapshots without an import record while the purge does not verify.
    let mut unaccounted: Vec<String> = Vec::new();
    let mut checked = 0;
    for s in snapshots {
        match w.imports.get(s.id.as_str()) {
            Some(i) => {
                // Only snapshots compared with their import record count
                // (after a purge, older ones have none left to match).
                checked += 1;
                let diffs = import_diffs(s, i);
                if !diffs.is_empty() {
                    snapshot_problems.push(format!(
                        "snapshot {}: {} differ from its import record {}",
                        s.id,
                        diffs.join(", "),
                        i.audit
                    ));
                }
            }
            None if w.first_failure.is_some() => {}
            None => unimported(s, w, purge, &mut unaccounted, &mut snapshot_problems),
        }
        let diffs = replay_diffs(s, &w.rp);
        if !diffs.is_empty() {
            snapshot_problems.push(format!(
                "snapshot {}: {} differ from the audit trail",
                s.id,
                diffs.join(", ")
            ));
        }
    }
    if let (Some(first), Some(p)) = (unaccounted.first(), &w.attesting) {
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
    (snapshot_problems, checked)
}

/// The fields of a snapshot row that differ from its import record.
fn import_diffs(s: &Snapshot, i: &Imported) -> Vec<String> {
    let mut diffs = Vec::new();
    let (source_hash, imported_at, done) = match &i.record {
        ImportRecord::Done(d) => (&d.source_hash, &d.imported_at, Some(d)),
        ImportRecord::Failed(d) => (&d.source_hash, &d.imported_at, None),
    };
    // A failed import stays failed until retention deletes it
    // (which the replay below checks against the trail).
    let failed_row = match s.state {
        SnapshotState::Failed => true,
        SnapshotState::Deleted => done.is_none(),
        _ => false,
    };
    if done.is_none() != failed_row {
        diffs.push("state".to_string());
    }
    if *source_hash != s.source_hash {
        diffs.push("sourceHash".to_string());
    }
    if let Some(d) = done {
        if d.normalized_hash != s.normalized_hash {
            diffs.push("normalizedHash".to_string());
        }
        if d.record_count != s.record_count {
            diffs.push("recordCount".to_string());
        }
    }
    if *imported_at != fmt_ts(s.imported_at) {
        diffs.push("importedAt".to_string());
    }
    match &i.record {
        ImportRecord::Done(d) => diffs.extend(metadata_diffs(s, i, d)),
        ImportRecord::Failed(d) => {
            if Some(&d.reason) != s.failure_reason.as_ref() {
                diffs.push("failureReason".to_string());
            }
        }
    }
    diffs
}

/// The descriptive fields of a completed import that differ from its row.
fn metadata_diffs(s: &Snapshot, i: &Imported, d: &SnapshotImported) -> Vec<String> {
    let checks = [
        (i.user != s.metadata.import_user, "metadata.importUser"),
        (d.source_uri != s.metadata.source_uri, "metadata.sourceUri"),
        (
            d.reason != s.metadata.import_reason,
            "metadata.importReason",
        ),
        (d.tool_version != s.tool_version, "toolVersion"),
        (
            d.previous_snapshot != s.previous_snapshot,
            "previousSnapshot",
        ),
        (d.tool != s.tool, "tool"),
        (d.format != s.format, "format"),
        (d.warnings != s.warnings, "warnings"),
    ];
    checks
        .into_iter()
        .filter(|(differs, _)| *differs)
        .map(|(_, field)| field.to_string())
        .collect()
}

/// A snapshot with no import record: accepted only if the verified purge
/// accounts for it; said once for all when the purge does not verify.
fn unimported(
    s: &Snapshot,
    w: &Walk,
    purge: Option<&VerifiedPurge>,
    unaccounted: &mut Vec<String>,
    snapshot_problems: &mut Vec<String>,
) {
    let attesting = &w.attesting;
    // Its import record was older than the cut-off, and so (import
    // times are never in the future) was its import time; and the
    // purge's own list, hashed in the chain, must name it (purges
    // written before the list existed have only the time).
    let attested = purge.as_ref().is_some_and(|p| {
        s.imported_at < p.before
            && p.surviving
                .as_ref()
                .is_none_or(|l| l.iter().any(|x| *x == s.id))
    });
    if !attested && attesting.is_some() && purge.is_none() {
        // Said once below, not once a snapshot.
        unaccounted.push(s.id.to_string());
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

/// The fields of a snapshot row that differ from the replayed trail.
fn replay_diffs(s: &Snapshot, rp: &Replay) -> Vec<String> {
    let mut diffs = Vec::new();
    let trail = rp.snapshots.get(s.id.as_str());
    if let Some(want) = trail.and_then(|t| t.state) {
        if want != s.state {
            diffs.push(format!("state ({}, but the trail says {want})", s.state));
        }
    }
    // Retention ages a snapshot from this time.
    if let Some(t) = trail.map(|t| t.changed_at) {
        if s.state_changed_at != Some(t) {
            diffs.push(format!(
                "stateChangedAt ({}, but the trail says {})",
                s.state_changed_at
                    .map(fmt_ts)
                    .unwrap_or_else(|| "none".into()),
                fmt_ts(t)
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
    diffs
}

/// A snapshot [`missing_snapshots`] reports: (the id's prefix number, the
/// id, the state the trail gives it and the record that set it; none when
/// only the purge's list names it).
type Gone<'a> = (u128, &'a str, Option<(SnapshotState, u64)>);

/// A snapshot the trail knows (imported, and deleted only as a row state by
/// retention) must still be in the store. Reported in snapshot id order;
/// why the trail knows it is written only for those that are missing.
pub(super) fn missing_snapshots(
    snapshots: &[Snapshot],
    w: &Walk,
    purge: Option<&VerifiedPurge>,
) -> Vec<String> {
    let rp = &w.rp;
    let have: std::collections::HashSet<&str> = snapshots.iter().map(|s| s.id.as_str()).collect();
    let mut gone: Vec<Gone<'_>> = rp
        .snapshots
        .iter()
        .filter(|(id, _)| !have.contains(id.as_str()))
        .filter_map(|(id, t)| Some((id_prefix(id), id.as_str(), Some((t.state?, t.changed_by)))))
        .collect();
    if let Some(l) = purge.as_ref().and_then(|p| p.surviving.as_ref()) {
        let kept = l.iter().map(String::as_str);
        gone.extend(
            kept.filter(|id| rp.state(id).is_none() && !have.contains(id))
                .map(|id| (id_prefix(id), id, None)),
        );
    }
    // Ids are unique but for repeats in the purge's list, which read the same.
    let gone = on_two_cores::sort(gone, |a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let by = w
        .attesting
        .as_ref()
        .map(|a| a.id.as_str())
        .unwrap_or_default();
    on_two_cores::map(&gone, |&(_, id, why)| missing_line(id, why, by))
}

/// An id's first 16 bytes as a number that orders as they do: most
/// comparisons of a million ids then end without reading the ids, which lie
/// scattered over the heap. Ids equal there are compared whole.
fn id_prefix(id: &str) -> u128 {
    let mut b = [0u8; 16];
    let n = id.len().min(16);
    b[..n].copy_from_slice(&id.as_bytes()[..n]);
    u128::from_be_bytes(b)
}

/// One line of [`missing_snapshots`]' report, built in one allocation of
/// its final size: a report can hold a million of them.
fn missing_line(id: &str, why: Option<(SnapshotState, u64)>, by: &str) -> String {
    const HEAD: &str = "snapshot ";
    const MID: &str = ": the audit trail says it exists (";
    const TAIL: &str = ") but the store has no such snapshot: it was deleted outside snapgov";
    const PER: &str = " per ";
    const KEPT: &str = "kept by the purge ";
    let why_len = match why {
        Some((st, _)) => st.as_str().len() + PER.len() + 26,
        None => KEPT.len() + by.len(),
    };
    let mut s = String::with_capacity(HEAD.len() + id.len() + MID.len() + why_len + TAIL.len());
    s.push_str(HEAD);
    s.push_str(id);
    s.push_str(MID);
    match why {
        Some((st, seq)) => {
            s.push_str(st.as_str());
            s.push_str(PER);
            push_audit_id(&mut s, seq);
        }
        None => {
            s.push_str(KEPT);
            s.push_str(by);
        }
    }
    s.push_str(TAIL);
    s
}

/// A long report (a trail that names a million snapshots the store lacks)
/// is sorted and worded on two cores; it runs after the walk, on its own.
mod on_two_cores {
    use std::cmp::Ordering;

    /// Below this, a second thread costs more than it saves.
    const SPLIT_AT: usize = 20_000;

    fn two() -> bool {
        std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    }

    /// `v` sorted by `cmp`: each half on its own core, then merged.
    pub(super) fn sort<T: Copy + Send>(
        mut v: Vec<T>,
        cmp: impl Fn(&T, &T) -> Ordering + Sync,
    ) -> Vec<T> {
        if v.len() < SPLIT_AT || !two() {
            v.sort_unstable_by(&cmp);
            return v;
        }
        let mid = v.len() / 2;
        let (a, b) = v.split_at_mut(mid);
        std::thread::scope(|s| {
            s.spawn(|| a.sort_unstable_by(&cmp));
            b.sort_unstable_by(&cmp);
        });
        let (a, b) = v.split_at(mid);
        let mut out = Vec::with_capacity(v.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if cmp(&b[j], &a[i]) == Ordering::Less {
                out.push(b[j]);
                j += 1;
            } else {
                out.push(a[i]);
                i += 1;
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        out
    }

    /// `f` of each item, in order: each half on its own core.
    pub(super) fn map<T: Sync, U: Send>(v: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
        if v.len() < SPLIT_AT || !two() {
            return v.iter().map(&f).collect();
        }
        let (a, b) = v.split_at(v.len() / 2);
        std::thread::scope(|s| {
            let first = s.spawn(|| a.iter().map(&f).collect::<Vec<_>>());
            let second: Vec<U> = b.iter().map(&f).collect();
            let mut first = first
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            first.extend(second);
            first
        })
    }

    #[cfg(test)]
    mod tests {
        /// Past the split, the two cores give what one gives: the same
        /// order, duplicates kept, every item mapped in place.
        #[test]
        fn a_long_report_is_sorted_and_worded_as_on_one_core() {
            let mut x = 7u64;
            let v: Vec<(u64, usize)> = (0..3 * super::SPLIT_AT + 1)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // Few distinct keys, so equal keys straddle the halves.
                    ((x >> 33) % 5000, i % 3)
                })
                .collect();
            let mut one = v.clone();
            one.sort_unstable();
            let two = super::sort(v.clone(), |a, b| a.cmp(b));
            assert_eq!(two, one);
            let words = |p: &(u64, usize)| format!("{}-{}", p.0, p.1);
            let one: Vec<String> = one.iter().map(words).collect();
            assert_eq!(super::map(&two, words), one);
            assert_eq!(super::sort(v[..10].to_vec(), |a, b| a.cmp(b)).len(), 10);
        }
    }
}

/// Each tool's active pointer, and who set it when, must be what the trail
/// says.
pub(super) fn check_pointers(store: &impl Queries, rp: &Replay) -> Result<Vec<String>> {
    let mut snapshot_problems = Vec::new();
    for t in store.tools()? {
        let pointer = rp.pointers.get(&t.name);
        if let Some(want) = pointer.map(|p| &p.snapshot) {
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
        if let Some(Pointer { at, by, .. }) = pointer {
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
    Ok(snapshot_problems)
}

#[cfg(test)]
mod tests {
    use super::{id_prefix, missing_line};
    use crate::domain::audit::audit_id;
    use crate::domain::snapshot::SnapshotState;

    /// Ids order by their prefix number as they do as text, whatever their
    /// length (a shorter id is padded with zeros, so ties are compared whole).
    #[test]
    fn ids_order_by_their_prefix_as_by_their_text() {
        let ids = [
            "",
            "a",
            "a\0",
            "ab",
            "syft-x-9",
            "syft-x-10",
            "syft-20251201T000000Z-001",
            "syft-20251201T000000Z-002",
            "\u{e9}t\u{e9}",
            "z",
        ];
        for a in ids {
            for b in ids {
                let by_prefix = id_prefix(a).cmp(&id_prefix(b)).then_with(|| a.cmp(b));
                assert_eq!(by_prefix, a.cmp(b), "{a:?} against {b:?}");
                if id_prefix(a) != id_prefix(b) {
                    assert_eq!(
                        id_prefix(a).cmp(&id_prefix(b)),
                        a.cmp(b),
                        "{a:?} against {b:?}"
                    );
                }
            }
        }
    }

    /// The line built piece by piece reads as the sentence it replaced.
    #[test]
    fn a_missing_snapshot_line_reads_as_before() {
        let tail = "but the store has no such snapshot: it was deleted outside snapgov";
        for (st, seq) in [
            (SnapshotState::Active, 1),
            (SnapshotState::Deleted, u64::MAX),
        ] {
            assert_eq!(
                missing_line("syft-x-1", Some((st, seq)), ""),
                format!(
                    "snapshot syft-x-1: the audit trail says it exists ({st} per {}) {tail}",
                    audit_id(seq)
                )
            );
        }
        assert_eq!(
            missing_line("trivy-2", None, "audit-7"),
            format!("snapshot trivy-2: the audit trail says it exists (kept by the purge audit-7) {tail}")
        );
    }
}
