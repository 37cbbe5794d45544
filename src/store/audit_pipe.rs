//! The audit walk on two cores: this thread steps through the table and
//! copies each row's columns into reused batches; a second thread reads
//! them as [`AuditRow`]s and runs the walk (chain hashes, replay). The
//! records reach the walk in sequence order, one at a time, as in the
//! serial walk, so its findings are the same (issue 14).

use super::db::{p, R};
use super::pipe;
use super::{Queries, Result, StoreError};
use crate::domain::audit::canonical::is_canonical;
use crate::domain::audit::row::{AuditRow, RowDetails};
use crate::domain::time::parse_ts;
use chrono::{DateTime, Utc};

const BATCH_ROWS: usize = 2048;
/// Text columns after `seq`: id, event, timestamp, user, details, hash,
/// prev_hash, then the nullable tool and snapshot_id.
const TEXTS: usize = 9;

/// Copied columns of a run of rows.
#[derive(Default)]
struct Batch {
    text: String,
    rows: Vec<Copied>,
    /// Where the reader serializes a row to hash it.
    scratch: Vec<u8>,
}

/// One row: where each column ends in the batch's text, which nullable ones
/// are NULL, and what the reading side already made of two of them (it has
/// the time to spare: the walk is the longer of the two).
struct Copied {
    seq: i64,
    ends: [usize; TEXTS],
    null: [bool; 2],
    /// `None` if the stored timestamp does not parse.
    timestamp: Option<DateTime<Utc>>,
    canonical_details: bool,
    /// The row's chain digest, worked out here too: the walk's thread is
    /// the slower of the two (`None` where the row cannot be read).
    digest: Option<blake3::Hash>,
}

impl Batch {
    /// Copies row `r`; `digest`: and works out its chain digest.
    fn push(&mut self, r: &R<'_>, digest: bool) -> Result<()> {
        let start = self.text.len();
        let seq = r.i64(0)?;
        let mut ends = [0; TEXTS];
        let mut null = [false; 2];
        let (mut timestamp, mut canonical_details) = (None, false);
        for (i, end) in ends.iter_mut().enumerate() {
            let col = i + 1;
            let s = if col >= 8 {
                let s = r.opt_str(col)?;
                null[col - 8] = s.is_none();
                s.unwrap_or("")
            } else {
                r.str(col)?
            };
            match i {
                2 => timestamp = parse_ts(s).ok(),
                4 => canonical_details = is_canonical(s),
                _ => {}
            }
            self.text.push_str(s);
            *end = self.text.len();
        }
        let mut c = Copied {
            seq,
            ends,
            null,
            timestamp,
            canonical_details,
            digest: None,
        };
        if digest {
            if let Ok(row) = row(&self.text, start, &c) {
                c.digest = Some(row.expected_digest(&mut self.scratch));
            }
        }
        self.rows.push(c);
        Ok(())
    }

    /// Each row as the serial walk's `row_of` reads it, to `f`: `false`
    /// once `f` has seen enough.
    fn walk(&self, f: &mut impl FnMut(u64, &AuditRow<'_>) -> Result<bool>) -> Result<bool> {
        let mut start = 0;
        for c in &self.rows {
            if !f(c.seq as u64, &row(&self.text, start, c)?)? {
                return Ok(false);
            }
            start = c.ends[TEXTS - 1];
        }
        Ok(true)
    }
}

impl pipe::Batch for Batch {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }
}

/// Row `c`, whose text starts at `start` of `text`, as the serial walk's
/// `row_of` reads it, failing as it does.
fn row<'t>(text: &'t str, start: usize, c: &Copied) -> Result<AuditRow<'t>> {
    let (seq, ends, null) = (c.seq, &c.ends, &c.null);
    let col = |i: usize| {
        let from = if i == 0 { start } else { ends[i - 1] };
        &text[from..ends[i]]
    };
    let bad = |what: &str| StoreError::Corrupt(format!("audit-{seq}: unreadable {what}"));
    // In `row_of`'s order: the timestamp is checked first.
    let timestamp = c.timestamp.ok_or_else(|| bad("timestamp"))?;
    let details = match c.canonical_details {
        true => RowDetails::Canonical(col(4)),
        false => RowDetails::parse(col(4)).map_err(|_| bad("details"))?,
    };
    Ok(AuditRow {
        id: col(0),
        event: col(1),
        timestamp,
        user: col(3),
        details,
        hash: col(5),
        prev_hash: col(6),
        tool: (!null[0]).then(|| col(7)),
        snapshot_id: (!null[1]).then(|| col(8)),
        digest: c.digest,
    })
}

/// Why a walk's reading ended early: the walk had seen enough, or an error.
pub(super) enum Stop {
    Enough,
    Failed(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Failed(e)
    }
}

