//! The output's writer thread, stopped at once by Ctrl-C.
//!
//! Like the library's `sink::Background` (tiles handed through a bounded queue to a thread
//! that writes them, so disk writes overlap the computation), except that no wait outlasts an
//! interrupt: a text sink formats a whole row band at its last tile (a band of a GPU's
//! 5120-row tiles across 20000 columns is 10⁸ numbers, many seconds), and waiting for that
//! (to queue a tile, or at the end) made a Ctrl-C take 10 to 20 s. Interrupted, the run stops
//! waiting and leaves the thread behind: the process exits moments later, and what the thread
//! was writing is the temporary output, which the run removes (or an unnamed file).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use ndarray::{Array2, ArrayView2};
use pairdist::plan::Tile;
use pairdist::sink::Sink;
use pairdist::{Element, Error, Result};

/// Tiles queued for the writer at most; bounds the memory the queue holds.
const QUEUE: usize = 4;

/// How often a wait looks at the interrupt flag: far below a second, far above the cost of
/// looking.
const POLL: Duration = Duration::from_millis(2);

/// Runs `inner` on a writer thread, fed through a bounded queue of owned tiles of `T`; every
/// wait for it gives up when `interrupted` is set.
pub(crate) struct Writer<T: Element> {
    queue: Option<SyncSender<(Tile, Array2<T>)>>,
    thread: Option<JoinHandle<Result<()>>>,
    interrupted: &'static AtomicBool,
}

impl<T: Element> Writer<T> {
    /// Starts the writer thread for `inner`.
    pub(crate) fn new(mut inner: Box<dyn Sink<T> + 'static>, interrupted: &'static AtomicBool) -> Result<Self> {
        let (tx, rx) = sync_channel::<(Tile, Array2<T>)>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("pairdist-writer".into())
            .spawn(move || {
                for (tile, values) in rx {
                    // Queued tiles are dropped, not written, once the run is interrupted.
                    if interrupted.load(Ordering::SeqCst) {
                        return Err(Error::Interrupted);
                    }
                    inner.accept(&tile, values.view())?;
                }
                if interrupted.load(Ordering::SeqCst) {
                    return Err(Error::Interrupted);
                }
                inner.finish()
            })
            .map_err(|e| Error::Internal(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer { queue: Some(tx), thread: Some(thread), interrupted })
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Closes the queue and waits for the writer's result, unless interrupted first: then the
    /// thread is left to the process's exit.
    fn join(&mut self) -> Result<()> {
        self.queue.take();
        let Some(thread) = self.thread.take() else {
            // Joined before (the writer stopped early and said why then).
            return if self.interrupted() { Err(Error::Interrupted) } else { Ok(()) };
        };
        while !thread.is_finished() {
            if self.interrupted() {
                return Err(Error::Interrupted);
            }
            std::thread::sleep(POLL);
        }
        thread.join().unwrap_or_else(|_| Err(Error::Internal("the writer thread panicked".into())))
    }
}

impl<T: Element> Sink<T> for Writer<T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let queue = self.queue.as_ref().ok_or(Error::Interrupted)?;
        let mut item = (tile.clone(), values.to_owned());
        loop {
            match queue.try_send(item) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(back)) => {
                    if self.interrupted() {
                        return Err(Error::Interrupted);
                    }
                    item = back;
                    std::thread::sleep(POLL);
                }
                // The writer stopped early: its error says why.
                Err(TrySendError::Disconnected(_)) => return self.join().and(Err(Error::Interrupted)),
            }
        }
    }

    /// Waits until every queued tile is written and the inner sink has finished.
    fn finish(&mut self) -> Result<()> {
        self.join()
    }
}

impl<T: Element> Drop for Writer<T> {
    fn drop(&mut self) {
        // On an early error the writer is told to stop; its result no longer matters.
        let _ = self.join();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A sink that takes `delay` per tile and records the tiles it wrote.
    struct Slow {
        delay: Duration,
        written: Arc<Mutex<Vec<Tile>>>,
    }

    impl Sink<f32> for Slow {
        fn accept(&mut self, tile: &Tile, _: ArrayView2<f32>) -> Result<()> {
            std::thread::sleep(self.delay);
            self.written.lock().unwrap().push(tile.clone());
            Ok(())
        }
    }

    fn tiles(n: usize) -> impl Iterator<Item = Tile> {
        (0..n).map(|r| Tile { rows: r..r + 1, cols: 0..1 })
    }

    #[test]
    fn every_tile_is_written_in_order() {
        static NEVER: AtomicBool = AtomicBool::new(false);
        let written = Arc::new(Mutex::new(Vec::new()));
        let slow = Slow { delay: Duration::from_millis(1), written: written.clone() };
        let mut writer = Writer::new(Box::new(slow), &NEVER).unwrap();
        let values = Array2::<f32>::zeros((1, 1));
        for tile in tiles(20) {
            writer.accept(&tile, values.view()).unwrap();
        }
        writer.finish().unwrap();
        assert_eq!(*written.lock().unwrap(), tiles(20).collect::<Vec<_>>());
    }

    #[test]
    fn an_interrupt_drops_the_queued_tiles_and_ends_every_wait() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let written = Arc::new(Mutex::new(Vec::new()));
        // A tile takes an hour: only giving up on the writer can end the waits below.
        let slow = Slow { delay: Duration::from_secs(3600), written: written.clone() };
        let mut writer = Writer::new(Box::new(slow), &STOP).unwrap();
        let values = Array2::<f32>::zeros((1, 1));
        // The first tile keeps the writer busy; QUEUE more fill the queue.
        for tile in tiles(1 + QUEUE) {
            writer.accept(&tile, values.view()).unwrap();
        }
        STOP.store(true, Ordering::SeqCst);
        // The queue is full: this accept would wait an hour, and the finish longer.
        let last = Tile { rows: 99..100, cols: 0..1 };
        assert!(matches!(writer.accept(&last, values.view()), Err(Error::Interrupted)));
        assert!(matches!(writer.finish(), Err(Error::Interrupted)));
        assert!(written.lock().unwrap().is_empty());
    }
}
