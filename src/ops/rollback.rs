//! Rollback: make an earlier snapshot the tool's active data again, through
//! the spec's verified, atomic workflow.
//!
//! verify target → savepoint → restore → verify restore → commit → update
//! active → audit. A target that does not re-hash to its `normalizedHash`
//! aborts before anything changes. A failure at restore or verify returns to
//! the savepoint (the store is exactly as before) and the failed attempt is
//! audited. Everything runs in one write transaction, so a crash at any
//! point leaves the store as it was.

use super::diff::{diff, DiffSummary};
use super::snapshots::VerifyResult;
use super::{fault, Env, OpError, Result};
use crate::domain::audit::details::{
    ActivationCause, Details, SnapshotActivated, SnapshotRollbackFailed, SnapshotRolledBack,
};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::problem::{Hint, Param, Problem};
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use crate::store::prelude::*;
use crate::store::{AuditFilter, ContentHashes, DiffSide, Store, WriteTx};
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
        snapshot_id: s.id.clone(),
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
        let verification = super::snapshots::verify(r, &to.id)?;
        if !verification.is_ok() {
            return Err(verification.into_error());
        }
        let diff = diff(
            r,
            (super::diff::active_side(r, tool)?, &from.id),
            (super::diff::snapshot_side(r, &to.id)?, &to.id),
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
        None => Ok(resolve_now(store, tool, target)?.0.id),
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

fn step_fault(step: Step) -> Result<()> {
    fault::point(step.name())
}

/// Executes a rollback of `tool` to `target`. `expected_active` is the
/// active snapshot the operator's preview was computed against: if someone
/// changed it meanwhile, the rollback fails with a conflict naming who.
pub fn execute(
    store: &mut Store,
    env: &Env,
    tool: &str,
    target: &Target,
    expected_active: Option<&str>,
    reason: &str,
    obs: &dyn Observer,
) -> Result<Response> {
    if reason.trim().is_empty() {
        return Err(OpError::usage(
            Problem::new("a rollback needs a reason").hint(Hint::GiveReason),
        ));
    }
    let now = env.clock.now();
    // Where the attempt stopped, if it did: recorded in the trail below.
    let mut stopped: Option<Refusal> = None;
    let result = store.write(|tx| -> std::result::Result<Outcome, Exec> {
        let (from, to) = resolve(tx, tool, target).map_err(Exec::Op)?;
        if let Some(exp) = expected_active {
            if let Err(e) = check_expected(tx, tool, &from, exp) {
                stopped = Some(Refusal {
                    step: "initiate",
                    from: from.id.clone(),
                    to: to.id.clone(),
                    expected: Some(exp.to_string()),
                });
                return Err(Exec::Op(e));
            }
        }
        let run = Run {
            env,
            tool,
            from: &from,
            to: &to,
            reason,
            now,
        };
        run_steps(tx, &run, obs, &mut stopped)
    });
    conclude(
        store,
        &Run0 {
            env,
            tool,
            reason,
            now,
        },
        result,
        stopped,
    )
}

/// Refuses (a conflict naming who moved it) when the active snapshot is not
/// the one the operator's preview was computed against.
fn check_expected(tx: &WriteTx<'_>, tool: &str, from: &Snapshot, exp: &str) -> Result<()> {
    if exp == from.id {
        return Ok(());
    }
    let who = tx.tool(tool)?;
    Err(OpError::conflict(format!(
        "{tool}'s active snapshot changed since the preview: it is now {} (set by {} at {}), not {exp}; review the new state and try again",
        from.id,
        who.as_ref().and_then(|w| w.changed_by.clone()).unwrap_or_else(|| "unknown".into()),
        who.as_ref().and_then(|w| w.changed_at).map(fmt_ts).unwrap_or_else(|| "-".into()),
    )))
}

/// Runs the steps in order inside the write transaction; a failure at
/// restore or verify returns to the savepoint and is recorded there.
fn run_steps(
    tx: &mut WriteTx<'_>,
    run: &Run<'_>,
    obs: &dyn Observer,
    stopped: &mut Option<Refusal>,
) -> std::result::Result<Outcome, Exec> {
    let mut affected = 0;
    let mut content = ContentHashes::default();
    let mut one = |step: Step, tx: &mut WriteTx<'_>| -> Result<()> {
        obs.on(&StepEvent::Started(step));
        let r = step_fault(step).and_then(|_| run_step(step, tx, run, affected, &mut content));
        match r {
            Ok(n) => {
                affected = affected.max(n);
                obs.on(&StepEvent::Done(step));
                Ok(())
            }
            Err(e) => {
                obs.on(&StepEvent::Failed(step, e.to_string()));
                *stopped = Some(run.refusal(step.name()));
                Err(e)
            }
        }
    };
    one(Step::VerifyTarget, tx).map_err(Exec::Op)?;
    one(Step::Savepoint, tx).map_err(Exec::Op)?;
    for step in [Step::Restore, Step::VerifyRestore] {
        if let Err(e) = one(step, tx) {
            // Back to the savepoint: the store is as before; say so in the trail.
            tx.rollback_to(SAVEPOINT)?;
            tx.release(SAVEPOINT)?;
            let attempt = run.refusal(step.name());
            audit_failure(
                tx,
                run.env,
                run.tool,
                &attempt,
                run.reason,
                &e.to_string(),
                run.now,
            )
            .map_err(Exec::Op)?;
            return Ok(Outcome::Undone(step, e));
        }
    }
    one(Step::Commit, tx).map_err(Exec::Op)?;
    one(Step::UpdateActive, tx).map_err(Exec::Op)?;
    one(Step::Audit, tx).map_err(Exec::Op)?;
    let r = response(
        run.tool, run.from, run.to, run.env, run.now, run.reason, affected,
    );
    Ok(Outcome::Done(Box::new(r)))
}

