//! A record edited, removed or relinked deep in a long chain (inside or at
//! the edge of any 1,024-record run, as a chunked walk would cut it; `audit
//! verify` reads the trail in batches of 2,048 handed to a second thread) is
//! reported by `audit verify` exactly as a record-by-record walk
//! (`ChainWalker::feed`) reports it: the same first failure, the same number
//! of records checked, the same head.

use chrono::{Duration, TimeZone, Utc};
use snapgov::config::Config;
use snapgov::domain::audit::{AuditEvent, ChainBreak, ChainWalker, NewAudit, GENESIS_HASH};
use snapgov::ops::{Clock, Env};
use snapgov::store::prelude::*;
use snapgov::store::{OpenMode, Store, StoreError};
use std::path::Path;

/// More than three chunks of 1024 records.
const RECORDS: u64 = 3 * 1024 + 100;

fn build(db: &Path) {
    let mut store = Store::open(db, OpenMode::ReadWrite).unwrap();
    let t0 = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
    store
        .write(|tx| -> Result<(), StoreError> {
            for i in 0..RECORDS {
                tx.append_audit(&NewAudit {
                    event: AuditEvent::SnapshotActivated,
                    timestamp: t0 + Duration::seconds(i as i64),
                    user: "tester".into(),
                    tool: Some("syft".into()),
                    snapshot_id: None,
                    details: serde_json::json!({"snapshotId": format!("syft-x-{i}"), "cause": "import", "recordsAffected": i}),
                })?;
            }
            Ok(())
        })
        .unwrap();
}

/// What the serial walk reports: the first failure, records checked, and
/// the last record checked; or the store's error.
type Serial = Result<(Option<ChainBreak>, u64, Option<String>), String>;

fn serial(store: &Store) -> Serial {
    let mut walker = ChainWalker::new(GENESIS_HASH);
    let (mut expected, mut failure, mut last) = (1u64, None, None);
    store
        .audit_walk(|seq, rec| {
            if seq != expected {
                failure = Some(ChainBreak::Missing {
                    id: rec.id.clone(),
                    missing_from: expected,
                });
                return Ok(false);
            }
            expected = seq + 1;
            if let Err(b) = walker.feed(seq, &rec) {
                failure = Some(b);
                return Ok(false);
            }
            last = Some(rec.id.clone());
            Ok(true)
        })
        .map_err(|e| e.to_string())?;
    Ok((failure, walker.checked, last))
}

fn parallel(store: &Store) -> Serial {
    let env = Env::new(Config::default(), "tester", Clock::System);
    let rep = snapgov::ops::audit::verify(store, &env, None).map_err(|e| match e {
        snapgov::ops::OpError::Store(e) => e.to_string(),
        other => panic!("not a store error: {other}"),
    })?;
    Ok((rep.first_failure, rep.records_checked, rep.head))
}

/// Builds a trail, applies `sql`, and checks that verify reports what the
/// serial walk reports, and what `expect` says.
fn check(what: &str, sql: &str, expect: impl Fn(&Serial)) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    build(&db);
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(sql).unwrap();
    drop(c);
    let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
    let want = serial(&store);
    expect(&want);
    assert_eq!(parallel(&store), want, "{what}");
}

fn edited(id: &str) -> impl Fn(&Serial) + '_ {
    move |s| {
        let (failure, _, _) = s.as_ref().unwrap();
        assert_eq!(*failure, Some(ChainBreak::Edited { id: id.into() }));
    }
}

#[test]
fn an_untouched_trail_checks_every_record() {
    check("untouched", "", |s| {
        assert_eq!(*s, Ok((None, RECORDS, Some(format!("audit-{RECORDS}")))));
    });
}

#[test]
fn an_edit_in_a_later_chunk_or_at_a_chunk_edge_is_the_serial_walks_failure() {
    for seq in [1500, 1023, 1024, 1025, 2048, 2049, RECORDS] {
        check(
            &format!("edit audit-{seq}"),
            &format!("UPDATE audit SET user = 'mallory' WHERE seq = {seq}"),
            edited(&format!("audit-{seq}")),
        );
    }
}

