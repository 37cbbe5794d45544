//! PostgreSQL's record writer: rows stream into a temporary table through
//! binary `COPY` in batches, and reach `records` and `snapshot_records` in
//! two set-based statements at the end, instead of a round trip a record.

use super::fresh::{write_record, Fresh, COPY_RECORDS, RECORD_TYPES};
use super::hash::{class_columns, class_of};
use super::members::side_query;
use super::pg_tune;
use super::reads::{DiffEntry, DiffSide};
use super::sorter::{SumEntry, SummarySorter};
use crate::domain::record::IdentKey;
use crate::domain::record::{record_hash, MergedRecord, NormalizedRecord};
use crate::store::db::{p, Db, V};
use crate::store::pg::Lent;
use crate::store::pg::PgConn;
use crate::store::{Result, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Rows handed to the `COPY` thread at a time.
const BATCH: usize = 1024;
/// Batches in flight between the parser and the `COPY` thread.
const IN_FLIGHT: usize = 8;
/// Bits of the filter that spots identities seen before (8 MB): an
/// identity whose bit is already set may be a duplicate, and only those
/// are checked in the database.
const SEEN_BITS: usize = 1 << 26;

pub(super) struct Row {
    pub(super) ord: i64,
    pub(super) e: SumEntry,
    pub(super) subject: String,
    pub(super) body: Vec<u8>,
}

/// Writes rows through one binary `COPY`, on the thread the client was
/// lent to, until the sender hangs up: into `records` with ids `base + ord`
/// (a first import, see [`super::fresh`]), or else into the staging table.
fn copy_rows(c: &mut postgres::Client, rows: Receiver<Vec<Row>>, base: Option<i64>) -> Result<()> {
    if let Some(base) = base {
        let sink = c.copy_in(COPY_RECORDS)?;
        let mut w = BinaryCopyInWriter::new(sink, &RECORD_TYPES);
        for batch in rows {
            for r in &batch {
                write_record(&mut w, base + r.ord, r)?;
            }
        }
        w.finish()?;
        return Ok(());
    }
    let sink = c.copy_in(
        "COPY snapgov_incoming (ord, ident, hash, kind, severity, subject, body) FROM STDIN (FORMAT binary)",
    )?;
    let types = [
        Type::INT8,
        Type::BYTEA,
        Type::BYTEA,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ];
    let mut w = BinaryCopyInWriter::new(sink, &types);
    for batch in rows {
        for r in &batch {
            let (kind, severity) = class_columns(r.e.class);
            let body = std::str::from_utf8(&r.body).expect("serde_json writes UTF-8");
            w.write(&[
                &r.ord,
                &&r.e.ident[..],
                &&r.e.hash[..],
                &kind,
                &severity,
                &r.subject,
                &body,
            ])?;
        }
    }
    w.finish()?;
    Ok(())
}

/// PostgreSQL's record writer. While the feed is parsed, its rows stream
/// into a temporary table through one binary `COPY` on a second thread, so
/// the server stores them while this thread parses; the set-based
/// statements of [`PgBulk::finish`] then move them into place.
pub(super) struct PgBulk<'a> {
    pg: &'a PgConn,
    rows: Vec<Row>,
    // Dropped before `copy`: the thread ends its `COPY` when the sender
    // hangs up, and only then can `copy` take the client back.
    send: Option<SyncSender<Vec<Row>>>,
    copy: Option<Lent<'a, ()>>,
    seen: Vec<u64>,
    /// Identities whose filter bit was already set: the only possible
    /// duplicates.
    maybe_dup: Vec<IdentKey>,
    /// Set when `records` was empty as the writer started: then rows go
    /// straight to `records` ([`super::fresh`]).
    fresh: Option<Fresh>,
    /// The `COPY` was started (it starts with the first batch).
    started: bool,
    /// The unique index on the records' hash was dropped for a first
    /// import's load ([`pg_tune::defer`]), to be built again at the end.
    deferred: bool,
}

