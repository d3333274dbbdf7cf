//! The GPU context: instance, adapter, device and queue, built once and reused, with the
//! compiled pipelines cached inside. GPU errors become `Error` values, never panics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::shaders::{Epilogue, Kernel, Tuning, TuningOrigin};
use crate::element::Dtype;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::plan::PlanLimits;
use crate::stats::Counters;

/// How long one submission may take before pairdist gives up on the device. Plans keep
/// submissions far shorter; this only turns a hung device into an error.
pub(crate) const POLL_TIMEOUT: Duration = Duration::from_secs(120);

pub use crate::plan::DEFAULT_MEMORY_BUDGET;

/// Most pair-dimensions one submission may compute on a device of `device_type` computing in
/// `dtype`: a budget that keeps every submission well under a second on the slowest device of
/// the type, so no driver watchdog (about 2 s on Windows) fires, and as large as that allows,
/// since the plan shrinks tiles to meet it and a small tile starves a large GPU.
///
/// pairdist 0.1 used 2^30 everywhere: on an H100 (about 10^4 Gpd/s) that is 0.1 ms, and at
/// d = 4096 it cut 8192² into tiles of 512 × 512 outputs, 16 workgroups for 132
/// multiprocessors: the kernel ran at 890 Gpd/s there against 6 170 at d = 128 (issue 11).
///
/// | type | float32 budget | slowest such device, float32 | a pass there |
/// |---|---|---|---|
/// | discrete | 2^36 | about 1 TFLOP/s (GT 1030 class): 500 Gpd/s | 0.14 s |
/// | integrated | 2^33 | a few hundred GFLOP/s: 50–200 Gpd/s | 0.04–0.17 s |
/// | CPU (lavapipe), virtual, other | 2^30 | lavapipe on 2 cores: 5 Gpd/s | 0.2 s |
///
/// float64 runs at 1/2 (data-centre cards) to 1/64 (consumer cards) of the float32 rate: its
/// budget is a quarter of float32's, never below 2^30 (a GT 1030's 17 Gpd/s of float64 takes 1 s
/// for 2^34).
///
/// ```
/// use pairdist::Dtype;
/// use pairdist::gpu::max_pair_dims_per_pass;
/// use wgpu::DeviceType;
///
/// let discrete = max_pair_dims_per_pass(DeviceType::DiscreteGpu, Dtype::F32);
/// assert_eq!(discrete, 1 << 36);
/// assert!(max_pair_dims_per_pass(DeviceType::DiscreteGpu, Dtype::F64) < discrete);
/// assert_eq!(max_pair_dims_per_pass(DeviceType::Cpu, Dtype::F32), 1 << 30);
/// ```
pub fn max_pair_dims_per_pass(device_type: wgpu::DeviceType, dtype: Dtype) -> u64 {
    let f32_budget: u64 = match device_type {
        wgpu::DeviceType::DiscreteGpu => 1 << 36,
        wgpu::DeviceType::IntegratedGpu => 1 << 33,
        wgpu::DeviceType::Cpu | wgpu::DeviceType::VirtualGpu | wgpu::DeviceType::Other => 1 << 30,
    };
    match dtype {
        Dtype::F32 => f32_budget,
        Dtype::F64 => (f32_budget / 4).max(1 << 30),
    }
}

/// What a user sees of an adapter (`pairdist info`, logs, benchmark rows).
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    /// Adapter name, for example "NVIDIA GeForce RTX 4090" or "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Graphics API: Vulkan, Metal, Dx12, Gl.
    pub backend: String,
    /// Discrete, integrated, virtual, CPU (software) or other.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Whether this is a software rasterizer (such as lavapipe) rather than a GPU.
    pub is_software: bool,
    /// Largest storage binding, in bytes.
    pub max_storage_binding: u64,
    /// Largest buffer, in bytes.
    pub max_buffer: u64,
    /// Most workgroups per dispatch dimension.
    pub max_workgroups_per_dim: u32,
    /// Most invocations per workgroup.
    pub max_invocations: u32,
    /// Workgroup memory, in bytes.
    pub workgroup_storage: u32,
    /// Whether the adapter offers GPU timestamp queries (`wgpu::Features::TIMESTAMP_QUERY`):
    /// benchmarks then time the compute phase on the device's clock.
    pub timestamp_query: bool,
    /// Whether shaders may compute in f64 (`wgpu::Features::SHADER_F64`): float64 work then
    /// runs on this adapter, in f64; elsewhere it runs on the CPU.
    pub shader_f64: bool,
    /// Why pairdist cannot run on this adapter (`None` when it can): for example an OpenGL
    /// context older than 4.3, which has no compute shaders. Such adapters are listed by
    /// `pairdist info` but never chosen.
    pub unusable: Option<String>,
}

