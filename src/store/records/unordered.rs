//! Reads of a side's members for readers that hold them all in memory
//! anyway and sort them their own way. On PostgreSQL the members then come
//! in storage order: the server's identity-ordered read is an index scan
//! that visits the table at random, several times slower than reading it
//! through, and sorting a million members here takes a tenth of a second.

use super::hash::HashAcc;
use super::reads::{ContentHashes, DiffSide};
use crate::domain::record::{IdentKey, RecordHash};
use crate::store::db::Db;
use crate::store::Result;

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

/// [`super::reads::RecordReads::hash_with`]. The members are matched with
/// `known` (sorted by record id) in one merge, in record id order, instead
/// of a binary search a member (a cache miss at nearly every step: over a
/// second for a million); each hash goes to its member's place in identity
/// order, so nothing is sorted after the merge.
pub(super) fn hash_with(
    db: Db<'_>,
    side: DiffSide,
    known: &ContentHashes,
) -> Result<Option<(String, u64)>> {
    // (identity key, record id), in identity order (already so on SQLite).
    let mut pairs: Vec<(IdentKey, i64)> = Vec::new();
    members_any_order(db, side, |ident, rid| {
        pairs.push((ident, rid));
        Ok(())
    })?;
    if !pairs.is_sorted_by_key(|p| p.0) {
        pairs.sort_unstable_by_key(|p| p.0);
    }
    // (record id, place in identity order), in record id order. (Re-hashing
    // bodies keeps its sort after: there the hashing thread writing each
    // hash to a random place was slower, 0.07–0.25 s at 1M.)
    let mut by_record: Vec<(i64, usize)> =
        pairs.iter().enumerate().map(|(i, p)| (p.1, i)).collect();
    by_record.sort_unstable();
    let known = &known.0;
    let mut hashed: Vec<RecordHash> = vec![[0; 32]; pairs.len()];
    let mut k = 0;
    for &(rid, place) in &by_record {
        while k < known.len() && known[k].0 < rid {
            k += 1;
        }
        match known.get(k) {
            Some((id, h)) if *id == rid => hashed[place] = *h,
            _ => return Ok(None),
        }
    }
    let mut acc = HashAcc::new();
    for h in &hashed {
        acc.h.update(h);
    }
    let count = hashed.len() as u64;
    Ok(Some((acc.finish().normalized_hash, count)))
}
