//! The scheduler's record of the runs it did, kept in `meta` so that every
//! `serve` on one store (several hosts on PostgreSQL) runs each scheduled
//! slot once between them.

use super::db::p;
use super::{Queries, Result, WriteTx};
use crate::domain::time::{fmt_ts, parse_ts};
use chrono::{DateTime, Utc};

fn key(job: &str) -> String {
    format!("scheduler.{job}.last_slot")
}

impl WriteTx<'_> {
    /// Claims `job`'s run for the scheduled time `slot`: `true` (and the
    /// claim recorded) when no process has claimed this slot or a later one,
    /// `false` when one has. The claim is part of the caller's transaction:
    /// if that transaction rolls back (an error, or the process dies), the
    /// slot is free again for another process to claim. Writers take turns,
    /// so two processes never both win one slot.
    pub fn claim_scheduled_run(&mut self, job: &str, slot: DateTime<Utc>) -> Result<bool> {
        let key = key(job);
        let last: Option<String> =
            self.db()
                .opt("SELECT value FROM meta WHERE key = ?1", p![&key], |r| {
                    r.string(0)
                })?;
        // A value that does not parse (written by hand) does not block runs.
        if let Some(last) = last.and_then(|v| parse_ts(&v).ok()) {
            if last >= slot {
                return Ok(false);
            }
        }
        self.db.exec(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            p![&key, &fmt_ts(slot)],
        )?;
        Ok(true)
    }
}