/// The rollback's result as its caller sees it: the response, or the error
/// framed by where it stopped (and, for a refusal that undid the whole
/// transaction, its audit record written on its own).
fn conclude(
    store: &mut Store,
    r: &Run0<'_>,
    result: std::result::Result<Outcome, Exec>,
    stopped: Option<Refusal>,
) -> Result<Response> {
    let (env, tool, reason, now) = (r.env, r.tool, r.reason, r.now);
    match result {
        Ok(Outcome::Done(r)) => Ok(*r),
        // Undone at the savepoint; only the failure's audit record was kept.
        Ok(Outcome::Undone(step, e)) => {
            let still = stopped.as_ref().map(|f| f.from.as_str()).unwrap_or("-");
            // The step's own facts and hint, framed by where it stopped.
            let inner = e
                .problem()
                .map_or_else(|| e.to_string(), |p| p.message.clone());
            let msg = Problem {
                message: format!("rollback failed at step {}: {inner}; it was undone at its savepoint: nothing changed and {tool}'s active snapshot is still {still}", step.name()),
                param: e.param(),
                hint: e.hint(),
            };
            Err(match e {
                OpError::Integrity(_) => OpError::Integrity(msg),
                OpError::Fault(f) => OpError::Fault(f),
                _ => OpError::invalid(msg),
            })
        }
        Err(Exec::Op(e)) => {
            // The transaction was undone as a whole (a refusal before the
            // savepoint, or a failure after it was released): record the
            // attempt on its own, so that every front end leaves the same
            // trace of a refused rollback. Nothing else is written.
            if let Some(attempt) = stopped {
                let msg = e.to_string();
                let _ = store.write(|tx| audit_failure(tx, env, tool, &attempt, reason, &msg, now));
            }
            Err(e)
        }
    }
}

/// Who rolls back what, why and when: before the snapshots are resolved.
struct Run0<'a> {
    env: &'a Env,
    tool: &'a str,
    reason: &'a str,
    now: DateTime<Utc>,
}

/// What every step of one rollback shares.
struct Run<'a> {
    env: &'a Env,
    tool: &'a str,
    from: &'a Snapshot,
    to: &'a Snapshot,
    reason: &'a str,
    now: DateTime<Utc>,
}

impl Run<'_> {
    fn refusal(&self, step: &'static str) -> Refusal {
        Refusal {
            step,
            from: self.from.id.clone(),
            to: self.to.id.clone(),
            expected: None,
        }
    }
}

fn response(
    tool: &str,
    from: &Snapshot,
    to: &Snapshot,
    env: &Env,
    now: DateTime<Utc>,
    reason: &str,
    affected: u64,
) -> Response {
    Response {
        status: "completed".into(),
        tool: tool.to_string(),
        from: snap_ref(from),
        to: snap_ref(to),
        executed_at: fmt_ts(now),
        executed_by: env.user.clone(),
        reason: Some(reason.to_string()),
        records_affected: affected,
        target_was_archived: to.state == SnapshotState::Archived,
        diff: None,
    }
}

const SAVEPOINT: &str = "rollback_restore";

enum Outcome {
    Done(Box<Response>),
    /// Failed at restore or verify and returned to the savepoint.
    Undone(Step, OpError),
}

/// The write transaction's error: any workflow error.
enum Exec {
    Op(OpError),
}

impl From<crate::store::StoreError> for Exec {
    fn from(e: crate::store::StoreError) -> Self {
        Exec::Op(e.into())
    }
}

