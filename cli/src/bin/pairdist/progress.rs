//! What the CLI wraps around the output sink: a progress bar, Ctrl-C, and `--check` sampling.

use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};
use ndarray::ArrayView2;
use pairdist::plan::Tile;
use pairdist::sink::Sink;
use pairdist::{Element, Error, Result};

use crate::check::Checker;

/// A progress bar over `total` outputs with rate and ETA; drawn only on a terminal.
pub(crate) fn bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}% {human_pos}/{human_len} pairs, {per_sec}, ETA {eta}")
            .expect("valid template"),
    );
    bar
}

/// Passes tiles to the real sink, counting them on the bar, sampling them for `--check`, and
/// stopping the run when Ctrl-C was pressed.
pub(crate) struct Observed<'a, 'x, T: Element> {
    pub inner: &'a mut dyn Sink<T>,
    pub bar: &'a ProgressBar,
    pub interrupted: &'a AtomicBool,
    pub checker: Option<&'a mut Checker<'x, T>>,
}

impl<T: Element> Sink<T> for Observed<'_, '_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        if let Some(c) = self.checker.as_mut() {
            c.sample(tile, values);
        }
        self.inner.accept(tile, values)?;
        self.bar.inc(tile.len() as u64);
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        self.inner.finish()
    }
}
