//! Governance workflows through the library: the diff of real scans checked
//! against an independent computation, retention over a long history,
//! audit purge, and rollbacks to archived targets and from expired ones.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::pg::TestDb;
use common::sql::lit;
use snapgov::config::Config;
use snapgov::domain::record::{record_hash, IdentKey};
use snapgov::domain::snapshot::SnapshotState;
use snapgov::ingest::Format;
use snapgov::ops::import::{import, ImportRequest, Input};
use snapgov::ops::rollback::{execute, Quiet, Target};
use snapgov::ops::{self, Clock, Env, NoProgress};
use snapgov::store::prelude::*;
use snapgov::store::{DiffSide, OpenMode, SnapshotFilter, Store, StoreError};
use snapgov::synthetic_feed::FeedSpec;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 6, 0, 0).unwrap() + Duration::days(n)
}

fn env_at(config: &Config, t: DateTime<Utc>) -> Env {
    Env::new(config.clone(), "tester", Clock::Fixed(t))
}

fn feed(dir: &Path, name: &str, format: Format, spec: &FeedSpec) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    snapgov::synthetic_feed::write_feed(format, spec, &mut f).unwrap();
    p
}

fn import_file(store: &mut Store, env: &Env, tool: &str, path: &Path) -> String {
    let mut req = ImportRequest::new(tool, vec![Input::File(path.to_path_buf())]);
    req.allow_shrink = true;
    import(store, env, &req, &NoProgress)
        .unwrap()
        .snapshot
        .id
        .to_string()
}

/// Three daily imports of `tool` (seeds 1 to 3, each churned from the
/// last); their snapshot ids.
fn import_days(
    store: &mut Store,
    dir: &Path,
    cfg: &Config,
    tool: &str,
    format: Format,
    packages: u64,
    churn_permille: u64,
) -> Vec<String> {
    (0..3)
        .map(|d| {
            let spec = FeedSpec {
                packages,
                seed: d + 1,
                churn_permille,
                ..Default::default()
            };
            let f = feed(dir, "f.json", format, &spec);
            import_file(store, &env_at(cfg, day(d as i64)), tool, &f)
        })
        .collect()
}

/// Three days of a 6,000-package Syft feed at 2 % churn: a checkpoint and
/// two deltas on it.
fn syft_days(store: &mut Store, dir: &Path, cfg: &Config) -> Vec<String> {
    import_days(store, dir, cfg, "syft", Format::SyftJson, 6_000, 20)
}

/// Identity → (record hash, kind, severity), merged as the contract says.
fn independent(path: &Path) -> BTreeMap<IdentKey, ([u8; 32], String, Option<String>)> {
    common::parse_merged(path)
        .into_iter()
        .map(|(k, r)| {
            (
                k,
                (
                    record_hash(&r.canonical_json()),
                    r.kind.as_str().to_string(),
                    r.severity().map(|s| s.as_str().to_string()),
                ),
            )
        })
        .collect()
}

