//! Content-addressed records, each snapshot's membership, the tools' active
//! data, and the streaming hash and diff over them.
//!
//! A record is stored once per distinct content (`records.hash`); a snapshot
//! lists `(identity key, record)` pairs; `active_records` holds each tool's
//! live data, which queries read and which rollback restores.

use super::{Queries, Result, StoreError, WriteTx};
use crate::domain::record::{
    record_hash, IdentKey, MergedRecord, NormalizedRecord, RecordHash, RecordKind, MAX_SET_ITEMS,
};
use crate::domain::snapshot::RecordStats;
use rusqlite::{params, OptionalExtension, Statement};

/// Hash and counts of a set of records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordsSummary {
    /// `b3:` + BLAKE3 over the record hashes in identity-key order.
    pub normalized_hash: String,
    pub count: u64,
    pub stats: RecordStats,
}

/// Accumulates the normalized hash in identity-key order.
struct HashAcc {
    h: blake3::Hasher,
    count: u64,
    stats: RecordStats,
}

impl HashAcc {
    fn new() -> Self {
        let mut h = blake3::Hasher::new();
        h.update(b"snapgov-snapshot-v1\n");
        HashAcc {
            h,
            count: 0,
            stats: RecordStats::default(),
        }
    }
    fn add(&mut self, hash: &[u8], kind: &str, severity: Option<&str>) {
        self.h.update(hash);
        self.count += 1;
        if kind == "vulnerability" {
            self.stats.vulnerabilities += 1;
            let severity = severity.unwrap_or("unknown");
            match self.stats.by_severity.get_mut(severity) {
                Some(n) => *n += 1,
                None => {
                    self.stats.by_severity.insert(severity.to_string(), 1);
                }
            }
        } else {
            self.stats.packages += 1;
        }
    }
    fn finish(self) -> RecordsSummary {
        RecordsSummary {
            normalized_hash: format!("b3:{}", self.h.finalize().to_hex()),
            count: self.count,
            stats: self.stats,
        }
    }
}

/// The normalized hash of records given in any order (used by tests and
/// tools that compute it outside the store).
pub fn normalized_hash_of(records: &[NormalizedRecord]) -> String {
    let mut rows: Vec<(IdentKey, RecordHash)> = records
        .iter()
        .map(|r| (r.ident_key(), record_hash(&r.canonical_json())))
        .collect();
    rows.sort();
    let mut acc = HashAcc::new();
    for (_, h) in rows {
        acc.add(&h, "package", None);
    }
    acc.finish().normalized_hash
}

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

