//! The last step of the metrics that are a ratio of two sums: `braycurtis` (Σ |x − y| /
//! Σ |x + y|) and `jaccard` (of booleans: the count where they differ / the count where either
//! is set).
//!
//! The kernels compute the numerator, the cityblock distance of the prepared points (weighted
//! columns, jaccard's booleans; for unweighted booleans the same sum as sqeuclidean's, see
//! [`Denominator::numerator`]), on any backend and at full speed. The denominator comes from
//! per-row sums computed once, O((n + m)·d), and applied to every result on the host, O(n·m):
//!
//! - `jaccard`: with `a = Σ|x|` and `b = Σ|y|` of the (weighted) boolean rows and the
//!   numerator `n = Σ |x − y|` (the weight of the columns where exactly one is set), the union
//!   is `(a + b + n) / 2`, so the distance is `2n / (a + b + n)`, and 0 where that is 0/0, as
//!   in SciPy.
//! - SciPy's other boolean metrics (`dice`, `yule`, ...): the same `n`, `a` and `b`, with the
//!   total weight `t` of the columns (`d` without weights), give the four counts of the pair
//!   (`ntt = (a + b − n) / 2`, ...), and the metric's [`BooleanFormula`] the distance.
//! - `braycurtis`: in a column where every coordinate of X and Y has one sign, `|x + y| = |x| +
//!   |y|`, a sum per row. Data for braycurtis are nearly always non-negative (abundances,
//!   counts, histograms), so that is every column. Columns that hold both signs ("mixed") need
//!   `Σ |x + y| = Σ |x − (−y)|` per pair: the cityblock distance of X and −Y restricted to
//!   them, computed here on the CPU kernels in f64, a block at a time. 0/0 is NaN, as in SciPy.
//!
//! The sums are taken of the points as the kernels see them (rounded to the element type), so
//! numerator and denominator describe the same numbers.
//!
//! The CPU divides inside its kernels, as each result is stored ([`RatioView::fused`]: one pass
//! over the matrix), whenever the host's quotient needs nothing else: no mixed columns, no f64
//! fix-up of the numerators first (see `cpu::task`). Otherwise, and on the GPU, the division
//! is a second pass here, after the fix-up.

use std::ops::Range;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use crate::cpu::executor::{Kernel, run_into};
use crate::cpu::fused::FusedRatio;
use crate::element::Element;
use crate::error::Result;
use crate::metric::{BooleanFormula, Denominator, Metric};
use crate::plan::{Plan, PlanLimits, Region, Tile};
use crate::sink::Sink;

/// Most bytes of per-pair denominators (mixed columns) computed at once.
const MIXED_BLOCK_BYTES: usize = 32 << 20;

/// The denominator's per-row parts for all rows of X and Y.
pub(crate) struct Ratio {
    denominator: Denominator,
    /// Per row of X: Σ |x| over the columns of one sign (braycurtis) or over all (jaccard).
    x_sums: Vec<f64>,
    /// The same per row of Y (X's again for pdist).
    y_sums: Vec<f64>,
    /// braycurtis: X and −Y restricted to the columns that hold both signs, if any.
    mixed: Option<(Array2<f64>, Array2<f64>)>,
    /// The total weight of the columns (`d` without weights): the boolean formulas' `nff`.
    total: f64,
    /// Below this fraction of the pair's weight a boolean count derived from the sums is
    /// rounding, and is 0 (see [`quotient`]); 0 where the counts are whole numbers.
    snap: f64,
}

