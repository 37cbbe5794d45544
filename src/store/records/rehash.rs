//! Re-hashing stored records: reading them (a sequential scan or lookups
//! by id) and checking each body against its content address, with the
//! hashing on a second thread for large sets, so reading and hashing
//! overlap on two cores.

use super::hash::{class_columns, class_of, count_into, HashAcc, RecordsSummary};
use super::reads::{BadRecord, ContentHashes, DiffSide};
use crate::domain::record::{record_hash, IdentKey, NormalizedRecord, RecordHash};
use crate::domain::snapshot::RecordStats;
use crate::store::db::{p, Db};
use crate::store::{Result, StoreError};

/// One stored record as a re-hash reads it, borrowed from the row.
pub(super) struct Stored<'a> {
    id: i64,
    hash: &'a [u8],
    kind: &'a str,
    severity: Option<&'a str>,
    subject: &'a str,
    body: &'a [u8],
}

/// What a re-hash accumulates, record by record.
pub(super) struct Rehash {
    deep: bool,
    /// (identity, content hash), sorted by identity at the end.
    rows: Vec<(IdentKey, RecordHash)>,
    /// (record id, content hash), in record id order.
    content: Vec<(i64, RecordHash)>,
    stats: RecordStats,
    bad: Option<BadRecord>,
}

impl Rehash {
    pub(super) fn new(members: usize, deep: bool) -> Rehash {
        Rehash {
            deep,
            rows: Vec::with_capacity(members),
            content: Vec::with_capacity(members),
            stats: RecordStats::default(),
            bad: None,
        }
    }

    /// Re-hashes one record filed under `ident`; keeps the first problem.
    fn visit(&mut self, r: &Stored<'_>, ident: IdentKey) {
        let h = record_hash(r.body);
        if self.bad.is_none() {
            if r.hash != &h[..] {
                let identity = serde_json::from_slice::<NormalizedRecord>(r.body)
                    .map(|rec| rec.identity())
                    .unwrap_or_else(|_| "(unparseable record)".to_string());
                self.bad = Some(BadRecord {
                    record_id: r.id,
                    identity,
                });
            } else if self.deep {
                self.bad = deep_check(r, ident);
            }
        }
        count_into(&mut self.stats, r.kind, r.severity);
        self.rows.push((ident, h));
        self.content.push((r.id, h));
    }

    /// The summary, once every member was visited (`members` of them).
    pub(super) fn finish(
        mut self,
        side: DiffSide,
        members: usize,
    ) -> Result<(RecordsSummary, Option<BadRecord>, ContentHashes)> {
        if self.rows.len() != members {
            let whose = match side {
                DiffSide::Snapshot(_) => "the snapshot's",
                DiffSide::Active(_) => "the active data's",
            };
            return Err(StoreError::Corrupt(format!(
                "{} of {members} of {whose} records are missing from the record table",
                members - self.rows.len(),
            )));
        }
        self.rows.sort_unstable_by_key(|r| r.0);
        let mut acc = HashAcc::new();
        for (_, h) in &self.rows {
            acc.h.update(h);
        }
        acc.count = self.rows.len() as u64;
        acc.stats = self.stats;
        Ok((
            acc.finish(),
            self.bad,
            ContentHashes::from_sorted(self.content),
        ))
    }
}

/// The deep check of a record whose body matches its hash: its identity is
/// the key it is filed under, and the columns outside the hash agree with
/// the body.
fn deep_check(r: &Stored<'_>, ident: IdentKey) -> Option<BadRecord> {
    let bad = |identity: String| {
        Some(BadRecord {
            record_id: r.id,
            identity,
        })
    };
    let Ok(rec) = serde_json::from_slice::<NormalizedRecord>(r.body) else {
        return bad("(unparseable record)".to_string());
    };
    if rec.ident_key() != ident {
        return bad(format!("{}, filed under another identity", rec.identity()));
    }
    // The kind, severity and subject columns answer `ingest records`
    // filters and the stats but are outside the content hash: they must say
    // what the hashed body says.
    let (want_kind, want_sev) = class_columns(class_of(&rec));
    let (col, is, want) = if want_kind != r.kind {
        ("kind", r.kind.to_string(), want_kind.to_string())
    } else if want_sev != r.severity {
        (
            "severity",
            r.severity.unwrap_or("NULL").to_string(),
            want_sev.unwrap_or("NULL").to_string(),
        )
    } else if rec.subject != r.subject {
        ("subject", r.subject.to_string(), rec.subject.clone())
    } else {
        return None;
    };
    bad(format!(
        "{}, whose {col} column says {is:?} but its hashed body says {want:?}",
        rec.identity()
    ))
}

