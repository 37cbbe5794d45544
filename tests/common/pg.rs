//! The store a test runs against: a file in the test's temp dir (SQLite), or,
//! when `SNAPGOV_TEST_POSTGRES` names a database URL, a fresh schema of its own
//! in that database, dropped when the test ends. One test body serves both.
//!
//! `SNAPGOV_TEST_POSTGRES='postgres://root@127.0.0.1:5432/test?sslmode=disable' cargo test …`
//! runs the suites on PostgreSQL. Schemas are named `snapgov_t_<pid>_<n>_<random>`;
//! a killed run leaves its schemas behind, and `.ci/run` drops every
//! `snapgov_t_%` schema before its PostgreSQL pass. The harness's own
//! connections (create and drop the schema) use no TLS: point the variable
//! at a server that accepts plain connections (e.g. the local one in CI).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable that names the database the tests run on.
pub const ENV: &str = "SNAPGOV_TEST_POSTGRES";

/// Every test schema's name starts with this.
pub const SCHEMA_PREFIX: &str = "snapgov_t_";

/// The database URL the tests run on, if any (unset or empty: SQLite).
pub fn test_url() -> Option<String> {
    std::env::var(ENV).ok().filter(|u| !u.trim().is_empty())
}

/// "postgres" when the tests run on PostgreSQL, else "sqlite", for messages.
pub fn backend_name() -> &'static str {
    if test_url().is_some() {
        "postgres"
    } else {
        "sqlite"
    }
}

/// One test's store location. Dropping it drops its PostgreSQL schema.
pub struct TestDb {
    location: String,
    file: PathBuf,
    pg: Option<Schema>,
}

/// A schema this process created, and the URL to reach its database.
struct Schema {
    url: String,
    name: String,
}

impl TestDb {
    /// A SQLite store, `dir/store.db`, whatever the environment says (for
    /// tests about a SQLite store, such as copying one to PostgreSQL).
    pub fn sqlite(dir: &Path) -> TestDb {
        let file = dir.join("store.db");
        TestDb {
            location: file.to_str().expect("temp dir path is UTF-8").to_string(),
            file,
            pg: None,
        }
    }

    /// A fresh store: `dir/store.db`, or a new schema in the database that
    /// `SNAPGOV_TEST_POSTGRES` names.
    pub fn new(dir: &Path) -> TestDb {
        let file = dir.join("store.db");
        match test_url() {
            None => TestDb {
                location: file.to_str().expect("temp dir path is UTF-8").to_string(),
                file,
                pg: None,
            },
            Some(url) => {
                let name = fresh_schema_name();
                let mut client = connect(&url);
                client
                    .batch_execute(&format!("CREATE SCHEMA \"{name}\""))
                    .unwrap_or_else(|e| {
                        panic!("{ENV}={}: cannot create schema {name}: {e}", redact(&url))
                    });
                TestDb {
                    location: with_search_path(&url, &name),
                    file,
                    pg: Some(Schema { url, name }),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    /// What `--db` / `SNAPGOV_DB` should say: the file's path, or the URL
    /// whose `options` put the test's schema first on the search path.
    pub fn location(&self) -> String {
        self.location.clone()
    }

    /// The SQLite file (where it would be, on PostgreSQL).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The test's schema, on PostgreSQL.
    pub fn schema(&self) -> Option<&str> {
        self.pg.as_ref().map(|s| s.name.as_str())
    }

    /// A connection to the test database (no search path set), on PostgreSQL.
    pub fn admin(&self) -> Option<postgres::Client> {
        self.pg.as_ref().map(|s| connect(&s.url))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(s) = &self.pg {
            // A failure here only leaves a schema behind for .ci/run to drop;
            // the lock timeout keeps a server the test left running (holding
            // locks in the schema) from hanging the test's end.
            let drop = format!(
                "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                s.name
            );
            if let Ok(mut c) = try_connect(&s.url) {
                let _ = c.batch_execute(&drop);
            }
        }
    }
}

/// `snapgov_t_<pid>_<counter>_<random>`: unique within the process by the
/// counter, across processes by the pid, and across runs (a pid reused after
/// a killed run) by the random part.
fn fresh_schema_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(n);
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    format!(
        "{SCHEMA_PREFIX}{}_{n}_{:08x}",
        std::process::id(),
        h.finish() as u32
    )
}

fn try_connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    let mut cfg: postgres::Config = url.parse()?;
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(std::time::Duration::from_secs(10));
    }
    cfg.connect(postgres::NoTls)
}

/// A connection to `url`, or a panic saying what to check.
pub fn connect(url: &str) -> postgres::Client {
    try_connect(url).unwrap_or_else(|e| {
        panic!(
            "{ENV}={}: cannot connect ({e}); give a URL like \
             postgres://root@127.0.0.1:5432/test of a running server \
             (pg_isready -h HOST -p PORT), or unset it to test on SQLite",
            redact(url)
        )
    })
}

/// `url` with `options=-csearch_path=<schema>` added to its query (merged
/// into an `options` it already has, after what that says).
pub fn with_search_path(url: &str, schema: &str) -> String {
    let opt = format!("-csearch_path%3D{schema}");
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => return format!("{url}?options={opt}"),
    };
    let mut merged = false;
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.strip_prefix("options=") {
            Some(v) if !merged => {
                merged = true;
                format!("options={v}%20{opt}")
            }
            _ => p.to_string(),
        })
        .collect();
    if !merged {
        params.push(format!("options={opt}"));
    }
    format!("{base}?{}", params.join("&"))
}

/// The URL with any password (`user:PASSWORD@` or `password=`) replaced
/// by `***`, for messages.
pub fn redact(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let head = match head.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            match authority.rsplit_once('@') {
                Some((info, host)) if info.contains(':') => {
                    let user = info.split(':').next().unwrap_or("");
                    format!("{scheme}://{user}:***@{host}{path}")
                }
                _ => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    match query {
        None => head,
        Some(q) => {
            let q: Vec<String> = q
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some(("password", _)) => "password=***".to_string(),
                    _ => p.to_string(),
                })
                .collect();
            format!("{head}?{}", q.join("&"))
        }
    }
}
