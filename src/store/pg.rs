//! The PostgreSQL engine: connecting (password sources, TLS), statements
//! kept prepared, cursors read in batches, transactions serialized like
//! SQLite's by one advisory lock, and its errors as [`StoreError`]s.

use super::db::{dollar_params, V};
use super::location::PgUrl;
use super::{Result, StoreError, BUSY_TIMEOUT};
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Rows a cursor hands over per round trip.
const FETCH: usize = 4096;

pub struct PgConn {
    /// `None` while lent to a worker thread ([`PgConn::lend`]).
    client: RefCell<Option<Client>>,
    stmts: RefCell<HashMap<String, Statement>>,
    in_tx: Cell<bool>,
    /// The open transaction is a write transaction: its commit notifies
    /// the store's listeners.
    writing: Cell<bool>,
    cursors: Cell<u32>,
    /// Requests sent so far (each use of the client), for tests that
    /// bound a workflow's round trips.
    requests: Cell<u64>,
    /// The schema the store lives in (`current_schema()`).
    pub(crate) schema: String,
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        use postgres::error::SqlState;
        if let Some(db) = e.as_db_error() {
            let c = db.code();
            if *c == SqlState::LOCK_NOT_AVAILABLE
                || *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
            {
                return StoreError::Busy;
            }
            if *c == SqlState::READ_ONLY_SQL_TRANSACTION {
                return StoreError::ReadOnly;
            }
            if *c == SqlState::DISK_FULL || *c == SqlState::OUT_OF_MEMORY {
                return StoreError::Disk(db.message().to_string());
            }
            if *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
            {
                return StoreError::Unavailable(db.message().to_string());
            }
            return StoreError::Backend(Box::new(e));
        }
        if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
        {
            return StoreError::Unavailable(e.to_string());
        }
        StoreError::Backend(Box::new(e))
    }
}

/// Prepared statements a connection keeps. Some statements' text names
/// values (a snapshot chain's keys, a cursor's name), so a long-lived
/// connection would otherwise keep thousands; the server walks its every
/// cached plan at each catalog change (a temporary table's, every import),
/// and a seeding run slowed from 114 imports/s to under 10.
pub(crate) const STATEMENT_CACHE: usize = 256;

