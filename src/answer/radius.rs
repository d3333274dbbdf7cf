//! Every pair within a radius.

use ndarray::ArrayView2;

use crate::element::Element;
use crate::error::{Error, Result};
use crate::plan::Tile;
use crate::sink::Sink;

/// Pairs `(rows[p], cols[p])` at distance `distances[p]`, sorted by row, then column: the
/// coordinate (COO) form of a sparse matrix, ready for `scipy.sparse.coo_matrix` or CSR.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pairs<T = f32> {
    /// Row of X of each pair.
    pub rows: Vec<i64>,
    /// Row of Y of each pair.
    pub cols: Vec<i64>,
    /// Distance of each pair (in the type computed in).
    pub distances: Vec<T>,
}

impl<T: Element> Pairs<T> {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends row `i`'s pairs (already in column order).
    pub fn push_row(&mut self, i: usize, within: &Within<T>) {
        self.rows.extend(std::iter::repeat_n(i as i64, within.cols.len()));
        self.cols.extend_from_slice(&within.cols);
        self.distances.extend_from_slice(&within.distances);
    }
}

/// The error for more pairs than the caller allowed.
pub(crate) fn too_many<T: Element>(max_pairs: usize, r: T) -> Error {
    Error::TooLarge(format!(
        "more than {max_pairs} pairs are within r = {r}: raise the cap (--max-pairs) or lower the radius"
    ))
}

/// One row's pairs within the radius, in column order.
#[derive(Clone, Debug)]
pub struct Within<T = f32> {
    cols: Vec<i64>,
    distances: Vec<T>,
}

impl<T> Default for Within<T> {
    fn default() -> Self {
        Within { cols: Vec::new(), distances: Vec::new() }
    }
}

impl<T: Element> Within<T> {
    /// Keeps the columns `first, first + 1, …` whose distance in `values` is at most `r`
    /// (never NaN), skipping columns before `from`; returns how many it kept.
    #[inline]
    pub fn offer_run(&mut self, first: usize, values: &[T], r: T, from: usize) -> usize {
        let before = self.cols.len();
        let skip = from.saturating_sub(first).min(values.len());
        for (c, &v) in values.iter().enumerate().skip(skip) {
            if v <= r {
                self.cols.push((first + c) as i64);
                self.distances.push(v);
            }
        }
        self.cols.len() - before
    }

    /// Keeps column `col` at distance `v` (after every column kept so far).
    #[cfg(feature = "gpu")]
    fn push(&mut self, col: i64, v: T) {
        debug_assert!(self.cols.last().is_none_or(|&c| c < col), "columns kept out of order");
        self.cols.push(col);
        self.distances.push(v);
    }

    /// Pairs kept.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    /// Whether no pair was kept.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }
}

/// A sink that keeps, per row, the pairs within `r` of the tiles it is given, failing once
/// there are more than `max_pairs` in all. Blocks of one row band arrive in column order (as
/// plans give them), so every row's pairs stay in column order. Columns are reported as
/// `col0 +` their index in the tiles.
pub struct RadiusSink<'l, T = f32> {
    rows: &'l mut [Within<T>],
    r: T,
    max_pairs: usize,
    upper_only: bool,
    col0: usize,
    kept: usize,
}

impl<'l, T: Element> RadiusSink<'l, T> {
    /// Pairs within `r` into `rows` (one per row); with `upper_only` (X against itself), only
    /// pairs `i < j`.
    pub fn new(rows: &'l mut [Within<T>], r: T, max_pairs: usize, upper_only: bool, col0: usize) -> Self {
        let kept = rows.iter().map(Within::len).sum();
        RadiusSink { rows, r, max_pairs, upper_only, col0, kept }
    }
}

impl<T: Element> Sink<T> for RadiusSink<'_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let first = tile.cols.start + self.col0;
        for (r, row) in values.rows().into_iter().enumerate() {
            let i = tile.rows.start + r;
            let from = if self.upper_only { i + 1 + self.col0 } else { 0 };
            let row = row.as_slice().map_or_else(|| row.to_vec().into(), std::borrow::Cow::Borrowed);
            self.kept += self.rows[i].offer_run(first, &row, self.r, from);
        }
        if self.kept > self.max_pairs {
            return Err(too_many(self.max_pairs, self.r));
        }
        Ok(())
    }
}

/// A radius answer that also takes a tile's hits found on the device (the filter epilogue):
/// `(flat index in the tile, distance)` pairs in any order.
#[cfg(feature = "gpu")]
pub(crate) trait HitSink<T: Element>: Sink<T> {
    /// Takes `tile`'s hits (reordered here).
    fn accept_hits(&mut self, tile: &Tile, hits: &mut [(u32, T)]) -> Result<()>;
}

#[cfg(feature = "gpu")]
impl<T: Element> HitSink<T> for RadiusSink<'_, T> {
    fn accept_hits(&mut self, tile: &Tile, hits: &mut [(u32, T)]) -> Result<()> {
        // Flat indices order as (row, column): each row's pairs then come in column order.
        hits.sort_unstable_by_key(|h| h.0);
        let cols = tile.cols.len();
        for &(e, v) in hits.iter() {
            let (r, c) = (e as usize / cols, e as usize % cols);
            self.rows[tile.rows.start + r].push((self.col0 + tile.cols.start + c) as i64, v);
        }
        self.kept += hits.len();
        if self.kept > self.max_pairs {
            return Err(too_many(self.max_pairs, self.r));
        }
        Ok(())
    }
}
