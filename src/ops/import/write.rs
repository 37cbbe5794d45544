//! The import's write transaction: the snapshot row, its records, the
//! size guards, activation and the audit records.

use super::prepare::{file_list, format_names, Prepared};
use super::{Failure, ImportCtx, ImportOutcome};
use crate::domain::audit::details::{
    ActivationCause, Details, SnapshotActivated, SnapshotImported,
};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::problem::{Hint, Problem};
use crate::domain::snapshot::SnapshotMetadata;
use crate::domain::snapshot::{
    check_feed_size, FeedSizeRefusal, Snapshot, SnapshotId, SnapshotState, MAX_SEQ,
};
use crate::domain::time::fmt_ts;
use crate::ops::{fault, OpError, Progress};
use crate::store::records::RecordReads;
use crate::store::snapshots::SnapshotReads;
use crate::store::WriteTx;
use chrono::{DateTime, Utc};

fn fault_point(step: &'static str) -> std::result::Result<(), Failure> {
    fault::point(step).map_err(Failure::Other)
}

/// Where the new snapshot goes: made active over the current one, or (a
/// backfill) kept in history between two neighbours.
struct Placement {
    active: Option<Snapshot>,
    backfill: bool,
    activate: bool,
    previous: Option<Snapshot>,
    newer: Option<Snapshot>,
}

fn place(tx: &WriteTx<'_>, ctx: &ImportCtx<'_>) -> std::result::Result<Placement, Failure> {
    let active = tx.active_snapshot(&ctx.req.tool)?;
    // A backfill (older than the active snapshot) goes into history at its
    // place by importedAt, between an older neighbour (its predecessor) and
    // a newer one (whose predecessor it becomes); it is not made active
    // unless asked, so it can neither hijack the tool nor age its SLA.
    let backfill = active
        .as_ref()
        .is_some_and(|a| ctx.imported_at < a.imported_at);
    let activate = !backfill || ctx.req.activate;
    let (previous, newer) = if activate {
        (active.clone(), None)
    } else {
        let (older, newer) = history_place(tx, active.as_ref(), ctx.imported_at)?;
        (older, newer)
    };
    Ok(Placement {
        active,
        backfill,
        activate,
        previous,
        newer,
    })
}

pub(super) fn write_snapshot(
    tx: &mut WriteTx<'_>,
    ctx: &ImportCtx<'_>,
    files: &[Prepared],
    progress: &dyn Progress,
) -> std::result::Result<ImportOutcome, Failure> {
    let req = ctx.req;
    fault_point("import_begin")?;
    let id = allocate_id(tx, &req.tool, ctx.imported_at)?;
    let at = place(tx, ctx)?;
    let mut snap = Snapshot {
        state: if at.activate {
            SnapshotState::Active
        } else {
            SnapshotState::Previous
        },
        previous_snapshot: at.previous.as_ref().map(|p| p.id.to_string()),
        ..started_snapshot(id, ctx)
    };
    let pk = tx.insert_snapshot(&snap)?;
    let mut writer = tx.record_writer(pk)?;
    progress.set_message(&format!("importing {} as {}", req.tool, snap.id));
    for (file, format) in files.iter().zip(&ctx.formats) {
        super::parse::parse_into(
            ctx,
            file,
            *format,
            files.len() > 1,
            &mut writer,
            &mut snap,
            progress,
        )?;
        // Until the next file's pass, or while the snapshot is written.
        progress.set_message(&format!("writing {} as {}", req.tool, snap.id));
    }
    let received = writer.received;
    let crate::store::Written { merged, capped } = tx.finish_records(writer)?;
    if capped > 0 {
        snap.warnings.push(format!(
            "{capped} locations, licenses or aliases were dropped: a record keeps at most {} of each (the feed lists some package many times)",
            crate::domain::record::MAX_SET_ITEMS
        ));
    }
    fault_point("import_write")?;

    let summary = tx.snapshot_summary(pk)?;
    check_size(ctx, files, &at, summary.count)?;
    fault_point("import_validate")?;

    snap.normalized_hash = Some(summary.normalized_hash.clone());
    snap.record_count = summary.count;
    snap.stats = Some(summary.stats.clone());
    tx.update_snapshot(&snap)?;
    if let Some(n) = &at.newer {
        let mut n = n.clone();
        n.previous_snapshot = Some(snap.id.to_string());
        tx.update_snapshot(&n)?;
    }
    let affected = if at.activate {
        activate(tx, ctx, &at, pk, &snap)?
    } else {
        0
    };
    audit_import(tx, ctx, &snap, files, &at, affected)?;
    fault_point("import_commit")?;
    Ok(ImportOutcome {
        replaced: if at.activate {
            snap.previous_snapshot.clone()
        } else {
            None
        },
        activated: at.activate,
        next_snapshot: at.newer.map(|n| String::from(n.id)),
        snapshot: snap,
        records_received: received,
        records_merged: merged,
        records_affected: affected,
    })
}

