//! The GPU path: WGSL kernels through wgpu (Vulkan, Metal, DX12, GL).

mod context;
mod executor;
mod phases;
mod shaders;
mod task;

pub use context::{AdapterSummary, DEFAULT_MEMORY_BUDGET, GpuContext, MAX_PAIR_DIMS_PER_PASS, adapters};
pub(crate) use executor::{Epilogue, Job};
pub use phases::GpuPhases;
pub(crate) use phases::run_phased;
pub use shaders::{Kernel, SELECT_K_MAX, SELECT_WGSL, Tuning};
pub(crate) use task::run_task;
