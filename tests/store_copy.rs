//! `snapgov store copy`: a whole store moved between SQLite and PostgreSQL
//! (and between two SQLite files), shown to be the same store by what users
//! read from it, and a failed copy leaving its target empty.
//!
//! The PostgreSQL test runs when `SNAPGOV_TEST_POSTGRES` names a database
//! URL (e.g. postgres://root@127.0.0.1:5432/test); each test makes its own
//! schema there and drops it at the end.

mod common;

use common::*;
use snapgov::ingest::Format;
use snapgov::synthetic_feed::FeedSpec;
use std::path::{Path, PathBuf};

/// Audit records are kept 30 days, so the purge below is allowed.
const CONFIG: &str = "[retention]\naudit_max_age = \"P30D\"\n";

/// A feed for `tool`: the real fixture if present, else a generated one.
fn feed(sb: &Sandbox, rel: &str, seed: u64) -> PathBuf {
    common::real_fixture(rel).unwrap_or_else(|| {
        let spec = FeedSpec {
            packages: 300,
            seed,
            churn_permille: if seed == 1 { 0 } else { 60 },
            ..Default::default()
        };
        sb.feed(&format!("gen-{seed}.json"), Format::SyftJson, &spec)
    })
}

/// A store with real snapshots of three tools, a rollback, a hold, a
/// token, and an audit trail whose first records were purged. Leaves the
/// clock at the purge's date.
fn build(sb: &mut Sandbox) {
    let import = |sb: &Sandbox, tool: &str, rel: &str, seed: u64| {
        let f = feed(sb, rel, seed);
        sb.import(tool, &["--allow-shrink"], &f);
    };
    sb.now = "2025-11-01T00:00:00Z".into();
    import(
        sb,
        "syft",
        "syft/syft-json-schema-1.1.0-alpine-latest-image.json",
        1,
    );
    import(
        sb,
        "trivy",
        "trivy/trivy-golden-image-centos-7-rpm-vulns.json",
        2,
    );
    sb.now = "2025-11-10T00:00:00Z".into();
    import(
        sb,
        "syft",
        "syft/syft-json-schema-13.0.0-nginx-debian9-image.json",
        3,
    );
    import(
        sb,
        "clair",
        "clair/clair-v4-vulnerability-report-rhel8-few-vulns.json",
        4,
    );
    import(
        sb,
        "trivy",
        "trivy/trivy-golden-repository-npm-lockfile-packages-and-vulns.json",
        5,
    );
    sb.now = "2025-11-20T00:00:00Z".into();
    sb.ok(&[
        "ingest", "rollback", "--tool", "syft", "--force", "--reason", "bad feed",
    ]);
    let trivy_first = sb.json(&["ingest", "snapshots", "--tool", "trivy"])["snapshots"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    sb.ok(&[
        "ingest",
        "retention",
        "hold",
        "add",
        &trivy_first,
        "--reason",
        "legal",
        "--until",
        "2026-06-01T00:00:00Z",
    ]);
    sb.ok(&["token", "create", "--name", "ci", "--role", "operator"]);
    sb.now = "2026-01-01T00:00:00Z".into();
    let p = sb.json(&[
        "ingest",
        "audit",
        "purge",
        "--before",
        "2025-11-05T00:00:00Z",
        "--reason",
        "yearly",
    ]);
    assert!(p["purge"]["purged"].as_u64().unwrap() >= 2, "{p}");
}

/// What users read from the store at `db`: the snapshot listing and the
/// whole audit trail, as `--json` prints them.
fn views(sb: &Sandbox, db: &str) -> (String, String) {
    let snaps = sb.ok(&["--db", db, "--json", "ingest", "snapshots"]).stdout;
    let audit = sb
        .ok(&[
            "--db", db, "--json", "ingest", "audit", "list", "--limit", "100000",
        ])
        .stdout;
    (snaps, audit)
}

fn copy(sb: &Sandbox, from: &str, to: &str) -> serde_json::Value {
    sb.json(&["store", "copy", "--from", from, "--to", to])["copy"].clone()
}

/// Both the audit chain and every snapshot verify on the store at `db`.
fn assert_verifies(sb: &Sandbox, db: &str) {
    sb.ok(&["--db", db, "ingest", "audit", "verify"]);
    sb.ok(&["--db", db, "ingest", "verify", "--all"]);
}

#[test]
fn a_sqlite_store_copied_to_another_file_reads_the_same() {
    let mut sb = Sandbox::sqlite_with_config(CONFIG);
    build(&mut sb);
    let (src, dst) = (sb.db(), sb.path("copy.db"));
    let (src, dst) = (src.to_str().unwrap(), dst.to_str().unwrap());
    let out = copy(&sb, src, dst);
    assert_eq!(out["copied"]["snapshots"], 5, "{out}");
    assert_eq!(out["copied"]["holds"], 1, "{out}");
    assert_eq!(out["copied"]["tokens"], 1, "{out}");
    assert_eq!(out["copied"]["meta"], 1, "the purge's anchor: {out}");
    assert!(out["snapshotsVerified"].as_u64().unwrap() >= 4, "{out}");
    assert_eq!(views(&sb, src), views(&sb, dst));
    assert_eq!(dump(Path::new(src)), dump(Path::new(dst)));
    assert_verifies(&sb, dst);
    // The copy is a working store: the next import continues from it.
    let f = feed(
        &sb,
        "syft/syft-json-schema-1.1.0-alpine-latest-image.json",
        1,
    );
    sb.ok(&[
        "--db",
        dst,
        "ingest",
        "import",
        "--tool",
        "syft",
        f.to_str().unwrap(),
    ]);
    assert_verifies(&sb, dst);
}

#[test]
fn a_copy_into_a_store_that_holds_data_is_refused_and_changes_nothing() {
    let mut sb = Sandbox::sqlite_with_config(CONFIG);
    build(&mut sb);
    let (src, dst) = (sb.db(), sb.path("copy.db"));
    let (src_s, dst_s) = (src.to_str().unwrap(), dst.to_str().unwrap());
    copy(&sb, src_s, dst_s);
    let before = dump(&dst);
    let r = sb.run(&["store", "copy", "--from", src_s, "--to", dst_s]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("not empty") && r.stderr.contains(dst_s),
        "names the target and why: {}",
        r.stderr
    );
    assert_eq!(dump(&dst), before);
}

#[test]
fn a_copy_of_a_tampered_store_does_not_verify_and_leaves_the_target_empty() {
    let mut sb = Sandbox::sqlite_with_config(CONFIG);
    build(&mut sb);
    let active = sb.active_id("trivy");
    sb.conn()
        .execute(
            "UPDATE records SET body = replace(body, '\"', '\"x') WHERE id = (SELECT record FROM snapshot_records WHERE snapshot = (SELECT pk FROM snapshots WHERE id = ?1) LIMIT 1)",
            [&active],
        )
        .unwrap();
    let (src, dst) = (sb.db(), sb.path("copy.db"));
    let (src, dst) = (src.to_str().unwrap(), dst.to_str().unwrap());
    let r = sb.run(&["store", "copy", "--from", src, "--to", dst]);
    assert_eq!(r.code, 6, "an integrity failure: {r:?}");
    assert!(
        r.stderr.contains(&active) && r.stderr.contains("nothing was kept"),
        "names the snapshot: {}",
        r.stderr
    );
    // The target file did not exist: the failed copy removes what it made.
    assert!(
        !std::path::Path::new(dst).exists(),
        "a failed copy leaves no new store file behind"
    );
}

#[test]
fn a_missing_source_is_named_and_no_target_is_created() {
    let sb = Sandbox::sqlite_with_config("");
    let (src, dst) = (sb.path("nope.db"), sb.path("copy.db"));
    let r = sb.run(&[
        "store",
        "copy",
        "--from",
        src.to_str().unwrap(),
        "--to",
        dst.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("no store at") && r.stderr.contains("nope.db to copy from"),
        "{}",
        r.stderr
    );
    assert!(!dst.exists(), "a failed copy creates no target");
}

/// A PostgreSQL store of its own (a schema, dropped at the end), or `None`
/// (said) when SNAPGOV_TEST_POSTGRES is not set.
fn pg_store(sb: &Sandbox, name: &str) -> Option<common::pg::TestDb> {
    let dir = sb.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    let db = common::pg::TestDb::new(&dir);
    if !db.is_postgres() {
        eprintln!("skipping: SNAPGOV_TEST_POSTGRES is not set");
        return None;
    }
    Some(db)
}

#[test]
fn a_store_copied_to_postgres_and_back_reads_the_same() {
    let mut sb = Sandbox::sqlite_with_config(CONFIG);
    let Some(pg) = pg_store(&sb, "pg") else {
        return;
    };
    build(&mut sb);
    let (src, back) = (sb.db(), sb.path("back.db"));
    let (src, back, url) = (src.to_str().unwrap(), back.to_str().unwrap(), pg.location());
    let there = copy(&sb, src, &url);
    let again = copy(&sb, &url, back);
    assert_eq!(there["copied"], again["copied"]);
    let original = views(&sb, src);
    assert_eq!(views(&sb, &url), original, "SQLite -> PostgreSQL");
    assert_eq!(views(&sb, back), original, "PostgreSQL -> SQLite");
    assert_eq!(dump(Path::new(src)), dump(Path::new(back)));
    assert_verifies(&sb, &url);
    // PostgreSQL hands out keys past the copied ones: the next import works.
    let f = feed(
        &sb,
        "syft/syft-json-schema-16.0.39-alpine-3.17.2-image.json",
        6,
    );
    sb.ok(&[
        "--db",
        &url,
        "ingest",
        "import",
        "--allow-shrink",
        "--tool",
        "syft",
        f.to_str().unwrap(),
    ]);
    sb.ok(&[
        "--db", &url, "token", "create", "--name", "ci2", "--role", "viewer",
    ]);
    assert_verifies(&sb, &url);
}

#[test]
fn a_failed_copy_into_postgres_leaves_its_schema_empty() {
    let mut sb = Sandbox::sqlite_with_config(CONFIG);
    let Some(pg) = pg_store(&sb, "pg") else {
        return;
    };
    build(&mut sb);
    sb.conn()
        .execute_batch("UPDATE records SET body = body || ' ' WHERE id = (SELECT max(record) FROM active_records)")
        .unwrap();
    let (src, url) = (sb.db(), pg.location());
    let r = sb.run(&[
        "store",
        "copy",
        "--from",
        src.to_str().unwrap(),
        "--to",
        &url,
    ]);
    assert_eq!(r.code, 6, "{r:?}");
    let snaps = sb.json(&["--db", &url, "ingest", "snapshots"]);
    assert_eq!(snaps["snapshots"], serde_json::json!([]), "{snaps}");
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for t in ["records", "audit", "tools", "snapshot_records", "meta"] {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM {t}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "{t} is empty after the failed copy");
    }
}
