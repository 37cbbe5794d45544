//! Recomputing the chain's hashes on every core while the records are read.
//!
//! Recomputing a record's hash (its canonical JSON, then BLAKE3) is most of
//! a chain walk's work, and each record's hash depends only on the record.
//! So the walk is a pipeline: this thread reads the records in sequence
//! order (the store's connection stays on it) and cuts them into chunks;
//! hashing threads, one per core, recompute each chunk's hashes; one more
//! thread takes the chunks back in sequence order and does the serial
//! checks, the links between records (inside a chunk and across its
//! edges alike) included. The checks see exactly the records, in exactly
//! the order, of a serial walk, so the outcome (the first failure, the
//! records checked) is the same; at most a few chunks past the first
//! failure are read and hashed for nothing.

use crate::domain::audit::AuditRecord;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

/// Records per chunk.
pub(super) const CHUNK: usize = 1024;

/// One chunk of records in sequence order, each with its recomputed hash.
pub(super) struct Hashed {
    pub records: Vec<(u64, AuditRecord)>,
    pub hashes: Vec<String>,
}

/// How many hashing threads: one per core.
pub(super) fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Reads every record through `read` (which calls the function it is given
/// once per record, in sequence order, until that returns false), hashes
/// them in chunks of `chunk` on `threads` threads, and hands the chunks in
/// sequence order to `check`, until it returns false.
///
/// An error from `read` is returned only when `check` never returned false
/// for a record read before it: a serial walk would have stopped at that
/// record's failure without reading further, and so does this one.
pub(super) fn walk_hashed<E>(
    threads: usize,
    chunk: usize,
    read: impl FnOnce(&mut dyn FnMut(u64, AuditRecord) -> bool) -> Result<(), E>,
    check: impl FnMut(Hashed) -> bool + Send,
) -> Result<(), E> {
    let threads = threads.max(1);
    let chunk = chunk.max(1);
    let stopped = AtomicBool::new(false);
    let (to_hash, hash_rx) = sync_channel::<(usize, Vec<(u64, AuditRecord)>)>(threads * 2);
    let (to_check, check_rx) = sync_channel::<(usize, Hashed)>(threads * 2);
    let hash_rx = Mutex::new(hash_rx);
    let read_result = std::thread::scope(|s| {
        let stopped = &stopped;
        for _ in 0..threads {
            let (hash_rx, to_check) = (&hash_rx, to_check.clone());
            s.spawn(move || {
                // Runs until the reader is done, so that the reader never
                // waits on a full channel nobody empties.
                while let Some((i, records)) = next_chunk(hash_rx) {
                    if stopped.load(Ordering::Relaxed) {
                        continue;
                    }
                    let hashes = records.iter().map(|(_, r)| r.expected_hash()).collect();
                    // Fails only once the check has stopped.
                    let _ = to_check.send((i, Hashed { records, hashes }));
                }
            });
        }
        drop(to_check);
        s.spawn(move || in_order(check_rx, check, stopped));

        let mut pending = Vec::with_capacity(chunk);
        let mut index = 0usize;
        // Owns the channel's sender: dropping it tells the hashing threads
        // that the reading is done.
        let mut send = move |records: Vec<(u64, AuditRecord)>| {
            let sent = to_hash.send((index, records)).is_ok();
            index += 1;
            sent && !stopped.load(Ordering::Relaxed)
        };
        let result = read(&mut |seq, rec| {
            pending.push((seq, rec));
            if pending.len() < chunk {
                return !stopped.load(Ordering::Relaxed);
            }
            send(std::mem::replace(&mut pending, Vec::with_capacity(chunk)))
        });
        // What was read before the end (or a read error) is checked too.
        if !pending.is_empty() && !stopped.load(Ordering::Relaxed) {
            send(pending);
        }
        drop(send);
        result
        // The scope joins every thread: every chunk sent has been checked.
    });
    match read_result {
        Err(_) if stopped.load(Ordering::Relaxed) => Ok(()),
        other => other,
    }
}

/// The next chunk to hash, or `None` when the reader is done.
fn next_chunk<T>(rx: &Mutex<Receiver<T>>) -> Option<T> {
    // A poisoned lock means another hashing thread panicked; the scope
    // re-raises that panic, so this one just stops.
    rx.lock().ok()?.recv().ok()
}

/// Hands the hashed chunks to `check` in the order they were read, until it
/// returns false (then sets `stopped`) or the chunks run out.
fn in_order(
    rx: Receiver<(usize, Hashed)>,
    mut check: impl FnMut(Hashed) -> bool,
    stopped: &AtomicBool,
) {
    let mut waiting: BTreeMap<usize, Hashed> = BTreeMap::new();
    let mut next = 0usize;
    for (i, h) in rx {
        waiting.insert(i, h);
        while let Some(h) = waiting.remove(&next) {
            next += 1;
            if !check(h) {
                stopped.store(true, Ordering::Relaxed);
                // Dropping the receiver ends the hashing threads' sends.
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::GENESIS_HASH;
    use chrono::{TimeZone, Utc};

    fn chain(n: u64) -> Vec<(u64, AuditRecord)> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = AuditRecord {
                    id: crate::domain::audit::audit_id(seq),
                    event: "snapshot_activated".into(),
                    timestamp: Utc.with_ymd_and_hms(2025, 12, 4, 0, 0, 0).unwrap(),
                    user: "ann".into(),
                    details: serde_json::json!({ "n": seq }),
                    hash: String::new(),
                    prev_hash: prev.clone(),
                    tool: None,
                    snapshot_id: None,
                };
                r.hash = r.expected_hash();
                prev = r.hash.clone();
                (seq, r)
            })
            .collect()
    }

    /// Runs the pipeline over `records`, stopping the check at `stop_at`,
    /// with a read error after `fail_after` records; returns the sequence
    /// numbers checked and the result.
    fn run(
        records: &[(u64, AuditRecord)],
        threads: usize,
        chunk: usize,
        stop_at: Option<u64>,
        fail_after: Option<usize>,
    ) -> (Vec<u64>, Result<(), &'static str>) {
        let mut seen = Vec::new();
        let result = walk_hashed(
            threads,
            chunk,
            |f| {
                for (i, (seq, r)) in records.iter().enumerate() {
                    if Some(i) == fail_after {
                        return Err("unreadable row");
                    }
                    if !f(*seq, r.clone()) {
                        break;
                    }
                }
                Ok(())
            },
            |h| {
                for ((seq, r), hash) in h.records.iter().zip(&h.hashes) {
                    assert_eq!(*hash, r.expected_hash());
                    seen.push(*seq);
                    if Some(*seq) == stop_at {
                        return false;
                    }
                }
                true
            },
        );
        (seen, result)
    }

    #[test]
    fn chunks_come_back_in_order_with_their_hashes() {
        let records = chain(1000);
        for (threads, chunk) in [(1, 1), (2, 7), (4, 64), (3, 5000)] {
            let (seen, r) = run(&records, threads, chunk, None, None);
            assert!(r.is_ok());
            assert_eq!(
                seen,
                (1..=1000).collect::<Vec<_>>(),
                "{threads} threads, chunks of {chunk}"
            );
        }
    }

    #[test]
    fn a_stop_ends_the_walk_and_hides_a_later_read_error() {
        let records = chain(500);
        let (seen, r) = run(&records, 2, 16, Some(40), Some(300));
        assert_eq!(seen, (1..=40).collect::<Vec<_>>());
        assert!(
            r.is_ok(),
            "the failure at 40 comes before the unreadable row"
        );
    }

    #[test]
    fn a_read_error_before_any_stop_is_returned_after_the_rows_before_it() {
        let records = chain(500);
        let (seen, r) = run(&records, 2, 16, None, Some(300));
        assert_eq!(seen, (1..=300).collect::<Vec<_>>());
        assert_eq!(r, Err("unreadable row"));
        let (seen, r) = run(&records, 2, 16, Some(301), Some(300));
        assert_eq!(seen.len(), 300);
        assert_eq!(r, Err("unreadable row"));
    }
}
