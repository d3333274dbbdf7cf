//! The CPU path: the f64 [`reference`](mod@reference) oracle, and a fast executor on all cores (rayon),
//! generic over f32 and f64.

mod backend;
pub(crate) mod executor;
pub(crate) mod fused;
mod kernels;
pub mod reference;
mod task;

pub(crate) use backend::CpuBackend;
#[cfg(feature = "gpu")]
pub(crate) use executor::advise_huge_pages;
pub(crate) use task::run;

use ndarray::{Array1, Array2, ArrayView2};

use crate::distance::{Distance, Prepared};
pub use crate::element::Element;
use crate::error::Result;
use crate::job::{Answer, Job, Target, Task};
use crate::plan::PlanLimits;

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
    let mut out = Array2::zeros((x.nrows(), y.nrows()));
    let job = Job::new(x, Some(y), metric, Answer::Matrix(Target::Array(out.view_mut())));
    run_alone(job)?;
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
    let mut out = Array1::zeros(crate::validate::condensed_len(x.nrows())?);
    let slice = out.as_slice_mut().expect("fresh array is contiguous");
    run_alone(Job::new(x, None, metric, Answer::Matrix(Target::Condensed(slice))).upper())?;
    Ok(out)
}

/// Runs `job` on all cores without an engine: the engine's CPU path (the points prepared, the
/// kernels, the f64 fix-up, a ratio's division), with the default tile limits.
fn run_alone<T: Element>(job: Job<'_, '_, T>) -> Result<()> {
    let prepared = Prepared::new(&job.metric, job.x, job.y)?;
    let job = job.on_prepared(&prepared);
    run(Task::new(job, &prepared, None, Default::default(), PlanLimits::cpu(None))?)
}
