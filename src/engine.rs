//! The engine: a backend chosen once (GPU context with compiled pipelines, or the CPU path)
//! and reused for every call. Every public computation goes through here: validate, plan,
//! run the executor into a sink.

use std::str::FromStr;
use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2};

use crate::answer::{KnnSink, Neighbors, Pairs, RadiusSink, TopK, Within};
use crate::cpu::{self, Element};
use crate::error::{Error, Result};
use crate::extremes::{Extremes, FixingSink};
#[cfg(feature = "gpu")]
use crate::gpu::{self, AdapterSummary, GpuContext, GpuPhases, Kernel, Tuning};
use crate::metric::Metric;
use crate::monitor::Monitor;
use crate::plan::{DEFAULT_MEMORY_BUDGET, MIN_MEMORY_BUDGET, MIN_TILE_BYTES, Plan, PlanLimits, Region};
use crate::sink::Sink;
#[cfg(feature = "gpu")]
use crate::sink::{CondensedSink, MatrixSink};
use crate::validate;

/// Where the work runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
    /// Whether the GPU reduces k-nearest tiles on the device (the select epilogue) instead of
    /// reading the tiles back. `None`: on hardware GPUs, where reading back the matrix is the
    /// bottleneck, and not on software adapters such as lavapipe, where "reading back" is a
    /// memory copy and the host's vectorised selection is faster.
    pub select_on_device: Option<bool>,
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
            select_on_device: None,
        }
    }
}

