//! Watching and stopping a long computation from another thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Shared between a computation and whoever watches it (a progress bar, a Ctrl-C handler):
/// the pairs computed so far, and a request to stop. Give one to an engine through
/// [`EngineOptions::monitor`](crate::EngineOptions); a stopped call returns
/// [`Error::Interrupted`] at the next tile, band or pass, within a fraction of a second.
///
/// ```
/// use std::sync::Arc;
/// use ndarray::Array2;
/// use pairdist::{Backend, Engine, EngineOptions, Error, Metric, Monitor};
///
/// let monitor = Arc::new(Monitor::default());
/// let engine = Engine::with_options(EngineOptions {
///     backend: Backend::Cpu,
///     monitor: Some(monitor.clone()),
///     ..Default::default()
/// })?;
/// let x = Array2::<f32>::zeros((100, 3));
/// engine.knn(x.view(), x.view(), 5, Metric::Euclidean)?;
/// assert_eq!(monitor.pairs_done(), 100 * 100);
/// monitor.request_stop();
/// assert!(matches!(engine.knn(x.view(), x.view(), 5, Metric::Euclidean), Err(Error::Interrupted)));
/// # Ok::<(), pairdist::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct Monitor {
    done: AtomicU64,
    stop: AtomicBool,
}

impl Monitor {
    /// Pairs (distances) computed so far, over every call of the engine.
    pub fn pairs_done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Asks the computation to stop at its next check.
    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested.
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Counts `pairs` as done, or fails if a stop was requested.
    pub(crate) fn advance(&self, pairs: u64) -> Result<()> {
        if self.stop_requested() {
            return Err(Error::Interrupted);
        }
        self.done.fetch_add(pairs, Ordering::Relaxed);
        Ok(())
    }
}
