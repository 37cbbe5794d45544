//! The scheduler's decisions: when retention runs, when SLAs are checked,
//! which freshness transitions happened. Pure logic over a "now" that the
//! caller passes in (so tests drive it with any clock); [`Scheduler::tick`]
//! runs what is due through the same workflows as the CLI, as user
//! [`SYSTEM_USER`]. The loop that sleeps and logs lives in `crate::api`.

use super::audit::VerifyReport;
use super::retention::RunReport;
use super::sla::SlaStatus;
use super::{Env, OpError, Result, SYSTEM_USER};
use crate::domain::freshness::Freshness;
use crate::domain::retention::next_run;
use crate::domain::time::fmt_ts;
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How long after a failed scheduled run it is tried again (the next tick).
pub const RETRY_AFTER: Duration = Duration::minutes(1);

/// A tool's SLA level as the scheduler tracks it: the four freshness states
/// with stale split at the stale threshold (overdue).
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    NoSnapshot,
    Fresh,
    Stale,
    Overdue,
    Critical,
    Expired,
}

impl Level {
    pub fn of(s: &SlaStatus) -> Level {
        match s.assessment {
            None => Level::NoSnapshot,
            Some(a) => match a.state {
                Freshness::Fresh => Level::Fresh,
                Freshness::Stale if a.overdue => Level::Overdue,
                Freshness::Stale => Level::Stale,
                Freshness::Critical => Level::Critical,
                Freshness::Expired => Level::Expired,
            },
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::NoSnapshot => "no_snapshot",
            Level::Fresh => "fresh",
            Level::Stale => "stale",
            Level::Overdue => "overdue",
            Level::Critical => "critical",
            Level::Expired => "expired",
        }
    }

