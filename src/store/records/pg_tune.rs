//! Keeping PostgreSQL's planner right about bulk-written tables, and the
//! set-based restore of a tool's active data.
//!
//! PostgreSQL plans from statistics that only `ANALYZE` gathers (the
//! server's autovacuum may be off, and is in any case minutes late). A
//! table loaded in the same transaction, or a new snapshot's members (a key
//! value the statistics have never seen), is estimated at a few thousand
//! rows, and the joins over it become nested loops with an index probe a
//! row: a 1M-member restore took 6 s in one such `DELETE` instead of 1.5 s.
//! `ANALYZE` samples 30,000 rows whatever the table's size (0.2 to 0.4 s
//! on a 1M-row table), so it runs only after writes large enough to need
//! it.
//!
//! The session's work tables (`snapgov_incoming`, `snapgov_delta`,
//! `snapgov_restore`) are `ON COMMIT DELETE ROWS`: the commit empties them
//! in place. A `TRUNCATE` gives the table (and its index) a new file and
//! rewrites its catalog rows, several times an import, and each of those
//! catalog changes invalidates every cached plan of the session (seeding
//! 3,000 small snapshots: 62 imports/s with `TRUNCATE`, 90 without). Each
//! use starts with a `DELETE`, which finds the table empty unless the same
//! transaction used it before.

use super::pg_reads::{big_work_mem, diff_sql};
use super::reads::DiffEntry;
use crate::store::db::p;
use crate::store::pg::PgConn;
use crate::store::Result;

/// Rows written below which statistics are left as they are: a plan that
/// probes an index per row costs less than `ANALYZE` itself for so few.
pub(super) const ANALYZE_AFTER: u64 = 10_000;

/// After `written` rows went into `table` under one key value (a
/// snapshot's members, a tool's active data): the value is new to the
/// statistics however large the table is, so a large write always
/// refreshes them.
pub(super) fn analyze_new_key(pg: &PgConn, table: &str, written: u64) -> Result<()> {
    if written < ANALYZE_AFTER {
        return Ok(());
    }
    pg.batch(&format!("ANALYZE {table}"))
}

/// After `written` rows were added to `table` (the records): as
/// autovacuum would, only once it grew by a tenth since it was last
/// analyzed, or if it never was.
pub(super) fn analyze_grown(pg: &PgConn, table: &str, written: u64) -> Result<()> {
    if written < ANALYZE_AFTER {
        return Ok(());
    }
    let rows: f64 = pg
        .query(
            "SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass(?1)",
            p![table],
        )?
        .first()
        .map_or(-1.0, |r| r.get(0));
    // -1: never analyzed; else the rows counted when it last was.
    if rows >= 0.0 && (written as f64) < 0.1 * rows {
        return Ok(());
    }
    pg.batch(&format!("ANALYZE {table}"))
}

/// Rows a load into an empty table must bring for the table's indexes to
/// be dropped during the load and built again after it (fewer are cheaper
/// to index as they come).
pub(super) const DEFER_FROM: u64 = 10_000;

/// Indexes of a table that a load into it while it is empty leaves to
/// one sort at the end. PostgreSQL inserts each row into each index as it
/// goes, a descent of the tree a row: at 1M rows a store's first import
/// spent 9.3 s copying into `records` (the unique index on the hash), 5 s
/// on the members and 4 s on the active data. Without the indexes the same
/// loads take a quarter of that, and building them from the loaded table
/// about 0.3 to 0.8 s each (as `pg_restore` builds them after the data).
pub(super) struct Deferred {
    table: &'static str,
    drop: &'static str,
    build: &'static str,
}

pub(super) const RECORDS_BY_HASH: Deferred = Deferred {
    table: "records",
    drop: "ALTER TABLE records DROP CONSTRAINT records_hash_key",
    build: "ALTER TABLE records ADD CONSTRAINT records_hash_key UNIQUE (hash)",
};
pub(super) const MEMBERS_KEYS: Deferred = Deferred {
    table: "snapshot_records",
    drop: "ALTER TABLE snapshot_records DROP CONSTRAINT snapshot_records_pkey; DROP INDEX snapshot_records_by_record",
    build: "ALTER TABLE snapshot_records ADD CONSTRAINT snapshot_records_pkey PRIMARY KEY (snapshot, ident); CREATE INDEX snapshot_records_by_record ON snapshot_records (record)",
};
pub(super) const ACTIVE_KEY: Deferred = Deferred {
    table: "active_records",
    drop: "ALTER TABLE active_records DROP CONSTRAINT active_records_pkey",
    build:
        "ALTER TABLE active_records ADD CONSTRAINT active_records_pkey PRIMARY KEY (tool, ident)",
};

/// How long dropping the indexes waits for readers on other connections
/// (an open console's read holds the table) before the load goes ahead
/// with the indexes in place.
const DEFER_LOCK_WAIT: &str = "1s";