impl<'a> PgBulk<'a> {
    pub(super) fn new(pg: &'a PgConn) -> Result<Self> {
        pg.batch(
            "CREATE TEMP TABLE IF NOT EXISTS snapgov_incoming (ord BIGINT NOT NULL, ident BYTEA NOT NULL, hash BYTEA NOT NULL, kind TEXT NOT NULL, severity TEXT, subject TEXT NOT NULL, body TEXT NOT NULL) ON COMMIT DELETE ROWS; DELETE FROM snapgov_incoming",
        )?;
        let empty = pg
            .query("SELECT NOT EXISTS (SELECT 1 FROM records)", p![])?
            .first()
            .is_some_and(|r| r.get::<_, bool>(0));
        let fresh = if empty { Some(Fresh::start(pg)?) } else { None };
        Ok(PgBulk {
            pg,
            rows: Vec::with_capacity(BATCH),
            send: None,
            copy: None,
            seen: Vec::new(),
            maybe_dup: Vec::new(),
            fresh,
            started: false,
            deferred: false,
        })
    }

    /// Rows gathered before they go to the `COPY` thread. A first import
    /// holds back its first [`pg_tune::DEFER_FROM`] rows: only a load that
    /// large is worth dropping the hash index for, and it must be dropped
    /// before the `COPY` takes the connection.
    fn batch_len(&self) -> usize {
        if !self.started && self.fresh.is_some() {
            pg_tune::DEFER_FROM as usize
        } else {
            BATCH
        }
    }

    /// Starts the `COPY` on a second thread, the client lent to it.
    fn start_copy(&mut self) -> Result<()> {
        self.started = true;
        let base = self.fresh.as_ref().map(|f| f.base);
        if base.is_some() {
            let big = self.rows.len() as u64 >= pg_tune::DEFER_FROM;
            self.deferred = pg_tune::defer(self.pg, &pg_tune::RECORDS_BY_HASH, || Ok(big))?;
        }
        let (send, rows) = sync_channel(IN_FLIGHT);
        self.copy = Some(self.pg.lend(move |c| copy_rows(c, rows, base))?);
        self.send = Some(send);
        Ok(())
    }

