//! The audit chain's rows.

use super::db::{p, Owned, R, V};
use super::{Queries, Result, StoreError, WriteTx};
use crate::domain::audit::row::{AuditRow, RowDetails};
use crate::domain::audit::{audit_id, chain_hash, AuditRecord, NewAudit, GENESIS_HASH};
use crate::domain::time::{fmt_ts, parse_ts};
use chrono::{DateTime, Utc};

/// Filters for listing audit records; all optional, combined with AND.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub event: Option<String>,
    pub tool: Option<String>,
    pub user: Option<String>,
    pub snapshot_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Case-insensitive text anywhere in the record.
    pub text: Option<String>,
    /// Only records with a sequence below this (paging newest first).
    pub before_seq: Option<u64>,
    /// Only records with a sequence above this (paging oldest first).
    pub after_seq: Option<u64>,
    pub limit: Option<u64>,
    pub oldest_first: bool,
}

pub(super) const COLUMNS: &str =
    "seq, id, event, timestamp, \"user\", details, hash, prev_hash, tool, snapshot_id";

fn from_row(r: &R<'_>) -> Result<(u64, AuditRecord)> {
    let seq = r.i64(0)?;
    let bad = |what: &str| StoreError::Corrupt(format!("audit-{seq}: unreadable {what}"));
    Ok((
        seq as u64,
        AuditRecord {
            id: r.string(1)?,
            event: r.string(2)?,
            timestamp: parse_ts(r.str(3)?).map_err(|_| bad("timestamp"))?,
            user: r.string(4)?,
            details: serde_json::from_str(r.str(5)?).map_err(|_| bad("details"))?,
            hash: r.string(6)?,
            prev_hash: r.string(7)?,
            tool: r.opt_string(8)?,
            snapshot_id: r.opt_string(9)?,
        },
    ))
}

/// A row as [`from_row`] reads it, borrowed: the same columns, checked in
/// the same order, failing the same way.
fn row_of<'r>(r: &'r R<'_>) -> Result<(u64, AuditRow<'r>)> {
    let seq = r.i64(0)?;
    let bad = |what: &str| StoreError::Corrupt(format!("audit-{seq}: unreadable {what}"));
    Ok((
        seq as u64,
        AuditRow {
            id: r.str(1)?,
            event: r.str(2)?,
            timestamp: parse_ts(r.str(3)?).map_err(|_| bad("timestamp"))?,
            user: r.str(4)?,
            details: RowDetails::parse(r.str(5)?).map_err(|_| bad("details"))?,
            hash: r.str(6)?,
            prev_hash: r.str(7)?,
            tool: r.opt_str(8)?,
            snapshot_id: r.opt_str(9)?,
            digest: None,
        },
    ))
}

pub trait AuditReads: Queries {
    fn audit_get(&self, seq: u64) -> Result<Option<AuditRecord>> {
        Ok(self
            .db()
            .opt(
                &format!("SELECT {COLUMNS} FROM audit WHERE seq = ?1"),
                p![seq as i64],
                from_row,
            )?
            .map(|(_, r)| r))
    }

