//! The CPU kernels: one block of outputs from contiguous rows of X and Y.
//!
//! Written in the shape of the WGSL kernels (accumulate `Metric::term` per dimension, then
//! `Metric::finalize`), with several independent accumulators per output so the compiler can
//! keep them in vector registers without reassociating anything it was not told to.

use ndarray::{ArrayView2, ArrayViewMut2};

use crate::cpu::Element;
use crate::metric::Metric;

/// Lanes of independent partial sums per output; 8 f32 lanes fill one AVX2 register.
const LANES: usize = 8;

/// Computes `out[i][j] = metric(x[i], y[j])` for a block.
///
/// `x` and `y` must have contiguous rows (standard layout); `out` is `x.nrows() × y.nrows()`
/// with any strides.
pub(crate) fn block<T: Element>(x: ArrayView2<T>, y: ArrayView2<T>, metric: Metric, mut out: ArrayViewMut2<T>) {
    debug_assert_eq!(out.dim(), (x.nrows(), y.nrows()));
    match metric {
        // Monomorphise the inner loop per metric: the match stays out of the hot loop.
        Metric::SqEuclidean => block_with(x, y, &mut out, |a, b| {
            let t = a - b;
            t * t
        }),
        Metric::Euclidean => block_with(x, y, &mut out, |a, b| {
            let t = a - b;
            t * t
        }),
        Metric::Cityblock => block_with(x, y, &mut out, |a: T, b: T| (a - b).abs()),
    }
    if metric == Metric::Euclidean {
        out.mapv_inplace(|v| metric.finalize(v));
    }
}

#[inline(always)]
fn block_with<T: Element>(x: ArrayView2<T>, y: ArrayView2<T>, out: &mut ArrayViewMut2<T>, term: impl Fn(T, T) -> T + Copy) {
    for (i, xr) in x.rows().into_iter().enumerate() {
        let xr = xr.to_slice().expect("rows of X are contiguous");
        for (j, yr) in y.rows().into_iter().enumerate() {
            let yr = yr.to_slice().expect("rows of Y are contiguous");
            out[(i, j)] = row_pair(xr, yr, term);
        }
    }
}

/// Σ term(x[k], y[k]) with `LANES` interleaved partial sums.
#[inline(always)]
fn row_pair<T: Element>(x: &[T], y: &[T], term: impl Fn(T, T) -> T) -> T {
    let mut acc = [T::zero(); LANES];
    let (xc, xt) = x.split_at(x.len() / LANES * LANES);
    let (yc, yt) = y.split_at(xc.len());
    for (xs, ys) in xc.chunks_exact(LANES).zip(yc.chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] = acc[l] + term(xs[l], ys[l]);
        }
    }
    for (l, (&a, &b)) in xt.iter().zip(yt).enumerate() {
        acc[l] = acc[l] + term(a, b);
    }
    // Pairwise sum of the lanes.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] = acc[l] + acc[l + width];
        }
    }
    acc[0]
}