/// The empty and shrink guards, worded for the refusal.
fn check_size(
    ctx: &ImportCtx<'_>,
    files: &[Prepared],
    at: &Placement,
    count: u64,
) -> std::result::Result<(), Failure> {
    let req = ctx.req;
    let refuse = |problem: Problem| Failure::Refused {
        problem,
        written: true,
    };
    // The shrink guard protects the active data: a backfill kept in
    // history does not replace it.
    let replaced = at
        .active
        .as_ref()
        .filter(|p| at.activate && p.state == SnapshotState::Active)
        .map(|p| (p.id.as_str(), p.record_count));
    match check_feed_size(count, replaced, req.allow_empty, req.allow_shrink) {
        Ok(()) => Ok(()),
        Err(FeedSizeRefusal::Empty) => Err(refuse(
            Problem::new(format!(
                "{}: the feed for {} has no records; an empty feed is usually a broken scan",
                file_list(files),
                req.tool
            ))
            .hint(Hint::AllowEmpty),
        )),
        Err(FeedSizeRefusal::Shrink {
            active_id,
            active_count,
        }) => Err(refuse(
            Problem::new(format!(
                "{}: the feed for {} has {} records, fewer than half of the active snapshot {} ({}); a shrinking feed is usually a partial scan",
                file_list(files), req.tool, count, active_id, active_count
            ))
            .hint(Hint::AllowShrink),
        )),
    }
}

/// Makes the new snapshot active. Returns the records affected.
fn activate(
    tx: &mut WriteTx<'_>,
    ctx: &ImportCtx<'_>,
    at: &Placement,
    pk: i64,
    snap: &Snapshot,
) -> std::result::Result<u64, Failure> {
    // An expired predecessor stays expired; an active one becomes previous.
    if let Some(p) = at
        .previous
        .as_ref()
        .filter(|p| p.state == SnapshotState::Active)
    {
        tx.set_snapshot_state(p.id.as_str(), SnapshotState::Previous, ctx.now)?;
    }
    let tool_key = tx.ensure_tool(&ctx.req.tool)?;
    let affected = tx.restore_active(tool_key, pk)?;
    fault_point("import_activate")?;
    tx.set_active_pointer(
        &ctx.req.tool,
        Some(snap.id.as_str()),
        ctx.now,
        &ctx.env.user,
    )?;
    Ok(affected)
}

