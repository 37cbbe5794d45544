//! Recomputing the chain's hashes on every core while the records are read.
//!
//! Recomputing a record's hash (its canonical JSON, then BLAKE3) is most of
//! a chain walk's work, and each record's hash depends only on the record.
//! So the walk is a pipeline: this thread reads the records in sequence
//! order (the store's connection stays on it) and cuts them into chunks;
//! hashing threads, one per core, recompute each chunk's hashes; this
//! thread takes the chunks back in sequence order and does the serial
//! checks, the links between records (inside a chunk and across its edges
//! alike) included. The checks see exactly the records, in exactly the
//! order, of a serial walk, so the outcome (the first failure, the records
//! checked) is the same; at most a few chunks past the first failure are
//! read and hashed for nothing. The records are made and dropped on this
//! thread only: freeing them on another would make the allocator's
//! threads contend.

use crate::domain::audit::AuditRecord;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;

/// Records per chunk.
pub(super) const CHUNK: usize = 1024;

/// One chunk of records in sequence order, each with its recomputed hash.
pub(super) struct Hashed {
    pub records: Vec<(u64, AuditRecord)>,
    pub hashes: Vec<blake3::Hash>,
}

/// How many hashing threads: one per core.
pub(super) fn hashing_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The chunks sent to be hashed and not yet checked, put back in order.
struct InOrder<F> {
    done: Receiver<(usize, Hashed)>,
    waiting: BTreeMap<usize, Hashed>,
    next: usize,
    sent: usize,
    check: F,
    stopped: bool,
}

impl<F: FnMut(Hashed) -> bool> InOrder<F> {
    /// Checks the chunks that are ready in order; waits for more while over
    /// `max_in_flight` are out (all of them with 0). False once `check`
    /// returned false.
    fn drain(&mut self, max_in_flight: usize) -> bool {
        while !self.stopped && self.next < self.sent {
            let h = match self.waiting.remove(&self.next) {
                Some(h) => h,
                None if self.sent - self.next > max_in_flight => match self.done.recv() {
                    Ok((i, h)) => {
                        self.waiting.insert(i, h);
                        continue;
                    }
                    // A hashing thread panicked; the scope re-raises it.
                    Err(_) => return false,
                },
                None => match self.done.try_recv() {
                    Ok((i, h)) => {
                        self.waiting.insert(i, h);
                        continue;
                    }
                    Err(_) => break,
                },
            };
            self.next += 1;
            self.stopped = !(self.check)(h);
        }
        !self.stopped
    }
}

/// Reads every record through `read` (which calls the function it is given
/// once per record, in sequence order, until that returns false), hashes
/// them in chunks of `chunk` on `threads` threads, and hands the chunks in
/// sequence order to `check` (on this thread), until it returns false.
///
/// An error from `read` is returned only when `check` never returned false
/// for a record read before it: a serial walk would have stopped at that
/// record's failure without reading further, and so does this one.
pub(super) fn walk_hashed<E>(
    threads: usize,
    chunk: usize,
    read: impl FnOnce(&mut dyn FnMut(u64, AuditRecord) -> bool) -> Result<(), E>,
    check: impl FnMut(Hashed) -> bool,
) -> Result<(), E> {
    let threads = threads.max(1);
    let chunk = chunk.max(1);
    let max_in_flight = threads * 2;
    let (to_hash, hash_rx) = channel::<(usize, Vec<(u64, AuditRecord)>)>();
    let (to_check, done) = channel::<(usize, Hashed)>();
    let hash_rx = Mutex::new(hash_rx);
    let skip = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (hash_rx, to_check, skip) = (&hash_rx, to_check.clone(), &skip);
            s.spawn(move || {
                // Digests, not strings, and one buffer: nothing this thread
                // allocates per record outlives it.
                let mut buf = Vec::with_capacity(1024);
                while let Some((i, records)) = next_chunk(hash_rx) {
                    if skip.load(Ordering::Relaxed) {
                        continue;
                    }
                    let hashes = records
                        .iter()
                        .map(|(_, r)| r.expected_digest(&mut buf))
                        .collect();
                    // Fails only when this thread's results are no longer
                    // wanted.
                    let _ = to_check.send((i, Hashed { records, hashes }));
                }
            });
        }
        drop(to_check);
        let mut order = InOrder {
            done,
            waiting: BTreeMap::new(),
            next: 0,
            sent: 0,
            check,
            stopped: false,
        };
        let mut pending = Vec::with_capacity(chunk);
        let result = read(&mut |seq, rec| {
            pending.push((seq, rec));
            if pending.len() < chunk {
                return true;
            }
            let full = std::mem::replace(&mut pending, Vec::with_capacity(chunk));
            let _ = to_hash.send((order.sent, full));
            order.sent += 1;
            order.drain(max_in_flight)
        });
        // What was read before the end (or a read error) is checked too.
        if !order.stopped && !pending.is_empty() {
            let _ = to_hash.send((order.sent, std::mem::take(&mut pending)));
            order.sent += 1;
        }
        order.drain(0);
        // Tells the hashing threads that nothing more comes.
        skip.store(true, Ordering::Relaxed);
        drop(to_hash);
        match result {
            Err(_) if order.stopped => Ok(()),
            other => other,
        }
    })
}

/// The next chunk to hash, or `None` when the reader is done.
fn next_chunk<T>(rx: &Mutex<Receiver<T>>) -> Option<T> {
    // A poisoned lock means another hashing thread panicked; the scope
    // re-raises that panic, so this one just stops.
    rx.lock().ok()?.recv().ok()
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
                    assert_eq!(format!("b3:{}", hash.to_hex()), r.expected_hash());
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
