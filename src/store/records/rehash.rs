//! Re-hashing a side's records for verification. The reading thread only
//! reads: it copies rows into reused batches that a second thread hashes
//! and checks, so BLAKE3 runs beside the database's own reading (SQLite's
//! page walk, PostgreSQL's `COPY`) instead of after it, row by row.

use super::hash::{class_columns, class_of, count_into, RecordsSummary};
use super::reads::{BadRecord, ContentHashes, DiffSide};
use super::unordered::{missing, ByRecord};
use crate::domain::record::{record_hash, IdentKey, NormalizedRecord, RecordHash};
use crate::domain::snapshot::RecordStats;
use crate::store::pipe::{self, Handoff};
use crate::store::{Result, StoreError};

/// A batch goes to the hashing thread once it holds this many rows...
const BATCH_ROWS: usize = 4096;
/// ...or this many bytes (a record body may be large).
const BATCH_BYTES: usize = 2 << 20;
/// Re-hashes what `read` feeds (`members` records), on a second thread
/// where there is a second core.
pub(super) fn run(
    members: usize,
    deep: bool,
    read: impl FnOnce(&mut Feed<'_>) -> Result<()>,
) -> Result<Rehash> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Small sides are not worth a thread.
    let threaded = cores >= 2 && members >= BATCH_ROWS;
    run_with(
        members,
        deep,
        read,
        threaded.then_some(Handoff::<Batch>::ahead),
    )
}

/// [`run`], threaded where `check_here` says, record by record, whether the
/// reading thread hashes and checks it.
fn run_with(
    members: usize,
    deep: bool,
    read: impl FnOnce(&mut Feed<'_>) -> Result<()>,
    check_here: Option<fn(&Handoff<Batch>) -> bool>,
) -> Result<Rehash> {
    let Some(check_here) = check_here else {
        let mut feed = Feed::Inline(Rehash::new(members, deep));
        read(&mut feed)?;
        let Feed::Inline(re) = feed else {
            unreachable!("the feed stays inline")
        };
        return Ok(re);
    };
    let mut re = Rehash::new(members, deep);
    let (read, _) = pipe::run(
        |b: &Batch| {
            b.visit_all(&mut re);
            true
        },
        |to| {
            read(&mut Feed::Threaded {
                to,
                deep,
                check_here,
            })
        },
    )?;
    read.map(|()| re)
}

/// Where the reading side puts each record.
pub(super) enum Feed<'h> {
    Inline(Rehash),
    /// To the hashing thread.
    Threaded {
        to: &'h mut Handoff<Batch>,
        deep: bool,
        /// Whether this thread hashes and checks a record itself.
        check_here: fn(&Handoff<Batch>) -> bool,
    },
}

impl Feed<'_> {
    /// One record filed under `ident`.
    pub(super) fn push(&mut self, r: &Stored<'_>, ident: IdentKey) {
        match self {
            Feed::Inline(re) => re.visit(r, ident, None),
            Feed::Threaded {
                to: h,
                deep,
                check_here,
            } => {
                // The hashing thread is the slower where the check is deep
                // (it parses every body): while it has a batch waiting, this
                // one hashes and checks the record for it.
                let pre = check_here(h).then(|| Checked::of(r, ident, *deep));
                h.cur.push(r, ident, pre);
                if h.cur.rows.len() >= BATCH_ROWS || h.cur.bytes.len() >= BATCH_BYTES {
                    // Refused only once the worker is gone; `run` reports it.
                    h.send();
                }
            }
        }
    }
}

/// Rows copied out of the database's buffers: one byte arena, and per row
/// where each of its fields ends in it.
#[derive(Default)]
pub(super) struct Batch {
    bytes: Vec<u8>,
    rows: Vec<Row>,
}

struct Row {
    id: i64,
    ident: IdentKey,
    /// Ends of the stored hash, kind, severity, subject and body.
    ends: [usize; 5],
    has_severity: bool,
    pre: Option<Checked>,
}

