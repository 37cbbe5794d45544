//! Writing records: a snapshot's members (merging duplicate identities),
//! its summary, a tool's active data, and garbage collection.

use super::bulk::PgBulk;
use super::hash::{class_columns, class_of, HashAcc};
use super::reads::{DiffEntry, DiffSide, RecordReads};
use super::sorter::{SumEntry, SummarySorter};
use crate::domain::record::{
    record_hash, IdentKey, MergedRecord, NormalizedRecord, RecordHash, MAX_SET_ITEMS,
};
use crate::store::db::p;
use crate::store::{Result, StoreError, WriteTx};
use rusqlite::{params, OptionalExtension, Statement};

/// Writes one snapshot's records, merging records with the same identity.
///
/// On SQLite, per record it costs one lookup-or-insert in `records` and one
/// insert in `snapshot_records`; on PostgreSQL, records go through `COPY`
/// in batches and are merged into the tables set-wise at the end ([`bulk`]).
/// It also keeps each identity's (content hash, kind, severity) in a
/// [`SummarySorter`], so that [`WriteTx::finish_records`] can compute the
/// snapshot's normalized hash without joining every member back to
/// `records` (a random lookup per record, a quarter of an import's time).
pub struct RecordWriter<'a> {
    snapshot: i64,
    sink: Sink<'a>,
    summary: SummarySorter,
    /// Records received (before merging).
    pub received: u64,
    /// Set items (locations, licenses, aliases) dropped by the per-record
    /// cap; the import reports them as a snapshot warning.
    capped_items: u64,
}

enum Sink<'a> {
    Lite(Box<LiteSink<'a>>),
    Pg(PgBulk<'a>),
}

/// What finishing a writer reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Records merged into an earlier one with the same identity.
    pub merged: u64,
    /// Set items the per-record cap dropped.
    pub capped: u64,
}

/// SQLite's writer: statements prepared once, a row at a time.
struct LiteSink<'a> {
    find: Statement<'a>,
    insert: Statement<'a>,
    link: Statement<'a>,
    existing: Statement<'a>,
    relink: Statement<'a>,
    merged_away: Vec<i64>,
    /// Whether the last record looked up was new. New records come in runs
    /// (a first import: all of them), and so do known ones (a daily import:
    /// nearly all), so the next lookup starts with the likelier statement.
    last_new: bool,
    merged: u64,
    /// Identities seen more than once, merged in memory until the end.
    /// Memory is bounded by the duplicates in the feed, each capped at
    /// [`MAX_SET_ITEMS`] per set field.
    pending: std::collections::BTreeMap<IdentKey, MergedRecord>,
}

impl LiteSink<'_> {
    fn record_id(&mut self, hash: &RecordHash, rec: &NormalizedRecord, body: &[u8]) -> Result<i64> {
        let body = std::str::from_utf8(body).expect("serde_json writes UTF-8");
        let row = params![
            &hash[..],
            rec.kind.as_str(),
            rec.severity().map(|s| s.as_str()),
            rec.subject,
            body
        ];
        if self.last_new {
            // Insert first; `ON CONFLICT DO NOTHING` returns no row when the
            // record exists.
            if let Some(id) = self.insert.query_row(row, |r| r.get(0)).optional()? {
                return Ok(id);
            }
            self.last_new = false;
            return Ok(self.find.query_row([&hash[..]], |r| r.get(0))?);
        }
        if let Some(id) = self.find.query_row([&hash[..]], |r| r.get(0)).optional()? {
            return Ok(id);
        }
        self.last_new = true;
        self.insert
            .query_row(row, |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::Corrupt("a record vanished while it was written".into()))
    }

    /// Links one record; `Some` with its summary entry unless its identity
    /// was seen before (then it is merged in memory, and written once, in
    /// `flush_merged`: writing it at every duplicate made a feed listing one
    /// package n times cost O(n²) time and store space).
    fn add(
        &mut self,
        snapshot: i64,
        rec: &NormalizedRecord,
        e: SumEntry,
        body: &[u8],
    ) -> Result<Option<SumEntry>> {
        let rid = self.record_id(&e.hash, rec, body)?;
        let linked = self.link.execute(params![snapshot, &e.ident[..], rid])?;
        if linked == 1 {
            return Ok(Some(e));
        }
        self.merged += 1;
        if rid != self.linked_rid(snapshot, &e.ident)? {
            self.merged_away.push(rid);
        }
        let entry = match self.pending.entry(e.ident) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let (old_rid, old_body): (i64, String) = self
                    .existing
                    .query_row(params![snapshot, &e.ident[..]], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?;
                let first: NormalizedRecord = serde_json::from_str(&old_body).map_err(|e| {
                    StoreError::Corrupt(format!("record {old_rid} does not parse: {e}"))
                })?;
                v.insert(MergedRecord::new(first))
            }
        };
        entry.merge(rec);
        Ok(None)
    }

    /// The record linked to `ident` in this snapshot.
    fn linked_rid(&mut self, snapshot: i64, ident: &IdentKey) -> Result<i64> {
        Ok(self
            .existing
            .query_row(params![snapshot, &ident[..]], |r| r.get(0))?)
    }

    /// Writes each merged identity's record once and links it in place of
    /// the first one seen; its summary entry, pushed last, wins. Returns the
    /// set items merging dropped.
    fn flush_merged(&mut self, snapshot: i64, summary: &mut SummarySorter) -> Result<u64> {
        let pending = std::mem::take(&mut self.pending);
        let mut dropped = 0;
        for (ident, m) in pending {
            dropped += m.dropped();
            let merged = m.finish();
            let body = merged.canonical_json();
            let hash = record_hash(&body);
            let old_rid = self.linked_rid(snapshot, &ident)?;
            let new_rid = self.record_id(&hash, &merged, &body)?;
            if new_rid != old_rid {
                self.relink
                    .execute(params![new_rid, snapshot, &ident[..]])?;
                self.merged_away.push(old_rid);
            }
            summary.push(SumEntry {
                ident,
                hash,
                class: class_of(&merged),
            })?;
        }
        Ok(dropped)
    }
}

