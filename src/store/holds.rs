//! Retention holds.

use super::{Queries, Result, StoreError, WriteTx};
use crate::domain::retention::Hold;
use crate::domain::time::{fmt_ts, parse_ts};
use rusqlite::{params, Row};

fn from_row(r: &Row<'_>) -> rusqlite::Result<Hold> {
    let bad = |i: usize| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            "bad hold timestamp".into(),
        )
    };
    let exp: String = r.get(2)?;
    let created: String = r.get(4)?;
    Ok(Hold {
        snapshot_id: r.get(0)?,
        reason: r.get(1)?,
        expires_at: parse_ts(&exp).map_err(|_| bad(2))?,
        created_by: r.get(3)?,
        created_at: parse_ts(&created).map_err(|_| bad(4))?,
    })
}

pub trait HoldReads: Queries {
    fn holds(&self) -> Result<Vec<Hold>> {
        let mut stmt = self.conn().prepare(
            "SELECT snapshot_id, reason, expires_at, created_by, created_at FROM holds ORDER BY snapshot_id",
        )?;
        let rows = stmt.query_map([], from_row)?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }
}

impl<T: Queries + ?Sized> HoldReads for T {}

impl WriteTx<'_> {
    /// Adds or replaces the hold on a snapshot.
    pub fn put_hold(&mut self, h: &Hold) -> Result<()> {
        self.tx.execute(
            "INSERT INTO holds (snapshot_id, reason, expires_at, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (snapshot_id) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at, created_by = excluded.created_by, created_at = excluded.created_at",
            params![h.snapshot_id, h.reason, fmt_ts(h.expires_at), h.created_by, fmt_ts(h.created_at)],
        )?;
        Ok(())
    }

    /// Removes a hold; whether there was one.
    pub fn remove_hold(&mut self, snapshot_id: &str) -> Result<bool> {
        Ok(self
            .tx
            .execute("DELETE FROM holds WHERE snapshot_id = ?1", [snapshot_id])?
            > 0)
    }
}
