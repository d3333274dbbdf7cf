//! The engine: a backend chosen once (GPU context with compiled pipelines, or the CPU path)
//! and reused for every call. Every public computation is a [`Job`] that [`Engine::run`]
//! checks once and hands to the backend's one entry point.
//!
//! Every call takes `f32` or `f64` points ([`Element`]) and computes in their type. On a GPU
//! engine f64 jobs run on the device where it offers `SHADER_F64`, else on the CPU executor
//! (logged once, and said by [`Engine::why_on_cpu`]).

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
#[cfg(feature = "gpu")]
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};

use crate::answer::{Neighbors, Pairs, TopK, Within, knn::collect};
use crate::backend::Executor;
use crate::cpu::CpuBackend;
use crate::distance::{Distance, Prepared};
use crate::element::{Dtype, Element};
use crate::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::gpu::{self, AdapterSummary, GpuBackend, GpuContext, Kernel, Tuning, TuningOrigin};
use crate::job::{Answer, Job, Target, Task};
use crate::monitor::Monitor;
use crate::plan::{DEFAULT_MEMORY_BUDGET, MIN_MEMORY_BUDGET, MIN_TILE_BYTES, Plan, PlanLimits, Region};
use crate::sink::Sink;
use crate::stats::{Counters, Stats};
use crate::validate;

/// Where the work runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// The best hardware GPU adapter; the CPU (with a logged warning) if there is none.
    /// Software adapters such as lavapipe are not chosen here: pairdist's own CPU path is
    /// much faster than a rasterizer emulating a GPU on the same cores.
    #[default]
    Auto,
    /// A GPU adapter (hardware first, software such as lavapipe if that is all there is);
    /// an error if wgpu finds none.
    Gpu,
    /// The CPU path, on all cores.
    Cpu,
}

impl FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "gpu" => Ok(Backend::Gpu),
            "cpu" => Ok(Backend::Cpu),
            _ => Err(Error::UnknownBackend(s.to_string())),
        }
    }
}

/// How an [`Engine`] is built.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Where the work runs.
    pub backend: Backend,
    /// Only adapters whose "NAME (BACKEND)" contains this, case-insensitive, such as `rtx` or
    /// `(gl)` (see `gpu::AdapterSummary::selector`); `WGPU_ADAPTER_NAME` also works.
    pub adapter: Option<String>,
    /// Caps every tile buffer at this many bytes, forcing many small tiles (for tests, and for
    /// devices that misreport their limits). At least [`MIN_TILE_BYTES`].
    pub max_tile_bytes: Option<u64>,
    /// Bytes all of a run's tile buffers may take on the device; on the CPU, bytes of each
    /// tile a streaming run holds. At least [`MIN_MEMORY_BUDGET`].
    pub memory_budget: u64,
    /// The GPU kernel (the tiled one unless benchmarking the baseline).
    #[cfg(feature = "gpu")]
    pub kernel: Kernel,
    /// Progress and stop requests for every call of the engine (see [`Monitor`]).
    pub monitor: Option<Arc<Monitor>>,
    /// Whether a GPU reduces the answers that need no matrix on the device (`gpu::Epilogue`:
    /// k nearest and argmin select each row's best, radius keeps the hits) and reads back only
    /// what they keep, instead of reading the tiles back and reducing them on the host.
    /// `None`: on hardware GPUs, where reading back the matrix is the bottleneck, and not on
    /// software adapters such as lavapipe, where "reading back" is a memory copy and the host's
    /// vectorised selection is faster.
    pub reduce_on_device: Option<bool>,

    /// Whether a GPU engine times the tiled kernel's candidate shapes on its adapter when the
    /// tuning cache has none for it (a few seconds, once per adapter, driver and pairdist
    /// version; the choice is cached). Off: a cached tuning if there is one, else the one
    /// derived from the adapter's limits. See `pairdist tune` and `gpu::tune`.
    pub autotune: bool,
    /// The directory of the tuning cache (GPU only). `None`: `$PAIRDIST_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/pairdist`, else `$HOME/.cache/pairdist`.
    pub tuning_cache: Option<PathBuf>,
    /// Threads for the engine's host work (the CPU backend's kernels; a GPU's packing and
    /// copies): a pool of its own with this many. `None`: all cores (rayon's global pool).
    pub threads: Option<usize>,
    /// A rayon pool of the caller's to run the host work on (a Dask worker's, an application's);
    /// takes precedence over `threads`.
    pub thread_pool: Option<Arc<rayon::ThreadPool>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            backend: Backend::Auto,
            adapter: None,
            max_tile_bytes: None,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            #[cfg(feature = "gpu")]
            kernel: Kernel::Tiled,
            monitor: None,
            reduce_on_device: None,
            autotune: false,
            tuning_cache: None,
            threads: None,
            thread_pool: None,
        }
    }
}

