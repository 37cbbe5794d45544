//! Helpers for tests that drive the real binary.
#![allow(dead_code)]

pub mod pg;
pub mod sql;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const NOW: &str = "2025-12-04T12:00:00Z";

/// The fields the spec gives a snapshot record.
pub const SNAPSHOT_KEYS: [&str; 10] = [
    "id",
    "tool",
    "toolVersion",
    "importedAt",
    "sourceHash",
    "normalizedHash",
    "recordCount",
    "state",
    "previousSnapshot",
    "metadata",
];

/// The fields the spec gives a tool's SLA document.
pub const SLA_KEYS: [&str; 7] = [
    "tool",
    "snapshotId",
    "importedAt",
    "age",
    "state",
    "nextCheck",
    "thresholds",
];

#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// `snapgov args` on the store file and config in `dir`, at the clock `now`,
/// as user `tester`, shielded from the caller's fault, log and colour settings.
pub fn snapgov_cmd(dir: &Path, now: &str, args: &[&str]) -> Command {
    snapgov_cmd_at(&dir.join("store.db").to_string_lossy(), dir, now, args)
}

/// As [`snapgov_cmd`], on the store at `location` (a path or a PostgreSQL
/// URL, e.g. a [`pg::TestDb`]'s).
pub fn snapgov_cmd_at(location: &str, dir: &Path, now: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_snapgov"));
    c.args(args)
        .env("SNAPGOV_DB", location)
        .env("SNAPGOV_CONFIG", dir.join("config.toml"))
        .env("SNAPGOV_USER", "tester")
        .env("SNAPGOV_NOW", now)
        .env_remove("SNAPGOV_FAULT")
        .env_remove("SNAPGOV_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

/// A real scanner output from `../shared/fixtures/real` (third-party files
/// kept beside the clone, never committed). Missing: `None`, said on
/// stderr, except in CI, where it fails the test.
pub fn real_fixture(rel: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/real")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing in CI",
        p.display()
    );
    eprintln!("{} not found", p.display());
    None
}

/// A scratch store (a file in a temp dir, or a schema of its own on
/// PostgreSQL: see [`pg`]), and a way to run snapgov against it.
pub struct Sandbox {
    pub store: pg::TestDb,
    pub dir: tempfile::TempDir,
    pub now: String,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "").unwrap();
        Sandbox {
            store: pg::TestDb::new(dir.path()),
            dir,
            now: NOW.to_string(),
        }
    }

    /// A sandbox on a SQLite store even when the suites run on PostgreSQL
    /// (a test whose subject is a SQLite file), with `config`.
    pub fn sqlite_with_config(config: &str) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Sandbox {
            store: pg::TestDb::sqlite(dir.path()),
            dir,
            now: NOW.to_string(),
        }
    }

    /// A sandbox whose config file says `config`.
    pub fn with_config(config: &str) -> Sandbox {
        let sb = Sandbox::new();
        std::fs::write(sb.path("config.toml"), config).unwrap();
        sb
    }

    /// The SQLite store file (only meaningful on SQLite; see [`Self::location`]).
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("store.db")
    }

    /// The store location the commands get as `SNAPGOV_DB`: the file, or
    /// the test's PostgreSQL URL.
    pub fn location(&self) -> String {
        self.store.location()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        snapgov_cmd_at(&self.location(), self.dir.path(), &self.now, args)
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd(args).output().unwrap().into()
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The command may refuse before reading all of it.
        let _ = child.stdin.take().unwrap().write_all(input);
        child.wait_with_output().unwrap().into()
    }

    /// Runs and insists on exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, 0,
            "snapgov {args:?} failed:\nstdout: {}\nstderr: {}",
            r.stdout, r.stderr
        );
        r
    }

    /// Writes a generated feed and returns its path.
    pub fn feed(
        &self,
        name: &str,
        format: snapgov::ingest::Format,
        spec: &snapgov::synthetic_feed::FeedSpec,
    ) -> PathBuf {
        let p = self.path(name);
        let mut f = std::fs::File::create(&p).unwrap();
        snapgov::synthetic_feed::write_feed(format, spec, &mut f).unwrap();
        p
    }

    /// `snapgov --json args`, insisting on exit 0; the parsed output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        self.ok(&a).json()
    }

    /// `snapgov --json ingest import --tool TOOL EXTRA… FILE`, insisting on
    /// exit 0; the import's snapshot.
    pub fn import(&self, tool: &str, extra: &[&str], file: &Path) -> serde_json::Value {
        let file = file.to_str().unwrap();
        self.json(&import_args(tool, extra, file))["import"]["snapshot"].clone()
    }

    /// The id of the tool's one active snapshot.
    pub fn active_id(&self, tool: &str) -> String {
        let v = self.ok(&active_args(tool)).json();
        v["snapshots"][0]["id"].as_str().unwrap().to_string()
    }

    /// `ingest show ID`: the snapshot.
    pub fn snapshot(&self, id: &str) -> serde_json::Value {
        self.json(&["ingest", "show", id])["snapshot"].clone()
    }

    /// The tool's SLA document (`ingest sla --tool TOOL`).
    pub fn sla(&self, tool: &str) -> serde_json::Value {
        self.json(&["ingest", "sla", "--tool", tool])
    }

    /// The audit records of one event, newest first.
    pub fn audit_events(&self, event: &str) -> Vec<serde_json::Value> {
        let v = self.json(&["ingest", "audit", "list", "--event", event]);
        v["audit"].as_array().cloned().unwrap_or_default()
    }

    /// A connection to the SQLite file: only for tests about the file
    /// itself (they skip on PostgreSQL); others use [`Self::sql_exec`] and
    /// friends, which run on either backend.
    pub fn conn(&self) -> rusqlite::Connection {
        assert!(!self.is_postgres(), "conn() is the SQLite file's");
        rusqlite::Connection::open(self.db()).unwrap()
    }

    /// Whether the store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.store.is_postgres()
    }

    /// Runs one SQL statement on the store (either backend; see [`sql`]).
    pub fn sql_exec(&self, sql: &str) -> u64 {
        self.store.sql_exec(sql)
    }

    /// Runs several `;`-separated SQL statements on the store.
    pub fn sql_batch(&self, sql: &str) {
        self.store.sql_batch(sql)
    }

    /// A query's rows, each cell as text (see [`sql`]).
    pub fn sql_rows(&self, sql: &str) -> Vec<Vec<String>> {
        self.store.sql_rows(sql)
    }

    /// The one cell a query returns.
    pub fn sql_one(&self, sql: &str) -> String {
        self.store.sql_one(sql)
    }

    /// Every row of every table, as text, for before/after comparisons.
    pub fn dump(&self) -> Vec<(String, Vec<String>)> {
        self.store.dump()
    }
}

