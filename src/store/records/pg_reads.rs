//! PostgreSQL's bulk reads: a side's members and the bodies a re-hash
//! reads stream through binary `COPY ... TO STDOUT` (the server sends while
//! the client hashes, with no round trip per batch), and the diff is a
//! merge join on the server that sends only the identities that differ.

use super::reads::{DiffEntry, DiffSide};
use crate::domain::record::IdentKey;
use crate::store::db::p;
use crate::store::pg::PgConn;
use crate::store::{Result, StoreError};
use postgres::types::Type;

fn ident(b: &[u8]) -> Result<IdentKey> {
    b.try_into()
        .map_err(|_| StoreError::Corrupt("an identity key is not 16 bytes".into()))
}

/// A side's own rows as a query (keys are integers the store made, so
/// written into the text: `COPY` takes no parameters). A delta snapshot's
/// members need its chain: `members::side_query` gives the query for any
/// side.
pub(super) fn members_sql(side: DiffSide) -> String {
    match side {
        DiffSide::Snapshot(pk) => {
            format!("SELECT ident, record FROM snapshot_records WHERE snapshot = {pk}")
        }
        DiffSide::Active(t) => format!("SELECT ident, record FROM active_records WHERE tool = {t}"),
    }
}

/// Streams a side's own rows, (identity key, record id), in identity order
/// (a delta snapshot's are only its delta: see `reads::stream_members`).
pub(super) fn members(
    pg: &PgConn,
    side: DiffSide,
    mut f: impl FnMut(IdentKey, i64) -> Result<()>,
) -> Result<()> {
    pg.copy_out(
        &format!("{} ORDER BY ident", members_sql(side)),
        &[Type::BYTEA, Type::INT8],
        |r| f(ident(r.try_get(0)?)?, r.try_get(1)?),
    )
}

/// Streams, in identity order, every identity whose record differs
/// between two sides, each given as a query of its members.
pub(super) fn diff(
    pg: &PgConn,
    from: String,
    to: String,
    mut f: impl FnMut(DiffEntry) -> Result<()>,
) -> Result<()> {
    big_work_mem(pg)?;
    let sql = format!("{} ORDER BY 1", diff_sql(&from, &to));
    pg.each(&sql, p![], |r| {
        f(DiffEntry {
            ident: ident(r.try_get(0)?)?,
            old: r.try_get(1)?,
            new: r.try_get(2)?,
        })
    })
}

/// [`diff`], each entry with its record's kind and severity, looked up in
/// the same statement.
pub(super) fn diff_meta(
    pg: &PgConn,
    from: String,
    to: String,
    mut f: impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()>,
) -> Result<()> {
    big_work_mem(pg)?;
    let sql = format!(
        "SELECT d.ident, d.old, d.new, r.kind, r.severity FROM ({}) d LEFT JOIN records r ON r.id = coalesce(d.new, d.old) ORDER BY 1",
        diff_sql(&from, &to)
    );
    pg.each(&sql, p![], |r| {
        let e = DiffEntry {
            ident: ident(r.try_get(0)?)?,
            old: r.try_get(1)?,
            new: r.try_get(2)?,
        };
        // A member whose record row is gone is corruption, not a skip.
        let kind: Option<&str> = r.try_get(3)?;
        let Some(kind) = kind else {
            return Err(StoreError::Corrupt(format!(
                "record {} has no row",
                e.new.or(e.old).unwrap_or_default()
            )));
        };
        f(e, kind, r.try_get(4)?)
    })
}

/// The identities whose record differs between two sides, in no order:
/// (identity, record on the "from" side, record on the "to" side).
/// Each side is given as a query of its members ([`members_sql`], or a
/// delta snapshot's `chain::members_sql`).
pub(super) fn diff_sql(from: &str, to: &str) -> String {
    format!(
        "SELECT coalesce(a.ident, b.ident) AS ident, a.record AS old, b.record AS new FROM ({from}) a FULL JOIN ({to}) b ON a.ident = b.ident WHERE a.record IS DISTINCT FROM b.record"
    )
}

/// Lets the rest of the transaction's joins and sorts over whole sides
/// work in memory: with the default 4 MB, the hash of a 1M-member side
/// spills to disk in 16 batches. One connection runs one statement at a
/// time, so this bounds its memory to a few such nodes.
pub(super) fn big_work_mem(pg: &PgConn) -> Result<()> {
    // Outside a transaction (the read then makes its own) it would only
    // draw a warning.
    if !pg.in_transaction() {
        return Ok(());
    }
    pg.batch("SET LOCAL work_mem = '64MB'")
}