pub(crate) use crate::backend::Resident;

/// Where an engine's jobs run: its GPU, or its CPU (which a GPU engine keeps too, for types
/// its device does not compute in).
enum Device {
    #[cfg(feature = "gpu")]
    Gpu(Box<GpuBackend>),
    Cpu,
}

/// A backend built once and reused: adapter, device, queue and compiled pipelines for the
/// GPU, or the thread pool for the CPU. Safe to share between threads.
///
/// ```
/// use ndarray::array;
/// use pairdist::{Backend, Engine, Metric};
///
/// let engine = Engine::new(Backend::Cpu)?;
/// let x = array![[0.0f32, 0.0], [3.0, 4.0]];
/// let y = array![[0.0f32, 0.0]];
/// let d = engine.cdist(x.view(), y.view(), Metric::Euclidean)?;
/// assert_eq!(d, array![[0.0], [5.0]]);
/// # Ok::<(), pairdist::Error>(())
/// ```
///
/// float64 points compute in f64 and give f64 results, with the same calls:
///
/// ```
/// use ndarray::array;
/// use pairdist::{Backend, Engine, Metric};
///
/// let engine = Engine::new(Backend::Auto)?;
/// let x = array![[0.1f64, 0.2], [0.3, 0.4]];
/// let d = engine.cdist(x.view(), x.view(), Metric::SqEuclidean)?; // Array2<f64>
/// assert!((d[[0, 1]] - 0.08).abs() < 1e-16);
/// # Ok::<(), pairdist::Error>(())
/// ```
///
/// Cloning an engine is cheap and shares its backend, counters and threads (an
/// [`Index`](crate::Index) keeps a clone).
#[derive(Clone)]
pub struct Engine {
    shared: Arc<Shared>,
    /// The monitor of this handle's jobs ([`Engine::watched`]); `None`: the engine's.
    monitor: Option<Arc<Monitor>>,
}

/// What the clones of an engine share.
struct Shared {
    device: Device,
    options: EngineOptions,
    /// Whether the line saying that f64 work runs on the CPU was logged (once per engine).
    #[cfg(feature = "gpu")]
    f64_logged: AtomicBool,
    counters: Arc<Counters>,
    /// The engine's own threads (`EngineOptions::threads` or `thread_pool`); `None`: rayon's
    /// global pool, on all cores.
    pool: Option<Arc<rayon::ThreadPool>>,
    /// The CPU backend, of a CPU engine and of a GPU engine's fallback.
    cpu: CpuBackend,
}

impl Engine {
    /// An engine on `backend` with default options.
    pub fn new(backend: Backend) -> Result<Engine> {
        Engine::with_options(EngineOptions { backend, ..EngineOptions::default() })
    }

