//! The store, on SQLite (a file) or PostgreSQL (a URL). All SQL lives in
//! this module; callers see domain types.
//!
//! The interface is [`Store`] (a connection; reads), [`WriteTx`] (one write
//! transaction; reads and writes) and [`ReadTx`] (one consistent read), all
//! implementing [`Queries`], whichever engine is underneath. Queries are
//! written once against [`db::Db`]; the engines differ only in schema DDL
//! and bulk paths.

pub mod audit;
mod audit_pipe;
pub mod copy;
#[doc(hidden)]
pub mod db;
pub mod holds;
mod location;
#[doc(hidden)]
pub mod pg;
pub(crate) mod pipe;
pub mod records;
mod runs;
mod schema;
pub mod snapshots;
mod sqlite;
#[cfg(test)]
pub(crate) mod testing;
pub mod tokens;

/// The read traits, for `use crate::store::prelude::*`.
pub mod prelude {
    pub use super::audit::AuditReads;
    pub use super::holds::HoldReads;
    pub use super::records::RecordReads;
    pub use super::snapshots::SnapshotReads;
    pub use super::tokens::TokenReads;
    pub use super::Queries;
}

pub use audit::AuditFilter;
pub use records::{
    BadRecord, ContentHashes, DiffEntry, DiffSide, ReadyRecord, RecordFilter, RecordWriter,
    RecordsSummary, Written,
};
pub use snapshots::{SnapshotFilter, ToolRow};

pub use location::{Location, PgUrl};

use crate::domain::problem::Hint;
use db::{p, Db};
use rusqlite::{Connection, TransactionBehavior};
pub(crate) use sqlite::CACHE_KIB;
use sqlite::{configure, open_sqlite, sqlite_setup};
use std::path::PathBuf;
use std::time::Duration;

/// How long a writer waits for another process's write to finish.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {message}")]
    Open { path: PathBuf, message: String },
    /// The file opened but is not a database (or not one of ours).
    #[error("cannot open the store at {path}: {message} (is it a snapgov store?)")]
    NotAStore { path: PathBuf, message: String },
    #[error("the store at {path} has schema version {found}, newer than this snapgov understands ({supported})")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    /// Opened read-only, so the migration the schema needs cannot run.
    #[error("cannot open the store at {path}: its schema (version {found}) needs upgrading to {supported}")]
    NeedsMigration {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("no store at {path}")]
    Missing { path: PathBuf },
    #[error("the store is busy: another snapgov process kept it locked for more than {}s; try again", BUSY_TIMEOUT.as_secs())]
    Busy,
    #[error("the store is open read-only; this needs write access")]
    ReadOnly,
    #[error("the store's data is inconsistent: {0}")]
    Corrupt(String),
    /// The database server went away (restart, network): the operation in
    /// flight was rolled back by the server.
    #[error("lost the connection to the database: {0}; the operation did not complete and changed nothing: check that the database server is up, then run it again")]
    Unavailable(String),
    /// Any other failure of the database engine, with its own error kept
    /// as the source.
    #[error("store error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A copy's target already holds data (a copy never merges stores).
    #[error("the target store {target} is not empty (it holds {holds}); a copy goes into a new store: name a new SQLite file, or an empty PostgreSQL database or schema")]
    NotEmpty { target: String, holds: String },
    /// A limit of the store's own (not the engine's) was reached.
    #[error("store error: {0}")]
    Limit(String),
    /// The temporary files a large snapshot is sorted through.
    #[error("cannot use a temporary file while summarizing the snapshot: {0}; check that the temporary directory (TMPDIR) is writable and has space")]
    TempFile(#[source] std::io::Error),
    /// SQLITE_FULL / SQLITE_IOERR: the disk, not the store, is the problem.
    #[error("cannot write the store: {0}; the disk holding it is full or failing: free space (or check the disk) and try again; a write that failed left the store as it was")]
    Disk(String),
}

