//! PostgreSQL's bulk import paths give what SQLite gives: the first import
//! into an empty store (rows copied straight into `records`, possible
//! duplicates held back and merged at the end) and later imports (staged),
//! with feeds that list packages more than once, identically or with
//! different details, and past the per-record set cap.
//!
//! SQLite's own first import into an empty store, which loads `records`
//! before building its index on the hash, is checked against its import
//! into a store that already holds records.
//!
//! The PostgreSQL tests run when SNAPGOV_TEST_POSTGRES names a database
//! (`postgres://root@127.0.0.1:5432/test?sslmode=disable`); it creates and
//! drops its own schema there. Without it, it says so and passes.

mod common;

use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};
use snapgov::config::Config;
use snapgov::ops::import::{import, ImportRequest, Input};
use snapgov::ops::{Clock, Env, NoProgress};
use snapgov::store::prelude::*;
use snapgov::store::{Location, OpenMode, RecordFilter, Store};

fn artifact(name: &str, version: &str, locs: &[String], license: &str) -> Value {
    json!({
        "id": format!("{name}-{version}"),
        "name": name,
        "version": version,
        "type": "deb",
        "purl": format!("pkg:deb/{name}@{version}"),
        "licenses": [{"value": license, "spdxExpression": license, "type": "declared"}],
        "locations": locs.iter().map(|p| json!({"path": p})).collect::<Vec<_>>(),
    })
}

fn feed(artifacts: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "artifacts": artifacts,
        "artifactRelationships": [],
        "descriptor": {"name": "syft", "version": "1.32.0"},
        "source": {"type": "image", "target": {"userInput": "app:1"}},
        "schema": {"version": "16.0.40", "url": "https://example.invalid/schema.json"},
    }))
    .unwrap()
}

/// Packages of the first feed: more than the 10,000 rows from which a first
/// import into an empty store loads its tables before building their
/// indexes, so that path is compared with SQLite too.
const PACKAGES: usize = 10_500;

/// Feeds with duplicates: identical repeats, repeats with other details,
/// and one package listed three times with 700 locations each (past the
/// cap of 1000 once merged).
fn feeds() -> Vec<Vec<u8>> {
    let locs = |k: usize, n: usize| -> Vec<String> {
        (0..n).map(|i| format!("/opt/{k}/{i:04}")).collect()
    };
    let mut a = Vec::new();
    for i in 0..PACKAGES {
        a.push(artifact(&format!("pkg{i}"), "1.0", &locs(0, 1), "MIT"));
        if i % 97 == 0 {
            a.push(artifact(&format!("pkg{i}"), "1.0", &locs(0, 1), "MIT"));
        }
        if i % 89 == 0 {
            a.push(artifact(
                &format!("pkg{i}"),
                "1.0",
                &locs(i, 2),
                "Apache-2.0",
            ));
        }
    }
    for k in 0..3 {
        a.push(artifact("big", "2.0", &locs(k, 700), "MIT"));
    }
    let first = feed(a.clone());
    // The next day: some packages gone, some changed, the duplicates kept.
    a.retain(|v| !v["name"].as_str().unwrap().ends_with('7'));
    for i in PACKAGES..PACKAGES + 100 {
        a.push(artifact(&format!("pkg{i}"), "1.1", &locs(1, 1), "MIT"));
        a.push(artifact(&format!("pkg{i}"), "1.1", &locs(2, 1), "ISC"));
    }
    vec![first, feed(a)]
}

/// Imports `bytes`, written to `path`, for `tool` on day `day` of the
/// tests' clock; the outcome as JSON.
fn import_at(
    store: &mut Store,
    path: &std::path::Path,
    bytes: &[u8],
    tool: &str,
    day: i64,
) -> snapgov::ops::Result<Value> {
    std::fs::write(path, bytes).unwrap();
    let t0 = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
    let env = Env::new(
        Config::default(),
        "tester",
        Clock::Fixed(t0 + Duration::days(day)),
    );
    let req = ImportRequest::new(tool, vec![Input::File(path.to_path_buf())]);
    import(store, &env, &req, &NoProgress).map(|o| serde_json::to_value(&o).unwrap())
}

