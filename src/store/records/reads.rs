//! Reading records: a snapshot's summary, verification against the stored
//! hashes, the diff between two sides, and the filtered active data.

use super::chain;
use super::hash::{HashAcc, RecordsSummary};
use super::members::diff_sides;
pub(super) use super::members::stream_members;
use super::rehash::{self, Feed, Stored};
use super::unordered::{members_in_order, ByRecord};
use crate::domain::record::{IdentKey, RecordHash, RecordKind};
use crate::store::db::{p, Db, Owned, V};
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

/// What a verification of one side read: each record's content hash
/// (recomputed from its body), and the side's members, so later steps of
/// the same transaction (the dry run's diff, the rollback's restore and its
/// check) need not read them again.
#[derive(Clone, Debug)]
pub struct ContentHashes {
    /// (record id, content hash), sorted by record id.
    pub(super) by_record: Vec<(i64, RecordHash)>,
    /// The side these are the records of.
    pub(super) side: DiffSide,
    /// Its (identity key, record id) pairs, in identity order.
    pub(super) members: Vec<(IdentKey, i64)>,
    /// The normalized hash those members' recomputed hashes give.
    pub(super) normalized_hash: String,
}

impl ContentHashes {
    pub fn get(&self, record_id: i64) -> Option<&RecordHash> {
        self.by_record
            .binary_search_by_key(&record_id, |e| e.0)
            .ok()
            .map(|i| &self.by_record[i].1)
    }
    pub fn len(&self) -> usize {
        self.by_record.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_record.is_empty()
    }
    /// The side verified.
    pub fn side(&self) -> DiffSide {
        self.side
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
/// transaction, removed as it is read; `None` if there is none.
fn take_pending_summary(db: Db<'_>, snapshot_pk: i64) -> Option<RecordsSummary> {
    let taken = db.pending.borrow_mut().take();
    taken.filter(|(pk, _)| *pk == snapshot_pk).map(|(_, s)| s)
}

/// Dense members: one sequential scan over the record id range `lo..=hi`.
/// `members` is sorted by record id.
fn scan_dense(
    db: Db<'_>,
    members: &[(i64, IdentKey)],
    (lo, hi): (i64, i64),
    re: &mut Feed,
) -> Result<()> {
    if let Some(pg) = db.pg() {
        return pg_scan(pg, super::pg_reads::Ids::Range(lo, hi), members, re);
    }
    let mut j = 0;
    db.each(
        "SELECT id, hash, kind, severity, body, subject FROM records WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
        p![lo, hi],
        |r| {
            let rid = r.i64(0)?;
            let under = filed_under(members, &mut j, rid);
            if under.is_empty() {
                return Ok::<_, StoreError>(());
            }
            // Borrowed, not copied: this runs once a record.
            let stored = Stored {
                id: rid,
                hash: r.blob(1)?,
                kind: r.str(2)?,
                severity: r.opt_str(3)?,
                subject: r.str(5)?,
                body: r.bytes(4)?,
            };
            for m in under {
                re.push(&stored, m.1);
            }
            Ok(())
        },
    )
}

/// PostgreSQL: the records `ids` names, in one `COPY`, each given to the
/// members (sorted by record id) filed under it.
fn pg_scan(
    pg: &crate::store::pg::PgConn,
    ids: super::pg_reads::Ids<'_>,
    members: &[(i64, IdentKey)],
    re: &mut Feed,
) -> Result<()> {
    let mut j = 0;
    super::pg_reads::records(pg, ids, |r| {
        let stored = Stored {
            id: r.id,
            hash: r.hash,
            kind: r.kind,
            severity: r.severity,
            subject: r.subject,
            body: r.body.as_bytes(),
        };
        for m in filed_under(members, &mut j, r.id) {
            re.push(&stored, m.1);
        }
        Ok(())
    })
}

/// The members (sorted by record id) filed under record `rid`, with `j`
/// moved past them. Legitimately one identity a record; a tampered store
/// may file one record under several, and each is checked.
fn filed_under<'m>(
    members: &'m [(i64, IdentKey)],
    j: &mut usize,
    rid: i64,
) -> &'m [(i64, IdentKey)] {
    while *j < members.len() && members[*j].0 < rid {
        *j += 1;
    }
    let start = *j;
    while *j < members.len() && members[*j].0 == rid {
        *j += 1;
    }
    &members[start..*j]
}

/// Record ids a PostgreSQL read of sparse members names in one statement.
const SPARSE_CHUNK: usize = 4096;