impl StoreError {
    /// What the user can do about it, for each front end to word.
    pub fn hint(&self) -> Option<Hint> {
        match self {
            StoreError::NotAStore { .. } => Some(Hint::OtherStore),
            StoreError::NewerSchema { .. } => Some(Hint::UpgradeOrOtherStore),
            StoreError::NeedsMigration { .. } => Some(Hint::MigrateWithWriteAccess),
            StoreError::Missing { .. } => Some(Hint::ImportOrDemo),
            _ => None,
        }
    }
}

/// A stored value a row reader cannot make sense of; it travels through
/// rusqlite's row mapping as a conversion failure's source so that it
/// surfaces as [`StoreError::Corrupt`] rather than as an engine error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct CorruptRow(pub(crate) String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::FromSqlConversionFailure(_, _, source) = &e {
            if let Some(c) = source.downcast_ref::<CorruptRow>() {
                return StoreError::Corrupt(c.0.clone());
            }
        }
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            match f.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    return StoreError::Busy
                }
                rusqlite::ErrorCode::ReadOnly => return StoreError::ReadOnly,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase => {
                    return StoreError::Corrupt(e.to_string())
                }
                rusqlite::ErrorCode::DiskFull | rusqlite::ErrorCode::SystemIoFailure => {
                    return StoreError::Disk(e.to_string())
                }
                _ => {}
            }
        }
        StoreError::Backend(Box::new(e))
    }
}

impl From<rusqlite::types::FromSqlError> for StoreError {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        StoreError::Corrupt(format!("a stored value has the wrong type: {e}"))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Creates the store (and its folder) if missing, and migrates it.
    ReadWrite,
    /// Opened read-only at the SQLite level: nothing can be written.
    ReadOnly,
}

/// A connection to a store.
pub struct Store {
    engine: Engine,
    location: Location,
    mode: OpenMode,
    pending: db::Pending,
}

enum Engine {
    Lite(Connection),
    Pg(Box<pg::PgConn>),
}

/// The schema version this binary writes.
pub fn schema_version() -> i64 {
    schema::MIGRATIONS.len() as i64
}

impl Store {
    /// Opens the store at `location`: a SQLite file or a PostgreSQL URL.
    pub fn open(location: impl Into<Location>, mode: OpenMode) -> Result<Store> {
        Ok(Store::open_migrating(location, mode)?.0)
    }

    /// As [`open`](Self::open), also returning the schema version the store
    /// had before this open migrated it (0: it was just created).
    pub fn open_migrating(location: impl Into<Location>, mode: OpenMode) -> Result<(Store, i64)> {
        let location = location.into();
        let engine = match &location {
            Location::Sqlite(path) => Engine::Lite(open_sqlite(path, mode)?),
            Location::Postgres(url) => Engine::Pg(Box::new(pg::PgConn::connect(
                url,
                mode == OpenMode::ReadOnly,
            )?)),
        };
        let mut store = Store {
            engine,
            location,
            mode,
            pending: Default::default(),
        };
        let found = store.migrate()?;
        Ok((store, found))
    }

