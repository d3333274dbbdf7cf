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
///
/// A tile is checked before it is passed on, and the run stops at the first one outside the
/// tolerance: that tile and those after it are never written. That matters where output is
/// not atomic (standard output): a failed check never prints the numbers it failed.
pub(crate) struct Observed<'a, 'x, T: Element> {
    pub inner: &'a mut dyn Sink<T>,
    pub bar: &'a ProgressBar,
    pub interrupted: &'a AtomicBool,
    pub checker: Option<&'a mut Checker<'x, T>>,
    /// What a failed check says of the output (none of it written, or only earlier tiles).
    pub unwritten: &'a str,
}

impl<T: Element> Sink<T> for Observed<'_, '_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        if self.interrupted.load(Ordering::SeqCst) {
            return Err(Error::Interrupted);
        }
        if let Some(c) = self.checker.as_mut() {
            c.sample(tile, values);
            let report = c.report();
            if !report.passed() {
                return Err(Error::CheckFailed(format!("{report}; {}", self.unwritten)));
            }
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

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use pairdist::cpu::reference;
    use pairdist::{Distance, Dtype, Metric};
    use pairdist_cli::io::read_input;

    use super::*;

    /// Records the tiles it is given.
    struct Recorder(Vec<Tile>);

    impl Sink<f64> for Recorder {
        fn accept(&mut self, tile: &Tile, _: ArrayView2<f64>) -> Result<()> {
            self.0.push(tile.clone());
            Ok(())
        }
    }

    #[test]
    fn a_tile_failing_the_check_is_never_passed_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "0 0\n3 4\n6 8\n1 1\n").unwrap();
        let input = read_input(&path).unwrap();
        let x = input.values::<f64>();
        let resolved = Distance::new(Metric::Euclidean).resolve(x.view(), None).unwrap();
        // The f64 distances, written independently of the engine.
        let exact = Array2::from_shape_fn((4, 4), |(i, j)| reference::distance(x.row(i), x.row(j), &resolved));
        let mut checker = Checker::<f64>::new(&input, &input, resolved, false, 16, Dtype::F64);
        let (mut recorder, interrupted) = (Recorder(Vec::new()), AtomicBool::new(false));
        let bar = ProgressBar::hidden();
        let mut sink = Observed {
            inner: &mut recorder,
            bar: &bar,
            interrupted: &interrupted,
            checker: Some(&mut checker),
            unwritten: "output not written",
        };
        let (top, bottom) = (Tile { rows: 0..2, cols: 0..4 }, Tile { rows: 2..4, cols: 0..4 });
        sink.accept(&top, exact.slice(ndarray::s![0..2, ..])).unwrap();
        // One entry 1e-6 off: far outside f64's tolerance.
        let mut wrong = exact.slice(ndarray::s![2..4, ..]).to_owned();
        wrong[(1, 0)] *= 1.0 + 1e-6;
        let err = sink.accept(&bottom, wrong.view()).unwrap_err();
        assert!(
            matches!(&err, Error::CheckFailed(m) if m.contains("outside the tolerance") && m.ends_with("output not written")),
            "{err}"
        );
        assert_eq!(recorder.0, vec![top], "the failing tile reached the output");
    }
}
