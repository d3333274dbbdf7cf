//! What every backend is to the engine: one trait, [`Executor`]. A backend plans within its own
//! limits and runs a checked [`Task`] whatever its answer, reducing it with the answer's
//! epilogue (store, select k, filter by radius) its own way; the per-row answers it fills
//! (`TopK`, `Within`, sinks) and everything around them are the same for every backend.

use crate::element::{Dtype, Element};
use crate::error::Result;
use crate::job::Task;
use crate::plan::PlanLimits;

/// An index's base kept on a device between queries (only GPUs keep one).
#[cfg(feature = "gpu")]
pub(crate) use crate::gpu::Resident;
/// An index's base kept on a device between queries: never, without a GPU backend.
#[cfg(not(feature = "gpu"))]
pub(crate) enum Resident {}

/// A backend: its limits, and its one entry point.
pub(crate) trait Executor {
    /// The limits its plans for jobs in `dtype` respect (for f32 elements: `Task::new` scales
    /// them), reading Y from `base` when that is kept on this backend's device.
    fn limits(&self, dtype: Dtype, base: Option<&Resident>) -> PlanLimits;

    /// Runs `task`, reading Y from `base` when that is kept on this backend's device.
    fn run<'a, T: Element>(&self, task: Task<'a, '_, T>, base: Option<&'a Resident>) -> Result<()>;
}