impl AdapterSummary {
    fn new(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info).trim().to_string(),
            is_software: info.device_type == wgpu::DeviceType::Cpu,
            max_storage_binding: limits.max_storage_buffer_binding_size,
            max_buffer: limits.max_buffer_size,
            max_workgroups_per_dim: limits.max_compute_workgroups_per_dimension,
            max_invocations: limits.max_compute_invocations_per_workgroup,
            workgroup_storage: limits.max_compute_workgroup_storage_size,
            timestamp_query: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f64: adapter.features().contains(wgpu::Features::SHADER_F64),
            unusable: unusable(adapter),
        }
    }
}

/// Why an adapter cannot run pairdist's kernels, if it cannot.
fn unusable(adapter: &wgpu::Adapter) -> Option<String> {
    why_unusable(adapter.get_downlevel_capabilities().flags, &adapter.limits())
}

/// Why an adapter with these capabilities and limits cannot run the kernels, if it cannot.
fn why_unusable(flags: wgpu::DownlevelFlags, limits: &wgpu::Limits) -> Option<String> {
    if !flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
        return Some("no compute shaders (OpenGL before 4.3, or WebGL)".into());
    }
    // Four storage buffers per stage (X, Y, the output, the weights); the smallest tiled
    // workgroup is 4 × 4.
    if limits.max_storage_buffers_per_shader_stage < 4 || limits.max_compute_invocations_per_workgroup < 16 {
        return Some("too few storage buffers or invocations per workgroup for the kernels".into());
    }
    None
}

impl AdapterSummary {
    /// "NAME (BACKEND)": what `--adapter` and [`EngineOptions::adapter`](crate::EngineOptions)
    /// match against, so one name on two backends (Vulkan and GL) can be told apart.
    pub fn selector(&self) -> String {
        format!("{} ({})", self.name, self.backend)
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {}, driver {})", self.name, self.backend, self.device_type, self.driver)
    }
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    // Honours the WGPU_* instance variables; WGPU_BACKEND is applied by the callers.
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    desc.backends = backends;
    wgpu::Instance::new(desc)
}

/// The adapters to choose from: Vulkan, Metal and DX12 first; GL only when none of those has
/// one (or when WGPU_BACKEND asks for it), since a GL adapter duplicates a native one.
fn enumerate() -> Vec<wgpu::Adapter> {
    let env = wgpu::Backends::from_env();
    let first = env.unwrap_or(wgpu::Backends::PRIMARY);
    let found = pollster::block_on(instance(first).enumerate_adapters(first));
    if !found.is_empty() || env.is_some() {
        return found;
    }
    let secondary = wgpu::Backends::SECONDARY;
    pollster::block_on(instance(secondary).enumerate_adapters(secondary))
}

/// Every adapter on every backend (or on those in WGPU_BACKEND).
fn all_adapters() -> Vec<wgpu::Adapter> {
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    pollster::block_on(instance(backends).enumerate_adapters(backends))
}

/// Every adapter wgpu can see on this machine, on every backend (or those in WGPU_BACKEND).
pub fn adapters() -> Vec<AdapterSummary> {
    all_adapters().iter().map(AdapterSummary::new).collect()
}

