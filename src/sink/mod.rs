//! Sinks: where finished tiles go. A new output form is a new sink and nothing else.
//!
//! Executors hand each finished tile to [`Sink::accept`] in plan order (row bands top to
//! bottom, columns left to right inside a band), then call [`Sink::finish`] once.

mod background;
mod file;
mod layout;

pub use background::Background;
pub use file::{NpyFileSink, TextFileSink};
pub use layout::Layout;

use ndarray::{ArrayView2, ArrayViewMut2, s};

use crate::error::Result;
use crate::plan::Tile;

/// Receives finished tiles of a distance matrix.
pub trait Sink<T: Copy = f32>: Send {
    /// Takes one finished tile: `values` is `tile.rows.len() × tile.cols.len()`, holding the
    /// distances between rows `tile.rows` of X and rows `tile.cols` of Y. For a condensed
    /// (pdist) run, entries on or below the diagonal are present but meaningless.
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()>;

    /// Called once after the last tile.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Writes tiles into a caller's `n × m` matrix view.
pub struct MatrixSink<'a, T> {
    out: ArrayViewMut2<'a, T>,
}

impl<'a, T> MatrixSink<'a, T> {
    /// A sink writing into `out`.
    pub fn new(out: ArrayViewMut2<'a, T>) -> Self {
        MatrixSink { out }
    }
}

impl<T: Copy + Send> Sink<T> for MatrixSink<'_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        self.out.slice_mut(s![tile.rows.clone(), tile.cols.clone()]).assign(&values);
        Ok(())
    }
}

/// Writes the strictly-upper part of tiles into SciPy's condensed vector of length n(n−1)/2.
pub struct CondensedSink<'a, T> {
    layout: Layout,
    out: &'a mut [T],
}

impl<'a, T> CondensedSink<'a, T> {
    /// A sink writing the condensed distances of `n` points into `out` (length n(n−1)/2).
    pub fn new(n: usize, out: &'a mut [T]) -> Self {
        let layout = Layout::Condensed { n };
        assert_eq!(out.len() as u64, layout.len(), "condensed output has the wrong length");
        CondensedSink { layout, out }
    }
}

impl<T: Copy + Send> Sink<T> for CondensedSink<'_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        for seg in self.layout.segments(tile) {
            let src = values.slice(s![seg.row, seg.cols.clone()]);
            let start = seg.offset as usize;
            let dst = &mut self.out[start..start + seg.cols.len()];
            for (d, s) in dst.iter_mut().zip(src.iter()) {
                *d = *s;
            }
        }
        Ok(())
    }
}
