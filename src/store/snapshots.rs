//! Snapshot rows and each tool's active pointer.

use super::{CorruptRow, Queries, Result, StoreError, WriteTx};
use crate::domain::snapshot::{Snapshot, SnapshotId, SnapshotMetadata, SnapshotState};
use crate::domain::time::{fmt_ts, parse_ts};
use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, OptionalExtension, Row, ToSql};

#[derive(Clone, Debug, Default)]
pub struct SnapshotFilter {
    pub tool: Option<String>,
    pub state: Option<SnapshotState>,
    /// Only snapshots listed after this id (paging), in listing order.
    pub after: Option<String>,
    pub limit: Option<u64>,
    /// Newest first instead of oldest first.
    pub newest_first: bool,
}

/// A tool known to the store and its active pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolRow {
    pub name: String,
    pub active_snapshot: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    pub changed_by: Option<String>,
}

const COLUMNS: &str = "id, tool, tool_version, imported_at, source_hash, normalized_hash, record_count, state, previous_snapshot, source_uri, import_user, import_reason, format, generated_at, schema_version, warnings, failure_reason, state_changed_at, stats, pk";

/// The values of the columns after `id` and `tool`, in [`COLUMNS`] order:
/// what an insert writes and an update rewrites (`?3`.. and `?2`..).
fn written_columns(s: &Snapshot) -> [Box<dyn ToSql + '_>; 17] {
    [
        Box::new(&s.tool_version),
        Box::new(fmt_ts(s.imported_at)),
        Box::new(&s.source_hash),
        Box::new(&s.normalized_hash),
        Box::new(s.record_count as i64),
        Box::new(s.state.as_str()),
        Box::new(&s.previous_snapshot),
        Box::new(&s.metadata.source_uri),
        Box::new(&s.metadata.import_user),
        Box::new(&s.metadata.import_reason),
        Box::new(&s.format),
        Box::new(&s.generated_at),
        Box::new(&s.schema_version),
        Box::new(warnings_json(&s.warnings)),
        Box::new(&s.failure_reason),
        Box::new(s.state_changed_at.map(fmt_ts)),
        Box::new(
            s.stats
                .as_ref()
                .map(|st| serde_json::to_string(st).expect("stats serialize")),
        ),
    ]
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<(Snapshot, i64)> {
    let id: String = r.get(0)?;
    let imported_at: String = r.get(3)?;
    let state: String = r.get(7)?;
    let warnings: Option<String> = r.get(15)?;
    let state_changed_at: Option<String> = r.get(17)?;
    let stats: Option<String> = r.get(18)?;
    let bad = |col: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            format!("snapshot {id}: unreadable {what}").into(),
        )
    };
    let snap = Snapshot {
        id: SnapshotId::parse(&id).map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                Box::new(CorruptRow(format!("snapshot {id}: unreadable id"))),
            )
        })?,
        tool: r.get(1)?,
        tool_version: r.get(2)?,
        imported_at: parse_ts(&imported_at).map_err(|_| bad(3, "importedAt"))?,
        source_hash: r.get(4)?,
        normalized_hash: r.get(5)?,
        record_count: r.get::<_, i64>(6)? as u64,
        state: SnapshotState::parse(&state).ok_or_else(|| bad(7, "state"))?,
        previous_snapshot: r.get(8)?,
        metadata: SnapshotMetadata {
            source_uri: r.get(9)?,
            import_user: r.get(10)?,
            import_reason: r.get(11)?,
        },
        format: r.get(12)?,
        generated_at: r.get(13)?,
        schema_version: r.get(14)?,
        warnings: match warnings {
            Some(w) => serde_json::from_str(&w).map_err(|_| bad(15, "warnings"))?,
            None => Vec::new(),
        },
        failure_reason: r.get(16)?,
        state_changed_at: state_changed_at
            .map(|s| parse_ts(&s))
            .transpose()
            .map_err(|_| bad(17, "stateChangedAt"))?,
        stats: stats
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|_| bad(18, "stats"))?,
    };
    Ok((snap, r.get(19)?))
}

