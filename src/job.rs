//! What to compute, said once and independent of the backend: a [`Job`].
//!
//! A job names the inputs, the metric, the pairs that count ([`Region`]: all, or each pair of
//! X against itself once), the window of the problem it covers (rows of X × rows of Y: one
//! machine's shard of a larger problem), and the [`Answer`] with where it goes. The engine
//! checks a job once ([`Engine::run`](crate::Engine::run)), resolves it into a `Task` (the
//! window's views, the plan, the hooks), and hands the task to one entry point per backend
//! (`cpu::run`, `gpu::run_task`). Every other call of the engine builds a job.
//!
//! A job computes in the type of its points, `T` (`f32` by default, or `f64`): the answer's
//! distances are of that type too.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArrayView2, ArrayViewMut2, s};

use crate::answer::{KnnSink, RadiusSink, TopK, Within};
use crate::distance::{Distance, Prepared};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::extremes::{Extremes, FixingSink};
use crate::metric::Metric;
use crate::monitor::Monitor;
use crate::plan::{Plan, PlanLimits, Region, Tile};
use crate::ratio::{RatioSink, RatioView};
use crate::sink::Sink;
use crate::stats::Counters;
use crate::weights::TermWeights;

/// One computation: `x` against `y` (or against itself), a metric, the pairs and window that
/// count, and the answer.
///
/// ```
/// use ndarray::array;
/// use pairdist::job::{Answer, Job};
/// use pairdist::{Backend, Engine, Metric, answer::TopK};
///
/// let engine = Engine::new(Backend::Cpu)?;
/// let base = array![[0.0f32], [1.0], [5.0], [6.0]];
/// let queries = array![[0.2f32], [5.8]];
/// // The 1 nearest of each query among base rows 2..4 only (a shard): indices stay global.
/// let mut lists = vec![TopK::new(1); 2];
/// let job = Job::new(queries.view(), Some(base.view()), Metric::Euclidean, Answer::Nearest { k: 1, lists: &mut lists })
///     .window(0..2, 2..4);
/// engine.run(job)?;
/// assert_eq!(lists[0].as_slice()[0].1, 2);
/// assert_eq!(lists[1].as_slice()[0].1, 3);
/// # Ok::<(), pairdist::Error>(())
/// ```
pub struct Job<'a, 'o, T: Element = f32> {
    /// The points whose rows are the answer's rows.
    pub x: ArrayView2<'a, T>,
    /// The points searched (the answer's columns); `None`: `x` itself.
    pub y: Option<ArrayView2<'a, T>>,
    /// The metric and its parameters.
    pub metric: Distance,
    /// Which pairs count: every `(i, j)`, or (`x` against itself only) each pair `i < j` once.
    pub region: Region,
    /// Rows of `x` × rows of `y` this job covers; `None`: all of them.
    pub window: Option<(Range<usize>, Range<usize>)>,
    /// What to compute and where it goes.
    pub answer: Answer<'o, T>,
    /// Whether a GPU runs the job's phases one after another (see [`Job::timed_phases`]).
    pub timed_phases: bool,
    /// Progress and stop requests for this job alone (see [`Job::monitor`]); `None`: the
    /// engine's ([`EngineOptions::monitor`](crate::EngineOptions::monitor)), if any.
    pub monitor: Option<Arc<Monitor>>,
    /// Where `x`'s and `y`'s rows start in larger point sets (see [`Job::offsets`]).
    pub offsets: (usize, usize),
}

/// What a job computes and where it goes.
#[non_exhaustive]
pub enum Answer<'o, T: Element = f32> {
    /// Every distance of the window's pairs.
    Matrix(Target<'o, T>),
    /// The `k` nearest columns of every row, offered to `lists` (one per row of the window).
    /// For [`Region::StrictUpper`] every pair counts for both of its rows, and no point for
    /// itself (a kNN graph).
    Nearest {
        /// Neighbours per row.
        k: usize,
        /// One list per row; they may already hold candidates (say, from another shard).
        lists: &'o mut [TopK<T>],
    },
    /// The pairs at distance at most `r`, kept by row (columns in order); an error past
    /// `max_pairs` pairs in all.
    Within {
        /// The radius.
        r: T,
        /// Most pairs the answer may hold.
        max_pairs: usize,
        /// One collection per row of the window.
        rows: &'o mut [Within<T>],
    },
}

