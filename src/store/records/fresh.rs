//! PostgreSQL's first import into an empty `records` table: no record of
//! the feed can exist already, so rows `COPY` straight into `records`
//! (while the feed is parsed) with ids assigned in one block from the
//! sequence (the `ord`-th record of the feed gets `base + ord`), and the
//! snapshot's members follow in a second `COPY`, with no staging table and
//! no join.
//!
//! Records whose identity may have been seen before (a bit filter over
//! identity keys says so) are held back in a temporary file instead, and
//! merged at the end exactly as the other writers merge: the first one
//! seen, then each later one in feed order. A merged record keeps the id
//! of its first part, so the member already written for it stays right.

use super::bulk::Row;
use super::hash::{class_columns, class_of};
use super::pg_tune;
use super::sorter::{SumEntry, SummarySorter};
use crate::domain::record::{record_hash, IdentKey, MergedRecord, NormalizedRecord};
use crate::store::pg::PgConn;
use crate::store::{Result, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufReader, BufWriter, Read, Seek, Write};

/// Column types of a `COPY` into `records`.
pub(super) const RECORD_TYPES: [Type; 6] = [
    Type::INT8,
    Type::BYTEA,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
];
pub(super) const COPY_RECORDS: &str =
    "COPY records (id, hash, kind, severity, subject, body) FROM STDIN (FORMAT binary)";

fn tmp_err(e: std::io::Error) -> StoreError {
    StoreError::TempFile(e)
}

/// Writes one record row of a `COPY` into `records`.
pub(super) fn write_record(w: &mut BinaryCopyInWriter<'_>, id: i64, r: &Row) -> Result<()> {
    let (kind, severity) = class_columns(r.e.class);
    let body = std::str::from_utf8(&r.body).expect("serde_json writes UTF-8");
    w.write(&[&id, &&r.e.hash[..], &kind, &severity, &r.subject, &body])?;
    Ok(())
}

/// The first import's side files: the members written so far (identity
/// and feed position, 24 bytes each) and the held-back records.
pub(super) struct Fresh {
    /// Ids are `base + ord`.
    pub(super) base: i64,
    members: BufWriter<std::fs::File>,
    held: BufWriter<std::fs::File>,
    last_ord: i64,
}

/// A held-back record's first part, and what was merged into it.
struct Pending {
    first_ord: i64,
    /// Whether the first part went to `records` (not held back).
    written: bool,
    /// The first part itself while nothing was merged into it.
    alone: Option<Row>,
    m: MergedRecord,
    parts: u64,
}

impl Fresh {
    /// Takes a block of ids from the sequence (the caller holds the write
    /// lock, so no other writer takes ids until it commits).
    pub(super) fn start(pg: &PgConn) -> Result<Fresh> {
        let first: i64 = pg
            .query(
                "SELECT nextval(pg_get_serial_sequence('records', 'id'))",
                crate::store::db::p![],
            )?
            .first()
            .map_or(1, |r| r.get(0));
        let file = || -> Result<_> {
            Ok(BufWriter::with_capacity(
                1 << 16,
                tempfile::tempfile().map_err(tmp_err)?,
            ))
        };
        Ok(Fresh {
            base: first - 1,
            members: file()?,
            held: file()?,
            last_ord: 0,
        })
    }

    /// How many records of the feed came so far (feed positions count
    /// from 1).
    pub(super) fn rows(&self) -> u64 {
        self.last_ord.max(0) as u64
    }

    /// Notes a member written to `records`.
    pub(super) fn member(&mut self, r: &Row) -> Result<()> {
        self.last_ord = r.ord;
        self.members.write_all(&r.e.ident).map_err(tmp_err)?;
        self.members
            .write_all(&r.ord.to_le_bytes())
            .map_err(tmp_err)
    }

