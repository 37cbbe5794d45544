//! Importing a feed: files in, one verified snapshot out, made active.
//!
//! The whole import is one write transaction: a crash or any failure leaves
//! the store as it was, the previous snapshot still active. A refused import
//! is then recorded on its own (a `failed` snapshot and its audit records),
//! so the attempt stays visible.

use super::{fault, Env, OpError, Progress, Result, SYSTEM_USER};
use crate::domain::audit::{AuditEvent, NewAudit};
use crate::domain::snapshot::{
    check_feed_size, validate_tool_name, FeedSizeRefusal, Snapshot, SnapshotId, SnapshotMetadata,
    SnapshotState, MAX_SEQ,
};
use crate::domain::time::{fmt_ts, truncate};
use crate::ingest::{self, detect, Format, IngestError, Limits};
use crate::store::records::RecordReads;
use crate::store::snapshots::SnapshotReads;
use crate::store::{Store, WriteTx};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::io::{Read, Write};
use std::path::PathBuf;

/// One input: a file, or standard input (`-`).
#[derive(Clone, Debug)]
pub enum Input {
    File(PathBuf),
    Stdin,
    /// A file known to people by another name (an upload, a generated
    /// feed): errors and the audit trail use the name, not the path.
    Named {
        path: PathBuf,
        name: String,
    },
}

impl Input {
    /// `-` means standard input.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::File(PathBuf::from(arg))
        }
    }
    pub fn display(&self) -> String {
        match self {
            Input::File(p) => p.display().to_string(),
            Input::Named { name, .. } => name.clone(),
            Input::Stdin => "-".to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ImportRequest {
    pub tool: String,
    /// `None`: detect each file's format.
    pub format: Option<Format>,
    pub inputs: Vec<Input>,
    pub source_uri: Option<String>,
    pub reason: Option<String>,
    /// Backdates the import (`--imported-at`); default now.
    pub imported_at: Option<DateTime<Utc>>,
    pub allow_empty: bool,
    pub allow_shrink: bool,
    /// Make a backfill (older than the tool's active snapshot) active
    /// anyway; needs a reason, audited with the activation.
    pub activate: bool,
}

impl ImportRequest {
    pub fn new(tool: &str, inputs: Vec<Input>) -> ImportRequest {
        ImportRequest {
            tool: tool.to_string(),
            format: None,
            inputs,
            source_uri: None,
            reason: None,
            imported_at: None,
            allow_empty: false,
            allow_shrink: false,
            activate: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ImportOutcome {
    pub snapshot: Snapshot,
    /// Whether it became the tool's active snapshot (a backfill older than
    /// the active one does not, unless asked).
    pub activated: bool,
    /// For a backfill: the newer snapshot whose previousSnapshot now names it.
    pub next_snapshot: Option<String>,
    /// The snapshot it replaced as active.
    pub replaced: Option<String>,
    /// Records the parsers produced, before merging identical identities.
    pub records_received: u64,
    /// How many of those were merged into another with the same identity.
    pub records_merged: u64,
    /// Records added, removed or replaced in the tool's active data.
    pub records_affected: u64,
}

/// A file ready to parse: on disk, hashed.
struct Prepared {
    path: PathBuf,
    display: String,
    hash: blake3::Hash,
    // Keeps a spooled stdin alive until the import is done.
    _spool: Option<crate::ingest::spool::Spool>,
}

fn read_err(display: &str, e: std::io::Error) -> IngestError {
    IngestError::Io {
        file: display.to_string(),
        source: e,
    }
}

/// Hashes a file as received, enforcing the size limit.
fn prepare(input: &Input, limits: &Limits) -> std::result::Result<Prepared, IngestError> {
    let display = input.display();
    match input {
        Input::File(path) | Input::Named { path, .. } => {
            let meta = std::fs::metadata(path).map_err(|e| read_err(&display, e))?;
            if meta.is_dir() {
                return Err(read_err(
                    &display,
                    std::io::Error::other("it is a directory; name the report file inside it"),
                ));
            }
            if meta.len() > limits.max_input_bytes {
                return Err(IngestError::TooLarge {
                    file: display,
                    size: meta.len(),
                    limit: limits.max_input_bytes,
                });
            }
            let f = std::fs::File::open(path).map_err(|e| read_err(&display, e))?;
            let hash = hash_reader(f, limits.max_input_bytes, &display, None)?;
            Ok(Prepared {
                path: path.clone(),
                display,
                hash,
                _spool: None,
            })
        }
        Input::Stdin => {
            crate::ingest::spool::clean_leftovers();
            let mut spool =
                crate::ingest::spool::Spool::new().map_err(|e| read_err(&display, e))?;
            let hash = hash_reader(
                std::io::stdin().lock(),
                limits.max_input_bytes,
                &display,
                Some(spool.file_mut()),
            )?;
            spool
                .file_mut()
                .flush()
                .map_err(|e| read_err(&display, e))?;
            Ok(Prepared {
                path: spool.path().to_path_buf(),
                display,
                hash,
                _spool: Some(spool),
            })
        }
    }
}

fn hash_reader(
    mut r: impl Read,
    limit: u64,
    display: &str,
    mut copy: Option<&mut std::fs::File>,
) -> std::result::Result<blake3::Hash, IngestError> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    let mut sniffed = false;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_err(display, e)),
        };
        total += n as u64;
        if total > limit {
            return Err(IngestError::TooLarge {
                file: display.to_string(),
                size: total,
                limit,
            });
        }
        // Every format snapgov reads is JSON: refuse anything else at its
        // first byte, rather than after reading (or spooling) all of it.
        if !sniffed {
            let chunk = buf[..n].strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf[..n]);
            if let Some(b) = chunk.iter().find(|b| !b.is_ascii_whitespace()) {
                sniffed = true;
                if *b != b'{' && *b != b'[' {
                    return Err(IngestError::UnknownFormat {
                        file: display.to_string(),
                        hint: format!(
                            " (it starts with byte 0x{b:02x}, not a JSON object or array)"
                        ),
                        known: crate::ingest::Format::known_list(),
                    });
                }
            }
        }
        h.update(&buf[..n]);
        if let Some(f) = copy.as_mut() {
            f.write_all(&buf[..n]).map_err(|e| read_err(display, e))?;
        }
    }
    Ok(h.finalize())
}

