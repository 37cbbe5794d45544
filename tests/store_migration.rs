//! A store written before delta membership (schema version 2, by snapgov
//! at 58248d1; see `tests/fixtures/store-v2/README.md`) opens, migrates in
//! place, reads exactly as it did, and takes delta snapshots afterwards.
//!
//! Always on SQLite: the fixture is a SQLite file.

mod common;

use common::*;
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/store-v2")
        .join(name)
}

fn expected(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

/// The fixture's store copied into a fresh sandbox, at the clock its
/// expected outputs were taken at.
fn old_store() -> Sandbox {
    let mut sb = Sandbox::sqlite_with_config("");
    std::fs::copy(fixture("store.db"), sb.db()).unwrap();
    sb.now = "2025-11-03T00:00:00Z".into();
    sb
}

/// [`old_store`], a Syft feed for its next import, and the clock moved to
/// the day after the fixture's.
fn old_store_and_next_feed(packages: u64, seed: u64, churn_permille: u64) -> (Sandbox, PathBuf) {
    let mut sb = old_store();
    let spec = FeedSpec {
        packages,
        seed,
        churn_permille,
        ..Default::default()
    };
    let f = sb.feed("next.json", Format::SyftJson, &spec);
    sb.now = "2025-11-04T00:00:00Z".into();
    (sb, f)
}

#[test]
fn a_version_2_store_migrates_in_place_and_reads_the_same() {
    let sb = old_store();
    assert_eq!(sb.sql_one("PRAGMA user_version"), "2");
    // A read opens the store read-only, so it says how to migrate.
    let r = sb.run(&["ingest", "snapshots"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("needs upgrading") && r.stderr.contains("snapgov store migrate"),
        "{}",
        r.stderr
    );
    let m = sb.json(&["store", "migrate"]);
    let to = snapgov::store::schema_version();
    assert_eq!(m["migrate"]["from"], 2, "{m}");
    assert_eq!(m["migrate"]["to"], to, "{m}");
    assert_eq!(sb.sql_one("PRAGMA user_version"), to.to_string());
    // Again: nothing to do, and it says so.
    let again = sb.ok(&["store", "migrate"]).stdout;
    assert!(again.contains("already current"), "{again}");
    // Every reading is what the old binary printed.
    assert_eq!(
        sb.json(&["ingest", "snapshots"]),
        expected("snapshots.json")
    );
    assert_eq!(
        sb.json(&["ingest", "audit", "list", "--limit", "1000"]),
        expected("audit.json")
    );
    assert_eq!(
        sb.json(&["ingest", "verify", "--all"]),
        expected("verify-all.json")
    );
    for tool in ["syft", "trivy"] {
        // JSON lines, one record each: compared as text.
        assert_eq!(
            sb.ok(&["--json", "ingest", "records", "--tool", tool])
                .stdout,
            std::fs::read_to_string(fixture(&format!("{tool}-records.json"))).unwrap(),
            "{tool}"
        );
    }
    let chain = sb.json(&["ingest", "audit", "verify"]);
    assert_eq!(chain["verify"]["status"], "ok", "{chain}");
    assert_eq!(chain["verify"]["recordsChecked"], 10, "{chain}");
}

#[test]
fn a_migrated_store_stores_the_next_import_as_a_delta_and_rolls_back() {
    let (sb, f) = old_store_and_next_feed(200, 5, 30);
    let snap = sb.import("syft", &[], &f);
    let id = snap["id"].as_str().unwrap();
    let rows: u64 = sb
        .sql_one(&format!(
            "SELECT count(*) FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = '{id}' AND base IS NOT NULL)"
        ))
        .parse()
        .unwrap();
    assert!(rows > 0 && rows < 100, "{rows} delta rows");
    let all = sb.json(&["ingest", "verify", "--all"]);
    for s in all["verify"].as_array().unwrap() {
        assert_eq!(s["status"], "verified", "{all}");
    }
    sb.ok(&[
        "ingest",
        "rollback",
        "--tool",
        "syft",
        "--snapshot-id",
        "syft-20251101T000000Z-001",
        "--force",
        "--reason",
        "back to the first",
    ]);
    let old_first: serde_json::Value = expected("snapshots.json");
    let first = &old_first["snapshots"][0];
    assert_eq!(first["id"], "syft-20251101T000000Z-001");
    let now = sb.snapshot("syft-20251101T000000Z-001");
    assert_eq!(now["normalizedHash"], first["normalizedHash"]);
    assert_eq!(now["state"], "active");
}

/// The records' uniqueness on their hash moves, in place, from the table's
/// inline `UNIQUE` (an index SQLite never lets go) to an index of its own,
/// so that a first import can build it after loading (issue 14). Every
/// record keeps its id and content, and the hash stays unique.
#[test]
fn a_migrated_store_keeps_its_records_and_their_hash_under_a_named_unique_index() {
    let sb = old_store();
    let before =
        sb.sql_rows("SELECT id, hex(hash), kind, severity, subject, body FROM records ORDER BY id");
    assert!(before.len() >= 10, "{} records", before.len());
    sb.ok(&["store", "migrate"]);
    let after =
        sb.sql_rows("SELECT id, hex(hash), kind, severity, subject, body FROM records ORDER BY id");
    assert_eq!(after, before);
    let indexes = sb.sql_rows(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' ORDER BY name",
    );
    assert_eq!(
        indexes,
        vec![vec![
            "records_by_hash".to_string(),
            "CREATE UNIQUE INDEX records_by_hash ON records (substr(hash, 1, 16))".to_string()
        ]],
        "{indexes:?}"
    );
    // A new store's schema is the migrated one's.
    let fresh = Sandbox::sqlite_with_config("");
    fresh.ok(&["store", "migrate"]);
    let schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name";
    assert_eq!(sb.sql_rows(schema), fresh.sql_rows(schema));
    let dup = format!(
        "INSERT INTO records (hash, kind, subject, body) SELECT hash, kind, subject, body FROM records WHERE id = {}",
        before[0][0]
    );
    let refused = std::panic::catch_unwind(|| sb.sql_exec(&dup));
    assert!(
        refused.is_err(),
        "a second record with the same hash was stored"
    );
}

/// `store migrate` says what it is doing while it works: on a large store
/// the copy of the records takes seconds (about 4 s per million). Nothing
/// of it with --json.
#[test]
fn store_migrate_says_what_it_is_doing() {
    let stderr_of = |args: &[&str]| {
        let out = old_store()
            .cmd(args)
            .env("SNAPGOV_PROGRESS", "always")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let shown = stderr_of(&["store", "migrate"]);
    assert!(shown.contains("migrating the store's schema"), "{shown}");
    let json = stderr_of(&["--json", "store", "migrate"]);
    assert!(!json.contains("migrating"), "{json}");
}

/// A write command on a store an older snapgov wrote upgrades it first (a
/// read would refuse), and says so on stderr, so that an operator knows
/// why that one command took longer; the next write says nothing.
#[test]
fn a_write_that_upgrades_the_store_first_says_so() {
    let (sb, f) = old_store_and_next_feed(50, 9, 0);
    let file = f.to_str().unwrap();
    let first = sb.ok(&import_args("probe", &[], file));
    let to = snapgov::store::schema_version();
    assert!(
        first
            .stderr
            .contains(&format!("schema upgraded from version 2 to {to}")),
        "{}",
        first.stderr
    );
    let second = sb.ok(&import_args("probe2", &[], file));
    assert!(!second.stderr.contains("upgraded"), "{}", second.stderr);
}

/// `serve` on a store an older snapgov wrote upgrades it before taking
/// requests, and says so before its "listening on" line.
#[test]
fn serve_says_when_it_upgraded_the_store() {
    use std::io::BufRead;
    let sb = old_store();
    let mut child = sb
        .cmd(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("listening on ");
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let to = snapgov::store::schema_version();
    assert!(
        lines.last().is_some_and(|l| l.starts_with("listening on ")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("schema upgraded from version 2 to {to}"))),
        "{lines:?}"
    );
}