/// A record's content hash and, where the check is deep, whether the deep
/// check passes, worked out on the reading thread.
#[derive(Clone, Copy)]
struct Checked {
    hash: RecordHash,
    /// `false` only where the body matches its hash and the deep check finds
    /// a problem (which the hashing thread then words).
    deep_ok: bool,
}

impl Checked {
    fn of(r: &Stored<'_>, ident: IdentKey, deep: bool) -> Checked {
        let hash = record_hash(r.body);
        let deep_ok = !deep || r.hash != &hash[..] || deep_check(r, ident).is_none();
        Checked { hash, deep_ok }
    }
}

impl Batch {
    fn push(&mut self, r: &Stored<'_>, ident: IdentKey, pre: Option<Checked>) {
        let mut ends = [0; 5];
        let parts = [
            r.hash,
            r.kind.as_bytes(),
            r.severity.unwrap_or("").as_bytes(),
            r.subject.as_bytes(),
            r.body,
        ];
        for (end, part) in ends.iter_mut().zip(parts) {
            self.bytes.extend_from_slice(part);
            *end = self.bytes.len();
        }
        self.rows.push(Row {
            id: r.id,
            ident,
            ends,
            has_severity: r.severity.is_some(),
            pre,
        });
    }

    fn visit_all(&self, re: &mut Rehash) {
        let mut start = 0;
        for row in &self.rows {
            let part = |i: usize| {
                let from = if i == 0 { start } else { row.ends[i - 1] };
                &self.bytes[from..row.ends[i]]
            };
            // Copied from `&str`s, so always UTF-8.
            let text = |i: usize| std::str::from_utf8(part(i)).unwrap_or_default();
            let stored = Stored {
                id: row.id,
                hash: part(0),
                kind: text(1),
                severity: row.has_severity.then(|| text(2)),
                subject: text(3),
                body: part(4),
            };
            re.visit(&stored, row.ident, row.pre);
            start = row.ends[4];
        }
    }
}

impl pipe::Batch for Batch {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn clear(&mut self) {
        self.bytes.clear();
        self.rows.clear();
    }
}

/// One stored record as a re-hash reads it, borrowed from the row.
pub(super) struct Stored<'a> {
    pub id: i64,
    pub hash: &'a [u8],
    pub kind: &'a str,
    pub severity: Option<&'a str>,
    pub subject: &'a str,
    pub body: &'a [u8],
}

/// What a re-hash accumulates, record by record.
pub(super) struct Rehash {
    deep: bool,
    /// (record id, content hash), in record id order.
    content: Vec<(i64, RecordHash)>,
    stats: RecordStats,
    bad: Option<BadRecord>,
}

impl Rehash {
    fn new(members: usize, deep: bool) -> Rehash {
        Rehash {
            deep,
            content: Vec::with_capacity(members),
            stats: RecordStats::default(),
            bad: None,
        }
    }

    /// Re-hashes one record filed under `ident` (unless `pre` did); keeps
    /// the first problem.
    fn visit(&mut self, r: &Stored<'_>, ident: IdentKey, pre: Option<Checked>) {
        let h = pre.map_or_else(|| record_hash(r.body), |p| p.hash);
        if self.bad.is_none() {
            if r.hash != &h[..] {
                let identity = serde_json::from_slice::<NormalizedRecord>(r.body)
                    .map(|rec| rec.identity())
                    .unwrap_or_else(|_| "(unparseable record)".to_string());
                self.bad = Some(BadRecord {
                    record_id: r.id,
                    identity,
                });
            } else if self.deep && pre.is_none_or(|p| !p.deep_ok) {
                self.bad = deep_check(r, ident);
            }
        }
        count_into(&mut self.stats, r.kind, r.severity);
        self.content.push((r.id, h));
    }

