//! Delta membership: a snapshot lists only what changed since its base.
//!
//! A daily import of a large feed changes about 1 % of it, so storing every
//! snapshot's full member list made each one cost as much as the first
//! (59 MB of a 67 MB snapshot at 1M records). Now a snapshot with a `base`
//! lists in `snapshot_records` only the identities whose record differs
//! from its base's: the new record, or record 0 (which no record has) for a
//! removal. A snapshot without a base is a checkpoint and lists every member.
//! Reading a delta snapshot overlays the deltas of its chain on the
//! checkpoint at the chain's root, newest first.
//!
//! A chain stays short and its deltas small ([`delta_base`]): a new
//! snapshot is a checkpoint when its chain would be [`MAX_DEPTH`] deltas
//! deep, or when the chain's deltas would exceed half the checkpoint's
//! members, so a read never overlays more than that. Deleting a snapshot
//! folds its delta into each child first ([`detach`]), so its children read
//! the same members as before.

use crate::domain::record::IdentKey;
use crate::store::db::{p, Db};
use crate::store::{Result, StoreError};

/// Deltas above a checkpoint, at most.
pub(super) const MAX_DEPTH: usize = 32;

/// The record id that marks an identity removed in a delta.
pub(super) const REMOVED: i64 = 0;

/// The snapshots whose rows make up one snapshot's members: its deltas,
/// newest (the snapshot itself) first, and the checkpoint under them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layers {
    pub(super) deltas: Vec<i64>,
    pub(super) checkpoint: i64,
}

fn corrupt(snapshot: i64, what: String) -> StoreError {
    StoreError::Corrupt(format!("snapshot #{snapshot}'s delta chain {what}"))
}

/// The layers of snapshot `pk`.
pub(super) fn layers(db: Db<'_>, pk: i64) -> Result<Layers> {
    let mut deltas = Vec::new();
    let mut cur = pk;
    loop {
        let base = db
            .opt("SELECT base FROM snapshots WHERE pk = ?1", p![cur], |r| {
                r.opt_i64(0)
            })?
            .ok_or_else(|| corrupt(pk, format!("names snapshot #{cur}, which is not stored")))?;
        let Some(base) = base else {
            return Ok(Layers {
                deltas,
                checkpoint: cur,
            });
        };
        deltas.push(cur);
        // Chains are kept at most MAX_DEPTH deep; a longer one (or a loop)
        // was not written by snapgov.
        if deltas.len() > MAX_DEPTH {
            return Err(corrupt(
                pk,
                format!("is over {MAX_DEPTH} deltas deep (a loop?)"),
            ));
        }
        cur = base;
    }
}

/// The deltas of `layers` folded into one, sorted by identity: for each
/// identity a delta names, the newest delta's record ([`REMOVED`] kept).
pub(super) fn overlay(db: Db<'_>, layers: &Layers) -> Result<Vec<(IdentKey, i64)>> {
    let mut rows: Vec<(IdentKey, u32, i64)> = Vec::new();
    for (rank, pk) in layers.deltas.iter().enumerate() {
        db.each(
            "SELECT ident, record FROM snapshot_records WHERE snapshot = ?1",
            p![*pk],
            |r| {
                let ident: IdentKey = r
                    .blob(0)?
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("an identity key is not 16 bytes".into()))?;
                rows.push((ident, rank as u32, r.i64(1)?));
                Ok::<_, StoreError>(())
            },
        )?;
    }
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    rows.dedup_by_key(|r| r.0);
    Ok(rows.into_iter().map(|(i, _, r)| (i, r)).collect())
}

/// Merges a checkpoint's members (pushed in identity order) with an
/// overlay, handing on the members of the snapshot on top.
pub(super) struct Overlaid<'o> {
    overlay: &'o [(IdentKey, i64)],
    at: usize,
}

impl<'o> Overlaid<'o> {
    pub(super) fn new(overlay: &'o [(IdentKey, i64)]) -> Self {
        Overlaid { overlay, at: 0 }
    }

