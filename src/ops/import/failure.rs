//! Recording a refused import, so that the attempt stays visible.

use super::write::{allocate_id, started_snapshot};
use super::{Failure, ImportCtx, ImportOutcome};
use crate::domain::audit::details::{SnapshotImportFailed, SnapshotRolledBack};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::problem::Problem;
use crate::domain::snapshot::{Snapshot, SnapshotState};
use crate::domain::time::fmt_ts;
use crate::ops::{OpError, Result, SYSTEM_USER};
use crate::store::snapshots::SnapshotReads;
use crate::store::{Store, WriteTx};

/// Records a refused import: a `failed` snapshot, its audit record and,
/// when records had been written, the automatic rollback to the previous
/// snapshot. Returns the refusal.
pub(super) fn record_failure(
    store: &mut Store,
    ctx: &ImportCtx<'_>,
    problem: Problem,
    written: bool,
) -> Result<ImportOutcome> {
    let req = ctx.req;
    // The stored reason is the facts alone: whoever reads it later words
    // any hint in their own terms.
    let message = problem.message.clone();
    let recorded = store.write(|tx| -> Result<String> {
        let id = allocate_id(tx, &req.tool, ctx.imported_at).map_err(|f| match f {
            Failure::Other(e) => e,
            Failure::Refused { problem, .. } => OpError::Invalid(problem),
        })?;
        let previous = tx.active_snapshot(&req.tool)?;
        let snap = Snapshot {
            state: SnapshotState::Failed,
            previous_snapshot: previous.as_ref().map(|p| p.id.to_string()),
            failure_reason: Some(message.clone()),
            ..started_snapshot(id, ctx)
        };
        tx.ensure_tool(&req.tool)?;
        tx.insert_snapshot(&snap)?;
        audit_refusal(tx, ctx, &snap, &message, written)?;
        Ok(String::from(snap.id))
    });
    match recorded {
        Ok(id) => Err(OpError::Rejected {
            problem: Problem {
                message: format!("import refused, recorded as failed snapshot {id}: {message}"),
                ..problem
            },
            snapshot_id: Some(id),
        }),
        Err(e) => Err(OpError::Rejected {
            problem: Problem {
                message: format!(
                    "import refused: {message} (and recording the failure failed: {e})"
                ),
                ..problem
            },
            snapshot_id: None,
        }),
    }
}

/// The failed import's audit record and, when records had been written,
/// the automatic rollback's.
fn audit_refusal(
    tx: &mut WriteTx<'_>,
    ctx: &ImportCtx<'_>,
    snap: &Snapshot,
    message: &str,
    written: bool,
) -> Result<()> {
    let (env, req, now) = (ctx.env, ctx.req, ctx.now);
    let about = (req.tool.as_str(), snap.id.as_str());
    let failed = SnapshotImportFailed {
        snapshot_id: snap.id.to_string(),
        tool: snap.tool.clone(),
        source_hash: snap.source_hash.clone(),
        imported_at: fmt_ts(snap.imported_at),
        files: req.inputs.iter().map(|i| i.display()).collect(),
        reason: message.to_string(),
        active_snapshot: snap.previous_snapshot.clone(),
    };
    tx.append_audit(&NewAudit::about_snapshot(
        AuditEvent::SnapshotImportFailed,
        now,
        &env.user,
        about,
        &failed,
    ))?;
    if written {
        // The records had been written: the transaction's rollback put the
        // previous snapshot back. Say so, as the spec's automatic trigger.
        let rolled_back = SnapshotRolledBack {
            tool: None,
            from_snapshot: snap.id.to_string(),
            to_snapshot: snap.previous_snapshot.clone(),
            reason: format!("automatic: import failed: {message}"),
            records_affected: 0,
            target_was_archived: None,
            automatic: Some(true),
        };
        tx.append_audit(&NewAudit::about_snapshot(
            AuditEvent::SnapshotRolledBack,
            now,
            SYSTEM_USER,
            about,
            &rolled_back,
        ))?;
    }
    Ok(())
}
