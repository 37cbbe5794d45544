//! Re-walking the chain and gathering what the other checks compare.

use super::anchor::{verify_purge, VerifiedPurge};
use super::checkpoint::Checkpoint;
use super::facts::{check_holds, check_tokens};
use super::snapshots::{check_pointers, check_snapshots, missing_snapshots};
use super::walk::{walk_chain, Walk};
use crate::domain::audit::{audit_id, ChainBreak};
use crate::ops::{Env, Result};
use crate::store::prelude::*;
use crate::store::SnapshotFilter;
use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// `ok` or `failed`.
    pub status: &'static str,
    pub records_checked: u64,
    /// The last record checked.
    pub head: Option<String>,
    pub head_hash: Option<String>,
    /// The first record that fails, and how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<ChainBreak>,
    /// Snapshots whose hashes or counts differ from what their import
    /// recorded in the trail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub snapshot_problems: Vec<String>,
    /// Other facts the trail contradicts: the purge the chain rests on,
    /// tokens, holds.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    pub snapshots_checked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }

    /// One line per problem.
    pub fn problems(&self) -> Vec<String> {
        self.lines().map(|l| l.into_owned()).collect()
    }

    /// The problems for an error message or a log line: the first
    /// [`NAMED`] of them, then how many more there are and where `all` of
    /// them are (a trail can contradict a million snapshots).
    pub fn summary(&self, all: &str) -> String {
        let total = usize::from(self.first_failure.is_some())
            + self.problems.len()
            + self.snapshot_problems.len();
        let mut out = self.lines().take(NAMED).collect::<Vec<_>>().join("; ");
        if total > NAMED {
            out.push_str(&format!("; and {} more problems ({all})", total - NAMED));
        }
        out
    }

    fn lines(&self) -> impl Iterator<Item = std::borrow::Cow<'_, str>> {
        let first = self.first_failure.as_ref().map(|b| b.to_string().into());
        // The purge first: when it fails, every snapshot it would account
        // for is reported too.
        first.into_iter().chain(
            self.problems
                .iter()
                .chain(&self.snapshot_problems)
                .map(|p| p.as_str().into()),
        )
    }
}

/// How many problems an error message names before it counts the rest.
pub const NAMED: usize = 10;

/// Whether the chain still reaches the checkpoint's head with its hash.
fn checkpoint_break(w: &Walk, cp: &Checkpoint) -> Option<ChainBreak> {
    match &w.checkpoint_hit {
        Some(h) if *h != cp.hash => Some(ChainBreak::CheckpointMismatch { id: cp.id.clone() }),
        Some(_) => None,
        None => {
            let last_seq = w.last.as_ref().map(|l| l.0).unwrap_or(0);
            let purged_past = w.anchor.as_ref().is_some_and(|a| a.0 >= cp.seq);
            // The checkpoint's own record became the anchor: its
            // hash is the one the rest of the chain links to.
            let anchor_differs = w
                .anchor
                .as_ref()
                .is_some_and(|a| a.0 == cp.seq && a.1 != cp.hash);
            if anchor_differs {
                Some(ChainBreak::CheckpointMismatch { id: cp.id.clone() })
            } else if last_seq < cp.seq || !purged_past {
                Some(ChainBreak::Truncated {
                    last_id: w.last.as_ref().map(|l| audit_id(l.0)),
                    checkpoint_id: cp.id.clone(),
                })
            } else {
                None
            }
        }
    }
}

/// Drops a long walk's maps on another thread: freeing a million replayed
/// snapshots takes longer than the report that follows needs to wait.
fn drop_aside(w: Walk, records: u64) {
    if records >= 100_000 {
        // Where no thread can be had, the closure and the walk drop here.
        let _ = std::thread::Builder::new().spawn(move || drop(w));
    }
}

/// Re-walks the chain from its anchor, checks every snapshot row, token
/// and hold against what the trail recorded, and (with a checkpoint) that
/// the chain still reaches the checkpoint's head.
pub fn verify(
    store: &impl Queries,
    env: &Env,
    checkpoint: Option<&Checkpoint>,
) -> Result<VerifyReport> {
    let (mut w, records_checked) = walk_chain(store, checkpoint)?;
    if w.first_failure.is_none() {
        if let Some(cp) = checkpoint {
            w.first_failure = checkpoint_break(&w, cp);
        }
    }
    if let (None, Some((aseq, _)), None) = (&w.first_failure, &w.anchor, &w.attesting) {
        w.first_failure = Some(ChainBreak::Missing {
            id: format!("the chain's start (records up to {} are gone with no audit_purged record attesting it)", audit_id(*aseq)),
            missing_from: 1,
        });
    }

    // Problems of the trail itself beyond the chain: the purge, tokens, holds.
    let mut problems = Vec::new();
    let mut purge: Option<VerifiedPurge> = None;
    if let (None, Some(p)) = (&w.first_failure, &w.attesting) {
        let (v, ps) = verify_purge(p, w.first_kept, w.anchor.as_ref(), checkpoint, env);
        purge = v;
        problems.extend(ps);
    }
    // Whether a fact older than this was (legitimately) purged from the trail.
    let purged_before = |t: DateTime<Utc>| purge.as_ref().is_some_and(|p| t < p.before);

    let snapshots = store.list_snapshots(&SnapshotFilter::default())?;
    let (mut snapshot_problems, checked) = check_snapshots(&snapshots, &w, purge.as_ref());
    if w.first_failure.is_none() {
        snapshot_problems.extend(missing_snapshots(&snapshots, &w, purge.as_ref()));
        snapshot_problems.extend(check_pointers(store, &w.rp)?);
        problems.extend(check_tokens(store, &w.rp, &purged_before)?);
        problems.extend(check_holds(store, &w.rp, &purged_before)?);
    }
    let ok = w.first_failure.is_none() && snapshot_problems.is_empty() && problems.is_empty();
    let (first_failure, last) = (w.first_failure.take(), w.last.take());
    drop_aside(w, records_checked);
    Ok(VerifyReport {
        status: if ok { "ok" } else { "failed" },
        records_checked,
        head: last.as_ref().map(|l| audit_id(l.0)),
        head_hash: last.map(|l| l.1),
        first_failure,
        snapshot_problems,
        problems,
        snapshots_checked: checked,
        checkpoint: checkpoint.map(|c| c.id.clone()),
    })
}
