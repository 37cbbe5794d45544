//! Manual expiry: a snapshot's data becomes unavailable.

use super::{Env, OpError, Result};
use crate::domain::audit::details::{Details, SnapshotExpired};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::problem::{Hint, Problem};
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::store::Store;

/// Expires a snapshot. Expiring the active one empties the tool's active
/// data until a new import or a rollback.
pub fn expire(store: &mut Store, env: &Env, id: &str, reason: &str) -> Result<Snapshot> {
    if reason.trim().is_empty() {
        return Err(OpError::usage(
            Problem::new("expiring a snapshot needs a reason").hint(Hint::GiveReason),
        ));
    }
    let now = env.clock.now();
    store.write(|tx| -> Result<Snapshot> {
        let mut s = super::snapshots::get(tx, id)?;
        if !s.state.is_restorable() {
            return Err(OpError::invalid(format!(
                "{id} is {}; only active, previous or archived snapshots can be expired",
                s.state
            )));
        }
        super::fault::point("expire_begin")?;
        let was_active = s.state == SnapshotState::Active;
        let mut cleared = 0;
        if was_active {
            let key = tx.ensure_tool(&s.tool)?;
            cleared = tx.clear_active(key)?;
        }
        super::fault::point("expire_state")?;
        tx.set_snapshot_state(id, SnapshotState::Expired, now)?;
        tx.append_audit(&NewAudit {
            event: AuditEvent::SnapshotExpired,
            timestamp: now,
            user: env.user.clone(),
            tool: Some(s.tool.clone()),
            snapshot_id: Some(s.id.to_string()),
            details: SnapshotExpired {
                snapshot_id: s.id.to_string(),
                tool: s.tool.clone(),
                reason: reason.to_string(),
                was_active,
                records_withdrawn: cleared,
            }
            .to_value(),
        })?;
        super::fault::point("expire_commit")?;
        s.state = SnapshotState::Expired;
        s.state_changed_at = Some(now);
        Ok(s)
    })
}
