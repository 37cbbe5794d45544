//! A side's members in identity order (a snapshot's through its delta
//! chain), and the diff between two sides.

use super::chain::{self, Layers, Overlaid};
use super::reads::{DiffEntry, DiffSide};
use crate::domain::record::IdentKey;
use crate::store::db::{p, Db, R};
use crate::store::{Result, StoreError};

/// Streams a side's (identity key, record id) pairs in identity order: a
/// snapshot's through its delta chain ([`chain`]). On PostgreSQL `f` must
/// not query (the pairs come through `COPY`).
pub(super) fn stream_members(
    db: Db<'_>,
    side: DiffSide,
    mut f: impl FnMut(IdentKey, i64) -> Result<()>,
) -> Result<()> {
    let (side, overlay) = match side {
        DiffSide::Snapshot(pk) => {
            let l = chain::layers(db, pk)?;
            let overlay = chain::overlay(db, &l)?;
            (DiffSide::Snapshot(l.checkpoint), overlay)
        }
        active => (active, Vec::new()),
    };
    let mut o = Overlaid::new(&overlay);
    let mut each = |ident, rid| o.push(ident, rid, &mut f);
    if let Some(pg) = db.pg() {
        super::pg_reads::members(pg, side, &mut each)?;
    } else {
        let (sql, key) = members_query(side);
        db.each(sql, p![key], |r| {
            let (ident, rid) = member(r)?;
            each(ident, rid)
        })?;
    }
    o.finish(&mut f)
}

/// The query of a side's (identity key, record id) pairs in identity order.
fn members_query(side: DiffSide) -> (&'static str, i64) {
    match side {
        DiffSide::Snapshot(pk) => (
            "SELECT ident, record FROM snapshot_records WHERE snapshot = ?1 ORDER BY ident",
            pk,
        ),
        DiffSide::Active(t) => (
            "SELECT ident, record FROM active_records WHERE tool = ?1 ORDER BY ident",
            t,
        ),
    }
}

/// A side's layers: a snapshot's delta chain; `None` for active data.
fn side_layers(db: Db<'_>, side: DiffSide) -> Result<Option<Layers>> {
    match side {
        DiffSide::Snapshot(pk) => chain::layers(db, pk).map(Some),
        DiffSide::Active(_) => Ok(None),
    }
}

/// PostgreSQL: a side's members as one query, through its delta chain.
pub(super) fn side_query(db: Db<'_>, side: DiffSide) -> Result<String> {
    Ok(side_sql(side, &side_layers(db, side)?))
}

/// PostgreSQL: a side's members as a query.
fn side_sql(side: DiffSide, layers: &Option<Layers>) -> String {
    match (side, layers) {
        (DiffSide::Active(t), _) => {
            format!("SELECT ident, record FROM active_records WHERE tool = {t}")
        }
        (DiffSide::Snapshot(_), Some(l)) => chain::members_sql(l),
        (DiffSide::Snapshot(pk), None) => {
            format!("SELECT ident, record FROM snapshot_records WHERE snapshot = {pk}")
        }
    }
}

/// Identities a chain's deltas name, with their newest record.
type Overlay = Vec<(IdentKey, i64)>;

/// SQLite: a side's base query (its checkpoint's, for a snapshot), key and
/// overlay.
fn side_parts(db: Db<'_>, side: DiffSide) -> Result<(&'static str, i64, Overlay)> {
    match side_layers(db, side)? {
        Some(l) => {
            let overlay = chain::overlay(db, &l)?;
            let (sql, key) = members_query(DiffSide::Snapshot(l.checkpoint));
            Ok((sql, key, overlay))
        }
        None => {
            let (sql, key) = members_query(side);
            Ok((sql, key, Vec::new()))
        }
    }
}

fn member(r: &R<'_>) -> Result<(IdentKey, i64)> {
    let ident: IdentKey = r
        .blob(0)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("an identity key is not 16 bytes".into()))?;
    Ok((ident, r.i64(1)?))
}

/// The next (identity key, record id) pair of a [`members_query`].
fn next_member(rows: &mut rusqlite::Rows<'_>) -> Result<Option<(IdentKey, i64)>> {
    match rows.next()? {
        Some(r) => member(&R::Lite(r)).map(Some),
        None => Ok(None),
    }
}

/// A side's (identity, record) pairs, in identity order.
type Members = Vec<(IdentKey, i64)>;