fn count_into(stats: &mut RecordStats, kind: &str, severity: Option<&str>) {
    if kind == "vulnerability" {
        stats.vulnerabilities += 1;
        *stats
            .by_severity
            .entry(severity.unwrap_or("unknown").to_string())
            .or_default() += 1;
    } else {
        stats.packages += 1;
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

/// Writes one snapshot's records, merging records with the same identity.
///
/// Per record it costs one lookup-or-insert in `records` and one insert in
/// `snapshot_records`. It also keeps each identity's (content hash, kind,
/// severity) in a [`SummarySorter`], so that [`WriteTx::finish_records`] can
/// compute the snapshot's normalized hash without joining every member back
/// to `records` (a random lookup per record, a quarter of an import's time).
pub struct RecordWriter<'a> {
    snapshot: i64,
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
    summary: SummarySorter,
    /// Records received (before merging).
    pub received: u64,
    /// Records merged into an earlier one with the same identity.
    pub merged: u64,
    /// Identities seen more than once, merged in memory until the end.
    /// Memory is bounded by the duplicates in the feed, each capped at
    /// [`MAX_SET_ITEMS`] per set field.
    pending: std::collections::BTreeMap<IdentKey, MergedRecord>,
    /// Set items (locations, licenses, aliases) dropped by the per-record
    /// cap; the import reports them as a snapshot warning.
    pub capped_items: u64,
}

impl RecordWriter<'_> {
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
        let hash = record_hash(&body);
        let ident = rec.ident_key();
        let rid = self.record_id(&hash, rec, &body)?;
        let linked = self.link.execute(params![self.snapshot, &ident[..], rid])?;
        if linked == 1 {
            return self.summary.push(SumEntry {
                ident,
                hash,
                class: class_of(rec),
            });
        }
        // Same identity seen before in this snapshot: merge in memory, and
        // write the merged record once, in `flush_merged`. Writing it at
        // every duplicate made a feed listing one package n times cost
        // O(n²) time and store space (a 3.8 MB feed grew a store to 7.8 GB).
        self.merged += 1;
        if rid != self.linked_rid(&ident)? {
            self.merged_away.push(rid);
        }
        let entry = match self.pending.entry(ident) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let (old_rid, old_body): (i64, String) = self
                    .existing
                    .query_row(params![self.snapshot, &ident[..]], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?;
                let first: NormalizedRecord = serde_json::from_str(&old_body).map_err(|e| {
                    StoreError::Corrupt(format!("record {old_rid} does not parse: {e}"))
                })?;
                v.insert(MergedRecord::new(first))
            }
        };
        entry.merge(rec);
        Ok(())
    }

    /// The record linked to `ident` in this snapshot.
    fn linked_rid(&mut self, ident: &IdentKey) -> Result<i64> {
        Ok(self
            .existing
            .query_row(params![self.snapshot, &ident[..]], |r| r.get(0))?)
    }

    /// Writes each merged identity's record once and links it in place of
    /// the first one seen; its summary entry, pushed last, wins.
    fn flush_merged(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        for (ident, m) in pending {
            self.capped_items += m.dropped();
            let merged = m.finish();
            let body = merged.canonical_json();
            let hash = record_hash(&body);
            let old_rid = self.linked_rid(&ident)?;
            let new_rid = self.record_id(&hash, &merged, &body)?;
            if new_rid != old_rid {
                self.relink
                    .execute(params![new_rid, self.snapshot, &ident[..]])?;
                self.merged_away.push(old_rid);
            }
            self.summary.push(SumEntry {
                ident,
                hash,
                class: class_of(&merged),
            })?;
        }
        Ok(())
    }
}

/// One member's part in the normalized hash.
#[derive(Clone, Copy)]
struct SumEntry {
    ident: IdentKey,
    hash: RecordHash,
    /// Kind and severity, see [`class_of`].
    class: u8,
}

/// Bytes of a [`SumEntry`] in a spilled run.
const SUM_ENTRY_BYTES: usize = 16 + 32 + 1;
/// Entries sorted in memory before a run is spilled (12.8 MB).
const SUM_RUN_LEN: usize = 1 << 18;
/// Spilled runs merged into one when there are this many (bounds open files).
const SUM_MAX_RUNS: usize = 32;
/// Class of a finding without a severity (cannot happen in valid records).
const CLASS_NO_SEVERITY: u8 = u8::MAX;

/// `0` for a package; `1 +` the severity's index for a finding.
fn class_of(rec: &NormalizedRecord) -> u8 {
    match (rec.kind, rec.severity()) {
        (RecordKind::Package, _) => 0,
        (RecordKind::Vulnerability, None) => CLASS_NO_SEVERITY,
        (RecordKind::Vulnerability, Some(s)) => {
            1 + crate::domain::record::Severity::ALL
                .iter()
                .position(|x| *x == s)
                .unwrap_or(0) as u8
        }
    }
}

/// The kind and severity columns a class stands for.
fn class_columns(class: u8) -> (&'static str, Option<&'static str>) {
    match class {
        0 => (RecordKind::Package.as_str(), None),
        CLASS_NO_SEVERITY => (RecordKind::Vulnerability.as_str(), None),
        c => (
            RecordKind::Vulnerability.as_str(),
            crate::domain::record::Severity::ALL
                .get(c as usize - 1)
                .map(|s| s.as_str()),
        ),
    }
}

fn spill_err(e: std::io::Error) -> StoreError {
    StoreError::Sqlite(format!(
        "cannot use a temporary file while summarizing the snapshot: {e}"
    ))
}

