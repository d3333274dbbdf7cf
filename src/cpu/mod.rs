//! The CPU path: the f64 [`reference`](mod@reference) oracle, and a fast executor on all cores (rayon),
//! generic over f32 and f64.

mod executor;
mod kernels;
pub mod reference;

pub(crate) use executor::{run_condensed, run_into, run_streaming};

use ndarray::{Array1, Array2, ArrayView2};
use num_traits::Float;

use crate::error::Result;
use crate::metric::Metric;
use crate::plan::{Plan, PlanLimits, Region};

/// An element type the CPU path computes in: `f32` or `f64`.
pub trait Element: Float + Send + Sync + std::fmt::Debug + 'static {}
impl Element for f32 {}
impl Element for f64 {}

/// The distance matrix between the rows of `x` and the rows of `y`, on all CPU cores, in the
/// precision of the inputs.
///
/// ```
/// use ndarray::array;
/// use pairdist::{cpu, Metric};
/// let x = array![[0.0f64, 0.0], [1.0, 1.0]];
/// let d = cpu::cdist(x.view(), x.view(), Metric::Cityblock)?;
/// assert_eq!(d, array![[0.0, 2.0], [2.0, 0.0]]);
/// # Ok::<(), pairdist::Error>(())
/// ```
pub fn cdist<T: Element>(x: ArrayView2<T>, y: ArrayView2<T>, metric: Metric) -> Result<Array2<T>> {
    crate::validate::same_dims(x.ncols(), y.ncols())?;
    let mut out = Array2::zeros((x.nrows(), y.nrows()));
    let plan = Plan::new(x.nrows(), y.nrows(), x.ncols(), Region::Full, &PlanLimits::cpu(None))?;
    run_into(x, y, metric, &plan, out.view_mut());
    Ok(out)
}

/// SciPy's condensed distance vector of the rows of `x`, on all CPU cores.
///
/// ```
/// use ndarray::array;
/// use pairdist::{cpu, Metric};
/// let x = array![[0.0f32], [1.0], [3.0]];
/// assert_eq!(cpu::pdist(x.view(), Metric::Euclidean)?, array![1.0, 3.0, 2.0]);
/// # Ok::<(), pairdist::Error>(())
/// ```
pub fn pdist<T: Element>(x: ArrayView2<T>, metric: Metric) -> Result<Array1<T>> {
    let n = x.nrows();
    let mut out = Array1::zeros(crate::validate::condensed_len(n)?);
    let plan = Plan::new(n, n, x.ncols(), Region::StrictUpper, &PlanLimits::cpu(None))?;
    run_condensed(x, metric, &plan, out.as_slice_mut().expect("fresh array is contiguous"));
    Ok(out)
}
