//! Exact results at both ends of the f32 range, on every backend.
//!
//! The kernels sum squares (or absolute values) of differences in f32. Two things can go
//! wrong there, and only for points with extreme coordinates:
//!
//! - **Overflow**: `euclidean` of points 1e20 apart is 1e20, but its squared sum (1e40)
//!   overflows f32 to `inf`. It happens only when some |coordinate| exceeds
//!   `sqrt(f32::MAX / d) / 2` (otherwise every squared difference, and their sum, is finite).
//! - **Underflow**: squares of differences below about 1e-19 are subnormal or zero in f32,
//!   and GPUs flush subnormals to zero, so `euclidean` of points 1e-30 apart comes out as 0.
//!   A nonzero difference that small needs a coordinate with 0 < |v| < 2⁻⁴⁰ (two coordinates
//!   of 2⁻⁴⁰ or more differ by at least their spacing, 2⁻⁶³, whose square is a normal f32).
//!
//! So the rows of X and Y are scanned once (O((n + m)·d), next to O(n·m·d) for the matrix),
//! and only entries that involve a flagged row *and* look suspicious (`inf`, or so small that
//! lost terms could matter) are recomputed in f64, where neither can happen, and rounded once
//! to f32. In the common case no row is flagged and nothing else runs.
//!
//! `sqeuclidean` and `cityblock` results never overflow wrongly (a sum of non-negative terms
//! overflows only if the true value exceeds `f32::MAX`), but their small results are fixed
//! the same way.
//!
//! Only f32 results are fixed ([`Element::FIX_EXTREMES`]): f64 results follow IEEE
//! arithmetic, as SciPy's float64 ones do.

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::Result;
use crate::element::Element;
use crate::metric::{Finalize, Metric};
use crate::plan::Tile;
use crate::sink::Sink;
use crate::weights::TermWeights;

/// Coordinates below this (and nonzero) can make squared differences underflow: 2⁻⁴⁰ (the
/// smallest threshold used, whatever the power of the term).
const TINY: f32 = 1.0 / (1u64 << 40) as f32;

/// Entries of flagged rows to recompute for the rows of `x` against the rows of `y`.
pub(crate) struct Extremes<'a, T> {
    x: ArrayView2<'a, T>,
    y: ArrayView2<'a, T>,
    metric: Metric,
    x_flagged: Vec<bool>,
    y_flagged: Vec<bool>,
    /// The weights of the kernel's terms, which the recomputed entries take too.
    weights: Option<&'a TermWeights>,
    /// Results below this may have lost terms to underflow (the sum `d·2⁻¹⁰²`, where each
    /// flushed term of at most 2⁻¹²⁶ changes the sum by at most 2⁻²⁴ of it, finalized); ∞ for
    /// the terms where any entry of a flagged row may be off.
    small: f64,
}

impl<'a, T: Element> Extremes<'a, T> {
    /// `None` when no row of `x` or `y` has an extreme coordinate (then no entry can be
    /// wrong), and for types that need no fix-up. `weights`: those of the kernel's terms, which
    /// the recomputed entries take too.
    pub(crate) fn scan(
        x: ArrayView2<'a, T>,
        y: ArrayView2<'a, T>,
        metric: Metric,
        weights: Option<&'a TermWeights>,
    ) -> Option<Self> {
        if !T::FIX_EXTREMES {
            return None;
        }
        let d = x.ncols().max(1) as f64;
        let def = metric.definition();
        // The power q of each term: a sum overflows only if some |difference| exceeds
        // (MAX / d)^(1/q), and a term underflows only if |difference| < 2^(−126/q), which a
        // nonzero difference of coordinates of at least 2^(23 − 126/q) never is.
        // Terms that are no power of the difference are at most 1 (or counts): only a
        // subnormal coordinate, which GPUs flush to zero, can change them, and then any entry
        // of its row.
        let q = metric.term_power();
        let (tiny, huge, always) = match q {
            Some(q) => {
                // Only a final root brings a sum beyond f32::MAX back into range.
                let shrinks = matches!(def.finalize, Finalize::Sqrt | Finalize::Root) && q > 1.0;
                let huge = if shrinks { ((f32::MAX as f64 / d).powf(1.0 / q) / 2.0) as f32 } else { f32::INFINITY };
                (TINY.max(2f64.powf(23.0 - 126.0 / q).min(f32::MAX as f64) as f32), huge, false)
            }
            None => (f32::MIN_POSITIVE, f32::INFINITY, true),
        };
        let (tiny, huge) = (f64::from(tiny), f64::from(huge));
        let extreme = |v: f64, huge: f64| (v > 0.0 && v < tiny) || (v > huge && v.is_finite());
        // With weights inside the kernel a term is w·|x − y|^q, in f32: |x − y|^q may leave
        // the range where the weighted sum does not, and the other way round. So a coordinate
        // is flagged if its weighted view v·w^(1/q) is extreme as above, or if it is itself
        // large enough for |x − y|^q to overflow, whatever the final step.
        let factors: Option<(Vec<f64>, f64)> = match (weights, q) {
            (Some(w), Some(q)) => {
                let term_huge = (f64::from(f32::MAX) / d).powf(1.0 / q) / 2.0;
                Some((w.values().iter().map(|w| w.powf(1.0 / q)).collect(), term_huge))
            }
            _ => None,
        };
        // A weight that is inf or below the normal range in f32 (1e40, 1e-45) is wrong in every
        // term it multiplies (inf · 0 is NaN): then every row is flagged.
        let wild = weights.is_some_and(|w| {
            w.values().iter().any(|&w| {
                let rounded: f64 = T::from_f64(w).into();
                w > 0.0 && (rounded.is_infinite() || rounded < f64::from(f32::MIN_POSITIVE))
            })
        });
        let flag = |a: &ArrayView2<T>| -> Vec<bool> {
            a.rows()
                .into_iter()
                .map(|r| {
                    wild || r.iter().enumerate().any(|(k, &v)| {
                        let v: f64 = v.into();
                        let v = v.abs();
                        match &factors {
                            None => extreme(v, huge),
                            Some((f, term_huge)) => extreme(v, *term_huge) || extreme(v * f[k], huge),
                        }
                    })
                })
                .collect()
        };
        let (x_flagged, y_flagged) = (flag(&x), flag(&y));
        if !x_flagged.contains(&true) && !y_flagged.contains(&true) {
            return None;
        }
        // Weighted terms: a lost |x − y|^q times a large weight is no longer small, so every
        // entry of a flagged row is recomputed.
        let small = if always || factors.is_some() || wild {
            f64::INFINITY
        } else {
            f64::from(metric.finalize(d * 2f64.powi(-102), x.ncols()) as f32)
        };
        Some(Extremes { x, y, metric, x_flagged, y_flagged, weights, small })
    }