/// Sorts a snapshot's [`SumEntry`]s by identity in bounded memory: runs of
/// [`SUM_RUN_LEN`] entries are sorted (stably) and spilled to temporary
/// files, then merged. Of several entries with the same identity (merged
/// records) the last one pushed wins.
struct SummarySorter {
    buf: Vec<SumEntry>,
    /// Spilled runs, oldest first, each sorted and read from its start.
    runs: Vec<std::fs::File>,
    run_len: usize,
    max_runs: usize,
}

impl Default for SummarySorter {
    fn default() -> Self {
        SummarySorter {
            buf: Vec::new(),
            runs: Vec::new(),
            run_len: SUM_RUN_LEN,
            max_runs: SUM_MAX_RUNS,
        }
    }
}

impl SummarySorter {
    fn push(&mut self, e: SumEntry) -> Result<()> {
        if self.buf.len() >= self.run_len {
            self.spill().map_err(spill_err)?;
        }
        self.buf.push(e);
        Ok(())
    }

    fn spill(&mut self) -> std::io::Result<()> {
        use std::io::{Seek, Write};
        self.buf.sort_by_key(|e| e.ident);
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
        for e in &self.buf {
            w.write_all(&e.ident)?;
            w.write_all(&e.hash)?;
            w.write_all(&[e.class])?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.rewind()?;
        self.runs.push(f);
        self.buf.clear();
        if self.runs.len() >= self.max_runs {
            let runs = std::mem::take(&mut self.runs);
            let mut w = std::io::BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
            merge_runs(runs, |e| {
                w.write_all(&e.ident)?;
                w.write_all(&e.hash)?;
                w.write_all(&[e.class])
            })?;
            let mut f = w.into_inner().map_err(|e| e.into_error())?;
            f.rewind()?;
            self.runs.push(f);
        }
        Ok(())
    }

    /// Calls `f` with each identity's last entry, in identity order.
    fn finish(mut self, mut f: impl FnMut(&SumEntry)) -> Result<()> {
        if self.runs.is_empty() {
            self.buf.sort_by_key(|e| e.ident);
            for (i, e) in self.buf.iter().enumerate() {
                if self.buf.get(i + 1).is_none_or(|n| n.ident != e.ident) {
                    f(e);
                }
            }
            return Ok(());
        }
        if !self.buf.is_empty() {
            self.spill().map_err(spill_err)?;
        }
        merge_runs(self.runs, |e| {
            f(e);
            Ok(())
        })
        .map_err(spill_err)
    }
}

/// Merges sorted runs (oldest first), calling `f` with each identity's last
/// entry in identity order.
fn merge_runs(
    runs: Vec<std::fs::File>,
    mut f: impl FnMut(&SumEntry) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::cmp::Reverse;
    use std::io::Read;
    fn next(r: &mut impl Read) -> std::io::Result<Option<SumEntry>> {
        let mut b = [0u8; SUM_ENTRY_BYTES];
        match r.read_exact(&mut b) {
            Ok(()) => {
                let mut e = SumEntry {
                    ident: [0; 16],
                    hash: [0; 32],
                    class: b[48],
                };
                e.ident.copy_from_slice(&b[..16]);
                e.hash.copy_from_slice(&b[16..48]);
                Ok(Some(e))
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    }
    let mut readers: Vec<_> = runs
        .into_iter()
        .map(|r| std::io::BufReader::with_capacity(1 << 16, r))
        .collect();
    // Keyed by (identity, run): equal identities come out oldest run first,
    // and in push order within a run (its sort is stable).
    let mut heap = std::collections::BinaryHeap::with_capacity(readers.len());
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(e) = next(r)? {
            heap.push(Reverse((e.ident, i, e.hash, e.class)));
        }
    }
    let mut pending: Option<SumEntry> = None;
    while let Some(Reverse((ident, i, hash, class))) = heap.pop() {
        if let Some(e) = next(&mut readers[i])? {
            heap.push(Reverse((e.ident, i, e.hash, e.class)));
        }
        if let Some(p) = pending.as_ref().filter(|p| p.ident != ident) {
            f(p)?;
        }
        pending = Some(SumEntry { ident, hash, class });
    }
    if let Some(p) = &pending {
        f(p)?;
    }
    Ok(())
}

#[cfg(test)]
mod summary_sorter_tests {
    use super::*;

    fn entry(ident: u8, version: u8) -> SumEntry {
        SumEntry {
            ident: [ident; 16],
            hash: [version; 32],
            class: version % 3,
        }
    }

    /// Sorted by identity, the last pushed entry of each identity winning,
    /// whether it all fits in memory, spills, or spills past `max_runs`.
    #[test]
    fn sorts_and_keeps_the_last_entry_of_each_identity() {
        let mut pushed = Vec::new();
        let mut x: u32 = 7;
        for version in 0..200u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            pushed.push(entry((x >> 16) as u8 % 61, version as u8));
        }
        let mut expected = std::collections::BTreeMap::new();
        for e in &pushed {
            expected.insert(e.ident, (e.hash, e.class));
        }
        let expected: Vec<_> = expected.into_iter().collect();
        for (run_len, max_runs) in [(1000, 32), (16, 32), (7, 3), (1, 2)] {
            let mut s = SummarySorter {
                run_len,
                max_runs,
                ..SummarySorter::default()
            };
            for e in &pushed {
                s.push(*e).unwrap();
            }
            let mut got = Vec::new();
            s.finish(|e| got.push((e.ident, (e.hash, e.class))))
                .unwrap();
            assert_eq!(got, expected, "run_len {run_len}, max_runs {max_runs}");
        }
    }

    #[test]
    fn classes_round_trip() {
        assert_eq!(class_columns(0), ("package", None));
        for sev in crate::domain::record::Severity::ALL {
            let rec = NormalizedRecord {
                ecosystem: "npm".into(),
                kind: RecordKind::Vulnerability,
                licenses: vec![],
                locations: vec![],
                name: "a".into(),
                package_id: "npm/a@1".into(),
                purl: None,
                subject: "s".into(),
                version: "1".into(),
                vulnerability: Some(crate::domain::record::Finding {
                    aliases: vec![],
                    fixed_version: None,
                    id: "CVE-1".into(),
                    severity: sev,
                    status: None,
                }),
            };
            assert_eq!(
                class_columns(class_of(&rec)),
                ("vulnerability", Some(sev.as_str()))
            );
        }
    }
}

impl<'a> WriteTx<'a> {
    /// Starts writing records into snapshot `snapshot_pk`.
    pub fn record_writer(&self, snapshot_pk: i64) -> Result<RecordWriter<'a>> {
        let tx = self.tx;
        Ok(RecordWriter {
            snapshot: snapshot_pk,
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
            summary: SummarySorter::default(),
            received: 0,
            merged: 0,
            pending: std::collections::BTreeMap::new(),
            capped_items: 0,
        })
    }