    /// Opens an in-memory store (tests, benchmarks).
    pub fn open_in_memory() -> Result<Store> {
        sqlite_setup();
        let conn = Connection::open_in_memory()?;
        configure(&conn, OpenMode::ReadWrite)?;
        let mut store = Store {
            engine: Engine::Lite(conn),
            location: Location::Sqlite(PathBuf::from(":memory:")),
            mode: OpenMode::ReadWrite,
            pending: Default::default(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn version(&self) -> Result<i64> {
        let db = self.db();
        if db.is_pg() {
            let exists = db.one(
                "SELECT to_regclass('snapgov_version') IS NOT NULL",
                p![],
                |r| r.i64(0),
            )?;
            if exists == 0 {
                return Ok(0);
            }
            return db.one("SELECT version FROM snapgov_version", p![], |r| r.i64(0));
        }
        db.one("PRAGMA user_version", p![], |r| r.i64(0))
    }

    /// Runs the migrations the store lacks; returns the version it had.
    fn migrate(&mut self) -> Result<i64> {
        let current = self.version()?;
        let supported = schema_version();
        let path = PathBuf::from(self.location.redacted());
        if current > supported {
            return Err(StoreError::NewerSchema {
                path,
                found: current,
                supported,
            });
        }
        if current == supported {
            return Ok(current);
        }
        if self.mode == OpenMode::ReadOnly {
            if current == 0 {
                return Err(StoreError::Missing { path });
            }
            return Err(StoreError::NeedsMigration {
                path,
                found: current,
                supported,
            });
        }
        match &mut self.engine {
            Engine::Lite(conn) => {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
                // Re-read inside the lock: another process may have migrated meanwhile.
                let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(current as usize) {
                    tx.execute_batch(sql)?;
                    tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
                }
                tx.commit()?;
            }
            Engine::Pg(c) => {
                c.begin_write()?;
                let run = || -> Result<()> {
                    c.batch(
                        "CREATE TABLE IF NOT EXISTS snapgov_version (version BIGINT NOT NULL)",
                    )?;
                    let current = c
                        .query_opt("SELECT version FROM snapgov_version", p![])?
                        .map(|r| r.get::<_, i64>(0));
                    if current.is_none() {
                        c.exec("INSERT INTO snapgov_version (version) VALUES (0)", p![])?;
                    }
                    let current = current.unwrap_or(0);
                    if current > supported {
                        return Err(StoreError::NewerSchema {
                            path: PathBuf::from(self.location.redacted()),
                            found: current,
                            supported,
                        });
                    }
                    for (i, sql) in schema::PG_MIGRATIONS
                        .iter()
                        .enumerate()
                        .skip(current as usize)
                    {
                        c.batch(sql)?;
                        c.exec("UPDATE snapgov_version SET version = ?1", p![i as i64 + 1])?;
                    }
                    Ok(())
                };
                let out = run();
                c.end(out.is_ok())?;
                out?;
            }
        }
        Ok(current)
    }

    /// Where the store is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The SQLite file (or `:memory:`), or the redacted URL.
    pub fn path(&self) -> PathBuf {
        match &self.location {
            Location::Sqlite(p) => p.clone(),
            l => PathBuf::from(l.redacted()),
        }
    }

    pub fn mode(&self) -> OpenMode {
        self.mode
    }

    /// Whether the connection still works (PostgreSQL's may have been
    /// closed by the server); a pool drops the ones that do not.
    pub fn is_healthy(&self) -> bool {
        match &self.engine {
            Engine::Lite(_) => true,
            Engine::Pg(c) => !c.is_closed(),
        }
    }

    /// A listener for other processes' committed writes, on PostgreSQL
    /// (LISTEN/NOTIFY on a connection of its own); `None` on SQLite, where
    /// readers look for changes themselves.
    pub fn listen_for_changes(location: &Location) -> Result<Option<pg::ChangeListener>> {
        match location {
            Location::Postgres(url) => Ok(Some(pg::ChangeListener::open(url)?)),
            _ => Ok(None),
        }
    }

    /// Whether the connection answers now (a round trip on PostgreSQL);
    /// for a connection that sat idle while the server may have restarted.
    pub fn ping(&self) -> bool {
        match &self.engine {
            Engine::Lite(_) => true,
            Engine::Pg(c) => c.ping(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.engine, Engine::Pg(_))
    }

    /// Runs `f` in one write transaction, committed when `f` returns `Ok`,
    /// rolled back otherwise. Writers take turns (SQLite's write lock, or
    /// PostgreSQL's advisory lock), waiting up to [`BUSY_TIMEOUT`].
    pub fn write<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&mut WriteTx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if self.mode == OpenMode::ReadOnly {
            return Err(StoreError::ReadOnly.into());
        }
        *self.pending.borrow_mut() = None;
        let pending = &self.pending;
        let out = match &mut self.engine {
            Engine::Lite(conn) => {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(StoreError::from)?;
                let mut w = WriteTx {
                    db: Db {
                        e: db::Engine::Lite(&tx),
                        pending,
                    },
                };
                let out = f(&mut w)?;
                tx.commit().map_err(StoreError::from)?;
                out
            }
            Engine::Pg(c) => {
                c.begin_write()?;
                let mut w = WriteTx {
                    db: Db {
                        e: db::Engine::Pg(c),
                        pending,
                    },
                };
                match f(&mut w) {
                    Ok(out) => {
                        c.end(true)?;
                        out
                    }
                    Err(e) => {
                        // A lost connection ends the transaction too.
                        let _ = c.end(false);
                        return Err(e);
                    }
                }
            }
        };
        *self.pending.borrow_mut() = None;
        Ok(out)
    }

    /// Runs `f` over one consistent read snapshot of the store.
    pub fn read<T, E: From<StoreError>>(
        &mut self,
        f: impl FnOnce(&ReadTx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let pending = &self.pending;
        match &mut self.engine {
            Engine::Lite(conn) => {
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Deferred)
                    .map_err(StoreError::from)?;
                let r = ReadTx {
                    db: Db {
                        e: db::Engine::Lite(&tx),
                        pending,
                    },
                };
                let out = f(&r)?;
                drop(tx);
                Ok(out)
            }
            Engine::Pg(c) => {
                c.begin_read()?;
                let r = ReadTx {
                    db: Db {
                        e: db::Engine::Pg(c),
                        pending,
                    },
                };
                let out = f(&r);
                let ended = c.end(false);
                let out = out?;
                ended?;
                Ok(out)
            }
        }
    }

    /// SQLite's `PRAGMA integrity_check` ("ok" or its list of problems);
    /// PostgreSQL checks its own pages, so "ok" once it answers.
    pub fn integrity_check(&self) -> Result<String> {
        let db = self.db();
        if db.is_pg() {
            db.one("SELECT 1", p![], |r| r.i64(0))?;
            return Ok("ok".into());
        }
        let rows = db.all("PRAGMA integrity_check", p![], |r| r.string(0))?;
        Ok(rows.join("; "))
    }
}

/// One write transaction.
pub struct WriteTx<'a> {
    db: Db<'a>,
}

/// One read transaction (a consistent view while other processes write).
pub struct ReadTx<'a> {
    db: Db<'a>,
}

impl WriteTx<'_> {
    /// Marks a point the transaction can return to.
    pub fn savepoint(&mut self, name: &str) -> Result<()> {
        self.db.batch(&format!("SAVEPOINT {name}"))
    }
    /// Undoes everything since the savepoint (which stays open).
    pub fn rollback_to(&mut self, name: &str) -> Result<()> {
        self.db.batch(&format!("ROLLBACK TO SAVEPOINT {name}"))
    }
    /// Keeps everything since the savepoint and closes it.
    pub fn release(&mut self, name: &str) -> Result<()> {
        self.db.batch(&format!("RELEASE SAVEPOINT {name}"))
    }
}

/// Read queries, available on a connection and inside transactions.
pub trait Queries {
    #[doc(hidden)]
    fn db(&self) -> Db<'_>;
}

impl Queries for Store {
    fn db(&self) -> Db<'_> {
        Db {
            e: match &self.engine {
                Engine::Lite(c) => db::Engine::Lite(c),
                Engine::Pg(c) => db::Engine::Pg(c),
            },
            pending: &self.pending,
        }
    }
}
impl Queries for WriteTx<'_> {
    fn db(&self) -> Db<'_> {
        self.db
    }
}
impl Queries for ReadTx<'_> {
    fn db(&self) -> Db<'_> {
        self.db
    }
}

#[cfg(test)]
mod error_source_tests {
    use super::*;

    /// An engine error that has no kind of its own keeps the engine's error
    /// as its source (it used to be flattened into a string).
    #[test]
    fn an_engine_error_keeps_its_source() {
        let conn = Connection::open_in_memory().unwrap();
        let e: StoreError = conn.execute_batch("NOT SQL").unwrap_err().into();
        assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
        let source = std::error::Error::source(&e).expect("the engine's error is kept");
        assert!(source.to_string().contains("syntax error"), "{source}");
    }
}
