//! Retention holds.

use super::db::{p, R};
use super::{Queries, Result, StoreError, WriteTx};
use crate::domain::retention::Hold;
use crate::domain::time::{fmt_ts, parse_ts};

fn from_row(r: &R<'_>) -> Result<Hold> {
    let bad = || StoreError::Corrupt("bad hold timestamp".into());
    Ok(Hold {
        snapshot_id: r.string(0)?,
        reason: r.string(1)?,
        expires_at: parse_ts(r.str(2)?).map_err(|_| bad())?,
        created_by: r.string(3)?,
        created_at: parse_ts(r.str(4)?).map_err(|_| bad())?,
    })
}

pub trait HoldReads: Queries {
    fn holds(&self) -> Result<Vec<Hold>> {
        self.db().all(
            "SELECT snapshot_id, reason, expires_at, created_by, created_at FROM holds ORDER BY snapshot_id",
            p![],
            from_row,
        )
    }
}

impl<T: Queries + ?Sized> HoldReads for T {}

impl WriteTx<'_> {
    /// Adds or replaces the hold on a snapshot.
    pub fn put_hold(&mut self, h: &Hold) -> Result<()> {
        self.db.exec(
            "INSERT INTO holds (snapshot_id, reason, expires_at, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (snapshot_id) DO UPDATE SET reason = excluded.reason, expires_at = excluded.expires_at, created_by = excluded.created_by, created_at = excluded.created_at",
            p![&h.snapshot_id, &h.reason, &fmt_ts(h.expires_at), &h.created_by, &fmt_ts(h.created_at)],
        )?;
        Ok(())
    }

    /// Removes a hold; whether there was one.
    pub fn remove_hold(&mut self, snapshot_id: &str) -> Result<bool> {
        Ok(self
            .db
            .exec("DELETE FROM holds WHERE snapshot_id = ?1", p![snapshot_id])?
            > 0)
    }
}
