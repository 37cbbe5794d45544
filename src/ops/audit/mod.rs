//! Reading and verifying the audit trail.
//!
//! `verify` re-walks the chain (`verify`), checks the purge its anchor rests
//! on (`anchor`), replays the trail into the state the store should be in
//! (`replay`) and compares it with the snapshot rows (`snapshots`) and the
//! tokens and holds (`facts`).

mod anchor;
mod checkpoint;
mod facts;
mod purge;
mod replay;
mod snapshots;
mod verify;

pub use checkpoint::{read_checkpoint, write_checkpoint, Checkpoint};
pub use purge::{purge, PurgeReport};
pub use verify::{verify, VerifyReport};

use super::{OpError, Result};
use crate::domain::audit::{audit_id, parse_audit_id, AuditEvent, AuditRecord};
use crate::store::prelude::*;
use crate::store::AuditFilter;

pub fn list(store: &impl Queries, filter: &AuditFilter) -> Result<Vec<(u64, AuditRecord)>> {
    if let Some(e) = &filter.event {
        if AuditEvent::parse(e).is_none() {
            return Err(OpError::usage(format!(
                "`{e}` is not an audit event; events are {}",
                AuditEvent::known_list()
            )));
        }
    }
    Ok(store.audit_list(filter)?)
}

pub fn show(store: &impl Queries, id: &str) -> Result<AuditRecord> {
    let seq = parse_audit_id(id).ok_or_else(|| {
        OpError::not_found(format!("`{id}` is not an audit id; ids look like audit-42"))
    })?;
    store.audit_get(seq)?.ok_or_else(|| {
        OpError::not_found(format!(
            "no audit record {}; list them with `snapgov ingest audit list`",
            audit_id(seq)
        ))
    })
}
