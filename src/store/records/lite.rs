//! SQLite's record writer: each record is looked up or inserted as it is
//! parsed; the snapshot's members are written at the end, in identity
//! order, either in full (a checkpoint) or as a delta from the tool's active
//! snapshot ([`super::chain`]).
//!
//! A first import into an empty `records` table looks nothing up: no
//! record can exist yet, and records with the same hash have the same
//! identity, so any the feed repeats meet in one group of the summary
//! sorter, where merging settles them. The unique index on the hash is
//! dropped for the load and built at the end, one sort instead of a
//! random insert per record: past the page cache (about 1.5M records)
//! those inserts rewrote the same index pages in the log again and again,
//! 26 GB of writes for a 3M import whose log is 1.8 GB.

use super::chain::{self, REMOVED};
use super::fresh::next_member;
use super::hash::{class_columns, class_of, HashAcc, RecordsSummary};
use super::reads::{stream_members, DiffSide};
use super::sorter::{SumEntry, SummarySorter};
use crate::domain::record::{record_hash, IdentKey, MergedRecord, NormalizedRecord, RecordHash};
use crate::store::db::{p, Db};
use crate::store::{Result, StoreError};
use rusqlite::{params, OptionalExtension, Statement};
use std::io::{BufReader, BufWriter, Seek, Write};

/// Statements prepared once, a record at a time.
pub(super) struct LiteSink<'a> {
    conn: &'a rusqlite::Connection,
    /// On a first import into an empty `records`: the plain insert used
    /// while the index on the hash is dropped (see the module's comment).
    fresh: Option<Statement<'a>>,
    find: Statement<'a>,
    insert: Statement<'a>,
    body: Statement<'a>,
    /// Records that merging replaced; dropped at the end unless another
    /// snapshot lists them.
    merged_away: Vec<i64>,
    /// Whether the last record looked up was new. New records come in runs
    /// (a first import: all of them), and so do known ones (a daily import:
    /// nearly all), so the next lookup starts with the likelier statement.
    last_new: bool,
    merged: u64,
    dropped: u64,
}