impl RecordWriter<'_> {
    /// Adds one record (already canonicalized) to the snapshot.
    pub fn add(&mut self, rec: &NormalizedRecord) -> Result<()> {
        self.received += 1;
        let capped;
        let rec = if rec.locations.len().max(rec.licenses.len()) > MAX_SET_ITEMS
            || rec
                .vulnerability
                .as_ref()
                .is_some_and(|f| f.aliases.len() > MAX_SET_ITEMS)
        {
            let mut r = rec.clone();
            self.capped_items += r.cap_sets();
            capped = r;
            &capped
        } else {
            rec
        };
        let body = rec.canonical_json();
        let e = SumEntry {
            ident: rec.ident_key(),
            hash: record_hash(&body),
            class: class_of(rec),
        };
        let kept = match &mut self.sink {
            Sink::Lite(l) => l.add(self.snapshot, rec, e, &body)?,
            Sink::Pg(b) => {
                b.push(self.received as i64, rec, e, body)?;
                Some(e)
            }
        };
        match kept {
            Some(e) => self.summary.push(e),
            None => Ok(()),
        }
    }
}

impl<'a> WriteTx<'a> {
    /// Starts writing records into snapshot `snapshot_pk`.
    pub fn record_writer(&self, snapshot_pk: i64) -> Result<RecordWriter<'a>> {
        let sink = match self.db.lite() {
            Some(tx) => Sink::Lite(Box::new(LiteSink {
                find: tx.prepare("SELECT id FROM records WHERE hash = ?1")?,
                insert: tx.prepare(
                    "INSERT INTO records (hash, kind, severity, subject, body) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (hash) DO NOTHING RETURNING id",
                )?,
                link: tx.prepare(
                    "INSERT INTO snapshot_records (snapshot, ident, record) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?,
                existing: tx.prepare(
                    "SELECT r.id, r.body FROM snapshot_records s JOIN records r ON r.id = s.record WHERE s.snapshot = ?1 AND s.ident = ?2",
                )?,
                relink: tx.prepare(
                    "UPDATE snapshot_records SET record = ?1 WHERE snapshot = ?2 AND ident = ?3",
                )?,
                merged_away: Vec::new(),
                last_new: false,
                merged: 0,
                pending: std::collections::BTreeMap::new(),
            })),
            None => Sink::Pg(PgBulk::new(self.db.pg().expect("one of two engines"))?),
        };
        Ok(RecordWriter {
            snapshot: snapshot_pk,
            sink,
            summary: SummarySorter::default(),
            received: 0,
            capped_items: 0,
        })
    }

    /// Ends a writer: drops records that merging left unreferenced, and
    /// computes the snapshot's summary from what the writer kept, for
    /// [`RecordReads::snapshot_summary`] to return in this transaction
    /// without reading every member back.
    pub fn finish_records(&mut self, w: RecordWriter<'_>) -> Result<Written> {
        let RecordWriter {
            snapshot,
            sink,
            mut summary,
            capped_items,
            ..
        } = w;
        let mut written = Written {
            merged: 0,
            capped: capped_items,
        };
        match sink {
            Sink::Lite(mut l) => {
                written.capped += l.flush_merged(snapshot, &mut summary)?;
                written.merged = l.merged;
                for id in std::mem::take(&mut l.merged_away) {
                    self.db.exec(
                        "DELETE FROM records WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM snapshot_records WHERE record = ?1)",
                        p![id],
                    )?;
                }
            }
            Sink::Pg(b) => {
                let (merged, dropped) = b.finish(snapshot, &mut summary)?;
                written.merged = merged;
                written.capped += dropped;
            }
        }
        let mut acc = HashAcc::new();
        summary.finish(|e| {
            let (kind, severity) = class_columns(e.class);
            acc.add(&e.hash, kind, severity);
        })?;
        *self.db.pending.borrow_mut() = Some((snapshot, acc.finish()));
        Ok(written)
    }