    /// Queues one record (the `ord`-th of the feed).
    pub(super) fn push(
        &mut self,
        ord: i64,
        rec: &NormalizedRecord,
        e: SumEntry,
        body: Vec<u8>,
    ) -> Result<()> {
        if self.seen.is_empty() {
            self.seen = vec![0; SEEN_BITS / 64];
        }
        let bit =
            u64::from_le_bytes(e.ident[..8].try_into().expect("8 bytes")) as usize % SEEN_BITS;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        let again = self.seen[word] & mask != 0;
        self.seen[word] |= mask;
        if again {
            self.maybe_dup.push(e.ident);
        }
        let row = Row {
            ord,
            e,
            subject: rec.subject.clone(),
            body,
        };
        if let Some(f) = &mut self.fresh {
            if again {
                return f.hold(&row);
            }
            f.member(&row)?;
        }
        self.rows.push(row);
        if self.rows.len() >= self.batch_len() {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<()> {
        if !self.started {
            self.start_copy()?;
        }
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(BATCH));
        let sent = match &self.send {
            Some(s) => s.send(rows).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The thread stopped early: its error says why.
        self.end_copy()?;
        Err(StoreError::Backend(
            "the COPY into the staging table ended early".into(),
        ))
    }

    /// Ends the `COPY` and takes the client back.
    fn end_copy(&mut self) -> Result<()> {
        self.send = None;
        match self.copy.take() {
            Some(c) => c.join(),
            None => Ok(()),
        }
    }

    /// Merges records that share an identity (as the SQLite writer does:
    /// the first one seen, then each later one in feed order), then writes
    /// the new records and the snapshot's members. Returns how many records
    /// were merged away and how many set items merging dropped.
    pub(super) fn finish(
        mut self,
        snapshot: i64,
        summary: &mut SummarySorter,
        db: Db<'_>,
    ) -> Result<(u64, u64)> {
        if !self.rows.is_empty() {
            self.send()?;
        }
        self.end_copy()?;
        let pg = self.pg;
        if let Some(f) = self.fresh.take() {
            self.maybe_dup.sort_unstable();
            self.maybe_dup.dedup();
            let rows = f.rows();
            let out = f.finish(pg, snapshot, &self.maybe_dup, summary)?;
            if self.deferred {
                pg_tune::build(pg, &pg_tune::RECORDS_BY_HASH)?;
            }
            pg_tune::analyze_grown(pg, "records", rows)?;
            pg_tune::analyze_new_key(pg, "snapshot_records", rows)?;
            return Ok(out);
        }
        let dups = self.duplicates()?;
        let (mut merged, mut dropped) = (0, 0);
        for ident in dups {
            let rows = pg.query(
                "SELECT body, ord FROM snapgov_incoming WHERE ident = ?1 ORDER BY ord",
                p![&ident[..]],
            )?;
            let parse = |r: &postgres::Row| -> Result<NormalizedRecord> {
                serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| {
                    StoreError::Corrupt(format!("a staged record does not parse: {e}"))
                })
            };
            let mut m = MergedRecord::new(parse(&rows[0])?);
            for r in &rows[1..] {
                m.merge(&parse(r)?);
            }
            merged += rows.len() as u64 - 1;
            dropped += m.dropped();
            let rec = m.finish();
            let body = rec.canonical_json();
            let e = SumEntry {
                ident: ident.as_slice().try_into().map_err(|_| {
                    StoreError::Corrupt("a staged identity key is not 16 bytes".into())
                })?,
                hash: record_hash(&body),
                class: class_of(&rec),
                rid: 0,
            };
            let (kind, severity) = class_columns(e.class);
            let first_ord: i64 = rows[0].get(1);
            pg.exec(
                "DELETE FROM snapgov_incoming WHERE ident = ?1",
                p![&ident[..]],
            )?;
            pg.exec(
                "INSERT INTO snapgov_incoming (ord, ident, hash, kind, severity, subject, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &[
                    V::I(first_ord),
                    V::B(&e.ident),
                    V::B(&e.hash),
                    V::T(kind),
                    severity.into(),
                    V::T(&rec.subject),
                    V::T(std::str::from_utf8(&body).expect("serde_json writes UTF-8")),
                ],
            )?;
            // Pushed after the entries of its parts: the last one wins.
            summary.push(e)?;
        }
        write_staged(db, snapshot)?;
        Ok((merged, dropped))
    }

