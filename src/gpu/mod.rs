//! The GPU path: WGSL kernels through wgpu (Vulkan, Metal, DX12, GL).

mod cache;
mod context;
mod executor;
mod phases;
mod shaders;
mod task;
mod tune;

pub use cache::{CACHE_FILE, CacheKey, TuningCache};
pub use context::{AdapterSummary, DEFAULT_MEMORY_BUDGET, GpuContext, adapters, max_pair_dims_per_pass};
pub(crate) use executor::{Epilogue, Job};
pub(crate) use phases::run_phased;
pub use phases::{GpuPhases, PhaseClock};
pub use shaders::{Kernel, SELECT_K_MAX, SELECT_WGSL, Tuning, TuningOrigin};
pub(crate) use task::run_task;
pub(crate) use tune::settle;
pub use tune::{Measurement, TuneOptions, TuneReport, tune};
