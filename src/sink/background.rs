//! A sink that hands tiles to another sink on a writer thread, so disk writes overlap the
//! computation of the next tiles instead of stalling it.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use ndarray::{Array2, ArrayView2};

use super::Sink;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::plan::Tile;

/// Blocks queued for the writer at most; bounds the memory the queue can hold.
const QUEUE: usize = 4;

/// Runs `inner` on a writer thread, fed through a bounded queue of owned tiles of `T`.
pub struct Background<T: Element = f32> {
    queue: Option<SyncSender<(Tile, Array2<T>)>>,
    writer: Option<JoinHandle<Result<()>>>,
}

impl<T: Element> Background<T> {
    /// Starts the writer thread for `inner`.
    pub fn new(mut inner: Box<dyn Sink<T> + 'static>) -> Self {
        let (tx, rx) = sync_channel::<(Tile, Array2<T>)>(QUEUE);
        let writer = std::thread::Builder::new()
            .name("pairdist-writer".into())
            .spawn(move || {
                for (tile, values) in rx {
                    inner.accept(&tile, values.view())?;
                }
                inner.finish()
            })
            .expect("spawning the writer thread");
        Background { queue: Some(tx), writer: Some(writer) }
    }

    /// Stops the writer and returns its first error.
    fn join(&mut self) -> Result<()> {
        self.queue.take();
        match self.writer.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Internal("the writer thread panicked".into())),
        }
    }
}

impl<T: Element> Sink<T> for Background<T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let queue = self.queue.as_ref().ok_or(Error::Interrupted)?;
        if queue.send((tile.clone(), values.to_owned())).is_err() {
            // The writer stopped early: its error says why.
            return self.join().and(Err(Error::Interrupted));
        }
        Ok(())
    }

    /// Waits until every queued tile is written and the inner sink has finished.
    fn finish(&mut self) -> Result<()> {
        self.join()
    }
}

impl<T: Element> Drop for Background<T> {
    fn drop(&mut self) {
        // On an early error the writer is told to stop; its result no longer matters.
        let _ = self.join();
    }
}