/// Two snapshots over one checkpoint differ only where their chains'
/// deltas do: each side's members among the identities either chain's
/// deltas name (every other member is the checkpoint's, the same on both
/// sides). A daily import's delta is about 1 % of the members, so the diff
/// reads that instead of joining two full sides (1.8 s at 1M on
/// PostgreSQL). `None` where the sides are not two snapshots over one
/// checkpoint, or their deltas are too large for this to pay.
fn over_one_checkpoint(
    db: Db<'_>,
    from: DiffSide,
    to: DiffSide,
) -> Result<Option<(Members, Members)>> {
    let (DiffSide::Snapshot(a), DiffSide::Snapshot(b)) = (from, to) else {
        return Ok(None);
    };
    let (la, lb) = (chain::layers(db, a)?, chain::layers(db, b)?);
    if la.checkpoint != lb.checkpoint || (la.deltas.is_empty() && lb.deltas.is_empty()) {
        return Ok(None);
    }
    // Only a cost estimate: a wrong count changes the path, not the diff.
    let members: i64 = db.one(
        "SELECT record_count FROM snapshots WHERE pk = ?1",
        p![la.checkpoint],
        |r| r.i64(0),
    )?;
    let (oa, ob) = (chain::overlay(db, &la)?, chain::overlay(db, &lb)?);
    // Each identity costs a lookup here against a row of a join there.
    if (oa.len() + ob.len()) as i64 > members / 4 {
        return Ok(None);
    }
    let mut named: Vec<IdentKey> = oa.iter().chain(&ob).map(|m| m.0).collect();
    named.sort_unstable();
    named.dedup();
    let under = checkpoint_members(db, la.checkpoint, &named)?;
    let side = |overlay: &[(IdentKey, i64)]| -> Vec<(IdentKey, i64)> {
        let (mut o, mut u) = (overlay.iter().peekable(), under.iter().peekable());
        let mut out = Vec::with_capacity(named.len());
        for ident in &named {
            while o.peek().is_some_and(|m| m.0 < *ident) {
                o.next();
            }
            while u.peek().is_some_and(|m| m.0 < *ident) {
                u.next();
            }
            let rec = match o.peek().filter(|m| m.0 == *ident) {
                Some(m) => Some(m.1).filter(|&r| r != chain::REMOVED),
                None => u.peek().filter(|m| m.0 == *ident).map(|m| m.1),
            };
            if let Some(rec) = rec {
                out.push((*ident, rec));
            }
        }
        out
    };
    Ok(Some((side(&oa), side(&ob))))
}

/// The checkpoint's members among `idents` (sorted), in identity order.
fn checkpoint_members(
    db: Db<'_>,
    checkpoint: i64,
    idents: &[IdentKey],
) -> Result<Vec<(IdentKey, i64)>> {
    let mut out = Vec::new();
    if let Some(pg) = db.pg() {
        for chunk in idents.chunks(4096) {
            let keys: Vec<&[u8]> = chunk.iter().map(|k| &k[..]).collect();
            pg.with_client(|c| {
                for r in c.query(
                    "SELECT ident, record FROM snapshot_records WHERE snapshot = $1 AND ident = ANY($2)",
                    &[&checkpoint, &keys],
                )? {
                    out.push(member(&R::Pg(&r))?);
                }
                Ok(())
            })?;
        }
        out.sort_unstable_by_key(|m| m.0);
        return Ok(out);
    }
    for ident in idents {
        let rec = db.opt(
            "SELECT record FROM snapshot_records WHERE snapshot = ?1 AND ident = ?2",
            p![checkpoint, &ident[..]],
            |r| r.i64(0),
        )?;
        out.extend(rec.map(|r| (*ident, r)));
    }
    Ok(out)
}

/// Streams, in identity order, every identity whose record differs
/// between two sides.
pub(super) fn diff_sides(
    db: Db<'_>,
    from: DiffSide,
    to: DiffSide,
    f: impl FnMut(DiffEntry) -> Result<()>,
) -> Result<()> {
    if let Some((a, b)) = over_one_checkpoint(db, from, to)? {
        return merge_slices(&a, &b, f);
    }
    let Some(conn) = db.lite() else {
        let pg = db.pg().expect("one of two engines");
        let (a, b) = (side_layers(db, from)?, side_layers(db, to)?);
        return super::pg_reads::diff(pg, side_sql(from, &a), side_sql(to, &b), f);
    };
    let (qb, kb, ob) = side_parts(db, to)?;
    let mut sb = conn.prepare(qb)?;
    let mut rb = sb.query([kb])?;
    let mut hb = next_member(&mut rb)?;
    let mut mb = Overlaid::new(&ob);
    diff_lite(db, from, || mb.next(&mut hb, || next_member(&mut rb)), f)
}

/// SQLite: merges side `from`, read here, with the "to" side's members
/// that `next_b` gives in identity order.
fn diff_lite(
    db: Db<'_>,
    from: DiffSide,
    next_b: impl FnMut() -> Result<Option<(IdentKey, i64)>>,
    f: impl FnMut(DiffEntry) -> Result<()>,
) -> Result<()> {
    let conn = db.lite().expect("SQLite's diff");
    let (qa, ka, oa) = side_parts(db, from)?;
    let mut sa = conn.prepare(qa)?;
    let mut ra = sa.query([ka])?;
    let mut ha = next_member(&mut ra)?;
    let mut ma = Overlaid::new(&oa);
    merge_sides(|| ma.next(&mut ha, || next_member(&mut ra)), next_b, f)
}

