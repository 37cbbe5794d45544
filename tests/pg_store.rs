//! What only a PostgreSQL store has: connecting (TLS modes, passwords kept
//! out of every message, a missing schema), and its schema version table.
//! Runs when SNAPGOV_TEST_POSTGRES names a database; otherwise each test
//! says so and returns.

mod common;

use common::Sandbox;

/// A sandbox on its own PostgreSQL schema, or `None` (said) without one.
fn pg_sandbox() -> Option<Sandbox> {
    let sb = Sandbox::new();
    if sb.store.is_postgres() {
        Some(sb)
    } else {
        eprintln!("SNAPGOV_TEST_POSTGRES is not set: this PostgreSQL test does not run");
        None
    }
}

fn import_at(sb: &Sandbox, db: &str) -> common::Run {
    let feed =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/native-min.json");
    sb.run(&[
        "--db",
        db,
        "ingest",
        "import",
        "--tool",
        "custom",
        feed.to_str().unwrap(),
    ])
}

#[test]
fn a_store_written_by_a_newer_snapgov_is_refused() {
    let Some(sb) = pg_sandbox() else { return };
    let db = sb.location();
    let first = import_at(&sb, &db);
    assert_eq!(first.code, 0, "{}", first.stderr);
    sb.store
        .sql_batch("UPDATE snapgov_version SET version = 99");
    let r = sb.run(&["ingest", "snapshots"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("schema version 99, newer than this snapgov understands"),
        "{}",
        r.stderr
    );
    // Nor is anything written to it.
    let w = import_at(&sb, &db);
    assert_ne!(w.code, 0, "{}", w.stdout);
    assert_eq!(sb.store.sql_one("SELECT count(*) FROM snapshots"), "1");
}

#[test]
fn tls_is_used_when_required_and_verified_when_asked() {
    let Some(sb) = pg_sandbox() else { return };
    let required = format!("{}&sslmode=require", sb.location());
    let r = import_at(&sb, &required);
    if r.stderr.contains("server does not support TLS") {
        eprintln!("this PostgreSQL server has TLS off: sslmode=require cannot be checked here");
        return;
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed = sb.run(&["--db", &required, "ingest", "snapshots", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.stdout.contains("\"tool\": \"custom\""),
        "{}",
        listed.stdout
    );
    // The test server's certificate is self-signed: verify-full refuses it,
    // saying why, rather than connecting unverified.
    let full = format!("{}&sslmode=verify-full", sb.location());
    let v = sb.run(&["--db", &full, "ingest", "snapshots"]);
    assert_ne!(v.code, 0, "{}", v.stdout);
    assert!(
        v.stderr.to_lowercase().contains("certificate"),
        "{}",
        v.stderr
    );
}

#[test]
fn a_password_is_never_printed() {
    let Some(sb) = pg_sandbox() else { return };
    // Nothing listens on port 1: the connection fails and is reported.
    let r = sb.run(&[
        "--db",
        "postgres://alice:s3cretpw@127.0.0.1:1/test?connect_timeout=2",
        "ingest",
        "snapshots",
        "--json",
    ]);
    assert_ne!(r.code, 0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains("s3cretpw"), "{all}");
    assert!(
        all.contains("postgres://alice:***@127.0.0.1:1/test"),
        "{all}"
    );
}

#[test]
fn a_missing_schema_says_to_create_it() {
    let Some(sb) = pg_sandbox() else { return };
    let base = common::pg::test_url().expect("set");
    let db = common::pg::with_search_path(&base, "snapgov_t_no_such_schema");
    let r = import_at(&sb, &db);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("create the schema first"), "{}", r.stderr);
}
