//! The purge the chain's anchor rests on: the only way records may be
//! missing from the chain's start.

use super::checkpoint::Checkpoint;
use crate::domain::audit::details::{AuditPurged, Details};
use crate::domain::audit::AuditRecord;
use crate::domain::time::fmt_ts;
use crate::ops::Env;
use chrono::{DateTime, Utc};

/// How far in the future a purge record may be dated (clocks of several
/// operators' machines differ a little).
const CLOCK_SKEW_SECS: i64 = 300;

/// A purge the chain's anchor rests on, once checked.
pub(super) struct VerifiedPurge {
    /// Records older than this were removed.
    pub before: DateTime<Utc>,
    /// Snapshots whose import records it removed (purges written before
    /// this list existed have none: then `before` alone decides).
    pub surviving: Option<Vec<String>>,
}

/// Checks the purge record that attests the chain's anchor: it must be
/// dated no later than now, its cut-off must respect the configured audit
/// age on its own date, and the first record it kept must not be older than
/// its cut-off. Returns the problems found.
fn check_purge(
    rec: &AuditRecord,
    first_kept: Option<DateTime<Utc>>,
    env: &Env,
) -> (Option<VerifiedPurge>, Vec<String>) {
    let mut problems = Vec::new();
    let details = AuditPurged::read(&rec.details);
    let before = match details
        .as_ref()
        .map(|d| crate::domain::time::parse_ts(&d.before))
    {
        Some(Ok(b)) => b,
        _ => {
            return (
                None,
                vec![format!(
                "{} (audit_purged) has no readable `before` cut-off: the purge cannot be checked",
                rec.id
            )],
            )
        }
    };
    let now = env.clock.now();
    if rec.timestamp > now + chrono::Duration::seconds(CLOCK_SKEW_SECS) {
        problems.push(format!(
            "{} (audit_purged) is dated {}, after now ({}): a purge record from the future is forged",
            rec.id,
            fmt_ts(rec.timestamp),
            fmt_ts(now)
        ));
    }
    let age = env.config.retention.audit_max_age;
    let allowed = rec.timestamp - age;
    if before > allowed {
        problems.push(format!(
            "{} (audit_purged) claims records before {} were purged on {}, but records are kept for {} (retention.audit_max_age): only records before {} could have been; the purge is forged or the configuration was changed",
            rec.id,
            fmt_ts(before),
            fmt_ts(rec.timestamp),
            crate::domain::time::fmt_duration(age),
            fmt_ts(allowed)
        ));
    }
    if let Some(first) = first_kept {
        if first < before {
            problems.push(format!(
                "{} (audit_purged) removed records before {}, yet the first record it kept is dated {}: it is not the purge it claims to be",
                rec.id,
                fmt_ts(before),
                fmt_ts(first)
            ));
        }
    }
    let surviving = details.and_then(|d| d.surviving_snapshots);
    let verified = problems
        .is_empty()
        .then_some(VerifiedPurge { before, surviving });
    (verified, problems)
}

/// Checks the attesting purge, and that it did not remove the checkpoint's
/// record before the checkpoint was written. Returns the purge if it
/// verifies, and the problems found.
pub(super) fn verify_purge(
    p: &AuditRecord,
    first_kept: Option<DateTime<Utc>>,
    anchor: Option<&(u64, String)>,
    checkpoint: Option<&Checkpoint>,
    env: &Env,
) -> (Option<VerifiedPurge>, Vec<String>) {
    let (mut v, mut ps) = check_purge(p, first_kept, env);
    // A purge that removed the checkpoint's record came after the
    // checkpoint was written.
    if let (Some(cp), Some((aseq, _))) = (checkpoint, anchor) {
        let written = crate::domain::time::parse_ts(&cp.created_at).ok();
        if cp.seq <= *aseq && written.is_some_and(|w| p.timestamp < w) {
            ps.push(format!(
                "{} (audit_purged) removed the checkpoint's record {} but is dated {}, before the checkpoint was written ({})",
                p.id,
                cp.id,
                fmt_ts(p.timestamp),
                cp.created_at
            ));
            v = None;
        }
    }
    (v, ps)
}
