//! Reading records: a snapshot's summary, verification against the stored
//! hashes, the diff between two sides, and the filtered active data.

use super::hash::{HashAcc, RecordsSummary};
use super::rehash::{scan_dense, scan_sparse, Rehash};
use crate::domain::record::{IdentKey, RecordHash, RecordKind};
use crate::store::db::{p, Db, Owned, R, V};
use crate::store::{Queries, Result, StoreError};

/// Which set of records one side of a diff is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiffSide {
    /// A snapshot's records (by internal key).
    Snapshot(i64),
    /// A tool's active data (by internal tool key).
    Active(i64),
}

/// One identity whose record differs between two sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffEntry {
    pub ident: IdentKey,
    /// Record id on the "from" side (`None`: added).
    pub old: Option<i64>,
    /// Record id on the "to" side (`None`: removed).
    pub new: Option<i64>,
}

/// Content hashes of records by id, sorted by id.
#[derive(Clone, Debug, Default)]
pub struct ContentHashes(Vec<(i64, RecordHash)>);

impl ContentHashes {
    /// From (record id, hash) pairs already in record id order.
    pub(super) fn from_sorted(v: Vec<(i64, RecordHash)>) -> Self {
        ContentHashes(v)
    }
    pub fn get(&self, record_id: i64) -> Option<&RecordHash> {
        self.0
            .binary_search_by_key(&record_id, |e| e.0)
            .ok()
            .map(|i| &self.0[i].1)
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Filters for reading active records.
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    pub subject: Option<String>,
    pub kind: Option<RecordKind>,
    /// Any of these severities (findings only).
    pub severities: Vec<String>,
}

/// Where verification found a stored record that no longer matches its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRecord {
    pub record_id: i64,
    pub identity: String,
}

/// The summary [`WriteTx::finish_records`](crate::store::WriteTx::finish_records) left for `snapshot_pk` in this
/// transaction, removed as it is read; `None` if there is none, or if the
/// snapshot's member count no longer matches it.
fn take_pending_summary(db: Db<'_>, snapshot_pk: i64) -> Result<Option<RecordsSummary>> {
    let taken = db.pending.borrow_mut().take();
    let Some((pk, summary)) = taken else {
        return Ok(None);
    };
    if pk != snapshot_pk {
        return Ok(None);
    }
    let members = db.one(
        "SELECT count(*) FROM snapshot_records WHERE snapshot = ?1",
        p![snapshot_pk],
        |r| r.i64(0),
    )?;
    Ok((members as u64 == summary.count).then_some(summary))
}

/// The query of a side's (identity key, record id) pairs in identity order.
fn members_query(side: DiffSide) -> (&'static str, i64) {
    match side {
        DiffSide::Snapshot(pk) => (
            "SELECT ident, record FROM snapshot_records WHERE snapshot = ?1 ORDER BY ident",
            pk,
        ),
        DiffSide::Active(t) => (
            "SELECT ident, record FROM active_records WHERE tool = ?1 ORDER BY ident",
            t,
        ),
    }
}

/// The same, a page at a time: the pairs after `after`, at most `limit`.
fn members_page_query(side: DiffSide) -> (&'static str, &'static str, i64) {
    match side {
        DiffSide::Snapshot(pk) => (
            "SELECT ident, record FROM snapshot_records WHERE snapshot = ?1 ORDER BY ident LIMIT ?2",
            "SELECT ident, record FROM snapshot_records WHERE snapshot = ?1 AND ident > ?3 ORDER BY ident LIMIT ?2",
            pk,
        ),
        DiffSide::Active(t) => (
            "SELECT ident, record FROM active_records WHERE tool = ?1 ORDER BY ident LIMIT ?2",
            "SELECT ident, record FROM active_records WHERE tool = ?1 AND ident > ?3 ORDER BY ident LIMIT ?2",
            t,
        ),
    }
}

fn member(r: &R<'_>) -> Result<(IdentKey, i64)> {
    let ident: IdentKey = r
        .blob(0)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("an identity key is not 16 bytes".into()))?;
    Ok((ident, r.i64(1)?))
}

/// The next (identity key, record id) pair of a [`members_query`].
fn next_member(rows: &mut rusqlite::Rows<'_>) -> Result<Option<(IdentKey, i64)>> {
    match rows.next()? {
        Some(r) => member(&R::Lite(r)).map(Some),
        None => Ok(None),
    }
}

/// A side's members read a page at a time (PostgreSQL, where one
/// connection streams one result at a time).
struct Pages<'a> {
    db: Db<'a>,
    side: DiffSide,
    page: std::collections::VecDeque<(IdentKey, i64)>,
    last: Option<IdentKey>,
    done: bool,
}

impl<'a> Pages<'a> {
    const SIZE: i64 = 8192;

    fn new(db: Db<'a>, side: DiffSide) -> Self {
        Pages {
            db,
            side,
            page: Default::default(),
            last: None,
            done: false,
        }
    }

