//! Work the console asks for, and what comes back. The app's state machines
//! return [`Effect`]s; the event loop runs each [`Job`] in a worker thread
//! with its own store connection (`perform`) and feeds the [`Msg`] back.
//! Tests call `perform` directly.

use super::data::{self, Fingerprint, Overview, Targets};
use crate::domain::audit::AuditRecord;
use crate::domain::snapshot::Snapshot;
use crate::ops::diff::{DiffItem, ItemFilter};
use crate::ops::rollback::{Observer, Plan, Response, StepEvent};
use crate::ops::{Env, OpError};
use crate::store::{AuditFilter, OpenMode, Store};
use std::path::Path;
use std::sync::mpsc::Sender;

#[derive(Clone, Debug)]
pub enum Job {
    Fingerprint,
    Overview {
        window_days: i64,
    },
    Snapshots {
        tool: String,
        after: Option<String>,
    },
    Retention,
    Targets {
        tool: String,
    },
    Plan {
        tool: String,
        target: String,
    },
    DiffPage {
        tool: String,
        target: String,
        filter: ItemFilter,
        offset: usize,
    },
    Execute {
        tool: String,
        target: String,
        expected_active: String,
        reason: String,
    },
    AuditPage {
        filter: AuditFilter,
    },
    AuditVerify,
    Expire {
        id: String,
        reason: String,
    },
    HoldAdd {
        id: String,
        reason: String,
        until: chrono::DateTime<chrono::Utc>,
    },
    HoldRemove {
        id: String,
    },
    RetentionRun {
        dry_run: bool,
    },
    /// Writes the chain's head to a file, then verifies the chain against it.
    Checkpoint {
        path: std::path::PathBuf,
    },
}

impl Job {
    /// Whether the job writes the store (or, for a checkpoint, a file):
    /// never in a read-only console.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Job::Execute { .. }
                | Job::Expire { .. }
                | Job::HoldAdd { .. }
                | Job::HoldRemove { .. }
                | Job::RetentionRun { dry_run: false }
                | Job::Checkpoint { .. }
        )
    }
}

/// What the app asks the event loop to do.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // short-lived, a few per key press
pub enum Effect {
    Run {
        id: u64,
        job: Job,
    },
    /// Put the text on the clipboard (OSC 52, through the terminal).
    Copy(String),
    Quit,
    Suspend,
}

pub enum Payload {
    Fingerprint(Fingerprint),
    Overview(Box<Overview>),
    Snapshots(Vec<Snapshot>),
    Retention(Box<crate::ops::retention::Status>),
    Targets(Box<Targets>),
    Plan(Box<Plan>),
    DiffPage(Vec<DiffItem>),
    /// A rollback step started, finished or failed (several per job).
    Step(StepEvent),
    Executed(Box<Response>),
    AuditPage(Vec<(u64, AuditRecord)>),
    AuditVerify(Box<crate::ops::audit::VerifyReport>),
    RetentionRun(Box<crate::ops::retention::RunReport>),
    /// A governance action completed: the sentence the CLI would print.
    Done(String),
}

/// A job's result (or progress), tagged with the request id. The app drops
/// messages whose id it no longer waits for: that is how Esc cancels.
pub struct Msg {
    pub id: u64,
    pub result: Result<Payload, OpError>,
}

pub const SNAPSHOT_PAGE: u64 = 200;
pub const DIFF_PAGE: usize = 100;

struct StepSender<'a> {
    id: u64,
    tx: &'a Sender<Msg>,
}

impl Observer for StepSender<'_> {
    fn on(&self, e: &StepEvent) {
        let _ = self.tx.send(Msg {
            id: self.id,
            result: Ok(Payload::Step(e.clone())),
        });
    }
}

/// The next job id: each job's result comes back under its id, and a
/// result nobody waits for any more is dropped.
pub fn next_id(ids: &mut u64) -> u64 {
    *ids += 1;
    *ids
}

