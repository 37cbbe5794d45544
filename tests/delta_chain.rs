//! Delta membership (issue 14): a daily import stores only what changed
//! since the tool's active snapshot, chains are cut by checkpoints, and
//! retention deleting a snapshot in the middle of a chain leaves every
//! other snapshot readable, verifiable and restorable.
//!
//! Runs on PostgreSQL too when `SNAPGOV_TEST_POSTGRES` names a database.

mod common;

use common::sql::lit;
use common::*;
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;

fn spec(packages: u64, seed: u64, churn_permille: u64) -> FeedSpec {
    FeedSpec {
        packages,
        seed,
        churn_permille,
        ..Default::default()
    }
}

/// The rows a snapshot keeps in the membership table, and whether it has
/// a base (is a delta).
fn stored_rows(sb: &Sandbox, id: &str) -> (u64, bool) {
    let rows = sb.sql_one(&format!(
        "SELECT count(*) FROM snapshot_records s JOIN snapshots p ON p.pk = s.snapshot WHERE p.id = {}",
        lit(id)
    ));
    let base = sb.sql_one(&format!(
        "SELECT count(*) FROM snapshots WHERE id = {} AND base IS NOT NULL",
        lit(id)
    ));
    (rows.parse().unwrap(), base == "1")
}

/// The tool's active records as `ingest records` prints them.
fn records(sb: &Sandbox, tool: &str) -> String {
    sb.ok(&[
        "--json",
        "ingest",
        "records",
        "--tool",
        tool,
        "--override",
        "test",
    ])
    .stdout
}

fn rollback_to(sb: &Sandbox, tool: &str, id: &str) {
    sb.ok(&[
        "ingest",
        "rollback",
        "--tool",
        tool,
        "--snapshot-id",
        id,
        "--force",
        "--reason",
        "check the chain",
    ]);
}

/// `ingest verify --all`: every snapshot with records re-hashes to its
/// normalizedHash.
fn verify_all(sb: &Sandbox) {
    let v = sb.json(&["ingest", "verify", "--all"]);
    let all = v["verify"].as_array().unwrap();
    assert!(!all.is_empty());
    for s in all {
        assert_eq!(s["status"], "verified", "{v}");
    }
}

#[test]
fn deleting_snapshots_inside_a_delta_chain_keeps_the_others_restorable() {
    let mut sb = Sandbox::with_config(
        "[retention]\nprevious_max_age = \"P1D\"\narchived_max_age = \"P1D\"\n",
    );
    let mut snaps: Vec<(String, String)> = Vec::new();
    for day in 1..=5u64 {
        let churn = if day == 1 { 0 } else { 20 };
        let f = sb.feed(
            &format!("day{day}.json"),
            Format::SyftJson,
            &spec(400, day, churn),
        );
        sb.now = format!("2025-11-0{day}T00:00:00Z");
        let id = sb.import("syft", &[], &f)["id"]
            .as_str()
            .unwrap()
            .to_string();
        snaps.push((id, records(&sb, "syft")));
    }
    // The first is a checkpoint; each later one stores only its changes.
    assert_eq!(stored_rows(&sb, &snaps[0].0), (400, false));
    for (id, _) in &snaps[1..] {
        let (rows, delta) = stored_rows(&sb, id);
        assert!(delta && rows > 0 && rows < 100, "{id}: {rows} rows");
    }
    // Hold the 2nd and 4th; retention archives, then deletes, the 1st
    // (the chain's checkpoint) and the 3rd (in its middle).
    for i in [1, 3] {
        sb.ok(&[
            "ingest",
            "retention",
            "hold",
            "add",
            &snaps[i].0,
            "--reason",
            "keep",
            "--until",
            "2026-06-01T00:00:00Z",
        ]);
    }
    sb.now = "2025-11-10T00:00:00Z".into();
    sb.ok(&["ingest", "retention", "run"]);
    sb.now = "2025-11-20T00:00:00Z".into();
    sb.ok(&["ingest", "retention", "run"]);
    for i in [0, 2] {
        assert_eq!(sb.snapshot(&snaps[i].0)["state"], "deleted");
        assert_eq!(stored_rows(&sb, &snaps[i].0), (0, false));
    }
    // The 2nd became the checkpoint; the 4th's delta now holds the 3rd's.
    assert!(!stored_rows(&sb, &snaps[1].0).1);
    assert!(stored_rows(&sb, &snaps[3].0).1);
    verify_all(&sb);
    for i in [3, 1, 4] {
        rollback_to(&sb, "syft", &snaps[i].0);
        assert_eq!(
            records(&sb, "syft"),
            snaps[i].1,
            "after rolling back to #{i}"
        );
        verify_all(&sb);
    }
}

