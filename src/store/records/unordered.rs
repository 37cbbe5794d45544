//! Reads of a side's members for readers that hold them all in memory
//! anyway and sort them their own way. On PostgreSQL the members then come
//! in storage order: the server's identity-ordered read is an index scan
//! that visits the table at random, several times slower than reading it
//! through, and sorting a million members here takes a tenth of a second.

use super::hash::HashAcc;
use super::reads::{ContentHashes, DiffSide, RecordReads};
use crate::domain::record::{IdentKey, RecordHash};
use crate::store::db::Db;
use crate::store::Result;

/// A side's (identity key, record id) pairs, in no particular order on
/// PostgreSQL (identity order on SQLite, where that costs nothing more).
pub(super) fn members_any_order<Q: RecordReads + ?Sized>(
    q: &Q,
    side: DiffSide,
    f: impl FnMut(IdentKey, i64) -> Result<()>,
) -> Result<()> {
    match q.db().pg() {
        Some(pg) => {
            let sql = super::members::side_query(q.db(), side)?;
            super::pg_reads::members_any_order(pg, &sql, f)
        }
        None => q.members(side, f),
    }
}

/// [`RecordReads::hash_with`]. The members are matched with
/// `known` (sorted by record id) in one merge after sorting them by record
/// id, instead of a binary search a member (a cache miss at nearly every
/// step: over a second for a million), then sorted by identity for the
/// hash.
pub(super) fn hash_with(
    db: Db<'_>,
    side: DiffSide,
    known: &ContentHashes,
) -> Result<Option<(String, u64)>> {
    let mut members: Vec<(i64, IdentKey)> = Vec::new();
    let push = |ident, rid| {
        members.push((rid, ident));
        Ok(())
    };
    match db.pg() {
        Some(pg) => {
            let sql = super::members::side_query(db, side)?;
            super::pg_reads::members_any_order(pg, &sql, push)?;
        }
        None => super::members::stream_members(db, side, push)?,
    }
    members.sort_unstable_by_key(|m| m.0);
    let known = &known.0;
    let mut hashed: Vec<(IdentKey, RecordHash)> = Vec::with_capacity(members.len());
    let mut k = 0;
    for (rid, ident) in members {
        while k < known.len() && known[k].0 < rid {
            k += 1;
        }
        match known.get(k) {
            Some((id, h)) if *id == rid => hashed.push((ident, *h)),
            _ => return Ok(None),
        }
    }
    hashed.sort_unstable_by_key(|m| m.0);
    let mut acc = HashAcc::new();
    for (_, h) in &hashed {
        acc.h.update(h);
    }
    let count = hashed.len() as u64;
    Ok(Some((acc.finish().normalized_hash, count)))
}
