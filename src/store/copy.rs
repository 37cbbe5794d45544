//! Copying a whole store to another, whichever engines they are on
//! (`snapgov store copy`). Every table is copied row for row with its
//! internal keys (record ids, snapshot pks, tool ids), so every reference
//! between tables holds on the target as it did on the source. Rows are
//! streamed from the source and written in multi-row INSERTs, so memory
//! stays bounded whatever the store's size.

use super::db::{p, Db, V};
use super::{Queries, Result, StoreError, WriteTx};
use serde::Serialize;

/// A column's type, as both engines store it.
#[derive(Clone, Copy)]
enum Ty {
    Int,
    Text,
    Blob,
}

/// One table: its name, its columns and the key it is read in order of.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Ty)],
    order: &'static str,
    /// The identity column PostgreSQL assigns keys from, if any.
    identity: Option<&'static str>,
}

use Ty::{Blob, Int, Text};

const TABLES: &[Table] = &[
    Table {
        name: "tools",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("active_snapshot", Text),
            ("changed_at", Text),
            ("changed_by", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "snapshots",
        columns: &[
            ("pk", Int),
            ("id", Text),
            ("tool", Text),
            ("id_ts", Text),
            ("seq", Int),
            ("tool_version", Text),
            ("imported_at", Text),
            ("source_hash", Text),
            ("normalized_hash", Text),
            ("record_count", Int),
            ("state", Text),
            ("previous_snapshot", Text),
            ("source_uri", Text),
            ("import_user", Text),
            ("import_reason", Text),
            ("format", Text),
            ("generated_at", Text),
            ("schema_version", Text),
            ("warnings", Text),
            ("failure_reason", Text),
            ("state_changed_at", Text),
            ("stats", Text),
            ("base", Int),
        ],
        order: "pk",
        identity: Some("pk"),
    },
    Table {
        name: "records",
        columns: &[
            ("id", Int),
            ("hash", Blob),
            ("kind", Text),
            ("severity", Text),
            ("subject", Text),
            ("body", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
    Table {
        name: "snapshot_records",
        columns: &[("snapshot", Int), ("ident", Blob), ("record", Int)],
        order: "snapshot, ident",
        identity: None,
    },
    Table {
        name: "active_records",
        columns: &[("tool", Int), ("ident", Blob), ("record", Int)],
        order: "tool, ident",
        identity: None,
    },
    Table {
        name: "audit",
        columns: &[
            ("seq", Int),
            ("id", Text),
            ("event", Text),
            ("timestamp", Text),
            ("\"user\"", Text),
            ("tool", Text),
            ("snapshot_id", Text),
            ("details", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
        order: "seq",
        identity: None,
    },
    Table {
        name: "holds",
        columns: &[
            ("snapshot_id", Text),
            ("reason", Text),
            ("expires_at", Text),
            ("created_by", Text),
            ("created_at", Text),
        ],
        order: "snapshot_id",
        identity: None,
    },
    Table {
        name: "meta",
        columns: &[("key", Text), ("value", Text)],
        order: "key",
        identity: None,
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", Int),
            ("name", Text),
            ("role", Text),
            ("hash", Text),
            ("created_at", Text),
            ("created_by", Text),
            ("revoked_at", Text),
            ("revoked_by", Text),
        ],
        order: "id",
        identity: Some("id"),
    },
];

/// Rows per INSERT: at most this many, and at most [`MAX_PARAMS`]
/// parameters (well under SQLite's and PostgreSQL's limits).
const MAX_ROWS: usize = 500;
const MAX_PARAMS: usize = 8000;

/// How many rows of each table were copied.
#[derive(Serialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CopyCounts {
    pub tools: u64,
    pub snapshots: u64,
    pub records: u64,
    pub snapshot_records: u64,
    pub active_records: u64,
    pub audit_events: u64,
    pub holds: u64,
    pub meta: u64,
    pub tokens: u64,
}

impl CopyCounts {
    fn slot(&mut self, table: &str) -> &mut u64 {
        match table {
            "tools" => &mut self.tools,
            "snapshots" => &mut self.snapshots,
            "records" => &mut self.records,
            "snapshot_records" => &mut self.snapshot_records,
            "active_records" => &mut self.active_records,
            "audit" => &mut self.audit_events,
            "holds" => &mut self.holds,
            "meta" => &mut self.meta,
            _ => &mut self.tokens,
        }
    }
}

/// An owned column value, held between reading a row and writing it.
enum Val {
    Null,
    I(i64),
    T(String),
    B(Vec<u8>),
}

impl Val {
    fn v(&self) -> V<'_> {
        match self {
            Val::Null => V::Null,
            Val::I(i) => V::I(*i),
            Val::T(s) => V::T(s),
            Val::B(b) => V::B(b),
        }
    }
}

/// The tables of `db` that hold rows, with how many.
fn non_empty(db: Db<'_>) -> Result<Vec<(&'static str, i64)>> {
    let mut out = Vec::new();
    for t in TABLES {
        let n = db.one(&format!("SELECT COUNT(*) FROM {}", t.name), p![], |r| {
            r.i64(0)
        })?;
        if n > 0 {
            out.push((t.name, n));
        }
    }
    Ok(out)
}

/// Refuses a target that holds anything: a copy never merges two stores.
/// `target` names it in the error (redacted, for a URL).
pub fn ensure_empty(tx: &WriteTx<'_>, target: &str) -> Result<()> {
    let found = non_empty(tx.db())?;
    if found.is_empty() {
        return Ok(());
    }
    let what: Vec<String> = found.iter().map(|(t, n)| format!("{n} {t} rows")).collect();
    Err(StoreError::NotEmpty {
        target: target.to_string(),
        holds: what.join(", "),
    })
}

/// Copies every table of `src` into `dst` (which must be empty: see
/// [`ensure_empty`]), keys included, then moves PostgreSQL's identity
/// sequences past the copied keys so later inserts get fresh ones.
/// `progress` hears each table's name and every batch's row count.
pub fn copy_all(
    src: &impl Queries,
    dst: &WriteTx<'_>,
    progress: &mut dyn FnMut(&'static str, u64),
) -> Result<CopyCounts> {
    let mut counts = CopyCounts::default();
    for t in TABLES {
        let n = copy_table(src.db(), dst.db(), t, progress)?;
        *counts.slot(t.name) = n;
        if let (true, Some(col)) = (dst.db().is_pg(), t.identity) {
            dst.db().one(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{col}'), COALESCE(MAX({col}), 0) + 1, false) FROM {0}",
                    t.name
                ),
                p![],
                |r| r.i64(0),
            )?;
        }
    }
    Ok(counts)
}

fn read_row(r: &super::db::R<'_>, t: &Table, out: &mut Vec<Val>) -> Result<()> {
    for (i, (_, ty)) in t.columns.iter().enumerate() {
        out.push(match ty {
            Int => r.opt_i64(i)?.map_or(Val::Null, Val::I),
            Text => r.opt_str(i)?.map_or(Val::Null, |s| Val::T(s.to_string())),
            Blob => Val::B(r.blob(i)?.to_vec()),
        });
    }
    Ok(())
}

fn copy_table(
    src: Db<'_>,
    dst: Db<'_>,
    t: &Table,
    progress: &mut dyn FnMut(&'static str, u64),
) -> Result<u64> {
    let cols: Vec<&str> = t.columns.iter().map(|c| c.0).collect();
    let cols = cols.join(", ");
    let per_batch = MAX_ROWS.min(MAX_PARAMS / t.columns.len());
    let mut buf: Vec<Val> = Vec::with_capacity(per_batch * t.columns.len());
    let mut total = 0u64;
    progress(t.name, 0);
    let mut flush = |buf: &mut Vec<Val>| -> Result<()> {
        let rows = buf.len() / t.columns.len();
        if rows == 0 {
            return Ok(());
        }
        let sql = insert_sql(t.name, &cols, t.columns.len(), rows);
        let params: Vec<V<'_>> = buf.iter().map(Val::v).collect();
        dst.exec(&sql, &params)?;
        buf.clear();
        total += rows as u64;
        progress(t.name, rows as u64);
        Ok(())
    };
    src.each(
        &format!("SELECT {cols} FROM {} ORDER BY {}", t.name, t.order),
        p![],
        |r| {
            read_row(r, t, &mut buf)?;
            if buf.len() >= per_batch * t.columns.len() {
                flush(&mut buf)?;
            }
            Ok::<_, StoreError>(())
        },
    )?;
    flush(&mut buf)?;
    Ok(total)
}

/// `INSERT INTO t (cols) VALUES (?1, ?2), (?3, ?4), ...` for `rows` rows.
fn insert_sql(table: &str, cols: &str, ncols: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({cols}) VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..ncols {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("?{}", row * ncols + c + 1));
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_numbers_its_parameters_row_by_row() {
        assert_eq!(
            insert_sql("meta", "key, value", 2, 2),
            "INSERT INTO meta (key, value) VALUES (?1, ?2), (?3, ?4)"
        );
    }

    #[test]
    fn a_batch_stays_under_the_parameter_limit() {
        for t in TABLES {
            let rows = MAX_ROWS.min(MAX_PARAMS / t.columns.len());
            assert!(
                rows * t.columns.len() <= MAX_PARAMS && rows >= 200,
                "{}",
                t.name
            );
        }
    }
}
