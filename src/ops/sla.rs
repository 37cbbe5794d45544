//! The freshness SLA: per-tool reports, and the guard every query path
//! passes through.

use super::{Env, OpError, Result};
use crate::domain::audit::details::{Details, FreshnessOverride};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::freshness::{assess, Assessment, Freshness, Thresholds};
use crate::domain::problem::{Hint, Problem};
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::{fmt_duration, fmt_ts};
use crate::store::prelude::*;
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdsDoc {
    pub max_age: String,
    pub stale: String,
    pub critical: String,
}

impl From<&Thresholds> for ThresholdsDoc {
    fn from(t: &Thresholds) -> Self {
        ThresholdsDoc {
            max_age: fmt_duration(t.max_age),
            stale: fmt_duration(t.stale),
            critical: fmt_duration(t.critical),
        }
    }
}

/// The spec's SLA document for one tool (`{"sla": {...}}`), plus `overdue`
/// and, for a tool with no snapshot yet, `state: "no_snapshot"`.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SlaDoc {
    pub tool: String,
    pub snapshot_id: Option<String>,
    pub imported_at: Option<String>,
    pub age: Option<String>,
    pub state: String,
    pub next_check: String,
    pub thresholds: ThresholdsDoc,
    /// Stale past the stale threshold: the warning has escalated.
    pub overdue: bool,
}

/// A tool's SLA with the typed values the front ends need.
#[derive(Clone, Debug)]
pub struct SlaStatus {
    pub tool: String,
    pub snapshot: Option<Snapshot>,
    pub assessment: Option<Assessment>,
    pub thresholds: Thresholds,
    pub next_check: DateTime<Utc>,
}

impl SlaStatus {
    pub fn doc(&self) -> SlaDoc {
        SlaDoc {
            tool: self.tool.clone(),
            snapshot_id: self.snapshot.as_ref().map(|s| s.id.to_string()),
            imported_at: self.snapshot.as_ref().map(|s| fmt_ts(s.imported_at)),
            age: self.assessment.map(|a| fmt_duration(a.age)),
            state: self
                .assessment
                .map(|a| a.state.as_str().to_string())
                .unwrap_or_else(|| "no_snapshot".into()),
            next_check: fmt_ts(self.next_check),
            thresholds: (&self.thresholds).into(),
            overdue: self.assessment.is_some_and(|a| a.overdue),
        }
    }

    /// The state word with the overdue escalation, for people.
    pub fn label(&self) -> String {
        match self.assessment {
            Some(a) if a.overdue => "stale (overdue)".into(),
            Some(a) => a.state.to_string(),
            None => "no snapshot".into(),
        }
    }

    /// Time left until the state changes by itself.
    pub fn time_left(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.assessment
            .and_then(|a| a.next_change)
            .map(|t| (t - now).max(Duration::zero()))
    }
}

/// The next periodic check: the next multiple of the interval since the epoch.
pub fn next_scheduled_check(now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let step = interval.num_seconds().max(60);
    let t = now.timestamp();
    let next = (t / step + 1) * step;
    DateTime::from_timestamp(next, 0).unwrap_or(now)
}

/// The SLA of one tool as of `now`.
pub fn status_of(
    store: &impl Queries,
    env: &Env,
    tool: &str,
    now: DateTime<Utc>,
) -> Result<SlaStatus> {
    Ok(status_from(env, tool, store.active_snapshot(tool)?, now))
}

/// The SLA of a tool whose active snapshot is known, as of `now`.
fn status_from(env: &Env, tool: &str, snapshot: Option<Snapshot>, now: DateTime<Utc>) -> SlaStatus {
    let thresholds = env.config.thresholds(tool);
    let assessment = snapshot.as_ref().map(|s| {
        assess(
            s.imported_at,
            now,
            &thresholds,
            s.state == SnapshotState::Expired,
        )
    });
    let periodic = next_scheduled_check(now, env.config.sla_check_interval);
    let next_check = match assessment.and_then(|a| a.next_change) {
        Some(t) if t < periodic => t,
        _ => periodic,
    };
    SlaStatus {
        tool: tool.to_string(),
        snapshot,
        assessment,
        thresholds,
        next_check,
    }
}

