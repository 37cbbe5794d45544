//! The guarded read: a tool's active records, behind the freshness guard

use super::sla::{guard, Cleared};
use super::{Env, OpError, Result};
use crate::domain::record::{RecordKind, Severity};
use crate::store::prelude::*;
use crate::store::{RecordFilter, Store};

#[derive(Clone, Debug, Default)]
pub struct RecordsQuery {
    pub tool: String,
    pub subject: Option<String>,
    pub kind: Option<RecordKind>,
    pub severities: Vec<Severity>,
    /// Reason to read critically old data anyway (audited).
    pub override_reason: Option<String>,
}

/// Streams the tool's active records (canonical JSON, one per call) to `out`.
/// Returns the guard's verdict (with any stale warning) and the count.
pub fn query(
    store: &mut Store,
    env: &Env,
    q: &RecordsQuery,
    mut out: impl FnMut(&str) -> std::io::Result<()>,
) -> Result<(Cleared, u64)> {
    crate::domain::snapshot::validate_tool_name(&q.tool).map_err(OpError::usage)?;
    let cleared = guard(
        store,
        env,
        &q.tool,
        q.override_reason.as_deref(),
        "records query",
    )?;
    let filter = RecordFilter {
        subject: q.subject.clone(),
        kind: q.kind,
        severities: q
            .severities
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
    };
    match store.for_each_active_record(cleared.tool_key, &filter, |body| {
        out(body).map_err(Stop::Output)
    }) {
        Ok(n) => Ok((cleared, n)),
        // The reader went away (`| head`): not a failure of the query.
        Err(Stop::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok((cleared, 0)),
        Err(Stop::Output(e)) => Err(OpError::invalid(format!("cannot write records: {e}"))),
        Err(Stop::Store(e)) => Err(e.into()),
    }
}

/// Why the walk over the records stopped early.
enum Stop {
    Output(std::io::Error),
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for Stop {
    fn from(e: crate::store::StoreError) -> Stop {
        Stop::Store(e)
    }
}
