//! The store as the trail says it should be, rebuilt record by record.

use crate::domain::audit::details::{
    HoldAdded, SnapshotImportFailed, SnapshotImported, TokenCreated, TokenRevoked,
};
use crate::domain::audit::row::AuditRow;
use crate::domain::audit::{audit_id, AuditEvent};
use crate::domain::snapshot::SnapshotState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A map keyed by an id the trail names. foldhash, seeded per map, instead
/// of std's SipHash: replaying a million records hashes a few million ids,
/// and SipHash was a fifth of the replay's time.
pub(super) type IdMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// What the trail recorded about a snapshot at import.
pub(super) struct Imported {
    pub audit: String,
    /// The import record's user.
    pub user: String,
    pub record: ImportRecord,
}

/// An import record's details: a completed import or a refused one.
pub(super) enum ImportRecord {
    Done(SnapshotImported),
    Failed(SnapshotImportFailed),
}

impl ImportRecord {
    fn of(ev: AuditEvent, rec: &AuditRow<'_>) -> Option<ImportRecord> {
        match ev {
            AuditEvent::SnapshotImported => rec
                .details
                .read::<SnapshotImported>()
                .map(ImportRecord::Done),
            AuditEvent::SnapshotImportFailed => rec
                .details
                .read::<SnapshotImportFailed>()
                .map(ImportRecord::Failed),
            _ => None,
        }
    }

    fn snapshot_id(&self) -> &str {
        match self {
            ImportRecord::Done(d) => &d.snapshot_id,
            ImportRecord::Failed(d) => &d.snapshot_id,
        }
    }
}

/// Keeps the import record of each snapshot an import (or failed import)
/// record names.
pub(super) fn record_import(imports: &mut IdMap<Imported>, ev: AuditEvent, rec: &AuditRow<'_>) {
    let Some(record) = ImportRecord::of(ev, rec) else {
        return;
    };
    // A backfill relinked its newer neighbour to itself.
    if let ImportRecord::Done(SnapshotImported {
        snapshot_id,
        next_snapshot: Some(Some(next)),
        ..
    }) = &record
    {
        if let Some(Imported {
            record: ImportRecord::Done(n),
            ..
        }) = imports.get_mut(next)
        {
            n.previous_snapshot = Some(snapshot_id.clone());
        }
    }
    imports.insert(
        record.snapshot_id().to_string(),
        Imported {
            audit: rec.id.to_string(),
            user: rec.user.to_string(),
            record,
        },
    );
}

/// What the trail says of one snapshot.
pub(super) struct SnapTrail {
    /// Its state, once a record set one (an import alone leaves it unset:
    /// the activation record follows).
    pub state: Option<SnapshotState>,
    /// When it last changed state.
    pub changed_at: DateTime<Utc>,
    /// The sequence number of the record that changed it (its id is
    /// `audit_id(seq)`: the walk checked that before replaying it).
    pub changed_by: u64,
}

/// A tool's active pointer as the trail last set it.
pub(super) struct Pointer {
    pub snapshot: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// The store as the trail says it should be, replayed record by record.
/// One map per kind of row, each key owned once: a trail of a million
/// records replays into them without a copy per record of what a record
/// only repeats (the tool, the user, the record's own id).
#[derive(Default)]
pub(super) struct Replay {
    /// Each snapshot the trail names: its state and when it last changed.
    pub snapshots: IdMap<SnapTrail>,
    /// Each tool's active pointer: the snapshot, when and by whom.
    pub pointers: IdMap<Pointer>,
    /// Live holds: snapshot → (reason, expiresAt, user, timestamp, record).
    pub holds: IdMap<(String, String, String, DateTime<Utc>, String)>,
    /// Tokens created: (name, role, fingerprint, timestamp, user, record).
    pub tokens_created: Vec<(String, String, String, DateTime<Utc>, String, String)>,
    /// Tokens revoked: (name, timestamp, user, record).
    pub tokens_revoked: Vec<(String, DateTime<Utc>, String, String)>,
}

impl Replay {
    /// The state the trail gives a snapshot, if it gave one.
    pub fn state(&self, id: &str) -> Option<SnapshotState> {
        self.snapshots.get(id).and_then(|s| s.state)
    }

