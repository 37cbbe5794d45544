//! Helpers for the API tests: a demo store, tokens, and the real
//! `snapgov serve` on 127.0.0.1 with a port the OS picks, and a client that
//! speaks to it as one token. A test crate using it declares `mod common;` too.
#![allow(dead_code)]

use crate::common::pg::TestDb;
use crate::common::snapgov_cmd_at;
pub use crate::common::NOW;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;
use serde_json::Value;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A scratch directory with a config file, and a store (a file there, or a
/// schema of its own on PostgreSQL: see `common::pg`).
pub struct Scratch {
    pub store: TestDb,
    pub dir: tempfile::TempDir,
}

impl Scratch {
    /// An empty store, with `config` as the config file.
    pub fn new(config: &str) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Scratch {
            store: TestDb::new(dir.path()),
            dir,
        }
    }

    /// The demo store (syft fresh, trivy stale, clair critical,
    /// licensewatch expired, as of [`NOW`]).
    pub fn demo(config: &str) -> Scratch {
        let s = Scratch::new(config);
        let r = s.cli(&["demo", "--no-console"]);
        assert!(
            r.status.success(),
            "demo failed: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        s
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
        snapgov_cmd_at(&self.location(), self.dir.path(), NOW, args)
    }

    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cmd(args).output().unwrap()
    }

    /// `snapgov --json …`, insisting on success.
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = self.cli(&a);
        assert!(
            out.status.success(),
            "snapgov {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Creates a token with the CLI; returns the secret.
    pub fn token(&self, role: &str, name: &str) -> String {
        let v = self.cli_json(&["token", "create", "--role", role, "--name", name]);
        v["token"]["token"].as_str().unwrap().to_string()
    }

    /// The id of the tool's active snapshot, as the CLI reports it.
    pub fn active_id(&self, tool: &str) -> String {
        self.cli_json(&["ingest", "sla", "--tool", tool])["sla"]["snapshotId"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The ids of the tool's previous snapshots, in the CLI's order.
    pub fn previous_ids(&self, tool: &str) -> Vec<String> {
        let v = self.cli_json(&["ingest", "snapshots", "--tool", tool, "--state", "previous"]);
        v["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn serve(&self) -> Server {
        Server::start(self, &[])
    }
}

/// A running `snapgov serve`.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(s: &Scratch, extra: &[&str]) -> Server {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        Server::spawn(s.cmd(&args))
    }

    /// Runs `cmd`, which must end up in `snapgov serve`, and waits for the
    /// address it announces.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(a) = line.strip_prefix("listening on ") {
                    let _ = tx.send(a.to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the server did not start:\n{}",
                    lines.lock().unwrap().join("\n")
                )
            });
        Server {
            child: Some(child),
            base: format!("http://{addr}"),
            stderr: lines,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// A client speaking to this server with the token, or none.
    pub fn api(&self, token: Option<&str>) -> Api {
        Api {
            client: client(),
            base: self.base.clone(),
            auth: token.map(|t| format!("Bearer {t}")),
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until a logged line contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.log().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Kills the server with SIGKILL (a crash: nothing runs on its way out)
    /// and waits for it to be gone.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let st = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let start = Instant::now();
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return s;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("the server did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Requests to one server under one `Authorization` header (or none).
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
    auth: Option<String>,
}

impl Api {
    /// The same server under another bearer token.
    pub fn as_token(&self, token: &str) -> Api {
        self.with_auth(&format!("Bearer {token}"))
    }

    /// The same server with this `Authorization` header, taken as it is.
    pub fn with_auth(&self, header: &str) -> Api {
        Api {
            auth: Some(header.to_string()),
            ..self.clone()
        }
    }

    /// The same server with no `Authorization` header.
    pub fn anonymous(&self) -> Api {
        Api {
            auth: None,
            ..self.clone()
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let b = self.client.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Some(a) => b.header("Authorization", a),
            None => b,
        }
    }

    pub fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().unwrap()
    }

    pub fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path).send().unwrap()
    }

    pub fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path).json(body).send().unwrap()
    }

    pub fn put(&self, path: &str, body: &Value) -> Response {
        self.request(Method::PUT, path).json(body).send().unwrap()
    }

    /// A POST whose body goes as it is, with no content type.
    pub fn post_raw(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> Response {
        self.request(Method::POST, path).body(body).send().unwrap()
    }
}

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The body as JSON, asserting the status first (printing the body if not).
pub fn expect(resp: reqwest::blocking::Response, status: u16) -> serde_json::Value {
    let got = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp.text().unwrap();
    assert_eq!(got, status, "expected {status}, got {got}: {text}");
    if status >= 400 {
        assert_eq!(ctype, "application/problem+json", "{text}");
        assert_no_cli_flag(&text);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// An HTTP client is told about its own parameters, never the CLI's flags:
/// every error body the API tests see passes through this.
pub fn assert_no_cli_flag(text: &str) {
    let b = text.as_bytes();
    for i in 0..b.len().saturating_sub(2) {
        let starts_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-');
        if starts_word && &b[i..i + 2] == b"--" && b[i + 2].is_ascii_lowercase() {
            panic!("an API error names a CLI flag: {text}");
        }
    }
}

/// Asserts a problem document of this status and returns it.
pub fn problem(resp: reqwest::blocking::Response, status: u16) -> serde_json::Value {
    let v = expect(resp, status);
    assert_eq!(v["status"], status, "{v}");
    for k in ["type", "title", "detail"] {
        assert!(v[k].is_string(), "problem lacks {k}: {v}");
    }
    v
}

/// A fixture of the project's own test fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

impl Scratch {
    /// Every row of every table as `table: cells`, sorted, for "nothing
    /// changed" checks, on either engine.
    pub fn dump(&self) -> Vec<String> {
        let (Some(mut c), Some(schema)) = (self.store.admin(), self.store.schema()) else {
            return dump(&self.db());
        };
        let tables: Vec<String> = c
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
                &[&schema],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = Vec::new();
        for t in tables {
            let q = format!("SELECT t::text FROM \"{schema}\".\"{t}\" t");
            for r in c.query(q.as_str(), &[]).unwrap() {
                out.push(format!("{t}: {}", r.get::<_, String>(0)));
            }
        }
        out.sort();
        out
    }

    /// Runs SQL on the store behind snapgov's back (an attacker with
    /// database access), in SQL both engines take.
    pub fn sql(&self, sql: &str) {
        match self.store.admin() {
            Some(mut c) => {
                let schema = self.store.schema().unwrap();
                c.batch_execute(&format!("SET search_path = \"{schema}\"; {sql}"))
                    .unwrap()
            }
            None => rusqlite::Connection::open(self.db())
                .unwrap()
                .execute_batch(sql)
                .unwrap(),
        }
    }
}

/// Every row of every table of a SQLite store as `table: cells`.
pub fn dump(db: &Path) -> Vec<String> {
    let mut out: Vec<String> = crate::common::dump(db)
        .into_iter()
        .flat_map(|(t, rows)| rows.into_iter().map(move |r| format!("{t}: {r}")))
        .collect();
    out.sort();
    out
}