fn run_step(
    step: Step,
    tx: &mut WriteTx<'_>,
    run: &Run<'_>,
    affected: u64,
    content: &mut ContentHashes,
) -> Result<u64> {
    let (env, tool, from, to, now) = (run.env, run.tool, run.from, run.to, run.now);
    match step {
        Step::VerifyTarget => {
            let (v, hashes) = super::snapshots::verify_collect(tx, &to.id, false)?;
            if !v.is_ok() {
                return Err(v.into_error());
            }
            *content = hashes;
        }
        Step::Savepoint => tx.savepoint(SAVEPOINT)?,
        Step::Restore => {
            let pk = tx_pk(tx, &to.id)?;
            let key = tx.ensure_tool(tool)?;
            return Ok(tx.restore_active(key, pk)?);
        }
        Step::VerifyRestore => verify_restore(tx, tool, to, content)?,
        Step::Commit => tx.release(SAVEPOINT)?,
        Step::UpdateActive => {
            if from.state == SnapshotState::Active {
                tx.set_snapshot_state(&from.id, SnapshotState::Previous, now)?;
            }
            tx.set_snapshot_state(&to.id, SnapshotState::Active, now)?;
            tx.set_active_pointer(tool, Some(&to.id), now, &env.user)?;
        }
        Step::Audit => audit_done(tx, run, affected)?,
    }
    Ok(0)
}

/// The active data must be exactly the target's records: each member's
/// content hash (recomputed from its body in step 1) in identity order must
/// give the target's normalizedHash and count.
fn verify_restore(
    tx: &mut WriteTx<'_>,
    tool: &str,
    to: &Snapshot,
    content: &ContentHashes,
) -> Result<()> {
    let key = tx.ensure_tool(tool)?;
    let got = tx.hash_with(DiffSide::Active(key), content)?;
    let ok = got
        .as_ref()
        .is_some_and(|(h, n)| Some(h) == to.normalized_hash.as_ref() && *n == to.record_count);
    if ok {
        return Ok(());
    }
    let (h, n) = got.unwrap_or_else(|| ("records that are not the target's".into(), 0));
    Err(OpError::integrity(format!(
        "after restoring {}, {tool}'s active data hashes to {h} ({n} records), not {} ({} records)",
        to.id,
        to.normalized_hash.as_deref().unwrap_or("-"),
        to.record_count
    )))
}

/// The completed rollback's two audit records.
fn audit_done(tx: &mut WriteTx<'_>, run: &Run<'_>, affected: u64) -> Result<()> {
    let (env, tool, from, to, now, reason) =
        (run.env, run.tool, run.from, run.to, run.now, run.reason);
    let rolled_back = SnapshotRolledBack {
        tool: Some(tool.to_string()),
        from_snapshot: from.id.clone(),
        to_snapshot: Some(to.id.clone()),
        reason: reason.to_string(),
        records_affected: affected,
        target_was_archived: Some(to.state == SnapshotState::Archived),
        automatic: None,
    };
    let activated = SnapshotActivated {
        snapshot_id: to.id.clone(),
        previous_snapshot: Some(from.id.clone()),
        cause: ActivationCause::Rollback,
        records_affected: affected,
        reason: None,
    };
    let about = (tool, to.id.as_str());
    tx.append_audit(&NewAudit::about_snapshot(
        AuditEvent::SnapshotRolledBack,
        now,
        &env.user,
        about,
        &rolled_back,
    ))?;
    tx.append_audit(&NewAudit::about_snapshot(
        AuditEvent::SnapshotActivated,
        now,
        &env.user,
        about,
        &activated,
    ))?;
    Ok(())
}

fn tx_pk(tx: &WriteTx<'_>, id: &str) -> Result<i64> {
    Ok(tx
        .get_snapshot_pk(id)?
        .ok_or_else(|| OpError::not_found(format!("no snapshot {id}")))?
        .1)
}

#[allow(clippy::too_many_arguments)]
/// A rollback attempt that did not complete: where it stopped, the active
/// snapshot it would have rolled back from and its target, and (for a
/// conflict) the active snapshot the operator's preview was made against.
struct Refusal {
    step: &'static str,
    from: String,
    to: String,
    expected: Option<String>,
}

fn audit_failure(
    tx: &mut WriteTx<'_>,
    env: &Env,
    tool: &str,
    attempt: &Refusal,
    reason: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let details = SnapshotRollbackFailed {
        tool: tool.to_string(),
        from_snapshot: attempt.from.clone(),
        to_snapshot: attempt.to.clone(),
        step: attempt.step.to_string(),
        error: error.to_string(),
        reason: reason.to_string(),
        expected_active: attempt.expected.clone(),
    };
    tx.append_audit(&NewAudit::about_snapshot(
        AuditEvent::SnapshotRollbackFailed,
        now,
        &env.user,
        (tool, &attempt.to),
        &details,
    ))?;
    Ok(())
}