/// What a user sees of each import and of the store afterwards.
fn run(location: Location, dir: &std::path::Path) -> Vec<Value> {
    let mut store = Store::open(location, OpenMode::ReadWrite).expect("store");
    let mut seen = Vec::new();
    let feeds = feeds();
    // Feed 1, feed 2, feed 1 again (its records now exist), another tool.
    for (day, (tool, k)) in [("syft", 0), ("syft", 1), ("syft", 0), ("other", 1)]
        .into_iter()
        .enumerate()
    {
        let path = dir.join(format!("feed{day}.json"));
        let out = import_at(&mut store, &path, &feeds[k], tool, day as i64).expect("import");
        seen.push(out);
        seen.push(json!(active_bodies(&mut store, tool)));
    }
    seen
}

/// The body of each of the tool's active records, in the store's order.
fn active_bodies(store: &mut Store, tool: &str) -> Vec<String> {
    store
        .read(|r| -> snapgov::ops::Result<Vec<String>> {
            let key = r.tool_key_of(tool)?.expect("tool");
            let mut v = Vec::new();
            r.for_each_active_record(key, &RecordFilter::default(), |b| {
                v.push(b.to_string());
                Ok::<_, snapgov::store::StoreError>(())
            })?;
            Ok(v)
        })
        .expect("records")
}

#[test]
fn pg_bulk_paths_match_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let pg_db = common::pg::TestDb::new(dir.path());
    if !pg_db.is_postgres() {
        eprintln!("SNAPGOV_TEST_POSTGRES is not set: skipped");
        return;
    }
    let lite = run(Location::parse(dir.path().join("s.db")), dir.path());
    let pg = run(Location::parse(pg_db.location()), dir.path());
    // The feeds do merge and cap, so both paths are exercised.
    assert!(
        lite[0]["recordsMerged"].as_u64().unwrap() > 0,
        "{}",
        lite[0]
    );
    assert!(lite[0].to_string().contains("dropped"), "{}", lite[0]);
    for (i, (a, b)) in lite.iter().zip(&pg).enumerate() {
        assert_eq!(a, b, "step {i} differs between SQLite and PostgreSQL");
    }
}