#[test]
fn the_diff_of_two_real_trivy_scans_matches_an_independent_computation() {
    let (Some(a), Some(b)) = (
        common::real_fixture("trivy/trivy-image-juice-shop-v10.2.0-alpine-node-many-vulns.json"),
        common::real_fixture("trivy/trivy-image-juice-shop-debian12-node-packages-and-vulns.json"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let cfg = Config::default();
    let ida = import_file(&mut store, &env_at(&cfg, day(0)), "trivy", &a);
    let idb = import_file(&mut store, &env_at(&cfg, day(1)), "trivy", &b);
    let (ma, mb) = (independent(&a), independent(&b));

    let mut want: [(u64, BTreeMap<String, u64>); 3] = Default::default();
    let mut bump = |i: usize, meta: &(_, String, Option<String>)| {
        want[i].0 += 1;
        if meta.1 == "vulnerability" {
            *want[i].1.entry(meta.2.clone().unwrap()).or_default() += 1;
        }
    };
    for (k, m) in &mb {
        match ma.get(k) {
            None => bump(0, m),
            Some(old) if old.0 != m.0 => bump(2, m),
            _ => {}
        }
    }
    for (k, m) in &ma {
        if !mb.contains_key(k) {
            bump(1, m);
        }
    }

    let d = store
        .read(|r| -> ops::Result<_> {
            let pa = r.get_snapshot_pk(&ida)?.unwrap().1;
            let pb = r.get_snapshot_pk(&idb)?.unwrap().1;
            ops::diff::diff(
                r,
                (snapgov::store::DiffSide::Snapshot(pa), &ida),
                (snapgov::store::DiffSide::Snapshot(pb), &idb),
                5,
            )
        })
        .unwrap();
    assert_eq!(
        (d.added.total, d.added.by_severity.clone()),
        want[0].clone()
    );
    assert_eq!(
        (d.removed.total, d.removed.by_severity.clone()),
        want[1].clone()
    );
    assert_eq!(
        (d.changed.total, d.changed.by_severity.clone()),
        want[2].clone()
    );
    assert!(
        d.added.total > 900 && d.removed.total > 100,
        "{:?}",
        (d.added.total, d.removed.total)
    );
    assert_eq!(d.samples.len(), 5 + 5 + d.changed.total.min(5) as usize);

    // The rollback preview is the same diff, from the active data.
    let plan = ops::rollback::plan(&mut store, "trivy", &Target::Previous, 3).unwrap();
    assert_eq!(plan.diff.added, d.removed);
    assert_eq!(plan.diff.removed, d.added);
    assert!(plan.diff.headline("rolling back").contains("re-introduces"));
}

#[test]
fn retention_over_120_days_archives_and_deletes_exactly_the_right_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.retention.previous_max_age = Duration::days(10);
    cfg.retention.archived_max_age = Duration::days(30);
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let mut ids = Vec::new();
    for d in 0..120 {
        let spec = FeedSpec {
            packages: 20,
            seed: d as u64 + 1,
            churn_permille: 100,
            ..Default::default()
        };
        let f = feed(dir.path(), "f.json", Format::SyftJson, &spec);
        ids.push(import_file(&mut store, &env_at(&cfg, day(d)), "syft", &f));
        match d {
            3 => {
                ops::retention::hold_add(
                    &mut store,
                    &env_at(&cfg, day(d)),
                    &ids[2],
                    "legal hold",
                    day(60),
                )
                .unwrap();
            }
            4 => {
                ops::retention::hold_add(
                    &mut store,
                    &env_at(&cfg, day(d)),
                    &ids[3],
                    "audit hold",
                    day(400),
                )
                .unwrap();
            }
            _ => {}
        }
        // The nightly run, an hour after the import; check the dry run first.
        let e = env_at(&cfg, day(d) + Duration::hours(1));
        let before = (snapshot_states(&store), store.audit_count().unwrap());
        let dry = ops::retention::run(&mut store, &e, true).unwrap();
        assert_eq!(
            before,
            (snapshot_states(&store), store.audit_count().unwrap()),
            "the dry run changed something"
        );
        let done = ops::retention::run(&mut store, &e, false).unwrap();
        assert_eq!(
            (dry.archived, dry.deleted),
            (done.archived.clone(), done.deleted.clone()),
            "day {d}"
        );
    }
    // Independent model: snapshot i stopped being active at day i+1 (06:00),
    // is archived at the first run ≥ 10 days later (day i+11, 07:00), and
    // deleted at the first run ≥ 30 days after that (day i+41, 07:00).
    // Holds delay: #2 held until day 60 (archived at day 60's run, deleted
    // at day 90's); #3 held for good (stays previous).
    let states = snapshot_states(&store);
    for (i, id) in ids.iter().enumerate() {
        let i = i as i64;
        let want = if i == 119 {
            SnapshotState::Active
        } else if i == 3 {
            SnapshotState::Previous
        } else if i == 2 || i + 41 <= 119 {
            // #2's hold only delayed it: archived at day 60, deleted at day 90.
            SnapshotState::Deleted
        } else if i + 11 <= 119 && i != 118 {
            SnapshotState::Archived
        } else {
            SnapshotState::Previous
        };
        assert_eq!(states[id], want, "snapshot #{i} {id}");
    }
    // Deleted ones keep a tombstone and their history; the rest still verify.
    let s = ops::snapshots::get(&store, &ids[0]).unwrap();
    assert_eq!(
        (s.state, s.record_count > 0),
        (SnapshotState::Deleted, true)
    );
    let audit = ops::audit::list(
        &store,
        &snapgov::store::AuditFilter {
            snapshot_id: Some(ids[0].clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let events: Vec<&str> = audit.iter().map(|(_, r)| r.event.as_str()).collect();
    assert!(
        events.contains(&"snapshot_deleted")
            && events.contains(&"snapshot_archived")
            && events.contains(&"snapshot_imported"),
        "{events:?}"
    );
    for id in &ids[80..] {
        assert!(ops::snapshots::verify(&store, id).unwrap().is_ok(), "{id}");
    }
    assert!(ops::audit::verify(&store, &env_at(&cfg, day(400)), None)
        .unwrap()
        .is_ok());
    // Rolling back to an archived snapshot works and says so.
    let r = execute(
        &mut store,
        &env_at(&cfg, day(121)),
        "syft",
        &Target::Id(ids[100].clone()),
        None,
        "restore from archive",
        &Quiet,
    )
    .unwrap();
    assert!(r.target_was_archived);
    assert_eq!(
        ops::snapshots::get(&store, &ids[100]).unwrap().state,
        SnapshotState::Active
    );
    // Deleted and expired ones are not targets.
    let e = execute(
        &mut store,
        &env_at(&cfg, day(121)),
        "syft",
        &Target::Id(ids[0].clone()),
        None,
        "x",
        &Quiet,
    )
    .unwrap_err();
    assert!(e.to_string().contains("deleted"), "{e}");
}

fn snapshot_states(store: &Store) -> BTreeMap<String, SnapshotState> {
    store
        .list_snapshots(&SnapshotFilter::default())
        .unwrap()
        .into_iter()
        .map(|s| (s.id.to_string(), s.state))
        .collect()
}

/// Reads every record of the tool through the freshness guard, discarding them.
fn read_all(store: &mut Store, env: &Env, tool: &str) -> ops::Result<(ops::sla::Cleared, u64)> {
    let q = ops::guarded_read::RecordsQuery {
        tool: tool.into(),
        ..Default::default()
    };
    ops::guarded_read::query(store, env, &q, |_| Ok(()))
}

#[test]
fn a_rollback_from_an_expired_snapshot_restores_service_and_keeps_it_expired() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::default();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let ids = import_days(
        &mut store,
        dir.path(),
        &cfg,
        "cdx",
        Format::Cyclonedx,
        30,
        100,
    );
    ops::expire::expire(&mut store, &env_at(&cfg, day(3)), &ids[2], "bad data").unwrap();
    let e = read_all(&mut store, &env_at(&cfg, day(3)), "cdx").unwrap_err();
    assert_eq!(e.exit_code(), 4);
    let r = execute(
        &mut store,
        &env_at(&cfg, day(3)),
        "cdx",
        &Target::Previous,
        None,
        "restore service",
        &Quiet,
    )
    .unwrap();
    assert_eq!(r.to.snapshot_id, ids[1]);
    assert_eq!(
        ops::snapshots::get(&store, &ids[2]).unwrap().state,
        SnapshotState::Expired
    );
    let (_, n) = read_all(&mut store, &env_at(&cfg, day(3)), "cdx").unwrap();
    assert_eq!(
        n,
        ops::snapshots::get(&store, &ids[1]).unwrap().record_count
    );
    // The expired snapshot is skipped by the default target from here on.
    let r = execute(
        &mut store,
        &env_at(&cfg, day(3)),
        "cdx",
        &Target::Previous,
        None,
        "back again",
        &Quiet,
    )
    .unwrap();
    assert_eq!(r.to.snapshot_id, ids[0]);
}

#[test]
fn an_audit_purge_keeps_the_chain_verifiable_and_a_forged_anchor_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let cfg = Config::default();
    let mut store = db.open(OpenMode::ReadWrite);
    for d in [0, 100, 200, 500, 600] {
        let f = feed(
            dir.path(),
            "f.json",
            Format::SyftJson,
            &FeedSpec {
                packages: 10,
                seed: d as u64 + 1,
                ..Default::default()
            },
        );
        import_file(&mut store, &env_at(&cfg, day(d)), "syft", &f);
    }
    let cp_path = dir.path().join("cp.json");
    ops::audit::write_checkpoint(&store, &cp_path, day(600)).unwrap();
    let e = env_at(&cfg, day(601));
    // Too recent a cut-off is refused.
    assert_eq!(
        ops::audit::purge(&mut store, &e, day(400), "x")
            .unwrap_err()
            .exit_code(),
        2
    );
    let rep = ops::audit::purge(&mut store, &e, day(150), "yearly purge").unwrap();
    assert_eq!(rep.purged, 4);
    let v = ops::audit::verify(
        &store,
        &e,
        Some(&ops::audit::read_checkpoint(&cp_path).unwrap()),
    )
    .unwrap();
    assert!(v.is_ok(), "{:?}", v.problems());
    // Later records still append and verify.
    let f = feed(
        dir.path(),
        "g.json",
        Format::SyftJson,
        &FeedSpec {
            packages: 10,
            seed: 99,
            ..Default::default()
        },
    );
    import_file(&mut store, &env_at(&cfg, day(602)), "syft", &f);
    assert!(ops::audit::verify(&store, &env_at(&cfg, day(602)), None)
        .unwrap()
        .is_ok());
    drop(store);
    // Someone deletes more records and moves the anchor to hide it.
    let row = db.sql_rows("SELECT seq, hash FROM audit ORDER BY seq LIMIT 1 OFFSET 1");
    let (seq, hash) = (&row[0][0], &row[0][1]);
    db.sql_exec(&format!("DELETE FROM audit WHERE seq <= {seq}"));
    db.sql_exec(&format!(
        "UPDATE meta SET value = {} WHERE key = 'audit_anchor'",
        lit(&format!("{seq} {hash}"))
    ));
    let store = db.open(OpenMode::ReadOnly);
    let v = ops::audit::verify(&store, &env_at(&cfg, day(602)), None).unwrap();
    assert!(!v.is_ok());
}

/// The metrics' last-import gauge looks at the tool's whole history: a run
/// of failed imports (more than any page of recent snapshots) does not hide
/// the last one that worked.
#[test]
fn the_last_import_gauge_sees_past_a_long_run_of_failed_imports() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::default();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let spec = FeedSpec {
        packages: 5,
        ..Default::default()
    };
    let good = feed(dir.path(), "good.json", Format::SyftJson, &spec);
    import_file(&mut store, &env_at(&config, day(0)), "syft", &good);
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"artifacts\": [").unwrap();
    for i in 1..=25 {
        let env = env_at(&config, day(0) + Duration::hours(i));
        let req = ImportRequest::new("syft", vec![Input::File(broken.clone())]);
        assert!(import(&mut store, &env, &req, &NoProgress).is_err());
    }
    let env = env_at(&config, day(1));
    let (gauges, snapshots) = store.read(|r| ops::sla::gauges(r, &env)).unwrap();
    assert_eq!(snapshots, 26);
    assert_eq!(gauges.len(), 1);
    assert_eq!(gauges[0].last_import, Some(day(0)));
}