impl<'a> LiteSink<'a> {
    pub(super) fn new(tx: &'a rusqlite::Connection) -> Result<Self> {
        // Prepared while the index its conflict clause names exists.
        let insert = tx.prepare(&format!(
            "{INSERT} ON CONFLICT (substr(hash, 1, 16)) DO NOTHING RETURNING id"
        ))?;
        let empty: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM records)", [], |r| {
            r.get(0)
        })?;
        let fresh = if empty {
            // In the import's transaction: a failed import keeps the index.
            tx.execute_batch("DROP INDEX records_by_hash")?;
            Some(tx.prepare(INSERT)?)
        } else {
            None
        };
        Ok(LiteSink {
            conn: tx,
            fresh,
            find: tx.prepare(FIND)?,
            insert,
            body: tx.prepare("SELECT body FROM records WHERE id = ?1")?,
            merged_away: Vec::new(),
            last_new: false,
            merged: 0,
            dropped: 0,
        })
    }

    /// The id of the record with this content, inserted if it is new.
    pub(super) fn record_id(
        &mut self,
        hash: &RecordHash,
        rec: &NormalizedRecord,
        body: &[u8],
    ) -> Result<i64> {
        let body = std::str::from_utf8(body).expect("serde_json writes UTF-8");
        let row = params![
            &hash[..],
            rec.kind.as_str(),
            rec.severity().map(|s| s.as_str()),
            rec.subject,
            body
        ];
        if let Some(plain) = &mut self.fresh {
            plain.execute(row)?;
            return Ok(self.conn.last_insert_rowid());
        }
        if self.last_new {
            // Insert first; `ON CONFLICT DO NOTHING` returns no row when the
            // record exists.
            if let Some(id) = self.insert.query_row(row, |r| r.get(0)).optional()? {
                return Ok(id);
            }
            self.last_new = false;
            return self
                .find
                .query_row([&hash[..]], |r| r.get(0))
                .optional()?
                .ok_or_else(|| collision(hash));
        }
        if let Some(id) = self.find.query_row([&hash[..]], |r| r.get(0)).optional()? {
            return Ok(id);
        }
        self.last_new = true;
        self.insert
            .query_row(row, |r| r.get(0))
            .optional()?
            .ok_or_else(|| collision(hash))
    }

    /// One identity's records (the feed listed it more than once), merged
    /// in feed order into one record, which is stored.
    fn merge_group(&mut self, group: &[SumEntry]) -> Result<SumEntry> {
        let mut m: Option<MergedRecord> = None;
        for e in group {
            let body: String = self.body.query_row([e.rid], |r| r.get(0))?;
            let rec: NormalizedRecord = serde_json::from_str(&body).map_err(|err| {
                StoreError::Corrupt(format!("record {} does not parse: {err}", e.rid))
            })?;
            match &mut m {
                Some(m) => m.merge(&rec),
                None => m = Some(MergedRecord::new(rec)),
            }
        }
        let m = m.expect("a group has an entry");
        self.merged += group.len() as u64 - 1;
        self.dropped += m.dropped();
        let rec = m.finish();
        let body = rec.canonical_json();
        let hash = record_hash(&body);
        // A part with the merged content is that record (the hash is
        // unique); otherwise it is looked up, or new.
        let rid = match group.iter().find(|e| e.hash == hash) {
            Some(e) => e.rid,
            None => self.record_id(&hash, &rec, &body)?,
        };
        self.merged_away
            .extend(group.iter().map(|e| e.rid).filter(|r| *r != rid));
        Ok(SumEntry {
            ident: group[0].ident,
            hash,
            class: class_of(&rec),
            rid,
        })
    }

    /// Ends the writer: merges duplicate identities, writes the members
    /// (a delta from the tool's active snapshot where the chain allows),
    /// drops records merging left unused. Returns the summary, the records
    /// merged away and the set items merging dropped.
    pub(super) fn finish(
        mut self,
        db: Db<'_>,
        snapshot: i64,
        summary: SummarySorter,
        received: u64,
    ) -> Result<(RecordsSummary, u64, u64)> {
        let conn = db.lite().expect("SQLite's writer");
        let plan = chain::delta_base(db, snapshot)?;
        let rebuild = plan.is_none() && rebuild_by_record(conn, received)?;
        if rebuild {
            conn.execute_batch("DROP INDEX snapshot_records_by_record")?;
        }
        // Members in identity order go to a spill file first when they may
        // become a delta: which one is known only after the merge with the
        // base, and the sorter gives them once.
        let mut spill = match plan {
            Some(_) => Some(BufWriter::new(
                tempfile::tempfile().map_err(StoreError::TempFile)?,
            )),
            None => None,
        };
        let mut link = conn.prepare(
            "INSERT INTO snapshot_records (snapshot, ident, record) VALUES (?1, ?2, ?3)",
        )?;
        let mut acc = HashAcc::new();
        summary.finish(|group| {
            let e = match group {
                [e] => *e,
                _ => self.merge_group(group)?,
            };
            let (kind, severity) = class_columns(e.class);
            acc.add(&e.hash, kind, severity);
            match &mut spill {
                Some(w) => w
                    .write_all(&e.ident)
                    .and_then(|_| w.write_all(&e.rid.to_le_bytes()))
                    .map_err(StoreError::TempFile),
                None => {
                    link.execute(params![snapshot, &e.ident[..], e.rid])?;
                    Ok(())
                }
            }
        })?;
        if let (Some((base, budget)), Some(w)) = (plan, spill) {
            let mut f = w
                .into_inner()
                .map_err(|e| StoreError::TempFile(e.into_error()))?;
            f.rewind().map_err(StoreError::TempFile)?;
            match delta_rows(db, base, budget, &mut f)? {
                Some(rows) => {
                    for (ident, rid) in rows {
                        link.execute(params![snapshot, &ident[..], rid])?;
                    }
                    db.exec(
                        "UPDATE snapshots SET base = ?1 WHERE pk = ?2",
                        p![base, snapshot],
                    )?;
                }
                None => {
                    f.rewind().map_err(StoreError::TempFile)?;
                    let mut r = BufReader::new(f);
                    while let Some((ident, rid)) = next_member(&mut r)? {
                        link.execute(params![snapshot, &ident[..], rid])?;
                    }
                }
            }
        }
        drop(link);
        if rebuild {
            build_with_less_cache(conn, BY_RECORD)?;
        }
        self.drop_merged_away(db)?;
        Ok((acc.finish(), self.merged, self.dropped))
    }

    /// Deletes the records merging replaced, unless a snapshot lists them;
    /// then, after a first import, builds the index on the hash, unique
    /// again without those parts.
    fn drop_merged_away(&mut self, db: Db<'_>) -> Result<()> {
        for id in std::mem::take(&mut self.merged_away) {
            db.exec(
                "DELETE FROM records WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM snapshot_records WHERE record = ?1)",
                p![id],
            )?;
        }
        if self.fresh.take().is_some() {
            build_by_hash(self.conn)?;
        }
        Ok(())
    }
}

