//! The store as the trail says it should be, rebuilt record by record.

use crate::domain::audit::{AuditEvent, AuditRecord};
use crate::domain::snapshot::SnapshotState;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What the trail recorded about a snapshot at import.
pub(super) struct Imported {
    pub audit: String,
    /// The import record's user, timestamp-independent fields and details.
    pub user: String,
    pub details: serde_json::Value,
    pub source_hash: Option<String>,
    pub normalized_hash: Option<String>,
    pub record_count: Option<u64>,
    pub failed: bool,
}

/// Keeps the import record of each snapshot an import (or failed import)
/// record names.
pub(super) fn record_import(imports: &mut HashMap<String, Imported>, rec: &AuditRecord) {
    let ev = rec.event.as_str();
    if ev != AuditEvent::SnapshotImported.as_str()
        && ev != AuditEvent::SnapshotImportFailed.as_str()
    {
        return;
    }
    let d = &rec.details;
    // A backfill relinked its newer neighbour to itself.
    if let (Some(id), Some(next)) = (
        d.get("snapshotId").and_then(|v| v.as_str()),
        d.get("nextSnapshot").and_then(|v| v.as_str()),
    ) {
        if let Some(n) = imports.get_mut(next) {
            n.details["previousSnapshot"] = serde_json::json!(id);
        }
    }
    if let Some(id) = d.get("snapshotId").and_then(|v| v.as_str()) {
        imports.insert(
            id.to_string(),
            Imported {
                audit: rec.id.clone(),
                user: rec.user.clone(),
                details: rec.details.clone(),
                source_hash: d
                    .get("sourceHash")
                    .and_then(|v| v.as_str())
                    .map(String::from),
                normalized_hash: d
                    .get("normalizedHash")
                    .and_then(|v| v.as_str())
                    .map(String::from),
                record_count: d.get("recordCount").and_then(|v| v.as_u64()),
                failed: ev == AuditEvent::SnapshotImportFailed.as_str(),
            },
        );
    }
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

/// A text field of a record's details.
fn text(rec: &AuditRecord, k: &str) -> Option<String> {
    rec.details
        .get(k)
        .and_then(|v| v.as_str())
        .map(String::from)
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
        let id = text(rec, "snapshotId");
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
                if let Some(id) = id {
                    self.holds.insert(
                        id,
                        (
                            text(rec, "reason").unwrap_or_default(),
                            text(rec, "expiresAt").unwrap_or_default(),
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
            AuditEvent::TokenCreated => self.tokens_created.push((
                text(rec, "name").unwrap_or_default(),
                text(rec, "role").unwrap_or_default(),
                text(rec, "fingerprint").unwrap_or_default(),
                rec.timestamp,
                rec.user.clone(),
                rec.id.clone(),
            )),
            AuditEvent::TokenRevoked => self.tokens_revoked.push((
                text(rec, "name").unwrap_or_default(),
                rec.timestamp,
                rec.user.clone(),
                rec.id.clone(),
            )),
            _ => {}
        }
    }
}