    /// Holds a record back: its identity may have been seen before.
    pub(super) fn hold(&mut self, r: &Row) -> Result<()> {
        self.last_ord = r.ord;
        let w = &mut self.held;
        let mut put = |b: &[u8]| w.write_all(b).map_err(tmp_err);
        put(&r.ord.to_le_bytes())?;
        put(&r.e.ident)?;
        put(&r.e.hash)?;
        put(&[r.e.class])?;
        put(&(r.subject.len() as u64).to_le_bytes())?;
        put(r.subject.as_bytes())?;
        put(&(r.body.len() as u64).to_le_bytes())?;
        put(&r.body)
    }

    /// Merges the held-back records, writes them, then the members; moves
    /// the sequence past the block. `held` lists the held-back identities.
    /// Returns how many records were merged away and the set items
    /// merging dropped.
    pub(super) fn finish(
        self,
        pg: &PgConn,
        snapshot: i64,
        held: &[IdentKey],
        summary: &mut SummarySorter,
    ) -> Result<(u64, u64)> {
        let Fresh {
            base,
            members,
            held: held_file,
            last_ord,
        } = self;
        let mut members = rewind(members)?;
        let pending = merge_held(pg, base, &mut members, rewind(held_file)?, held)?;
        let (mut merged, mut dropped) = (0, 0);
        let mut gone: Vec<i64> = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        let mut extra: Vec<(IdentKey, i64)> = Vec::new();
        for (ident, p) in pending {
            if !p.written {
                extra.push((ident, p.first_ord));
            }
            if let Some(row) = p.alone {
                rows.push(row);
                continue;
            }
            merged += p.parts;
            dropped += p.m.dropped();
            let rec = p.m.finish();
            let body = rec.canonical_json();
            let e = SumEntry {
                ident,
                hash: record_hash(&body),
                class: class_of(&rec),
                rid: 0,
            };
            if p.written {
                gone.push(base + p.first_ord);
            }
            // Pushed after the entries of its parts: the last one wins.
            summary.push(e)?;
            rows.push(Row {
                ord: p.first_ord,
                e,
                subject: rec.subject,
                body,
            });
        }
        if !gone.is_empty() {
            pg.with_client(|c| {
                c.execute("DELETE FROM records WHERE id = ANY($1)", &[&gone])?;
                Ok(())
            })?;
        }
        pg.with_client(|c| {
            let mut w = BinaryCopyInWriter::new(c.copy_in(COPY_RECORDS)?, &RECORD_TYPES);
            for r in &rows {
                write_record(&mut w, base + r.ord, r)?;
            }
            w.finish()?;
            Ok(())
        })?;
        let big = || Ok(last_ord as u64 >= pg_tune::DEFER_FROM);
        pg_tune::load_deferred(pg, &pg_tune::MEMBERS_KEYS, big, || {
            copy_members(pg, snapshot, base, &mut members, &extra)
        })?;
        if last_ord > 0 {
            pg.exec(
                "SELECT setval(pg_get_serial_sequence('records', 'id'), ?1)",
                crate::store::db::p![base + last_ord],
            )?;
        }
        Ok((merged, dropped))
    }
}

fn rewind(w: BufWriter<std::fs::File>) -> Result<BufReader<std::fs::File>> {
    let mut f = w.into_inner().map_err(|e| tmp_err(e.into_error()))?;
    f.rewind().map_err(tmp_err)?;
    Ok(BufReader::with_capacity(1 << 16, f))
}