    /// Ends a writer: drops records that merging left unreferenced, and
    /// computes the snapshot's summary from what the writer kept, for
    /// [`RecordReads::snapshot_summary`] to return in this transaction
    /// without reading every member back.
    ///
    /// Returns how many set items the per-record cap dropped.
    pub fn finish_records(&mut self, mut w: RecordWriter<'_>) -> Result<u64> {
        w.flush_merged()?;
        let RecordWriter {
            snapshot,
            merged_away,
            summary,
            capped_items,
            ..
        } = w;
        let mut del = self.tx.prepare(
            "DELETE FROM records WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM snapshot_records WHERE record = ?1)",
        )?;
        for id in merged_away {
            del.execute([id])?;
        }
        let mut acc = HashAcc::new();
        summary.finish(|e| {
            let (kind, severity) = class_columns(e.class);
            acc.add(&e.hash, kind, severity);
        })?;
        let s = acc.finish();
        // A temporary table is private to this connection and, like the
        // records, rolled back with the transaction.
        self.tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS snapgov_pending_summary (snapshot INTEGER PRIMARY KEY, normalized_hash TEXT NOT NULL, count INTEGER NOT NULL, stats TEXT NOT NULL)",
        )?;
        self.tx.execute(
            "INSERT OR REPLACE INTO temp.snapgov_pending_summary (snapshot, normalized_hash, count, stats) VALUES (?1, ?2, ?3, ?4)",
            params![
                snapshot,
                s.normalized_hash,
                s.count as i64,
                serde_json::to_string(&s.stats).expect("stats serialize")
            ],
        )?;
        Ok(capped_items)
    }

    /// Makes the tool's active data equal to the snapshot's records, writing
    /// only what differs. Returns how many records were added, removed or
    /// replaced.
    pub fn restore_active(&mut self, tool_key: i64, snapshot_pk: i64) -> Result<u64> {
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
                    return Err(StoreError::Sqlite("diff over the in-memory cap".into()));
                }
                changes.push(e);
                Ok(())
            },
        );
        if over {
            drop(changes);
            let removed = self.tx.execute(
                "DELETE FROM active_records WHERE tool = ?1 AND NOT EXISTS (SELECT 1 FROM snapshot_records s WHERE s.snapshot = ?2 AND s.ident = active_records.ident)",
                params![tool_key, snapshot_pk],
            )?;
            let written = self.tx.execute(
                "INSERT INTO active_records (tool, ident, record) SELECT ?1, ident, record FROM snapshot_records WHERE snapshot = ?2 AND true ON CONFLICT (tool, ident) DO UPDATE SET record = excluded.record WHERE active_records.record <> excluded.record",
                params![tool_key, snapshot_pk],
            )?;
            return Ok((removed + written) as u64);
        }
        r?;
        let mut del = self
            .tx
            .prepare_cached("DELETE FROM active_records WHERE tool = ?1 AND ident = ?2")?;
        let mut put = self.tx.prepare_cached(
            "INSERT INTO active_records (tool, ident, record) VALUES (?1, ?2, ?3) ON CONFLICT (tool, ident) DO UPDATE SET record = excluded.record",
        )?;
        for c in &changes {
            match c.new {
                Some(rid) => put.execute(params![tool_key, &c.ident[..], rid])?,
                None => del.execute(params![tool_key, &c.ident[..]])?,
            };
        }
        Ok(changes.len() as u64)
    }

    /// Empties the tool's active data (its snapshot expired).
    pub fn clear_active(&mut self, tool_key: i64) -> Result<u64> {
        Ok(self
            .tx
            .execute("DELETE FROM active_records WHERE tool = ?1", [tool_key])? as u64)
    }

    /// Removes a snapshot's record list, and the records no other snapshot uses.
    pub fn delete_snapshot_records(&mut self, snapshot_pk: i64) -> Result<u64> {
        self.tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS gc_records (id INTEGER PRIMARY KEY); DELETE FROM temp.gc_records;",
        )?;
        self.tx.execute(
            "INSERT OR IGNORE INTO temp.gc_records SELECT record FROM snapshot_records WHERE snapshot = ?1",
            [snapshot_pk],
        )?;
        self.tx.execute(
            "DELETE FROM snapshot_records WHERE snapshot = ?1",
            [snapshot_pk],
        )?;
        // Set-based: one pass over each table rather than a probe of the
        // (unindexed by record) active data for every candidate.
        self.tx.execute_batch(
            "DELETE FROM temp.gc_records WHERE EXISTS (SELECT 1 FROM snapshot_records WHERE record = gc_records.id);
             DELETE FROM temp.gc_records WHERE id IN (SELECT record FROM active_records);",
        )?;
        let n = self.tx.execute(
            "DELETE FROM records WHERE id IN (SELECT id FROM temp.gc_records)",
            [],
        )?;
        self.tx.execute_batch("DELETE FROM temp.gc_records;")?;
        Ok(n as u64)
    }
}