impl Ratio {
    /// The per-row parts of `denominator` for the prepared points `x` and `y` (`None`: pdist),
    /// whose columns weigh `total` together (their number, without weights), `weighted` or not.
    pub(crate) fn new<T: Element>(
        denominator: Denominator,
        x: ArrayView2<T>,
        y: Option<ArrayView2<T>>,
        total: f64,
        weighted: bool,
    ) -> Ratio {
        let y_or_x = y.unwrap_or(x);
        let d = x.ncols();
        // Columns that hold a positive and a negative coordinate (braycurtis only).
        let mixed: Vec<usize> = match denominator {
            Denominator::Union | Denominator::Boolean(_) => Vec::new(),
            Denominator::SumOfAbsoluteSums => {
                let (xs, ys) = (column_signs(x), y.map(column_signs));
                let ys = ys.as_ref().unwrap_or(&xs);
                (0..d).filter(|&k| (xs[k].0 || ys[k].0) && (xs[k].1 || ys[k].1)).collect()
            }
        };
        let mut single = vec![true; d];
        mixed.iter().for_each(|&k| single[k] = false);
        let sums = |a: ArrayView2<T>| -> Vec<f64> {
            a.axis_iter(Axis(0))
                .into_par_iter()
                .map(|row| row.iter().zip(&single).filter(|p| *p.1).map(|(&v, _)| Into::<f64>::into(v).abs()).sum())
                .collect()
        };
        let x_sums = sums(x);
        let y_sums = match y {
            Some(y) => sums(y),
            None => x_sums.clone(),
        };
        let mixed = (!mixed.is_empty()).then(|| {
            log::debug!("braycurtis: {} of {d} columns hold both signs; their sums are taken per pair", mixed.len());
            let pick = |a: ArrayView2<T>, sign: f64| {
                Array2::from_shape_fn((a.nrows(), mixed.len()), |(i, c)| sign * Into::<f64>::into(a[(i, mixed[c])]))
            };
            (pick(x, 1.0), pick(y_or_x, -1.0))
        });
        // Weighted boolean counts come from sums of weights rounded in T (the numerator) and
        // in f64 (the rows' sums): a count that is 0 (where yule's formula turns) comes out as
        // a few ulps of the pair's weight. Whole counts (no weights) are exact.
        let eps = match T::DTYPE {
            crate::Dtype::F32 => f64::from(f32::EPSILON),
            crate::Dtype::F64 => f64::EPSILON,
        };
        let snap = if weighted && matches!(denominator, Denominator::Boolean(_)) { 64.0 * eps } else { 0.0 };
        Ratio { denominator, x_sums, y_sums, mixed, total, snap }
    }

    /// The parts for rows `rows` of X and `cols` of Y, indexed from 0 (a job's window).
    pub(crate) fn window(&self, rows: Range<usize>, cols: Range<usize>) -> RatioView<'_> {
        RatioView {
            denominator: self.denominator,
            x_sums: &self.x_sums[rows.clone()],
            y_sums: &self.y_sums[cols.clone()],
            mixed: self.mixed.as_ref().map(|(x, y)| (x.slice(s![rows, ..]), y.slice(s![cols, ..]))),
            total: self.total,
            snap: self.snap,
        }
    }
}

/// Whether each column of `a` holds a positive and whether it holds a negative coordinate,
/// read row by row on all cores (a column at a time strides through memory: for d = 1024 that
/// took longer than the kernels).
fn column_signs<T: Element>(a: ArrayView2<T>) -> Vec<(bool, bool)> {
    let d = a.ncols();
    a.axis_iter(Axis(0))
        .into_par_iter()
        .fold(
            || vec![(false, false); d],
            |mut signs, row| {
                for (s, &v) in signs.iter_mut().zip(&row) {
                    let v: f64 = v.into();
                    s.0 |= v > 0.0;
                    s.1 |= v < 0.0;
                }
                signs
            },
        )
        .reduce(|| vec![(false, false); d], |a, b| a.iter().zip(&b).map(|(a, b)| (a.0 || b.0, a.1 || b.1)).collect())
}

/// The denominator's parts for the rows of one job (or its window).
#[derive(Clone)]
pub(crate) struct RatioView<'a> {
    denominator: Denominator,
    x_sums: &'a [f64],
    y_sums: &'a [f64],
    mixed: Option<(ArrayView2<'a, f64>, ArrayView2<'a, f64>)>,
    total: f64,
    snap: f64,
}

/// The distance from the numerator `n`, the two rows' sums `a` and `b`, `m` (the pair's sum
/// over mixed columns) and the columns' total weight.
#[inline]
fn quotient(denominator: Denominator, n: f64, a: f64, b: f64, m: f64, total: f64, snap: f64) -> f64 {
    match denominator {
        Denominator::SumOfAbsoluteSums => n / (a + b + m),
        Denominator::Union => {
            let union = (a + b + n) / 2.0;
            if union == 0.0 { 0.0 } else { n / union }
        }
        Denominator::Boolean(formula) => {
            // The rows' true coordinates in common: a + b counts them twice, n not at all.
            let tiny = snap * (a + b + n);
            let count = |c: f64| if c.abs() <= tiny { 0.0 } else { c };
            let ntt = count((a + b - n) / 2.0);
            let (ntf, nft) = (count(a - ntt), count(b - ntt));
            formula.of_counts(ntt, ntf, nft, count(total - ntt - ntf - nft))
        }
    }
}

