//! The f64 oracle: the simplest loops, accumulated in f64, kept apart from the fast paths.
//!
//! Tests and the CLI's `--check` compare every result against these functions. They evaluate
//! each metric's one definition ([`Metric::definition`](crate::Metric::definition)) term by
//! term in f64, after the same change of coordinates ([`Resolved::point`]) in f64; the tests
//! hold them against an oracle written out on its own, and the Python tests against SciPy.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use num_traits::Float;

use crate::distance::{Distance, Resolved};
use crate::error::Result;
use crate::metric::{Finalize, Metric, Term};

/// The kernel's metric between two points as the kernel sees them (prepared), in f64.
pub fn kernel_distance(x: &[f64], y: &[f64], metric: Metric) -> f64 {
    assert_eq!(x.len(), y.len(), "reference::kernel_distance needs points of equal dimension");
    let acc = x.iter().zip(y).fold(0.0f64, |acc, (&a, &b)| metric.merge(acc, metric.term(a, b)));
    metric.finalize(acc, x.len())
}

/// The distance between two points, computed in f64.
///
/// ```
/// use ndarray::array;
/// use pairdist::{cpu::reference, Distance, Metric};
/// let (x, y) = (array![[0.0f32, 3.0]], array![[4.0f32, 0.0]]);
/// let resolved = Distance::new(Metric::Euclidean).resolve(x.view(), Some(y.view()))?;
/// assert_eq!(reference::distance(x.row(0), y.row(0), &resolved), 5.0);
/// # Ok::<(), pairdist::Error>(())
/// ```
pub fn distance<T: Float>(x: ArrayView1<T>, y: ArrayView1<T>, resolved: &Resolved) -> f64 {
    resolved.distance(x, y)
}

/// The full `n × m` distance matrix in f64, with SciPy's defaults for the parameters not given.
pub fn cdist<T: Float>(x: ArrayView2<T>, y: ArrayView2<T>, distance: impl Into<Distance>) -> Result<Array2<f64>> {
    let resolved = distance.into().resolve(x, Some(y))?;
    let (px, py) = (points(x, &resolved), points(y, &resolved));
    Ok(Array2::from_shape_fn((x.nrows(), y.nrows()), |(i, j)| kernel_distance(&px[i], &py[j], resolved.kernel())))
}

/// SciPy's condensed distance vector in f64: `(i, j)` for `i < j`, row by row.
pub fn pdist<T: Float>(x: ArrayView2<T>, distance: impl Into<Distance>) -> Result<Array1<f64>> {
    let resolved = distance.into().resolve(x, None)?;
    let px = points(x, &resolved);
    let n = x.nrows();
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            out.push(kernel_distance(&px[i], &px[j], resolved.kernel()));
        }
    }
    Ok(Array1::from_vec(out))
}

fn points<T: Float>(x: ArrayView2<T>, resolved: &Resolved) -> Vec<Vec<f64>> {
    x.rows().into_iter().map(|r| resolved.point(r)).collect()
}

/// The tolerance an f32 result of the kernel `metric` must meet against the f64 reference.
///
/// A relative term of 1e-5, plus an absolute term for the rounding of `d` f32 terms of the
/// size of `scale` (the largest |coordinate| the kernel sees): √d · ε_f32 · scale², or · scale
/// for cityblock. A final root takes the absolute term's root with it.
pub fn tolerance(metric: Metric, d: usize, scale: f64, expected: f64) -> f64 {
    let eps = f32::EPSILON as f64;
    let root_d = (d.max(1) as f64).sqrt();
    let p = metric.exponent();
    let sum = match metric.definition().term {
        Term::SquaredDifference => root_d * eps * scale * scale * 4.0,
        Term::AbsoluteDifference => root_d * eps * scale * 2.0,
        Term::PowerDifference => root_d * eps * (2.0 * scale).powf(p) * (p + 2.0),
        // Terms of at most 1 (canberra), or exact counts (hamming), or of probabilities.
        Term::Canberra | Term::JensenShannon => root_d * eps * 8.0,
        Term::NotEqual => 0.0,
    };
    let (abs, rel) = match metric.definition().finalize {
        Finalize::Identity | Finalize::Mean => (sum, 1e-5),
        Finalize::Sqrt | Finalize::SqrtHalf => (sum.sqrt(), 1e-5),
        Finalize::Root => (sum.powf(1.0 / p), 1e-5 * (1.0 + p / 4.0)),
        // Unit rows rounded to f32 move each difference by about ε, so |x̂ − ŷ|² by about
        // 4ε|x̂ − ŷ| = 4ε√(2·distance).
        Finalize::HalfCapped => (sum + 4.0 * eps * (2.0 * expected.abs()).sqrt(), 1e-5),
    };
    rel * expected.abs() + abs
}
