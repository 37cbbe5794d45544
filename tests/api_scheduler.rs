//! The scheduler's decisions with a controllable clock: retention fires on
//! its cron schedule, SLA transitions are reported once each at the moment
//! they happen, and a failed run is retried at the next tick.

mod api_common;
mod common;

use api_common::fixture;
use chrono::{DateTime, Duration, Timelike, Utc};
use snapgov::config::Config;
use snapgov::domain::time::{fmt_ts, parse_ts};
use snapgov::ops::import::{import, ImportRequest, Input};
use snapgov::ops::scheduler::{Level, Scheduler, Transition, RETRY_AFTER};
use snapgov::ops::{Clock, Env, NoProgress};
use snapgov::store::prelude::*;
use snapgov::store::{AuditFilter, Location, OpenMode, Store};

fn env(at: DateTime<Utc>, user: &str) -> Env {
    Env::new(Config::default(), user, Clock::Fixed(at))
}

fn ts(s: &str) -> DateTime<Utc> {
    parse_ts(s).unwrap()
}

fn import_at(store: &mut Store, tool: &str, file: &str, at: DateTime<Utc>) -> String {
    let mut req = ImportRequest::new(tool, vec![Input::File(fixture(file))]);
    req.allow_shrink = true;
    import(store, &env(at, "ci"), &req, &NoProgress)
        .unwrap()
        .snapshot
        .id
        .to_string()
}