/// The import record and, when the snapshot was made active, its
/// activation record.
fn audit_import(
    tx: &mut WriteTx<'_>,
    ctx: &ImportCtx<'_>,
    snap: &Snapshot,
    files: &[Prepared],
    at: &Placement,
    affected: u64,
) -> std::result::Result<(), Failure> {
    let (req, env, now) = (ctx.req, ctx.env, ctx.now);
    tx.append_audit(&NewAudit {
        event: AuditEvent::SnapshotImported,
        timestamp: now,
        user: env.user.clone(),
        tool: Some(req.tool.clone()),
        snapshot_id: Some(snap.id.to_string()),
        details: SnapshotImported {
            snapshot_id: snap.id.to_string(),
            tool: snap.tool.clone(),
            imported_at: fmt_ts(snap.imported_at),
            tool_version: snap.tool_version.clone(),
            previous_snapshot: snap.previous_snapshot.clone(),
            source_hash: snap.source_hash.clone(),
            normalized_hash: snap.normalized_hash.clone(),
            record_count: snap.record_count,
            format: snap.format.clone(),
            files: files.iter().map(|f| f.display.clone()).collect(),
            source_uri: snap.metadata.source_uri.clone(),
            reason: snap.metadata.import_reason.clone(),
            warnings: snap.warnings.clone(),
            // Attests the relinked neighbour, so `audit verify` expects its
            // new previousSnapshot.
            backfill: at.backfill.then_some(true),
            next_snapshot: at
                .backfill
                .then(|| at.newer.as_ref().map(|n| n.id.to_string())),
        }
        .to_value(),
    })?;
    if at.activate {
        let d = SnapshotActivated {
            snapshot_id: snap.id.to_string(),
            previous_snapshot: snap.previous_snapshot.clone(),
            cause: match at.backfill {
                true => ActivationCause::Backfill,
                false => ActivationCause::Import,
            },
            records_affected: affected,
            reason: at.backfill.then(|| req.reason.clone()),
        };
        tx.append_audit(&NewAudit {
            event: AuditEvent::SnapshotActivated,
            timestamp: now,
            user: env.user.clone(),
            tool: Some(req.tool.clone()),
            snapshot_id: Some(snap.id.to_string()),
            details: d.to_value(),
        })?;
    }
    Ok(())
}

/// Where a backfill at `at` goes in the tool's history (the chain of
/// previousSnapshot links from the active snapshot): its older neighbour
/// (which becomes its predecessor) and its newer one (whose predecessor it
/// becomes).
fn history_place(
    tx: &WriteTx<'_>,
    active: Option<&Snapshot>,
    at: DateTime<Utc>,
) -> std::result::Result<(Option<Snapshot>, Option<Snapshot>), Failure> {
    let Some(mut newer) = active.cloned() else {
        return Ok((None, None));
    };
    // A chain longer than the store has snapshots loops; stop rather than spin.
    for _ in 0..=MAX_CHAIN {
        let older = match &newer.previous_snapshot {
            Some(id) => tx.get_snapshot(id)?,
            None => None,
        };
        match older {
            Some(o) if o.imported_at > at => newer = o,
            older => return Ok((older, Some(newer))),
        }
    }
    Err(Failure::Other(OpError::integrity(format!(
        "the previousSnapshot chain of {} loops",
        newer.tool
    ))))
}

/// Longer than any real history; only a corrupted (looping) chain reaches it.
const MAX_CHAIN: usize = 10_000_000;

pub(super) fn allocate_id(
    tx: &mut WriteTx<'_>,
    tool: &str,
    at: DateTime<Utc>,
) -> std::result::Result<SnapshotId, Failure> {
    let probe = SnapshotId::new(tool, at, 1);
    let seq = tx.next_seq(tool, &probe.ts_part())?;
    if seq > MAX_SEQ {
        return Err(Failure::Other(OpError::invalid(format!(
            "{tool} already has {MAX_SEQ} imports at {}; wait a second and import again",
            fmt_ts(at)
        ))));
    }
    Ok(SnapshotId::new(tool, at, seq))
}

/// The row an import writes before its records: the request's metadata, no
/// records or hash yet, active with no predecessor until the caller says
/// otherwise. The successful and the failed import both start from it, so
/// the two rows cannot drift apart.
pub(super) fn started_snapshot(id: SnapshotId, ctx: &ImportCtx<'_>) -> Snapshot {
    let (req, env) = (ctx.req, ctx.env);
    Snapshot {
        id,
        tool: req.tool.clone(),
        tool_version: None,
        imported_at: ctx.imported_at,
        source_hash: ctx.src_hash.clone(),
        normalized_hash: None,
        record_count: 0,
        state: SnapshotState::Active,
        previous_snapshot: None,
        metadata: SnapshotMetadata {
            source_uri: req.source_uri.clone(),
            import_user: env.user.clone(),
            import_reason: req.reason.clone(),
        },
        format: format_names(&ctx.formats),
        generated_at: None,
        schema_version: None,
        warnings: Vec::new(),
        failure_reason: None,
        state_changed_at: Some(ctx.now),
        stats: None,
    }
}