/// Where verification found a stored record that no longer matches its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRecord {
    pub record_id: i64,
    pub identity: String,
}

/// The summary [`WriteTx::finish_records`] left for `snapshot_pk` on this
/// connection, removed as it is read; `None` if there is none, or if the
/// snapshot's member count no longer matches it.
fn take_pending_summary(
    conn: &rusqlite::Connection,
    snapshot_pk: i64,
) -> Result<Option<RecordsSummary>> {
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM temp.sqlite_master WHERE type = 'table' AND name = 'snapgov_pending_summary'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(None);
    }
    let Some((normalized_hash, count, stats)) = conn
        .query_row(
            "DELETE FROM temp.snapgov_pending_summary WHERE snapshot = ?1 RETURNING normalized_hash, count, stats",
            [snapshot_pk],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let members: i64 = conn.query_row(
        "SELECT count(*) FROM snapshot_records WHERE snapshot = ?1",
        [snapshot_pk],
        |r| r.get(0),
    )?;
    let Ok(stats) = serde_json::from_str::<RecordStats>(&stats) else {
        return Ok(None);
    };
    Ok((members == count).then_some(RecordsSummary {
        normalized_hash,
        count: count as u64,
        stats,
    }))
}

/// Record reads.
pub trait RecordReads: Queries {
    /// Hash and counts from the stored record hashes (fast; used on import).
    ///
    /// In the transaction that wrote the snapshot, right after
    /// [`WriteTx::finish_records`], this returns (once) the summary the
    /// writer computed, provided the snapshot still has as many members.
    fn snapshot_summary(&self, snapshot_pk: i64) -> Result<RecordsSummary> {
        if let Some(s) = take_pending_summary(self.conn(), snapshot_pk)? {
            return Ok(s);
        }
        let mut stmt = self.conn().prepare(
            "SELECT r.hash, r.kind, r.severity FROM snapshot_records s JOIN records r ON r.id = s.record WHERE s.snapshot = ?1 ORDER BY s.ident",
        )?;
        let mut rows = stmt.query([snapshot_pk])?;
        let mut acc = HashAcc::new();
        while let Some(r) = rows.next()? {
            let h: Vec<u8> = r.get(0)?;
            let kind: String = r.get(1)?;
            let sev: Option<String> = r.get(2)?;
            acc.add(&h, &kind, sev.as_deref());
        }
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
        let mut rows: Vec<(IdentKey, RecordHash)> = Vec::with_capacity(members.len());
        let mut content: Vec<(i64, RecordHash)> = Vec::with_capacity(members.len());
        let mut stats = RecordStats::default();
        let mut bad = None;
        let mut visit = |rid: i64,
                         stored: &[u8],
                         kind: &str,
                         sev: Option<&str>,
                         subject: &str,
                         body: &[u8],
                         ident: IdentKey| {
            let h = record_hash(body);
            if bad.is_none() && stored != &h[..] {
                let identity = serde_json::from_slice::<NormalizedRecord>(body)
                    .map(|rec| rec.identity())
                    .unwrap_or_else(|_| "(unparseable record)".to_string());
                bad = Some(BadRecord {
                    record_id: rid,
                    identity,
                });
            } else if deep && bad.is_none() {
                match serde_json::from_slice::<NormalizedRecord>(body) {
                    Ok(rec) if rec.ident_key() != ident => {
                        bad = Some(BadRecord {
                            record_id: rid,
                            identity: format!("{}, filed under another identity", rec.identity()),
                        })
                    }
                    // The kind, severity and subject columns answer
                    // `ingest records` filters and the stats but are outside
                    // the content hash: they must say what the hashed body says.
                    Ok(rec) => {
                        let (want_kind, want_sev) = class_columns(class_of(&rec));
                        let differs = if want_kind != kind {
                            Some(("kind", kind.to_string(), want_kind.to_string()))
                        } else if want_sev != sev {
                            Some((
                                "severity",
                                sev.unwrap_or("NULL").to_string(),
                                want_sev.unwrap_or("NULL").to_string(),
                            ))
                        } else if rec.subject != subject {
                            Some(("subject", subject.to_string(), rec.subject.clone()))
                        } else {
                            None
                        };
                        if let Some((col, is, want)) = differs {
                            bad = Some(BadRecord {
                                record_id: rid,
                                identity: format!(
                                    "{}, whose {col} column says {is:?} but its hashed body says {want:?}",
                                    rec.identity()
                                ),
                            });
                        }
                    }
                    Err(_) => {
                        bad = Some(BadRecord {
                            record_id: rid,
                            identity: "(unparseable record)".to_string(),
                        })
                    }
                }
            }
            count_into(&mut stats, kind, sev);
            rows.push((ident, h));
            content.push((rid, h));
        };
        let range = (hi - lo + 1) as usize;
        if members.len() * 4 >= range {
            // Dense: one sequential scan over the id range.
            let mut stmt = self.conn().prepare(
                "SELECT id, hash, kind, severity, body, subject FROM records WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
            )?;
            let mut q = stmt.query(params![lo, hi])?;
            let mut j = 0;
            while let Some(r) = q.next()? {
                let rid: i64 = r.get(0)?;
                while j < members.len() && members[j].0 < rid {
                    j += 1;
                }
                // Legitimately one identity a record; a tampered store may
                // file one record under several, and each is checked.
                while j < members.len() && members[j].0 == rid {
                    // Borrowed, not copied: this loop runs once a record.
                    let kind = r.get_ref(2)?.as_str()?;
                    let sev = r.get_ref(3)?.as_str_or_null()?;
                    visit(
                        rid,
                        r.get_ref(1)?.as_blob()?,
                        kind,
                        sev,
                        r.get_ref(5)?.as_str()?,
                        r.get_ref(4)?.as_bytes()?,
                        members[j].1,
                    );
                    j += 1;
                }
            }
        } else {
            // Sparse: look each record up, in id order.
            let mut stmt = self
                .conn()
                .prepare("SELECT hash, kind, severity, body, subject FROM records WHERE id = ?1")?;
            for (rid, ident) in &members {
                let mut q = stmt.query([rid])?;
                if let Some(r) = q.next()? {
                    let kind: String = r.get(1)?;
                    let sev: Option<String> = r.get(2)?;
                    visit(
                        *rid,
                        r.get_ref(0)?.as_blob()?,
                        &kind,
                        sev.as_deref(),
                        r.get_ref(4)?.as_str()?,
                        r.get_ref(3)?.as_bytes()?,
                        *ident,
                    );
                }
            }
        }
        if rows.len() != members.len() {
            let whose = match side {
                DiffSide::Snapshot(_) => "the snapshot's",
                DiffSide::Active(_) => "the active data's",
            };
            return Err(StoreError::Corrupt(format!(
                "{} of {} of {whose} records are missing from the record table",
                members.len() - rows.len(),
                members.len()
            )));
        }
        rows.sort_unstable_by_key(|r| r.0);
        let mut acc = HashAcc::new();
        for (_, h) in &rows {
            acc.h.update(h);
        }
        acc.count = rows.len() as u64;
        acc.stats = stats;
        Ok((acc.finish(), bad, ContentHashes(content)))
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
        let (sql, key) = match side {
            DiffSide::Snapshot(pk) => (
                "SELECT ident, record FROM snapshot_records WHERE snapshot = ?1 ORDER BY ident",
                pk,
            ),
            DiffSide::Active(t) => (
                "SELECT ident, record FROM active_records WHERE tool = ?1 ORDER BY ident",
                t,
            ),
        };
        let mut stmt = self.conn().prepare(sql)?;
        let mut rows = stmt.query([key])?;
        while let Some(r) = rows.next()? {
            let ident: IdentKey = r
                .get_ref(0)?
                .as_blob()?
                .try_into()
                .map_err(|_| StoreError::Corrupt("an identity key is not 16 bytes".into()))?;
            f(ident, r.get(1)?)?;
        }
        Ok(())
    }