fn params<'a>(p: &'a [V<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// A 64-bit advisory lock key for `what` in this store's schema, so stores
/// in different schemas of one database never wait on each other.
pub(crate) fn lock_key(schema: &str, what: &str) -> i64 {
    let h = blake3::hash(format!("snapgov\0{schema}\0{what}").as_bytes());
    i64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

impl PgConn {
    pub(crate) fn connect(url: &PgUrl, read_only: bool) -> Result<PgConn> {
        let mut client = url.connect()?;
        let schema: Option<String> = client.query_one("SELECT current_schema()", &[])?.get(0);
        let Some(schema) = schema else {
            return Err(StoreError::Open {
                path: url.redacted().into(),
                message: "no schema of its search_path exists; create the schema first (CREATE SCHEMA ...) or name an existing one".into(),
            });
        };
        if read_only {
            client.batch_execute("SET default_transaction_read_only = on")?;
        }
        Ok(PgConn {
            client: RefCell::new(Some(client)),
            stmts: RefCell::new(HashMap::new()),
            in_tx: Cell::new(false),
            writing: Cell::new(false),
            cursors: Cell::new(0),
            requests: Cell::new(0),
            schema,
        })
    }

    fn client(&self) -> Result<std::cell::RefMut<'_, Client>> {
        let busy = || StoreError::Backend("a query was made while the connection was busy".into());
        let c = self.client.try_borrow_mut().map_err(|_| busy())?;
        self.requests.set(self.requests.get() + 1);
        std::cell::RefMut::filter_map(c, Option::as_mut).map_err(|_| busy())
    }

    /// Lends the client to `f` on a worker thread (a `COPY` streaming
    /// while this thread parses): queries made before [`Lent::join`]
    /// fail as on a busy connection.
    pub(crate) fn lend<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<Lent<'_, T>> {
        let busy = || StoreError::Backend("a query was made while the connection was busy".into());
        let mut client = self
            .client
            .try_borrow_mut()
            .map_err(|_| busy())?
            .take()
            .ok_or_else(busy)?;
        let handle = std::thread::Builder::new()
            .name("snapgov-copy".into())
            .spawn(move || {
                let r = f(&mut client);
                (client, r)
            })
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(Lent {
            conn: self,
            handle: Some(handle),
        })
    }

    /// The statement for `sql` (written with `?N`), prepared once.
    fn stmt(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.stmts.borrow().get(sql) {
            return Ok(s.clone());
        }
        // Statements dropped here are closed on the server (with the next
        // request); the ones in use live on until their last clone goes.
        if self.stmts.borrow().len() >= STATEMENT_CACHE {
            self.stmts.borrow_mut().clear();
        }
        let s = self.client()?.prepare(&dollar_params(sql))?;
        self.stmts.borrow_mut().insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(crate) fn exec(&self, sql: &str, p: &[V<'_>]) -> Result<u64> {
        let s = self.stmt(sql)?;
        Ok(self.client()?.execute(&s, &params(p))?)
    }

    pub(crate) fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.client()?.batch_execute(sql)?)
    }

    pub(crate) fn query_opt(&self, sql: &str, p: &[V<'_>]) -> Result<Option<Row>> {
        let s = self.stmt(sql)?;
        let mut rows = self.client()?.query(&s, &params(p))?;
        Ok(if rows.is_empty() {
            None
        } else {
            Some(rows.swap_remove(0))
        })
    }

    pub(crate) fn query(&self, sql: &str, p: &[V<'_>]) -> Result<Vec<Row>> {
        let s = self.stmt(sql)?;
        Ok(self.client()?.query(&s, &params(p))?)
    }

    /// Streams a query's rows through a cursor, a batch per round trip; no
    /// borrow is held while `f` runs, so it may query too.
    pub(crate) fn each<E: From<StoreError>>(
        &self,
        sql: &str,
        p: &[V<'_>],
        mut f: impl FnMut(&Row) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let own_tx = !self.in_tx.get();
        if own_tx {
            self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ")?;
            self.in_tx.set(true);
        }
        let depth = self.cursors.get();
        self.cursors.set(depth + 1);
        // Named after the query too: a prepared FETCH keeps the row shape
        // of the cursor it was prepared for.
        let tag = &blake3::hash(sql.as_bytes()).to_hex()[..12];
        let name = format!("snapgov_c{depth}_{tag}");
        let out = (|| -> std::result::Result<(), E> {
            self.exec(&format!("DECLARE {name} NO SCROLL CURSOR FOR {sql}"), p)?;
            let fetch = format!("FETCH {FETCH} FROM {name}");
            loop {
                let rows = self.query(&fetch, &[])?;
                for r in &rows {
                    f(r)?;
                }
                if rows.len() < FETCH {
                    break;
                }
            }
            self.batch(&format!("CLOSE {name}"))?;
            Ok(())
        })();
        self.cursors.set(depth);
        if own_tx {
            self.in_tx.set(false);
            let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = self.batch(end);
            out?;
            ended?;
            return Ok(());
        }
        if out.is_err() {
            // A failed statement aborts the transaction; the caller rolls
            // back. A stop of the caller's own leaves the cursor to close.
            let _ = self.batch(&format!("CLOSE {name}"));
        }
        out
    }

    /// How many requests this connection has sent (prepares, statements,
    /// cursor fetches, `COPY`s).
    #[cfg(test)]
    pub(crate) fn requests(&self) -> u64 {
        self.requests.get()
    }

    /// Whether a transaction is open (settings made `LOCAL` last until it ends).
    pub(crate) fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }

    /// Opens a write transaction, waiting (up to the busy timeout) for the
    /// store's write lock: writers take turns, as on SQLite.
    pub(crate) fn begin_write(&self) -> Result<()> {
        let key = lock_key(&self.schema, "write");
        self.batch(&format!(
            "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '{}s'; SELECT pg_advisory_xact_lock({key})",
            BUSY_TIMEOUT.as_secs()
        ))?;
        self.in_tx.set(true);
        self.writing.set(true);
        Ok(())
    }

    /// Opens a read transaction over one consistent view.
    pub(crate) fn begin_read(&self) -> Result<()> {
        self.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        self.in_tx.set(true);
        Ok(())
    }

    /// Commits or rolls back. A committed write transaction notifies the
    /// store's channel (delivered to listeners at the commit, and only if
    /// it commits), so that consoles on other hosts refresh.
    pub(crate) fn end(&self, commit: bool) -> Result<()> {
        self.in_tx.set(false);
        let writing = self.writing.replace(false);
        if !commit {
            return self.batch("ROLLBACK");
        }
        if writing {
            let notify = format!("NOTIFY {}; COMMIT", channel(&self.schema));
            return self.batch(&notify);
        }
        self.batch("COMMIT")
    }

    /// Streams the rows of `COPY (query) TO STDOUT (FORMAT binary)`: no
    /// round trip per batch, the server sending while `f` works. `f` must
    /// not query (the connection is busy until the copy ends).
    pub(crate) fn copy_out(
        &self,
        query: &str,
        types: &[postgres::types::Type],
        mut f: impl FnMut(&postgres::binary_copy::BinaryCopyOutRow) -> Result<()>,
    ) -> Result<()> {
        let mut c = self.client()?;
        let reader = c.copy_out(&format!("COPY ({query}) TO STDOUT (FORMAT binary)"))?;
        use postgres::fallible_iterator::FallibleIterator;
        let mut rows = postgres::binary_copy::BinaryCopyOutIter::new(reader, types);
        while let Some(row) = rows.next()? {
            f(&row)?;
        }
        Ok(())
    }

    /// Runs `f` with the client itself (COPY, notifications).
    pub(crate) fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        f(&mut *self.client()?)
    }

    /// A round trip to the server: false if the connection is gone.
    pub(crate) fn ping(&self) -> bool {
        match self.client.try_borrow_mut() {
            Ok(mut c) => c
                .as_mut()
                .is_some_and(|c| c.is_valid(std::time::Duration::from_secs(2)).is_ok()),
            Err(_) => false,
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client
            .try_borrow()
            .map(|c| c.as_ref().is_some_and(|c| c.is_closed()))
            .unwrap_or(false)
    }
}

/// The notification channel of the store in `schema`: an identifier of its
/// own per schema (a schema's name may be too long, or need quoting).
fn channel(schema: &str) -> String {
    format!(
        "snapgov_changes_{:016x}",
        lock_key(schema, "changes") as u64
    )
}

/// A connection of its own that waits for other processes' (and hosts')
/// committed writes to a PostgreSQL store.
pub struct ChangeListener {
    client: Client,
}

impl ChangeListener {
    pub(crate) fn open(url: &PgUrl) -> Result<ChangeListener> {
        let mut client = url.connect()?;
        let schema: Option<String> = client.query_one("SELECT current_schema()", &[])?.get(0);
        let schema = schema.ok_or_else(|| StoreError::Open {
            path: url.redacted().into(),
            message: "no schema of its search_path exists".into(),
        })?;
        client.batch_execute(&format!("LISTEN {}", channel(&schema)))?;
        Ok(ChangeListener { client })
    }

    /// Waits up to `timeout` for a committed write; `true` if there was one
    /// (however many came, they count once). An error means the connection
    /// is gone: open a new listener.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool> {
        use postgres::fallible_iterator::FallibleIterator as _;
        let mut n = self.client.notifications();
        let got = n.timeout_iter(timeout).next()?.is_some();
        if got {
            // Drain what else is already here: one refresh covers it all.
            while n.iter().next()?.is_some() {}
        }
        drop(n);
        if self.client.is_closed() {
            return Err(StoreError::Unavailable(
                "the connection listening for changes closed".into(),
            ));
        }
        Ok(got)
    }
}

/// A client lent to a worker thread; [`Lent::join`] takes it back (so does
/// dropping it, discarding the outcome).
pub(crate) struct Lent<'a, T> {
    conn: &'a PgConn,
    handle: Option<std::thread::JoinHandle<(Client, Result<T>)>>,
}

impl<T> Lent<'_, T> {
    /// Waits for the worker and gives the client back to the connection.
    pub(crate) fn join(mut self) -> Result<T> {
        self.take_back()
    }

    fn take_back(&mut self) -> Result<T> {
        let Some(h) = self.handle.take() else {
            return Err(StoreError::Backend("the worker was already joined".into()));
        };
        match h.join() {
            Ok((client, r)) => {
                *self.conn.client.borrow_mut() = Some(client);
                r
            }
            // The client went down with the thread: the connection is
            // gone, and the server rolls the transaction back.
            Err(_) => Err(StoreError::Unavailable(
                "the thread writing to the database failed".into(),
            )),
        }
    }
}

impl<T> Drop for Lent<'_, T> {
    fn drop(&mut self) {
        if self.handle.is_some() {
            let _ = self.take_back();
        }
    }
}