    /// How loudly reaching this level is logged.
    pub fn severity(self) -> Severity {
        match self {
            Level::NoSnapshot | Level::Fresh => Severity::Info,
            Level::Stale => Severity::Warn,
            Level::Overdue | Level::Critical | Level::Expired => Severity::Error,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

/// A tool's SLA level changed (or, on the first check, is not fresh).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    pub tool: String,
    /// `None` on the scheduler's first look at the tool.
    pub from: Option<Level>,
    pub to: Level,
    pub snapshot_id: Option<String>,
    pub at: String,
}

impl Transition {
    pub fn severity(&self) -> Severity {
        self.to.severity()
    }
}

/// What one tick did.
#[derive(Debug, Default)]
pub struct Tick {
    /// When it ran.
    pub at: Option<DateTime<Utc>>,
    /// The retention run, if one was due: its report or its error.
    pub retention: Option<Result<RunReport, String>>,
    /// The SLA check, if one was due: every tool's status, or the error.
    pub sla: Option<Result<Vec<SlaStatus>, String>>,
    /// Level changes found by the SLA check, each reported once.
    pub transitions: Vec<Transition>,
    /// The audit chain verification, if one was due.
    pub audit: Option<Result<VerifyReport, String>>,
    /// Scheduled runs that were due but that another process on the same
    /// store (another `serve`) had already done: "retention", "sla_check".
    pub done_elsewhere: Vec<&'static str>,
}

/// The scheduler's state: what is due when, and the last level seen per tool.
#[derive(Clone, Debug)]
pub struct Scheduler {
    schedule: String,
    check_interval: Duration,
    /// The scheduled time the next retention run is for; a retried run
    /// keeps it, so that it is still one run among several processes.
    retention_slot: DateTime<Utc>,
    next_retention: DateTime<Utc>,
    /// The next scheduled SLA check; `None`: at the next tick.
    next_sla: Option<DateTime<Utc>>,
    /// A check was asked for (after a write): at the next tick, besides
    /// the schedule.
    sla_poked: bool,
    next_audit: Option<DateTime<Utc>>,
    levels: BTreeMap<String, Level>,
}

impl Scheduler {
    /// A scheduler starting at `now`: retention at the schedule's next time,
    /// the SLA check and the audit verification at once.
    pub fn new(env: &Env, now: DateTime<Utc>) -> Result<Scheduler> {
        let schedule = env.config.retention.schedule.clone();
        let next_retention = next_run(&schedule, now).map_err(OpError::usage)?;
        Ok(Scheduler {
            schedule,
            check_interval: env.config.sla_check_interval,
            retention_slot: next_retention,
            next_retention,
            next_sla: None,
            sla_poked: false,
            next_audit: None,
            levels: BTreeMap::new(),
        })
    }

    pub fn next_retention(&self) -> DateTime<Utc> {
        self.next_retention
    }

    pub fn next_sla_check(&self) -> Option<DateTime<Utc>> {
        self.next_sla
    }

    /// The earliest time something is due (`now` if something already is).
    pub fn next_wake(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        [
            Some(self.next_retention),
            Some(if self.sla_poked {
                now
            } else {
                self.next_sla.unwrap_or(now)
            }),
            Some(self.next_audit.unwrap_or(now)),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now)
    }

    pub fn retention_due(&self, now: DateTime<Utc>) -> bool {
        now >= self.next_retention
    }

    pub fn sla_due(&self, now: DateTime<Utc>) -> bool {
        self.sla_poked || self.next_sla.is_none_or(|t| now >= t)
    }

    pub fn audit_due(&self, now: DateTime<Utc>) -> bool {
        self.next_audit.is_none_or(|t| now >= t)
    }

    /// Asks for an SLA check at the next tick (after an import or rollback).
    pub fn poke_sla(&mut self) {
        self.sla_poked = true;
    }

    /// Records a retention run's outcome: on success the next run is the
    /// schedule's next time; on failure it is retried at the next tick.
    pub fn retention_finished(&mut self, now: DateTime<Utc>, ok: bool) {
        if ok {
            self.retention_slot = next_run(&self.schedule, now).unwrap_or(now + Duration::days(1));
            self.next_retention = self.retention_slot;
        } else {
            self.next_retention = now + RETRY_AFTER;
        }
    }

    /// After a tick that could not finish (a panic): everything that was
    /// due is tried again after [`RETRY_AFTER`].
    pub fn back_off(&mut self, now: DateTime<Utc>) {
        let retry = now + RETRY_AFTER;
        if self.retention_due(now) {
            self.next_retention = retry;
        }
        if self.sla_due(now) {
            self.next_sla = Some(retry);
            self.sla_poked = false;
        }
        if self.audit_due(now) {
            self.next_audit = Some(retry);
        }
    }

    /// Compares the tools' statuses with the levels last seen and returns
    /// each change once; schedules the next check at the earliest `nextCheck`.
    pub fn observe(&mut self, statuses: &[SlaStatus], now: DateTime<Utc>) -> Vec<Transition> {
        let mut out = Vec::new();
        for s in statuses {
            let level = Level::of(s);
            let prev = self.levels.insert(s.tool.clone(), level);
            let changed = match prev {
                Some(p) => p != level,
                // First look: only a level worth a warning is news.
                None => level.severity() != Severity::Info,
            };
            if changed {
                out.push(Transition {
                    tool: s.tool.clone(),
                    from: prev,
                    to: level,
                    snapshot_id: s.snapshot.as_ref().map(|x| x.id.to_string()),
                    at: fmt_ts(now),
                });
            }
        }
        self.sla_poked = false;
        let periodic = super::sla::next_scheduled_check(now, self.check_interval);
        self.next_sla = Some(
            statuses
                .iter()
                .map(|s| s.next_check)
                .filter(|t| *t > now)
                .min()
                .unwrap_or(periodic)
                .min(periodic),
        );
        out
    }

    /// The level last seen for each tool.
    pub fn levels(&self) -> &BTreeMap<String, Level> {
        &self.levels
    }

    /// Runs what is due at `env.clock.now()`: retention (as [`SYSTEM_USER`],
    /// audited like a manual run), then the SLA check, then the audit
    /// verification. A failure is returned in the [`Tick`], never raised,
    /// and the failed part is retried at the next tick. Scheduled retention
    /// runs and SLA checks are claimed in the store first, so that several
    /// `serve`s on one store do each once between them.
    pub fn tick(&mut self, store: &mut Store, env: &Env) -> Tick {
        let now = env.clock.now();
        let system = Env::new(env.config.clone(), SYSTEM_USER, env.clock);
        let mut tick = Tick {
            at: Some(now),
            ..Default::default()
        };
        if self.retention_due(now) {
            let r = super::retention::run_scheduled(store, &system, self.retention_slot);
            self.retention_finished(now, r.is_ok());
            match r {
                Ok(Some(rep)) => {
                    // Archiving can change a tool's default rollback target:
                    // look at the SLAs again too, if it changed anything (a
                    // check asked for runs even where another serve did the
                    // scheduled one).
                    if !(rep.archived.is_empty() && rep.deleted.is_empty()) {
                        self.poke_sla();
                    }
                    tick.retention = Some(Ok(rep));
                }
                Ok(None) => tick.done_elsewhere.push("retention"),
                Err(e) => tick.retention = Some(Err(e.to_string())),
            }
        }
        if self.sla_due(now) {
            self.check_sla(store, &system, now, &mut tick);
        }
        if self.audit_due(now) {
            let r = super::audit::verify(&*store, &system, None);
            self.next_audit = Some(match &r {
                Ok(_) => now + self.check_interval,
                Err(_) => now + RETRY_AFTER,
            });
            tick.audit = Some(r.map_err(|e| e.to_string()));
        }
        tick
    }

    /// The SLA check. A scheduled one is claimed first; when another process
    /// already did it, the levels are still brought up to date (so that this
    /// process reports no change twice if it has to take over) but nothing
    /// is reported. A check asked for (the first, one after a write) always
    /// runs, and claims the scheduled one if that is due too.
    fn check_sla(&mut self, store: &mut Store, env: &Env, now: DateTime<Utc>, tick: &mut Tick) {
        let claimed = match self.next_sla.filter(|t| now >= *t) {
            // A store that cannot record the claim (read-only) still gets
            // its checks.
            Some(slot) => store
                .write(|tx| tx.claim_scheduled_run("sla_check", slot))
                .unwrap_or(true),
            None => false,
        };
        let mine = claimed || self.sla_poked || self.next_sla.is_none();
        match super::sla::report(&*store, env, None) {
            Ok(statuses) => {
                let transitions = self.observe(&statuses, now);
                if mine {
                    tick.transitions = transitions;
                    tick.sla = Some(Ok(statuses));
                } else {
                    tick.done_elsewhere.push("sla_check");
                }
            }
            Err(e) => {
                self.next_sla = Some(now + RETRY_AFTER);
                self.sla_poked = false;
                tick.sla = Some(Err(e.to_string()));
            }
        }
    }
}
