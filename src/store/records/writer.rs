//! Writing records: a snapshot's members (merging duplicate identities),
//! its summary, a tool's active data, and garbage collection.

use super::bulk::PgBulk;
use super::chain;
use super::hash::{class_columns, class_of, HashAcc};
use super::lite::LiteSink;
use super::members::changes_within_cap;
use super::reads::{stream_members, ContentHashes, DiffSide, RecordReads};
use super::sorter::{SumEntry, SummarySorter};
use crate::domain::record::{record_hash, IdentKey, NormalizedRecord, MAX_SET_ITEMS};
use crate::store::db::p;
use crate::store::{Result, StoreError, WriteTx};

/// Writes one snapshot's records, merging records with the same identity.
///
/// On SQLite, per record it costs one lookup-or-insert in `records`, and
/// the members are written at the end in identity order ([`super::lite`]);
/// on PostgreSQL, records go through `COPY` and are merged into the tables
/// set-wise at the end ([`super::bulk`]). Either writes the members as a
/// delta from the tool's active snapshot where it can ([`chain`]).
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
    Pg(Box<PgBulk<'a>>),
}

/// What finishing a writer reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Records merged into an earlier one with the same identity.
    pub merged: u64,
    /// Set items the per-record cap dropped.
    pub capped: u64,
}

/// A record made ready for the writer: its sets capped, its canonical body,
/// content hash and identity. This is the writer's share of the work that
/// needs no store, so an import does it on the thread that parses (issue 14).
pub struct ReadyRecord {
    rec: NormalizedRecord,
    body: Vec<u8>,
    entry: SumEntry,
    capped: u64,
}

impl ReadyRecord {
    pub fn new(mut rec: NormalizedRecord) -> ReadyRecord {
        let over = rec.locations.len().max(rec.licenses.len()) > MAX_SET_ITEMS
            || rec
                .vulnerability
                .as_ref()
                .is_some_and(|f| f.aliases.len() > MAX_SET_ITEMS);
        let capped = if over { rec.cap_sets() } else { 0 };
        let body = rec.canonical_json();
        let entry = SumEntry {
            ident: rec.ident_key(),
            hash: record_hash(&body),
            class: class_of(&rec),
            rid: 0,
        };
        ReadyRecord {
            rec,
            body,
            entry,
            capped,
        }
    }
}

impl RecordWriter<'_> {
    /// Whether an import should parse on a second thread beside this
    /// writer. On SQLite the writer is the import's one busy thread, and
    /// parsing beside it took a third off a 1M import. On PostgreSQL the
    /// server already works on the other core, and a parsing thread made
    /// the import 6 % slower (1M, 2 cores, alternating runs).
    pub fn parse_beside(&self) -> bool {
        matches!(self.sink, Sink::Lite(_))
            && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    }

    /// Adds one record, made ready by [`ReadyRecord::new`], to the snapshot.
    /// It is taken by reference so that it is freed where it was made.
    pub fn add(&mut self, r: &mut ReadyRecord) -> Result<()> {
        self.received += 1;
        self.capped_items += r.capped;
        let mut entry = r.entry;
        match &mut self.sink {
            Sink::Lite(l) => entry.rid = l.record_id(&entry.hash, &r.rec, &r.body)?,
            Sink::Pg(b) => {
                let body = std::mem::take(&mut r.body);
                b.push(self.received as i64, &r.rec, entry, body)?
            }
        }
        self.summary.push(entry)
    }
}