/// Where the distances of a matrix answer go.
#[non_exhaustive]
pub enum Target<'o, T: Element = f32> {
    /// An `n × m` array (any strides); [`Region::Full`] only.
    Array(ArrayViewMut2<'o, T>),
    /// SciPy's condensed vector of the pairs `i < j`; [`Region::StrictUpper`] only.
    Condensed(&'o mut [T]),
    /// Finished tiles, in plan order (for [`Region::StrictUpper`], entries on or below the
    /// diagonal of a tile are meaningless).
    Sink(&'o mut dyn Sink<T>),
}

impl<'a, 'o, T: Element> Job<'a, 'o, T> {
    /// `x` against `y` (`None`: against itself), every pair, the whole problem.
    pub fn new(
        x: ArrayView2<'a, T>,
        y: Option<ArrayView2<'a, T>>,
        metric: impl Into<Distance>,
        answer: Answer<'o, T>,
    ) -> Self {
        Job {
            x,
            y,
            metric: metric.into(),
            region: Region::Full,
            window: None,
            answer,
            timed_phases: false,
            monitor: None,
            offsets: (0, 0),
        }
    }

    /// Says that `x`'s rows are rows `rows0, rows0 + 1, …` and `y`'s rows are rows `cols0, …`
    /// of larger point sets that no one process holds (a Dask worker's chunks): answers report
    /// columns of the larger set, and an upper-triangle job (a chunk against itself, with
    /// `rows0 == cols0`) leaves out each point by its index there. Lists filled this way merge
    /// into the whole problem's answer with [`TopK::offer`](crate::answer::TopK::offer).
    pub fn offsets(mut self, rows0: usize, cols0: usize) -> Self {
        self.offsets = (rows0, cols0);
        self
    }

    /// Counts this job's pairs on `monitor`, and stops it when asked to (instead of the
    /// engine's monitor): a caller that runs jobs from several threads can stop one of them.
    pub fn monitor(mut self, monitor: Arc<Monitor>) -> Self {
        self.monitor = Some(monitor);
        self
    }

    /// On a GPU, waits for each phase of each tile (upload, compute, readback) before the next,
    /// so that [`Engine::stats`](crate::Engine::stats) times each phase on its own, and the
    /// distance passes also on the device's clock where the adapter has timestamp queries
    /// ([`Stats::device_compute`](crate::Stats::device_compute)). Slower: for benchmarks.
    /// Nothing changes on the CPU.
    pub fn timed_phases(mut self) -> Self {
        self.timed_phases = true;
        self
    }

    /// Only the pairs `i < j` of `x` against itself, each once.
    pub fn upper(mut self) -> Self {
        self.region = Region::StrictUpper;
        self
    }

    /// Only rows `rows` of `x` against rows `cols` of `y`. Answers index columns by their row
    /// in all of `y`; an upper-triangle job's window must sit on the diagonal (`rows == cols`).
    pub fn window(mut self, rows: Range<usize>, cols: Range<usize>) -> Self {
        self.window = Some((rows, cols));
        self
    }
}

impl<'a, 'o, T: Element> Job<'a, 'o, T> {
    /// This job on the points `prepared` made of its own (see [`Prepared::new`]), with the
    /// kernel's metric.
    pub(crate) fn on_prepared<'p>(self, prepared: &'p Prepared<T>) -> Job<'p, 'o, T>
    where
        'a: 'p,
    {
        let (x, y) = prepared.views(self.x, self.y);
        Job { x, y, metric: Distance::new(prepared.kernel), ..self }
    }
}

/// A checked job: the window's views, its plan, and what every backend applies around it.
pub(crate) struct Task<'a, 'o, T: Element = f32> {
    pub x: ArrayView2<'a, T>,
    pub y: ArrayView2<'a, T>,
    pub metric: Metric,
    pub region: Region,
    /// Added to columns the answers report: the window's start in `y`.
    pub col0: usize,
    /// The window's start in `x` (the GPU's select epilogue skips the global diagonal).
    #[cfg_attr(not(feature = "gpu"), expect(dead_code, reason = "read by the GPU backend"))]
    pub row0: usize,
    pub plan: Plan,
    pub answer: Answer<'o, T>,
    /// Rows with coordinates extreme enough that some sums need the f64 fix-up.
    pub extremes: Option<Extremes<'a, T>>,
    /// The denominators of a metric that is a ratio of two sums (the kernels compute the
    /// numerators). The CPU backend takes them out when its kernels divide as they store
    /// (`cpu::task`); what stays here is divided on the host, after the f64 fix-up.
    pub ratio: Option<RatioView<'a>>,
    /// The weights of the kernel's terms (the minkowski family's, canberra's and hamming's `w`),
    /// of all `d` dimensions.
    pub weights: Option<&'a TermWeights>,
    pub monitor: Option<Arc<Monitor>>,
    /// The engine's counters ([`Engine::stats`](crate::Engine::stats)).
    pub counters: Arc<Counters>,
    /// Whether a GPU waits for each phase before the next ([`Job::timed_phases`]).
    #[cfg_attr(not(feature = "gpu"), expect(dead_code, reason = "read by the GPU backend"))]
    pub serial: bool,
}

impl<'a, 'o, T: Element> Task<'a, 'o, T> {
    /// Checks `job`, whose points `prepared` made for its metric's kernel (see
    /// [`Job::on_prepared`]), and resolves it, planning within `limits` (for f32 elements;
    /// the plan scales them to `T`). The task takes what `prepared` adds besides the points
    /// (a ratio's denominators, the terms' weights) over its window, so no backend can run a
    /// kernel without them.
    pub(crate) fn new<U>(
        job: Job<'a, 'o, T>,
        prepared: &'a Prepared<U>,
        monitor: Option<Arc<Monitor>>,
        counters: Arc<Counters>,
        limits: PlanLimits,
    ) -> Result<Self> {
        let limits = limits.for_element::<T>();
        let Job { x, y, metric, region, window, answer, timed_phases, offsets, .. } = job;
        debug_assert!(!metric.has_parameters(), "a task's points are already prepared");
        let metric = metric.metric();
        let own = y.is_none();
        let y = y.unwrap_or(x);
        crate::validate::same_dims(x.ncols(), y.ncols())?;
        let (rows, cols) = window.unwrap_or((0..x.nrows(), 0..y.nrows()));
        if rows.end > x.nrows() || cols.end > y.nrows() || rows.start > rows.end || cols.start > cols.end {
            return Err(Error::InvalidArgument(format!(
                "window {rows:?} x {cols:?} is outside the {} x {} problem",
                x.nrows(),
                y.nrows()
            )));
        }
        if region == Region::StrictUpper && !(own && rows == cols && offsets.0 == offsets.1) {
            return Err(Error::InvalidArgument(
                "only X against itself, over a window on the diagonal, has pairs i < j".into(),
            ));
        }
        let (xw, yw) = (x.slice_move(s![rows.clone(), ..]), y.slice_move(s![cols.clone(), ..]));
        let weights = prepared.weights.as_ref();
        let (n, m) = (xw.nrows(), yw.nrows());
        match &answer {
            Answer::Matrix(Target::Array(out)) => {
                if region != Region::Full {
                    return Err(Error::InvalidArgument("a matrix of pairs i < j is written condensed".into()));
                }
                crate::validate::output_shape((n, m), out.dim())?;
            }
            Answer::Matrix(Target::Condensed(out)) => {
                if region != Region::StrictUpper {
                    return Err(Error::InvalidArgument("only pairs i < j are written condensed".into()));
                }
                if out.len() != crate::validate::condensed_len(n)? {
                    return Err(Error::OutputShape {
                        expected: (crate::validate::condensed_len(n)?, 1),
                        got: (out.len(), 1),
                    });
                }
            }
            Answer::Matrix(Target::Sink(_)) => {}
            Answer::Nearest { lists, .. } => same_len(lists.len(), n, "neighbour lists")?,
            Answer::Within { rows, .. } => same_len(rows.len(), n, "radius rows")?,
        }
        Ok(Task {
            x: xw,
            y: yw,
            metric,
            region,
            col0: offsets.1 + cols.start,
            row0: offsets.0 + rows.start,
            plan: Plan::new(n, m, x.ncols(), region, &limits)?,
            answer,
            extremes: Extremes::scan(xw, yw, metric, weights),
            ratio: prepared.ratio.as_ref().map(|r| r.window(rows, cols)),
            weights,
            monitor,
            counters,
            serial: timed_phases,
        })
    }

    /// Whether computed values change on the host before they reach the answer (the f64
    /// fix-up, a ratio's denominators): then only the streamed path, or the in-place one of
    /// a matrix, sees every value.
    pub(crate) fn changes_values(&self) -> bool {
        self.extremes.is_some() || self.ratio.is_some()
    }

    /// Whether there is nothing to compute.
    pub(crate) fn is_empty(&self) -> bool {
        self.plan.n == 0 || self.plan.m == 0
    }

    /// Runs `tiles`, which computes the plan's tiles into a sink, for any answer: the
    /// answer's own sink (a matrix), or one that reduces the tiles (k nearest, radius); with
    /// the f64 fix-up of extreme values and the monitor wrapped around it. The backends'
    /// shared path; each has faster ones for the common cases.
    pub(crate) fn stream(&mut self, tiles: impl FnOnce(&mut dyn Sink<T>) -> Result<()>) -> Result<()> {
        let (col0, upper) = (self.col0, self.region == Region::StrictUpper);
        let (extremes, monitor) = (self.extremes.as_ref(), self.monitor.as_deref());
        let mut matrix;
        let mut condensed;
        let mut knn;
        let mut radius;
        let sink: &mut dyn Sink<T> = match &mut self.answer {
            Answer::Matrix(Target::Array(out)) => {
                matrix = crate::sink::MatrixSink::new(out.view_mut());
                &mut matrix
            }
            Answer::Matrix(Target::Condensed(out)) => {
                condensed = crate::sink::CondensedSink::new(self.plan.n, out);
                &mut condensed
            }
            Answer::Matrix(Target::Sink(sink)) => *sink,
            Answer::Nearest { lists, .. } => {
                knn = KnnSink::new(lists, upper, col0);
                &mut knn
            }
            Answer::Within { r, max_pairs, rows } => {
                radius = RadiusSink::new(rows, *r, *max_pairs, upper, col0);
                &mut radius
            }
        };
        // The fix-up corrects numerators, so it runs before the division.
        let mut divided;
        let sink: &mut dyn Sink<T> = match &self.ratio {
            Some(ratio) => {
                divided = RatioSink { inner: sink, ratio };
                &mut divided
            }
            None => sink,
        };
        let mut fixing;
        let sink: &mut dyn Sink<T> = match extremes {
            Some(extremes) => {
                fixing = FixingSink { inner: sink, extremes };
                &mut fixing
            }
            None => sink,
        };
        let mut watched;
        let sink: &mut dyn Sink<T> = match monitor {
            Some(monitor) => {
                watched = MonitoredSink { inner: sink, monitor };
                &mut watched
            }
            None => sink,
        };
        tiles(&mut *sink)?;
        sink.finish()
    }
}

fn same_len(got: usize, want: usize, what: &str) -> Result<()> {
    if got == want { Ok(()) } else { Err(Error::InvalidArgument(format!("{got} {what} given for {want} rows"))) }
}

/// Counts each tile's pairs on the monitor and stops when asked to.
struct MonitoredSink<'s, T: Element> {
    inner: &'s mut dyn Sink<T>,
    monitor: &'s Monitor,
}

impl<T: Element> Sink<T> for MonitoredSink<'_, T> {
    fn accept(&mut self, tile: &Tile, values: ArrayView2<T>) -> Result<()> {
        self.monitor.advance(tile.len() as u64)?;
        self.inner.accept(tile, values)
    }

    fn finish(&mut self) -> Result<()> {
        self.inner.finish()
    }
}
