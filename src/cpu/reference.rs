//! The f64 oracle: the simplest loops, accumulated in f64, kept apart from the fast paths.
//!
//! Tests and the CLI's `--check` compare every result against these functions. They evaluate
//! each metric's one definition ([`Metric::definition`](crate::Metric::definition)) term by
//! term in f64; the tests hold them against an oracle written out on its own, so a wrong
//! definition cannot hide here.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::metric::{Finalize, Metric, Term};

/// The distance between two points, computed in f64.
///
/// ```
/// use ndarray::array;
/// use pairdist::{cpu::reference, Metric};
/// let d = reference::distance(array![0.0f32, 3.0].view(), array![4.0f32, 0.0].view(), Metric::Euclidean);
/// assert_eq!(d, 5.0);
/// ```
pub fn distance<T: Copy + Into<f64>>(x: ArrayView1<T>, y: ArrayView1<T>, metric: Metric) -> f64 {
    assert_eq!(x.len(), y.len(), "reference::distance needs points of equal dimension");
    // The metric's definition, evaluated term by term in f64 (the tests hold this against an
    // oracle written out on its own).
    let sum = x.iter().zip(y.iter()).fold(0.0f64, |acc, (&a, &b)| metric.merge(acc, metric.term(a.into(), b.into())));
    metric.finalize(sum)
}

/// The full `n × m` distance matrix in f64.
pub fn cdist<T: Copy + Into<f64>>(x: ArrayView2<T>, y: ArrayView2<T>, metric: Metric) -> Array2<f64> {
    Array2::from_shape_fn((x.nrows(), y.nrows()), |(i, j)| distance(x.row(i), y.row(j), metric))
}

/// SciPy's condensed distance vector in f64: `(i, j)` for `i < j`, row by row.
pub fn pdist<T: Copy + Into<f64>>(x: ArrayView2<T>, metric: Metric) -> Array1<f64> {
    let n = x.nrows();
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            out.push(distance(x.row(i), x.row(j), metric));
        }
    }
    Array1::from_vec(out)
}

/// The tolerance an f32 result must meet against the f64 reference.
///
/// A relative term of 1e-5, plus an absolute term for the rounding of `d` f32 terms of the
/// size of `scale` (the largest |coordinate| involved): √d · ε_f32 · scale², or · scale for
/// cityblock. Euclidean is a square root of the squared sum, so its absolute term is the
/// square root of that of sqeuclidean.
pub fn tolerance(metric: Metric, d: usize, scale: f64, expected: f64) -> f64 {
    let eps = f32::EPSILON as f64;
    let root_d = (d.max(1) as f64).sqrt();
    let sum = match metric.definition().term {
        Term::SquaredDifference => root_d * eps * scale * scale * 4.0,
        Term::AbsoluteDifference => root_d * eps * scale * 2.0,
    };
    // A square root takes the absolute error's square root with it.
    let abs = match metric.definition().finalize {
        Finalize::Identity => sum,
        Finalize::Sqrt => sum.sqrt(),
    };
    1e-5 * expected.abs() + abs
}