impl Stop {
    /// The walk's outcome: seeing enough is success.
    pub(super) fn into_result(self) -> Result<()> {
        match self {
            Stop::Enough => Ok(()),
            Stop::Failed(e) => Err(e),
        }
    }
}

/// A row the chain cannot be read from is a broken chain.
pub(super) fn broken(e: StoreError) -> StoreError {
    match e {
        StoreError::Corrupt(_) => e,
        other => StoreError::Corrupt(other.to_string()),
    }
}

/// [`super::audit::AuditReads::audit_walk_rows`], with `f` run on a second
/// thread where there is a second core.
pub(super) fn walk_rows<Q: Queries + ?Sized>(
    q: &Q,
    sql: &str,
    f: impl FnMut(u64, &AuditRow<'_>) -> Result<bool> + Send,
) -> Result<()> {
    // The walk's thread is usually the slower: while it has a batch
    // waiting, this one works out the rows' digests for it.
    walk_rows_with(q, sql, f, pipe::Handoff::ahead)
}

/// [`walk_rows`], with `digest_here` saying, row by row, whether the reading
/// thread works out the row's chain digest.
fn walk_rows_with<Q: Queries + ?Sized>(
    q: &Q,
    sql: &str,
    f: impl FnMut(u64, &AuditRow<'_>) -> Result<bool> + Send,
    digest_here: fn(&pipe::Handoff<Batch>) -> bool,
) -> Result<()> {
    let mut f = f;
    // The walk's error, if it ended on one.
    let mut failed = None;
    let (read, stopped) = pipe::run(
        |b: &Batch| match b.walk(&mut f) {
            Ok(go_on) => go_on,
            Err(e) => {
                failed = Some(e);
                false
            }
        },
        |h| {
            q.db().each(sql, p![], |r| {
                let digest = digest_here(h);
                h.cur.push(r, digest).map_err(broken)?;
                // Refused once the walk has stopped: the rest is not read.
                if h.cur.rows.len() >= BATCH_ROWS && !h.send() {
                    return Err(Stop::Enough);
                }
                Ok(())
            })
        },
    )?;
    // The walk's own outcome comes first: it is about earlier rows than
    // anything the reader met after them, and once it had seen enough the
    // reader's later rows do not count.
    if let Some(e) = failed {
        return Err(e);
    }
    if stopped {
        return Ok(());
    }
    read.or_else(Stop::into_result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audit::{AuditEvent, NewAudit};
    use crate::store::{OpenMode, Store};
    use chrono::{Duration, TimeZone};

    /// A digest the reading thread works out is the one the walk would:
    /// for every row, edited or not, with canonical details or not, across
    /// several batches. (The walk then checks it as its own.)
    #[test]
    fn the_readers_digest_is_the_one_the_walk_works_out() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("store.db");
        let mut store = Store::open(&db, OpenMode::ReadWrite).unwrap();
        let t0 = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
        let n = 2 * BATCH_ROWS as i64 + 7;
        store
            .write(|tx| -> Result<()> {
                for i in 0..n {
                    tx.append_audit(&NewAudit {
                        event: AuditEvent::SnapshotActivated,
                        timestamp: t0 + Duration::seconds(i),
                        user: "tester".into(),
                        tool: (i % 3 != 0).then(|| "syft".into()),
                        snapshot_id: None,
                        details: serde_json::json!({"snapshotId": format!("syft-x-{i}")}),
                    })?;
                }
                Ok(())
            })
            .unwrap();
        drop(store);
        let c = rusqlite::Connection::open(&db).unwrap();
        c.execute_batch(
            r#"UPDATE audit SET user = 'mallory' WHERE seq = 3000;
               UPDATE audit SET details = '{ "snapshotId" : "syft-x-9" }' WHERE seq = 10;"#,
        )
        .unwrap();
        drop(c);
        let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
        let sql = format!(
            "SELECT {} FROM audit ORDER BY seq ASC",
            super::super::audit::COLUMNS
        );
        let mut buf = Vec::new();
        let (mut rows, mut edited) = (0, 0);
        walk_rows_with(
            &store,
            &sql,
            |_, row| {
                rows += 1;
                let own = row.expected_digest(&mut buf);
                assert_eq!(row.digest, Some(own), "{}", row.id);
                edited += usize::from(row.hash.strip_prefix("b3:") != Some(own.to_hex().as_str()));
                Ok(true)
            },
            |_| true,
        )
        .unwrap();
        assert_eq!(rows, n);
        // The user edited: its digest no longer matches its stored hash.
        // (Reformatted details hash as their value: the record still matches.)
        assert_eq!(edited, 1);
    }
}