    /// Takes the checkpoint's next member.
    pub(super) fn push(
        &mut self,
        ident: IdentKey,
        record: i64,
        f: &mut impl FnMut(IdentKey, i64) -> Result<()>,
    ) -> Result<()> {
        while let Some(&(i, r)) = self.overlay.get(self.at).filter(|o| o.0 < ident) {
            self.at += 1;
            if r != REMOVED {
                f(i, r)?;
            }
        }
        match self.overlay.get(self.at) {
            Some(&(i, r)) if i == ident => {
                self.at += 1;
                if r != REMOVED {
                    f(i, r)?;
                }
                Ok(())
            }
            _ => f(ident, record),
        }
    }

    /// After the checkpoint's last member: what the overlay adds past it.
    pub(super) fn finish(mut self, f: &mut impl FnMut(IdentKey, i64) -> Result<()>) -> Result<()> {
        while let Some(&(i, r)) = self.overlay.get(self.at) {
            self.at += 1;
            if r != REMOVED {
                f(i, r)?;
            }
        }
        Ok(())
    }

    /// The pull form of [`push`](Self::push)/[`finish`](Self::finish):
    /// the next member, given the checkpoint's stream and its peeked head.
    pub(super) fn next(
        &mut self,
        head: &mut Option<(IdentKey, i64)>,
        mut advance: impl FnMut() -> Result<Option<(IdentKey, i64)>>,
    ) -> Result<Option<(IdentKey, i64)>> {
        loop {
            let o = self.overlay.get(self.at).copied();
            let (ident, record) = match (o, *head) {
                (None, None) => return Ok(None),
                (Some((oi, or)), Some((hi, _))) if oi == hi => {
                    self.at += 1;
                    *head = advance()?;
                    (oi, or)
                }
                (Some((oi, or)), Some((hi, _))) if oi < hi => {
                    self.at += 1;
                    (oi, or)
                }
                (Some((oi, or)), None) => {
                    self.at += 1;
                    (oi, or)
                }
                (_, Some(h)) => {
                    *head = advance()?;
                    h
                }
            };
            if record != REMOVED {
                return Ok(Some((ident, record)));
            }
        }
    }
}

/// Where a new snapshot of the tool that `snapshot_pk` belongs to may store
/// its members as a delta: the tool's active snapshot (the base) and how
/// many delta rows the snapshot may have before it should be a checkpoint.
/// `None`: store a checkpoint (no active snapshot, or its chain is full).
pub(super) fn delta_base(db: Db<'_>, snapshot_pk: i64) -> Result<Option<(i64, u64)>> {
    let base = db.opt(
        "SELECT b.pk FROM snapshots s JOIN tools t ON t.name = s.tool JOIN snapshots b ON b.id = t.active_snapshot WHERE s.pk = ?1 AND b.pk <> s.pk",
        p![snapshot_pk],
        |r| r.i64(0),
    )?;
    let Some(base) = base else {
        return Ok(None);
    };
    let l = layers(db, base)?;
    if l.deltas.len() + 1 > MAX_DEPTH {
        return Ok(None);
    }
    let members = db.one(
        "SELECT record_count FROM snapshots WHERE pk = ?1",
        p![l.checkpoint],
        |r| r.i64(0),
    )?;
    let mut used = 0;
    for pk in &l.deltas {
        used += db.one(
            "SELECT count(*) FROM snapshot_records WHERE snapshot = ?1",
            p![*pk],
            |r| r.i64(0),
        )?;
    }
    let budget = members / 2 - used;
    Ok((budget > 0).then_some((base, budget as u64)))
}