    /// An engine built from `options`.
    ///
    /// A `max_tile_bytes` below [`MIN_TILE_BYTES`] or a `memory_budget` below
    /// [`MIN_MEMORY_BUDGET`] is raised to that floor (with a warning), the same on every backend.
    pub fn with_options(mut options: EngineOptions) -> Result<Engine> {
        if let Some(b) = options.max_tile_bytes.filter(|&b| b < MIN_TILE_BYTES) {
            log::warn!("a tile cap of {b} bytes is below the smallest tile; using {MIN_TILE_BYTES} bytes");
            options.max_tile_bytes = Some(MIN_TILE_BYTES);
        }
        if options.memory_budget < MIN_MEMORY_BUDGET {
            log::warn!(
                "a memory budget of {} bytes is below the smallest that works; using {MIN_MEMORY_BUDGET} bytes",
                options.memory_budget
            );
            options.memory_budget = MIN_MEMORY_BUDGET;
        }
        #[cfg(not(feature = "gpu"))]
        let executor = match options.backend {
            Backend::Cpu | Backend::Auto => Device::Cpu,
            Backend::Gpu => return Err(Error::NoGpu("this build of pairdist has no `gpu` feature".into())),
        };
        #[cfg(feature = "gpu")]
        let gpu = |ctx: GpuContext| {
            Device::Gpu(Box::new(GpuBackend {
                ctx,
                pool: gpu::SlotPool::default(),
                kernel: options.kernel,
                reduce_on_device: options.reduce_on_device,
                memory_budget: options.memory_budget,
                max_tile_bytes: options.max_tile_bytes,
            }))
        };
        #[cfg(feature = "gpu")]
        let mut executor = match options.backend {
            Backend::Cpu => Device::Cpu,
            Backend::Gpu => gpu(GpuContext::new(options.adapter.as_deref())?),
            Backend::Auto => match GpuContext::new(options.adapter.as_deref()) {
                Ok(ctx) if !ctx.adapter().is_software || options.adapter.is_some() => gpu(ctx),
                Ok(ctx) => {
                    log::warn!(
                        "only a software GPU adapter was found ({}); using the CPU path, which is \
                         faster (--backend gpu uses the adapter anyway)",
                        ctx.adapter()
                    );
                    Device::Cpu
                }
                Err(e) => {
                    log::warn!("no GPU available, using the CPU: {e}");
                    Device::Cpu
                }
            },
        };
        #[cfg(feature = "gpu")]
        if let Device::Gpu(gpu) = &mut executor {
            // Only the tiled kernel has a tuning to measure.
            let autotune = options.autotune && options.kernel == Kernel::Tiled;
            gpu::settle(&mut gpu.ctx, autotune, options.tuning_cache.as_deref());
            gpu.ctx.fit_tuning(options.max_tile_bytes, options.memory_budget);
        }
        let pool = match (&options.thread_pool, options.threads) {
            (Some(pool), _) => Some(pool.clone()),
            (None, Some(threads)) => Some(Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("pairdist-{i}"))
                    .build()
                    .map_err(|e| Error::InvalidArgument(format!("cannot start {threads} threads: {e}")))?,
            )),
            (None, None) => None,
        };
        let cpu_limits = PlanLimits::cpu(options.max_tile_bytes).with_memory_budget(options.memory_budget);
        let engine = Engine {
            monitor: None,
            shared: Arc::new(Shared {
                device: executor,
                options,
                #[cfg(feature = "gpu")]
                f64_logged: AtomicBool::new(false),
                counters: Arc::default(),
                pool,
                cpu: CpuBackend { limits: cpu_limits },
            }),
        };
        // The one line that says where every computation of this engine runs.
        log::info!("pairdist runs on {}", engine.describe());
        Ok(engine)
    }

    /// The adapter in use, or `None` on the CPU.
    #[cfg(feature = "gpu")]
    pub fn adapter(&self) -> Option<&AdapterSummary> {
        match &self.shared.device {
            Device::Gpu(gpu) => Some(gpu.ctx.adapter()),
            Device::Cpu => None,
        }
    }

    /// The GPU kernel this engine runs and its tuning on this adapter, or `None` on the CPU.
    /// [`Kernel::bytes_per_pair_dim`] turns it into global-memory traffic, for benchmarks.
    #[cfg(feature = "gpu")]
    pub fn kernel_shape(&self) -> Option<(Kernel, Tuning)> {
        match &self.shared.device {
            Device::Gpu(gpu) => Some((self.shared.options.kernel, gpu.ctx.tuning)),
            Device::Cpu => None,
        }
    }

    /// Where the GPU kernel's tuning ([`Engine::kernel_shape`]) came from: the adapter's
    /// limits, the tuning cache, or a measurement when the engine was built; `None` on the CPU.
    #[cfg(feature = "gpu")]
    pub fn tuning_origin(&self) -> Option<TuningOrigin> {
        match &self.shared.device {
            Device::Gpu(gpu) => Some(gpu.ctx.tuning_origin()),
            Device::Cpu => None,
        }
    }

    /// What this engine did so far: bytes moved to and from the device, dispatches, tiles,
    /// and the time of each phase, over every call (see [`Stats`]).
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// A handle on the same backend (and counters and threads) whose calls count their pairs on
    /// `monitor` and stop when it asks, instead of the engine's
    /// ([`EngineOptions::monitor`]): so that a caller running several calls at once (Python
    /// threads, each with its Ctrl-C) can watch and stop each on its own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use ndarray::Array2;
    /// use pairdist::{Backend, Engine, Error, Metric, Monitor};
    ///
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let monitor = Arc::new(Monitor::default());
    /// let watched = engine.watched(monitor.clone());
    /// let x = Array2::<f32>::zeros((10, 2));
    /// watched.cdist(x.view(), x.view(), Metric::Euclidean)?;
    /// assert_eq!(monitor.pairs_done(), 100);
    /// monitor.request_stop();
    /// assert!(matches!(watched.cdist(x.view(), x.view(), Metric::Euclidean), Err(Error::Interrupted)));
    /// assert!(engine.cdist(x.view(), x.view(), Metric::Euclidean).is_ok()); // the engine is not stopped
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn watched(&self, monitor: Arc<Monitor>) -> Engine {
        Engine { shared: self.shared.clone(), monitor: Some(monitor) }
    }

    /// Threads the engine's host work runs on (the CPU backend's kernels, the GPU's packing and
    /// copies): its own pool's, or all cores.
    pub fn threads(&self) -> usize {
        self.shared.pool.as_ref().map_or_else(rayon::current_num_threads, |p| p.current_num_threads())
    }

    /// Runs `f` on the engine's threads.
    pub(crate) fn on_threads<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.shared.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// One line saying where the work runs, for logs and reports.
    pub fn describe(&self) -> String {
        match &self.shared.device {
            #[cfg(feature = "gpu")]
            Device::Gpu(gpu) => format!("GPU: {}", gpu.ctx.adapter()),
            Device::Cpu => format!("CPU: {} threads", self.threads()),
        }
    }

    /// The tile plan this engine uses for an `n × m × d` problem in f32.
    pub fn plan(&self, n: usize, m: usize, d: usize, region: Region) -> Result<Plan> {
        self.plan_for::<f32>(n, m, d, region)
    }

    /// The tile plan this engine uses for an `n × m × d` problem in `T` (the CPU's where `T`
    /// runs on the CPU: f64 on a GPU without SHADER_F64).
    pub fn plan_for<T: Element>(&self, n: usize, m: usize, d: usize, region: Region) -> Result<Plan> {
        Plan::new(n, m, d, region, &self.limits(T::DTYPE).for_element::<T>())
    }

    /// Why a GPU engine runs jobs in `dtype` on the CPU, if it does: f64 on a device without
    /// `SHADER_F64`. `None` on a CPU engine, and for types the GPU computes in.
    ///
    /// ```
    /// use pairdist::{Backend, Dtype, Engine};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// assert_eq!(engine.why_on_cpu(Dtype::F64), None);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn why_on_cpu(&self, dtype: Dtype) -> Option<String> {
        match &self.shared.device {
            #[cfg(feature = "gpu")]
            Device::Gpu(gpu) => gpu.ctx.cannot_compute(dtype),
            Device::Cpu => {
                let _ = dtype;
                None
            }
        }
    }

    /// The one place that decides where jobs in `dtype` run: this engine's GPU where its device
    /// computes in `dtype` (f32 always, f64 with SHADER_F64), else (`None`) the CPU.
    #[cfg(feature = "gpu")]
    fn gpu_for(&self, dtype: Dtype) -> Option<&GpuBackend> {
        match &self.shared.device {
            Device::Gpu(gpu) if gpu.ctx.cannot_compute(dtype).is_none() => Some(gpu),
            _ => None,
        }
    }

    /// The limits of the backend that runs jobs in `dtype`.
    fn limits(&self, dtype: Dtype) -> PlanLimits {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu_for(dtype) {
            return gpu.limits(dtype, None);
        }
        self.shared.cpu.limits(dtype, None)
    }

    /// Runs `job`: checks it once, then hands it to this engine's backend. Every other call
    /// of the engine is a job; this one also takes windows (shards of a larger problem) and
    /// answers that add to lists already filled (see [`Job`]).
    ///
    /// Jobs on f64 points compute in f64: on a GPU engine, on the device where it offers
    /// `SHADER_F64`, else on the CPU (the first such job logs why; see
    /// [`Engine::why_on_cpu`]).
    pub fn run<T: Element>(&self, job: Job<'_, '_, T>) -> Result<()> {
        self.on_threads(|| {
            let prepared = Prepared::new(&job.metric, job.x, job.y)?;
            self.run_prepared(job.on_prepared(&prepared), &prepared, None)
        })
    }

    /// Runs `job`, whose points `prepared` made for the kernel (on the engine's threads: the
    /// caller is there already), reading Y from `resident` where the job runs on the device
    /// that holds it (an [`Index`](crate::Index)'s base).
    #[cfg_attr(not(feature = "gpu"), expect(unused_variables, reason = "only GPUs keep a base"))]
    pub(crate) fn run_prepared<'a, T: Element>(
        &self,
        job: Job<'a, '_, T>,
        prepared: &'a Prepared<T>,
        resident: Option<&'a Resident>,
    ) -> Result<()> {
        let monitor =
            job.monitor.clone().or_else(|| self.monitor.clone()).or_else(|| self.shared.options.monitor.clone());
        let counters = self.shared.counters.clone();
        counters.job();
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu_for(T::DTYPE) {
            return run_on(gpu, (job, prepared, monitor, counters), resident);
        }
        #[cfg(feature = "gpu")]
        if let Some(why) = self.why_on_cpu(T::DTYPE).filter(|_| !self.shared.f64_logged.swap(true, Ordering::Relaxed)) {
            log::info!("{} runs on the CPU: {why}", T::DTYPE);
        }
        // Only GPUs keep a base.
        run_on(&self.shared.cpu, (job, prepared, monitor, counters), None)
    }

    /// `base` uploaded to this engine's device and kept there, laid out for the plans of
    /// queries against it; `None` on the CPU, for types the device does not compute in, and
    /// for bases larger than the device memory an engine lets an index take
    /// ([`EngineOptions::memory_budget`] four times over).
    #[cfg_attr(not(feature = "gpu"), expect(unused_variables, reason = "only GPUs keep a base"))]
    pub(crate) fn upload_base<T: Element>(&self, base: ArrayView2<T>) -> Result<Option<Resident>> {
        #[cfg(feature = "gpu")]
        if let Some(gpu) = self.gpu_for(T::DTYPE) {
            let bytes = (base.len() * T::DTYPE.size()) as u64;
            if bytes > 4 * self.shared.options.memory_budget {
                return Ok(None);
            }
            // The chunks of dimensions of every plan against this base: those of a plan whose
            // rows fill a workgroup's block (fewer rows only ever allow more).
            let limits = gpu.limits(T::DTYPE, None).for_element::<T>();
            let plan = Plan::new(limits.block.0, base.nrows(), base.ncols(), Region::Full, &limits)?;
            // A tile cap (tests, odd devices) caps the base's buffers too.
            let part = gpu.max_tile_bytes.map_or(gpu::PART_BYTES, |b| b.min(gpu::PART_BYTES));
            let layout = (plan.tile_dims, part);
            return self.on_threads(|| gpu::Resident::upload(&gpu.ctx, base, layout, &self.shared.counters)).map(Some);
        }
        Ok(None)
    }

    /// The `n × m` distance matrix between the rows of `x` (`n × d`) and of `y` (`m × d`).
    ///
    /// Any view works, including non-contiguous and transposed ones. Empty inputs give an
    /// empty matrix; `d = 0` gives zeros; NaN and Inf propagate as IEEE arithmetic says.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Backend, Engine, Metric};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// // Points stored as columns: pass the transposed view, no copy needed.
    /// let cols = array![[0.0f32, 3.0], [0.0, 4.0]];
    /// let d = engine.cdist(cols.t(), cols.t(), Metric::Euclidean)?;
    /// assert_eq!(d, array![[0.0, 5.0], [5.0, 0.0]]);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn cdist<T: Element>(
        &self,
        x: ArrayView2<T>,
        y: ArrayView2<T>,
        metric: impl Into<Distance>,
    ) -> Result<Array2<T>> {
        validate::same_dims(x.ncols(), y.ncols())?;
        let mut out = Array2::zeros((x.nrows(), y.nrows()));
        self.cdist_into(x, y, metric, out.view_mut())?;
        Ok(out)
    }

    /// Like [`Engine::cdist`], writing into the caller's `n × m` array (any strides).
    ///
    /// ```
    /// use ndarray::{array, Array2};
    /// use pairdist::{Backend, Engine, Metric};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let x = array![[0.0f32], [2.0]];
    /// let mut out = Array2::zeros((2, 2));
    /// engine.cdist_into(x.view(), x.view(), Metric::SqEuclidean, out.view_mut())?;
    /// assert_eq!(out, array![[0.0, 4.0], [4.0, 0.0]]);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn cdist_into<T: Element>(
        &self,
        x: ArrayView2<T>,
        y: ArrayView2<T>,
        metric: impl Into<Distance>,
        out: ArrayViewMut2<T>,
    ) -> Result<()> {
        self.run(Job::new(x, Some(y), metric, Answer::Matrix(Target::Array(out))))
    }

    /// SciPy's condensed distance vector of the rows of `x`: the pairs `i < j`, row by row,
    /// n(n−1)/2 values. Only blocks on or above the diagonal are computed.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Backend, Engine, Metric};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let x = array![[0.0f32, 0.0], [0.0, 1.0], [2.0, 1.0]];
    /// assert_eq!(engine.pdist(x.view(), Metric::Cityblock)?, array![1.0, 3.0, 2.0]);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn pdist<T: Element>(&self, x: ArrayView2<T>, metric: impl Into<Distance>) -> Result<Array1<T>> {
        let mut out = Array1::zeros(validate::condensed_len(x.nrows())?);
        let slice = out.as_slice_mut().expect("fresh array is contiguous");
        self.run(Job::new(x, None, metric, Answer::Matrix(Target::Condensed(slice))).upper())?;
        Ok(out)
    }

    /// Streams the blocks of `cdist(x, y)` into `sink` (for example a `.npy` file on disk).
    /// The sink takes tiles of the points' type; the crate's sinks store them in theirs.
    pub fn cdist_to<T: Element>(
        &self,
        x: ArrayView2<T>,
        y: ArrayView2<T>,
        metric: impl Into<Distance>,
        sink: &mut dyn Sink<T>,
    ) -> Result<()> {
        self.run(Job::new(x, Some(y), metric, Answer::Matrix(Target::Sink(sink))))
    }

    /// Streams the blocks on or above the diagonal of `cdist(x, x)` into `sink`; a sink such
    /// as [`CondensedSink`](crate::sink::CondensedSink) keeps the pairs `i < j`.
    pub fn pdist_to<T: Element>(
        &self,
        x: ArrayView2<T>,
        metric: impl Into<Distance>,
        sink: &mut dyn Sink<T>,
    ) -> Result<()> {
        validate::condensed_len(x.nrows())?;
        self.run(Job::new(x, None, metric, Answer::Matrix(Target::Sink(sink))).upper())
    }

    /// The `k` nearest rows of `y` to every row of `x`, by ascending distance, ties broken by
    /// the smaller index (the same on every backend), as scikit-learn's
    /// `NearestNeighbors(algorithm="brute").kneighbors` gives them. The matrix is never held:
    /// memory is `n × k` plus the tiles in flight.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Backend, Engine, Metric};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let base = array![[0.0f32], [10.0], [1.0], [4.0]];
    /// let queries = array![[0.4f32], [9.0]];
    /// let nn = engine.knn(queries.view(), base.view(), 2, Metric::Euclidean)?;
    /// assert_eq!(nn.indices, array![[0, 2], [1, 3]]);
    /// assert_eq!(nn.distances[(1, 0)], 1.0);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn knn<T: Element>(
        &self,
        x: ArrayView2<T>,
        y: ArrayView2<T>,
        k: usize,
        metric: impl Into<Distance>,
    ) -> Result<Neighbors<T>> {
        validate::same_dims(x.ncols(), y.ncols())?;
        validate::neighbours(k, y.nrows())?;
        let mut lists = vec![TopK::new(k); x.nrows()];
        self.run(Job::new(x, Some(y), metric, Answer::Nearest { k, lists: &mut lists }))?;
        Ok(collect(&lists, k))
    }

    /// The `k` nearest other rows of `x` to every row of `x` (a k-nearest-neighbour graph):
    /// each point is left out of its own list (by index: a duplicate point still counts).
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Backend, Engine, Metric};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let x = array![[0.0f32], [3.0], [1.0]];
    /// let nn = engine.knn_self(x.view(), 1, Metric::Cityblock)?;
    /// assert_eq!(nn.indices, array![[2], [2], [0]]);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn knn_self<T: Element>(
        &self,
        x: ArrayView2<T>,
        k: usize,
        metric: impl Into<Distance>,
    ) -> Result<Neighbors<T>> {
        validate::neighbours(k, x.nrows().saturating_sub(1))?;
        let mut lists = vec![TopK::new(k); x.nrows()];
        self.run(Job::new(x, None, metric, Answer::Nearest { k, lists: &mut lists }).upper())?;
        Ok(collect(&lists, k))
    }

    /// The nearest row of `y` to every row of `x` and its distance (k-means assignment): the
    /// first column of [`Engine::knn`] with `k = 1`.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Backend, Engine, Metric};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let centres = array![[0.0f32, 0.0], [5.0, 5.0]];
    /// let points = array![[1.0f32, 0.0], [4.0, 6.0], [2.5, 2.5]];
    /// let (nearest, distance) = engine.argmin(points.view(), centres.view(), Metric::SqEuclidean)?;
    /// assert_eq!(nearest, array![0, 1, 0]); // a tie goes to the smaller index
    /// assert_eq!(distance, array![1.0, 2.0, 12.5]);
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn argmin<T: Element>(
        &self,
        x: ArrayView2<T>,
        y: ArrayView2<T>,
        metric: impl Into<Distance>,
    ) -> Result<(Array1<i64>, Array1<T>)> {
        let nn = self.knn(x, y, 1, metric)?;
        Ok((nn.indices.column(0).to_owned(), nn.distances.column(0).to_owned()))
    }

    /// Every pair (row of `x`, row of `y`) at distance at most `r`, sorted by row then column;
    /// an error once more than `max_pairs` are found (before memory runs out). For
    /// `sqeuclidean`, `r` is a squared distance.
    ///
    /// ```
    /// use ndarray::array;
    /// use pairdist::{Backend, Engine, Metric};
    /// let engine = Engine::new(Backend::Cpu)?;
    /// let x = array![[0.0f32], [10.0]];
    /// let y = array![[0.5f32], [9.0], [0.0]];
    /// let pairs = engine.radius(x.view(), y.view(), 1.0, Metric::Euclidean, 100)?;
    /// assert_eq!((pairs.rows, pairs.cols), (vec![0, 0, 1], vec![0, 2, 1]));
    /// # Ok::<(), pairdist::Error>(())
    /// ```
    pub fn radius<T: Element>(
        &self,
        x: ArrayView2<T>,
        y: ArrayView2<T>,
        r: T,
        metric: impl Into<Distance>,
        max_pairs: usize,
    ) -> Result<Pairs<T>> {
        validate::same_dims(x.ncols(), y.ncols())?;
        self.within(x, Some(y), r, metric, max_pairs)
    }

    /// The pairs `i < j` of rows of `x` at distance at most `r` (SciPy's `query_pairs`), sorted.
    pub fn radius_self<T: Element>(
        &self,
        x: ArrayView2<T>,
        r: T,
        metric: impl Into<Distance>,
        max_pairs: usize,
    ) -> Result<Pairs<T>> {
        self.within(x, None, r, metric, max_pairs)
    }

    /// The pairs within `r` of `x` against `y` (`None`: pairs `i < j` of `x`), by row.
    fn within<T: Element>(
        &self,
        x: ArrayView2<T>,
        y: Option<ArrayView2<T>>,
        r: T,
        metric: impl Into<Distance>,
        max_pairs: usize,
    ) -> Result<Pairs<T>> {
        validate::radius(r)?;
        let mut rows = vec![Within::default(); x.nrows()];
        let job = Job::new(x, y, metric, Answer::Within { r, max_pairs, rows: &mut rows });
        self.run(if y.is_none() { job.upper() } else { job })?;
        let mut pairs = Pairs::default();
        for (i, within) in rows.iter().enumerate() {
            pairs.push_row(i, within);
        }
        Ok(pairs)
    }
}

/// A job, the points its kernel runs on, and what watches it: what `run_on` makes a task of.
type Checked<'a, 'o, T> = (Job<'a, 'o, T>, &'a Prepared<T>, Option<Arc<Monitor>>, Arc<Counters>);

/// Checks `job` into a task within `backend`'s limits and runs it there.
fn run_on<'a, B: Executor, T: Element>(
    backend: &B,
    (job, prepared, monitor, counters): Checked<'a, '_, T>,
    base: Option<&'a Resident>,
) -> Result<()> {
    let task = Task::new(job, prepared, monitor, counters, backend.limits(T::DTYPE, base))?;
    backend.run(task, base)
}