    /// Makes the tool's active data equal to the snapshot's records, writing
    /// only what differs. Returns how many records were added, removed or
    /// replaced.
    pub fn restore_active(&mut self, tool_key: i64, snapshot_pk: i64) -> Result<u64> {
        if let Some(pg) = self.db.pg() {
            return super::bulk::restore_active(pg, tool_key, snapshot_pk);
        }
        // Small differences (the daily import, a rollback) are found by the
        // merge-join and written one by one. Past this many, memory would
        // grow with the feed, so the work is left to set-based SQL instead.
        const CAP: usize = 250_000;
        let mut changes: Vec<DiffEntry> = Vec::new();
        let mut over = false;
        let r = self.diff(
            DiffSide::Active(tool_key),
            DiffSide::Snapshot(snapshot_pk),
            |e| {
                if changes.len() >= CAP {
                    over = true;
                    return Err(StoreError::Limit("diff over the in-memory cap".into()));
                }
                changes.push(e);
                Ok(())
            },
        );
        if over {
            drop(changes);
            let removed = self.db.exec(
                "DELETE FROM active_records WHERE tool = ?1 AND NOT EXISTS (SELECT 1 FROM snapshot_records s WHERE s.snapshot = ?2 AND s.ident = active_records.ident)",
                p![tool_key, snapshot_pk],
            )?;
            let written = self.db.exec(
                "INSERT INTO active_records (tool, ident, record) SELECT ?1, ident, record FROM snapshot_records WHERE snapshot = ?2 AND true ON CONFLICT (tool, ident) DO UPDATE SET record = excluded.record WHERE active_records.record <> excluded.record",
                p![tool_key, snapshot_pk],
            )?;
            return Ok(removed + written);
        }
        r?;
        for c in &changes {
            match c.new {
                Some(rid) => self.db.exec(
                    "INSERT INTO active_records (tool, ident, record) VALUES (?1, ?2, ?3) ON CONFLICT (tool, ident) DO UPDATE SET record = excluded.record",
                    p![tool_key, &c.ident[..], rid],
                )?,
                None => self.db.exec(
                    "DELETE FROM active_records WHERE tool = ?1 AND ident = ?2",
                    p![tool_key, &c.ident[..]],
                )?,
            };
        }
        Ok(changes.len() as u64)
    }

    /// Empties the tool's active data (its snapshot expired).
    pub fn clear_active(&mut self, tool_key: i64) -> Result<u64> {
        self.db
            .exec("DELETE FROM active_records WHERE tool = ?1", p![tool_key])
    }

    /// Removes a snapshot's record list, and the records no other snapshot uses.
    pub fn delete_snapshot_records(&mut self, snapshot_pk: i64) -> Result<u64> {
        // SQLite's INTEGER PRIMARY KEY is the row id itself.
        self.db.batch(if self.db.is_pg() {
            "CREATE TEMP TABLE IF NOT EXISTS gc_records (id BIGINT PRIMARY KEY); DELETE FROM gc_records;"
        } else {
            "CREATE TEMP TABLE IF NOT EXISTS gc_records (id INTEGER PRIMARY KEY); DELETE FROM gc_records;"
        })?;
        self.db.exec(
            "INSERT INTO gc_records SELECT record FROM snapshot_records WHERE snapshot = ?1 ON CONFLICT DO NOTHING",
            p![snapshot_pk],
        )?;
        self.db.exec(
            "DELETE FROM snapshot_records WHERE snapshot = ?1",
            p![snapshot_pk],
        )?;
        // Set-based: one pass over each table rather than a probe of the
        // (unindexed by record) active data for every candidate.
        self.db.batch(
            "DELETE FROM gc_records WHERE EXISTS (SELECT 1 FROM snapshot_records WHERE record = gc_records.id);
             DELETE FROM gc_records WHERE id IN (SELECT record FROM active_records);",
        )?;
        let n = self.db.exec(
            "DELETE FROM records WHERE id IN (SELECT id FROM gc_records)",
            p![],
        )?;
        self.db.batch("DELETE FROM gc_records;")?;
        Ok(n)
    }
}
