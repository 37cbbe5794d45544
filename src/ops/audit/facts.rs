//! Checks the other facts the trail records: tokens and holds.

use super::replay::Replay;
use crate::domain::time::fmt_ts;
use crate::ops::Result;
use crate::store::prelude::*;
use chrono::{DateTime, Utc};

/// Every token row must be one the trail created (same name, role,
/// fingerprint, time and user), revoked exactly when and by whom the trail
/// says; every token the trail created must still be there.
pub(super) fn check_tokens(
    store: &impl Queries,
    rp: &Replay,
    purged_before: &impl Fn(DateTime<Utc>) -> bool,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let rows = store.tokens()?;
    let mut created_used = vec![false; rp.tokens_created.len()];
    let mut revoked_used = vec![false; rp.tokens_revoked.len()];
    for t in &rows {
        let fp: String = t.hash.chars().take(15).collect();
        let created = rp.tokens_created.iter().enumerate().position(|(i, c)| {
            !created_used[i]
                && c.0 == t.name
                && c.1 == t.role
                && c.2 == fp
                && c.3 == t.created_at
                && c.4 == t.created_by
        });
        match created {
            Some(i) => created_used[i] = true,
            None if purged_before(t.created_at) => {}
            None => problems.push(format!(
                "token {}: no token_created record in the audit trail matches it (role {}, fingerprint {fp}, created {} by {}): it was inserted or altered outside snapgov",
                t.name,
                t.role,
                fmt_ts(t.created_at),
                t.created_by
            )),
        }
        if let Some(at) = t.revoked_at {
            let revoked = rp.tokens_revoked.iter().enumerate().position(|(i, r)| {
                !revoked_used[i]
                    && r.0 == t.name
                    && r.1 == at
                    && Some(&r.2) == t.revoked_by.as_ref()
            });
            match revoked {
                Some(i) => revoked_used[i] = true,
                None if purged_before(at) => {}
                None => problems.push(format!(
                    "token {}: revoked at {} in the store, but no token_revoked record in the audit trail says so",
                    t.name,
                    fmt_ts(at)
                )),
            }
        }
    }
    for (i, c) in rp.tokens_created.iter().enumerate() {
        if !created_used[i] && !rows.iter().any(|t| t.name == c.0 && t.created_at == c.3) {
            problems.push(format!(
                "token {}: created in {} but missing from the store: it was deleted outside snapgov",
                c.0, c.5
            ));
        }
    }
    for (i, r) in rp.tokens_revoked.iter().enumerate() {
        if !revoked_used[i] {
            problems.push(format!(
                "token {}: revoked in {} but the store has no token of that name revoked then: it was revived or deleted outside snapgov",
                r.0, r.3
            ));
        }
    }
    Ok(problems)
}

/// Every hold must be the one the trail last added for its snapshot, and
/// every hold the trail still has must be in the store (a hold decides what
/// retention may delete).
pub(super) fn check_holds(
    store: &impl Queries,
    rp: &Replay,
    purged_before: &impl Fn(DateTime<Utc>) -> bool,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let holds = store.holds()?;
    for h in &holds {
        match rp.holds.get(&h.snapshot_id) {
            Some((reason, until, user, at, _))
                if *reason == h.reason
                    && *until == fmt_ts(h.expires_at)
                    && *user == h.created_by
                    && *at == h.created_at => {}
            Some((_, _, _, _, by)) => problems.push(format!(
                "hold on {}: its reason, expiry or author differ from {}, which added it",
                h.snapshot_id, by
            )),
            None if purged_before(h.created_at) => {}
            None => problems.push(format!(
                "hold on {}: no retention_hold_added record in the audit trail put it there: it was inserted outside snapgov",
                h.snapshot_id
            )),
        }
    }
    let mut missing: Vec<_> = rp
        .holds
        .iter()
        .filter(|(id, _)| !holds.iter().any(|h| &h.snapshot_id == *id))
        .collect();
    missing.sort();
    for (id, (.., by)) in missing {
        problems.push(format!(
            "hold on {id}: added in {by} and never removed, but missing from the store: it was deleted outside snapgov"
        ));
    }
    Ok(problems)
}
