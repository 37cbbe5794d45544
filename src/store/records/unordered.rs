//! Reads of a side's members for readers that hold them all in memory
//! anyway and sort them their own way. On PostgreSQL the members then come
//! in storage order: the server's identity-ordered read is an index scan
//! that visits the table at random, several times slower than reading it
//! through, and sorting a million members here takes a tenth of a second.

use super::hash::HashAcc;
use super::reads::{ContentHashes, DiffSide};
use crate::domain::record::{IdentKey, RecordHash};
use crate::store::db::Db;
use crate::store::{Result, StoreError};

/// A side's (identity key, record id) pairs, in no particular order on
/// PostgreSQL (identity order on SQLite, where that costs nothing more).
pub(super) fn members_any_order(
    db: Db<'_>,
    side: DiffSide,
    f: impl FnMut(IdentKey, i64) -> Result<()>,
) -> Result<()> {
    match db.pg() {
        Some(pg) => {
            let sql = super::members::side_query(db, side)?;
            super::pg_reads::members_any_order(pg, &sql, f)
        }
        None => super::members::stream_members(db, side, f),
    }
}

/// A side's (identity key, record id) pairs in identity order.
pub(super) fn members_in_order(db: Db<'_>, side: DiffSide) -> Result<Vec<(IdentKey, i64)>> {
    let mut pairs: Vec<(IdentKey, i64)> = Vec::new();
    members_any_order(db, side, |ident, rid| {
        pairs.push((ident, rid));
        Ok(())
    })?;
    if !pairs.is_sorted_by_key(|p| p.0) {
        pairs.sort_unstable_by_key(|p| p.0);
    }
    Ok(pairs)
}

/// A side's members in record id order (the order their bodies are read
/// in), each with its place in identity order (the order the normalized
/// hash takes their hashes in). Hashes found in record id order then go
/// straight to their place, and are hashed in one call: no sort of the
/// (identity, hash) pairs after, and BLAKE3 hashes the 32-byte hashes many
/// chunks at a time instead of one block at a time.
pub(super) struct ByRecord {
    /// (record id, identity key), in record id order.
    pub(super) members: Vec<(i64, IdentKey)>,
    /// The place in identity order of each of `members`.
    places: Vec<usize>,
}

impl ByRecord {
    /// `pairs` in identity order. Where the record ids are dense (the
    /// usual case: a snapshot's records were mostly written together) they
    /// are placed by counting, in two passes, instead of sorted.
    pub(super) fn of(pairs: &[(IdentKey, i64)]) -> ByRecord {
        let n = pairs.len();
        let lo = pairs.iter().map(|p| p.1).min().unwrap_or(0);
        let hi = pairs.iter().map(|p| p.1).max().unwrap_or(0);
        let range = (i128::from(hi) - i128::from(lo) + 1) as u128;
        if n == 0 || range > 4 * n as u128 {
            let mut order: Vec<(i64, usize)> =
                pairs.iter().enumerate().map(|(i, p)| (p.1, i)).collect();
            order.sort_unstable();
            return ByRecord {
                members: order.iter().map(|&(rid, i)| (rid, pairs[i].0)).collect(),
                places: order.into_iter().map(|(_, i)| i).collect(),
            };
        }
        let slot = |rid: i64| (rid - lo) as usize;
        // next[k]: where the first member of record id lo + k goes.
        let mut next = vec![0usize; range as usize + 1];
        for p in pairs {
            next[slot(p.1) + 1] += 1;
        }
        for k in 1..next.len() {
            next[k] += next[k - 1];
        }
        let mut members = vec![(0, [0; 16]); n];
        let mut places = vec![0; n];
        for (place, &(ident, rid)) in pairs.iter().enumerate() {
            let at = &mut next[slot(rid)];
            members[*at] = (rid, ident);
            places[*at] = place;
            *at += 1;
        }
        ByRecord { members, places }
    }

    pub(super) fn len(&self) -> usize {
        self.members.len()
    }

    /// The normalized hash of the members, given each member's content hash
    /// in record id order (`hash_of(k)` for `members[k]`; `None` if unknown).
    pub(super) fn hash(
        &self,
        mut hash_of: impl FnMut(usize) -> Option<RecordHash>,
    ) -> Option<HashAcc> {
        let mut hashed: Vec<RecordHash> = vec![[0; 32]; self.len()];
        for (k, &place) in self.places.iter().enumerate() {
            hashed[place] = hash_of(k)?;
        }
        let mut acc = HashAcc::new();
        acc.h.update(hashed.as_flattened());
        acc.count = hashed.len() as u64;
        Some(acc)
    }
}

/// [`super::reads::RecordReads::hash_with`]. Members that are exactly the
/// ones `known` was read from (the rollback's restored data, as it should
/// be) hash to what their verification worked out. Others are matched with
/// `known` (sorted by record id) in one merge, in record id order, instead
/// of a binary search a member (a cache miss at nearly every step: over a
/// second for a million).
pub(super) fn hash_with(
    db: Db<'_>,
    side: DiffSide,
    known: &ContentHashes,
) -> Result<Option<(String, u64)>> {
    let pairs = members_in_order(db, side)?;
    if pairs == known.members {
        // The same identities filed under the same records: their content
        // hashes, in the same order, are the ones already hashed.
        return Ok(Some((known.normalized_hash.clone(), pairs.len() as u64)));
    }
    let by = ByRecord::of(&pairs);
    let known = &known.by_record;
    let mut k = 0;
    let acc = by.hash(|m| {
        let rid = by.members[m].0;
        while k < known.len() && known[k].0 < rid {
            k += 1;
        }
        known.get(k).filter(|(id, _)| *id == rid).map(|(_, h)| *h)
    });
    Ok(acc.map(|acc| {
        let count = acc.count;
        (acc.finish().normalized_hash, count)
    }))
}

/// The error when a re-hash saw fewer records than `side` has members.
pub(super) fn missing(side: DiffSide, members: usize, seen: usize) -> StoreError {
    let whose = match side {
        DiffSide::Snapshot(_) => "the snapshot's",
        DiffSide::Active(_) => "the active data's",
    };
    StoreError::Corrupt(format!(
        "{} of {members} of {whose} records are missing from the record table",
        members - seen,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Placed by counting (dense ids) or by sorting (sparse ones), the
    /// members come out in record id order, a record filed under several
    /// identities (a tampered store) keeping each, and each hash lands at
    /// its identity's place.
    #[test]
    fn members_come_in_record_order_and_their_hashes_in_identity_order() {
        for ids in [
            vec![7, 3, 5, 4, 6, 3],
            vec![1_000_000, 2, 40, 2, 9],
            vec![i64::MAX, 1, i64::MAX - 1],
            vec![],
        ] {
            let pairs: Vec<(IdentKey, i64)> = ids
                .iter()
                .enumerate()
                .map(|(i, &rid)| ([i as u8; 16], rid))
                .collect();
            let by = ByRecord::of(&pairs);
            let mut want: Vec<(i64, IdentKey)> = pairs.iter().map(|p| (p.1, p.0)).collect();
            want.sort();
            assert_eq!(by.members, want, "{ids:?}");
            // A member's hash is its identity's first byte, repeated.
            let acc = by.hash(|k| Some([by.members[k].1[0]; 32])).unwrap();
            let mut one_by_one = HashAcc::new();
            for p in &pairs {
                one_by_one.h.update(&[p.0[0]; 32]);
            }
            assert_eq!(acc.h.finalize(), one_by_one.h.finalize(), "{ids:?}");
            assert_eq!(acc.count, ids.len() as u64);
        }
    }
}
