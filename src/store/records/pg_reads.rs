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

/// A side's members as a query (keys are integers the store made, so
/// written into the text: `COPY` takes no parameters).
fn members_sql(side: DiffSide) -> String {
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
    let sql = format!(
        "SELECT coalesce(a.ident, b.ident) AS ident, a.record, b.record FROM ({from}) a FULL JOIN ({to}) b ON a.ident = b.ident WHERE a.record IS DISTINCT FROM b.record ORDER BY 1"
    );
    pg.each(&sql, p![], |r| {
        f(DiffEntry {
            ident: ident(r.try_get(0)?)?,
            old: r.try_get(1)?,
            new: r.try_get(2)?,
        })
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

/// Streams the records with ids in `lo..=hi`, in id order.
pub(super) fn records(
    pg: &PgConn,
    (lo, hi): (i64, i64),
    mut f: impl FnMut(&RecordRow<'_>) -> Result<()>,
) -> Result<()> {
    pg.copy_out(
        &format!("SELECT id, hash, kind, severity, subject, body FROM records WHERE id BETWEEN {lo} AND {hi} ORDER BY id"),
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