/// Drops `d`'s indexes if its table is empty and `big` says the load will
/// bring at least [`DEFER_FROM`] rows (asked only of an empty table); then
/// the caller loads it and calls [`build`] in the same transaction (a
/// failed or killed import rolls the drop back with everything else).
/// Returns whether it dropped them: not when the table has rows, nor when
/// another connection's read holds the table past [`DEFER_LOCK_WAIT`]
/// (dropping waits for every reader of the table, and each reader that
/// comes after waits for the drop).
pub(super) fn defer(pg: &PgConn, d: &Deferred, big: impl FnOnce() -> Result<bool>) -> Result<bool> {
    let empty = pg
        .query(
            &format!("SELECT NOT EXISTS (SELECT 1 FROM {})", d.table),
            p![],
        )?
        .first()
        .is_some_and(|r| r.get::<_, bool>(0));
    if !empty || !big()? {
        return Ok(false);
    }
    let wait: String = pg
        .query("SELECT current_setting('lock_timeout')", p![])?
        .first()
        .map_or_else(|| "0".into(), |r| r.get(0));
    pg.batch("SAVEPOINT snapgov_defer")?;
    let dropped = pg.batch(&format!(
        "SET LOCAL lock_timeout = '{DEFER_LOCK_WAIT}'; {}",
        d.drop
    ));
    if dropped.is_err() {
        // Also undoes the `SET LOCAL`.
        pg.batch("ROLLBACK TO SAVEPOINT snapgov_defer; RELEASE SAVEPOINT snapgov_defer")?;
        return Ok(false);
    }
    pg.query(
        "SELECT set_config('lock_timeout', ?1, true)",
        p![wait.as_str()],
    )?;
    pg.batch("RELEASE SAVEPOINT snapgov_defer")?;
    Ok(true)
}

/// Builds again the indexes [`defer`] dropped.
pub(super) fn build(pg: &PgConn, d: &Deferred) -> Result<()> {
    pg.batch(d.build)
}

/// Runs `load` into `d`'s table, its indexes dropped for it where
/// [`defer`] allows and built again after.
pub(super) fn load_deferred<T>(
    pg: &PgConn,
    d: &Deferred,
    big: impl FnOnce() -> Result<bool>,
    load: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let deferred = defer(pg, d, big)?;
    let out = load()?;
    if deferred {
        build(pg, d)?;
    }
    Ok(out)
}

/// Makes the active data of `tool_key` (the `from` side) equal to the `to`
/// side. The differences are found by one join of the two sides into a
/// temporary table (about 1 % of the rows on a daily import), and only
/// those rows are deleted or written, each found through the primary key.
/// (Two statements each joining both sides cost twice the join.) Returns
/// how many records were added, removed or replaced.
pub(super) fn apply_diff(pg: &PgConn, tool_key: i64, from: &str, to: &str) -> Result<u64> {
    big_work_mem(pg)?;
    let empty = pg
        .query(
            "SELECT NOT EXISTS (SELECT 1 FROM active_records WHERE tool = ?1)",
            p![tool_key],
        )?
        .first()
        .is_some_and(|r| r.get::<_, bool>(0));
    if empty {
        // A first import: everything is new, there is nothing to join.
        // The side's key is in the text (as everywhere in `pg_reads`), so
        // the statement is not kept prepared: one per snapshot would pile
        // up on the connection.
        let count = format!(
            "SELECT count(*) >= {DEFER_FROM} FROM (SELECT 1 FROM ({to}) m LIMIT {DEFER_FROM}) n"
        );
        let big = || pg.with_client(|c| Ok(c.query_one(count.as_str(), &[])?.get(0)));
        let sql = format!(
            "INSERT INTO active_records (tool, ident, record) SELECT $1, m.ident, m.record FROM ({to}) m"
        );
        return load_deferred(pg, &ACTIVE_KEY, big, || {
            pg.with_client(|c| Ok(c.execute(sql.as_str(), &[&tool_key])?))
        });
    }
    pg.batch(&format!(
        "{RESTORE_TABLE} INSERT INTO snapgov_restore (ident, record) SELECT ident, new FROM ({}) d",
        diff_sql(from, to)
    ))?;
    apply_restore_table(pg, tool_key)
}

/// The work table of the differences a restore writes (see the module's
/// notes), emptied for this use.
const RESTORE_TABLE: &str = "CREATE TEMP TABLE IF NOT EXISTS snapgov_restore (ident BYTEA NOT NULL, record BIGINT) ON COMMIT DELETE ROWS; DELETE FROM snapgov_restore;";

/// As [`apply_diff`], where the differences were found here (the rollback
/// merges the active data with the target's members its verification
/// read): they go to the server in one `COPY`, and the server reads
/// neither side again.
pub(super) fn apply_changes(pg: &PgConn, tool_key: i64, changes: &[DiffEntry]) -> Result<u64> {
    use postgres::binary_copy::BinaryCopyInWriter;
    use postgres::types::Type;
    pg.batch(RESTORE_TABLE)?;
    pg.with_client(|c| {
        let sink = c.copy_in("COPY snapgov_restore (ident, record) FROM STDIN (FORMAT binary)")?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::BYTEA, Type::INT8]);
        for c in changes {
            w.write(&[&&c.ident[..], &c.new])?;
        }
        w.finish()?;
        Ok(())
    })?;
    apply_restore_table(pg, tool_key)
}

/// Deletes and writes the active data's rows `snapgov_restore` names (a
/// `NULL` record: removed).
fn apply_restore_table(pg: &PgConn, tool_key: i64) -> Result<u64> {
    let removed = pg.exec(
        "DELETE FROM active_records a USING snapgov_restore d WHERE a.tool = ?1 AND a.ident = d.ident AND d.record IS NULL",
        p![tool_key],
    )?;
    let written = pg.exec(
        "INSERT INTO active_records (tool, ident, record) SELECT ?1, ident, record FROM snapgov_restore WHERE record IS NOT NULL ON CONFLICT (tool, ident) DO UPDATE SET record = excluded.record",
        p![tool_key],
    )?;
    // Emptied in place by the commit (see the module's notes); a second
    // use in this transaction starts with its `DELETE`.
    Ok(removed + written)
}