    /// Matching records with their sequence numbers.
    fn audit_list(&self, f: &AuditFilter) -> Result<Vec<(u64, AuditRecord)>> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit WHERE 1=1");
        let mut args: Vec<Owned> = Vec::new();
        let mut push = |sql: &mut String, cond: &str, v: Owned| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(e) = &f.event {
            push(&mut sql, " AND event = ?", e.clone().into());
        }
        if let Some(t) = &f.tool {
            push(&mut sql, " AND tool = ?", t.clone().into());
        }
        if let Some(u) = &f.user {
            push(&mut sql, " AND \"user\" = ?", u.clone().into());
        }
        if let Some(s) = &f.snapshot_id {
            push(&mut sql, " AND snapshot_id = ?", s.clone().into());
        }
        if let Some(t) = f.since {
            push(&mut sql, " AND timestamp >= ?", fmt_ts(t).into());
        }
        if let Some(t) = f.until {
            push(&mut sql, " AND timestamp <= ?", fmt_ts(t).into());
        }
        if let Some(q) = &f.text {
            let like = format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            args.push(like.into());
            let n = args.len();
            // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does too.
            let like = if self.db().is_pg() { "ILIKE" } else { "LIKE" };
            sql.push_str(&format!(
                " AND (id {like} ?{n} ESCAPE '\\' OR event {like} ?{n} ESCAPE '\\' OR \"user\" {like} ?{n} ESCAPE '\\' OR details {like} ?{n} ESCAPE '\\')"
            ));
        }
        if let Some(b) = f.before_seq {
            args.push((b as i64).into());
            sql.push_str(&format!(" AND seq < ?{}", args.len()));
        }
        if let Some(a) = f.after_seq {
            args.push((a as i64).into());
            sql.push_str(&format!(" AND seq > ?{}", args.len()));
        }
        sql.push_str(if f.oldest_first {
            " ORDER BY seq ASC"
        } else {
            " ORDER BY seq DESC"
        });
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let args: Vec<V<'_>> = args.iter().map(Owned::v).collect();
        self.db().all(&sql, &args, from_row)
    }

    /// Walks every record in sequence order.
    fn audit_walk(&self, mut f: impl FnMut(u64, AuditRecord) -> Result<bool>) -> Result<()> {
        self.audit_walk_rows(|seq, row| f(seq, row.to_record()))
    }

    /// [`AuditReads::audit_walk`] with each record read in place, for
    /// walks over the whole trail: its text borrowed from the row, its
    /// details parsed only where their text is not canonical.
    /// [`AuditReads::audit_walk_rows`] with `f` on a second thread where
    /// there is a second core (the whole trail's walk in `audit verify`).
    fn audit_walk_rows_par(
        &self,
        f: impl FnMut(u64, &AuditRow<'_>) -> Result<bool> + Send,
    ) -> Result<()> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cores < 2 {
            return self.audit_walk_rows(f);
        }
        super::audit_pipe::walk_rows(
            self,
            &format!("SELECT {COLUMNS} FROM audit ORDER BY seq ASC"),
            f,
        )
    }

    fn audit_walk_rows(&self, mut f: impl FnMut(u64, &AuditRow<'_>) -> Result<bool>) -> Result<()> {
        use super::audit_pipe::Stop;
        let r = self.db().each(
            &format!("SELECT {COLUMNS} FROM audit ORDER BY seq ASC"),
            p![],
            |r| {
                let (seq, row) = row_of(r).map_err(super::audit_pipe::broken)?;
                if f(seq, &row)? {
                    Ok(())
                } else {
                    Err(Stop::Enough)
                }
            },
        );
        r.or_else(Stop::into_result)
    }

    /// The last record's sequence number and hash.
    fn audit_head(&self) -> Result<Option<(u64, String)>> {
        self.db().opt(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            p![],
            |r| Ok((r.i64(0)? as u64, r.string(1)?)),
        )
    }

    fn audit_count(&self) -> Result<u64> {
        Ok(self
            .db()
            .one("SELECT count(*) FROM audit", p![], |r| r.i64(0))? as u64)
    }

    /// The record a purge left as the chain's new anchor, if any: the hash
    /// the first remaining record links to. Kept in `meta`.
    fn audit_anchor(&self) -> Result<Option<(u64, String)>> {
        let v: Option<String> = self.db().opt(
            "SELECT value FROM meta WHERE key = 'audit_anchor'",
            p![],
            |r| r.string(0),
        )?;
        Ok(v.and_then(|v| {
            let (seq, hash) = v.split_once(' ')?;
            Some((seq.parse().ok()?, hash.to_string()))
        }))
    }
}

impl<T: Queries + ?Sized> AuditReads for T {}

impl WriteTx<'_> {
    /// Appends a record to the chain.
    pub fn append_audit(&mut self, a: &NewAudit) -> Result<AuditRecord> {
        let head = self.audit_head()?;
        let (seq, prev) = match head {
            Some((s, h)) => (s + 1, h),
            None => match self.audit_anchor()? {
                Some((s, h)) => (s + 1, h),
                None => (1, GENESIS_HASH.to_string()),
            },
        };
        let id = audit_id(seq);
        let event = a.event.as_str();
        let hash = chain_hash(
            &crate::domain::audit::HashInput {
                id: &id,
                event,
                timestamp: a.timestamp,
                user: &a.user,
                details: &a.details,
                tool: a.tool.as_deref(),
                snapshot_id: a.snapshot_id.as_deref(),
            },
            &prev,
        );
        self.db.exec(
            "INSERT INTO audit (seq, id, event, timestamp, \"user\", tool, snapshot_id, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            p![
                seq as i64,
                &id,
                event,
                &fmt_ts(a.timestamp),
                &a.user,
                &a.tool,
                &a.snapshot_id,
                &serde_json::to_string(&a.details).expect("json serializes"),
                &prev,
                &hash,
            ],
        )?;
        Ok(AuditRecord {
            id,
            event: event.to_string(),
            timestamp: a.timestamp,
            user: a.user.clone(),
            details: a.details.clone(),
            hash,
            prev_hash: prev,
            tool: a.tool.clone(),
            snapshot_id: a.snapshot_id.clone(),
        })
    }

    /// Deletes records up to and including `last_seq`, remembering the last
    /// deleted record's hash as the anchor the rest of the chain links to.
    /// Returns how many were removed.
    pub fn audit_delete_through(&mut self, last_seq: u64, last_hash: &str) -> Result<u64> {
        let n = self
            .db
            .exec("DELETE FROM audit WHERE seq <= ?1", p![last_seq as i64])?;
        self.db.exec(
            "INSERT INTO meta (key, value) VALUES ('audit_anchor', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            p![&format!("{last_seq} {last_hash}")],
        )?;
        Ok(n)
    }
}
