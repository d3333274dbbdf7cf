//! Sinks: where finished tiles go. A new output form is a new sink and nothing else.
//!
//! Executors hand each finished tile to [`Sink::accept`] in plan order (row bands top to
//! bottom, columns left to right inside a band), then call [`Sink::finish`] once.
//!
//! A sink takes tiles of the type computed in (`f32` or `f64`); the matrix, condensed and file
//! sinks take either and store their own type, so f64 results can be kept as f32 (half the
//! memory or disk) without an f64 copy of the whole output.

mod background;
mod file;
mod layout;

pub use background::Background;
pub use file::{NpyFileSink, TextFileSink};
pub use layout::Layout;

use ndarray::{ArrayView2, ArrayViewMut2, Zip, s};
use rayon::prelude::*;

use crate::element::Element;
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

/// Writes tiles into a caller's `n × m` matrix view, of the tiles' type or another (each value
/// rounded once).
///
/// ```
/// use ndarray::{array, Array2};
/// use pairdist::{Backend, Engine, Metric, sink::MatrixSink};
/// let engine = Engine::new(Backend::Cpu)?;
/// let x = array![[0.0f64], [0.1]];
/// // Computed in f64, kept in f32.
/// let mut out = Array2::<f32>::zeros((2, 2));
/// engine.cdist_to(x.view(), x.view(), Metric::Euclidean, &mut MatrixSink::new(out.view_mut()))?;
/// assert_eq!(out[(0, 1)], 0.1f32);
/// # Ok::<(), pairdist::Error>(())
/// ```
pub struct MatrixSink<'a, O> {
    out: ArrayViewMut2<'a, O>,
}

impl<'a, O> MatrixSink<'a, O> {
    /// A sink writing into `out`.
    pub fn new(out: ArrayViewMut2<'a, O>) -> Self {
        MatrixSink { out }
    }
}

/// Tiles of at least this many values are copied into the caller's array on all threads:
/// 1 MiB of f32, far above rayon's few microseconds of overhead.
pub(crate) const PARALLEL_COPY_MIN: usize = 1 << 18;

impl<T: Element, O: Element> Sink<T> for MatrixSink<'_, O> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let dst = self.out.slice_mut(s![tile.rows.clone(), tile.cols.clone()]);
        let zip = Zip::from(dst).and(values);
        // A large tile's copy on one thread held a GPU's whole-matrix readback to one core's
        // memory bandwidth (BENCHMARKS.md, "Readback: the copy into the caller's array").
        if tile.len() >= PARALLEL_COPY_MIN {
            zip.par_for_each(|d, &v| *d = v.cast());
        } else {
            zip.for_each(|d, &v| *d = v.cast());
        }
        Ok(())
    }
}

/// Writes the strictly-upper part of tiles into SciPy's condensed vector of length n(n−1)/2,
/// of the tiles' type or another.
pub struct CondensedSink<'a, O> {
    layout: Layout,
    out: &'a mut [O],
}

impl<'a, O> CondensedSink<'a, O> {
    /// A sink writing the condensed distances of `n` points into `out` (length n(n−1)/2).
    pub fn new(n: usize, out: &'a mut [O]) -> Self {
        let layout = Layout::Condensed { n };
        assert_eq!(out.len() as u64, layout.len(), "condensed output has the wrong length");
        CondensedSink { layout, out }
    }
}

impl<T: Element, O: Element> Sink<T> for CondensedSink<'_, O> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let copy = |dst: &mut [O], src: ndarray::ArrayView1<T>| {
            dst.iter_mut().zip(src.iter()).for_each(|(d, &s)| *d = s.cast());
        };
        if tile.len() < PARALLEL_COPY_MIN {
            for seg in self.layout.segments(tile) {
                let start = seg.offset as usize;
                copy(&mut self.out[start..start + seg.cols.len()], values.slice(s![seg.row, seg.cols.clone()]));
            }
            return Ok(());
        }
        // A large tile on all threads, as MatrixSink does: its segments (one per row) are
        // disjoint and in increasing order, so the output splits into one slice per segment.
        let mut parts = Vec::new();
        let (mut rest, mut at) = (&mut self.out[..], 0usize);
        for seg in self.layout.segments(tile) {
            let start = seg.offset as usize;
            let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - at);
            let (dst, tail) = tail.split_at_mut(seg.cols.len());
            parts.push((dst, values.slice(s![seg.row, seg.cols.clone()])));
            (rest, at) = (tail, start + seg.cols.len());
        }
        parts.into_par_iter().for_each(|(dst, src)| copy(dst, src));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;

    /// Tiles on both sides of the parallel threshold, straddling the diagonal or not, land in
    /// the condensed vector exactly where SciPy's `squareform` puts them.
    #[test]
    fn condensed_sink_places_large_and_small_tiles() {
        let n = 1100;
        let value = |i: usize, j: usize| (i * n + j) as f64;
        let mut out = vec![f64::NAN; n * (n - 1) / 2];
        let tiles = [(0..600, 0..1100), (600..1100, 0..700), (600..1100, 700..1100), (3..5, 900..950)];
        assert!(Tile { rows: tiles[0].0.clone(), cols: tiles[0].1.clone() }.len() >= PARALLEL_COPY_MIN);
        let mut sink = CondensedSink::new(n, &mut out);
        for (rows, cols) in tiles {
            let values =
                Array2::from_shape_fn((rows.len(), cols.len()), |(r, c)| value(rows.start + r, cols.start + c));
            Sink::<f64>::accept(&mut sink, &Tile { rows, cols }, values.view()).unwrap();
        }
        for i in 0..n {
            for j in i + 1..n {
                let k = n * i - i * (i + 1) / 2 + (j - i - 1);
                assert_eq!(out[k], value(i, j), "({i}, {j})");
            }
        }
    }
}
