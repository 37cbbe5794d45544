//! One walk of the audit chain from its anchor: every link checked, and
//! what the later checks compare gathered on the way.

use super::checkpoint::Checkpoint;
use super::replay::{record_import, IdMap, Imported, Replay};
use crate::domain::audit::details::AuditPurged;
use crate::domain::audit::row::AuditRow;
use crate::domain::audit::{
    audit_id, AuditEvent, AuditRecord, ChainBreak, ChainWalker, GENESIS_HASH,
};
use crate::ops::Result;
use crate::store::prelude::*;
use chrono::{DateTime, Utc};

/// What one walk of the chain found.
pub(super) struct Walk {
    /// The hash the chain's first kept record links to, after a purge.
    pub anchor: Option<(u64, String)>,
    pub first_failure: Option<ChainBreak>,
    /// The last record checked.
    pub last: Option<(u64, String)>,
    pub imports: IdMap<Imported>,
    /// The hash of the checkpoint's record, if the walk reached it.
    pub checkpoint_hit: Option<String>,
    /// The newest audit_purged record that attests the anchor.
    pub attesting: Option<AuditRecord>,
    pub first_kept: Option<DateTime<Utc>>,
    pub rp: Replay,
}

impl Walk {
    /// Takes in one record whose link in the chain holds.
    fn observe(&mut self, seq: u64, rec: &AuditRow<'_>, checkpoint: Option<&Checkpoint>) {
        if self.first_kept.is_none() {
            self.first_kept = Some(rec.timestamp);
        }
        if let Some(cp) = checkpoint {
            if cp.seq == seq {
                self.checkpoint_hit = Some(rec.hash.to_string());
            }
        }
        let ev = AuditEvent::parse(rec.event);
        if let Some((aseq, ahash)) = &self.anchor {
            let attests = ev == Some(AuditEvent::AuditPurged)
                && rec.details.read::<AuditPurged>().is_some_and(|p| {
                    p.purged_through == audit_id(*aseq) && p.anchor_hash == *ahash
                });
            if attests {
                self.attesting = Some(rec.to_record());
            }
        }
        if let Some(ev) = ev {
            self.rp.apply(seq, ev, rec);
            record_import(&mut self.imports, ev, rec);
        }
        // In place: the hash is copied into the last one's buffer.
        match &mut self.last {
            Some((s, h)) => {
                *s = seq;
                h.clear();
                h.push_str(rec.hash);
            }
            None => self.last = Some((seq, rec.hash.to_string())),
        }
    }
}

/// Most snapshot entries reserved up front (about 50 MB); a longer trail
/// grows the map as it goes.
const MAX_RESERVE: u64 = 1 << 20;

/// Walks the chain from its anchor until the first broken link. Returns
/// what it found and how many records it checked.
pub(super) fn walk_chain(
    store: &impl Queries,
    checkpoint: Option<&Checkpoint>,
) -> Result<(Walk, u64)> {
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
        imports: IdMap::default(),
        checkpoint_hit: None,
        attesting: None,
        first_kept: None,
        rp: Replay::default(),
    };
    // Sized once from the trail's length (at most a snapshot per record)
    // rather than grown by doubling, each doubling a rehash of every entry.
    let head = store.audit_head()?.map_or(0, |h| h.0);
    let records = (head + 1).saturating_sub(expected_seq);
    w.rp.snapshots.reserve(records.min(MAX_RESERVE) as usize);
    store.audit_walk_rows_par(|seq, rec| {
        if seq != expected_seq && w.first_failure.is_none() {
            w.first_failure = Some(ChainBreak::Missing {
                id: rec.id.to_string(),
                missing_from: expected_seq,
            });
            return Ok(false);
        }
        expected_seq = seq + 1;
        if let Err(b) = walker.feed_row(seq, rec) {
            w.first_failure = Some(b);
            return Ok(false);
        }
        w.observe(seq, rec, checkpoint);
        Ok(true)
    })?;
    Ok((w, walker.checked))
}
