//! Retention: which snapshots a run archives or deletes, as a pure function
//! of the snapshots, the holds, the policy and "now".

use super::snapshot::{Snapshot, SnapshotState};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Parses a 5-field cron expression (UTC), as the spec's `0 0 * * *`.
pub fn parse_schedule(expr: &str) -> Result<croner::Cron, String> {
    let fields = expr.split_whitespace().count();
    if fields != 5 {
        return Err(format!(
            "`{expr}` has {fields} fields; write a 5-field cron expression (minute hour day month weekday), e.g. `0 0 * * *`"
        ));
    }
    croner::Cron::new(expr)
        .parse()
        .map_err(|e| format!("`{expr}` is not a cron expression: {e}"))
}

/// Parses a schedule and checks that it fires at least once a century: a
/// cron like `0 0 31 2 *` (31 February) parses, but never runs.
pub fn validate_schedule(expr: &str) -> Result<(), String> {
    let cron = parse_schedule(expr)?;
    let from = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or_default(); // 2000-01-01
    match cron.find_next_occurrence(&from, false) {
        Ok(t) if t < from + chrono::Duration::days(100 * 366) => Ok(()),
        _ => Err(format!(
            "`{expr}` never fires (no such date); write a schedule that runs, e.g. `0 0 * * *`"
        )),
    }
}

/// The first scheduled time strictly after `after`.
pub fn next_run(expr: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    parse_schedule(expr)?
        .find_next_occurrence(&after, false)
        .map_err(|e| format!("`{expr}` has no next run: {e}"))
}

/// A retention hold on one snapshot.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub snapshot_id: String,
    pub reason: String,
    #[serde(with = "super::time::ts")]
    pub expires_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(with = "super::time::ts")]
    pub created_at: DateTime<Utc>,
}

impl Hold {
    pub fn holds_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub previous_max_age: Duration,
    pub archived_max_age: Duration,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Archive,
    Delete,
}

/// One thing a retention run will do, and why.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    pub snapshot_id: String,
    pub tool: String,
    pub action: Action,
    pub reason: String,
}

/// A snapshot retention passed over, and why (holds, protection).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub snapshot_id: String,
    pub reason: String,
}

#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub actions: Vec<Planned>,
    pub skipped: Vec<Skipped>,
}

/// Decides a run. `snapshots` are all of them; `protected` are ids that must
/// never be archived or deleted (each tool's active snapshot and its default
/// rollback target).
pub fn plan(
    snapshots: &[Snapshot],
    holds: &[Hold],
    protected: &[String],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Plan {
    let mut out = Plan::default();
    for s in snapshots {
        let (action, max_age, category) = match s.state {
            SnapshotState::Previous => (Action::Archive, policy.previous_max_age, "previous"),
            SnapshotState::Archived => (Action::Delete, policy.archived_max_age, "archived"),
            _ => continue,
        };
        // The age of a category counts from the state change that put the
        // snapshot there (stopped being active; was archived).
        let since = s.state_changed_at.unwrap_or(s.imported_at);
        if now - since < max_age {
            continue;
        }
        if protected.contains(&s.id) {
            out.skipped.push(Skipped {
                snapshot_id: s.id.clone(),
                reason: "protected: the default rollback target of its tool".into(),
            });
            continue;
        }
        if let Some(h) = holds
            .iter()
            .find(|h| h.snapshot_id == s.id && h.holds_at(now))
        {
            out.skipped.push(Skipped {
                snapshot_id: s.id.clone(),
                reason: format!(
                    "held until {}: {}",
                    super::time::fmt_ts(h.expires_at),
                    h.reason
                ),
            });
            continue;
        }
        out.actions.push(Planned {
            snapshot_id: s.id.clone(),
            tool: s.tool.clone(),
            action,
            reason: format!(
                "{category} for {} (policy {})",
                super::time::fmt_duration(now - since),
                super::time::fmt_duration(max_age)
            ),
        });
    }
    out
}