/// Before snapshot `pk`'s members are deleted: folds its delta into each
/// snapshot based on it, so they read the same members from `pk`'s own
/// base (or become checkpoints if `pk` was one), and clears `pk`'s base.
pub(super) fn detach(db: Db<'_>, pk: i64) -> Result<()> {
    let base = db
        .opt("SELECT base FROM snapshots WHERE pk = ?1", p![pk], |r| {
            r.opt_i64(0)
        })?
        .flatten();
    let children = db.all(
        "SELECT pk FROM snapshots WHERE base = ?1 ORDER BY pk",
        p![pk],
        |r| r.i64(0),
    )?;
    for child in children {
        // The child's own rows win: they are newer.
        db.exec(
            "INSERT INTO snapshot_records (snapshot, ident, record) SELECT ?1, ident, record FROM snapshot_records WHERE snapshot = ?2 ON CONFLICT (snapshot, ident) DO NOTHING",
            p![child, pk],
        )?;
        db.exec(
            "UPDATE snapshots SET base = ?1 WHERE pk = ?2",
            &[base.into(), child.into()],
        )?;
        if base.is_none() {
            db.exec(
                "DELETE FROM snapshot_records WHERE snapshot = ?1 AND record = ?2",
                p![child, REMOVED],
            )?;
        }
    }
    db.exec("UPDATE snapshots SET base = NULL WHERE pk = ?1", p![pk])?;
    Ok(())
}

/// PostgreSQL: a snapshot's members as one query, for the statements that
/// join them on the server. A checkpoint is its rows; a delta snapshot's
/// rows are each identity's row from the newest layer that names it.
pub(super) fn members_sql(layers: &Layers) -> String {
    if layers.deltas.is_empty() {
        return format!(
            "SELECT ident, record FROM snapshot_records WHERE snapshot = {}",
            layers.checkpoint
        );
    }
    let all: Vec<i64> = layers
        .deltas
        .iter()
        .copied()
        .chain([layers.checkpoint])
        .collect();
    let list = all
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rank = all
        .iter()
        .enumerate()
        .map(|(i, pk)| format!("WHEN {pk} THEN {i}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "SELECT ident, record FROM (SELECT DISTINCT ON (ident) ident, record FROM snapshot_records WHERE snapshot IN ({list}) ORDER BY ident, CASE snapshot {rank} END) m WHERE record <> {REMOVED}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> IdentKey {
        [b; 16]
    }

    /// The push and pull forms give the same members: the overlay's
    /// records replace the checkpoint's, its removals drop them, and its
    /// additions fall in identity order, before, between and after.
    #[test]
    fn overlay_replaces_removes_and_adds_in_identity_order() {
        let checkpoint = [(k(2), 20), (k(4), 40), (k(6), 60), (k(8), 80)];
        let overlay = [
            (k(1), 11),
            (k(4), REMOVED),
            (k(5), 55),
            (k(6), 66),
            (k(7), REMOVED),
            (k(9), 99),
        ];
        let want = vec![
            (k(1), 11),
            (k(2), 20),
            (k(5), 55),
            (k(6), 66),
            (k(8), 80),
            (k(9), 99),
        ];
        let mut pushed = Vec::new();
        let mut f = |i, r| {
            pushed.push((i, r));
            Ok(())
        };
        let mut o = Overlaid::new(&overlay);
        for (i, r) in checkpoint {
            o.push(i, r, &mut f).unwrap();
        }
        o.finish(&mut f).unwrap();
        assert_eq!(pushed, want);

        let mut it = checkpoint.into_iter();
        let mut head = it.next();
        let mut o = Overlaid::new(&overlay);
        let mut pulled = Vec::new();
        while let Some(m) = o.next(&mut head, || Ok(it.next())).unwrap() {
            pulled.push(m);
        }
        assert_eq!(pulled, want);
    }

    /// The PostgreSQL form ranks the snapshot itself first.
    #[test]
    fn members_sql_ranks_the_newest_layer_first() {
        let l = Layers {
            deltas: vec![9, 7],
            checkpoint: 3,
        };
        let sql = members_sql(&l);
        assert!(sql.contains("IN (9, 7, 3)"), "{sql}");
        assert!(
            sql.contains("WHEN 9 THEN 0 WHEN 7 THEN 1 WHEN 3 THEN 2"),
            "{sql}"
        );
        assert_eq!(
            members_sql(&Layers {
                deltas: vec![],
                checkpoint: 3
            }),
            "SELECT ident, record FROM snapshot_records WHERE snapshot = 3"
        );
    }
}