/// Ranks adapters: hardware before software, the preferred power class first, native APIs
/// before GL. Lower is better.
fn rank(adapter: &wgpu::Adapter, low_power: bool) -> (u8, u8) {
    let info = adapter.get_info();
    let class = match (info.device_type, low_power) {
        (wgpu::DeviceType::DiscreteGpu, false) | (wgpu::DeviceType::IntegratedGpu, true) => 0,
        (wgpu::DeviceType::IntegratedGpu, false) | (wgpu::DeviceType::DiscreteGpu, true) => 1,
        (wgpu::DeviceType::VirtualGpu, _) => 2,
        (wgpu::DeviceType::Other, _) => 3,
        (wgpu::DeviceType::Cpu, _) => 4,
    };
    let api = u8::from(info.backend == wgpu::Backend::Gl);
    (class, api)
}

/// Chooses an adapter: the one whose name contains `name` (or `WGPU_ADAPTER_NAME`) if given,
/// else the best by [`rank`] (`WGPU_POWER_PREF=low` prefers integrated GPUs).
fn choose_adapter(name: Option<&str>) -> Result<wgpu::Adapter> {
    let wanted = name.map(str::to_string).or_else(|| std::env::var("WGPU_ADAPTER_NAME").ok());
    // A named adapter may be on any backend (GL included); otherwise native APIs come first.
    let mut all = match wanted {
        Some(_) => all_adapters(),
        None => enumerate(),
    };
    if all.is_empty() {
        return Err(Error::NoGpu(
            "wgpu found no adapter (no Vulkan, Metal, DX12 or GL driver; on Debian/Ubuntu \
             `apt-get install mesa-vulkan-drivers` gives a software one)"
                .into(),
        ));
    }
    if let Some(wanted) = wanted {
        let lower = wanted.to_lowercase();
        all.retain(|a| AdapterSummary::new(a).selector().to_lowercase().contains(&lower));
        if all.is_empty() {
            return Err(Error::NoGpu(format!("no adapter matches '{wanted}' (see `pairdist info`)")));
        }
    }
    // Adapters that cannot run compute shaders are never chosen (0.1 picked an H100's OpenGL
    // 3.3 context when asked for it, and the device was lost).
    let refused: Vec<String> = all
        .iter()
        .map(AdapterSummary::new)
        .filter_map(|a| a.unusable.as_ref().map(|why| format!("{}: {why}", a.selector())))
        .collect();
    all.retain(|a| unusable(a).is_none());
    if all.is_empty() {
        return Err(Error::NoGpu(format!("no adapter can run compute shaders ({})", refused.join("; "))));
    }
    let low_power = wgpu::PowerPreference::from_env() == Some(wgpu::PowerPreference::LowPower);
    all.sort_by_key(|a| rank(a, low_power));
    Ok(all.swap_remove(0))
}

/// Shared slot where asynchronous device errors (uncaptured errors, device loss) land.
type ErrorSlot = Arc<Mutex<Option<String>>>;

/// What a compiled pipeline depends on: kernel, element type, the metric's steps (the shader
/// ids of its term, merge and final step: not the metric itself, whose parameters such as
/// minkowski's p are data in the uniform block), weighted terms or not, tuning (the float32
/// one; a float64 pipeline derives its own from it).
type PipelineKey = (Kernel, Dtype, [u32; 3], bool, Tuning);

/// Instance, adapter, device, queue and cached pipelines.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    summary: AdapterSummary,
    /// Discrete, integrated, software...: sizes the work of one submission.
    device_type: wgpu::DeviceType,
    limits: wgpu::Limits,
    pub(crate) tuning: Tuning,
    tuning_origin: TuningOrigin,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    modules: Mutex<HashMap<(Kernel, Dtype), Arc<wgpu::ShaderModule>>>,
    /// Keyed by kernel, element type, the metric's steps, whether the terms are weighted, and tuning (so
    /// that the tuner can go back and forth between candidates).
    pipelines: Mutex<HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>>,
    /// The answers' epilogues, compiled on first use.
    epilogues: Mutex<HashMap<(Epilogue, Dtype), Arc<wgpu::ComputePipeline>>>,
    select_layout: wgpu::BindGroupLayout,
    filter_layout: wgpu::BindGroupLayout,
    async_error: ErrorSlot,
}