#[test]
fn a_stored_id_that_does_not_parse_reads_as_corrupt_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let f = feed(dir.path(), "f.json", Format::SyftJson, &FeedSpec::default());
    let id = import_file(&mut store, &env_at(&Config::default(), day(0)), "syft", &f);
    drop(store);
    db.sql_exec(&format!(
        "UPDATE snapshots SET id = 'syft-yesterday' WHERE id = {}",
        lit(&id)
    ));
    let store = db.open(OpenMode::ReadOnly);
    for got in [
        store.get_snapshot("syft-yesterday").map(|_| ()),
        store.list_snapshots(&SnapshotFilter::default()).map(|_| ()),
    ] {
        match got {
            Err(StoreError::Corrupt(m)) => assert!(m.contains("syft-yesterday"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}

/// The rollback's last check (the active data hashes to what was verified)
/// reuses the target's content hashes instead of reading bodies again: it
/// gives the snapshot's own normalized hash for the same members, through a
/// delta chain too, and `None` as soon as a member is not among the known.
#[test]
fn the_restore_check_hashes_the_active_data_from_the_verified_content_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::default();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let ids = syft_days(&mut store, dir.path(), &cfg);
    let key = store.tool_key_of("syft").unwrap().unwrap();
    for id in &ids {
        let (snap, pk) = store.get_snapshot_pk(id).unwrap().unwrap();
        let (summary, bad, known) = store
            .rehash_with_hashes(DiffSide::Snapshot(pk), false)
            .unwrap();
        assert!(bad.is_none());
        assert_eq!(
            Some(&summary.normalized_hash),
            snap.normalized_hash.as_ref()
        );
        let got = store.hash_with(DiffSide::Snapshot(pk), &known).unwrap();
        assert_eq!(
            got,
            Some((summary.normalized_hash.clone(), snap.record_count)),
            "{id}"
        );
        // The active data is the newest snapshot's.
        let active = store.hash_with(DiffSide::Active(key), &known).unwrap();
        if id == ids.last().unwrap() {
            assert_eq!(active, Some((summary.normalized_hash, snap.record_count)));
        } else {
            assert_eq!(active, None, "the active data has records {id} does not");
        }
    }
}

/// The dry run diffs the active data against the members its verification
/// of the target already read (SQLite reads only the active side again):
/// the same summary and samples as the diff of the two stored sides, for
/// a checkpoint and for a snapshot read through a delta chain.
#[test]
fn the_dry_runs_diff_to_a_verified_target_is_the_diff_of_the_stored_sides() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::default();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    // 2 % churn keeps the later snapshots deltas on the first; 40 % makes
    // a diff longer than PostgreSQL's lookups of its records take at once.
    for (tool, churn, most) in [("syft", 20, 100), ("grype", 400, 4096)] {
        let ids = import_days(
            &mut store,
            dir.path(),
            &cfg,
            tool,
            Format::SyftJson,
            6_000,
            churn,
        );
        let active = ops::diff::active_side(&store, tool).unwrap();
        for id in &ids {
            let to = ops::diff::snapshot_side(&store, id).unwrap();
            let from_stored = ops::diff::diff(&store, (active, "active"), (to, id), 5).unwrap();
            let (v, read) = ops::snapshots::verify_collect(&store, id, false).unwrap();
            assert!(v.is_ok(), "{id}");
            assert_eq!(read.side(), to);
            let from_read =
                ops::diff::diff_to_verified(&store, (active, "active"), (&read, id), 5).unwrap();
            assert_eq!(from_read, from_stored, "{id}");
            if id == &ids[0] {
                assert!(from_read.total() > most, "{id}: {}", from_read.total());
            }
        }
    }
}

/// Two snapshots over one checkpoint are diffed from their chains' deltas
/// alone (the rest of their members is the checkpoint's): the same diff,
/// samples included, as merging the whole of one side with the other's
/// verified members. Every ordered pair: along the chain, to and from the
/// checkpoint, and between siblings (a rollback to the first snapshot, then
/// a new import: two deltas on it). Runs on both engines.
#[test]
fn a_diff_between_snapshots_of_one_chain_is_the_diff_of_their_members() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::default();
    let db = TestDb::new(dir.path());
    let mut store = db.open(OpenMode::ReadWrite);
    let mut ids = syft_days(&mut store, dir.path(), &cfg);
    execute(
        &mut store,
        &env_at(&cfg, day(4)),
        "syft",
        &Target::Id(ids[0].clone()),
        None,
        "a sibling",
        &Quiet,
    )
    .unwrap();
    let spec = FeedSpec {
        packages: 6_000,
        seed: 9,
        churn_permille: 20,
        ..Default::default()
    };
    let f = feed(dir.path(), "sibling.json", Format::SyftJson, &spec);
    ids.push(import_file(&mut store, &env_at(&cfg, day(5)), "syft", &f));
    let mut pairs = 0;
    for a in &ids {
        let from = ops::diff::snapshot_side(&store, a).unwrap();
        for b in ids.iter().filter(|b| *b != a) {
            let to = ops::diff::snapshot_side(&store, b).unwrap();
            let (v, read) = ops::snapshots::verify_collect(&store, b, false).unwrap();
            assert!(v.is_ok(), "{b}");
            let whole = ops::diff::diff_to_verified(&store, (from, a), (&read, b), 5).unwrap();
            let stored = ops::diff::diff(&store, (from, a), (to, b), 5).unwrap();
            assert_eq!(stored, whole, "{a} -> {b}");
            assert!(whole.total() > 0, "{a} -> {b}");
            pairs += 1;
        }
    }
    assert_eq!(pairs, 12);
    // They are one chain: the first a checkpoint, every later one a delta.
    let deltas = db.sql_one("SELECT count(*) FROM snapshots WHERE base IS NOT NULL");
    assert_eq!(deltas, "3");
}
