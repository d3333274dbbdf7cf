//! The GPU backend an engine holds: the context (device, queue, pipelines) and the pool of
//! tile buffers its runs reuse.

use super::context::GpuContext;
use super::resident::Resident;
use super::shaders::Kernel;
use super::slot::{Rows, SlotPool};
use crate::backend::Executor;
use crate::element::{Dtype, Element};
use crate::error::Result;
use crate::job::Task;
use crate::plan::PlanLimits;

/// A GPU context and the slots its runs share.
pub(crate) struct GpuBackend {
    pub(crate) ctx: GpuContext,
    pub(crate) pool: SlotPool,
    /// The distance kernel (the tiled one unless benchmarking the baseline).
    pub(crate) kernel: Kernel,
    /// Whether answers reduce on the device (`None`: on hardware adapters; see
    /// `EngineOptions::reduce_on_device`).
    pub(crate) reduce_on_device: Option<bool>,
    /// Bytes all of a run's tile buffers may take, and the cap on each (`EngineOptions`).
    pub(crate) memory_budget: u64,
    pub(crate) max_tile_bytes: Option<u64>,
}

impl GpuBackend {
    /// Whether answers that can reduce on the device do.
    pub(crate) fn reduces(&self) -> bool {
        self.reduce_on_device.unwrap_or(!self.ctx.adapter().is_software)
    }
}

impl Executor for GpuBackend {
    fn limits(&self, dtype: Dtype, base: Option<&Resident>) -> PlanLimits {
        let mut limits =
            self.ctx.plan_limits(self.kernel, self.memory_budget, dtype).with_max_tile_bytes(self.max_tile_bytes);
        if let Some(base) = base.filter(|b| b.dtype() == dtype) {
            // The plan reads the base in the chunks of dimensions it is kept in.
            limits.max_dims_per_pass = base.chunk_dims();
        }
        limits
    }

    fn run<'a, T: Element>(&self, task: Task<'a, '_, T>, base: Option<&'a Resident>) -> Result<()> {
        // The base serves the task when it is all of the task's Y, in the task's type.
        let y = match base {
            Some(b) if b.dtype() == T::DTYPE && task.col0 == 0 && task.y.nrows() == b.rows() => Rows::Device(b),
            _ => Rows::Host(task.y),
        };
        super::task::run_task(self, task, y)
    }
}