    /// Records that record `seq` changed snapshot `id` (to `state`, when it
    /// set one), allocating the key only for a snapshot not seen before.
    fn touch(&mut self, seq: u64, at: DateTime<Utc>, id: &str, state: Option<SnapshotState>) {
        match self.snapshots.get_mut(id) {
            Some(s) => {
                s.changed_at = at;
                s.changed_by = seq;
                if state.is_some() {
                    s.state = state;
                }
            }
            None => {
                let trail = SnapTrail {
                    state,
                    changed_at: at,
                    changed_by: seq,
                };
                self.snapshots.insert(id.to_string(), trail);
            }
        }
    }

    /// Applies record `seq`'s changes (its event `ev`) to the replayed view
    /// of the store.
    pub fn apply(&mut self, seq: u64, ev: AuditEvent, rec: &AuditRow<'_>) {
        let state = match ev {
            AuditEvent::SnapshotImportFailed => SnapshotState::Failed,
            AuditEvent::SnapshotActivated => SnapshotState::Active,
            AuditEvent::SnapshotExpired => SnapshotState::Expired,
            AuditEvent::SnapshotArchived => SnapshotState::Archived,
            AuditEvent::SnapshotDeleted => SnapshotState::Deleted,
            // The row is written `active`; the activation record follows.
            AuditEvent::SnapshotImported => {
                if let Some(id) = rec.details.snapshot_id() {
                    self.touch(seq, rec.timestamp, &id, None);
                }
                return;
            }
            _ => return self.apply_fact(seq, ev, rec),
        };
        let Some(id) = rec.details.snapshot_id() else {
            return;
        };
        if state == SnapshotState::Active {
            self.activate(seq, rec, &id);
        } else {
            self.touch(seq, rec.timestamp, &id, Some(state));
        }
    }

    fn activate(&mut self, seq: u64, rec: &AuditRow<'_>, id: &str) {
        let Some(tool) = rec.tool else {
            return;
        };
        let at = rec.timestamp;
        match self.pointers.get_mut(tool) {
            Some(p) => {
                // The one it replaces, if still active, becomes previous
                // (first: re-activating the active one leaves it active).
                if let Some(prev) = self.snapshots.get_mut(&p.snapshot) {
                    if prev.state == Some(SnapshotState::Active) {
                        prev.state = Some(SnapshotState::Previous);
                        prev.changed_at = at;
                        prev.changed_by = seq;
                    }
                }
                // In place: the buffers they have hold any id or user.
                p.at = at;
                p.by.clear();
                p.by.push_str(rec.user);
                p.snapshot.clear();
                p.snapshot.push_str(id);
            }
            None => {
                let p = Pointer {
                    snapshot: id.to_string(),
                    at,
                    by: rec.user.to_string(),
                };
                self.pointers.insert(tool.to_string(), p);
            }
        }
        match self.snapshots.get_mut(id) {
            Some(s) => {
                s.state = Some(SnapshotState::Active);
                s.changed_at = at;
                s.changed_by = seq;
            }
            None => {
                let trail = SnapTrail {
                    state: Some(SnapshotState::Active),
                    changed_at: at,
                    changed_by: seq,
                };
                self.snapshots.insert(id.to_string(), trail);
            }
        }
    }

    /// Holds and tokens: the facts beside snapshot states.
    fn apply_fact(&mut self, seq: u64, ev: AuditEvent, rec: &AuditRow<'_>) {
        let id = || audit_id(seq);
        match ev {
            AuditEvent::RetentionHoldAdded => {
                let snapshot = rec.details.snapshot_id();
                if let (Some(s), Some(h)) = (snapshot, rec.details.read::<HoldAdded>()) {
                    let user = rec.user.to_string();
                    let hold = (h.reason, h.expires_at, user, rec.timestamp, id());
                    self.holds.insert(s.into_owned(), hold);
                }
            }
            AuditEvent::RetentionHoldRemoved => {
                if let Some(s) = rec.details.snapshot_id() {
                    self.holds.remove(&*s);
                }
            }
            AuditEvent::TokenCreated => {
                let t = rec.details.read::<TokenCreated>().unwrap_or_default();
                let (user, at) = (rec.user.to_string(), rec.timestamp);
                self.tokens_created
                    .push((t.name, t.role, t.fingerprint, at, user, id()))
            }
            AuditEvent::TokenRevoked => self.tokens_revoked.push((
                rec.details.read::<TokenRevoked>().unwrap_or_default().name,
                rec.timestamp,
                rec.user.to_string(),
                id(),
            )),
            _ => {}
        }
    }
}