/// The distance between two prepared points from their numerator (the reference's form),
/// with `total` the columns' total weight; the boolean formulas count directly from the points
/// (weighted booleans `w·b`: `ntt = Σ min(x, y)`), not through the rows' sums.
pub(crate) fn of_points(denominator: Denominator, numerator: f64, x: &[f64], y: &[f64], total: f64) -> f64 {
    match denominator {
        Denominator::SumOfAbsoluteSums => numerator / x.iter().zip(y).map(|(a, b)| (a + b).abs()).sum::<f64>(),
        Denominator::Union => {
            let union = x.iter().zip(y).map(|(a, b)| a.abs().max(b.abs())).sum::<f64>();
            if union == 0.0 { 0.0 } else { numerator / union }
        }
        Denominator::Boolean(formula) => of_booleans(formula, x, y, total),
    }
}

/// SciPy's boolean `formula` of two prepared (weighted) boolean rows, counted coordinate by
/// coordinate: each is 0 or its column's weight.
fn of_booleans(formula: BooleanFormula, x: &[f64], y: &[f64], total: f64) -> f64 {
    let (mut ntt, mut ntf, mut nft) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        ntt += a.min(b);
        ntf += (a - b).max(0.0);
        nft += (b - a).max(0.0);
    }
    formula.of_counts(ntt, ntf, nft, total - ntt - ntf - nft)
}

impl RatioView<'_> {
    /// The denominators for the kernels to divide by, if the kernels' quotients in `T` are
    /// the host's: no columns of both signs (whose sums are per pair), and no sum so large
    /// that `a + b + n` could overflow `T` (the host adds in f64). In f64 the quotients are
    /// then the host's bit for bit; in f32 within a few ulps (the sums rounded to f32 before
    /// they are added, the quotient rounded once more). Infinite and NaN sums stay what they
    /// are: their quotients are NaN on both paths.
    pub(crate) fn fused<T: Element>(&self) -> Option<FusedRatio<T>> {
        // The boolean formulas are divided on the host (their counts need the total weight).
        if self.mixed.is_some() || matches!(self.denominator, Denominator::Boolean(_)) {
            return None;
        }
        // a + b + n ≤ 2·(a + b) ≤ 4·max(a, b): within T for sums up to a quarter of its range.
        let limit = T::max_value().into() / 4.0;
        let round = |sums: &[f64]| -> Option<Vec<T>> {
            sums.iter().map(|&s| (!s.is_finite() || s.abs() <= limit).then(|| T::from_f64(s))).collect()
        };
        Some(FusedRatio { denominator: self.denominator, x_sums: round(self.x_sums)?, y_sums: round(self.y_sums)? })
    }

    /// The per-pair sums over mixed columns for `rows` × `cols`, if there are mixed columns.
    fn mixed_block(&self, rows: Range<usize>, cols: Range<usize>) -> Option<Array2<f64>> {
        let (x, y) = self.mixed.as_ref()?;
        let (x, y) = (x.slice(s![rows, ..]), y.slice(s![cols, ..]));
        let mut out = Array2::zeros((x.nrows(), y.nrows()));
        let limits = PlanLimits::cpu(None).for_element::<f64>();
        let plan = Plan::new(x.nrows(), y.nrows(), x.ncols(), Region::Full, &limits)
            .expect("a CPU plan exists for every shape that fits in memory");
        run_into(x, y, Kernel::of(Metric::Cityblock), &plan, out.view_mut());
        Some(out)
    }

    /// Rows per block of per-pair sums over `cols` columns.
    fn band(&self, cols: usize) -> usize {
        (MIXED_BLOCK_BYTES / (8 * cols.max(1))).max(1)
    }

    /// Divides the numerators `out` of rows `rows` × columns `cols` (window indices) by their
    /// denominators.
    pub(crate) fn finish_block<T: Element>(&self, rows: Range<usize>, cols: Range<usize>, mut out: ArrayViewMut2<T>) {
        let band = self.band(cols.len());
        for (b, mut part) in out.axis_chunks_iter_mut(Axis(0), band).enumerate() {
            let first = rows.start + b * band;
            let mixed = self.mixed_block(first..first + part.nrows(), cols.clone());
            part.axis_iter_mut(Axis(0)).into_par_iter().enumerate().for_each(|(r, mut row)| {
                let a = self.x_sums[first + r];
                for (c, v) in row.iter_mut().enumerate() {
                    let m = mixed.as_ref().map_or(0.0, |m| m[(r, c)]);
                    let b = self.y_sums[cols.start + c];
                    *v = T::from_f64(quotient(self.denominator, (*v).into(), a, b, m, self.total, self.snap));
                }
            });
        }
    }

    /// Divides a whole `n × m` matrix of numerators.
    pub(crate) fn finish_matrix<T: Element>(&self, out: ArrayViewMut2<T>) {
        self.finish_block(0..self.x_sums.len(), 0..self.y_sums.len(), out);
    }

    /// Divides SciPy's condensed vector of numerators of the rows of X against themselves.
    pub(crate) fn finish_condensed<T: Element>(&self, out: &mut [T]) {
        let n = self.x_sums.len();
        let band = self.band(n);
        let mut rest = out;
        let mut i0 = 0;
        while i0 + 1 < n {
            let i1 = (i0 + band).min(n);
            // Row i's pairs (i, j > i) are the next n − i − 1 entries.
            let mut rows: Vec<&mut [T]> = Vec::with_capacity(i1 - i0);
            for i in i0..i1 {
                let (row, tail) = std::mem::take(&mut rest).split_at_mut(n - i - 1);
                rows.push(row);
                rest = tail;
            }
            let mixed = self.mixed_block(i0..i1, i0..n);
            rows.into_par_iter().enumerate().for_each(|(r, row)| {
                let i = i0 + r;
                for (c, v) in row.iter_mut().enumerate() {
                    let j = i + 1 + c;
                    let m = mixed.as_ref().map_or(0.0, |m| m[(r, j - i0)]);
                    let (a, b) = (self.x_sums[i], self.y_sums[j]);
                    *v = T::from_f64(quotient(self.denominator, (*v).into(), a, b, m, self.total, self.snap));
                }
            });
            i0 = i1;
        }
    }
}