/// `sourceHash`: over the bytes of one file; for several, over their sorted
/// per-file hashes (hex, one per line).
fn source_hash(files: &[Prepared]) -> String {
    if let [one] = files {
        return format!("b3:{}", one.hash.to_hex());
    }
    let mut hexes: Vec<String> = files.iter().map(|p| p.hash.to_hex().to_string()).collect();
    hexes.sort();
    let mut h = blake3::Hasher::new();
    for x in hexes {
        h.update(x.as_bytes());
        h.update(b"\n");
    }
    format!("b3:{}", h.finalize().to_hex())
}

/// Why the main transaction stopped, before it is recorded.
enum Failure {
    /// Bad input or failed validation: recorded as a failed import.
    Refused { message: String, written: bool },
    /// Anything else (store busy, I/O): reported as is.
    Other(OpError),
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Other(e.into())
    }
}

/// Imports a feed as the tool's new active snapshot.
pub fn import(
    store: &mut Store,
    env: &Env,
    req: &ImportRequest,
    progress: &dyn Progress,
) -> Result<ImportOutcome> {
    validate_tool_name(&req.tool).map_err(OpError::Usage)?;
    if req.inputs.is_empty() {
        return Err(OpError::Usage(
            "name at least one file to import (or - for standard input)".into(),
        ));
    }
    if req
        .inputs
        .iter()
        .filter(|i| matches!(i, Input::Stdin))
        .count()
        > 1
    {
        return Err(OpError::Usage(
            "standard input (-) can be named only once".into(),
        ));
    }
    let now = env.clock.now();
    if let Some(at) = req.imported_at {
        crate::domain::snapshot::check_imported_at(at, now)
            .map_err(|m| OpError::Usage(format!("--imported-at {m}")))?;
    }
    if req.activate && req.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(OpError::Usage(
            "--activate makes a backfill active over a newer snapshot: give the reason with --reason TEXT (it is audited)".into(),
        ));
    }
    let imported_at = truncate(req.imported_at.unwrap_or(now));
    let limits = &env.config.limits;

    // Hash and detect before taking the write lock.
    let mut prepared = Vec::new();
    let mut formats = Vec::new();
    let mut early: Option<IngestError> = None;
    for input in &req.inputs {
        match prepare(input, limits) {
            Ok(p) => prepared.push(p),
            Err(e) => {
                early = Some(e);
                break;
            }
        }
    }
    if early.is_none() {
        for p in &prepared {
            let f = match req.format {
                Some(f) => f,
                None => match detect::detect(&p.path, &p.display, limits) {
                    Ok(f) => f,
                    Err(e) => {
                        early = Some(e);
                        break;
                    }
                },
            };
            formats.push(f);
        }
    }
    let src_hash = if prepared.len() == req.inputs.len() {
        source_hash(&prepared)
    } else {
        // A file could not be read: hash what names the attempt instead.
        format!("b3:{}", blake3::hash(b"").to_hex())
    };
    if let Some(e) = early {
        return record_failure(
            store,
            env,
            req,
            now,
            imported_at,
            &src_hash,
            &formats,
            e.to_string(),
            false,
        );
    }

    let result = store.write(|tx| -> std::result::Result<ImportOutcome, Failure> {
        write_snapshot(
            tx,
            env,
            req,
            now,
            imported_at,
            &src_hash,
            &prepared,
            &formats,
            progress,
        )
    });
    progress.finish();
    match result {
        Ok(out) => Ok(out),
        Err(Failure::Other(e @ OpError::Fault(_))) => record_failure(
            store,
            env,
            req,
            now,
            imported_at,
            &src_hash,
            &formats,
            e.to_string(),
            true,
        ),
        Err(Failure::Other(e)) => Err(e),
        Err(Failure::Refused { message, written }) => record_failure(
            store,
            env,
            req,
            now,
            imported_at,
            &src_hash,
            &formats,
            message,
            written,
        ),
    }
}

