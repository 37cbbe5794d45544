//! The external sort behind the writer's summary: each member's identity,
//! content hash, class and record id, sorted by identity in bounded memory.

use crate::domain::record::{IdentKey, RecordHash};
use crate::store::{Result, StoreError};

/// One member's part in the normalized hash.
#[derive(Clone, Copy)]
pub(super) struct SumEntry {
    pub(super) ident: IdentKey,
    pub(super) hash: RecordHash,
    /// Kind and severity, see [`super::hash::class_of`].
    pub(super) class: u8,
    /// The stored record (SQLite's writer; 0 where the id is not known yet).
    pub(super) rid: i64,
}

/// Bytes of a [`SumEntry`] in a spilled run.
const SUM_ENTRY_BYTES: usize = 16 + 32 + 1 + 8;
/// Entries sorted in memory before a run is spilled (12.8 MB).
const SUM_RUN_LEN: usize = 1 << 18;
/// Spilled runs merged into one when there are this many (bounds open files).
const SUM_MAX_RUNS: usize = 32;

fn spill_err(e: std::io::Error) -> StoreError {
    StoreError::TempFile(e)
}

/// Sorts a snapshot's [`SumEntry`]s by identity in bounded memory: runs of
/// [`SUM_RUN_LEN`] entries are sorted (stably) and spilled to temporary
/// files, then merged. Entries with the same identity (records to merge)
/// come out together, in the order they were pushed.
pub(super) struct SummarySorter {
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
    pub(super) fn push(&mut self, e: SumEntry) -> Result<()> {
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
            w.write_all(&e.rid.to_le_bytes())?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.rewind()?;
        self.runs.push(f);
        self.buf.clear();
        if self.runs.len() >= self.max_runs {
            let runs = std::mem::take(&mut self.runs);
            let mut w = std::io::BufWriter::with_capacity(1 << 16, tempfile::tempfile()?);
            merge_runs(runs, |group| {
                for e in group {
                    w.write_all(&e.ident)?;
                    w.write_all(&e.hash)?;
                    w.write_all(&[e.class])?;
                    w.write_all(&e.rid.to_le_bytes())?;
                }
                Ok(())
            })?;
            let mut f = w.into_inner().map_err(|e| e.into_error())?;
            f.rewind()?;
            self.runs.push(f);
        }
        Ok(())
    }

    /// Calls `f` with each identity's entries (in push order), in identity
    /// order.
    pub(super) fn finish(mut self, mut f: impl FnMut(&[SumEntry]) -> Result<()>) -> Result<()> {
        if self.runs.is_empty() {
            self.buf.sort_by_key(|e| e.ident);
            for group in self.buf.chunk_by(|a, b| a.ident == b.ident) {
                f(group)?;
            }
            return Ok(());
        }
        if !self.buf.is_empty() {
            self.spill().map_err(spill_err)?;
        }
        let mut failed = None;
        let merged = merge_runs(self.runs, |group| {
            f(group).map_err(|e| {
                failed = Some(e);
                std::io::Error::other("stopped")
            })
        });
        match (failed, merged) {
            (Some(e), _) => Err(e),
            (None, r) => r.map_err(spill_err),
        }
    }

    /// As [`finish`](Self::finish), with each identity's last entry only.
    pub(super) fn finish_last(self, mut f: impl FnMut(&SumEntry)) -> Result<()> {
        self.finish(|group| {
            if let Some(e) = group.last() {
                f(e);
            }
            Ok(())
        })
    }
}

/// Merges sorted runs (oldest first), calling `f` with each identity's
/// entries (oldest first) in identity order.
fn merge_runs(
    runs: Vec<std::fs::File>,
    mut f: impl FnMut(&[SumEntry]) -> std::io::Result<()>,
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
                    rid: i64::from_le_bytes(b[49..57].try_into().expect("8 bytes")),
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
    // Keyed by (identity, run, place in the run): equal identities come out
    // oldest run first, and in push order within a run (its sort is stable).
    let mut heap = std::collections::BinaryHeap::with_capacity(readers.len());
    let mut taken = vec![0u64; readers.len()];
    for (i, r) in readers.iter_mut().enumerate() {
        if let Some(e) = next(r)? {
            heap.push(Reverse((e.ident, i, 0u64, Entry(e))));
        }
    }
    let mut group: Vec<SumEntry> = Vec::new();
    while let Some(Reverse((ident, i, _, Entry(e)))) = heap.pop() {
        if let Some(n) = next(&mut readers[i])? {
            taken[i] += 1;
            heap.push(Reverse((n.ident, i, taken[i], Entry(n))));
        }
        if group.first().is_some_and(|g| g.ident != ident) {
            f(&group)?;
            group.clear();
        }
        group.push(e);
    }
    if !group.is_empty() {
        f(&group)?;
    }
    Ok(())
}

/// A [`SumEntry`] riding in the heap: ordered by the key beside it only.
struct Entry(SumEntry);

impl PartialEq for Entry {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

#[cfg(test)]
mod summary_sorter_tests {
    use super::*;

    fn entry(ident: u8, version: u8) -> SumEntry {
        SumEntry {
            ident: [ident; 16],
            hash: [version; 32],
            class: version % 3,
            rid: version as i64,
        }
    }

    /// Sorted by identity, each identity's entries together in push order,
    /// whether it all fits in memory, spills, or spills past `max_runs`.
    #[test]
    fn sorts_and_groups_the_entries_of_each_identity_in_push_order() {
        let mut pushed = Vec::new();
        let mut x: u32 = 7;
        for version in 0..200u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            pushed.push(entry((x >> 16) as u8 % 61, version as u8));
        }
        let mut expected = std::collections::BTreeMap::<_, Vec<_>>::new();
        for e in &pushed {
            expected
                .entry(e.ident)
                .or_default()
                .push((e.hash, e.class, e.rid));
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
            s.finish(|g| {
                got.push((
                    g[0].ident,
                    g.iter().map(|e| (e.hash, e.class, e.rid)).collect(),
                ));
                Ok(())
            })
            .unwrap();
            assert_eq!(got, expected, "run_len {run_len}, max_runs {max_runs}");
        }
    }
}
