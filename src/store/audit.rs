//! The audit chain's rows.

use super::{Queries, Result, StoreError, WriteTx};
use crate::domain::audit::{audit_id, chain_hash, AuditRecord, NewAudit, GENESIS_HASH};
use crate::domain::time::{fmt_ts, parse_ts};
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row};

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

const COLUMNS: &str =
    "seq, id, event, timestamp, user, details, hash, prev_hash, tool, snapshot_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(u64, AuditRecord)> {
    let seq: i64 = r.get(0)?;
    let ts: String = r.get(3)?;
    let details: String = r.get(5)?;
    let bad = |col: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            format!("audit-{seq}: unreadable {what}").into(),
        )
    };
    Ok((
        seq as u64,
        AuditRecord {
            id: r.get(1)?,
            event: r.get(2)?,
            timestamp: parse_ts(&ts).map_err(|_| bad(3, "timestamp"))?,
            user: r.get(4)?,
            details: serde_json::from_str(&details).map_err(|_| bad(5, "details"))?,
            hash: r.get(6)?,
            prev_hash: r.get(7)?,
            tool: r.get(8)?,
            snapshot_id: r.get(9)?,
        },
    ))
}

/// Audit reads.
pub trait AuditReads: Queries {
    fn audit_get(&self, seq: u64) -> Result<Option<AuditRecord>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM audit WHERE seq = ?1"),
                [seq as i64],
                from_row,
            )
            .optional()?
            .map(|(_, r)| r))
    }

    /// Matching records with their sequence numbers.
    fn audit_list(&self, f: &AuditFilter) -> Result<Vec<(u64, AuditRecord)>> {
        let mut sql = format!("SELECT {COLUMNS} FROM audit WHERE 1=1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut push = |sql: &mut String, cond: &str, v: rusqlite::types::Value| {
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
            push(&mut sql, " AND user = ?", u.clone().into());
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
            sql.push_str(&format!(
                " AND (id LIKE ?{n} ESCAPE '\\' OR event LIKE ?{n} ESCAPE '\\' OR user LIKE ?{n} ESCAPE '\\' OR details LIKE ?{n} ESCAPE '\\')"
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
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }

    /// Walks every record in sequence order.
    fn audit_walk(&self, mut f: impl FnMut(u64, AuditRecord) -> Result<bool>) -> Result<()> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY seq ASC"))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (seq, rec) = match from_row(r) {
                Ok(v) => v,
                Err(e) => return Err(StoreError::Corrupt(e.to_string())),
            };
            if !f(seq, rec)? {
                break;
            }
        }
        Ok(())
    }

    /// The last record's sequence number and hash.
    fn audit_head(&self) -> Result<Option<(u64, String)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()?)
    }

    fn audit_count(&self) -> Result<u64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The record a purge left as the chain's new anchor, if any: the hash
    /// the first remaining record links to. Kept in `meta`.
    fn audit_anchor(&self) -> Result<Option<(u64, String)>> {
        let v: Option<String> = self
            .conn()
            .query_row(
                "SELECT value FROM meta WHERE key = 'audit_anchor'",
                [],
                |r| r.get(0),
            )
            .optional()?;
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
        self.tx.execute(
            "INSERT INTO audit (seq, id, event, timestamp, user, tool, snapshot_id, details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                seq as i64,
                id,
                event,
                fmt_ts(a.timestamp),
                a.user,
                a.tool,
                a.snapshot_id,
                serde_json::to_string(&a.details).expect("json serializes"),
                prev,
                hash,
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
            .tx
            .execute("DELETE FROM audit WHERE seq <= ?1", [last_seq as i64])?;
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES ('audit_anchor', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [format!("{last_seq} {last_hash}")],
        )?;
        Ok(n as u64)
    }
}
