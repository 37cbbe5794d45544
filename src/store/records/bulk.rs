//! PostgreSQL's record writer: rows stream into a temporary table through
//! binary `COPY` in batches, and reach `records` and `snapshot_records` in
//! two set-based statements at the end, instead of a round trip a record.

use super::hash::{class_columns, class_of};
use super::sorter::{SumEntry, SummarySorter};
use crate::domain::record::{record_hash, MergedRecord, NormalizedRecord};
use crate::store::db::{p, V};
use crate::store::pg::PgConn;
use crate::store::{Result, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

/// Rows buffered before a `COPY`.
const BATCH: usize = 8192;

struct Row {
    ord: i64,
    e: SumEntry,
    subject: String,
    body: Vec<u8>,
}

pub(super) struct PgBulk<'a> {
    pg: &'a PgConn,
    rows: Vec<Row>,
}

impl<'a> PgBulk<'a> {
    pub(super) fn new(pg: &'a PgConn) -> Result<Self> {
        pg.batch(
            "CREATE TEMP TABLE IF NOT EXISTS snapgov_incoming (ord BIGINT NOT NULL, ident BYTEA NOT NULL, hash BYTEA NOT NULL, kind TEXT NOT NULL, severity TEXT, subject TEXT NOT NULL, body TEXT NOT NULL); TRUNCATE snapgov_incoming",
        )?;
        Ok(PgBulk {
            pg,
            rows: Vec::with_capacity(BATCH),
        })
    }

    /// Queues one record (the `ord`-th of the feed).
    pub(super) fn push(
        &mut self,
        ord: i64,
        rec: &NormalizedRecord,
        e: SumEntry,
        body: Vec<u8>,
    ) -> Result<()> {
        self.rows.push(Row {
            ord,
            e,
            subject: rec.subject.clone(),
            body,
        });
        if self.rows.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        self.pg.with_client(|c| {
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
            for r in &rows {
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
            w.finish()?;
            Ok(())
        })?;
        self.rows = rows;
        self.rows.clear();
        Ok(())
    }

    /// Merges records that share an identity (as the SQLite writer does:
    /// the first one seen, then each later one in feed order), then writes
    /// the new records and the snapshot's members. Returns how many records
    /// were merged away and how many set items merging dropped.
    pub(super) fn finish(
        mut self,
        snapshot: i64,
        summary: &mut SummarySorter,
    ) -> Result<(u64, u64)> {
        self.flush()?;
        let pg = self.pg;
        let dups: Vec<Vec<u8>> = pg
            .query(
                "SELECT ident FROM snapgov_incoming GROUP BY ident HAVING count(*) > 1 ORDER BY ident",
                p![],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
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
        pg.exec(
            "INSERT INTO records (hash, kind, severity, subject, body) SELECT hash, kind, severity, subject, body FROM snapgov_incoming ON CONFLICT (hash) DO NOTHING",
            p![],
        )?;
        pg.exec(
            "INSERT INTO snapshot_records (snapshot, ident, record) SELECT ?1, i.ident, r.id FROM snapgov_incoming i JOIN records r ON r.hash = i.hash",
            p![snapshot],
        )?;
        pg.batch("TRUNCATE snapgov_incoming")?;
        Ok((merged, dropped))
    }
}