/// Dense members: one sequential scan over the record id range `lo..=hi`.
/// `members` is sorted by record id.
pub(super) fn scan_dense(
    db: Db<'_>,
    members: &[(i64, IdentKey)],
    (lo, hi): (i64, i64),
    visit: &mut dyn FnMut(&Stored<'_>, IdentKey),
) -> Result<()> {
    let mut j = 0;
    db.each(
        "SELECT id, hash, kind, severity, body, subject FROM records WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
        p![lo, hi],
        |r| {
            let rid = r.i64(0)?;
            while j < members.len() && members[j].0 < rid {
                j += 1;
            }
            // Legitimately one identity a record; a tampered store may file one
            // record under several, and each is checked.
            while j < members.len() && members[j].0 == rid {
                // Borrowed, not copied: this loop runs once a record.
                let stored = Stored {
                    id: rid,
                    hash: r.blob(1)?,
                    kind: r.str(2)?,
                    severity: r.opt_str(3)?,
                    subject: r.str(5)?,
                    body: r.bytes(4)?,
                };
                visit(&stored, members[j].1);
                j += 1;
            }
            Ok::<_, StoreError>(())
        },
    )
}

/// Sparse members: each record looked up, in record id order.
pub(super) fn scan_sparse(
    db: Db<'_>,
    members: &[(i64, IdentKey)],
    visit: &mut dyn FnMut(&Stored<'_>, IdentKey),
) -> Result<()> {
    for (rid, ident) in members {
        db.opt(
            "SELECT hash, kind, severity, body, subject FROM records WHERE id = ?1",
            p![*rid],
            |r| {
                let stored = Stored {
                    id: *rid,
                    hash: r.blob(0)?,
                    kind: r.str(1)?,
                    severity: r.opt_str(2)?,
                    subject: r.str(4)?,
                    body: r.bytes(3)?,
                };
                visit(&stored, *ident);
                Ok(())
            },
        )?;
    }
    Ok(())
}

/// Below this many members the hashing stays on the reading thread.
const PARALLEL_FROM: usize = 20_000;
/// Records a batch carries to the hashing thread.
const BATCH_RECORDS: usize = 2048;

impl Rehash {
    /// Feeds every record `read` produces through [`Rehash::visit`], in
    /// order. For large sets the visits run on a second thread, fed in
    /// batches (copies of the rows), so the engine's reading and the hashing
    /// overlap; the order, and so the first problem found, is the same.
    pub(super) fn run(
        mut self,
        members: usize,
        read: impl FnOnce(&mut dyn FnMut(&Stored<'_>, IdentKey)) -> Result<()>,
    ) -> Result<Rehash> {
        if members < PARALLEL_FROM {
            read(&mut |s, ident| self.visit(s, ident))?;
            return Ok(self);
        }
        std::thread::scope(|scope| {
            let (to_worker, batches) = std::sync::mpsc::sync_channel::<Batch>(4);
            let (recycle, spare) = std::sync::mpsc::channel::<Batch>();
            let worker = scope.spawn(move || {
                let mut re = self;
                for mut b in batches {
                    b.each(|s, ident| re.visit(s, ident));
                    b.clear();
                    // The reader may be gone (it failed); the batch is dropped.
                    let _ = recycle.send(b);
                }
                re
            });
            let mut cur = Batch::default();
            let read_result = read(&mut |s, ident| {
                cur.push(s, ident);
                if cur.ents.len() >= BATCH_RECORDS {
                    let next = spare.try_recv().unwrap_or_default();
                    // Only fails if the worker panicked; join reports it.
                    let _ = to_worker.send(std::mem::replace(&mut cur, next));
                }
            });
            if !cur.ents.is_empty() {
                let _ = to_worker.send(cur);
            }
            drop(to_worker);
            let re = worker
                .join()
                .map_err(|_| StoreError::Corrupt("the hashing thread failed".into()))?;
            read_result.map(|()| re)
        })
    }
}

/// Copies of stored rows, their bytes in one buffer (no allocation a row).
#[derive(Default)]
struct Batch {
    buf: Vec<u8>,
    ents: Vec<Ent>,
}

type Span = (usize, usize);

struct Ent {
    id: i64,
    ident: IdentKey,
    hash: Span,
    kind: Span,
    severity: Option<Span>,
    subject: Span,
    body: Span,
}

impl Batch {
    fn put(&mut self, bytes: &[u8]) -> Span {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        (start, bytes.len())
    }

    fn push(&mut self, s: &Stored<'_>, ident: IdentKey) {
        let e = Ent {
            id: s.id,
            ident,
            hash: self.put(s.hash),
            kind: self.put(s.kind.as_bytes()),
            severity: s.severity.map(|v| self.put(v.as_bytes())),
            subject: self.put(s.subject.as_bytes()),
            body: self.put(s.body),
        };
        self.ents.push(e);
    }

    fn each(&self, mut f: impl FnMut(&Stored<'_>, IdentKey)) {
        let bytes = |(start, len): Span| &self.buf[start..start + len];
        // Copied from `str`s, so always UTF-8.
        let text = |span: Span| std::str::from_utf8(bytes(span)).unwrap_or_default();
        for e in &self.ents {
            let stored = Stored {
                id: e.id,
                hash: bytes(e.hash),
                kind: text(e.kind),
                severity: e.severity.map(text),
                subject: text(e.subject),
                body: bytes(e.body),
            };
            f(&stored, e.ident);
        }
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.ents.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic stored rows: bodies hash to their stored hash except at
    /// the `tampered` positions.
    fn rows(n: usize, tampered: &[usize]) -> Vec<Row> {
        (0..n)
            .map(|i| {
                let body = format!("{{\"name\":\"pkg-{i}\"}}").into_bytes();
                let mut hash = record_hash(&body).to_vec();
                if tampered.contains(&i) {
                    hash[0] ^= 1;
                }
                let mut ident = [0u8; 16];
                ident[..8].copy_from_slice(&(n - i).to_be_bytes());
                (i as i64 + 1, ident, hash, body)
            })
            .collect()
    }

    type Row = (i64, IdentKey, Vec<u8>, Vec<u8>);
    type Visit<'v> = &'v mut dyn FnMut(&Stored<'_>, IdentKey);

    fn feed(rows: &[Row]) -> impl FnOnce(Visit<'_>) -> Result<()> + '_ {
        move |visit| {
            for (id, ident, hash, body) in rows {
                let s = Stored {
                    id: *id,
                    hash,
                    kind: "package",
                    severity: None,
                    subject: "img",
                    body,
                };
                visit(&s, *ident);
            }
            Ok(())
        }
    }

    /// The hashing thread sees the rows in the reader's order: the same
    /// first problem, summary and content hashes as one thread alone.
    #[test]
    fn hashing_on_a_second_thread_finds_what_one_thread_finds() {
        let n = PARALLEL_FROM + 3 * BATCH_RECORDS + 17;
        for tampered in [vec![], vec![n - 5], vec![BATCH_RECORDS, n - 1], vec![7]] {
            let data = rows(n, &tampered);
            let mut serial = Rehash::new(n, false);
            feed(&data)(&mut |s, i| serial.visit(s, i)).unwrap();
            let parallel = Rehash::new(n, false).run(n, feed(&data)).unwrap();
            let side = DiffSide::Snapshot(1);
            let (a, bad_a, hashes_a) = serial.finish(side, n).unwrap();
            let (b, bad_b, hashes_b) = parallel.finish(side, n).unwrap();
            assert_eq!(a, b);
            assert_eq!(bad_a, bad_b, "tampered at {tampered:?}");
            assert_eq!(
                bad_b.map(|x| x.record_id),
                tampered.first().map(|i| *i as i64 + 1)
            );
            assert_eq!(hashes_a.len(), hashes_b.len());
            assert_eq!(hashes_a.get(n as i64), hashes_b.get(n as i64));
        }
    }

    /// A reader that fails mid-way fails the run, with its own error.
    #[test]
    fn a_failing_reader_stops_the_run() {
        let n = PARALLEL_FROM + 1;
        let out = Rehash::new(n, false).run(n, |visit| {
            let s = Stored {
                id: 1,
                hash: &[0; 32],
                kind: "package",
                severity: None,
                subject: "img",
                body: b"{}",
            };
            for _ in 0..BATCH_RECORDS * 2 {
                visit(&s, [0; 16]);
            }
            Err(StoreError::Unavailable("gone".into()))
        });
        assert!(matches!(out, Err(StoreError::Unavailable(_))));
    }
}