impl GpuContext {
    /// Opens the best adapter (or the one whose name contains `adapter_name`).
    pub fn new(adapter_name: Option<&str>) -> Result<Self> {
        let adapter = choose_adapter(adapter_name)?;
        let summary = AdapterSummary::new(&adapter);
        // Ask for the adapter's own limits: the defaults cap bindings at 128 MiB.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("pairdist"),
            // Timestamps time benchmark phases on the device's clock, SHADER_F64 lets float64
            // kernels run, and SHADER_INT64 gives float64 distances the sort keys of the
            // answers' epilogues; each asked for only where offered, since requesting a
            // missing feature fails the device.
            required_features: adapter.features()
                & (wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_F64 | wgpu::Features::SHADER_INT64),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| Error::Gpu(format!("cannot open {summary}: {e}")))?;

        // wgpu's default handler panics; keep the message and report it as an Err instead.
        let async_error: ErrorSlot = Arc::default();
        let slot = async_error.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            log::error!("GPU error: {e}");
            slot.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(e.to_string());
        }));
        let slot = async_error.clone();
        device.set_device_lost_callback(move |reason, msg| {
            if reason != wgpu::DeviceLostReason::Destroyed {
                log::error!("GPU device lost ({reason:?}): {msg}");
                slot.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(format!("device lost: {msg}"));
            }
        });

        // Binding 0 is the uniform parameters, the others storage buffers (read-only or not):
        // X, Y, the output, and the weights of the terms (read only by weighted pipelines).
        let buffer = |binding, ty| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None },
            count: None,
        };
        let uniform = buffer(0, wgpu::BufferBindingType::Uniform);
        let storage = |binding, read_only| buffer(binding, wgpu::BufferBindingType::Storage { read_only });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("pairdist tile"),
            entries: &[uniform, storage(1, true), storage(2, true), storage(3, false), storage(4, true)],
        });
        // The epilogues: parameters, the tile's distances, then what they write.
        let select_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("pairdist select"),
            entries: &[uniform, storage(1, true), storage(2, false)],
        });
        let filter_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("pairdist filter"),
            entries: &[uniform, storage(1, true), storage(2, false), storage(3, false), storage(4, false)],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("pairdist"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let tuning = Tuning::for_limits(&limits);
        log::debug!("opened GPU adapter: {summary}");
        log::debug!("tiled kernel tuning for this adapter: {tuning:?}");
        Ok(GpuContext {
            device,
            queue,
            device_type: adapter.get_info().device_type,
            summary,
            limits,
            tuning,
            tuning_origin: TuningOrigin::Default,
            layout,
            pipeline_layout,
            modules: Mutex::default(),
            pipelines: Mutex::default(),
            epilogues: Mutex::default(),
            select_layout,
            filter_layout,
            async_error,
        })
    }

    /// The tiled kernel's tuning on this context.
    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    /// Where [`GpuContext::tuning`] came from.
    pub fn tuning_origin(&self) -> TuningOrigin {
        self.tuning_origin
    }

    /// Sets the tiled kernel's tuning (pipelines compiled for others are kept until
    /// [`GpuContext::drop_other_pipelines`]).
    pub(crate) fn set_tuning(&mut self, tuning: Tuning, origin: TuningOrigin) {
        self.tuning = tuning;
        self.tuning_origin = origin;
    }

    /// Drops the pipelines compiled for tunings other than the current one.
    pub(crate) fn drop_other_pipelines(&mut self) {
        let tuning = self.tuning;
        self.pipelines.get_mut().unwrap_or_else(|p| p.into_inner()).retain(|(_, _, _, _, t), _| *t == tuning);
    }

    /// Why this device cannot run kernels in `dtype`, if it cannot: float64 needs
    /// `SHADER_F64`, and the float64 shape of the tiled kernel within the device's limits.
    pub(crate) fn cannot_compute(&self, dtype: Dtype) -> Option<String> {
        match dtype {
            Dtype::F32 => None,
            Dtype::F64 if !self.device.features().contains(wgpu::Features::SHADER_F64) => {
                Some(format!("{} does not offer SHADER_F64", self.summary.name))
            }
            Dtype::F64 if !self.tuning.for_dtype(dtype).fits_in(dtype, &self.limits) => Some(format!(
                "the float64 tiled kernel ({}) does not fit {}'s limits",
                self.tuning.for_dtype(dtype),
                self.summary.name
            )),
            Dtype::F64 => None,
        }
    }

    /// Whether the device was opened with `TIMESTAMP_QUERY` (the adapter offers it).
    pub(crate) fn has_timestamps(&self) -> bool {
        self.device.features().contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// The device's limits (the adapter's own, requested at creation).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// The adapter this context runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.summary
    }

    pub(crate) fn bind_group_layout(&self) -> &wgpu::BindGroupLayout {
        &self.layout
    }

    /// The bind group layout of `epilogue`'s shader.
    pub(crate) fn epilogue_layout(&self, epilogue: Epilogue) -> &wgpu::BindGroupLayout {
        match epilogue {
            Epilogue::Select => &self.select_layout,
            Epilogue::Filter => &self.filter_layout,
        }
    }

    /// Why the answers' epilogues cannot reduce distances of `dtype` on this device, if they
    /// cannot: float64 distances need 64-bit sort keys (`SHADER_INT64`).
    pub(crate) fn cannot_reduce(&self, dtype: Dtype) -> Option<String> {
        if let Some(why) = self.cannot_compute(dtype) {
            return Some(why);
        }
        let int64 = self.device.features().contains(wgpu::Features::SHADER_INT64);
        (dtype == Dtype::F64 && !int64).then(|| format!("{} does not offer SHADER_INT64", self.summary.name))
    }

    /// `epilogue`'s pipeline for distances of `dtype`, compiled on first use and kept.
    pub(crate) fn epilogue_pipeline(&self, epilogue: Epilogue, dtype: Dtype) -> Result<Arc<wgpu::ComputePipeline>> {
        let mut cached = self.epilogues.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cached.get(&(epilogue, dtype)) {
            return Ok(p.clone());
        }
        if let Some(why) = self.cannot_reduce(dtype) {
            return Err(Error::Gpu(format!("cannot reduce {dtype} distances on this device: {why}")));
        }
        let what = format!("compiling shaders/{}.wgsl ({dtype})", epilogue.name());
        let pipeline = self.scoped(&what, || {
            let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(epilogue.name()),
                source: wgpu::ShaderSource::Wgsl(epilogue.source(dtype).into()),
            });
            let layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(epilogue.name()),
                bind_group_layouts: &[Some(self.epilogue_layout(epilogue))],
                immediate_size: 0,
            });
            self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(epilogue.name()),
                layout: Some(&layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions::default(),
                cache: None,
            })
        })?;
        let pipeline = Arc::new(pipeline);
        cached.insert((epilogue, dtype), pipeline.clone());
        Ok(pipeline)
    }

    /// Halves the tiled kernel's workgroup (down to 2 × 2 invocations) until one block of
    /// outputs fits in `max_tile_bytes` and two slots of one block (with a few dimensions) fit
    /// in `memory_budget`, so small caps (`--max-tile-bytes 4KiB`, `--memory-budget 64KiB`)
    /// give small tiles instead of an error. Outputs count in the widest type the device
    /// computes in (f64 where it offers SHADER_F64), since both share the workgroup's shape.
    pub(crate) fn fit_tuning(&mut self, max_tile_bytes: Option<u64>, memory_budget: u64) {
        let size = if self.device.features().contains(wgpu::Features::SHADER_F64) { 8 } else { 4 };
        let too_big = |t: &Tuning| {
            let (rows, cols) = Kernel::Tiled.block(t);
            let (rows, cols) = (rows as u64, cols as u64);
            let block_bytes = size * rows * cols;
            // Two slots of one block with 4 dimensions (see `Shrink::of` in plan.rs).
            let footprint = 2 * crate::plan::slot_bytes(rows, cols, 4, size);
            block_bytes > max_tile_bytes.unwrap_or(u64::MAX) || footprint > memory_budget
        };
        let mut tuning = self.tuning;
        // Down to 2 × 2 invocations: a block of 16 × 16 f64 outputs is 2 KiB, within the
        // smallest cap (MIN_TILE_BYTES, 4 KiB) halved for f64 (`PlanLimits::for_element`).
        while too_big(&tuning) && tuning.wg_x > 2 && tuning.wg_y > 2 {
            tuning.wg_x /= 2;
            tuning.wg_y /= 2;
        }
        self.set_tuning(tuning, self.tuning_origin);
        // Those an autotune compiled for its candidates, or for the unshrunk shape.
        self.drop_other_pipelines();
        log::debug!("tiled kernel tuning for these caps: {:?}", self.tuning);
    }

    /// Limits for the planner, for `kernel` computing in `dtype`, within `memory_budget` bytes
    /// of tile buffers (counted in f32 elements: `PlanLimits::for_element` scales them).
    pub(crate) fn plan_limits(&self, kernel: Kernel, memory_budget: u64, dtype: Dtype) -> PlanLimits {
        device_plan_limits(&self.limits, self.device_type, (kernel, &self.tuning), memory_budget, dtype)
    }

    /// Runs `f` inside validation and out-of-memory error scopes and turns what they catch
    /// into an `Err`.
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        match v.or(o) {
            Some(e) => Err(Error::Gpu(format!("{what}: {e}"))),
            None => Ok(value),
        }
    }

    /// The error a device callback recorded since the last check, if any.
    pub(crate) fn check_async_error(&self) -> Result<()> {
        match self.async_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(e) => Err(Error::Gpu(e)),
            None => Ok(()),
        }
    }

    /// The compiled pipeline for `kernel` computing in `dtype` and `metric`, with its terms
    /// `weighted` or not, compiled on first use (counted in `counters`) and cached.
    pub(crate) fn pipeline(
        &self,
        kernel: Kernel,
        dtype: Dtype,
        metric: Metric,
        weighted: bool,
        counters: &Counters,
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        let def = metric.definition();
        let steps = [def.term.shader_id(), def.merge.shader_id(), def.finalize.shader_id()];
        let key = (kernel, dtype, steps, weighted, self.tuning);
        if let Some(p) = cache.get(&key) {
            return Ok(p.clone());
        }
        if let Some(why) = self.cannot_compute(dtype) {
            return Err(Error::Gpu(format!("cannot compute in {dtype} on this device: {why}")));
        }
        let module = self.module(kernel, dtype)?;
        let constants = kernel.constants(metric, weighted, &self.tuning.for_dtype(dtype));
        let what = format!("compiling the {} kernel ({dtype})", kernel.name());
        let pipeline = self.scoped(&what, || {
            self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(kernel.name()),
                layout: Some(&self.pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            })
        })?;
        let pipeline = Arc::new(pipeline);
        counters.pipeline_compiled();
        cache.insert(key, pipeline.clone());
        Ok(pipeline)
    }

    fn module(&self, kernel: Kernel, dtype: Dtype) -> Result<Arc<wgpu::ShaderModule>> {
        let mut cache = self.modules.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = cache.get(&(kernel, dtype)) {
            return Ok(m.clone());
        }
        let source = kernel.source(dtype);
        let module = self.scoped(&format!("loading shaders/{}.wgsl", kernel.name()), || {
            self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(kernel.name()),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            })
        })?;
        let module = Arc::new(module);
        cache.insert((kernel, dtype), module.clone());
        Ok(module)
    }
}