/// A sink that divides each tile's numerators before passing the tile on.
pub(crate) struct RatioSink<'s, 'r, T: Element> {
    pub(crate) inner: &'s mut dyn Sink<T>,
    pub(crate) ratio: &'s RatioView<'r>,
}

impl<T: Element> Sink<T> for RatioSink<'_, '_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        let mut owned = values.to_owned();
        self.ratio.finish_block(tile.rows.clone(), tile.cols.clone(), owned.view_mut());
        self.inner.accept(tile, owned.view())
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// braycurtis written out here: Σ |x − y| / Σ |x + y|.
    fn braycurtis(x: &[f64], y: &[f64]) -> f64 {
        let num: f64 = x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum();
        let den: f64 = x.iter().zip(y).map(|(a, b)| (a + b).abs()).sum();
        num / den
    }

    fn cityblock(x: &[f64], y: &[f64]) -> f64 {
        x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum()
    }

    /// Outputs wide enough that the per-pair sums over mixed columns come in several bands of
    /// rows ([`MIXED_BLOCK_BYTES`]), for the matrix and the condensed vector.
    #[test]
    fn mixed_columns_across_bands_of_rows() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Column 0 of one sign, columns 1 and 2 of both.
        let mut points = |n: usize| {
            Array2::from_shape_fn(
                (n, 3),
                |(_, k)| if k == 0 { rng.random_range(0.0..2.0) } else { rng.random_range(-1.0..1.0) },
            )
        };
        let (x, y) = (points(130), points(70_000));
        let ratio = Ratio::new(Denominator::SumOfAbsoluteSums, x.view(), Some(y.view()), 3.0, false);
        let view = ratio.window(0..x.nrows(), 0..y.nrows());
        assert!(view.band(y.nrows()) < x.nrows() / 2, "the test must cross bands");
        let rows = |a: &Array2<f64>| a.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
        let (xr, yr) = (rows(&x), rows(&y));
        let mut out = Array2::from_shape_fn((x.nrows(), y.nrows()), |(i, j)| cityblock(&xr[i], &yr[j]));
        view.finish_matrix(out.view_mut());
        for ((i, j), &g) in out.indexed_iter().step_by(97) {
            let want = braycurtis(&xr[i], &yr[j]);
            assert!((g - want).abs() <= 1e-12 * want.abs(), "({i}, {j}): {g} vs {want}");
        }
        let x = points(3000);
        let ratio = Ratio::new(Denominator::SumOfAbsoluteSums, x.view(), None, 3.0, false);
        let view = ratio.window(0..x.nrows(), 0..x.nrows());
        assert!(view.band(x.nrows()) < x.nrows() / 2, "the test must cross bands");
        let xr = rows(&x);
        let n = xr.len();
        let mut condensed: Vec<f64> =
            (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| cityblock(&xr[i], &xr[j])).collect();
        view.finish_condensed(&mut condensed);
        let pairs = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)));
        for (k, (i, j)) in pairs.enumerate().step_by(101) {
            let want = braycurtis(&xr[i], &xr[j]);
            assert!(
                (condensed[k] - want).abs() <= 1e-12 * want.abs(),
                "condensed ({i}, {j}): {} vs {want}",
                condensed[k]
            );
        }
    }
}