/// The indexes and constraints of the store's tables, as PostgreSQL
/// describes them.
fn indexes(admin: &mut postgres::Client, schema: &str) -> Vec<String> {
    let rows = admin
        .query(
            "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE schemaname = $1 \
             UNION ALL SELECT conname || ': ' || pg_get_constraintdef(c.oid) FROM pg_constraint c \
             JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 ORDER BY 1",
            &[&schema],
        )
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

fn import_feed(
    store: &mut Store,
    dir: &std::path::Path,
    bytes: &[u8],
) -> snapgov::ops::Result<Value> {
    import_at(store, &dir.join("big.json"), bytes, "syft", 0)
}

/// A first import into an empty store drops the indexes of the tables it
/// loads and builds them after the load. Whatever happens, the store keeps
/// the indexes its schema made: after the import, after an import that
/// failed past the load, and when another connection's read holds a table
/// (the import then loads it with its indexes in place, without waiting).
#[test]
fn a_first_import_leaves_the_indexes_as_the_schema_made_them() {
    let dir = tempfile::tempdir().unwrap();
    let pg_db = common::pg::TestDb::new(dir.path());
    let (Some(mut admin), Some(schema)) = (pg_db.admin(), pg_db.schema()) else {
        eprintln!("SNAPGOV_TEST_POSTGRES is not set: skipped");
        return;
    };
    let mut store = Store::open(Location::parse(pg_db.location()), OpenMode::ReadWrite).unwrap();
    let made = indexes(&mut admin, schema);
    assert!(
        made.iter()
            .any(|i| i.starts_with("records_hash_key: UNIQUE")),
        "{made:?}"
    );
    let first = feeds().remove(0);

    // Fails at the feed's end, after its rows were loaded.
    let cut = &first[..first.len() - 20];
    let err = import_feed(&mut store, dir.path(), cut).unwrap_err();
    assert!(err.to_string().contains("big.json"), "{err}");
    assert_eq!(indexes(&mut admin, schema), made, "after a failed import");
    assert_eq!(count(&mut admin, schema, "records"), 0);

    // Another connection reads `records` in an open transaction.
    let mut reader = pg_db.admin().unwrap();
    let mut held = reader.transaction().unwrap();
    held.query(&format!("SELECT count(*) FROM \"{schema}\".records"), &[])
        .unwrap();
    let out = import_feed(&mut store, dir.path(), &first).expect("import beside a reader");
    held.rollback().unwrap();
    assert_eq!(
        indexes(&mut admin, schema),
        made,
        "after an import beside a reader"
    );
    let n = out["snapshot"]["recordCount"].as_i64().unwrap();
    assert!(n > PACKAGES as i64, "{out}");
    assert_eq!(count(&mut admin, schema, "active_records"), n);

    // A fresh store, nobody else reading: the loads go without the indexes.
    let pg2 = common::pg::TestDb::new(dir.path());
    let schema2 = pg2.schema().unwrap();
    let mut store2 = Store::open(Location::parse(pg2.location()), OpenMode::ReadWrite).unwrap();
    let made2 = indexes(&mut admin, schema2);
    let out2 = import_feed(&mut store2, dir.path(), &first).expect("import");
    assert_eq!(indexes(&mut admin, schema2), made2, "after a first import");
    assert_eq!(
        out2["snapshot"]["normalizedHash"],
        out["snapshot"]["normalizedHash"]
    );
    assert_eq!(count(&mut admin, schema2, "active_records"), n);
    // The unique index on the hash is in use again: the same feed imported
    // again adds no record.
    let records = count(&mut admin, schema2, "records");
    import_feed(&mut store2, dir.path(), &first).expect("import again");
    assert_eq!(count(&mut admin, schema2, "records"), records);
}

fn count(admin: &mut postgres::Client, schema: &str, table: &str) -> i64 {
    admin
        .query_one(&format!("SELECT count(*) FROM \"{schema}\".{table}"), &[])
        .unwrap()
        .get(0)
}

/// One SQLite query's single number.
fn lite_count(path: &std::path::Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The indexes of a SQLite store, as its schema holds them.
fn lite_indexes(path: &std::path::Path) -> Vec<(String, Option<String>)> {
    let c = rusqlite::Connection::open(path).unwrap();
    let mut q = c
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .unwrap();
    let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

/// A first import into an empty SQLite store writes `records` without the
/// index on their hash and builds it at the end, merging the feed's
/// repeated packages without it. It ends as the same import into a store
/// that already holds records (which goes through the index): the same
/// hashes, counts and bodies, no record left over from merging, and the
/// schema's indexes in place, also after an import that failed past the
/// load.
#[test]
fn a_first_import_into_an_empty_sqlite_store_ends_as_any_other_import() {
    let dir = tempfile::tempdir().unwrap();
    let (pa, pb) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let mut a = Store::open(Location::parse(&pa), OpenMode::ReadWrite).unwrap();
    let made = lite_indexes(&pa);
    assert!(made.iter().any(|(n, _)| n == "records_by_hash"), "{made:?}");
    let feeds = feeds();
    let first = &feeds[0];

    let cut = &first[..first.len() - 20];
    let err = import_feed(&mut a, dir.path(), cut).unwrap_err();
    assert!(err.to_string().contains("big.json"), "{err}");
    assert_eq!(lite_indexes(&pa), made, "after a failed import");
    assert_eq!(lite_count(&pa, "SELECT count(*) FROM records"), 0);

    let out_a = import_feed(&mut a, dir.path(), first).expect("first import");
    assert_eq!(lite_indexes(&pa), made, "after a first import");

    let mut b = Store::open(Location::parse(&pb), OpenMode::ReadWrite).unwrap();
    import_at(
        &mut b,
        &dir.path().join("other.json"),
        &feeds[1],
        "other",
        0,
    )
    .expect("other");
    let out_b = import_feed(&mut b, dir.path(), first).expect("import beside records");
    assert!(out_a["recordsMerged"].as_u64().unwrap() > 0, "{out_a}");
    for key in ["recordsMerged", "warnings"] {
        assert_eq!(out_a[key], out_b[key], "{key}");
    }
    for key in ["normalizedHash", "recordCount", "sourceHash"] {
        assert_eq!(out_a["snapshot"][key], out_b["snapshot"][key], "{key}");
    }
    assert_eq!(active_bodies(&mut a, "syft"), active_bodies(&mut b, "syft"));
    let n = out_a["snapshot"]["recordCount"].as_i64().unwrap();
    assert_eq!(lite_count(&pa, "SELECT count(*) FROM records"), n);
    assert_eq!(
        lite_count(
            &pa,
            "SELECT count(*) FROM records WHERE id NOT IN (SELECT record FROM snapshot_records)"
        ),
        0,
        "records merged away are gone"
    );
    let id = out_a["snapshot"]["id"].as_str().unwrap();
    let v = serde_json::to_value(snapgov::ops::snapshots::verify_deep(&a, id).unwrap()).unwrap();
    assert_eq!(v["status"], "verified", "{v}");
    // The index on the hash works again: the same feed adds no record.
    import_at(&mut a, &dir.path().join("again.json"), first, "syft", 1).expect("again");
    assert_eq!(lite_count(&pa, "SELECT count(*) FROM records"), n);
}

/// SQLite's unique index on `records` holds the first 16 bytes of each
/// hash (schema 5). A record whose hash shares them with a stored record's
/// but not the rest (with BLAKE3, a forgery, or a row edited by hand) is
/// refused with an error naming its hash; the records and the tool's active
/// snapshot stay as they were.
#[test]
fn a_record_sharing_the_first_half_of_its_hash_with_another_is_refused_by_name() {
    use common::Sandbox;
    use snapgov::ingest::Format;
    use snapgov::synthetic_feed::FeedSpec;
    let spec = |packages| FeedSpec {
        packages,
        ..Default::default()
    };
    let probe = Sandbox::sqlite_with_config("");
    let feed = probe.feed("f.json", Format::SyftJson, &spec(20));
    probe.import("syft", &[], &feed);
    let sb = Sandbox::sqlite_with_config("");
    sb.import("syft", &[], &sb.feed("g.json", Format::SyftJson, &spec(10)));
    // A record of the feed that the store does not hold yet.
    let hashes = "SELECT lower(hex(hash)) FROM records ORDER BY id";
    let held = sb.sql_rows(hashes);
    let victim = probe
        .sql_rows(hashes)
        .into_iter()
        .find(|h| !held.contains(h))
        .expect("the larger feed has records the smaller lacks")
        .remove(0);
    let tail = if victim.ends_with('f') { "0" } else { "f" };
    sb.sql_exec(&format!(
        "INSERT INTO records (hash, kind, subject, body) VALUES (unhex('{}{}'), 'package', 'forged', '{{}}')",
        &victim[..63],
        tail
    ));
    let records = "SELECT id, hex(hash), body FROM records ORDER BY id";
    let (before, active) = (sb.sql_rows(records), sb.active_id("syft"));

    let feed = feed.to_str().unwrap();
    let r = sb.run(&common::import_args("syft", &[], feed));
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains(&victim) && r.stderr.contains("first 16 bytes"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.sql_rows(records), before);
    assert_eq!(sb.active_id("syft"), active);
}
