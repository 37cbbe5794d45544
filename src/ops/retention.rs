//! Retention: archive previous snapshots (N-1 included, as the spec says)
//! and delete archived, expired and failed ones on the policy's schedule,
//! never touching a tool's current snapshot or a held one. Archived
//! snapshots stay restorable, and the default rollback target reaches
//! them, so archiving N-1 takes nothing away from a rollback.

use super::{fault, Env, OpError, Result};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::problem::{Hint, Param, Problem};
use crate::domain::retention::{category, next_run, plan, Action, Hold, Plan, Policy, CATEGORIES};
use crate::domain::snapshot::SnapshotState;
use crate::domain::time::{fmt_duration, fmt_ts};
use crate::store::prelude::*;
use crate::store::{SnapshotFilter, Store, WriteTx};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

fn policy(env: &Env) -> Policy {
    Policy {
        previous_max_age: env.config.retention.previous_max_age,
        archived_max_age: env.config.retention.archived_max_age,
    }
}

/// Each tool's current snapshot (the one its active pointer names, even
/// when expired: the tool's active data is still filed under it).
fn protected(store: &impl Queries) -> Result<Vec<String>> {
    Ok(store
        .tools()?
        .into_iter()
        .filter_map(|t| t.active_snapshot)
        .collect())
}

/// What a run would do now.
pub fn compute_plan(store: &impl Queries, env: &Env, now: DateTime<Utc>) -> Result<Plan> {
    let snaps = store.list_snapshots(&SnapshotFilter::default())?;
    let holds = store.holds()?;
    Ok(plan(&snaps, &holds, &protected(store)?, &policy(env), now))
}

/// The spec's retention document plus the next run, the holds' states and
/// what the next run would do.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub schedule: String,
    pub rules: Vec<serde_json::Value>,
    pub exceptions: Vec<serde_json::Value>,
    pub next_run: String,
    pub audit_max_age: String,
    /// What a run right now would do.
    pub pending: Plan,
}

pub fn status(store: &impl Queries, env: &Env) -> Result<Status> {
    let now = env.clock.now();
    let r = &env.config.retention;
    let holds = store.holds()?;
    Ok(Status {
        schedule: r.schedule.clone(),
        rules: CATEGORIES
            .iter()
            .filter_map(|s| category(*s, &policy(env)))
            .map(|(c, action, age)| {
                json!({"category": c, "maxAge": fmt_duration(age), "action": match action {
                    Action::Archive => "archive",
                    Action::Delete => "delete",
                }})
            })
            .collect(),
        exceptions: holds
            .iter()
            .map(|h| {
                json!({
                    "snapshotId": h.snapshot_id,
                    "reason": h.reason,
                    "expiresAt": fmt_ts(h.expires_at),
                    "active": h.holds_at(now),
                    "createdBy": h.created_by,
                })
            })
            .collect(),
        next_run: next_run(&r.schedule, now)
            .map(fmt_ts)
            .map_err(OpError::invalid)?,
        audit_max_age: fmt_duration(r.audit_max_age),
        pending: compute_plan(store, env, now)?,
    })
}

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub dry_run: bool,
    pub executed_at: String,
    pub archived: Vec<String>,
    pub deleted: Vec<String>,
    pub plan: Plan,
    /// Stored records freed by the deletions.
    pub records_freed: u64,
}

/// Runs retention (or, with `dry_run`, says what it would do).
pub fn run(store: &mut Store, env: &Env, dry_run: bool) -> Result<RunReport> {
    let now = env.clock.now();
    if dry_run {
        let plan = store.read(|r| compute_plan(r, env, now))?;
        return Ok(RunReport {
            dry_run: true,
            executed_at: fmt_ts(now),
            archived: plan
                .actions
                .iter()
                .filter(|a| a.action == Action::Archive)
                .map(|a| a.snapshot_id.clone())
                .collect(),
            deleted: plan
                .actions
                .iter()
                .filter(|a| a.action == Action::Delete)
                .map(|a| a.snapshot_id.clone())
                .collect(),
            plan,
            records_freed: 0,
        });
    }
    store.write(|tx| -> Result<RunReport> {
        // Planned inside the write lock, so it acts on what it saw.
        let plan = compute_plan(tx, env, now)?;
        let mut rep = RunReport {
            dry_run: false,
            executed_at: fmt_ts(now),
            archived: Vec::new(),
            deleted: Vec::new(),
            plan: plan.clone(),
            records_freed: 0,
        };
        for a in &plan.actions {
            match a.action {
                Action::Archive => {
                    fault::point("retention_archive")?;
                    archive(tx, env, &a.snapshot_id, &a.tool, &a.reason, now)?;
                    rep.archived.push(a.snapshot_id.clone());
                }
                Action::Delete => {
                    fault::point("retention_delete")?;
                    rep.records_freed += delete(tx, env, &a.snapshot_id, &a.tool, &a.reason, now)?;
                    rep.deleted.push(a.snapshot_id.clone());
                }
            }
        }
        fault::point("retention_commit")?;
        Ok(rep)
    })
}