/// The index `snapshot_records` has by record, as the schema creates it.
const BY_RECORD: &str = "CREATE INDEX snapshot_records_by_record ON snapshot_records (record)";

/// The unique index on the records' hash, as migration 5 creates it: on its
/// first 16 bytes (see there why).
const BY_HASH: &str = "CREATE UNIQUE INDEX records_by_hash ON records (substr(hash, 1, 16))";

/// A record's row; each insert binds the same five values.
const INSERT: &str =
    "INSERT INTO records (hash, kind, severity, subject, body) VALUES (?1, ?2, ?3, ?4, ?5)";

/// A record by its whole hash, found through the index on the first half.
const FIND: &str =
    "SELECT id FROM records WHERE substr(hash, 1, 16) = substr(?1, 1, 16) AND hash = ?1";

/// Builds the unique index on the hash after a first import's load; if two
/// of the loaded records share its key, the error names one of them.
fn build_by_hash(conn: &rusqlite::Connection) -> Result<()> {
    let built = build_with_less_cache(conn, BY_HASH);
    if built.is_ok() {
        return built;
    }
    let twin: Option<Vec<u8>> = conn
        .query_row(
            "SELECT max(hash) FROM records GROUP BY substr(hash, 1, 16) HAVING count(*) > 1 LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match twin.as_deref().map(RecordHash::try_from) {
        Some(Ok(h)) => Err(collision(&h)),
        _ => built,
    }
}

/// A record the index refused although no record has its whole hash:
/// another shares its first 16 bytes, which with BLAKE3 takes a forgery,
/// not chance.
fn collision(hash: &RecordHash) -> StoreError {
    StoreError::Corrupt(format!(
        "record {} shares the first 16 bytes of its hash with another record of the feed or the store, which with BLAKE3 takes a forged feed or a row edited by hand; nothing was imported: check where the feed came from, and verify every snapshot of this store",
        blake3::Hash::from_bytes(*hash).to_hex()
    ))
}

/// Below this many members, a snapshot's entries in the index by record fit
/// in the page cache and are cheaper to insert than to rebuild the index.
const REBUILD_FROM: u64 = 10_000;

/// Whether to drop the index by record while a full snapshot of about
/// `members` is written, and build it again after: when the table holds
/// fewer rows than that. Members go in identity order, so their record ids
/// come in random order, and past the page cache each one is a random
/// write into the index: at 1M members the import took 17.5-19.7 s with the
/// index kept and 13.0-13.6 s + 0.8 s to build it. Building costs a sort of
/// the whole table, so it pays only while the new rows are the larger part.
/// Both happen in the import's transaction: a failed import keeps the index.
fn rebuild_by_record(conn: &rusqlite::Connection, members: u64) -> Result<bool> {
    if members < REBUILD_FROM {
        return Ok(false);
    }
    let present: i64 = conn.query_row(
        "SELECT count(*) FROM (SELECT 1 FROM snapshot_records LIMIT ?1)",
        [members as i64],
        |r| r.get(0),
    )?;
    Ok((present as u64) < members)
}

