//! Executing a rollback: the seven steps in one write transaction, a
//! savepoint around restore and verify, and the audit trail of what
//! happened (or where it stopped).

use super::{resolve, snap_ref, Observer, Response, Step, StepEvent, Target};
use crate::domain::audit::details::{
    ActivationCause, SnapshotActivated, SnapshotRollbackFailed, SnapshotRolledBack,
};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::problem::{Hint, Problem};
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use crate::ops::{fault, Env, OpError, Result};
use crate::store::prelude::*;
use crate::store::{ContentHashes, DiffSide, Store, WriteTx};
use chrono::{DateTime, Utc};

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
    let attempt = Attempt {
        env,
        tool,
        reason,
        now,
    };
    // Where the attempt stopped, if it did: recorded in the trail below.
    let mut stopped: Option<Refusal> = None;
    let result = store.write(|tx| -> std::result::Result<Outcome, Exec> {
        let (from, to) = resolve(tx, tool, target).map_err(Exec::Op)?;
        if let Some(exp) = expected_active {
            if let Err(e) = check_expected(tx, tool, &from, exp) {
                stopped = Some(Refusal {
                    step: "initiate",
                    from: from.id.to_string(),
                    to: to.id.to_string(),
                    expected: Some(exp.to_string()),
                });
                return Err(Exec::Op(e));
            }
        }
        let run = Run {
            a: &attempt,
            from: &from,
            to: &to,
        };
        run_steps(tx, &run, obs, &mut stopped)
    });
    conclude(store, &attempt, result, stopped)
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
    let mut content = None;
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
                run.a.env,
                run.a.tool,
                &attempt,
                run.a.reason,
                &e.to_string(),
                run.a.now,
            )
            .map_err(Exec::Op)?;
            return Ok(Outcome::Undone(step, e));
        }
    }
    one(Step::Commit, tx).map_err(Exec::Op)?;
    one(Step::UpdateActive, tx).map_err(Exec::Op)?;
    one(Step::Audit, tx).map_err(Exec::Op)?;
    let r = response(
        run.a.tool,
        run.from,
        run.to,
        run.a.env,
        run.a.now,
        run.a.reason,
        affected,
    );
    Ok(Outcome::Done(Box::new(r)))
}

/// The rollback's result as its caller sees it: the response, or the error
/// framed by where it stopped (and, for a refusal that undid the whole
/// transaction, its audit record written on its own).
fn conclude(
    store: &mut Store,
    r: &Attempt<'_>,
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

/// Who rolls back which tool, why and when: known before the snapshots are
/// resolved.
struct Attempt<'a> {
    env: &'a Env,
    tool: &'a str,
    reason: &'a str,
    now: DateTime<Utc>,
}

/// What every step of one rollback shares: the attempt and its snapshots.
struct Run<'a> {
    a: &'a Attempt<'a>,
    from: &'a Snapshot,
    to: &'a Snapshot,
}

impl Run<'_> {
    fn refusal(&self, step: &'static str) -> Refusal {
        Refusal {
            step,
            from: self.from.id.to_string(),
            to: self.to.id.to_string(),
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
    content: &mut Option<ContentHashes>,
) -> Result<u64> {
    let (env, tool, from, to, now) = (run.a.env, run.a.tool, run.from, run.to, run.a.now);
    match step {
        Step::VerifyTarget => {
            let (v, hashes) = crate::ops::snapshots::verify_collect(tx, to.id.as_str(), false)?;
            if !v.is_ok() {
                return Err(v.into_error());
            }
            *content = Some(hashes);
        }
        Step::Savepoint => tx.savepoint(SAVEPOINT)?,
        Step::Restore => {
            let key = tx.ensure_tool(tool)?;
            return Ok(tx.restore_active_verified(key, verified(content)?)?);
        }
        Step::VerifyRestore => verify_restore(tx, tool, to, verified(content)?)?,
        Step::Commit => tx.release(SAVEPOINT)?,
        Step::UpdateActive => {
            if from.state == SnapshotState::Active {
                tx.set_snapshot_state(from.id.as_str(), SnapshotState::Previous, now)?;
            }
            tx.set_snapshot_state(to.id.as_str(), SnapshotState::Active, now)?;
            tx.set_active_pointer(tool, Some(to.id.as_str()), now, &env.user)?;
        }
        Step::Audit => audit_done(tx, run, affected)?,
    }
    Ok(0)
}

/// What step 1 read of the target, which the steps after it rely on.
fn verified(content: &Option<ContentHashes>) -> Result<&ContentHashes> {
    content.as_ref().ok_or_else(|| {
        OpError::integrity(
            "the rollback's steps ran out of order: its target was not verified first".to_string(),
        )
    })
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
    let (env, tool, from, to, now, reason) = (
        run.a.env,
        run.a.tool,
        run.from,
        run.to,
        run.a.now,
        run.a.reason,
    );
    let rolled_back = SnapshotRolledBack {
        tool: Some(tool.to_string()),
        from_snapshot: from.id.to_string(),
        to_snapshot: Some(to.id.to_string()),
        reason: reason.to_string(),
        records_affected: affected,
        target_was_archived: Some(to.state == SnapshotState::Archived),
        automatic: None,
    };
    let activated = SnapshotActivated {
        snapshot_id: to.id.to_string(),
        previous_snapshot: Some(from.id.to_string()),
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
