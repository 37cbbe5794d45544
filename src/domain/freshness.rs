//! The freshness SLA: thresholds and the state of a tool's active snapshot.
//!
//! The spec's four states are kept as written: `fresh` (age < maxAge),
//! `stale` (maxAge ≤ age < critical), `critical` (age ≥ critical) and
//! `expired` (manual expiry). The spec's table never uses its stale
//! threshold; snapgov uses it as the point where a stale warning escalates:
//! from then on the snapshot is *overdue* (still `stale`, shown as overdue,
//! logged at error level instead of warn).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Freshness {
    Fresh,
    Stale,
    Critical,
    Expired,
}

impl Freshness {
    pub const ALL: [Freshness; 4] = [
        Freshness::Fresh,
        Freshness::Stale,
        Freshness::Critical,
        Freshness::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
            Freshness::Critical => "critical",
            Freshness::Expired => "expired",
        }
    }
}

impl fmt::Display for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tool's SLA thresholds, measured from the active snapshot's `importedAt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub max_age: Duration,
    pub stale: Duration,
    pub critical: Duration,
}

impl Default for Thresholds {
    /// The spec's thresholds for syft, trivy and clair: P7D, P14D, P30D.
    fn default() -> Self {
        Thresholds {
            max_age: Duration::days(7),
            stale: Duration::days(14),
            critical: Duration::days(30),
        }
    }
}

impl Thresholds {
    /// Checks the thresholds make sense: positive and in order.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_age <= Duration::zero() {
            return Err("max_age must be longer than zero".into());
        }
        if self.stale < self.max_age {
            return Err("stale must not be shorter than max_age".into());
        }
        if self.critical < self.stale {
            return Err("critical must not be shorter than stale (nor than max_age)".into());
        }
        Ok(())
    }
}

/// The SLA judgement of one tool at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub state: Freshness,
    /// Stale and past the stale threshold: the warning escalates.
    pub overdue: bool,
    pub age: Duration,
    /// When the state (or the overdue flag) next changes by itself.
    pub next_change: Option<DateTime<Utc>>,
}

/// Judges a snapshot imported at `imported_at` as of `now`. `expired` is
/// the manual expiry, which wins over age.
pub fn assess(
    imported_at: DateTime<Utc>,
    now: DateTime<Utc>,
    t: &Thresholds,
    expired: bool,
) -> Assessment {
    let age = (now - imported_at).max(Duration::zero());
    if expired {
        return Assessment {
            state: Freshness::Expired,
            overdue: false,
            age,
            next_change: None,
        };
    }
    let (state, overdue, next) = if age < t.max_age {
        (Freshness::Fresh, false, Some(t.max_age))
    } else if age < t.critical {
        let overdue = age >= t.stale;
        let next = if overdue { t.critical } else { t.stale };
        (Freshness::Stale, overdue, Some(next))
    } else {
        (Freshness::Critical, false, None)
    };
    Assessment {
        state,
        overdue,
        age,
        next_change: next.map(|d| imported_at + d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(days: i64, secs: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let imported = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
        (
            imported,
            imported + Duration::days(days) + Duration::seconds(secs),
        )
    }

    #[test]
    fn each_state_starts_exactly_at_its_threshold() {
        let t = Thresholds::default();
        let cases = [
            (0, 0, Freshness::Fresh, false),
            (6, 86_399, Freshness::Fresh, false),
            (7, 0, Freshness::Stale, false),
            (13, 86_399, Freshness::Stale, false),
            (14, 0, Freshness::Stale, true),
            (29, 86_399, Freshness::Stale, true),
            (30, 0, Freshness::Critical, false),
            (400, 0, Freshness::Critical, false),
        ];
        for (d, s, state, overdue) in cases {
            let (i, n) = at(d, s);
            let a = assess(i, n, &t, false);
            assert_eq!((a.state, a.overdue), (state, overdue), "day {d} +{s}s");
        }
    }

    #[test]
    fn next_change_is_the_next_threshold_and_expiry_wins() {
        let t = Thresholds::default();
        let (i, n) = at(2, 0);
        assert_eq!(
            assess(i, n, &t, false).next_change,
            Some(i + Duration::days(7))
        );
        let (i, n) = at(8, 0);
        assert_eq!(
            assess(i, n, &t, false).next_change,
            Some(i + Duration::days(14))
        );
        let (i, n) = at(20, 0);
        assert_eq!(
            assess(i, n, &t, false).next_change,
            Some(i + Duration::days(30))
        );
        let (i, n) = at(1, 0);
        let a = assess(i, n, &t, true);
        assert_eq!((a.state, a.next_change), (Freshness::Expired, None));
    }

    #[test]
    fn nonsense_thresholds_are_refused() {
        let t = Thresholds {
            critical: Duration::days(3),
            ..Default::default()
        };
        assert!(t.validate().unwrap_err().contains("critical"));
        let t = Thresholds {
            max_age: Duration::zero(),
            ..Default::default()
        };
        assert!(t.validate().unwrap_err().contains("max_age"));
        assert!(Thresholds::default().validate().is_ok());
    }
}