#[test]
fn two_edits_report_the_first_even_when_the_later_chunk_is_hashed_first() {
    check(
        "edits at 2049 and 1700",
        "UPDATE audit SET user = 'mallory' WHERE seq IN (1700, 2049)",
        edited("audit-1700"),
    );
}

#[test]
fn a_record_removed_at_a_chunk_edge_is_missing_as_in_the_serial_walk() {
    check("delete 1025", "DELETE FROM audit WHERE seq = 1025", |s| {
        let (failure, checked, _) = s.as_ref().unwrap();
        assert_eq!(
            *failure,
            Some(ChainBreak::Missing {
                id: "audit-1026".into(),
                missing_from: 1025
            })
        );
        assert_eq!(*checked, 1024);
    });
}

#[test]
fn a_record_relinked_at_a_chunk_edge_is_a_gap_as_in_the_serial_walk() {
    // Record 1025 (the first of the second chunk) becomes a copy of 1024
    // (the last of the first) under its own id: its hash matches its
    // content, but it links to what 1024 links to, not to 1024.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    build(&db);
    let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
    let a = store.audit_get(1024).unwrap().unwrap();
    drop(store);
    let mut forged = a.clone();
    forged.id = "audit-1025".into();
    forged.prev_hash = a.prev_hash.clone();
    forged.hash = forged.expected_hash();
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute(
        "UPDATE audit SET id = ?1, event = ?2, timestamp = (SELECT timestamp FROM audit WHERE seq = 1024), user = ?3, details = ?4, prev_hash = ?5, hash = ?6 WHERE seq = 1025",
        rusqlite::params![
            forged.id,
            forged.event,
            forged.user,
            serde_json::to_string(&forged.details).unwrap(),
            forged.prev_hash,
            forged.hash
        ],
    )
    .unwrap();
    drop(c);
    let store = Store::open(&db, OpenMode::ReadOnly).unwrap();
    let want = serial(&store);
    let (failure, checked, _) = want.as_ref().unwrap();
    assert!(
        matches!(failure, Some(ChainBreak::Gap { id, .. }) if id == "audit-1025"),
        "{failure:?}"
    );
    assert_eq!(*checked, 1024);
    assert_eq!(parallel(&store), want);
}

#[test]
fn an_unreadable_row_is_an_error_unless_an_earlier_record_already_failed() {
    let unreadable = "UPDATE audit SET details = 'not json' WHERE seq = 2500";
    check("unreadable 2500", unreadable, |s| {
        assert!(s.as_ref().is_err_and(|e| e.contains("audit-2500")), "{s:?}");
    });
    check(
        "edit 1800, unreadable 2500",
        &format!("{unreadable}; UPDATE audit SET user = 'mallory' WHERE seq = 1800"),
        edited("audit-1800"),
    );
    // Two unreadable columns of one row: the same one is named as in the
    // serial walk (the timestamp is read first).
    check(
        "unreadable timestamp and details at 2500",
        &format!("{unreadable}; UPDATE audit SET timestamp = 'yesterday' WHERE seq = 2500"),
        |s| {
            assert!(
                s.as_ref()
                    .is_err_and(|e| e.contains("audit-2500: unreadable timestamp")),
                "{s:?}"
            );
        },
    );
}

/// A column that cannot be read at all (bytes where text must be) fails
/// where the database is read, a batch ahead of the walk: still an error
/// only if no earlier record failed, as in the serial walk.
#[test]
fn a_row_the_reader_cannot_copy_is_an_error_unless_an_earlier_record_already_failed() {
    let null = "UPDATE audit SET prev_hash = X'FFFE' WHERE seq = 2500";
    check("binary prev_hash at 2500", null, |s| {
        assert!(s.is_err(), "{s:?}");
    });
    check(
        "edit 1800, binary prev_hash at 2500",
        &format!("{null}; UPDATE audit SET user = 'mallory' WHERE seq = 1800"),
        edited("audit-1800"),
    );
}