    /// The identities staged more than once, in identity order. Only those
    /// the filter flagged are looked at, so this scans the staging table
    /// once (or not at all) instead of grouping all of it.
    fn duplicates(&mut self) -> Result<Vec<Vec<u8>>> {
        if self.maybe_dup.is_empty() {
            return Ok(Vec::new());
        }
        self.maybe_dup.sort_unstable();
        self.maybe_dup.dedup();
        let keys: Vec<&[u8]> = self.maybe_dup.iter().map(|k| &k[..]).collect();
        self.pg.with_client(|c| {
            Ok(c.query(
                "SELECT ident FROM snapgov_incoming WHERE ident = ANY($1) GROUP BY ident HAVING count(*) > 1 ORDER BY ident",
                &[&keys],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })
    }
}

/// Moves the staged rows into place: the new records, and the snapshot's
/// members, as a delta where the chain allows.
fn write_staged(db: Db<'_>, snapshot: i64) -> Result<()> {
    let pg = db.pg().expect("PostgreSQL's writer");
    // Only now: the client was lent to the COPY until the rows were in.
    let plan = super::chain::delta_base(db, snapshot)?;
    // Records already stored are left out by an anti-join before the
    // insert (the planner hashes them or probes the index, whichever is
    // cheaper), not by the insert's own conflict check: that check costs a
    // speculative insertion a row, 4.3 s for a daily 1M-record import whose
    // records nearly all exist, against 0.9 s for the anti-join. The
    // conflict clause stays for a record the join cannot see.
    super::pg_reads::big_work_mem(pg)?;
    let added = pg.exec(
        "INSERT INTO records (hash, kind, severity, subject, body) SELECT hash, kind, severity, subject, body FROM snapgov_incoming i WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.hash = i.hash) ON CONFLICT (hash) DO NOTHING",
        p![],
    )?;
    pg_tune::analyze_grown(pg, "records", added)?;
    let delta = match plan {
        Some((base, budget)) => write_delta(db, snapshot, base, budget)?,
        None => false,
    };
    if !delta {
        let members = pg.exec(
            "INSERT INTO snapshot_records (snapshot, ident, record) SELECT ?1, i.ident, r.id FROM snapgov_incoming i JOIN records r ON r.hash = i.hash",
            p![snapshot],
        )?;
        pg_tune::analyze_new_key(pg, "snapshot_records", members)?;
    }
    // Emptied in place by the commit (see `pg_tune`'s notes).
    Ok(())
}

/// Writes the staged members of `snapshot` as a delta from `base`'s, if
/// there are at most `budget` delta rows; `false` (nothing written) if not.
fn write_delta(db: Db<'_>, snapshot: i64, base: i64, budget: u64) -> Result<bool> {
    let pg = db.pg().expect("PostgreSQL's writer");
    let base_sql = super::chain::members_sql(&super::chain::layers(db, base)?);
    pg.batch(
        "CREATE TEMP TABLE IF NOT EXISTS snapgov_delta (ident BYTEA PRIMARY KEY, record BIGINT NOT NULL) ON COMMIT DELETE ROWS; DELETE FROM snapgov_delta",
    )?;
    // One full join of the new members with the base's finds what was
    // added, changed and removed (two statements read both sides twice).
    let rows = pg.exec(
        &format!(
            "INSERT INTO snapgov_delta (ident, record) SELECT coalesce(n.ident, b.ident), coalesce(n.id, {}) FROM (SELECT i.ident, r.id FROM snapgov_incoming i JOIN records r ON r.hash = i.hash) n FULL JOIN ({base_sql}) b ON b.ident = n.ident WHERE n.id IS DISTINCT FROM b.record",
            super::chain::REMOVED
        ),
        p![],
    )?;
    if rows > budget {
        return Ok(false);
    }
    pg.exec(
        "INSERT INTO snapshot_records (snapshot, ident, record) SELECT ?1, ident, record FROM snapgov_delta",
        p![snapshot],
    )?;
    pg.exec(
        "UPDATE snapshots SET base = ?1 WHERE pk = ?2",
        p![base, snapshot],
    )?;
    Ok(true)
}

/// Makes a tool's active data equal to a snapshot's members on PostgreSQL:
/// the server joins the two sides once and writes only what differs,
/// instead of a round trip per differing record. Returns how many records
/// were added, removed or replaced.
pub(super) fn restore_active(
    db: Db<'_>,
    tool_key: i64,
    snapshot_pk: i64,
    known: Option<&[(IdentKey, i64)]>,
) -> Result<u64> {
    let pg = db.pg().expect("PostgreSQL's restore");
    if let Some(to) = known {
        if let Some(changes) = changes_to(db, tool_key, to)? {
            let changed = pg_tune::apply_changes(pg, tool_key, &changes)?;
            pg_tune::analyze_new_key(pg, "active_records", changed)?;
            return Ok(changed);
        }
    }
    let changed = pg_tune::apply_diff(
        pg,
        tool_key,
        &side_query(db, DiffSide::Active(tool_key))?,
        &side_query(db, DiffSide::Snapshot(snapshot_pk))?,
    )?;
    pg_tune::analyze_new_key(pg, "active_records", changed)?;
    Ok(changed)
}

/// What must change in a tool's active data to make it `to` (members in
/// identity order). `None` where the active data is empty (a first
/// import's set-based insert is quicker) or the changes would pass
/// [`super::members::CHANGES_CAP`].
fn changes_to(db: Db<'_>, tool_key: i64, to: &[(IdentKey, i64)]) -> Result<Option<Vec<DiffEntry>>> {
    let active = super::unordered::members_in_order(db, DiffSide::Active(tool_key))?;
    if active.is_empty() {
        return Ok(None);
    }
    super::members::changes_within_cap(|keep| super::members::merge_slices(&active, to, keep))
}
