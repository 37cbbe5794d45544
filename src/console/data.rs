//! The console's data layer: small functions over `ops` (the one
//! implementation of every workflow) that load exactly what a screen shows.
//! The event loop runs them in worker threads; tests call them directly.

use crate::domain::audit::details::{Details, SnapshotRolledBack};
use crate::domain::audit::AuditEvent;
use crate::domain::audit::AuditRecord;
use crate::domain::freshness::{assess, Assessment, Thresholds};
use crate::domain::retention::Hold;
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::ops::diff::{DiffItem, ItemFilter};
use crate::ops::rollback::{Observer, Plan, Response, Target};
use crate::ops::sla::SlaStatus;
use crate::ops::{self, Env, OpError, Result};
use crate::store::prelude::*;
use crate::store::{AuditFilter, SnapshotFilter, Store};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// What changes whenever another process writes: every workflow appends to
/// the audit chain, and imports add snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub audit_head: Option<(u64, String)>,
    pub snapshots: u64,
}

pub fn fingerprint(store: &impl Queries) -> Result<Fingerprint> {
    Ok(Fingerprint {
        audit_head: store.audit_head()?,
        snapshots: store.count_snapshots()?,
    })
}

/// One tool's row on the overview.
#[derive(Clone, Debug)]
pub struct ToolLine {
    pub sla: SlaStatus,
    /// Its snapshots imported inside the visible window, newest first.
    pub marks: Vec<Snapshot>,
    /// More snapshots fall inside the window than were loaded.
    pub truncated: bool,
    /// Snapshots this tool was rolled back *from*.
    pub rolled_back_from: std::collections::BTreeSet<String>,
}

impl ToolLine {
    pub fn name(&self) -> &str {
        &self.sla.tool
    }
    pub fn active(&self) -> Option<&Snapshot> {
        self.sla.snapshot.as_ref()
    }
}

#[derive(Clone, Debug)]
pub struct Overview {
    pub now: DateTime<Utc>,
    pub window_days: i64,
    pub tools: Vec<ToolLine>,
    pub fingerprint: Fingerprint,
    /// Every retention hold (a short list), for the snapshot details.
    pub holds: Vec<Hold>,
}

impl Overview {
    pub fn hold_of(&self, id: &str) -> Option<&Hold> {
        self.holds.iter().find(|h| h.snapshot_id == id)
    }
}

/// At most this many snapshots per tool are drawn on a timeline (a
/// timeline is at most a few hundred cells wide; this keeps a store with
/// hourly imports quick to open).
pub const MAX_MARKS: usize = 4000;
const PAGE: u64 = 1000;

/// The overview: every tool's SLA and its snapshots of the last `window_days`.
pub fn overview(store: &mut Store, env: &Env, window_days: i64) -> Result<Overview> {
    let now = env.clock.now();
    let start = now - Duration::days(window_days);
    let fingerprint = fingerprint(store)?;
    let report = ops::sla::report(store, env, None)?;
    let mut rolled: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for (_, r) in ops::audit::list(
        store,
        &AuditFilter {
            event: Some(AuditEvent::SnapshotRolledBack.as_str().into()),
            limit: Some(ROLLBACK_HISTORY),
            ..Default::default()
        },
    )? {
        if let (Some(t), Some(d)) = (r.tool.clone(), SnapshotRolledBack::read(&r.details)) {
            rolled.entry(t).or_default().insert(d.from_snapshot);
        }
    }
    let mut tools = Vec::with_capacity(report.len());
    for sla in report {
        let mut marks: Vec<Snapshot> = Vec::new();
        let mut truncated = false;
        loop {
            let page = ops::snapshots::list(
                store,
                &SnapshotFilter {
                    tool: Some(sla.tool.clone()),
                    newest_first: true,
                    limit: Some(PAGE),
                    after: marks.last().map(|s| s.id.to_string()),
                    ..Default::default()
                },
            )?;
            let n = page.len();
            let mut past = false;
            for s in page {
                if s.imported_at < start {
                    past = true;
                    break;
                }
                marks.push(s);
            }
            if past || (n as u64) < PAGE {
                break;
            }
            if marks.len() >= MAX_MARKS {
                truncated = true;
                break;
            }
        }
        let rolled_back_from = rolled.remove(&sla.tool).unwrap_or_default();
        tools.push(ToolLine {
            sla,
            marks,
            truncated,
            rolled_back_from,
        });
    }
    let holds = store.holds()?;
    Ok(Overview {
        now,
        window_days,
        tools,
        fingerprint,
        holds,
    })
}