/// [`GpuContext::plan_limits`] for a device with `limits` of `device_type` running `kernel`
/// with `tuning`: a pure function, so that plans for cards this machine lacks can be tested.
fn device_plan_limits(
    limits: &wgpu::Limits,
    device_type: wgpu::DeviceType,
    (kernel, tuning): (Kernel, &Tuning),
    memory_budget: u64,
    dtype: Dtype,
) -> PlanLimits {
    PlanLimits {
        max_binding_bytes: limits.max_storage_buffer_binding_size.min(limits.max_buffer_size),
        max_workgroups_per_dim: limits.max_compute_workgroups_per_dimension,
        block: kernel.block(tuning),
        memory_budget_bytes: memory_budget,
        slots: 2,
        max_pair_dims_per_pass: max_pair_dims_per_pass(device_type, dtype),
        split_dims: true,
        max_dims_per_pass: kernel.max_dims_per_pass(&tuning.for_dtype(dtype)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{DEFAULT_MEMORY_BUDGET, Plan, Region};

    /// An NVIDIA H100's limits as wgpu 30 reports them through Vulkan (driver 580): storage
    /// bindings and buffers up to 4 GiB, 65 535 workgroups per dimension, 48 KiB of workgroup
    /// memory.
    fn h100_limits() -> wgpu::Limits {
        wgpu::Limits {
            max_storage_buffer_binding_size: u32::MAX as u64,
            max_buffer_size: u32::MAX as u64,
            max_compute_workgroups_per_dimension: 65_535,
            max_compute_workgroup_storage_size: 49_152,
            max_compute_invocations_per_workgroup: 1024,
            ..wgpu::Limits::default()
        }
    }

    /// Issue 11: at large d the work budget per submission cut a discrete card's tiles down
    /// to 16 workgroups (512² outputs at d = 4096), which left most of an H100 idle. Every
    /// full tile of a default plan now holds at least 512 workgroups (about four per
    /// multiprocessor of an H100) at every d, in float32 and float64, and a pass stays within
    /// the budget.
    #[test]
    fn discrete_tiles_fill_a_large_card_at_every_d() {
        let limits = h100_limits();
        let tuning = Tuning::for_limits(&limits);
        for dtype in [Dtype::F32, Dtype::F64] {
            let plan_limits = device_plan_limits(
                &limits,
                wgpu::DeviceType::DiscreteGpu,
                (Kernel::Tiled, &tuning),
                DEFAULT_MEMORY_BUDGET,
                dtype,
            );
            let plan_limits = match dtype {
                Dtype::F32 => plan_limits.for_element::<f32>(),
                Dtype::F64 => plan_limits.for_element::<f64>(),
            };
            let (bn, bm) = plan_limits.block;
            for (n, d) in [(16_384, 32), (16_384, 128), (16_384, 512), (8192, 1024), (8192, 4096), (8192, 16_384)] {
                let plan = Plan::new(n, n, d, Region::Full, &plan_limits).unwrap();
                let workgroups = (plan.tile_rows / bn) * (plan.tile_cols / bm);
                let want = if dtype == Dtype::F32 { 512 } else { 128 };
                assert!(workgroups >= want, "{dtype:?} {n}² x {d}: {plan:?} has {workgroups} workgroups per tile");
                let pass = (plan.tile_rows * plan.tile_cols * plan.tile_dims) as u64;
                assert!(pass <= plan_limits.max_pair_dims_per_pass);
            }
        }
    }

    /// Software and unknown devices keep 0.1's budget: lavapipe computes 2^30 pair-dimensions
    /// in about 0.2 s on two cores.
    #[test]
    fn software_devices_keep_small_passes() {
        assert_eq!(max_pair_dims_per_pass(wgpu::DeviceType::Cpu, Dtype::F32), 1 << 30);
        assert_eq!(max_pair_dims_per_pass(wgpu::DeviceType::Cpu, Dtype::F64), 1 << 30);
        assert!(
            max_pair_dims_per_pass(wgpu::DeviceType::DiscreteGpu, Dtype::F64)
                < max_pair_dims_per_pass(wgpu::DeviceType::DiscreteGpu, Dtype::F32)
        );
    }

    #[test]
    fn adapters_without_compute_shaders_are_unusable() {
        // An OpenGL 3.3 context (the H100's GL adapter in issue 7): downlevel WebGL2-like.
        let gl33 = wgpu::DownlevelCapabilities::default().flags - wgpu::DownlevelFlags::COMPUTE_SHADERS;
        let why = why_unusable(gl33, &wgpu::Limits::downlevel_webgl2_defaults());
        assert!(why.is_some_and(|w| w.contains("no compute shaders")));
        // Compute shaders but no storage buffers (WebGL2's limits).
        let full = wgpu::DownlevelFlags::all();
        assert!(why_unusable(full, &wgpu::Limits::downlevel_webgl2_defaults()).is_some());
        // A Vulkan-class device, and a downlevel one that still has compute.
        assert_eq!(why_unusable(full, &wgpu::Limits::default()), None);
        assert_eq!(why_unusable(full, &wgpu::Limits::downlevel_defaults()), None);
    }
}