    fn next(&mut self) -> Result<Option<(IdentKey, i64)>> {
        if self.page.is_empty() && !self.done {
            let (first, after, key) = members_page_query(self.side);
            let rows = match &self.last {
                None => self.db.all(first, p![key, Self::SIZE], member)?,
                Some(l) => self.db.all(after, p![key, Self::SIZE, &l[..]], member)?,
            };
            self.done = (rows.len() as i64) < Self::SIZE;
            self.last = rows.last().map(|r| r.0);
            self.page.extend(rows);
        }
        Ok(self.page.pop_front())
    }
}

/// Record reads.
pub trait RecordReads: Queries {
    /// Hash and counts from the stored record hashes (fast; used on import).
    ///
    /// In the transaction that wrote the snapshot, right after
    /// [`WriteTx::finish_records`](crate::store::WriteTx::finish_records), this returns (once) the summary the
    /// writer computed, provided the snapshot still has as many members.
    fn snapshot_summary(&self, snapshot_pk: i64) -> Result<RecordsSummary> {
        if let Some(s) = take_pending_summary(self.db(), snapshot_pk)? {
            return Ok(s);
        }
        let mut acc = HashAcc::new();
        self.db().each(
            "SELECT r.hash, r.kind, r.severity FROM snapshot_records s JOIN records r ON r.id = s.record WHERE s.snapshot = ?1 ORDER BY s.ident",
            p![snapshot_pk],
            |r| {
                acc.add(r.blob(0)?, r.str(1)?, r.opt_str(2)?);
                Ok::<_, StoreError>(())
            },
        )?;
        Ok(acc.finish())
    }

    /// Re-hashes every stored record body of a snapshot (or of a tool's
    /// active data) from scratch. Returns the summary and the first record
    /// whose body no longer matches its content address, if any.
    fn rehash(&self, side: DiffSide) -> Result<(RecordsSummary, Option<BadRecord>)> {
        let (summary, bad, _) = self.rehash_with_hashes(side, false)?;
        Ok((summary, bad))
    }

    /// As [`rehash`](Self::rehash), also returning each record's recomputed
    /// content hash, so a later step can check a copy of the same records
    /// without reading their bodies again.
    ///
    /// Bodies are read in storage (record id) order rather than identity
    /// order: random lookups cost several times a sequential scan. The
    /// (identity, hash) pairs are then sorted in memory (48 bytes a record).
    ///
    /// With `deep`, each body is also parsed and its identity checked
    /// against the key it is filed under (slower: a JSON parse a record).
    fn rehash_with_hashes(
        &self,
        side: DiffSide,
        deep: bool,
    ) -> Result<(RecordsSummary, Option<BadRecord>, ContentHashes)> {
        // (record id, identity key) of every member, sorted by record id.
        let mut members: Vec<(i64, IdentKey)> = Vec::new();
        self.members(side, |ident, rid| {
            members.push((rid, ident));
            Ok(())
        })?;
        members.sort_unstable_by_key(|m| m.0);
        let (Some(lo), Some(hi)) = (members.first().map(|m| m.0), members.last().map(|m| m.0))
        else {
            return Ok((HashAcc::new().finish(), None, ContentHashes(Vec::new())));
        };
        let re = Rehash::new(members.len(), deep);
        let range = (hi - lo + 1) as usize;
        let db = self.db();
        let re = if members.len() * 4 >= range {
            re.run(members.len(), |visit| {
                scan_dense(db, &members, (lo, hi), visit)
            })?
        } else {
            re.run(members.len(), |visit| scan_sparse(db, &members, visit))?
        };
        re.finish(side, members.len())
    }

    /// The normalized hash of a side, using content hashes computed earlier
    /// (see [`rehash_with_hashes`](Self::rehash_with_hashes)) instead of
    /// re-reading bodies. `None` if a member is not among `known`.
    fn hash_with(&self, side: DiffSide, known: &ContentHashes) -> Result<Option<(String, u64)>> {
        let mut h = HashAcc::new();
        let mut missing = false;
        self.members(side, |_, rid| {
            match known.get(rid) {
                Some(x) => {
                    h.h.update(x);
                    h.count += 1;
                }
                None => missing = true,
            }
            Ok(())
        })?;
        if missing {
            return Ok(None);
        }
        let count = h.count;
        Ok(Some((h.finish().normalized_hash, count)))
    }

    /// Streams a side's (identity key, record id) pairs in identity order.
    fn members(
        &self,
        side: DiffSide,
        mut f: impl FnMut(IdentKey, i64) -> Result<()>,
    ) -> Result<()> {
        let (sql, key) = members_query(side);
        self.db().each(sql, p![key], |r| {
            let (ident, rid) = member(r)?;
            f(ident, rid)
        })
    }