/// [`diff_sides`], each entry with its record's kind and severity (the new
/// record, or the removed one): on PostgreSQL in the diff's own statement.
pub(super) fn diff_sides_meta(
    db: Db<'_>,
    from: DiffSide,
    to: DiffSide,
    f: impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()>,
) -> Result<()> {
    if let Some((a, b)) = over_one_checkpoint(db, from, to)? {
        return match db.pg() {
            Some(pg) => super::pg_reads::diff_meta_read(pg, &a, &b, f),
            None => merge_slices(&a, &b, with_meta(db, f)),
        };
    }
    if let Some(pg) = db.pg() {
        let (a, b) = (side_layers(db, from)?, side_layers(db, to)?);
        return super::pg_reads::diff_meta(pg, side_sql(from, &a), side_sql(to, &b), f);
    }
    diff_sides(db, from, to, with_meta(db, f))
}

/// SQLite: [`diff_sides`] to a side whose members (`to`, in identity
/// order) were read already: only `from` is read.
pub(super) fn diff_to_read(
    db: Db<'_>,
    from: DiffSide,
    to: &[(IdentKey, i64)],
    f: impl FnMut(DiffEntry) -> Result<()>,
) -> Result<()> {
    let mut b = to.iter().copied();
    diff_lite(db, from, || Ok(b.next()), f)
}

/// SQLite: [`diff_sides_meta`] to a side whose members (`to`, in identity
/// order) were read already: only `from` is read.
pub(super) fn diff_to_read_meta(
    db: Db<'_>,
    from: DiffSide,
    to: &[(IdentKey, i64)],
    f: impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()>,
) -> Result<()> {
    diff_to_read(db, from, to, with_meta(db, f))
}

/// SQLite: `f` given each entry with its record's kind and severity.
fn with_meta<'a>(
    db: Db<'a>,
    mut f: impl FnMut(DiffEntry, &str, Option<&str>) -> Result<()> + 'a,
) -> impl FnMut(DiffEntry) -> Result<()> + 'a {
    move |e| {
        let Some(id) = e.new.or(e.old) else {
            return Ok(());
        };
        db.one(
            "SELECT kind, severity FROM records WHERE id = ?1",
            p![id],
            |r| f(e, r.str(0)?, r.opt_str(1)?),
        )
    }
}

/// Differences a restore holds in memory and writes one by one, at most.
/// Past this many, memory would grow with the feed, so the work is left to
/// set-based SQL instead.
pub(super) const CHANGES_CAP: usize = 250_000;

/// The differences `diff` hands on, kept; `None` once there are more than
/// [`CHANGES_CAP`] (`diff` is then stopped).
pub(super) fn changes_within_cap(
    diff: impl FnOnce(&mut dyn FnMut(DiffEntry) -> Result<()>) -> Result<()>,
) -> Result<Option<Vec<DiffEntry>>> {
    let mut changes = Vec::new();
    let mut over = false;
    let r = diff(&mut |e| {
        if changes.len() >= CHANGES_CAP {
            over = true;
            return Err(StoreError::Limit("diff over the in-memory cap".into()));
        }
        changes.push(e);
        Ok(())
    });
    if over {
        return Ok(None);
    }
    r.map(|()| Some(changes))
}

/// [`merge_sides`] of two sides held in memory, each in identity order.
pub(super) fn merge_slices(
    a: &[(IdentKey, i64)],
    b: &[(IdentKey, i64)],
    f: impl FnMut(DiffEntry) -> Result<()>,
) -> Result<()> {
    let (mut ia, mut ib) = (a.iter().copied(), b.iter().copied());
    merge_sides(|| Ok(ia.next()), || Ok(ib.next()), f)
}

/// Merges two sides' (identity, record) streams, both in identity order,
/// handing `f` every identity whose record differs.
fn merge_sides(
    mut next_a: impl FnMut() -> Result<Option<(IdentKey, i64)>>,
    mut next_b: impl FnMut() -> Result<Option<(IdentKey, i64)>>,
    mut f: impl FnMut(DiffEntry) -> Result<()>,
) -> Result<()> {
    let mut a = next_a()?;
    let mut b = next_b()?;
    loop {
        // The smaller identity goes first; on a tie both sides move on.
        let (ident, old, new) = match (a, b) {
            (None, None) => return Ok(()),
            (Some((ia, x)), Some((ib, y))) if ia == ib => (ia, Some(x), Some(y)),
            (Some((ia, x)), Some((ib, _))) if ia < ib => (ia, Some(x), None),
            (Some((ia, x)), None) => (ia, Some(x), None),
            (_, Some((ib, y))) => (ib, None, Some(y)),
        };
        if old.is_some() {
            a = next_a()?;
        }
        if new.is_some() {
            b = next_b()?;
        }
        if old != new {
            f(DiffEntry { ident, old, new })?;
        }
    }
}
