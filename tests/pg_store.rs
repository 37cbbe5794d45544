//! What only a PostgreSQL store has: connecting (TLS modes, passwords kept
//! out of every message, a missing schema), and its schema version table.
//! Runs when SNAPGOV_TEST_POSTGRES names a database; otherwise each test
//! says so and returns.

use std::process::{Command, Stdio};

const NOW: &str = "2025-12-04T12:00:00Z";

fn base_url() -> Option<String> {
    match std::env::var("SNAPGOV_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("SNAPGOV_TEST_POSTGRES is not set: this PostgreSQL test does not run");
            None
        }
    }
}

/// A schema of its own for one test, dropped at the end.
struct Schema {
    base: String,
    name: String,
}

impl Schema {
    fn new(base: &str, tag: &str) -> Schema {
        let name = format!(
            "snapgov_t_{}_{tag}_{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut c = postgres::Client::connect(base, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE SCHEMA {name}")).unwrap();
        Schema {
            base: base.to_string(),
            name,
        }
    }

    /// The store's URL, with extra query parameters.
    fn url(&self, extra: &str) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-csearch_path%3D{}{extra}",
            self.base, self.name
        )
    }

    fn sql(&self, sql: &str) {
        let mut c = postgres::Client::connect(&self.base, postgres::NoTls).unwrap();
        c.batch_execute(&format!("SET search_path = {}; {sql}", self.name))
            .unwrap();
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.base, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn snapgov(db: &str, args: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("none.toml"), "").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_snapgov"))
        .args(args)
        .env("SNAPGOV_DB", db)
        .env("SNAPGOV_CONFIG", dir.path().join("none.toml"))
        .env("SNAPGOV_USER", "tester")
        .env("SNAPGOV_NOW", NOW)
        .env("NO_COLOR", "1")
        .env_remove("SNAPGOV_FAULT")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn feed(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("feed.json");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/native-min.json"
        ),
        &p,
    )
    .unwrap();
    p
}

fn import(db: &str) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let f = feed(dir.path());
    snapgov(
        db,
        &["ingest", "import", "--tool", "custom", f.to_str().unwrap()],
    )
}

#[test]
fn a_store_written_by_a_newer_snapgov_is_refused() {
    let Some(base) = base_url() else { return };
    let s = Schema::new(&base, "newer");
    let db = s.url("");
    let first = import(&db);
    assert_eq!(first.code, 0, "{}", first.stderr);
    s.sql("UPDATE snapgov_version SET version = 99");
    let r = snapgov(&db, &["ingest", "snapshots"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("schema version 99, newer than this snapgov understands"),
        "{}",
        r.stderr
    );
    // Nothing was written to it.
    let w = import(&db);
    assert_ne!(w.code, 0, "{}", w.stdout);
}

#[test]
fn tls_is_used_when_required_and_verified_when_asked() {
    let Some(base) = base_url() else { return };
    let s = Schema::new(&base, "tls");
    let required = import(&s.url("&sslmode=require"));
    if required.stderr.contains("server does not support TLS") {
        eprintln!("this PostgreSQL server has TLS off: sslmode=require cannot be checked here");
        return;
    }
    assert_eq!(required.code, 0, "{}", required.stderr);
    let listed = snapgov(
        &s.url("&sslmode=require"),
        &["ingest", "snapshots", "--json"],
    );
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(
        listed.stdout.contains("\"tool\": \"custom\""),
        "{}",
        listed.stdout
    );
    // The test server's certificate is self-signed: verify-full refuses it,
    // saying why, rather than connecting unverified.
    let verified = snapgov(&s.url("&sslmode=verify-full"), &["ingest", "snapshots"]);
    assert_ne!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified.stderr.to_lowercase().contains("certificate"),
        "{}",
        verified.stderr
    );
}

#[test]
fn a_password_is_never_printed() {
    if base_url().is_none() {
        return;
    }
    // Nothing listens on port 1: the connection fails and is reported.
    let r = snapgov(
        "postgres://alice:s3cretpw@127.0.0.1:1/test?connect_timeout=2",
        &["ingest", "snapshots", "--json"],
    );
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
    let Some(base) = base_url() else { return };
    let sep = if base.contains('?') { '&' } else { '?' };
    let db = format!("{base}{sep}options=-csearch_path%3Dsnapgov_t_no_such_schema");
    let r = import(&db);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("create the schema first"), "{}", r.stderr);
}
