//! Opening a SQLite store's connection: the process-wide set-up, the
//! file's open, and the settings every connection gets.

use super::{OpenMode, Result, StoreError, BUSY_TIMEOUT};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Turns off SQLite's memory statistics, once, before its first connection
/// (it can be set only before SQLite initializes). With them on, every
/// allocation SQLite makes takes a process-wide mutex to count itself:
/// 7 % of a 1M first import's CPU was in `pthread_mutex_lock`/`unlock`.
/// snapgov never reads the statistics.
pub(super) fn sqlite_setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: called once, before any connection exists (every open
        // goes through here first); the option takes one int argument.
        // Should SQLite be initialized already (a test's own connection),
        // it refuses with SQLITE_MISUSE and keeps the default, which is
        // only slower.
        unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::os::raw::c_int,
            );
        }
    });
}

pub(super) fn open_sqlite(path: &Path, mode: OpenMode) -> Result<Connection> {
    sqlite_setup();
    let open_err = |message: String| StoreError::Open {
        path: path.to_path_buf(),
        message,
    };
    let conn = match mode {
        OpenMode::ReadWrite => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
            }
            Connection::open(path).map_err(|e| open_err(e.to_string()))?
        }
        OpenMode::ReadOnly => {
            if !path.exists() {
                return Err(StoreError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| open_err(e.to_string()))?
        }
    };
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| open_err(e.to_string()))?;
    configure(&conn, mode).map_err(|e| match e {
        // Only a file that is not a database earns this hint; a full
        // disk keeps its own message.
        StoreError::Corrupt(message) => StoreError::NotAStore {
            path: path.to_path_buf(),
            message,
        },
        StoreError::Backend(e) => open_err(e.to_string()),
        other => other,
    })?;
    Ok(conn)
}

/// SQLite's page cache per connection, in KiB (64 MB): most of an
/// import's peak memory, which issue 14 holds under 128 MB.
pub(crate) const CACHE_KIB: u32 = 65_536;

pub(super) fn configure(conn: &Connection, mode: OpenMode) -> Result<()> {
    // Reading the header first turns "not a database" into a clear error.
    let _: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    conn.set_prepared_statement_cache_capacity(64);
    if mode == OpenMode::ReadWrite {
        // WAL lets readers (the console, the server) run beside a writer;
        // NORMAL sync is durable across process crashes in WAL mode.
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(&format!(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{CACHE_KIB};"
        ))?;
    } else {
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON; PRAGMA cache_size = -{CACHE_KIB};"
        ))?;
    }
    Ok(())
}
