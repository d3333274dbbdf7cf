//! The GPU path: WGSL kernels through wgpu (Vulkan, Metal, DX12, GL).

mod backend;
mod cache;
mod context;
mod epilogue;
mod executor;
mod pack;
mod resident;
mod shaders;
mod slot;
mod stopwatch;
mod task;
mod tune;

/// The `wgpu` this crate is built on, re-exported on purpose: [`Tuning::fits`],
/// [`GpuContext::limits`] and [`max_pair_dims_per_pass`] speak in its `Limits` and `DeviceType`,
/// and a caller who names them through `pairdist::gpu::wgpu` always gets the same version.
///
/// ```
/// use pairdist::gpu::{Tuning, wgpu};
/// assert!(Tuning::for_limits(&wgpu::Limits::default()).fits(&wgpu::Limits::default()));
/// ```
pub use wgpu;

pub(crate) use backend::GpuBackend;
pub use cache::{CACHE_FILE, CacheKey, TuningCache};
pub use context::{AdapterSummary, DEFAULT_MEMORY_BUDGET, GpuContext, adapters, max_pair_dims_per_pass};
pub(crate) use resident::{PART_BYTES, Resident};
pub use shaders::{Epilogue, Kernel, SELECT_K_MAX, Tuning, TuningOrigin};
pub(crate) use slot::SlotPool;
pub(crate) use tune::settle;
pub use tune::{Measurement, PhaseClock, TuneOptions, TuneReport, tune};
