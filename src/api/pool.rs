//! The server's store connections: a few kept open and reused across
//! requests, checked before reuse after an idle spell, and all dropped
//! together once the database has ended one (a restart ends them all).

use crate::ops::OpError;
use crate::store::{OpenMode, Store};
use std::sync::Mutex;

/// Connections kept open between requests.
pub(super) const POOL_IDLE: usize = 16;

/// A few open store connections, reused across requests.
pub struct Pool {
    path: crate::store::Location,
    /// Each with when it was put back.
    idle: Mutex<Vec<(Store, std::time::Instant)>>,
}

/// A connection idle longer than this is checked before reuse: the database
/// may have restarted (or dropped it) meanwhile.
const POOL_CHECK_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

impl Pool {
    pub fn new(path: crate::store::Location) -> Pool {
        Pool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection that still works, or a new one.
    pub fn take(&self) -> Result<Store, OpError> {
        loop {
            let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((s, since)) = next else { break };
            if since.elapsed() < POOL_CHECK_AFTER || s.ping() {
                return Ok(s);
            }
        }
        Ok(Store::open(self.path.clone(), OpenMode::ReadWrite)?)
    }

    /// Closes every idle connection.
    pub fn clear(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Drops a connection the database ended, and every idle one with it:
    /// a restart ended them all, and handing them out one by one would fail
    /// a request for each. The next requests connect afresh.
    pub fn discard(&self, store: Store) {
        let stale = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        drop(store);
        drop(stale);
    }

    /// Returns a connection for reuse.
    pub fn put(&self, store: Store) {
        if !store.is_healthy() {
            return self.discard(store);
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < POOL_IDLE {
            idle.push((store, std::time::Instant::now()));
        }
    }
}

impl Drop for Pool {
    /// PostgreSQL's blocking client closes its connection on a runtime of
    /// its own, which cannot run on an async thread (the server's shutdown
    /// drops the pool there): idle connections close on a thread of their own.
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|e| e.into_inner()));
        if !idle.is_empty() && tokio::runtime::Handle::try_current().is_ok() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}
