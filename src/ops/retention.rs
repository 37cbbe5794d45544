//! Retention: archive previous snapshots (N-1 included, as the spec says)
//! and delete archived, expired and failed ones on the policy's schedule,
//! never touching a tool's current snapshot or a held one. Archived
//! snapshots stay restorable, and the default rollback target reaches
//! them, so archiving N-1 takes nothing away from a rollback.

use super::{fault, Env, OpError, Result};
use crate::domain::audit::details::{HoldAdded, HoldRemoved, RetentionAction};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::problem::{Hint, Param, Problem};
use crate::domain::retention::{
    category, next_run, plan, Action, Hold, Plan, Planned, Policy, CATEGORIES,
};
use crate::domain::snapshot::SnapshotState;
use crate::domain::time::{fmt_duration, fmt_ts};
use crate::store::prelude::*;
use crate::store::{SnapshotFilter, Store, WriteTx};
use chrono::{DateTime, Utc};
use serde::Serialize;

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
    pub rules: Vec<Rule>,
    pub exceptions: Vec<Exception>,
    pub next_run: String,
    pub audit_max_age: String,
    /// What a run right now would do.
    pub pending: Plan,
}

/// How long snapshots of one category are kept, and what then happens.
/// (Fields in key order: the document has always listed them sorted.)
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub action: Action,
    pub category: &'static str,
    pub max_age: String,
}

/// A hold, as the status lists it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Exception {
    /// Whether it still holds now.
    pub active: bool,
    pub created_by: String,
    pub expires_at: String,
    pub reason: String,
    pub snapshot_id: String,
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
            .map(|(category, action, age)| Rule {
                action,
                category,
                max_age: fmt_duration(age),
            })
            .collect(),
        exceptions: holds
            .iter()
            .map(|h| Exception {
                active: h.holds_at(now),
                created_by: h.created_by.clone(),
                expires_at: fmt_ts(h.expires_at),
                reason: h.reason.clone(),
                snapshot_id: h.snapshot_id.clone(),
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

/// The snapshots `plan` would apply `action` to.
fn planned(plan: &Plan, action: Action) -> Vec<String> {
    plan.actions
        .iter()
        .filter(|a| a.action == action)
        .map(|a| a.snapshot_id.clone())
        .collect()
}

/// Runs retention (or, with `dry_run`, says what it would do).
pub fn run(store: &mut Store, env: &Env, dry_run: bool) -> Result<RunReport> {
    let now = env.clock.now();
    if dry_run {
        let plan = store.read(|r| compute_plan(r, env, now))?;
        return Ok(RunReport {
            dry_run: true,
            executed_at: fmt_ts(now),
            archived: planned(&plan, Action::Archive),
            deleted: planned(&plan, Action::Delete),
            plan,
            records_freed: 0,
        });
    }
    Ok(run_in_slot(store, env, None)?.expect("an unclaimed run always runs"))
}

/// The scheduler's retention run for the scheduled time `slot`: `None` when
/// another process (another `serve` on the same store) already ran that slot.
/// The claim and the run are one transaction, so a process that dies
/// mid-run leaves the slot to the next one that tries it.
pub fn run_scheduled(
    store: &mut Store,
    env: &Env,
    slot: DateTime<Utc>,
) -> Result<Option<RunReport>> {
    run_in_slot(store, env, Some(slot))
}

fn run_in_slot(
    store: &mut Store,
    env: &Env,
    slot: Option<DateTime<Utc>>,
) -> Result<Option<RunReport>> {
    let now = env.clock.now();
    store.write(|tx| -> Result<Option<RunReport>> {
        if let Some(slot) = slot {
            if !tx.claim_scheduled_run("retention", slot)? {
                return Ok(None);
            }
        }
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
            fault::point(match a.action {
                Action::Archive => "retention_archive",
                Action::Delete => "retention_delete",
            })?;
            rep.records_freed += apply(tx, env, a, now)?;
            match a.action {
                Action::Archive => rep.archived.push(a.snapshot_id.clone()),
                Action::Delete => rep.deleted.push(a.snapshot_id.clone()),
            }
        }
        fault::point("retention_commit")?;
        Ok(Some(rep))
    })
}

/// Archives or deletes a snapshot as planned, with its audit record.
/// Returns the stored records a deletion freed.
fn apply(tx: &mut WriteTx<'_>, env: &Env, a: &Planned, now: DateTime<Utc>) -> Result<u64> {
    let id = &a.snapshot_id;
    let (state, event, records_freed) = match a.action {
        Action::Archive => (SnapshotState::Archived, AuditEvent::SnapshotArchived, None),
        Action::Delete => {
            let (_, pk) = tx
                .get_snapshot_pk(id)?
                .ok_or_else(|| OpError::not_found(format!("no snapshot {id}")))?;
            let freed = tx.delete_snapshot_records(pk)?;
            (
                SnapshotState::Deleted,
                AuditEvent::SnapshotDeleted,
                Some(freed),
            )
        }
    };
    tx.set_snapshot_state(id, state, now)?;
    let details = RetentionAction {
        snapshot_id: id.clone(),
        tool: a.tool.clone(),
        reason: format!("retention: {}", a.reason),
        records_freed,
    };
    tx.append_audit(&NewAudit::about_snapshot(
        event,
        now,
        &env.user,
        (&a.tool, id),
        &details,
    ))?;
    Ok(records_freed.unwrap_or(0))
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
        let details = HoldAdded {
            snapshot_id: id.to_string(),
            reason: reason.to_string(),
            expires_at: fmt_ts(until),
        };
        tx.append_audit(&NewAudit::about_snapshot(
            AuditEvent::RetentionHoldAdded,
            now,
            &env.user,
            (&s.tool, id),
            &details,
        ))?;
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
        let details = HoldRemoved {
            snapshot_id: id.to_string(),
        };
        tx.append_audit(&NewAudit::about_snapshot(
            AuditEvent::RetentionHoldRemoved,
            now,
            &env.user,
            (&s.tool, id),
            &details,
        ))?;
        Ok(())
    })
}
