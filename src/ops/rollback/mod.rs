//! Rollback: make an earlier snapshot the tool's active data again, through
//! the spec's verified, atomic workflow.
//!
//! verify target → savepoint → restore → verify restore → commit → update
//! active → audit. A target that does not re-hash to its `normalizedHash`
//! aborts before anything changes. A failure at restore or verify returns to
//! the savepoint (the store is exactly as before) and the failed attempt is
//! audited. Everything runs in one write transaction, so a crash at any
//! point leaves the store as it was.

mod execute;

pub use execute::execute;

use super::diff::DiffSummary;
use super::snapshots::VerifyResult;
use super::{fault, Env, OpError, Result};
use crate::domain::audit::details::{Details, SnapshotActivated};
use crate::domain::audit::AuditEvent;
use crate::domain::problem::{Hint, Param, Problem};
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use crate::store::prelude::*;
use crate::store::{AuditFilter, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Which snapshot to roll back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The active snapshot's predecessor, skipping failed, expired and deleted ones.
    Previous,
    Id(String),
    /// The snapshot that was active at this time.
    At(DateTime<Utc>),
}

/// The workflow's steps, in order.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    VerifyTarget,
    Savepoint,
    Restore,
    VerifyRestore,
    Commit,
    UpdateActive,
    Audit,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::VerifyTarget,
        Step::Savepoint,
        Step::Restore,
        Step::VerifyRestore,
        Step::Commit,
        Step::UpdateActive,
        Step::Audit,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Step::VerifyTarget => "verify_target",
            Step::Savepoint => "savepoint",
            Step::Restore => "restore",
            Step::VerifyRestore => "verify_restore",
            Step::Commit => "commit",
            Step::UpdateActive => "update_active",
            Step::Audit => "audit",
        }
    }
    /// For people: "verify target".
    pub fn label(self) -> &'static str {
        match self {
            Step::VerifyTarget => "verify target",
            Step::Savepoint => "create savepoint",
            Step::Restore => "restore snapshot",
            Step::VerifyRestore => "verify restore",
            Step::Commit => "commit change",
            Step::UpdateActive => "update active",
            Step::Audit => "write audit records",
        }
    }
}

/// How a step ended, as reported to an observer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepEvent {
    Started(Step),
    Done(Step),
    Failed(Step, String),
}

/// Watches the workflow (the console ticks steps off; the CLI prints them).
pub trait Observer {
    fn on(&self, _e: &StepEvent) {}
}

pub struct Quiet;
impl Observer for Quiet {}

/// What a rollback would do: computed without changing anything.
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub tool: String,
    /// The active snapshot the plan was computed against.
    pub from: Snapshot,
    pub to: Snapshot,
    pub target_was_archived: bool,
    pub verification: VerifyResult,
    pub diff: DiffSummary,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SnapRef {
    pub snapshot_id: String,
    pub record_count: u64,
}

/// The spec's rollback response (`{"rollback": {...}}`).
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status: String,
    pub tool: String,
    pub from: SnapRef,
    pub to: SnapRef,
    pub executed_at: String,
    pub executed_by: String,
    pub reason: Option<String>,
    pub records_affected: u64,
    pub target_was_archived: bool,
    /// Present for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<DiffSummary>,
}

/// One sentence for people, the same in every front end: what a rollback
/// did (or, for a dry run, would do).
impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let esc = crate::domain::text::escaped;
        let (tool, from, to) = (
            esc(&self.tool),
            esc(&self.from.snapshot_id),
            esc(&self.to.snapshot_id),
        );
        let (n_from, n_to) = (self.from.record_count, self.to.record_count);
        if self.diff.is_some() {
            let archived = if self.target_was_archived {
                ", an archived snapshot"
            } else {
                ""
            };
            return write!(
                f,
                "dry run: rolling {tool} back from {from} ({n_from} records) to {to} ({n_to} records){archived}"
            );
        }
        let archived = if self.target_was_archived {
            ", restored from the archive"
        } else {
            ""
        };
        write!(
            f,
            "rolled {tool} back from {from} ({n_from} records) to {to} ({n_to} records){archived}: {} records changed; by {} at {}",
            self.records_affected,
            esc(&self.executed_by),
            self.executed_at
        )
    }
}

fn snap_ref(s: &Snapshot) -> SnapRef {
    SnapRef {
        snapshot_id: s.id.to_string(),
        record_count: s.record_count,
    }
}

/// Finds the default target: walk `previousSnapshot` links from the active
/// snapshot to the first one that is still restorable.
pub fn default_target(store: &impl Queries, active: &Snapshot) -> Result<Option<Snapshot>> {
    let mut cur = active.previous_snapshot.clone();
    let mut hops = 0;
    while let Some(id) = cur {
        let Some(s) = store.get_snapshot(&id)? else {
            return Ok(None);
        };
        if matches!(s.state, SnapshotState::Previous | SnapshotState::Archived) {
            return Ok(Some(s));
        }
        cur = s.previous_snapshot.clone();
        hops += 1;
        if hops > 1_000_000 {
            return Err(OpError::integrity(format!(
                "the previousSnapshot chain of {} loops",
                active.id
            )));
        }
    }
    Ok(None)
}

