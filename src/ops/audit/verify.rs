//! Re-walking the chain and gathering what the other checks compare.

use super::anchor::{verify_purge, VerifiedPurge};
use super::checkpoint::Checkpoint;
use super::facts::{check_holds, check_tokens};
use super::replay::{record_import, Imported, Replay};
use super::snapshots::{check_pointers, check_snapshots, missing_snapshots};
use crate::domain::audit::details::{AuditPurged, Details};
use crate::domain::audit::{
    audit_id, AuditEvent, AuditRecord, ChainBreak, ChainWalker, GENESIS_HASH,
};
use crate::ops::{Env, Result};
use crate::store::prelude::*;
use crate::store::SnapshotFilter;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

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

    /// One line per problem, for an error message.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(b) = &self.first_failure {
            out.push(b.to_string());
        }
        // The purge first: when it fails, every snapshot it would account
        // for is reported too.
        out.extend(self.problems.iter().cloned());
        out.extend(self.snapshot_problems.iter().cloned());
        out
    }
}

/// What one walk of the chain found.
pub(super) struct Walk {
    /// The hash the chain's first kept record links to, after a purge.
    pub anchor: Option<(u64, String)>,
    pub first_failure: Option<ChainBreak>,
    /// The last record checked.
    pub last: Option<(u64, String)>,
    pub imports: HashMap<String, Imported>,
    /// The hash of the checkpoint's record, if the walk reached it.
    pub checkpoint_hit: Option<String>,
    /// The newest audit_purged record that attests the anchor.
    pub attesting: Option<AuditRecord>,
    pub first_kept: Option<DateTime<Utc>>,
    pub rp: Replay,
}

impl Walk {
    /// Takes in one record whose link in the chain holds.
    fn observe(&mut self, seq: u64, rec: AuditRecord, checkpoint: Option<&Checkpoint>) {
        if self.first_kept.is_none() {
            self.first_kept = Some(rec.timestamp);
        }
        if let Some(cp) = checkpoint {
            if cp.seq == seq {
                self.checkpoint_hit = Some(rec.hash.clone());
            }
        }
        if let Some((aseq, ahash)) = &self.anchor {
            let attests = rec.event == AuditEvent::AuditPurged.as_str()
                && AuditPurged::read(&rec.details).is_some_and(|p| {
                    p.purged_through == audit_id(*aseq) && p.anchor_hash == *ahash
                });
            if attests {
                self.attesting = Some(rec.clone());
            }
        }
        self.rp.apply(&rec);
        record_import(&mut self.imports, &rec);
        self.last = Some((seq, rec.hash));
    }
}

/// Walks the chain from its anchor until the first broken link. Returns
/// what it found and how many records it checked.
fn walk_chain(store: &impl Queries, checkpoint: Option<&Checkpoint>) -> Result<(Walk, u64)> {
    let anchor = store.audit_anchor()?;
    let mut walker = ChainWalker::new(
        anchor
            .as_ref()
            .map(|a| a.1.as_str())
            .unwrap_or(GENESIS_HASH),
    );
    let mut expected_seq = anchor.as_ref().map(|a| a.0 + 1).unwrap_or(1);
    let mut w = Walk {
        anchor,
        first_failure: None,
        last: None,
        imports: HashMap::new(),
        checkpoint_hit: None,
        attesting: None,
        first_kept: None,
        rp: Replay::default(),
    };
    store.audit_walk(|seq, rec| {
        if seq != expected_seq && w.first_failure.is_none() {
            w.first_failure = Some(ChainBreak::Missing {
                id: rec.id.clone(),
                missing_from: expected_seq,
            });
            return Ok(false);
        }
        expected_seq = seq + 1;
        if let Err(b) = walker.feed(seq, &rec) {
            w.first_failure = Some(b);
            return Ok(false);
        }
        w.observe(seq, rec, checkpoint);
        Ok(true)
    })?;
    Ok((w, walker.checked))
}

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
    Ok(VerifyReport {
        status: if ok { "ok" } else { "failed" },
        records_checked,
        head: w.last.as_ref().map(|l| audit_id(l.0)),
        head_hash: w.last.map(|l| l.1),
        first_failure: w.first_failure,
        snapshot_problems,
        problems,
        snapshots_checked: checked,
        checkpoint: checkpoint.map(|c| c.id.clone()),
    })
}
