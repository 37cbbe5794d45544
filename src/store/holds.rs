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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::scratch;
    use chrono::{TimeZone, Utc};

    fn hold(id: &str, reason: &str) -> Hold {
        let t = Utc.with_ymd_and_hms(2025, 12, 4, 12, 0, 0).unwrap();
        Hold {
            snapshot_id: id.into(),
            reason: reason.into(),
            expires_at: t + chrono::Duration::days(30),
            created_by: "tester".into(),
            created_at: t,
        }
    }

    /// On either backend: a hold is put, replaced and removed; a savepoint
    /// undoes only what followed it; a write that fails changes nothing.
    #[test]
    fn holds_round_trip_and_writes_are_all_or_nothing() {
        let mut s = scratch();
        s.write(|w| {
            w.put_hold(&hold("a", "first"))?;
            w.savepoint("sp")?;
            w.put_hold(&hold("b", "undone"))?;
            w.rollback_to("sp")?;
            w.release("sp")?;
            w.put_hold(&hold("a", "replaced"))
        })
        .unwrap();
        let got = s.holds().unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            (got[0].snapshot_id.as_str(), got[0].reason.as_str()),
            ("a", "replaced")
        );
        assert_eq!(got[0].expires_at, hold("a", "").expires_at);
        let failed: Result<()> = s.write(|w| {
            w.remove_hold("a")?;
            Err(StoreError::Limit("stop here".into()))
        });
        assert!(failed.is_err());
        assert_eq!(s.holds().unwrap().len(), 1);
        assert!(s.write(|w| w.remove_hold("a")).unwrap());
        assert!(!s.write(|w| w.remove_hold("a")).unwrap());
        assert!(s.holds().unwrap().is_empty());
    }
}