/// Sparse members: each record looked up, in record id order (on
/// PostgreSQL, a few thousand in each request rather than a round trip
/// each).
fn scan_sparse(db: Db<'_>, members: &[(i64, IdentKey)], re: &mut Feed) -> Result<()> {
    if let Some(pg) = db.pg() {
        let mut ids = Vec::with_capacity(SPARSE_CHUNK);
        for chunk in members.chunks(SPARSE_CHUNK) {
            ids.clear();
            ids.extend(chunk.iter().map(|m| m.0));
            pg_scan(pg, super::pg_reads::Ids::Listed(&ids), chunk, re)?;
        }
        return Ok(());
    }
    for (rid, ident) in members {
        db.opt(
            "SELECT hash, kind, severity, body, subject FROM records WHERE id = ?1",
            p![*rid],
            |r| {
                let stored = Stored {
                    id: *rid,
                    hash: r.blob(0)?,
                    kind: r.str(1)?,
                    severity: r.opt_str(2)?,
                    subject: r.str(4)?,
                    body: r.bytes(3)?,
                };
                re.push(&stored, *ident);
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// Record reads.
pub trait RecordReads: Queries {
    /// Hash and counts from the stored record hashes (fast; used on import).
    ///
    /// In the transaction that wrote the snapshot, right after
    /// [`WriteTx::finish_records`](crate::store::WriteTx::finish_records), this returns (once) the summary the
    /// writer computed, provided the snapshot still has as many members.
    fn snapshot_summary(&self, snapshot_pk: i64) -> Result<RecordsSummary> {
        if let Some(s) = take_pending_summary(self.db(), snapshot_pk) {
            return Ok(s);
        }
        let mut acc = HashAcc::new();
        if !chain::layers(self.db(), snapshot_pk)?.deltas.is_empty() {
            let mut members = Vec::new();
            self.members(DiffSide::Snapshot(snapshot_pk), |_, rid| {
                members.push(rid);
                Ok(())
            })?;
            for rid in members {
                self.db().one(
                    "SELECT hash, kind, severity FROM records WHERE id = ?1",
                    p![rid],
                    |r| {
                        acc.add(r.blob(0)?, r.str(1)?, r.opt_str(2)?);
                        Ok(())
                    },
                )?;
            }
            return Ok(acc.finish());
        }
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
    /// order: random lookups cost several times a sequential scan. Each
    /// hash then goes to its member's place in identity order
    /// ([`ByRecord`]).
    ///
    /// With `deep`, each body is also parsed and its identity checked
    /// against the key it is filed under (slower: a JSON parse a record).
    fn rehash_with_hashes(
        &self,
        side: DiffSide,
        deep: bool,
    ) -> Result<(RecordsSummary, Option<BadRecord>, ContentHashes)> {
        let in_order = members_in_order(self.db(), side)?;
        let by = ByRecord::of(&in_order);
        let members = &by.members;
        let re = rehash::run(members.len(), deep, |feed| {
            let (Some(lo), Some(hi)) = (members.first(), members.last()) else {
                return Ok(());
            };
            if members.len() * 4 >= (hi.0 - lo.0 + 1) as usize {
                scan_dense(self.db(), members, (lo.0, hi.0), feed)
            } else {
                scan_sparse(self.db(), members, feed)
            }
        })?;
        re.finish(side, &by, in_order)
    }

    /// The normalized hash of a side, using content hashes computed earlier
    /// (see [`rehash_with_hashes`](Self::rehash_with_hashes)) instead of
    /// re-reading bodies. `None` if a member is not among `known`.
    fn hash_with(&self, side: DiffSide, known: &ContentHashes) -> Result<Option<(String, u64)>> {
        super::unordered::hash_with(self.db(), side, known)
    }

    /// Streams a side's (identity key, record id) pairs in identity order.
    /// On PostgreSQL `f` must not query (the pairs come through `COPY`).
    fn members(&self, side: DiffSide, f: impl FnMut(IdentKey, i64) -> Result<()>) -> Result<()> {
        stream_members(self.db(), side, f)
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
        diff_sides(self.db(), from, to, f)
    }

    /// [`RecordReads::diff`], each entry with the kind and severity of its
    /// record (the new one, or the removed one). On PostgreSQL the diff
    /// and the lookups are one statement: a lookup a differing record was a
    /// round trip each (22,680 of them, 3 s, in a 1M dry run).
    fn diff_meta(
        &self,
        from: DiffSide,
        to: DiffSide,
        f: impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()>,
    ) -> Result<()> {
        super::members::diff_sides_meta(self.db(), from, to, f)
    }

    /// [`RecordReads::diff_meta`] to a side a verification read in this
    /// transaction: only the "from" side is read, and merged with the
    /// members `to` holds.
    fn diff_meta_verified(
        &self,
        from: DiffSide,
        to: &ContentHashes,
        f: impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()>,
    ) -> Result<()> {
        let db = self.db();
        match db.pg() {
            None => super::members::diff_to_read_meta(db, from, &to.members, f),
            Some(pg) => {
                let from = members_in_order(db, from)?;
                super::pg_reads::diff_meta_read(pg, &from, &to.members, f)
            }
        }
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