/// The SLA of one tool, or of every known tool.
/// What one tool's gauges show (the API's metrics).
#[derive(Clone, Debug)]
pub struct ToolGauges {
    pub status: SlaStatus,
    /// The newest non-failed import of the tool, over its whole history.
    pub last_import: Option<DateTime<Utc>>,
}

/// Every tool's SLA with its last import, and the number of snapshots.
pub fn gauges(store: &impl Queries, env: &Env) -> Result<(Vec<ToolGauges>, u64)> {
    let mut out = Vec::new();
    for status in report(store, env, None)? {
        let last_import = store.last_import_at(&status.tool)?;
        out.push(ToolGauges {
            status,
            last_import,
        });
    }
    Ok((out, store.count_snapshots()?))
}

pub fn report(store: &impl Queries, env: &Env, tool: Option<&str>) -> Result<Vec<SlaStatus>> {
    let now = env.clock.now();
    match tool {
        Some(t) => {
            crate::domain::snapshot::validate_tool_name(t).map_err(OpError::usage)?;
            Ok(vec![status_of(store, env, t, now)?])
        }
        // One statement for every tool, not two a tool.
        None => Ok(store
            .tools_with_active()?
            .into_iter()
            .map(|(t, snap)| status_from(env, &t.name, snap, now))
            .collect()),
    }
}

/// What the guard let through.
#[derive(Clone, Debug)]
pub struct Cleared {
    pub status: SlaStatus,
    /// A warning to show (stale data), if any.
    pub warning: Option<String>,
    /// Internal key of the tool's active data.
    pub tool_key: i64,
}

/// The freshness guard on every query path: fresh passes; stale passes with
/// a warning; critical is refused unless `override_reason` is given (the
/// override is audited); expired is refused, with no override.
pub fn guard(
    store: &mut Store,
    env: &Env,
    tool: &str,
    override_reason: Option<&str>,
    purpose: &str,
) -> Result<Cleared> {
    let now = env.clock.now();
    let status = status_of(store, env, tool, now)?;
    let (Some(snap), Some(a)) = (&status.snapshot, status.assessment) else {
        return Err(OpError::not_found(
            Problem::new(format!("{tool} has no snapshot yet"))
                .hint(Hint::ImportFirst { tool: tool.into() }),
        ));
    };
    let tool_key = store
        .tool_key_of(tool)?
        .ok_or_else(|| OpError::not_found(format!("{tool} is not a known tool")))?;
    let age = fmt_duration(a.age);
    let warning = match a.state {
        Freshness::Fresh => None,
        Freshness::Stale => Some(format!(
            "{tool}'s data is stale{}: snapshot {} is {age} old (max age {}); import a fresh feed",
            if a.overdue { " and overdue" } else { "" },
            snap.id,
            fmt_duration(status.thresholds.max_age)
        )),
        Freshness::Expired => {
            return Err(OpError::blocked(
                Problem::new(format!(
                    "{tool}'s data is unavailable: its active snapshot {} was expired",
                    snap.id
                ))
                .hint(Hint::ImportOrRollBack { tool: tool.into() }),
            ))
        }
        Freshness::Critical => match override_reason.filter(|r| !r.trim().is_empty()) {
            None => {
                return Err(OpError::blocked(
                    Problem::new(format!(
                    "{tool}'s data is critically old: snapshot {} is {age} old (critical at {})",
                    snap.id,
                    fmt_duration(status.thresholds.critical)
                ))
                    .hint(Hint::OverrideFreshness),
                ))
            }
            Some(reason) => {
                store.write(|tx| {
                    tx.append_audit(&NewAudit {
                        event: AuditEvent::FreshnessOverride,
                        timestamp: now,
                        user: env.user.clone(),
                        tool: Some(tool.to_string()),
                        snapshot_id: Some(snap.id.to_string()),
                        details: FreshnessOverride {
                            tool: tool.to_string(),
                            snapshot_id: snap.id.to_string(),
                            state: "critical".into(),
                            age: age.clone(),
                            reason: reason.to_string(),
                            purpose: purpose.to_string(),
                        }
                        .to_value(),
                    })
                })?;
                Some(format!(
                    "{tool}'s data is critically old ({age}); read anyway under override \"{reason}\" (audited)"
                ))
            }
        },
    };
    Ok(Cleared {
        status,
        warning,
        tool_key,
    })
}
