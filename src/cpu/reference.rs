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

pub use crate::tolerance::{tolerance, tolerance_f64};
pub use crate::twin::kernel_distance;

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
    Ok(Array2::from_shape_fn((x.nrows(), y.nrows()), |(i, j)| resolved.between(&px[i], &py[j])))
}

/// SciPy's condensed distance vector in f64: `(i, j)` for `i < j`, row by row.
pub fn pdist<T: Float>(x: ArrayView2<T>, distance: impl Into<Distance>) -> Result<Array1<f64>> {
    let resolved = distance.into().resolve(x, None)?;
    let px = points(x, &resolved);
    let n = x.nrows();
    let mut out = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            out.push(resolved.between(&px[i], &px[j]));
        }
    }
    Ok(Array1::from_vec(out))
}

fn points<T: Float>(x: ArrayView2<T>, resolved: &Resolved) -> Vec<Vec<f64>> {
    x.rows().into_iter().map(|r| resolved.point(r)).collect()
}
