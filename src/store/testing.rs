//! Unit tests' stores: a fresh in-memory SQLite store, or, when
//! `SNAPGOV_TEST_POSTGRES` names a database URL, a fresh schema of its own
//! in that database (dropped when the store is), so one test body runs on
//! either backend, as the integration tests do (`tests/common/pg.rs`).

use super::{Location, OpenMode, Store};
use std::sync::atomic::{AtomicU64, Ordering};

/// A store for one test; dereferences to the [`Store`].
pub(crate) struct Scratch {
    store: Option<Store>,
    /// The database URL and the schema to drop, on PostgreSQL.
    schema: Option<(String, String)>,
}

/// A fresh, empty, migrated store on the backend the tests run on.
pub(crate) fn scratch() -> Scratch {
    let url = std::env::var("SNAPGOV_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty());
    let Some(url) = url else {
        return Scratch {
            store: Some(Store::open_in_memory().expect("an in-memory store")),
            schema: None,
        };
    };
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "snapgov_t_{}_{}_{nanos:08x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    admin(&url)
        .batch_execute(&format!("CREATE SCHEMA \"{name}\""))
        .unwrap_or_else(|e| panic!("SNAPGOV_TEST_POSTGRES: cannot create schema {name}: {e}"));
    let sep = if url.contains('?') { '&' } else { '?' };
    let location = Location::parse(format!("{url}{sep}options=-csearch_path%3D{name}"));
    let store = Store::open(location, OpenMode::ReadWrite)
        .unwrap_or_else(|e| panic!("cannot open the test store in schema {name}: {e}"));
    Scratch {
        store: Some(store),
        schema: Some((url, name)),
    }
}

fn admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| {
        panic!("SNAPGOV_TEST_POSTGRES: cannot connect ({e}); name a running server, or unset it")
    })
}

impl std::ops::Deref for Scratch {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store.as_ref().expect("open until dropped")
    }
}

impl std::ops::DerefMut for Scratch {
    fn deref_mut(&mut self) -> &mut Store {
        self.store.as_mut().expect("open until dropped")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop(self.store.take());
        if let Some((url, name)) = &self.schema {
            // A failure leaves the schema for .ci/run to drop.
            if let Ok(mut c) = postgres::Client::connect(url, postgres::NoTls) {
                let _ = c.batch_execute(&format!(
                    "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{name}\" CASCADE"
                ));
            }
        }
    }
}

/// A SQLite connection in memory with the whole schema, for tests that
/// look at the statements the store prepares.
pub(crate) fn lite_schema() -> rusqlite::Connection {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for m in super::schema::MIGRATIONS {
        conn.execute_batch(m).unwrap();
    }
    conn
}

/// SQLite's query plan for `sql` with one argument, a line a step.
pub(crate) fn lite_plan(
    conn: &rusqlite::Connection,
    sql: &str,
    arg: &dyn rusqlite::ToSql,
) -> Vec<String> {
    conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap()
        .query_map([arg], |r| r.get(3))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::prelude::*;

    /// Each scratch store starts empty and is a store of this version, on
    /// whichever backend the tests run.
    #[test]
    fn a_scratch_store_is_fresh_and_of_the_backend_under_test() {
        let a = scratch();
        let b = scratch();
        let pg = std::env::var("SNAPGOV_TEST_POSTGRES").is_ok_and(|u| !u.trim().is_empty());
        assert_eq!(a.is_postgres(), pg);
        for s in [&a, &b] {
            assert!(s
                .list_snapshots(&crate::store::SnapshotFilter::default())
                .unwrap()
                .is_empty());
            assert_eq!(s.version().unwrap(), crate::store::schema_version());
        }
    }

    /// Statements whose text names values (a snapshot's chain, a cursor)
    /// are prepared once each: a long-lived connection (`serve`, a seeding
    /// run) must not keep every one on the server, where each is walked at
    /// every catalog change (imports slowed from 114/s to under 10/s).
    #[test]
    fn a_connection_keeps_a_bounded_number_of_prepared_statements() {
        let s = scratch();
        let Some(pg) = s.db().pg() else {
            return;
        };
        for i in 0..2_000 {
            pg.query(&format!("SELECT {i}::BIGINT"), &[]).unwrap();
        }
        let rows = pg
            .query("SELECT count(*) FROM pg_prepared_statements", &[])
            .unwrap();
        let kept: i64 = rows[0].get(0);
        assert!(
            kept <= crate::store::pg::STATEMENT_CACHE as i64 + 1,
            "{kept} statements prepared on the server"
        );
    }
}