/// Snapshot reads.
pub trait SnapshotReads: Queries {
    fn get_snapshot(&self, id: &str) -> Result<Option<Snapshot>> {
        Ok(self.get_snapshot_pk(id)?.map(|(s, _)| s))
    }

    /// The snapshot and its internal key.
    fn get_snapshot_pk(&self, id: &str) -> Result<Option<(Snapshot, i64)>> {
        let sql = format!("SELECT {COLUMNS} FROM snapshots WHERE id = ?1");
        Ok(self.conn().query_row(&sql, [id], from_row).optional()?)
    }

    fn list_snapshots(&self, f: &SnapshotFilter) -> Result<Vec<Snapshot>> {
        let order = if f.newest_first { "DESC" } else { "ASC" };
        let cmp = if f.newest_first { "<" } else { ">" };
        let mut sql = format!("SELECT {COLUMNS} FROM snapshots WHERE 1=1");
        let mut args: Vec<String> = Vec::new();
        if let Some(t) = &f.tool {
            args.push(t.clone());
            sql.push_str(&format!(" AND tool = ?{}", args.len()));
        }
        if let Some(s) = f.state {
            args.push(s.as_str().to_string());
            sql.push_str(&format!(" AND state = ?{}", args.len()));
        }
        if let Some(after) = &f.after {
            // Listing order is (imported_at, id); the cursor is an id.
            let Some((s, _)) = self.get_snapshot_pk(after)? else {
                return Ok(Vec::new());
            };
            args.push(fmt_ts(s.imported_at));
            args.push(String::from(s.id));
            let n = args.len();
            sql.push_str(&format!(
                " AND (imported_at {cmp} ?{} OR (imported_at = ?{} AND id {cmp} ?{n}))",
                n - 1,
                n - 1
            ));
        }
        sql.push_str(&format!(" ORDER BY imported_at {order}, id {order}"));
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), from_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r?.0);
        }
        Ok(out)
    }

    /// When the tool's newest import that did not fail is dated, over its
    /// whole history (the index on (tool, imported_at) answers it).
    fn last_import_at(&self, tool: &str) -> Result<Option<DateTime<Utc>>> {
        let ts: Option<String> = self.conn().query_row(
            "SELECT max(imported_at) FROM snapshots WHERE tool = ?1 AND state != 'failed'",
            [tool],
            |r| r.get(0),
        )?;
        ts.map(|t| {
            crate::domain::time::parse_ts(&t)
                .map_err(|m| StoreError::Corrupt(format!("{tool}'s last import time: {m}")))
        })
        .transpose()
    }

    fn count_snapshots(&self) -> Result<u64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM snapshots", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    fn tools(&self) -> Result<Vec<ToolRow>> {
        let mut stmt = self.conn().prepare(
            "SELECT name, active_snapshot, changed_at, changed_by FROM tools ORDER BY name",
        )?;
        let rows = stmt.query_map([], tool_row)?;
        rows.map(|r| r.map_err(StoreError::from)).collect()
    }

    fn tool(&self, name: &str) -> Result<Option<ToolRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, active_snapshot, changed_at, changed_by FROM tools WHERE name = ?1",
                [name],
                tool_row,
            )
            .optional()?)
    }

    fn active_snapshot(&self, tool: &str) -> Result<Option<Snapshot>> {
        match self.tool(tool)?.and_then(|t| t.active_snapshot) {
            Some(id) => Ok(Some(self.get_snapshot(&id)?.ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "tool {tool}'s active snapshot {id} has no snapshot row"
                ))
            })?)),
            None => Ok(None),
        }
    }
}

