//! The CPU path: the f64 [`reference`](mod@reference) oracle, and a fast executor on all cores (rayon),
//! generic over f32 and f64.

mod executor;
mod kernels;
pub mod reference;
mod task;

#[cfg(feature = "gpu")]
pub(crate) use executor::advise_huge_pages;
pub(crate) use executor::{run_condensed, run_into};
pub(crate) use task::run;

use ndarray::{Array1, Array2, ArrayView2};

use crate::distance::{Distance, Prepared};
pub use crate::element::Element;
use crate::error::Result;
use crate::extremes::Extremes;
use crate::plan::{Plan, PlanLimits, Region};

/// The distance matrix between the rows of `x` and the rows of `y`, on all CPU cores, in the
/// precision of the inputs (the parameters' change of coordinates in f64, rounded once).
///
/// ```
/// use ndarray::array;
/// use pairdist::{cpu, Metric};
/// let x = array![[0.0f64, 0.0], [1.0, 1.0]];
/// let d = cpu::cdist(x.view(), x.view(), Metric::Cityblock)?;
/// assert_eq!(d, array![[0.0, 2.0], [2.0, 0.0]]);
/// # Ok::<(), pairdist::Error>(())
/// ```
pub fn cdist<T: Element>(x: ArrayView2<T>, y: ArrayView2<T>, metric: impl Into<Distance>) -> Result<Array2<T>> {
    let prepared = Prepared::new(&metric.into(), x, Some(y))?;
    let (x, y) = prepared.views(x, Some(y));
    let (y, metric) = (y.expect("y was given"), prepared.kernel);
    let mut out = Array2::zeros((x.nrows(), y.nrows()));
    let plan = Plan::new(x.nrows(), y.nrows(), x.ncols(), Region::Full, &PlanLimits::cpu(None).for_element::<T>())?;
    let weights = prepared.weights.as_ref();
    run_into(x, y, (metric, weights), &plan, out.view_mut());
    if let Some(extremes) = Extremes::scan(x, y, metric) {
        extremes.with_weights(weights).fix_matrix(out.view_mut());
    }
    if let Some(ratio) = &prepared.ratio {
        ratio.all().finish_matrix(out.view_mut());
    }
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
pub fn pdist<T: Element>(x: ArrayView2<T>, metric: impl Into<Distance>) -> Result<Array1<T>> {
    let prepared = Prepared::new(&metric.into(), x, None)?;
    let (x, metric) = (prepared.views(x, None).0, prepared.kernel);
    let n = x.nrows();
    let mut out = Array1::zeros(crate::validate::condensed_len(n)?);
    let plan = Plan::new(n, n, x.ncols(), Region::StrictUpper, &PlanLimits::cpu(None).for_element::<T>())?;
    let slice = out.as_slice_mut().expect("fresh array is contiguous");
    let weights = prepared.weights.as_ref();
    run_condensed(x, (metric, weights), &plan, slice);
    if let Some(extremes) = Extremes::scan(x, x, metric) {
        extremes.with_weights(weights).fix_condensed(slice);
    }
    if let Some(ratio) = &prepared.ratio {
        ratio.all().finish_condensed(slice);
    }
    Ok(out)
}