fn resolve(store: &impl Queries, tool: &str, target: &Target) -> Result<(Snapshot, Snapshot)> {
    crate::domain::snapshot::validate_tool_name(tool).map_err(OpError::usage)?;
    let active = store.active_snapshot(tool)?.ok_or_else(|| {
        OpError::not_found(format!(
            "{tool} has no active snapshot; nothing to roll back"
        ))
    })?;
    let to = match target {
        Target::Previous => default_target(store, &active)?.ok_or_else(|| {
            OpError::invalid(
                Problem::new(format!(
                    "{tool}'s active snapshot {} has no earlier restorable snapshot",
                    active.id
                ))
                .hint(Hint::NameSnapshot),
            )
        })?,
        Target::Id(id) => {
            let s = super::snapshots::get(store, id)?;
            if s.tool != tool {
                return Err(OpError::invalid(format!(
                    "{id} is a snapshot of {}, not of {tool}",
                    s.tool
                )));
            }
            s
        }
        Target::At(t) => {
            let events = store.audit_list(&AuditFilter {
                event: Some(AuditEvent::SnapshotActivated.as_str().into()),
                tool: Some(tool.to_string()),
                until: Some(*t),
                limit: Some(1),
                ..Default::default()
            })?;
            let id = events
                .first()
                .and_then(|(_, r)| SnapshotActivated::read(&r.details).map(|d| d.snapshot_id))
                .ok_or_else(|| {
                    OpError::not_found(format!(
                        "no snapshot of {tool} was active at {}",
                        fmt_ts(*t)
                    ))
                })?;
            super::snapshots::get(store, &id)?
        }
    };
    if to.id == active.id {
        return Err(OpError::invalid(format!(
            "{} is already {tool}'s active snapshot",
            to.id
        )));
    }
    if !to.state.is_restorable() {
        return Err(OpError::invalid(
            Problem::new(format!("{} is {} and cannot be restored", to.id, to.state))
                .hint(Hint::ChooseRestorable { tool: tool.into() }),
        ));
    }
    Ok((active, to))
}

/// The rollback `target` resolves to now: (the active snapshot, the target),
/// checked to be a rollback that can run. A scripted rollback (`--force`,
/// no preview) passes the active snapshot it saw here to [`execute`] as the
/// expected one, so it never rolls back from a snapshot made meanwhile (a
/// racing rollback, an import by CI) that its operator never saw.
pub fn resolve_now(store: &mut Store, tool: &str, target: &Target) -> Result<(Snapshot, Snapshot)> {
    let r = store.read(|r| resolve(r, tool, target))?;
    fault::point("rollback_resolved")?;
    Ok(r)
}

/// Verifies the target and computes the diff, changing nothing: the dry run.
pub fn plan(store: &mut Store, tool: &str, target: &Target, sample: usize) -> Result<Plan> {
    store.read(|r| -> Result<Plan> {
        let (from, to) = resolve(r, tool, target)?;
        let (verification, read) = super::snapshots::verify_collect(r, to.id.as_str(), false)?;
        if !verification.is_ok() {
            return Err(verification.into_error());
        }
        let diff = super::diff::diff_to_verified(
            r,
            (super::diff::active_side(r, tool)?, from.id.as_str()),
            (&read, to.id.as_str()),
            sample,
        )?;
        Ok(Plan {
            tool: tool.to_string(),
            target_was_archived: to.state == SnapshotState::Archived,
            from,
            to,
            verification,
            diff,
        })
    })
}

/// The dry run every front end shows: [`plan`], refused with a conflict when
/// the active snapshot is no longer the one the caller expects (its handle
/// from an earlier preview).
pub fn preview(
    store: &mut Store,
    tool: &str,
    target: &Target,
    expect_active: Option<&str>,
    sample: usize,
) -> Result<Plan> {
    let plan = plan(store, tool, target, sample)?;
    if let Some(exp) = expect_active {
        if exp != plan.from.id {
            return Err(OpError::conflict(
                Problem::new(format!(
                    "{tool}'s active snapshot is {}, not {exp}",
                    plan.from.id
                ))
                .param(Param::ExpectActive),
            ));
        }
    }
    Ok(plan)
}

/// The active snapshot an unattended rollback (no preview) expects: the one
/// given, else the one active now. Passed to [`execute`], it makes a rollback
/// that raced another one (or an import) fail with a conflict instead of
/// undoing what its operator never saw.
pub fn expected_active(
    store: &mut Store,
    tool: &str,
    target: &Target,
    given: Option<String>,
) -> Result<String> {
    match given {
        Some(e) => Ok(e),
        None => Ok(String::from(resolve_now(store, tool, target)?.0.id)),
    }
}

/// The dry run's response: the spec's shape with `status: "dry_run"` and the diff.
pub fn dry_run_response(plan: &Plan, env: &Env, reason: Option<&str>) -> Response {
    Response {
        status: "dry_run".into(),
        tool: plan.tool.clone(),
        from: snap_ref(&plan.from),
        to: snap_ref(&plan.to),
        executed_at: fmt_ts(env.clock.now()),
        executed_by: env.user.clone(),
        reason: reason.map(String::from),
        records_affected: plan.diff.total(),
        target_was_archived: plan.target_was_archived,
        diff: Some(plan.diff.clone()),
    }
}