fn archive(
    tx: &mut WriteTx<'_>,
    env: &Env,
    id: &str,
    tool: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.set_snapshot_state(id, SnapshotState::Archived, now)?;
    tx.append_audit(&NewAudit {
        event: AuditEvent::SnapshotArchived,
        timestamp: now,
        user: env.user.clone(),
        tool: Some(tool.to_string()),
        snapshot_id: Some(id.to_string()),
        details: json!({"snapshotId": id, "tool": tool, "reason": format!("retention: {why}")}),
    })?;
    Ok(())
}

fn delete(
    tx: &mut WriteTx<'_>,
    env: &Env,
    id: &str,
    tool: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    let (_, pk) = tx
        .get_snapshot_pk(id)?
        .ok_or_else(|| OpError::not_found(format!("no snapshot {id}")))?;
    let freed = tx.delete_snapshot_records(pk)?;
    tx.set_snapshot_state(id, SnapshotState::Deleted, now)?;
    tx.append_audit(&NewAudit {
        event: AuditEvent::SnapshotDeleted,
        timestamp: now,
        user: env.user.clone(),
        tool: Some(tool.to_string()),
        snapshot_id: Some(id.to_string()),
        details: json!({"snapshotId": id, "tool": tool, "reason": format!("retention: {why}"), "recordsFreed": freed}),
    })?;
    Ok(freed)
}

/// Puts a hold on a snapshot until `until`.
pub fn hold_add(
    store: &mut Store,
    env: &Env,
    id: &str,
    reason: &str,
    until: DateTime<Utc>,
) -> Result<Hold> {
    let now = env.clock.now();
    if reason.trim().is_empty() {
        return Err(OpError::usage(
            Problem::new("a hold needs a reason").hint(Hint::GiveReason),
        ));
    }
    if until <= now {
        return Err(OpError::usage(
            Problem::new(format!("{} is not in the future", fmt_ts(until))).param(Param::Until),
        ));
    }
    store.write(|tx| -> Result<Hold> {
        let s = super::snapshots::get(tx, id)?;
        if s.state == SnapshotState::Deleted || s.state == SnapshotState::Failed {
            return Err(OpError::invalid(format!(
                "{id} is {}: there is nothing left to hold",
                s.state
            )));
        }
        let h = Hold {
            snapshot_id: id.to_string(),
            reason: reason.to_string(),
            expires_at: until,
            created_by: env.user.clone(),
            created_at: now,
        };
        tx.put_hold(&h)?;
        tx.append_audit(&NewAudit {
            event: AuditEvent::RetentionHoldAdded,
            timestamp: now,
            user: env.user.clone(),
            tool: Some(s.tool.clone()),
            snapshot_id: Some(id.to_string()),
            details: json!({"snapshotId": id, "reason": reason, "expiresAt": fmt_ts(until)}),
        })?;
        Ok(h)
    })
}

pub fn hold_remove(store: &mut Store, env: &Env, id: &str) -> Result<()> {
    let now = env.clock.now();
    store.write(|tx| -> Result<()> {
        let s = super::snapshots::get(tx, id)?;
        if !tx.remove_hold(id)? {
            return Err(OpError::not_found(format!(
                "{id} has no hold; see `snapgov ingest retention status`"
            )));
        }
        tx.append_audit(&NewAudit {
            event: AuditEvent::RetentionHoldRemoved,
            timestamp: now,
            user: env.user.clone(),
            tool: Some(s.tool.clone()),
            snapshot_id: Some(id.to_string()),
            details: json!({"snapshotId": id}),
        })?;
        Ok(())
    })
}