/// Builds an index dropped for a load ([`rebuild_by_record`], or the
/// records' on their hash). SQLite's sort for it may hold as much as the
/// page cache in memory besides it; a quarter of that while it runs keeps
/// the import's peak memory where it was (112 MB at 1M members, against
/// 142 MB with the full budget).
fn build_with_less_cache(conn: &rusqlite::Connection, index: &str) -> Result<()> {
    let cache = |kib: u32| format!("PRAGMA cache_size = -{kib}");
    conn.execute_batch(&cache(crate::store::CACHE_KIB / 4))?;
    let built = conn.execute_batch(index);
    // Restored even when the build failed: the connection lives on.
    conn.execute_batch(&cache(crate::store::CACHE_KIB))?;
    Ok(built?)
}

/// The rows of a delta from `base` to the members in `spilled` (identity
/// order), or `None` if there are more than `budget` of them.
fn delta_rows(
    db: Db<'_>,
    base: i64,
    budget: u64,
    spilled: &mut std::fs::File,
) -> Result<Option<Vec<(IdentKey, i64)>>> {
    let mut new = BufReader::new(spilled);
    let mut head = next_member(&mut new)?;
    let mut rows: Vec<(IdentKey, i64)> = Vec::new();
    let mut over = false;
    let mut keep = |row: (IdentKey, i64), rows: &mut Vec<(IdentKey, i64)>| {
        if rows.len() as u64 >= budget {
            over = true;
        } else if !over {
            rows.push(row);
        }
    };
    stream_members(db, DiffSide::Snapshot(base), |ident, rid| {
        while let Some(h) = head.filter(|h| h.0 < ident) {
            keep(h, &mut rows);
            head = next_member(&mut new)?;
        }
        match head {
            Some(h) if h.0 == ident => {
                if h.1 != rid {
                    keep(h, &mut rows);
                }
                head = next_member(&mut new)?;
            }
            _ => keep((ident, REMOVED), &mut rows),
        }
        Ok(())
    })?;
    while let Some(h) = head {
        keep(h, &mut rows);
        head = next_member(&mut new)?;
    }
    Ok((!over).then_some(rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A first import builds the index after its load: two records whose
    /// hashes share their first half (a forged feed) fail that build, and
    /// the error names one of them instead of the index.
    #[test]
    fn a_first_import_names_a_record_whose_hash_shares_its_first_half() {
        let conn = crate::store::testing::lite_schema();
        conn.execute_batch("DROP INDEX records_by_hash").unwrap();
        let (a, b) = ([0xabu8; 32], [[0xabu8; 16], [0xcd; 16]].concat());
        for h in [&a[..], &b[..]] {
            conn.execute(
                "INSERT INTO records (hash, kind, subject, body) VALUES (?1, 'package', 's', '{}')",
                [h],
            )
            .unwrap();
        }
        let err = build_by_hash(&conn).unwrap_err().to_string();
        assert!(
            [&a[..], &b[..]]
                .iter()
                .any(|h| err.contains(&blake3::Hash::from_slice(h).unwrap().to_hex()[..]))
                && err.contains("first 16 bytes"),
            "{err}"
        );
    }

    /// The daily import looks every record up: through the index, or each
    /// lookup would read the whole table.
    #[test]
    fn a_lookup_by_hash_goes_through_the_index_on_its_first_half() {
        use crate::store::testing::{lite_plan, lite_schema};
        assert_eq!(
            lite_plan(&lite_schema(), FIND, &&[7u8; 32][..]),
            ["SEARCH records USING INDEX records_by_hash (<expr>=?)"]
        );
    }
}
