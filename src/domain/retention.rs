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

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Archive => "archive",
            Action::Delete => "delete",
        }
    }
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
/// never be archived or deleted (each tool's current snapshot, which may be
/// an expired one that still names the tool's data).
///
/// The spec's tiers: previous (N-1 included) is archived after
/// `previous_max_age`; archived is deleted after `archived_max_age`.
/// Expired and failed snapshots are not in the spec's table but must not
/// keep their data forever: they are deleted after the same age as
/// archived ones. Every age counts from the state change that put the
/// snapshot in its category (`stateChangedAt`).
pub fn plan(
    snapshots: &[Snapshot],
    holds: &[Hold],
    protected: &[String],
    policy: &Policy,
    now: DateTime<Utc>,
) -> Plan {
    let mut out = Plan::default();
    for s in snapshots {
        let Some((category, action, max_age)) = category(s.state, policy) else {
            continue;
        };
        let since = s.state_changed_at.unwrap_or(s.imported_at);
        if now - since < max_age {
            continue;
        }
        if protected.iter().any(|p| *p == s.id) {
            out.skipped.push(Skipped {
                snapshot_id: s.id.to_string(),
                reason: format!(
                    "protected: {category} but still the current snapshot of {}; import or roll back to release it",
                    s.tool
                ),
            });
            continue;
        }
        if let Some(h) = holds
            .iter()
            .find(|h| h.snapshot_id == s.id && h.holds_at(now))
        {
            out.skipped.push(Skipped {
                snapshot_id: s.id.to_string(),
                reason: format!(
                    "held until {}: {}",
                    super::time::fmt_ts(h.expires_at),
                    h.reason
                ),
            });
            continue;
        }
        out.actions.push(Planned {
            snapshot_id: s.id.to_string(),
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

/// A state's retention category, what retention does to it, and after how
/// long; `None` for states retention never touches (active, deleted).
pub fn category(state: SnapshotState, policy: &Policy) -> Option<(&'static str, Action, Duration)> {
    match state {
        SnapshotState::Previous => Some(("previous", Action::Archive, policy.previous_max_age)),
        SnapshotState::Archived => Some(("archived", Action::Delete, policy.archived_max_age)),
        SnapshotState::Expired => Some(("expired", Action::Delete, policy.archived_max_age)),
        SnapshotState::Failed => Some(("failed", Action::Delete, policy.archived_max_age)),
        SnapshotState::Active | SnapshotState::Deleted => None,
    }
}

/// The categories retention acts on, in the order the status lists them.
pub const CATEGORIES: [SnapshotState; 4] = [
    SnapshotState::Previous,
    SnapshotState::Archived,
    SnapshotState::Expired,
    SnapshotState::Failed,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::{SnapshotId, SnapshotMetadata};
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap() + Duration::days(d as i64)
    }

    /// A test snapshot's id, told apart from the others by the name put
    /// where the tool goes (the record's tool stays `syft`).
    fn id(name: &str) -> String {
        SnapshotId::new(name, day(0), 1).to_string()
    }

    fn snap(name: &str, state: SnapshotState, changed: u32) -> Snapshot {
        Snapshot {
            id: SnapshotId::new(name, day(0), 1),
            tool: "syft".into(),
            tool_version: None,
            imported_at: day(0),
            source_hash: "b3:".into(),
            normalized_hash: None,
            record_count: 0,
            state,
            previous_snapshot: None,
            metadata: SnapshotMetadata {
                source_uri: None,
                import_user: "t".into(),
                import_reason: None,
            },
            format: None,
            generated_at: None,
            schema_version: None,
            warnings: Vec::new(),
            failure_reason: None,
            state_changed_at: Some(day(changed)),
            stats: None,
        }
    }

    fn policy() -> Policy {
        Policy {
            previous_max_age: Duration::days(30),
            archived_max_age: Duration::days(90),
        }
    }

    fn acted(p: &Plan) -> Vec<(&str, Action)> {
        p.actions
            .iter()
            .map(|a| {
                let name = a.snapshot_id.strip_suffix("-20250101T000000Z-001");
                (name.unwrap_or(&a.snapshot_id), a.action)
            })
            .collect()
    }

    #[test]
    fn n_minus_1_is_archived_and_expired_and_failed_are_deleted_by_age() {
        let snaps = [
            snap("n1", SnapshotState::Previous, 1),
            snap("exp", SnapshotState::Expired, 2),
            snap("fail", SnapshotState::Failed, 3),
            snap("young-exp", SnapshotState::Expired, 60),
            snap("act", SnapshotState::Active, 1),
        ];
        let p = plan(&snaps, &[], &[id("act")], &policy(), day(100));
        assert_eq!(
            acted(&p),
            vec![
                ("n1", Action::Archive),
                ("exp", Action::Delete),
                ("fail", Action::Delete)
            ]
        );
        // 89 days after the expiry: not yet.
        let p = plan(&snaps[1..2], &[], &[], &policy(), day(91));
        assert!(p.actions.is_empty(), "{p:?}");
    }

    #[test]
    fn holds_and_the_current_snapshot_protect() {
        let snaps = [
            snap("exp-current", SnapshotState::Expired, 0),
            snap("held", SnapshotState::Failed, 0),
        ];
        let hold = Hold {
            snapshot_id: id("held"),
            reason: "legal".into(),
            expires_at: day(200),
            created_by: "t".into(),
            created_at: day(0),
        };
        let p = plan(&snaps, &[hold], &[id("exp-current")], &policy(), day(100));
        assert!(p.actions.is_empty(), "{p:?}");
        assert_eq!(p.skipped.len(), 2);
        assert!(p.skipped[0].reason.contains("current snapshot"));
        assert!(p.skipped[1].reason.contains("held until"));
    }
}
