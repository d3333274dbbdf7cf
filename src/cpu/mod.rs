//! The CPU path: the f64 [`reference`](mod@reference) oracle, and a fast executor on all cores (rayon),
//! generic over f32 and f64.

mod executor;
mod kernels;
pub mod reference;
mod task;

pub(crate) use executor::{run_condensed, run_into};
pub(crate) use task::run;

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};
use num_traits::Float;

use crate::distance::Distance;
use crate::error::Result;
use crate::extremes::Extremes;
use crate::metric::Metric;
use crate::plan::{Plan, PlanLimits, Region};

/// An element type the CPU path computes in: `f32` or `f64`.
pub trait Element: Float + Send + Sync + std::fmt::Debug + 'static {
    /// Recomputes the entries whose sums overflowed or underflowed this type although the
    /// distance did not (see `extremes.rs`). f32 is fixed in f64; f64 follows IEEE arithmetic,
    /// as SciPy does.
    #[doc(hidden)]
    fn fix_extremes(_x: ArrayView2<Self>, _y: ArrayView2<Self>, _metric: Metric, _out: ArrayViewMut2<Self>) {}

    /// [`Element::fix_extremes`] for SciPy's condensed vector of the rows of `x`.
    #[doc(hidden)]
    fn fix_extremes_condensed(_x: ArrayView2<Self>, _metric: Metric, _out: &mut [Self]) {}
}

impl Element for f32 {
    fn fix_extremes(x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric, out: ArrayViewMut2<f32>) {
        if let Some(extremes) = Extremes::scan(x, y, metric) {
            extremes.fix_matrix(out);
        }
    }

    fn fix_extremes_condensed(x: ArrayView2<f32>, metric: Metric, out: &mut [f32]) {
        if let Some(extremes) = Extremes::scan(x, x, metric) {
            extremes.fix_condensed(out);
        }
    }
}

impl Element for f64 {}

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
    let resolved = metric.into().resolve(x, Some(y))?;
    let (px, py) = (resolved.prepare(x), resolved.prepare(y));
    let (x, y) = (px.as_ref().map_or(x, |a| a.view()), py.as_ref().map_or(y, |a| a.view()));
    let metric = resolved.kernel();
    let mut out = Array2::zeros((x.nrows(), y.nrows()));
    let plan = Plan::new(x.nrows(), y.nrows(), x.ncols(), Region::Full, &PlanLimits::cpu(None))?;
    run_into(x, y, metric, &plan, out.view_mut());
    T::fix_extremes(x, y, metric, out.view_mut());
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
    let resolved = metric.into().resolve(x, None)?;
    let px = resolved.prepare(x);
    let x = px.as_ref().map_or(x, |a| a.view());
    let metric = resolved.kernel();
    let n = x.nrows();
    let mut out = Array1::zeros(crate::validate::condensed_len(n)?);
    let plan = Plan::new(n, n, x.ncols(), Region::StrictUpper, &PlanLimits::cpu(None))?;
    let slice = out.as_slice_mut().expect("fresh array is contiguous");
    run_condensed(x, metric, &plan, slice);
    T::fix_extremes_condensed(x, metric, slice);
    Ok(out)
}