/// The next 24-byte (identity, number) pair of a spill file, if any: a
/// member and its feed position here, a member and its record in `lite`.
pub(super) fn next_member(r: &mut impl Read) -> Result<Option<(IdentKey, i64)>> {
    let mut b = [0u8; 24];
    match r.read_exact(&mut b) {
        Ok(()) => {
            let ident: IdentKey = b[..16].try_into().expect("16 bytes");
            Ok(Some((
                ident,
                i64::from_le_bytes(b[16..].try_into().expect("8 bytes")),
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(tmp_err(e)),
    }
}

/// The next held-back record, if any.
fn next_held(r: &mut impl Read) -> Result<Option<Row>> {
    let mut head = [0u8; 8 + 16 + 32 + 1];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(tmp_err(e)),
    }
    let bytes = |r: &mut dyn Read| -> Result<Vec<u8>> {
        let mut n = [0u8; 8];
        r.read_exact(&mut n).map_err(tmp_err)?;
        let mut v = vec![0; u64::from_le_bytes(n) as usize];
        r.read_exact(&mut v).map_err(tmp_err)?;
        Ok(v)
    };
    let subject = String::from_utf8(bytes(r)?)
        .map_err(|_| StoreError::Corrupt("a held-back record's subject is not UTF-8".into()))?;
    let body = bytes(r)?;
    Ok(Some(Row {
        ord: i64::from_le_bytes(head[..8].try_into().expect("8 bytes")),
        e: SumEntry {
            ident: head[8..24].try_into().expect("16 bytes"),
            hash: head[24..56].try_into().expect("32 bytes"),
            class: head[56],
            rid: 0,
        },
        subject,
        body,
    }))
}

fn parse(body: &[u8]) -> Result<NormalizedRecord> {
    serde_json::from_slice(body)
        .map_err(|e| StoreError::Corrupt(format!("a staged record does not parse: {e}")))
}

/// Groups the held-back records by identity, merging each group into its
/// first part (written to `records`, or itself held back).
fn merge_held(
    pg: &PgConn,
    base: i64,
    members: &mut BufReader<std::fs::File>,
    mut held_rows: BufReader<std::fs::File>,
    held: &[IdentKey],
) -> Result<BTreeMap<IdentKey, Pending>> {
    let mut pending = BTreeMap::new();
    if held.is_empty() {
        return Ok(pending);
    }
    // Which held-back identities had a first part written, and where.
    let wanted: HashSet<&IdentKey> = held.iter().collect();
    let mut first: HashMap<IdentKey, i64> = HashMap::new();
    while let Some((ident, ord)) = next_member(members)? {
        if wanted.contains(&ident) {
            first.insert(ident, ord);
        }
    }
    members.rewind().map_err(tmp_err)?;
    let ids: Vec<i64> = first.values().map(|o| base + o).collect();
    let mut bodies: HashMap<i64, String> = HashMap::new();
    if !ids.is_empty() {
        pg.with_client(|c| {
            for r in c.query("SELECT id, body FROM records WHERE id = ANY($1)", &[&ids])? {
                bodies.insert(r.get(0), r.get(1));
            }
            Ok(())
        })?;
    }
    while let Some(row) = next_held(&mut held_rows)? {
        let ident = row.e.ident;
        if let Some(p) = pending.get_mut(&ident) {
            let p: &mut Pending = p;
            p.alone = None;
            p.m.merge(&parse(&row.body)?);
            p.parts += 1;
            continue;
        }
        let p = match first.get(&ident) {
            Some(&ord) => {
                let body = bodies.get(&(base + ord)).ok_or_else(|| {
                    StoreError::Corrupt("a record vanished while it was written".into())
                })?;
                let mut m = MergedRecord::new(parse(body.as_bytes())?);
                m.merge(&parse(&row.body)?);
                Pending {
                    first_ord: ord,
                    written: true,
                    alone: None,
                    m,
                    parts: 1,
                }
            }
            None => Pending {
                first_ord: row.ord,
                written: false,
                m: MergedRecord::new(parse(&row.body)?),
                alone: Some(row),
                parts: 0,
            },
        };
        pending.insert(ident, p);
    }
    Ok(pending)
}

/// Writes the snapshot's members: those in the side file and `extra`.
fn copy_members(
    pg: &PgConn,
    snapshot: i64,
    base: i64,
    members: &mut BufReader<std::fs::File>,
    extra: &[(IdentKey, i64)],
) -> Result<()> {
    pg.with_client(|c| {
        let sink = c.copy_in(
            "COPY snapshot_records (snapshot, ident, record) FROM STDIN (FORMAT binary)",
        )?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::BYTEA, Type::INT8]);
        while let Some((ident, ord)) = next_member(members)? {
            w.write(&[&snapshot, &&ident[..], &(base + ord)])?;
        }
        for (ident, ord) in extra {
            w.write(&[&snapshot, &&ident[..], &(base + ord)])?;
        }
        w.finish()?;
        Ok(())
    })
}