impl Drop for Sandbox {
    /// On PostgreSQL, a SQLite file in the sandbox means some command missed
    /// the test's location and ran on SQLite: the test did not test
    /// PostgreSQL.
    fn drop(&mut self) {
        if self.is_postgres() && !std::thread::panicking() {
            assert!(
                !self.db().exists(),
                "a command of this test wrote the SQLite store {} instead of using the test's PostgreSQL schema",
                self.db().display()
            );
        }
    }
}

/// The arguments of `ingest CMD --tool TOOL EXTRA…` (no `--json`).
pub fn tool_args<'a>(cmd: &'a str, tool: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["ingest", cmd, "--tool", tool];
    a.extend_from_slice(extra);
    a
}

/// The arguments of `ingest import --tool TOOL EXTRA… FILE` (no `--json`).
pub fn import_args<'a>(tool: &'a str, extra: &[&'a str], file: &'a str) -> Vec<&'a str> {
    let mut a = tool_args("import", tool, extra);
    a.push(file);
    a
}

/// The arguments that list the tool's active snapshot as JSON.
pub fn active_args(tool: &str) -> [&str; 7] {
    [
        "--json",
        "ingest",
        "snapshots",
        "--tool",
        tool,
        "--state",
        "active",
    ]
}

/// An operator's guarded rollback: `--json ingest rollback --tool TOOL --force
/// --reason REASON --expect-active ID`, where ID is the active snapshot the
/// preview `seen` (a run of [`active_args`]) showed, or empty if it failed.
pub fn guarded_rollback_args(seen: &Run, tool: &str, reason: &str) -> Vec<String> {
    let active = if seen.code == 0 {
        seen.json()["snapshots"][0]["id"]
            .as_str()
            .unwrap_or("")
            .to_string()
    } else {
        String::new()
    };
    [
        "--json",
        "ingest",
        "rollback",
        "--tool",
        tool,
        "--force",
        "--reason",
        reason,
        "--expect-active",
        &active,
    ]
    .map(String::from)
    .to_vec()
}

/// The arguments that list the newest LIMIT audit records of one event (no `--json`).
pub fn audit_list_args<'a>(event: &'a str, limit: &'a str) -> [&'a str; 7] {
    [
        "ingest", "audit", "list", "--event", event, "--limit", limit,
    ]
}

pub fn dump(db: &Path) -> Vec<(String, Vec<String>)> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    tables.sort();
    tables
        .into_iter()
        .map(|t| {
            let mut stmt = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
            let n = stmt.column_count();
            let mut rows: Vec<String> = stmt
                .query_map([], |r| {
                    let mut cells = Vec::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        cells.push(format!("{v:?}"));
                    }
                    Ok(cells.join("|"))
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            rows.sort();
            (t, rows)
        })
        .collect()
}

/// Packages and findings a generated feed holds (independent of snapgov's parsers).
pub fn expected_counts(spec: &snapgov::synthetic_feed::FeedSpec) -> (u64, u64) {
    let mut v = 0;
    for i in 0..spec.packages {
        if snapgov::synthetic_feed::package(spec, i)
            .finding(spec)
            .is_some()
        {
            v += 1;
        }
    }
    (spec.packages, v)
}

/// Re-serializes JSON with keys sorted, arrays reversed and other whitespace.
pub fn reshuffle(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Array(a) => Value::Array(a.iter().rev().map(reshuffle).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), reshuffle(v))).collect())
        }
        other => other.clone(),
    }
}

/// A feed's records by identity, detected and parsed with default limits and
/// merged as the contract says (independent of the store).
pub fn parse_merged(
    path: &Path,
) -> std::collections::BTreeMap<
    snapgov::domain::record::IdentKey,
    snapgov::domain::record::NormalizedRecord,
> {
    use snapgov::domain::record::NormalizedRecord;
    use snapgov::ingest::{detect::detect, parse_file, Limits};
    let limits = Limits::default();
    let format = detect(path, "x", &limits).unwrap();
    let mut merged = std::collections::BTreeMap::new();
    let mut sink = |r: NormalizedRecord| {
        merged
            .entry(r.ident_key())
            .and_modify(|m: &mut NormalizedRecord| m.merge_from(&r))
            .or_insert(r);
        Ok(())
    };
    parse_file(format, path, "x", &limits, &mut sink).unwrap();
    merged
}
