//! The store as the trail says it should be, rebuilt record by record.

use crate::domain::audit::details::{
    Details, HoldAdded, SnapshotImportFailed, SnapshotImported, SnapshotRef, TokenCreated,
    TokenRevoked,
};
use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::snapshot::SnapshotState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

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
    fn of(rec: &AuditRecord) -> Option<ImportRecord> {
        match AuditEvent::parse(&rec.event)? {
            AuditEvent::SnapshotImported => {
                SnapshotImported::read(&rec.details).map(ImportRecord::Done)
            }
            AuditEvent::SnapshotImportFailed => {
                SnapshotImportFailed::read(&rec.details).map(ImportRecord::Failed)
            }
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
pub(super) fn record_import(imports: &mut HashMap<String, Imported>, rec: &AuditRecord) {
    let Some(record) = ImportRecord::of(rec) else {
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
            audit: rec.id.clone(),
            user: rec.user.clone(),
            record,
        },
    );
}

/// The store as the trail says it should be, replayed record by record.
#[derive(Default)]
pub(super) struct Replay {
    /// Each snapshot's state.
    pub states: HashMap<String, SnapshotState>,
    /// Each tool's active snapshot.
    pub active: HashMap<String, String>,
    /// When and by whom each tool's active pointer was last set.
    pub pointer_set: HashMap<String, (DateTime<Utc>, String)>,
    /// When (and by which record) each snapshot last changed state.
    pub changed: HashMap<String, (DateTime<Utc>, String)>,
    /// Live holds: snapshot → (reason, expiresAt, user, timestamp, record).
    pub holds: HashMap<String, (String, String, String, DateTime<Utc>, String)>,
    /// Tokens created: (name, role, fingerprint, timestamp, user, record).
    pub tokens_created: Vec<(String, String, String, DateTime<Utc>, String, String)>,
    /// Tokens revoked: (name, timestamp, user, record).
    pub tokens_revoked: Vec<(String, DateTime<Utc>, String, String)>,
}

impl Replay {
    fn set(&mut self, rec: &AuditRecord, id: String, st: SnapshotState) {
        self.changed
            .insert(id.clone(), (rec.timestamp, rec.id.clone()));
        self.states.insert(id, st);
    }

    /// Applies one record's changes to the replayed view of the store.
    pub fn apply(&mut self, rec: &AuditRecord) {
        let Some(ev) = AuditEvent::parse(&rec.event) else {
            return;
        };
        let id = SnapshotRef::of(&rec.details);
        match ev {
            AuditEvent::SnapshotImportFailed => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Failed);
                }
            }
            AuditEvent::SnapshotImported => {
                // The row is written `active`; the activation record follows.
                if let Some(id) = id {
                    self.changed.insert(id, (rec.timestamp, rec.id.clone()));
                }
            }
            AuditEvent::SnapshotActivated => self.activate(rec, id),
            AuditEvent::SnapshotExpired => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Expired);
                }
            }
            AuditEvent::SnapshotArchived => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Archived);
                }
            }
            AuditEvent::SnapshotDeleted => {
                if let Some(id) = id {
                    self.set(rec, id, SnapshotState::Deleted);
                }
            }
            _ => self.apply_fact(rec, ev, id),
        }
    }

    fn activate(&mut self, rec: &AuditRecord, id: Option<String>) {
        let (Some(id), Some(tool)) = (id, rec.tool.clone()) else {
            return;
        };
        if let Some(prev) = self.active.get(&tool).cloned() {
            if self.states.get(&prev) == Some(&SnapshotState::Active) {
                self.set(rec, prev, SnapshotState::Previous);
            }
        }
        self.set(rec, id.clone(), SnapshotState::Active);
        self.pointer_set
            .insert(tool.clone(), (rec.timestamp, rec.user.clone()));
        self.active.insert(tool, id);
    }

    /// Holds and tokens: the facts beside snapshot states.
    fn apply_fact(&mut self, rec: &AuditRecord, ev: AuditEvent, id: Option<String>) {
        match ev {
            AuditEvent::RetentionHoldAdded => {
                if let (Some(id), Some(h)) = (id, HoldAdded::read(&rec.details)) {
                    self.holds.insert(
                        id,
                        (
                            h.reason,
                            h.expires_at,
                            rec.user.clone(),
                            rec.timestamp,
                            rec.id.clone(),
                        ),
                    );
                }
            }
            AuditEvent::RetentionHoldRemoved => {
                if let Some(id) = id {
                    self.holds.remove(&id);
                }
            }
            AuditEvent::TokenCreated => {
                let t = TokenCreated::read(&rec.details).unwrap_or_default();
                self.tokens_created.push((
                    t.name,
                    t.role,
                    t.fingerprint,
                    rec.timestamp,
                    rec.user.clone(),
                    rec.id.clone(),
                ))
            }
            AuditEvent::TokenRevoked => self.tokens_revoked.push((
                TokenRevoked::read(&rec.details).unwrap_or_default().name,
                rec.timestamp,
                rec.user.clone(),
                rec.id.clone(),
            )),
            _ => {}
        }
    }
}
