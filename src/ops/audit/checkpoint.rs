//! The chain's head written to a file outside the store, so that a
//! truncated trail can be told from a short one.

use crate::domain::audit::audit_id;
use crate::domain::time::fmt_ts;
use crate::ops::{OpError, Result};
use crate::store::prelude::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The head of the chain, kept outside the store to detect truncation.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub seq: u64,
    pub id: String,
    pub hash: String,
    pub created_at: String,
}

#[derive(Serialize, Deserialize)]
struct CheckpointFile {
    checkpoint: Checkpoint,
}

/// Writes the chain's head to `path` (atomically: a temp file renamed).
pub fn write_checkpoint(
    store: &impl Queries,
    path: &Path,
    now: DateTime<Utc>,
) -> Result<Checkpoint> {
    let (seq, hash) = store
        .audit_head()?
        .ok_or_else(|| OpError::invalid("the audit trail is empty; nothing to checkpoint"))?;
    let cp = Checkpoint {
        seq,
        id: audit_id(seq),
        hash,
        created_at: fmt_ts(now),
    };
    let text = serde_json::to_string_pretty(&CheckpointFile {
        checkpoint: cp.clone(),
    })
    .expect("checkpoint serializes");
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |e: std::io::Error| {
        OpError::invalid(format!("cannot write checkpoint {}: {e}", path.display()))
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut tmp, format!("{text}\n").as_bytes()).map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(cp)
}

pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| OpError::usage(format!("cannot read checkpoint {}: {e}", path.display())))?;
    let f: CheckpointFile = serde_json::from_str(&text).map_err(|e| {
        OpError::usage(format!(
            "{} is not a snapgov checkpoint ({e}); write one with `snapgov ingest audit checkpoint FILE`",
            path.display()
        ))
    })?;
    Ok(f.checkpoint)
}