    /// Streams, in identity order, every identity whose record differs
    /// between two sides. Both sides are read in key order and merged, so
    /// memory does not grow with the snapshots' size.
    fn diff(
        &self,
        from: DiffSide,
        to: DiffSide,
        mut f: impl FnMut(DiffEntry) -> Result<()>,
    ) -> Result<()> {
        let sql = |side: DiffSide| match side {
            DiffSide::Snapshot(pk) => (
                "SELECT ident, record FROM snapshot_records WHERE snapshot = ?1 ORDER BY ident",
                pk,
            ),
            DiffSide::Active(t) => (
                "SELECT ident, record FROM active_records WHERE tool = ?1 ORDER BY ident",
                t,
            ),
        };
        let (qa, ka) = sql(from);
        let (qb, kb) = sql(to);
        let mut sa = self.conn().prepare(qa)?;
        let mut sb = self.conn().prepare(qb)?;
        let mut ra = sa.query([ka])?;
        let mut rb = sb.query([kb])?;
        let next = |rows: &mut rusqlite::Rows<'_>| -> Result<Option<(IdentKey, i64)>> {
            match rows.next()? {
                Some(r) => {
                    let ident: Vec<u8> = r.get(0)?;
                    let key: IdentKey = ident.as_slice().try_into().map_err(|_| {
                        StoreError::Corrupt("an identity key is not 16 bytes".into())
                    })?;
                    Ok(Some((key, r.get(1)?)))
                }
                None => Ok(None),
            }
        };
        let mut a = next(&mut ra)?;
        let mut b = next(&mut rb)?;
        loop {
            match (a, b) {
                (None, None) => break,
                (Some((ia, rida)), None) => {
                    f(DiffEntry {
                        ident: ia,
                        old: Some(rida),
                        new: None,
                    })?;
                    a = next(&mut ra)?;
                }
                (None, Some((ib, ridb))) => {
                    f(DiffEntry {
                        ident: ib,
                        old: None,
                        new: Some(ridb),
                    })?;
                    b = next(&mut rb)?;
                }
                (Some((ia, rida)), Some((ib, ridb))) => {
                    if ia < ib {
                        f(DiffEntry {
                            ident: ia,
                            old: Some(rida),
                            new: None,
                        })?;
                        a = next(&mut ra)?;
                    } else if ib < ia {
                        f(DiffEntry {
                            ident: ib,
                            old: None,
                            new: Some(ridb),
                        })?;
                        b = next(&mut rb)?;
                    } else {
                        if rida != ridb {
                            f(DiffEntry {
                                ident: ia,
                                old: Some(rida),
                                new: Some(ridb),
                            })?;
                        }
                        a = next(&mut ra)?;
                        b = next(&mut rb)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Kind and severity of a stored record.
    fn record_meta(&self, record_id: i64) -> Result<(String, Option<String>)> {
        Ok(self
            .conn()
            .prepare_cached("SELECT kind, severity FROM records WHERE id = ?1")?
            .query_row([record_id], |r| Ok((r.get(0)?, r.get(1)?)))?)
    }

    /// A stored record's canonical JSON.
    fn record_body(&self, record_id: i64) -> Result<String> {
        Ok(self
            .conn()
            .prepare_cached("SELECT body FROM records WHERE id = ?1")?
            .query_row([record_id], |r| r.get(0))?)
    }

    /// Streams a tool's active records (canonical JSON) matching `filter`.
    fn for_each_active_record(
        &self,
        tool_key: i64,
        filter: &RecordFilter,
        mut f: impl FnMut(&str) -> Result<()>,
    ) -> Result<u64> {
        let mut sql = String::from(
            "SELECT r.body FROM active_records a JOIN records r ON r.id = a.record WHERE a.tool = ?1",
        );
        let mut args: Vec<rusqlite::types::Value> = vec![tool_key.into()];
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
        let mut stmt = self.conn().prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let body: String = r.get(0)?;
            f(&body)?;
            n += 1;
        }
        Ok(n)
    }

    /// How many records a tool's active data holds.
    fn active_count(&self, tool_key: i64) -> Result<u64> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM active_records WHERE tool = ?1",
            [tool_key],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Internal key of a tool, if it is known.
    fn tool_key_of(&self, tool: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM tools WHERE name = ?1", [tool], |r| r.get(0))
            .optional()?)
    }

    /// Distinct stored records (for storage statistics).
    fn stored_record_count(&self) -> Result<u64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))?
            as u64)
    }
}

impl<T: Queries + ?Sized> RecordReads for T {}