/// A page of a tool's snapshots, newest first, after the cursor id.
pub fn snapshots(
    store: &mut Store,
    tool: &str,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<Snapshot>> {
    ops::snapshots::list(
        store,
        &SnapshotFilter {
            tool: Some(tool.to_string()),
            newest_first: true,
            limit: Some(limit),
            after,
            ..Default::default()
        },
    )
}

/// What a rollback of one tool can go to.
#[derive(Clone, Debug)]
pub struct Targets {
    pub tool: String,
    pub active: Snapshot,
    /// `ops::rollback::default_target`: the previous restorable snapshot.
    pub default: Option<String>,
    /// Restorable snapshots other than the active one, newest first
    /// (archived ones included and marked when shown).
    pub list: Vec<Snapshot>,
    /// The tool's SLA thresholds and the time they were judged at: the
    /// freshness the tool would have after rolling back to a target.
    pub thresholds: Thresholds,
    pub now: DateTime<Utc>,
    /// Snapshots this tool was rolled back *from*, with the latest reason.
    pub rolled_back_from: BTreeMap<String, String>,
}

impl Targets {
    /// The tool's freshness right after a rollback to `s`.
    pub fn after(&self, s: &Snapshot) -> Assessment {
        assess(s.imported_at, self.now, &self.thresholds, false)
    }

    /// Why `id` was rolled back from earlier, if it was.
    pub fn rollback_reason(&self, id: &str) -> Option<&str> {
        self.rolled_back_from.get(id).map(String::as_str)
    }
}

/// How many rollback records are read to mark rolled-back-from targets.
const ROLLBACK_HISTORY: u64 = 1000;

/// The most targets listed (newest first); older ones are still reachable
/// with `snapgov ingest rollback --snapshot-id`.
pub const MAX_TARGETS: usize = 2000;

pub fn targets(store: &mut Store, env: &Env, tool: &str) -> Result<Targets> {
    let (active, default) = store.read(|r| -> Result<_> {
        let active = r.active_snapshot(tool)?.ok_or_else(|| {
            OpError::not_found(format!(
                "{tool} has no active snapshot; nothing to roll back"
            ))
        })?;
        let default = ops::rollback::default_target(r, &active)?;
        Ok((active, default.map(|d| String::from(d.id))))
    })?;
    let mut list = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = snapshots(store, tool, after.clone(), PAGE)?;
        let n = page.len();
        after = page.last().map(|s| s.id.to_string());
        list.extend(page.into_iter().filter(|s| {
            matches!(s.state, SnapshotState::Previous | SnapshotState::Archived)
                && s.id != active.id
        }));
        if (n as u64) < PAGE || list.len() >= MAX_TARGETS {
            break;
        }
    }
    list.truncate(MAX_TARGETS);
    let mut rolled_back_from = BTreeMap::new();
    for (_, r) in ops::audit::list(
        store,
        &AuditFilter {
            event: Some(AuditEvent::SnapshotRolledBack.as_str().into()),
            tool: Some(tool.to_string()),
            limit: Some(ROLLBACK_HISTORY),
            ..Default::default()
        },
    )? {
        if let Some(d) = SnapshotRolledBack::read(&r.details) {
            // Newest first: the latest reason wins.
            rolled_back_from.entry(d.from_snapshot).or_insert(d.reason);
        }
    }
    Ok(Targets {
        tool: tool.to_string(),
        active,
        default,
        list,
        thresholds: env.config.thresholds(tool),
        now: env.clock.now(),
        rolled_back_from,
    })
}

/// Verification of the target and the diff summary (the dry run).
pub fn plan(store: &mut Store, tool: &str, target: &str) -> Result<Plan> {
    ops::rollback::plan(store, tool, &Target::Id(target.to_string()), 0)
}

/// A page of the records a rollback would change, filtered.
pub fn diff_page(
    store: &mut Store,
    tool: &str,
    target: &str,
    filter: &ItemFilter,
    offset: usize,
    limit: usize,
) -> Result<Vec<DiffItem>> {
    store.read(|r| -> Result<Vec<DiffItem>> {
        let from = ops::diff::active_side(r, tool)?;
        let to = ops::diff::snapshot_side(r, target)?;
        ops::diff::items(r, from, to, filter, offset, limit)
    })
}

/// The rollback itself, with the previewed active snapshot as the guard.
pub fn execute(
    store: &mut Store,
    env: &Env,
    tool: &str,
    target: &str,
    expected_active: &str,
    reason: &str,
    obs: &dyn Observer,
) -> Result<Response> {
    ops::rollback::execute(
        store,
        env,
        tool,
        &Target::Id(target.to_string()),
        Some(expected_active),
        reason,
        obs,
    )
}

pub fn retention(store: &Store, env: &Env) -> Result<ops::retention::Status> {
    ops::retention::status(store, env)
}

pub fn audit_page(store: &Store, filter: &AuditFilter) -> Result<Vec<(u64, AuditRecord)>> {
    ops::audit::list(store, filter)
}

pub fn audit_verify(store: &Store, env: &Env) -> Result<ops::audit::VerifyReport> {
    ops::audit::verify(store, env, None)
}