#[test]
fn retention_fires_on_schedule_and_each_sla_transition_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let tdb = common::pg::TestDb::new(dir.path());
    let db = Location::parse(tdb.location());
    let mut store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let t0 = ts("2025-12-01T12:00:00Z");
    let a = import_at(&mut store, "syft", "syft-min.json", t0 - Duration::days(2));
    let b = import_at(&mut store, "syft", "syft-min.json", t0 - Duration::days(1));
    let c = import_at(&mut store, "syft", "syft-min.json", t0);

    let mut sched = Scheduler::new(&env(t0, "system"), t0).unwrap();
    assert_eq!(sched.next_retention(), ts("2025-12-02T00:00:00Z"));
    let mut now = t0;
    let end = t0 + Duration::days(40);
    let mut retention_runs: Vec<DateTime<Utc>> = Vec::new();
    let mut transitions: Vec<Transition> = Vec::new();
    let mut ticks = 0;
    let mut trivy_imported_at: Option<DateTime<Utc>> = None;
    while now <= end {
        // A feed of a second tool arrives on day 10; the API pokes the
        // scheduler after an import.
        if trivy_imported_at.is_none() && now >= t0 + Duration::days(10) {
            import_at(&mut store, "trivy", "trivy-min.json", now);
            sched.poke_sla();
            trivy_imported_at = Some(now);
        }
        let tick = sched.tick(&mut store, &env(now, "ignored"));
        ticks += 1;
        if let Some(r) = &tick.retention {
            r.as_ref().unwrap();
            retention_runs.push(now);
        }
        if let Some(r) = &tick.sla {
            r.as_ref().unwrap();
        }
        transitions.extend(tick.transitions);
        let next = sched.next_wake(now);
        assert!(next > now, "the scheduler would spin at {now}");
        // The server's loop wakes at least every minute; ticking in between
        // must not change anything, so jump straight to the next wake.
        now = next;
    }
    assert!(ticks < 40 * 26, "{ticks} ticks: it checks far too often");

    // Retention ran at every midnight (UTC), once each.
    assert_eq!(retention_runs.len(), 40, "{retention_runs:?}");
    for (i, at) in retention_runs.iter().enumerate() {
        assert_eq!(*at, ts("2025-12-02T00:00:00Z") + Duration::days(i as i64));
        assert_eq!((at.hour(), at.minute(), at.second()), (0, 0, 0));
    }
    // It archived A (previous since t0-1d) at the first midnight 30 days
    // later, and B (N-1, previous since t0) the next midnight, as the spec
    // says, as user system; C (active) stays.
    let archived = store
        .audit_list(&AuditFilter {
            event: Some("snapshot_archived".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(archived.len(), 2, "{archived:?}");
    let mut got: Vec<(String, String, String)> = archived
        .iter()
        .map(|(_, r)| {
            (
                r.details["snapshotId"].as_str().unwrap().to_string(),
                fmt_ts(r.timestamp),
                r.user.clone(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                a.clone(),
                "2025-12-31T00:00:00Z".to_string(),
                "system".to_string()
            ),
            (
                b.clone(),
                "2026-01-01T00:00:00Z".to_string(),
                "system".to_string()
            ),
        ]
    );
    assert_eq!(
        store.get_snapshot(&b).unwrap().unwrap().state.as_str(),
        "archived"
    );
    assert_eq!(
        store.get_snapshot(&c).unwrap().unwrap().state.as_str(),
        "active"
    );

    // Each transition once, at the moment the threshold is crossed.
    let got: Vec<(String, Option<Level>, Level, String)> = transitions
        .iter()
        .map(|t| (t.tool.clone(), t.from, t.to, t.at.clone()))
        .collect();
    let trivy_at = trivy_imported_at.unwrap();
    assert_eq!(trivy_at, t0 + Duration::days(10));
    let want = vec![
        (
            "syft".to_string(),
            Some(Level::Fresh),
            Level::Stale,
            fmt_ts(t0 + Duration::days(7)),
        ),
        (
            "syft".to_string(),
            Some(Level::Stale),
            Level::Overdue,
            fmt_ts(t0 + Duration::days(14)),
        ),
        (
            "trivy".to_string(),
            Some(Level::Fresh),
            Level::Stale,
            fmt_ts(trivy_at + Duration::days(7)),
        ),
        (
            "trivy".to_string(),
            Some(Level::Stale),
            Level::Overdue,
            fmt_ts(trivy_at + Duration::days(14)),
        ),
        (
            "syft".to_string(),
            Some(Level::Overdue),
            Level::Critical,
            fmt_ts(t0 + Duration::days(30)),
        ),
        (
            "trivy".to_string(),
            Some(Level::Overdue),
            Level::Critical,
            fmt_ts(trivy_at + Duration::days(30)),
        ),
    ];
    assert_eq!(got, want);
    assert!(transitions.iter().all(|t| t.snapshot_id.is_some()));
    assert_eq!(transitions[0].snapshot_id.as_deref(), Some(c.as_str()));
    // Stale warns; overdue and critical are errors.
    use snapgov::ops::scheduler::Severity;
    assert_eq!(transitions[0].severity(), Severity::Warn);
    assert_eq!(transitions[1].severity(), Severity::Error);
    assert_eq!(transitions[4].severity(), Severity::Error);
}

#[test]
fn the_first_look_reports_only_what_needs_attention() {
    let dir = tempfile::tempdir().unwrap();
    let tdb = common::pg::TestDb::new(dir.path());
    let db = Location::parse(tdb.location());
    let mut store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let now = ts("2025-12-04T12:00:00Z");
    import_at(&mut store, "syft", "syft-min.json", now - Duration::days(1));
    import_at(
        &mut store,
        "trivy",
        "trivy-min.json",
        now - Duration::days(40),
    );
    let mut sched = Scheduler::new(&env(now, "system"), now).unwrap();
    let tick = sched.tick(&mut store, &env(now, "system"));
    let got: Vec<(&str, Option<Level>, Level)> = tick
        .transitions
        .iter()
        .map(|t| (t.tool.as_str(), t.from, t.to))
        .collect();
    assert_eq!(got, [("trivy", None, Level::Critical)]);
    assert_eq!(sched.levels()["syft"], Level::Fresh);
    // The audit chain was verified on the first tick.
    assert!(tick.audit.unwrap().unwrap().is_ok());
    // Nothing new later the same hour.
    let later = now + Duration::minutes(30);
    let tick = sched.tick(&mut store, &env(later, "system"));
    assert!(tick.transitions.is_empty());
}

#[test]
fn a_failed_run_is_retried_at_the_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let tdb = common::pg::TestDb::new(dir.path());
    let db = Location::parse(tdb.location());
    let mut rw = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let t0 = ts("2025-12-01T23:59:00Z");
    import_at(&mut rw, "syft", "syft-min.json", t0);
    let mut sched = Scheduler::new(&env(t0, "system"), t0).unwrap();
    let midnight = ts("2025-12-02T00:00:00Z");
    assert_eq!(sched.next_retention(), midnight);
    // The run fails (the store is read-only for it): reported, not raised,
    // and due again one tick later.
    let mut ro = Store::open(&db, OpenMode::ReadOnly).unwrap();
    let tick = sched.tick(&mut ro, &env(midnight, "system"));
    let err = tick.retention.unwrap().unwrap_err();
    assert!(err.contains("read-only"), "{err}");
    // The SLA check still ran.
    assert!(tick.sla.unwrap().is_ok());
    assert_eq!(sched.next_retention(), midnight + RETRY_AFTER);
    assert!(!sched.retention_due(midnight + Duration::seconds(30)));
    // Retried at the next tick, it succeeds; then back to the schedule.
    let tick = sched.tick(&mut rw, &env(midnight + RETRY_AFTER, "system"));
    assert!(tick.retention.unwrap().is_ok());
    assert_eq!(sched.next_retention(), ts("2025-12-03T00:00:00Z"));
}

#[test]
fn a_custom_schedule_is_followed() {
    let mut config = Config::default();
    config.retention.schedule = "30 */6 * * *".into();
    let now = ts("2025-12-04T07:00:00Z");
    let e = Env::new(config, "system", Clock::Fixed(now));
    let mut sched = Scheduler::new(&e, now).unwrap();
    assert_eq!(sched.next_retention(), ts("2025-12-04T12:30:00Z"));
    sched.retention_finished(ts("2025-12-04T12:30:00Z"), true);
    assert_eq!(sched.next_retention(), ts("2025-12-04T18:30:00Z"));
}

/// Two schedulers on one store (two `serve`s, on one host or two): each
/// scheduled retention run and SLA check is done by one of them; the other
/// finds it done and moves on to the next slot with it.
#[test]
fn two_schedulers_on_one_store_do_each_scheduled_run_once() {
    let dir = tempfile::tempdir().unwrap();
    let tdb = common::pg::TestDb::new(dir.path());
    let db = Location::parse(tdb.location());
    let mut s1 = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let mut s2 = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let t0 = ts("2025-12-01T23:30:00Z");
    import_at(&mut s1, "syft", "syft-min.json", t0 - Duration::days(40));
    import_at(&mut s1, "syft", "syft-min.json", t0 - Duration::days(35));
    import_at(&mut s1, "syft", "syft-min.json", t0);
    let mut a = Scheduler::new(&env(t0, "system"), t0).unwrap();
    let mut b = Scheduler::new(&env(t0, "system"), t0).unwrap();
    // Their first looks are their own (each has levels to learn).
    a.tick(&mut s1, &env(t0, "system"));
    b.tick(&mut s2, &env(t0, "system"));
    let mut retention_runs = 0;
    for day in 0..3 {
        let midnight = ts("2025-12-02T00:00:00Z") + Duration::days(day);
        assert_eq!(a.next_retention(), midnight);
        assert_eq!(b.next_retention(), midnight);
        let ta = a.tick(&mut s1, &env(midnight, "system"));
        let tb = b.tick(&mut s2, &env(midnight, "system"));
        for t in [&ta, &tb] {
            if let Some(r) = &t.retention {
                assert!(r.is_ok(), "{r:?}");
                retention_runs += 1;
            }
        }
        assert_eq!(
            [&ta, &tb]
                .iter()
                .filter(|t| t.done_elsewhere.contains(&"retention"))
                .count(),
            1,
            "day {day}: {:?} / {:?}",
            ta.done_elsewhere,
            tb.done_elsewhere
        );
        // The hourly SLA check an hour later: one of them does it.
        let later = midnight + Duration::hours(1);
        let ta = a.tick(&mut s1, &env(later, "system"));
        let tb = b.tick(&mut s2, &env(later, "system"));
        let done: Vec<bool> = [&ta, &tb].iter().map(|t| t.sla.is_some()).collect();
        let skipped: Vec<bool> = [&ta, &tb]
            .iter()
            .map(|t| t.done_elsewhere.contains(&"sla_check"))
            .collect();
        assert_eq!(
            done.iter().filter(|d| **d).count(),
            1,
            "day {day}: {done:?}"
        );
        assert_eq!(skipped.iter().filter(|d| **d).count(), 1, "day {day}");
        // Both keep the same levels, so either can take over.
        assert_eq!(a.levels(), b.levels());
    }
    assert_eq!(retention_runs, 3, "one run a night between the two");
    // Whatever the runs archived or deleted is audited once.
    let recs = snapgov::ops::audit::list(
        &s1,
        &AuditFilter {
            user: Some("system".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let ids: Vec<_> = recs
        .iter()
        .map(|(_, r)| (r.event.clone(), r.snapshot_id.clone()))
        .collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an action audited twice: {ids:?}");
}

/// A scheduled retention run that changed nothing does not ask for an extra
/// SLA check: when another `serve` already did the scheduled check of that
/// minute, this one leaves it to it (two serves on one store used to both
/// check every minute their retention slot shared with the SLA check).
#[test]
fn a_retention_run_that_changed_nothing_leaves_the_sla_check_to_whoever_claimed_it() {
    let dir = tempfile::tempdir().unwrap();
    let tdb = common::pg::TestDb::new(dir.path());
    let db = Location::parse(tdb.location());
    let mut store = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let mut other = Store::open(&db, OpenMode::ReadWrite).unwrap();
    let t0 = ts("2025-12-01T23:30:00Z");
    import_at(&mut store, "syft", "syft-min.json", t0);
    let mut sched = Scheduler::new(&env(t0, "system"), t0).unwrap();
    sched.tick(&mut store, &env(t0, "system"));
    let midnight = ts("2025-12-02T00:00:00Z");
    assert_eq!(sched.next_retention(), midnight);
    assert_eq!(sched.next_sla_check(), Some(midnight));
    // The other serve got to the SLA check of midnight first.
    let claimed = other
        .write(|tx| tx.claim_scheduled_run("sla_check", midnight))
        .unwrap();
    assert!(claimed);
    let tick = sched.tick(&mut store, &env(midnight, "system"));
    let rep = tick.retention.as_ref().unwrap().as_ref().unwrap();
    assert!(rep.archived.is_empty() && rep.deleted.is_empty());
    assert!(
        tick.sla.is_none(),
        "checked the SLA again: {:?}",
        tick.done_elsewhere
    );
    assert_eq!(tick.done_elsewhere, vec!["sla_check"]);
}