fn format_names(formats: &[Format]) -> Option<String> {
    let mut names: Vec<&str> = formats.iter().map(|f| f.as_str()).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        None
    } else {
        Some(names.join("+"))
    }
}

/// The files of an import, for messages.
fn file_list(files: &[Prepared]) -> String {
    files
        .iter()
        .map(|f| f.display.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The import's record sink: passes records on, and counts severity words
/// the parsers did not know (with the first few, for the warning).
struct CountingSink<F> {
    push: F,
    unknown: u64,
    examples: Vec<String>,
}

impl<F> crate::ingest::RecordSink for CountingSink<F>
where
    F: FnMut(crate::domain::record::NormalizedRecord) -> std::result::Result<(), IngestError>,
{
    fn push(
        &mut self,
        record: crate::domain::record::NormalizedRecord,
    ) -> std::result::Result<(), IngestError> {
        (self.push)(record)
    }

    fn unknown_severity(&mut self, raw: &str) {
        self.unknown += 1;
        let word: String = raw.trim().chars().take(40).collect();
        let word = format!("`{word}`");
        if self.examples.len() < 3 && !self.examples.contains(&word) {
            self.examples.push(word);
        }
    }
}

fn fault_point(step: &'static str) -> std::result::Result<(), Failure> {
    fault::point(step).map_err(Failure::Other)
}

#[allow(clippy::too_many_arguments)]
fn write_snapshot(
    tx: &mut WriteTx<'_>,
    env: &Env,
    req: &ImportRequest,
    now: DateTime<Utc>,
    imported_at: DateTime<Utc>,
    src_hash: &str,
    files: &[Prepared],
    formats: &[Format],
    progress: &dyn Progress,
) -> std::result::Result<ImportOutcome, Failure> {
    fault_point("import_begin")?;
    let id = allocate_id(tx, &req.tool, imported_at)?;
    let active = tx.active_snapshot(&req.tool)?;
    // A backfill (older than the active snapshot) goes into history at its
    // place by importedAt, between an older neighbour (its predecessor) and
    // a newer one (whose predecessor it becomes); it is not made active
    // unless asked, so it can neither hijack the tool nor age its SLA.
    let backfill = active.as_ref().is_some_and(|a| imported_at < a.imported_at);
    let activate = !backfill || req.activate;
    let (previous, newer) = if activate {
        (active.clone(), None)
    } else {
        let (older, newer) = history_place(tx, active.as_ref(), imported_at)?;
        (older, newer)
    };
    let mut snap = Snapshot {
        state: if activate {
            SnapshotState::Active
        } else {
            SnapshotState::Previous
        },
        previous_snapshot: previous.as_ref().map(|p| p.id.clone()),
        ..started_snapshot(
            id.to_string(),
            req,
            env,
            src_hash,
            formats,
            imported_at,
            now,
        )
    };
    let pk = tx.insert_snapshot(&snap)?;
    let mut writer = tx.record_writer(pk)?;
    progress.set_message(&format!("importing {} as {}", req.tool, snap.id));
    for (file, format) in files.iter().zip(formats) {
        let max_record = env.config.limits.max_record_bytes;
        let push = |rec: crate::domain::record::NormalizedRecord| {
            progress.inc(1);
            if rec.text_len() as u64 > max_record {
                return Err(IngestError::Invalid {
                    file: file.display.clone(),
                    path: format!("record {}", writer.received + 1),
                    message: format!(
                        "the record holds {} bytes of text, over the limit of {max_record} (set [limits] max_record_bytes in the config to raise it)",
                        rec.text_len()
                    ),
                });
            }
            writer
                .add(&rec)
                .map_err(|e| IngestError::Sink(e.to_string()))
        };
        let mut sink = CountingSink {
            push,
            unknown: 0,
            examples: Vec::new(),
        };
        let meta = ingest::parse_file(
            *format,
            &file.path,
            &file.display,
            &env.config.limits,
            &mut sink,
        )
        .map_err(|e| match e {
            IngestError::Sink(m) => {
                Failure::Other(OpError::Store(crate::store::StoreError::Sqlite(m)))
            }
            other => Failure::Refused {
                message: other.to_string(),
                written: false,
            },
        })?;
        let mut warnings = meta.warnings;
        if sink.unknown > 0 {
            warnings.push(format!(
                "{} findings have a severity snapgov does not know ({}); they are filed as unknown",
                sink.unknown,
                sink.examples.join(", ")
            ));
        }
        snap.tool_version = snap.tool_version.take().or(meta.tool_version);
        snap.schema_version = snap.schema_version.take().or(meta.schema_version);
        snap.generated_at = snap.generated_at.take().or(meta.generated_at);
        for w in warnings {
            snap.warnings.push(if files.len() > 1 {
                format!("{}: {w}", file.display)
            } else {
                w
            });
        }
    }
    let (received, merged) = (writer.received, writer.merged);
    let capped = tx.finish_records(writer)?;
    if capped > 0 {
        snap.warnings.push(format!(
            "{capped} locations, licenses or aliases were dropped: a record keeps at most {} of each (the feed lists some package many times)",
            crate::domain::record::MAX_SET_ITEMS
        ));
    }
    fault_point("import_write")?;

    let summary = tx.snapshot_summary(pk)?;
    let refuse = |message: String| Failure::Refused {
        message,
        written: true,
    };
    // The shrink guard protects the active data: a backfill kept in
    // history does not replace it.
    let replaced = active
        .as_ref()
        .filter(|p| activate && p.state == SnapshotState::Active)
        .map(|p| (p.id.as_str(), p.record_count));
    match check_feed_size(summary.count, replaced, req.allow_empty, req.allow_shrink) {
        Ok(()) => {}
        Err(FeedSizeRefusal::Empty) => return Err(refuse(format!(
            "{}: the feed for {} has no records; an empty feed is usually a broken scan. If it is really empty, import again with --allow-empty",
            file_list(files),
            req.tool
        ))),
        Err(FeedSizeRefusal::Shrink { active_id, active_count }) => return Err(refuse(format!(
            "{}: the feed for {} has {} records, fewer than half of the active snapshot {} ({}); a shrinking feed is usually a partial scan. If the shrink is real, import again with --allow-shrink",
            file_list(files), req.tool, summary.count, active_id, active_count
        ))),
    }
    fault_point("import_validate")?;

    snap.normalized_hash = Some(summary.normalized_hash.clone());
    snap.record_count = summary.count;
    snap.stats = Some(summary.stats.clone());
    tx.update_snapshot(&snap)?;
    if let Some(n) = &newer {
        let mut n = n.clone();
        n.previous_snapshot = Some(snap.id.clone());
        tx.update_snapshot(&n)?;
    }
    let mut affected = 0;
    if activate {
        // An expired predecessor stays expired; an active one becomes previous.
        if let Some(p) = previous
            .as_ref()
            .filter(|p| p.state == SnapshotState::Active)
        {
            tx.set_snapshot_state(&p.id, SnapshotState::Previous, now)?;
        }
        let tool_key = tx.ensure_tool(&req.tool)?;
        affected = tx.restore_active(tool_key, pk)?;
        fault_point("import_activate")?;
        tx.set_active_pointer(&req.tool, Some(&snap.id), now, &env.user)?;
    }
    tx.append_audit(&NewAudit {
        event: AuditEvent::SnapshotImported,
        timestamp: now,
        user: env.user.clone(),
        tool: Some(req.tool.clone()),
        snapshot_id: Some(snap.id.clone()),
        details: {
            let mut d = json!({
                "snapshotId": snap.id,
                "tool": snap.tool,
                "importedAt": fmt_ts(snap.imported_at),
                "toolVersion": snap.tool_version,
                "previousSnapshot": snap.previous_snapshot,
                "sourceHash": snap.source_hash,
                "normalizedHash": snap.normalized_hash,
                "recordCount": snap.record_count,
                "format": snap.format,
                "files": files.iter().map(|f| f.display.clone()).collect::<Vec<_>>(),
                "sourceUri": snap.metadata.source_uri,
                "reason": snap.metadata.import_reason,
                "warnings": snap.warnings,
            });
            if backfill {
                // Attests the relinked neighbour, so `audit verify` expects
                // its new previousSnapshot.
                d["backfill"] = json!(true);
                d["nextSnapshot"] = json!(newer.as_ref().map(|n| n.id.clone()));
            }
            d
        },
    })?;
    if activate {
        let mut d = json!({
            "snapshotId": snap.id,
            "previousSnapshot": snap.previous_snapshot,
            "cause": "import",
            "recordsAffected": affected,
        });
        if backfill {
            d["cause"] = json!("backfill");
            d["reason"] = json!(req.reason);
        }
        tx.append_audit(&NewAudit {
            event: AuditEvent::SnapshotActivated,
            timestamp: now,
            user: env.user.clone(),
            tool: Some(req.tool.clone()),
            snapshot_id: Some(snap.id.clone()),
            details: d,
        })?;
    }
    fault_point("import_commit")?;
    Ok(ImportOutcome {
        replaced: if activate {
            snap.previous_snapshot.clone()
        } else {
            None
        },
        activated: activate,
        next_snapshot: newer.map(|n| n.id),
        snapshot: snap,
        records_received: received,
        records_merged: merged,
        records_affected: affected,
    })
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
    Err(Failure::Other(OpError::Integrity(format!(
        "the previousSnapshot chain of {} loops",
        newer.tool
    ))))
}

/// Longer than any real history; only a corrupted (looping) chain reaches it.
const MAX_CHAIN: usize = 10_000_000;

fn allocate_id(
    tx: &mut WriteTx<'_>,
    tool: &str,
    at: DateTime<Utc>,
) -> std::result::Result<SnapshotId, Failure> {
    let probe = SnapshotId::new(tool, at, 1);
    let seq = tx.next_seq(tool, &probe.ts_part())?;
    if seq > MAX_SEQ {
        return Err(Failure::Other(OpError::Invalid(format!(
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
fn started_snapshot(
    id: String,
    req: &ImportRequest,
    env: &Env,
    src_hash: &str,
    formats: &[Format],
    imported_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Snapshot {
    Snapshot {
        id,
        tool: req.tool.clone(),
        tool_version: None,
        imported_at,
        source_hash: src_hash.to_string(),
        normalized_hash: None,
        record_count: 0,
        state: SnapshotState::Active,
        previous_snapshot: None,
        metadata: SnapshotMetadata {
            source_uri: req.source_uri.clone(),
            import_user: env.user.clone(),
            import_reason: req.reason.clone(),
        },
        format: format_names(formats),
        generated_at: None,
        schema_version: None,
        warnings: Vec::new(),
        failure_reason: None,
        state_changed_at: Some(now),
        stats: None,
    }
}

/// Records a refused import: a `failed` snapshot, its audit record and,
/// when records had been written, the automatic rollback to the previous
/// snapshot. Returns the refusal.
#[allow(clippy::too_many_arguments)]
fn record_failure(
    store: &mut Store,
    env: &Env,
    req: &ImportRequest,
    now: DateTime<Utc>,
    imported_at: DateTime<Utc>,
    src_hash: &str,
    formats: &[Format],
    message: String,
    written: bool,
) -> Result<ImportOutcome> {
    let recorded = store.write(|tx| -> Result<String> {
        let id = allocate_id(tx, &req.tool, imported_at).map_err(|f| match f {
            Failure::Other(e) => e,
            Failure::Refused { message, .. } => OpError::Invalid(message),
        })?;
        let previous = tx.active_snapshot(&req.tool)?;
        let snap = Snapshot {
            state: SnapshotState::Failed,
            previous_snapshot: previous.as_ref().map(|p| p.id.clone()),
            failure_reason: Some(message.clone()),
            ..started_snapshot(
                id.to_string(),
                req,
                env,
                src_hash,
                formats,
                imported_at,
                now,
            )
        };
        tx.ensure_tool(&req.tool)?;
        tx.insert_snapshot(&snap)?;
        tx.append_audit(&NewAudit {
            event: AuditEvent::SnapshotImportFailed,
            timestamp: now,
            user: env.user.clone(),
            tool: Some(req.tool.clone()),
            snapshot_id: Some(snap.id.clone()),
            details: json!({
                "snapshotId": snap.id,
                "tool": snap.tool,
                "sourceHash": snap.source_hash,
                "importedAt": fmt_ts(snap.imported_at),
                "files": req.inputs.iter().map(|i| i.display()).collect::<Vec<_>>(),
                "reason": message,
                "activeSnapshot": snap.previous_snapshot,
            }),
        })?;
        if written {
            // The records had been written: the transaction's rollback put the
            // previous snapshot back. Say so, as the spec's automatic trigger.
            tx.append_audit(&NewAudit {
                event: AuditEvent::SnapshotRolledBack,
                timestamp: now,
                user: SYSTEM_USER.to_string(),
                tool: Some(req.tool.clone()),
                snapshot_id: Some(snap.id.clone()),
                details: json!({
                    "fromSnapshot": snap.id,
                    "toSnapshot": snap.previous_snapshot,
                    "reason": format!("automatic: import failed: {message}"),
                    "automatic": true,
                    "recordsAffected": 0,
                }),
            })?;
        }
        Ok(snap.id)
    });
    match recorded {
        Ok(id) => Err(OpError::Rejected {
            message: format!("import refused, recorded as failed snapshot {id}: {message}"),
            snapshot_id: Some(id),
        }),
        Err(e) => Err(OpError::Rejected {
            message: format!("import refused: {message} (and recording the failure failed: {e})"),
            snapshot_id: None,
        }),
    }
}