enum Executor {
    #[cfg(feature = "gpu")]
    Gpu(Box<GpuContext>),
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
pub struct Engine {
    executor: Executor,
    options: EngineOptions,
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
            Backend::Cpu | Backend::Auto => Executor::Cpu,
            Backend::Gpu => return Err(Error::NoGpu("this build of pairdist has no `gpu` feature".into())),
        };
        #[cfg(feature = "gpu")]
        let mut executor = match options.backend {
            Backend::Cpu => Executor::Cpu,
            Backend::Gpu => Executor::Gpu(Box::new(GpuContext::new(options.adapter.as_deref())?)),
            Backend::Auto => match GpuContext::new(options.adapter.as_deref()) {
                Ok(ctx) if !ctx.adapter().is_software || options.adapter.is_some() => Executor::Gpu(Box::new(ctx)),
                Ok(ctx) => {
                    log::warn!(
                        "only a software GPU adapter was found ({}); using the CPU path, which is \
                         faster (--backend gpu uses the adapter anyway)",
                        ctx.adapter()
                    );
                    Executor::Cpu
                }
                Err(e) => {
                    log::warn!("no GPU available, using the CPU: {e}");
                    Executor::Cpu
                }
            },
        };
        #[cfg(feature = "gpu")]
        if let Executor::Gpu(ctx) = &mut executor {
            ctx.fit_tuning(options.max_tile_bytes, options.memory_budget);
        }
        let engine = Engine { executor, options };
        // The one line that says where every computation of this engine runs.
        log::info!("pairdist runs on {}", engine.describe());
        Ok(engine)
    }

    /// The adapter in use, or `None` on the CPU.
    #[cfg(feature = "gpu")]
    pub fn adapter(&self) -> Option<&AdapterSummary> {
        match &self.executor {
            Executor::Gpu(ctx) => Some(ctx.adapter()),
            Executor::Cpu => None,
        }
    }

    /// The GPU kernel this engine runs and its tuning on this adapter, or `None` on the CPU.
    /// [`Kernel::bytes_per_pair_dim`] turns it into global-memory traffic, for benchmarks.
    #[cfg(feature = "gpu")]
    pub fn kernel_shape(&self) -> Option<(Kernel, Tuning)> {
        match &self.executor {
            Executor::Gpu(ctx) => Some((self.options.kernel, ctx.tuning)),
            Executor::Cpu => None,
        }
    }

    /// Like [`Engine::cdist_into`], but on the GPU runs the phases of each block one after
    /// another, waiting for each (so slower than `cdist_into`), and returns the time each phase
    /// took as seen from the host. For benchmarks; `None` on the CPU, which has no phases.
    #[cfg(feature = "gpu")]
    pub fn cdist_phases(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        metric: Metric,
        out: ArrayViewMut2<f32>,
    ) -> Result<Option<GpuPhases>> {
        let Executor::Gpu(ctx) = &self.executor else {
            self.cdist_into(x, y, metric, out)?;
            return Ok(None);
        };
        validate::same_dims(x.ncols(), y.ncols())?;
        validate::output_shape((x.nrows(), y.nrows()), out.dim())?;
        let plan = self.plan(x.nrows(), y.nrows(), x.ncols(), Region::Full)?;
        let mut phases = GpuPhases::default();
        let mut sink = MatrixSink::new(out);
        if plan.n > 0 && plan.m > 0 {
            with_extremes_fixed(x, y, metric, &mut sink, |sink| {
                gpu::run(ctx, self.job(x, y, metric, &plan), gpu::Output::Tiles(sink), Some(&mut phases))
            })?;
        }
        sink.finish()?;
        Ok(Some(phases))
    }

    /// One line saying where the work runs, for logs and reports.
    pub fn describe(&self) -> String {
        match &self.executor {
            #[cfg(feature = "gpu")]
            Executor::Gpu(ctx) => format!("GPU: {}", ctx.adapter()),
            Executor::Cpu => format!("CPU: {} threads", rayon::current_num_threads()),
        }
    }

    /// The tile plan this engine uses for an `n × m × d` problem.
    pub fn plan(&self, n: usize, m: usize, d: usize, region: Region) -> Result<Plan> {
        Plan::new(n, m, d, region, &self.limits())
    }

    fn limits(&self) -> PlanLimits {
        match &self.executor {
            #[cfg(feature = "gpu")]
            Executor::Gpu(ctx) => ctx
                .plan_limits(self.options.kernel, self.options.memory_budget)
                .with_max_tile_bytes(self.options.max_tile_bytes),
            Executor::Cpu => {
                PlanLimits::cpu(self.options.max_tile_bytes).with_memory_budget(self.options.memory_budget)
            }
        }
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
    pub fn cdist(&self, x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric) -> Result<Array2<f32>> {
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
    pub fn cdist_into(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        metric: Metric,
        mut out: ArrayViewMut2<f32>,
    ) -> Result<()> {
        validate::same_dims(x.ncols(), y.ncols())?;
        validate::output_shape((x.nrows(), y.nrows()), out.dim())?;
        let plan = self.plan(x.nrows(), y.nrows(), x.ncols(), Region::Full)?;
        match &self.executor {
            // The CPU writes blocks in place; no sink copy.
            Executor::Cpu => {
                cpu::run_into(x, y, metric, &plan, out.view_mut());
                f32::fix_extremes(x, y, metric, out);
                Ok(())
            }
            #[cfg(feature = "gpu")]
            Executor::Gpu(_) => self.run(x, y, metric, &plan, &mut MatrixSink::new(out)),
        }
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
    pub fn pdist(&self, x: ArrayView2<f32>, metric: Metric) -> Result<Array1<f32>> {
        let n = x.nrows();
        let mut out = Array1::zeros(validate::condensed_len(n)?);
        let slice = out.as_slice_mut().expect("fresh array is contiguous");
        match &self.executor {
            // The CPU writes each band's pairs in place; no sink copy.
            Executor::Cpu => {
                let plan = self.plan(n, n, x.ncols(), Region::StrictUpper)?;
                cpu::run_condensed(x, metric, &plan, slice);
                f32::fix_extremes_condensed(x, metric, slice);
            }
            #[cfg(feature = "gpu")]
            Executor::Gpu(_) => self.pdist_to(x, metric, &mut CondensedSink::new(n, slice))?,
        }
        Ok(out)
    }

    /// Streams the blocks of `cdist(x, y)` into `sink` (for example a `.npy` file on disk).
    pub fn cdist_to(&self, x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric, sink: &mut dyn Sink) -> Result<()> {
        validate::same_dims(x.ncols(), y.ncols())?;
        let plan = self.plan(x.nrows(), y.nrows(), x.ncols(), Region::Full)?;
        self.run(x, y, metric, &plan, sink)
    }

    /// Streams the blocks on or above the diagonal of `cdist(x, x)` into `sink`; a sink such
    /// as [`CondensedSink`](crate::sink::CondensedSink) keeps the pairs `i < j`.
    pub fn pdist_to(&self, x: ArrayView2<f32>, metric: Metric, sink: &mut dyn Sink) -> Result<()> {
        validate::condensed_len(x.nrows())?;
        let plan = self.plan(x.nrows(), x.nrows(), x.ncols(), Region::StrictUpper)?;
        self.run(x, x, metric, &plan, sink)
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
    pub fn knn(&self, x: ArrayView2<f32>, y: ArrayView2<f32>, k: usize, metric: Metric) -> Result<Neighbors> {
        validate::same_dims(x.ncols(), y.ncols())?;
        validate::neighbours(k, y.nrows())?;
        self.neighbours(x, y, k, metric, false)
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
    pub fn knn_self(&self, x: ArrayView2<f32>, k: usize, metric: Metric) -> Result<Neighbors> {
        validate::neighbours(k, x.nrows().saturating_sub(1))?;
        self.neighbours(x, x, k, metric, true)
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
    pub fn argmin(&self, x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric) -> Result<(Array1<i64>, Array1<f32>)> {
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
    pub fn radius(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        r: f32,
        metric: Metric,
        max_pairs: usize,
    ) -> Result<Pairs> {
        validate::same_dims(x.ncols(), y.ncols())?;
        validate::radius(r)?;
        self.within(x, y, r, metric, max_pairs, false)
    }

    /// The pairs `i < j` of rows of `x` at distance at most `r` (SciPy's `query_pairs`), sorted.
    pub fn radius_self(&self, x: ArrayView2<f32>, r: f32, metric: Metric, max_pairs: usize) -> Result<Pairs> {
        validate::radius(r)?;
        self.within(x, x, r, metric, max_pairs, true)
    }

    /// Whether the CPU's band-parallel row reductions may run: on the CPU, when no entry needs
    /// the f64 fix-up of extreme values (which the streamed path applies).
    fn reduces_rows_in_place(&self, x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric) -> bool {
        matches!(self.executor, Executor::Cpu) && Extremes::scan(x, y, metric).is_none()
    }

    fn neighbours(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        k: usize,
        metric: Metric,
        own: bool,
    ) -> Result<Neighbors> {
        let n = x.nrows();
        if self.reduces_rows_in_place(x, y, metric) {
            let plan = self.plan(n, y.nrows(), x.ncols(), Region::Full)?;
            let mut lists = vec![TopK::new(k); n];
            cpu::reduce_rows(x, y, metric, &plan, &mut lists, |i, first, values, list| {
                self.advance(values.len())?;
                match own && (first..first + values.len()).contains(&i) {
                    // Leave the point itself out of its own list.
                    true => {
                        list.offer_run(first, &values[..i - first]);
                        list.offer_run(i + 1, &values[i - first + 1..]);
                    }
                    false => list.offer_run(first, values),
                }
                Ok(())
            })?;
            return Ok(crate::answer::knn::collect(&lists, k));
        }
        #[cfg(feature = "gpu")]
        if let Executor::Gpu(ctx) = &self.executor {
            // The select epilogue reduces every tile on the device: n·m/segment·k candidates
            // come back instead of the n·m matrix. Entries that need the host's f64 fix-up, a
            // k beyond the epilogue's lists, or columns beyond u32 take the streamed path.
            let wanted = self.options.select_on_device.unwrap_or(!ctx.adapter().is_software);
            let fits = k <= gpu::SELECT_K_MAX && u32::try_from(y.nrows()).is_ok();
            if wanted && fits && Extremes::scan(x, y, metric).is_none() {
                let plan = self.plan(n, y.nrows(), x.ncols(), Region::Full)?;
                let mut lists = vec![TopK::new(k); n];
                if n > 0 {
                    let epilogue = gpu::Epilogue::Select { k, skip_diag: own };
                    let job = gpu::Job {
                        epilogue,
                        monitor: self.options.monitor.as_deref(),
                        ..self.job(x, y, metric, &plan)
                    };
                    gpu::run(ctx, job, gpu::Output::Candidates(&mut lists), None)?;
                }
                return Ok(crate::answer::knn::collect(&lists, k));
            }
        }
        // Against itself, the strict upper triangle holds every pair once: half the work.
        let region = if own { Region::StrictUpper } else { Region::Full };
        let plan = self.plan(n, y.nrows(), x.ncols(), region)?;
        let mut sink = KnnSink::new(n, k, own);
        self.run(x, y, metric, &plan, &mut sink)?;
        Ok(sink.into_neighbors())
    }

    fn within(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        r: f32,
        metric: Metric,
        max_pairs: usize,
        upper: bool,
    ) -> Result<Pairs> {
        let n = x.nrows();
        if self.reduces_rows_in_place(x, y, metric) {
            let plan = self.plan(n, y.nrows(), x.ncols(), Region::Full)?;
            let mut rows = vec![Within::default(); n];
            let kept = std::sync::atomic::AtomicUsize::new(0);
            cpu::reduce_rows(x, y, metric, &plan, &mut rows, |i, first, values, within| {
                self.advance(values.len())?;
                let from = if upper { i + 1 } else { 0 };
                let new = within.offer_run(first, values, r, from);
                if kept.fetch_add(new, std::sync::atomic::Ordering::Relaxed) + new > max_pairs {
                    return Err(crate::answer::radius::too_many(max_pairs, r));
                }
                Ok(())
            })?;
            let mut pairs = Pairs::default();
            for (i, within) in rows.iter().enumerate() {
                pairs.push_row(i, within);
            }
            return Ok(pairs);
        }
        let plan = self.plan(n, y.nrows(), x.ncols(), if upper { Region::StrictUpper } else { Region::Full })?;
        let mut sink = RadiusSink::new(r, max_pairs, upper);
        self.run(x, y, metric, &plan, &mut sink)?;
        Ok(sink.into_pairs())
    }

    /// Counts `pairs` on the monitor, if any; fails once a stop was requested.
    fn advance(&self, pairs: usize) -> Result<()> {
        self.options.monitor.as_ref().map_or(Ok(()), |m| m.advance(pairs as u64))
    }

    #[cfg(feature = "gpu")]
    fn job<'a>(&self, x: ArrayView2<'a, f32>, y: ArrayView2<'a, f32>, metric: Metric, plan: &'a Plan) -> gpu::Job<'a> {
        gpu::Job { kernel: self.options.kernel, x, y, metric, plan, epilogue: gpu::Epilogue::Store, monitor: None }
    }

    fn run(
        &self,
        x: ArrayView2<f32>,
        y: ArrayView2<f32>,
        metric: Metric,
        plan: &Plan,
        sink: &mut dyn Sink,
    ) -> Result<()> {
        let mut monitored;
        let sink: &mut dyn Sink = match self.options.monitor.as_deref() {
            Some(monitor) => {
                monitored = MonitoredSink { inner: sink, monitor };
                &mut monitored
            }
            None => sink,
        };
        if plan.n > 0 && plan.m > 0 {
            with_extremes_fixed(x, y, metric, sink, |sink| match &self.executor {
                #[cfg(feature = "gpu")]
                Executor::Gpu(ctx) => gpu::run(ctx, self.job(x, y, metric, plan), gpu::Output::Tiles(sink), None),
                Executor::Cpu => cpu::run_streaming(x, y, metric, plan, sink),
            })?;
        }
        sink.finish()
    }
}

/// Counts each block's pairs on the monitor and stops when asked to.
struct MonitoredSink<'s> {
    inner: &'s mut dyn Sink,
    monitor: &'s Monitor,
}

impl Sink for MonitoredSink<'_> {
    fn accept(&mut self, block: &crate::plan::Block, values: ArrayView2<f32>) -> Result<()> {
        self.monitor.advance(block.len() as u64)?;
        self.inner.accept(block, values)
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}

/// Runs `compute` into `sink`, through a [`FixingSink`] when some rows of `x` or `y` have
/// coordinates extreme enough to overflow or underflow f32 sums (see [`crate::extremes`]).
fn with_extremes_fixed(
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    metric: Metric,
    sink: &mut dyn Sink,
    compute: impl FnOnce(&mut dyn Sink) -> Result<()>,
) -> Result<()> {
    match Extremes::scan(x, y, metric) {
        Some(extremes) => compute(&mut FixingSink { inner: sink, extremes: &extremes }),
        None => compute(sink),
    }
}
