//! The GPU backend an engine holds: the context (device, queue, pipelines) and the pool of
//! tile buffers its runs reuse (`task.rs` implements [`crate::backend::Executor`] for it).

use super::context::GpuContext;
use super::shaders::Kernel;
use super::slot::SlotPool;

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
