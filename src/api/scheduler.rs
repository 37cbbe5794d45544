//! The scheduler's loop: sleep until something is due, run it (in
//! `spawn_blocking`, through `ops::scheduler`), log and count what happened.
//! A failed run is logged and retried at the next tick; it never stops the
//! server. On shutdown the run in progress finishes first.

use super::metrics::AuditStatus;
use super::AppState;
use crate::ops::scheduler::{Scheduler, Severity, Tick, Transition};
use crate::ops::{Env, SYSTEM_USER};
use std::sync::Arc;
use std::time::Duration;

/// The longest the loop sleeps between ticks.
const MAX_SLEEP: Duration = Duration::from_secs(60);

/// Logs one SLA transition (once: the scheduler reports each change once).
pub fn log_transition(t: &Transition) {
    let from = t.from.map(|f| f.as_str()).unwrap_or("unknown");
    let to = t.to.as_str();
    let snapshot_id = t.snapshot_id.as_deref().unwrap_or("-");
    let tool = t.tool.as_str();
    match t.severity() {
        Severity::Error => tracing::error!(
            tool,
            from,
            to,
            snapshotId = snapshot_id,
            "SLA transition: {tool} is now {to}"
        ),
        Severity::Warn => tracing::warn!(
            tool,
            from,
            to,
            snapshotId = snapshot_id,
            "SLA transition: {tool} is now {to}"
        ),
        Severity::Info => tracing::info!(
            tool,
            from,
            to,
            snapshotId = snapshot_id,
            "SLA transition: {tool} is now {to}"
        ),
    }
}

fn report(state: &AppState, tick: &Tick) {
    let m = &state.metrics;
    if let Some(r) = &tick.retention {
        match r {
            Ok(rep) => {
                m.inc(
                    "snapgov_scheduler_runs_total",
                    &[("task", "retention"), ("result", "ok")],
                );
                tracing::info!(
                    task = "retention",
                    archived = rep.archived.len(),
                    deleted = rep.deleted.len(),
                    skipped = rep.plan.skipped.len(),
                    user = SYSTEM_USER,
                    "scheduled retention run done"
                );
            }
            Err(e) => {
                m.inc(
                    "snapgov_scheduler_runs_total",
                    &[("task", "retention"), ("result", "error")],
                );
                tracing::error!(task = "retention", error = %e, "scheduled retention run failed; retrying at the next tick");
            }
        }
    }
    if let Some(r) = &tick.sla {
        let result = if r.is_ok() { "ok" } else { "error" };
        m.inc(
            "snapgov_scheduler_runs_total",
            &[("task", "sla_check"), ("result", result)],
        );
        if let Err(e) = r {
            tracing::error!(task = "sla_check", error = %e, "SLA check failed; retrying at the next tick");
        }
    }
    for t in &tick.transitions {
        log_transition(t);
        m.inc(
            "snapgov_sla_transitions_total",
            &[("tool", &t.tool), ("to", t.to.as_str())],
        );
    }
    for task in &tick.done_elsewhere {
        m.inc(
            "snapgov_scheduler_runs_total",
            &[("task", task), ("result", "done_elsewhere")],
        );
        tracing::info!(
            task,
            "scheduled run already done by another snapgov serve on this store; skipped"
        );
    }
    if let Some(r) = &tick.audit {
        match r {
            Ok(v) => {
                m.inc(
                    "snapgov_scheduler_runs_total",
                    &[("task", "audit_verify"), ("result", "ok")],
                );
                m.set_audit(AuditStatus {
                    ok: v.is_ok(),
                    records: v.records_checked,
                    at: tick.at.unwrap_or_else(|| state.clock.now()),
                });
                if !v.is_ok() {
                    tracing::error!(task = "audit_verify", problems = %v.summary("`GET /api/v1/ingest/audit/verify` lists them all"), "the audit chain does not verify");
                }
            }
            Err(e) => {
                m.inc(
                    "snapgov_scheduler_runs_total",
                    &[("task", "audit_verify"), ("result", "error")],
                );
                tracing::error!(task = "audit_verify", error = %e, "audit verification failed to run; retrying at the next tick");
            }
        }
    }
}

/// Runs until `stop` turns true. A tick in progress always completes.
pub async fn run(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let env = Env::new(state.config.clone(), SYSTEM_USER, state.clock);
    let mut sched = match Scheduler::new(&env, state.clock.now()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the scheduler cannot start; the API keeps serving");
            return;
        }
    };
    tracing::info!(
        schedule = %state.config.retention.schedule,
        next_retention = %crate::domain::time::fmt_ts(sched.next_retention()),
        "scheduler started"
    );
    loop {
        if *stop.borrow() {
            break;
        }
        let st = Arc::clone(&state);
        let env2 = env.clone();
        let before = sched.clone();
        let job = tokio::task::spawn_blocking(move || {
            let tick = match st.pool.take() {
                Ok(mut store) => {
                    let t = sched.tick(&mut store, &env2);
                    st.pool.put(store);
                    t
                }
                Err(e) => {
                    tracing::error!(error = %e, "the scheduler cannot open the store; retrying at the next tick");
                    Tick::default()
                }
            };
            (sched, tick)
        });
        // Not raced against `stop`: a run in progress finishes.
        sched = match job.await {
            Ok((s, tick)) => {
                report(&state, &tick);
                s
            }
            Err(e) => {
                tracing::error!(error = %e, "a scheduled run panicked; retrying at the next tick");
                let mut s = before;
                s.back_off(state.clock.now());
                s
            }
        };
        let now = state.clock.now();
        let wait = (sched.next_wake(now) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .clamp(Duration::from_secs(1), MAX_SLEEP);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.sla_poke.notified() => sched.poke_sla(),
            _ = stop.changed() => break,
        }
    }
    tracing::info!("scheduler stopped");
}