    /// Streams, in identity order, every identity whose record differs
    /// between two sides. Both sides are read in key order and merged, so
    /// memory does not grow with the snapshots' size.
    fn diff(
        &self,
        from: DiffSide,
        to: DiffSide,
        f: impl FnMut(DiffEntry) -> Result<()>,
    ) -> Result<()> {
        let db = self.db();
        let Some(conn) = db.lite() else {
            let mut a = Pages::new(db, from);
            let mut b = Pages::new(db, to);
            return merge_sides(|| a.next(), || b.next(), f);
        };
        let (qa, ka) = members_query(from);
        let (qb, kb) = members_query(to);
        let mut sa = conn.prepare(qa)?;
        let mut sb = conn.prepare(qb)?;
        let mut ra = sa.query([ka])?;
        let mut rb = sb.query([kb])?;
        merge_sides(|| next_member(&mut ra), || next_member(&mut rb), f)
    }

    /// Kind and severity of a stored record.
    fn record_meta(&self, record_id: i64) -> Result<(String, Option<String>)> {
        self.db().one(
            "SELECT kind, severity FROM records WHERE id = ?1",
            p![record_id],
            |r| Ok((r.string(0)?, r.opt_string(1)?)),
        )
    }

    /// A stored record's canonical JSON.
    fn record_body(&self, record_id: i64) -> Result<String> {
        self.db().one(
            "SELECT body FROM records WHERE id = ?1",
            p![record_id],
            |r| r.string(0),
        )
    }

    /// Streams a tool's active records (canonical JSON) matching `filter`.
    /// `f` may stop the walk with its own error (e.g. the reader went
    /// away), which is handed back as it is.
    fn for_each_active_record<E: From<StoreError>>(
        &self,
        tool_key: i64,
        filter: &RecordFilter,
        mut f: impl FnMut(&str) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let mut sql = String::from(
            "SELECT r.body FROM active_records a JOIN records r ON r.id = a.record WHERE a.tool = ?1",
        );
        let mut args: Vec<Owned> = vec![tool_key.into()];
        if let Some(s) = &filter.subject {
            args.push(s.clone().into());
            sql.push_str(&format!(" AND r.subject = ?{}", args.len()));
        }
        if let Some(k) = filter.kind {
            args.push(k.as_str().to_string().into());
            sql.push_str(&format!(" AND r.kind = ?{}", args.len()));
        }
        if !filter.severities.is_empty() {
            let mut marks = Vec::new();
            for s in &filter.severities {
                args.push(s.clone().into());
                marks.push(format!("?{}", args.len()));
            }
            sql.push_str(&format!(" AND r.severity IN ({})", marks.join(", ")));
        }
        sql.push_str(" ORDER BY a.ident");
        let args: Vec<V<'_>> = args.iter().map(Owned::v).collect();
        let mut n = 0;
        self.db().each(&sql, &args, |r| {
            f(r.str(0).map_err(E::from)?)?;
            n += 1;
            Ok::<_, E>(())
        })?;
        Ok(n)
    }

    /// How many records a tool's active data holds.
    fn active_count(&self, tool_key: i64) -> Result<u64> {
        Ok(self.db().one(
            "SELECT count(*) FROM active_records WHERE tool = ?1",
            p![tool_key],
            |r| r.i64(0),
        )? as u64)
    }

    /// Internal key of a tool, if it is known.
    fn tool_key_of(&self, tool: &str) -> Result<Option<i64>> {
        self.db()
            .opt("SELECT id FROM tools WHERE name = ?1", p![tool], |r| {
                r.i64(0)
            })
    }

    /// Distinct stored records (for storage statistics).
    fn stored_record_count(&self) -> Result<u64> {
        Ok(self
            .db()
            .one("SELECT count(*) FROM records", p![], |r| r.i64(0))? as u64)
    }
}

impl<T: Queries + ?Sized> RecordReads for T {}

/// Merges two sides' (identity, record) streams, both in identity order,
/// handing `f` every identity whose record differs.
fn merge_sides(
    mut next_a: impl FnMut() -> Result<Option<(IdentKey, i64)>>,
    mut next_b: impl FnMut() -> Result<Option<(IdentKey, i64)>>,
    mut f: impl FnMut(DiffEntry) -> Result<()>,
) -> Result<()> {
    let mut a = next_a()?;
    let mut b = next_b()?;
    loop {
        // The smaller identity goes first; on a tie both sides move on.
        let (ident, old, new) = match (a, b) {
            (None, None) => return Ok(()),
            (Some((ia, x)), Some((ib, y))) if ia == ib => (ia, Some(x), Some(y)),
            (Some((ia, x)), Some((ib, _))) if ia < ib => (ia, Some(x), None),
            (Some((ia, x)), None) => (ia, Some(x), None),
            (_, Some((ib, y))) => (ib, None, Some(y)),
        };
        if old.is_some() {
            a = next_a()?;
        }
        if new.is_some() {
            b = next_b()?;
        }
        if old != new {
            f(DiffEntry { ident, old, new })?;
        }
    }
}