    /// The summary, once every one of `by`'s members was visited, in its
    /// order (`in_order`: the same members in identity order).
    pub(super) fn finish(
        self,
        side: DiffSide,
        by: &ByRecord,
        in_order: Vec<(IdentKey, i64)>,
    ) -> Result<(RecordsSummary, Option<BadRecord>, ContentHashes)> {
        let members = by.len();
        if self.content.len() != members {
            return Err(missing(side, members, self.content.len()));
        }
        let visited_in_order = |k: usize| {
            let (rid, h) = self.content[k];
            (rid == by.members[k].0).then_some(h)
        };
        let Some(mut acc) = by.hash(visited_in_order) else {
            return Err(StoreError::Corrupt(
                "a re-hash visited a side's records out of their order".into(),
            ));
        };
        acc.stats = self.stats;
        let summary = acc.finish();
        let hashes = ContentHashes {
            by_record: self.content,
            side,
            members: in_order,
            normalized_hash: summary.normalized_hash.clone(),
        };
        Ok((summary, self.bad, hashes))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::record::{NormalizedRecord, RecordKind};

    /// Records as a side's scan reads them: bodies, stored hashes, columns.
    fn records(n: usize) -> Vec<(Vec<u8>, RecordHash, IdentKey, String)> {
        (0..n)
            .map(|i| {
                let rec = NormalizedRecord {
                    ecosystem: "npm".into(),
                    kind: RecordKind::Package,
                    licenses: vec![],
                    locations: vec![],
                    name: format!("p{i}"),
                    package_id: format!("pkg:npm/p{i}@1"),
                    purl: Some(format!("pkg:npm/p{i}@1")),
                    subject: format!("p{i}@1"),
                    version: "1".into(),
                    vulnerability: None,
                };
                let body = rec.canonical_json();
                (
                    record_hash(&body),
                    rec.ident_key(),
                    rec.subject.clone(),
                    body,
                )
            })
            .map(|(h, k, subject, body)| (body, h, k, subject))
            .collect()
    }

    /// The first problem (record id, identity), and the content hashes by
    /// record id.
    type Outcome = (Option<(i64, String)>, Vec<(i64, RecordHash)>);

    /// What a re-hash reports for `recs`, whose record `bad_hash` has
    /// another stored hash and `bad_subject` another subject column.
    fn rehash(
        recs: &[(Vec<u8>, RecordHash, IdentKey, String)],
        (bad_hash, bad_subject): (usize, usize),
        check_here: Option<fn(&Handoff<Batch>) -> bool>,
    ) -> Outcome {
        let re = run_with(
            recs.len(),
            true,
            |feed| {
                for (i, (body, hash, ident, subject)) in recs.iter().enumerate() {
                    let other = [0u8; 32];
                    let stored = Stored {
                        id: i as i64 + 1,
                        hash: if i == bad_hash { &other } else { hash },
                        kind: "package",
                        severity: None,
                        subject: if i == bad_subject { "else" } else { subject },
                        body,
                    };
                    feed.push(&stored, *ident);
                }
                Ok(())
            },
            check_here,
        )
        .unwrap();
        let bad = re.bad.as_ref().map(|b| (b.record_id, b.identity.clone()));
        (bad, re.content)
    }

    /// Hashed and checked on the reading thread, a record gives what the
    /// hashing thread would have: the same content hashes, and the same
    /// first problem (a body that does not match its hash, or a column
    /// that does not match its body), in any order of the two.
    #[test]
    fn a_record_checked_on_the_reading_thread_reads_as_on_the_hashing_thread() {
        let recs = records(3 * BATCH_ROWS + 5);
        let always: fn(&Handoff<Batch>) -> bool = |_| true;
        let never: fn(&Handoff<Batch>) -> bool = |_| false;
        for bad in [
            (5000, 9000),
            (9000, 5000),
            (usize::MAX, 4095),
            (4096, usize::MAX),
        ] {
            let inline = rehash(&recs, bad, None);
            assert!(inline.0.is_some());
            assert_eq!(rehash(&recs, bad, Some(always)), inline, "{bad:?}");
            assert_eq!(rehash(&recs, bad, Some(never)), inline, "{bad:?}");
        }
        let clean = rehash(&recs, (usize::MAX, usize::MAX), Some(always));
        assert_eq!(clean.0, None);
        assert_eq!(clean, rehash(&recs, (usize::MAX, usize::MAX), None));
    }
}
