//! Changes made by other processes and hosts. On PostgreSQL a thread waits
//! on the store's notification channel (LISTEN/NOTIFY; every committed write
//! notifies it) and tells the event loop, which then refreshes at once; on
//! SQLite there is nothing to wait on and the event loop looks for changes
//! every `console.refresh_secs`.

use crate::store::{Location, Store};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Duration;

/// How long a wait for a notification lasts before it starts over (and
/// notices that the console has gone).
const WAIT: Duration = Duration::from_secs(5);
/// How long after a lost listening connection it is opened again.
const RECONNECT: Duration = Duration::from_secs(1);

/// Other processes' writes, as the event loop sees them.
pub struct Changes {
    rx: Receiver<()>,
}

impl Changes {
    /// Starts listening, on PostgreSQL; `None` on SQLite.
    pub fn watch(location: &Location) -> Option<Changes> {
        if !location.is_postgres() {
            return None;
        }
        let (tx, rx) = mpsc::channel();
        let location = location.clone();
        std::thread::spawn(move || {
            // Writes made while the connection was down were not
            // notified: after reconnecting, refresh once for them.
            let mut missed = false;
            loop {
                match Store::listen_for_changes(&location) {
                    Ok(Some(mut l)) => {
                        if std::mem::take(&mut missed) && tx.send(()).is_err() {
                            return;
                        }
                        while let Ok(got) = l.wait(WAIT) {
                            if got && tx.send(()).is_err() {
                                return;
                            }
                        }
                    }
                    Ok(None) => return,
                    Err(_) => {}
                }
                missed = true;
                std::thread::sleep(RECONNECT);
            }
        });
        Some(Changes { rx })
    }

    /// Whether anything was written since the last call.
    pub fn arrived(&self) -> bool {
        let mut any = false;
        loop {
            match self.rx.try_recv() {
                Ok(()) => any = true,
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => return any,
            }
        }
    }
}
