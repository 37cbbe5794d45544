//! Reading on one thread while a second thread works on what was read:
//! rows go across in batches that come back emptied and are filled again,
//! so nothing is allocated per row (verification's re-hash, the audit
//! walk, the import's parser; issue 14).

use super::{Result, StoreError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

/// Batches in flight: enough that neither side waits on the other's
/// hiccups, few enough that memory stays a few MB.
const IN_FLIGHT: usize = 3;

/// A batch of copied rows.
pub(crate) trait Batch: Default + Send {
    fn len(&self) -> usize;
    fn clear(&mut self);
}

/// The reading side's end: the batch being filled, and the way across.
pub(crate) struct Handoff<B> {
    pub cur: B,
    tx: mpsc::SyncSender<B>,
    back: mpsc::Receiver<B>,
    /// Batches sent that the working side has not started on yet.
    queued: Arc<AtomicUsize>,
}

impl<B: Batch> Handoff<B> {
    /// Sends the batch being filled across and starts an emptied one;
    /// `false` once the working side has stopped taking batches.
    pub fn send(&mut self) -> bool {
        if self.cur.len() == 0 {
            return true;
        }
        let mut next = self.back.try_recv().unwrap_or_default();
        // Emptied here, on the thread that filled it: memory is freed by
        // the thread that allocated it (glibc frees across threads under
        // a lock, which cost an import a third more CPU).
        next.clear();
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.tx.send(std::mem::replace(&mut self.cur, next)).is_ok()
    }

    /// Whether the working side has a batch waiting for it: it is the
    /// slower side, and the reading side has time to take work off it.
    pub fn ahead(&self) -> bool {
        self.queued.load(Ordering::Relaxed) > 0
    }
}

/// Runs `read` on this thread and `work` on a second one, batch by batch in
/// the order they were sent; `work` returning `false` stops it (the reader
/// then finds `send` refused). Returns what `read` returned, and whether
/// `work` stopped before the end.
pub(crate) fn run<B: Batch, T>(
    mut work: impl FnMut(&B) -> bool + Send,
    read: impl FnOnce(&mut Handoff<B>) -> T,
) -> Result<(T, bool)> {
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<B>(IN_FLIGHT);
        let (back_tx, back) = mpsc::channel::<B>();
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        let worker = s.spawn(move || {
            for mut b in rx {
                taken.fetch_sub(1, Ordering::Relaxed);
                if !work(&b) {
                    return true;
                }
                b.clear();
                // The reader may be gone (it failed); the batch is then dropped.
                let _ = back_tx.send(b);
            }
            false
        });
        let mut h = Handoff {
            cur: B::default(),
            tx,
            back,
            queued,
        };
        let out = read(&mut h);
        h.send();
        // Closing the channel ends the worker's loop.
        drop(h);
        let stopped = worker.join().map_err(|_| panicked())?;
        Ok((out, stopped))
    })
}

fn panicked() -> StoreError {
    StoreError::Backend("a worker thread failed (a bug); nothing was changed".into())
}

/// The other way round: runs `produce` on a second thread, filling batches,
/// and `take` on this one, batch by batch in the order they were sent, for
/// work whose taking side must stay here (an import's writer holds the
/// transaction, and parsing goes to the second core). `take` returning
/// `false` stops it (the producer then finds `send` refused). Returns what
/// `produce` returned, and whether `take` stopped before the end.
pub(crate) fn produce<B: Batch, T: Send>(
    produce: impl FnOnce(&mut Handoff<B>) -> T + Send,
    mut take: impl FnMut(&mut B) -> bool,
) -> Result<(T, bool)> {
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<B>(IN_FLIGHT);
        let (back_tx, back) = mpsc::channel::<B>();
        let queued = Arc::new(AtomicUsize::new(0));
        let taken = queued.clone();
        let producer = s.spawn(move || {
            let mut h = Handoff {
                cur: B::default(),
                tx,
                back,
                queued,
            };
            let out = produce(&mut h);
            h.send();
            out
        });
        let mut stopped = false;
        while let Ok(mut b) = rx.recv() {
            taken.fetch_sub(1, Ordering::Relaxed);
            if !take(&mut b) {
                stopped = true;
                break;
            }
            // The producer empties it (see `Handoff::send`); it may be done,
            // and the batch is then dropped.
            let _ = back_tx.send(b);
        }
        // A producer blocked on a full channel gets its send refused.
        drop(rx);
        let out = producer.join().map_err(|_| panicked())?;
        Ok((out, stopped))
    })
}