/// Streams a side's (identity key, record id) pairs in storage order, for
/// readers that sort them their own way: the server's ordered read is an
/// index scan that visits the table at random, several times slower than
/// reading it through.
pub(super) fn members_any_order(
    pg: &PgConn,
    members: &str,
    mut f: impl FnMut(IdentKey, i64) -> Result<()>,
) -> Result<()> {
    pg.copy_out(members, &[Type::BYTEA, Type::INT8], |r| {
        f(ident(r.try_get(0)?)?, r.try_get(1)?)
    })
}

/// One stored record, borrowed from the row.
pub(super) struct RecordRow<'a> {
    pub(super) id: i64,
    pub(super) hash: &'a [u8],
    pub(super) kind: &'a str,
    pub(super) severity: Option<&'a str>,
    pub(super) subject: &'a str,
    pub(super) body: &'a str,
}

/// Which records [`records`] reads.
pub(super) enum Ids<'a> {
    /// Every id in `lo..=hi`.
    Range(i64, i64),
    /// These ids (sorted or not; repeats are read once).
    Listed(&'a [i64]),
}

/// Streams the records `ids` names, in id order.
pub(super) fn records(
    pg: &PgConn,
    ids: Ids<'_>,
    mut f: impl FnMut(&RecordRow<'_>) -> Result<()>,
) -> Result<()> {
    // Ids are integers the store made, written into the text (`COPY`
    // takes no parameters).
    let filter = match ids {
        Ids::Range(lo, hi) => format!("id BETWEEN {lo} AND {hi}"),
        Ids::Listed(ids) => {
            let list: Vec<String> = ids.iter().map(i64::to_string).collect();
            format!("id = ANY('{{{}}}'::bigint[])", list.join(","))
        }
    };
    pg.copy_out(
        &format!("SELECT id, hash, kind, severity, subject, body FROM records WHERE {filter} ORDER BY id"),
        &[Type::INT8, Type::BYTEA, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
        |r| {
            f(&RecordRow {
                id: r.try_get(0)?,
                hash: r.try_get(1)?,
                kind: r.try_get(2)?,
                severity: r.try_get(3)?,
                subject: r.try_get(4)?,
                body: r.try_get(5)?,
            })
        },
    )
}

/// Differing records looked up at once by [`diff_meta_read`].
const META_CHUNK: usize = 4096;

/// [`diff_meta`] of two sides whose members (each in identity order) were
/// read already (the dry run's: the target's by its verification): the
/// merge runs here, and the kind and severity of the records that differ
/// are looked up a few thousand at a time. The server then reads one side
/// once instead of joining two (1.4 s of a 1M dry run).
pub(super) fn diff_meta_read(
    pg: &PgConn,
    from: &[(IdentKey, i64)],
    to: &[(IdentKey, i64)],
    mut f: impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()>,
) -> Result<()> {
    let mut pending: Vec<DiffEntry> = Vec::with_capacity(META_CHUNK);
    super::members::merge_slices(from, to, |e| {
        pending.push(e);
        if pending.len() >= META_CHUNK {
            with_meta(pg, &mut pending, &mut f)?;
        }
        Ok(())
    })?;
    with_meta(pg, &mut pending, &mut f)
}

/// Hands `f` each of `entries` with its record's kind and severity, in
/// order, and empties `entries`.
fn with_meta(
    pg: &PgConn,
    entries: &mut Vec<DiffEntry>,
    f: &mut impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()>,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = entries
        .iter()
        .filter_map(|e| e.new.or(e.old))
        .map(|id| id.to_string())
        .collect();
    let mut meta: std::collections::HashMap<i64, (String, Option<String>)> =
        std::collections::HashMap::with_capacity(ids.len());
    // Ids are integers the store made, written into the text as in
    // [`records`].
    pg.each(
        &format!(
            "SELECT id, kind, severity FROM records WHERE id = ANY('{{{}}}'::bigint[])",
            ids.join(",")
        ),
        p![],
        |r| {
            meta.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
            Ok::<_, StoreError>(())
        },
    )?;
    for e in entries.drain(..) {
        let Some(id) = e.new.or(e.old) else {
            continue;
        };
        // A member whose record row is gone is corruption, not a skip.
        let Some((kind, severity)) = meta.get(&id) else {
            return Err(StoreError::Corrupt(format!("record {id} has no row")));
        };
        f(e, kind, severity.as_deref())?;
    }
    Ok(())
}