/// Runs one job on a connection of its own: read-only unless the job is a
/// rollback (and the console is not read-only). Step events go to `tx` as
/// they happen; the final result is returned.
pub fn perform(
    db: &crate::store::Location,
    env: &Env,
    read_only: bool,
    id: u64,
    job: &Job,
    tx: &Sender<Msg>,
) -> Msg {
    let result = (|| -> Result<Payload, OpError> {
        let mode = if job.writes() {
            if read_only {
                return Err(OpError::usage(
                    "this console was opened read-only: governance actions are not available",
                ));
            }
            OpenMode::ReadWrite
        } else {
            OpenMode::ReadOnly
        };
        let mut store = Store::open(db.clone(), mode)?;
        run(&mut store, env, id, job, tx)
    })();
    Msg { id, result }
}

/// Runs one job on a given store.
pub fn run(
    store: &mut Store,
    env: &Env,
    id: u64,
    job: &Job,
    tx: &Sender<Msg>,
) -> Result<Payload, OpError> {
    Ok(match job {
        Job::Fingerprint => Payload::Fingerprint(data::fingerprint(store)?),
        Job::Overview { window_days } => {
            Payload::Overview(Box::new(data::overview(store, env, *window_days)?))
        }
        Job::Snapshots { tool, after } => {
            Payload::Snapshots(data::snapshots(store, tool, after.clone(), SNAPSHOT_PAGE)?)
        }
        Job::Retention => Payload::Retention(Box::new(data::retention(store, env)?)),
        Job::Targets { tool } => Payload::Targets(Box::new(data::targets(store, env, tool)?)),
        Job::Plan { tool, target } => Payload::Plan(Box::new(data::plan(store, tool, target)?)),
        Job::DiffPage {
            tool,
            target,
            filter,
            offset,
        } => Payload::DiffPage(data::diff_page(
            store, tool, target, filter, *offset, DIFF_PAGE,
        )?),
        Job::Execute {
            tool,
            target,
            expected_active,
            reason,
        } => Payload::Executed(Box::new(data::execute(
            store,
            env,
            tool,
            target,
            expected_active,
            reason,
            &StepSender { id, tx },
        )?)),
        Job::AuditPage { filter } => Payload::AuditPage(data::audit_page(store, filter)?),
        Job::AuditVerify => Payload::AuditVerify(Box::new(data::audit_verify(store, env)?)),
        Job::Expire { .. }
        | Job::HoldAdd { .. }
        | Job::HoldRemove { .. }
        | Job::RetentionRun { .. }
        | Job::Checkpoint { .. } => governance(store, env, job)?,
    })
}

/// The governance actions of the dialogs; each says what it did.
fn governance(store: &mut Store, env: &Env, job: &Job) -> Result<Payload, OpError> {
    Ok(match job {
        Job::Expire { id, reason } => {
            let s = crate::ops::expire::expire(store, env, id, reason)?;
            Payload::Done(format!(
                "expired {} ({}): its data is no longer available",
                s.id, s.tool
            ))
        }
        Job::HoldAdd { id, reason, until } => {
            let h = crate::ops::retention::hold_add(store, env, id, reason, *until)?;
            Payload::Done(format!(
                "held {} until {}: retention will not archive or delete it",
                h.snapshot_id,
                crate::domain::time::fmt_ts(h.expires_at)
            ))
        }
        Job::HoldRemove { id } => {
            crate::ops::retention::hold_remove(store, env, id)?;
            Payload::Done(format!("removed the hold on {id}"))
        }
        Job::RetentionRun { dry_run } => {
            Payload::RetentionRun(Box::new(crate::ops::retention::run(store, env, *dry_run)?))
        }
        Job::Checkpoint { path } => checkpoint(store, env, path)?,
        _ => return Err(OpError::usage("not a governance action")),
    })
}

/// Writes a checkpoint, then checks the chain reaches it.
fn checkpoint(store: &mut Store, env: &Env, path: &Path) -> Result<Payload, OpError> {
    let cp = crate::ops::audit::write_checkpoint(store, path, env.clock.now())?;
    let again = crate::ops::audit::read_checkpoint(path)?;
    let r = crate::ops::audit::verify(store, env, Some(&again))?;
    if !r.is_ok() {
        return Err(OpError::integrity(format!(
            "checkpoint written to {}, but the chain does not verify: {}",
            path.display(),
            r.summary(&format!(
                "`{}` lists them all",
                crate::cli::suggest::audit_verify_report_command()
            ))
        )));
    }
    Ok(Payload::Done(format!(
        "checkpoint written to {}: head {}; the chain verifies up to it ({} records)",
        path.display(),
        cp.id,
        r.records_checked
    )))
}