fn tool_row(r: &Row<'_>) -> rusqlite::Result<ToolRow> {
    let changed_at: Option<String> = r.get(2)?;
    Ok(ToolRow {
        name: r.get(0)?,
        active_snapshot: r.get(1)?,
        changed_at: changed_at.and_then(|s| parse_ts(&s).ok()),
        changed_by: r.get(3)?,
    })
}

impl<T: Queries + ?Sized> SnapshotReads for T {}

impl WriteTx<'_> {
    /// The next free sequence number for `tool` at `id_ts` (counting every
    /// id ever issued, deleted ones included: ids are never reused).
    pub fn next_seq(&mut self, tool: &str, id_ts: &str) -> Result<u32> {
        let max: Option<i64> = self.tx.query_row(
            "SELECT max(seq) FROM snapshots WHERE tool = ?1 AND id_ts = ?2",
            params![tool, id_ts],
            |r| r.get(0),
        )?;
        Ok(max.map(|m| m as u32 + 1).unwrap_or(1))
    }

    /// The tool's internal key, registering the tool on first use.
    pub fn ensure_tool(&mut self, tool: &str) -> Result<i64> {
        self.tx.execute(
            "INSERT INTO tools (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            [tool],
        )?;
        Ok(self
            .tx
            .query_row("SELECT id FROM tools WHERE name = ?1", [tool], |r| r.get(0))?)
    }

    /// Inserts a new snapshot row; returns its internal key.
    pub fn insert_snapshot(&mut self, s: &Snapshot) -> Result<i64> {
        let id = &s.id;
        self.tx.execute(
            &format!("INSERT INTO snapshots ({COLUMNS}, id_ts, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, NULL, ?20, ?21)"),
            params_from_iter(
                [Box::new(s.id.as_str()) as Box<dyn ToSql>, Box::new(&s.tool)]
                    .into_iter()
                    .chain(written_columns(s))
                    .chain([Box::new(id.ts_part()) as Box<dyn ToSql>, Box::new(id.seq())]),
            ),
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Rewrites a snapshot row's mutable fields (everything but its id).
    pub fn update_snapshot(&mut self, s: &Snapshot) -> Result<()> {
        let n = self.tx.execute(
            "UPDATE snapshots SET tool_version = ?2, imported_at = ?3, source_hash = ?4, normalized_hash = ?5, record_count = ?6, state = ?7, previous_snapshot = ?8, source_uri = ?9, import_user = ?10, import_reason = ?11, format = ?12, generated_at = ?13, schema_version = ?14, warnings = ?15, failure_reason = ?16, state_changed_at = ?17, stats = ?18 WHERE id = ?1",
            params_from_iter(
                std::iter::once(Box::new(s.id.as_str()) as Box<dyn ToSql>).chain(written_columns(s)),
            ),
        )?;
        if n == 0 {
            return Err(StoreError::Corrupt(format!("snapshot {} vanished", s.id)));
        }
        Ok(())
    }

    pub fn set_snapshot_state(
        &mut self,
        id: &str,
        state: SnapshotState,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.tx.execute(
            "UPDATE snapshots SET state = ?2, state_changed_at = ?3 WHERE id = ?1",
            params![id, state.as_str(), fmt_ts(at)],
        )?;
        Ok(())
    }

    /// Moves the tool's active pointer (no records are touched here).
    pub fn set_active_pointer(
        &mut self,
        tool: &str,
        snapshot: Option<&str>,
        at: DateTime<Utc>,
        user: &str,
    ) -> Result<()> {
        self.ensure_tool(tool)?;
        self.tx.execute(
            "UPDATE tools SET active_snapshot = ?2, changed_at = ?3, changed_by = ?4 WHERE name = ?1",
            params![tool, snapshot, fmt_ts(at), user],
        )?;
        Ok(())
    }
}

fn warnings_json(w: &[String]) -> Option<String> {
    if w.is_empty() {
        None
    } else {
        Some(serde_json::to_string(w).expect("strings serialize"))
    }
}
