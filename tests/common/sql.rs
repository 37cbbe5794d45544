//! Raw SQL on a test's store, whichever backend it is on: for tests that
//! look under the store (before/after dumps) or tamper with it as an
//! attacker with database access would.
//!
//! The store's tables and columns are the same on SQLite and PostgreSQL;
//! write the SQL so that both accept it: quote the audit table's `"user"`
//! column, put values in as literals ([`lit`]), compare blobs through
//! [`TestDb::sql_rows`]' text form. Every cell reads as text: integers in
//! decimal, blobs as `\x` and lowercase hex (PostgreSQL's own text form of
//! BYTEA), NULL as `NULL`.

use super::pg::{self, TestDb};

/// `s` as an SQL string literal (single quotes doubled).
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A PostgreSQL error with the server's message (its Display says only "db error").
fn pg_err(e: postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("{}: {}", d.code().code(), d.message()),
        None => e.to_string(),
    }
}

/// What an SQLite cell reads as, in PostgreSQL's text form.
fn lite_cell(v: rusqlite::types::ValueRef<'_>) -> String {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Blob(b) => {
            let mut s = String::from("\\x");
            for byte in b {
                s.push_str(&format!("{byte:02x}"));
            }
            s
        }
    }
}

impl TestDb {
    /// A connection to the test's SQLite file.
    pub fn lite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.file()).unwrap()
    }

    /// A connection whose search path is the test's schema, on PostgreSQL.
    pub fn client(&self) -> Option<postgres::Client> {
        self.is_postgres().then(|| pg::connect(&self.location()))
    }

    /// Runs one statement; the rows it changed.
    pub fn sql_exec(&self, sql: &str) -> u64 {
        match self.client() {
            None => self
                .lite()
                .execute(sql, [])
                .unwrap_or_else(|e| panic!("{sql}: {e}")) as u64,
            Some(mut c) => {
                let mut n = 0;
                let msgs = c
                    .simple_query(sql)
                    .unwrap_or_else(|e| panic!("{sql}: {}", pg_err(e)));
                for m in msgs {
                    if let postgres::SimpleQueryMessage::CommandComplete(k) = m {
                        n = k;
                    }
                }
                n
            }
        }
    }

    /// Runs several statements (`;`-separated, no results).
    pub fn sql_batch(&self, sql: &str) {
        match self.client() {
            None => self
                .lite()
                .execute_batch(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Some(mut c) => c
                .batch_execute(sql)
                .unwrap_or_else(|e| panic!("{sql}: {}", pg_err(e))),
        }
    }

    /// The rows a query returns, each cell as text (see the module's doc).
    pub fn sql_rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self.client() {
            None => {
                let c = self.lite();
                let mut stmt = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
                let n = stmt.column_count();
                stmt.query_map([], |r| {
                    (0..n)
                        .map(|i| r.get_ref(i).map(lite_cell))
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
            }
            Some(mut c) => c
                .simple_query(sql)
                .unwrap_or_else(|e| panic!("{sql}: {}", pg_err(e)))
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| r.get(i).unwrap_or("NULL").to_string())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect(),
        }
    }

    /// The one cell a query returns.
    pub fn sql_one(&self, sql: &str) -> String {
        let rows = self.sql_rows(sql);
        assert_eq!(rows.len(), 1, "{sql}: {rows:?}");
        rows[0][0].clone()
    }

    /// The store's tables (PostgreSQL: of the test's schema), sorted.
    pub fn tables(&self) -> Vec<String> {
        let sql = if self.is_postgres() {
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        };
        let mut t: Vec<String> = self
            .sql_rows(sql)
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        t.sort();
        t
    }

    /// Every row of every table, as `a|b|c` text, sorted: for "nothing
    /// changed" checks.
    pub fn dump(&self) -> Vec<(String, Vec<String>)> {
        self.tables()
            .into_iter()
            .map(|t| {
                let mut rows: Vec<String> = self
                    .sql_rows(&format!("SELECT * FROM \"{t}\""))
                    .into_iter()
                    .map(|r| r.join("|"))
                    .collect();
                rows.sort();
                (t, rows)
            })
            .collect()
    }

    /// Runs `f` on the store with `sql` (one or more statements) applied,
    /// then puts every table back as it was: each tampering case of a test
    /// starts from the same store, on either backend.
    pub fn with_tampered<T>(&self, sql: &str, f: impl FnOnce() -> T) -> T {
        self.tampering().case(sql, f)
    }

    /// A copy of every table kept beside it (as `bak_<table>`) for
    /// [`Tampering::case`] to put back after each case; dropped with it.
    pub fn tampering(&self) -> Tampering<'_> {
        let tables: Vec<String> = self
            .tables()
            .into_iter()
            .filter(|t| !t.starts_with("bak_") && t != "snapgov_version")
            .collect();
        let mut save = String::new();
        let mut restore = String::from("BEGIN;");
        let mut forget = String::new();
        for t in &tables {
            save.push_str(&format!(
                "DROP TABLE IF EXISTS \"bak_{t}\"; CREATE TABLE \"bak_{t}\" AS SELECT * FROM \"{t}\";"
            ));
            restore.push_str(&format!(
                "DELETE FROM \"{t}\"; INSERT INTO \"{t}\" SELECT * FROM \"bak_{t}\";"
            ));
            forget.push_str(&format!("DROP TABLE \"bak_{t}\";"));
        }
        restore.push_str("COMMIT;");
        self.sql_batch(&save);
        Tampering {
            db: self,
            restore,
            forget,
        }
    }

    /// SQLite's `PRAGMA integrity_check`; "ok" on PostgreSQL once a query
    /// answers (it checks its own pages).
    pub fn integrity_check(&self) -> String {
        if self.is_postgres() {
            assert_eq!(self.sql_one("SELECT 1"), "1");
            return "ok".into();
        }
        self.sql_one("PRAGMA integrity_check")
    }
}

impl TestDb {
    /// The store opened in this process (library tests), on either backend.
    pub fn open(&self, mode: snapgov::store::OpenMode) -> snapgov::store::Store {
        let l = snapgov::store::Location::parse(self.location());
        snapgov::store::Store::open(l, mode).unwrap_or_else(|e| panic!("{}: {e}", self.location()))
    }
}

/// The store's tables as they were, to return to after each tampering case.
pub struct Tampering<'a> {
    db: &'a TestDb,
    restore: String,
    forget: String,
}

impl Tampering<'_> {
    /// Runs `f` with `sql` applied to the store, then restores the store.
    pub fn case<T>(&self, sql: &str, f: impl FnOnce() -> T) -> T {
        self.db.sql_batch(sql);
        let out = f();
        self.db.sql_batch(&self.restore);
        out
    }
}

impl Drop for Tampering<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.db.sql_batch(&self.forget);
        }
    }
}