impl<'a> WriteTx<'a> {
    /// Starts writing records into snapshot `snapshot_pk`.
    pub fn record_writer(&self, snapshot_pk: i64) -> Result<RecordWriter<'a>> {
        let sink = match self.db.lite() {
            Some(tx) => Sink::Lite(Box::new(LiteSink::new(tx)?)),
            None => Sink::Pg(Box::new(PgBulk::new(
                self.db.pg().expect("one of two engines"),
            )?)),
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
            received,
        } = w;
        let mut written = Written {
            merged: 0,
            capped: capped_items,
        };
        let done = match sink {
            Sink::Lite(l) => {
                let (done, merged, dropped) = l.finish(self.db, snapshot, summary, received)?;
                written.merged = merged;
                written.capped += dropped;
                done
            }
            Sink::Pg(b) => {
                let (merged, dropped) = b.finish(snapshot, &mut summary, self.db)?;
                written.merged = merged;
                written.capped += dropped;
                let mut acc = HashAcc::new();
                summary.finish_last(|e| {
                    let (kind, severity) = class_columns(e.class);
                    acc.add(&e.hash, kind, severity);
                })?;
                acc.finish()
            }
        };
        *self.db.pending.borrow_mut() = Some((snapshot, done));
        Ok(written)
    }

    /// Makes the tool's active data equal to the snapshot's records, writing
    /// only what differs. Returns how many records were added, removed or
    /// replaced.
    pub fn restore_active(&mut self, tool_key: i64, snapshot_pk: i64) -> Result<u64> {
        self.restore_with(tool_key, snapshot_pk, None)
    }

    /// [`restore_active`](Self::restore_active) to the side a verification
    /// read in this transaction (`to`), its members not read again.
    pub fn restore_active_verified(&mut self, tool_key: i64, to: &ContentHashes) -> Result<u64> {
        let DiffSide::Snapshot(pk) = to.side else {
            return Err(StoreError::Corrupt(
                "a restore's source must be a snapshot".into(),
            ));
        };
        self.restore_with(tool_key, pk, Some(&to.members))
    }

    /// The restore, the target's members read here unless `known`.
    fn restore_with(
        &mut self,
        tool_key: i64,
        snapshot_pk: i64,
        known: Option<&[(IdentKey, i64)]>,
    ) -> Result<u64> {
        if self.db.is_pg() {
            return super::bulk::restore_active(self.db, tool_key, snapshot_pk, known);
        }
        // Small differences (the daily import, a rollback) are found by the
        // merge-join and written one by one; larger ones by set-based SQL.
        let (active, target) = (DiffSide::Active(tool_key), DiffSide::Snapshot(snapshot_pk));
        let changes = changes_within_cap(|keep| match known {
            Some(members) => super::members::diff_to_read(self.db, active, members, keep),
            None => self.diff(active, target, keep),
        })?;
        let Some(changes) = changes else {
            let table = self.members_table(snapshot_pk)?;
            let removed = self.db.exec(
                &format!("DELETE FROM active_records WHERE tool = ?1 AND NOT EXISTS (SELECT 1 FROM {table} s WHERE s.snapshot = ?2 AND s.ident = active_records.ident)"),
                p![tool_key, snapshot_pk],
            )?;
            let written = self.db.exec(
                &format!("INSERT INTO active_records (tool, ident, record) SELECT ?1, ident, record FROM {table} WHERE snapshot = ?2 AND true ON CONFLICT (tool, ident) DO UPDATE SET record = excluded.record WHERE active_records.record <> excluded.record"),
                p![tool_key, snapshot_pk],
            )?;
            self.db.batch("DROP TABLE IF EXISTS temp.snapgov_restore")?;
            return Ok(removed + written);
        };
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

    /// SQLite: a table whose rows `WHERE snapshot = pk` are the snapshot's
    /// members, for set-based SQL: `snapshot_records` for a checkpoint, or
    /// else a temporary table the delta chain is read into.
    fn members_table(&self, snapshot_pk: i64) -> Result<&'static str> {
        if chain::layers(self.db, snapshot_pk)?.deltas.is_empty() {
            return Ok("snapshot_records");
        }
        self.db.batch(
            "DROP TABLE IF EXISTS temp.snapgov_restore; CREATE TEMP TABLE snapgov_restore (snapshot INTEGER NOT NULL, ident BLOB NOT NULL, record INTEGER NOT NULL, PRIMARY KEY (snapshot, ident)) WITHOUT ROWID;",
        )?;
        let db = self.db;
        stream_members(db, DiffSide::Snapshot(snapshot_pk), |ident, rid| {
            db.exec(
                "INSERT INTO snapgov_restore (snapshot, ident, record) VALUES (?1, ?2, ?3)",
                p![snapshot_pk, &ident[..], rid],
            )?;
            Ok(())
        })?;
        Ok("snapgov_restore")
    }

    /// Empties the tool's active data (its snapshot expired).
    pub fn clear_active(&mut self, tool_key: i64) -> Result<u64> {
        self.db
            .exec("DELETE FROM active_records WHERE tool = ?1", p![tool_key])
    }

    /// Removes a snapshot's record list, and the records no other snapshot uses.
    /// Snapshots stored as deltas on this one keep their members: its
    /// delta is folded into theirs first.
    pub fn delete_snapshot_records(&mut self, snapshot_pk: i64) -> Result<u64> {
        chain::detach(self.db, snapshot_pk)?;
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