#[test]
fn long_chains_and_large_changes_start_a_checkpoint() {
    let mut sb = Sandbox::new();
    let mut ids = Vec::new();
    // 34 daily imports alternating two feeds a few packages apart (their
    // deltas together stay under half the checkpoint).
    for i in 0..34u64 {
        let f = sb.feed(
            &format!("f{i}.json"),
            Format::SyftJson,
            &spec(2000, 1 + i % 2, if i % 2 == 0 { 0 } else { 3 }),
        );
        sb.now = format!("2025-{:02}-{:02}T00:00:00Z", 10 + i / 28, 1 + i % 28);
        ids.push(
            sb.import("syft", &[], &f)["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let deltas: Vec<bool> = ids.iter().map(|id| stored_rows(&sb, id).1).collect();
    // The 1st is a checkpoint, then 32 deltas, then a checkpoint again.
    assert!(
        !deltas[0] && deltas[1..33].iter().all(|d| *d) && !deltas[33],
        "{deltas:?}"
    );
    // A feed that replaces most records is stored in full.
    let f = sb.feed("big.json", Format::SyftJson, &spec(2000, 7, 900));
    sb.now = "2025-11-20T00:00:00Z".into();
    let id = sb.import("syft", &["--allow-shrink"], &f)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (rows, delta) = stored_rows(&sb, &id);
    assert!(!delta && rows > 1900, "{rows} rows, delta {delta}");
    verify_all(&sb);
    rollback_to(&sb, "syft", &ids[20]);
    verify_all(&sb);
}

/// The chain is covered by verification: pointing a delta at another base,
/// or making the chain a loop, is reported, never read as good data.
#[test]
fn a_tampered_chain_fails_verification() {
    let mut sb = Sandbox::new();
    let mut ids = Vec::new();
    for day in 1..=3u64 {
        let f = sb.feed(
            &format!("d{day}.json"),
            Format::SyftJson,
            &spec(300, day, if day == 1 { 0 } else { 30 }),
        );
        sb.now = format!("2025-11-0{day}T00:00:00Z");
        ids.push(
            sb.import("syft", &[], &f)["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(stored_rows(&sb, &ids[2]).1);
    let pk = |id: &str| sb.sql_one(&format!("SELECT pk FROM snapshots WHERE id = {}", lit(id)));
    let (p0, p1, p2) = (pk(&ids[0]), pk(&ids[1]), pk(&ids[2]));

    // The 2nd read as a checkpoint: only its changes are left.
    sb.sql_exec(&format!("UPDATE snapshots SET base = NULL WHERE pk = {p1}"));
    for id in &ids[1..] {
        let r = sb.run(&["--json", "ingest", "verify", id]);
        assert_eq!(r.code, 6, "{id}: {r:?}");
        assert!(
            r.stderr.contains("does not verify") || r.stderr.contains("inconsistent"),
            "{r:?}"
        );
    }
    sb.sql_exec(&format!("UPDATE snapshots SET base = {p0} WHERE pk = {p1}"));
    assert_eq!(sb.run(&["ingest", "verify", &ids[2]]).code, 0);

    // A loop: the 2nd based on the 3rd.
    sb.sql_exec(&format!("UPDATE snapshots SET base = {p2} WHERE pk = {p1}"));
    let r = sb.run(&["ingest", "verify", &ids[2]]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("delta chain"), "{}", r.stderr);
}