    /// The value entry `(i, j)` must have, given what the kernel computed.
    fn fixed(&self, i: usize, j: usize, v: T) -> T {
        let value: f64 = v.into();
        if (value.is_infinite() || value < self.small || self.small.is_infinite())
            && (self.x_flagged[i] || self.y_flagged[j])
        {
            let row = |a: &ArrayView2<T>, k: usize| a.row(k).iter().map(|&v| v.into()).collect::<Vec<f64>>();
            let (x, y) = (row(&self.x, i), row(&self.y, j));
            let exact = crate::twin::weighted_kernel_distance(&x, &y, self.metric, self.weights);
            // Points with inf or NaN coordinates keep what IEEE arithmetic gave.
            if exact.is_finite() { T::from_f64(exact) } else { v }
        } else {
            v
        }
    }

    /// Fixes a whole `n × m` matrix, visiting only the flagged rows and columns.
    pub(crate) fn fix_matrix(&self, mut out: ArrayViewMut2<T>) {
        for (i, _) in self.x_flagged.iter().enumerate().filter(|f| *f.1) {
            for j in 0..self.y.nrows() {
                out[(i, j)] = self.fixed(i, j, out[(i, j)]);
            }
        }
        for (j, _) in self.y_flagged.iter().enumerate().filter(|f| *f.1) {
            for i in 0..self.x.nrows() {
                out[(i, j)] = self.fixed(i, j, out[(i, j)]);
            }
        }
    }

    /// Fixes SciPy's condensed vector of the rows of `x` (`y` is `x`).
    pub(crate) fn fix_condensed(&self, out: &mut [T]) {
        let n = self.x.nrows();
        // Offset of pair (i, j), i < j, in the condensed vector.
        let at = |i: usize, j: usize| n * i - i * (i + 1) / 2 + (j - i - 1);
        for (k, _) in self.x_flagged.iter().enumerate().filter(|f| *f.1) {
            for other in (0..n).filter(|&o| o != k) {
                let (i, j) = (k.min(other), k.max(other));
                out[at(i, j)] = self.fixed(i, j, out[at(i, j)]);
            }
        }
    }

    /// Whether a tile holds any entry of a flagged row or column.
    fn touches(&self, tile: &Tile) -> bool {
        self.x_flagged[tile.rows.clone()].contains(&true) || self.y_flagged[tile.cols.clone()].contains(&true)
    }
}

/// A sink that fixes the tiles with flagged rows before passing them on.
pub(crate) struct FixingSink<'s, 'a, T: Element> {
    pub(crate) inner: &'s mut dyn Sink<T>,
    pub(crate) extremes: &'s Extremes<'a, T>,
}

impl<T: Element> Sink<T> for FixingSink<'_, '_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        if !self.extremes.touches(tile) {
            return self.inner.accept(tile, values);
        }
        let mut owned = values.to_owned();
        for ((r, c), v) in owned.indexed_iter_mut() {
            *v = self.extremes.fixed(tile.rows.start + r, tile.cols.start + c, *v);
        }
        self.inner.accept(tile, owned.view())
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}
