//! The autotuner: times the tiled kernel's candidate shapes ([`Tuning::candidates`]) on the
//! adapter at hand and keeps the fastest of those whose results match the f64 reference; and
//! the choice an engine makes at start-up between a cached, a freshly measured and the
//! limit-derived tuning.
//!
//! Every candidate first computes two small edge problems (d larger than any TILE_K, once odd
//! and once a multiple of 4; sizes that leave partial blocks) compared in full with the
//! reference, then the timed problem, checked on whole rows. Only the compute phase is timed:
//! the tile shape changes the kernel, not the transfers.

use std::path::Path;
use std::time::Duration;

use ndarray::Array2;

use super::cache::{CacheKey, TuningCache};
use super::context::GpuContext;
use super::epilogue::Reduction;
use super::executor::{Job, Output, run};
use super::shaders::{Kernel, Tuning, TuningOrigin};
use super::slot::{Rows, SlotPool};
use crate::cpu::reference;
use crate::element::Dtype;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::plan::{DEFAULT_MEMORY_BUDGET, Plan, Region};
use crate::sink::MatrixSink;
use crate::stats::Counters;

/// The metric the tuner times: the squared difference is the term of the metrics that matter
/// most (euclidean, sqeuclidean, seuclidean), and its loop is the tightest.
const METRIC: Metric = Metric::SqEuclidean;

/// The edge problems every candidate must get right: partial blocks in both directions for
/// every candidate block (64 to 256 outputs a side), and d above the largest TILE_K (several
/// steps), once odd (the scalar staging path) and once a multiple of 4 but of no TILE_K (the
/// vec4 path, with or without prefetch, ending in a partial step).
const EDGES: [(usize, usize, usize); 2] = [(301, 267, 37), (301, 267, 44)];

/// How much faster than the default a candidate must be to replace it: run-to-run noise of a
/// fastest run on lavapipe is a few percent, and a tuning that flips with the noise helps no one.
const NOISE: f64 = 0.03;

/// The problem the tuner times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TuneOptions {
    /// Rows of X and of Y (an `n × n` matrix).
    pub n: usize,
    /// Dimensions.
    pub d: usize,
    /// Timed runs per candidate after one warm-up; the fastest counts (the interference of
    /// other work on the machine only ever adds time).
    pub repeats: usize,
}

impl TuneOptions {
    /// A problem for `adapter`: 4096² × 128 on a GPU (a few milliseconds on a large one, enough
    /// workgroups to fill it), 512² × 128 on a software adapter such as lavapipe (tens of
    /// milliseconds there). Five timed runs per candidate.
    pub fn for_adapter(adapter: &super::AdapterSummary) -> TuneOptions {
        let n = if adapter.is_software { 512 } else { 4096 };
        TuneOptions { n, d: 128, repeats: 5 }
    }
}

/// The largest timed problem: its output takes at most 4 GiB of host memory.
const MAX_TUNE_OUTPUTS: usize = 1 << 30;

impl TuneOptions {
    /// An error when the problem is empty or too large to time.
    pub fn validate(&self) -> Result<()> {
        let TuneOptions { n, d, repeats } = *self;
        if n == 0 || d == 0 || repeats == 0 {
            return Err(Error::InvalidArgument("the tuner needs n, d and repeats of at least 1".into()));
        }
        if n.checked_mul(n).is_none_or(|o| o > MAX_TUNE_OUTPUTS)
            || n.checked_mul(d).is_none_or(|v| v > MAX_TUNE_OUTPUTS)
        {
            return Err(Error::InvalidArgument(format!(
                "a {n}x{n}x{d} tuning problem is too large (at most 2^30 outputs and 2^30 input values)"
            )));
        }
        Ok(())
    }
}

/// What one candidate did.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// The candidate.
    pub tuning: Tuning,
    /// Fastest compute time of the timed problem; `None` when the candidate failed.
    pub compute: Option<Duration>,
    /// Why the candidate cannot win (a result out of tolerance, a GPU error), if it cannot.
    pub failure: Option<String>,
}

/// What [`tune`] measured and chose.
#[derive(Clone, Debug)]
pub struct TuneReport {
    /// The timed problem.
    pub options: TuneOptions,
    /// The clock the compute times come from.
    pub clock: PhaseClock,
    /// Every candidate, in the order timed (the default first).
    pub measurements: Vec<Measurement>,
    /// The fastest candidate that matched the reference (the default when it is within 3%
    /// of the fastest).
    pub chosen: Tuning,
    /// The limit-derived tuning ([`Tuning::for_limits`]) it replaces.
    pub default: Tuning,
}

impl TuneReport {
    /// The chosen candidate's measurement.
    pub fn chosen_measurement(&self) -> &Measurement {
        self.measurements.iter().find(|m| m.tuning == self.chosen).expect("the chosen tuning was measured")
    }

    /// One line on what was timed and how fast the choice ran (kept in the cache file).
    pub fn summary(&self) -> String {
        let TuneOptions { n, d, .. } = self.options;
        let ms = self.chosen_measurement().compute.map_or(f64::NAN, |c| c.as_secs_f64() * 1e3);
        format!("{n}x{n}x{d} {METRIC}, fastest compute {ms:.3} ms ({} clock)", self.clock)
    }
}

/// Times every candidate shape of the tiled kernel on `ctx`'s adapter with `options`' problem,
/// checks each one's results against the f64 reference, and sets `ctx` to the fastest
/// correct one (the default unless one is more than 3% faster). An error only when no
/// candidate ran correctly (`ctx` keeps its tuning then).
pub fn tune(ctx: &mut GpuContext, options: &TuneOptions) -> Result<TuneReport> {
    options.validate()?;
    let previous = (ctx.tuning, ctx.tuning_origin());
    let edges = EDGES.map(|(n, m, d)| Problem::new(n, m, d, None));
    // Whole rows at the start, the middle and the end of the timed problem are checked.
    let n = options.n;
    let timed = Problem::new(n, n, options.d, Some(vec![0, n / 2, n - 1]));
    let candidates = Tuning::candidates(ctx.limits());
    // Checked first (which also compiles each pipeline and warms it up): a candidate that
    // computes a wrong result is never timed.
    let mut failures: Vec<Option<String>> = candidates
        .iter()
        .map(|&tuning| {
            ctx.set_tuning(tuning, TuningOrigin::Tuned);
            let checked = edges.iter().try_for_each(|edge| edge.run(ctx).and_then(|(out, _)| edge.check(&out)));
            let checked = checked.and_then(|()| timed.run(ctx)).and_then(|(out, _)| timed.check(&out));
            checked.err().map(|e| e.to_string())
        })
        .collect();
    // Timed in rounds of every candidate once, so that a change in the machine's load (a
    // shared machine, a GPU clocking up) falls on all of them alike.
    let mut times = vec![Vec::with_capacity(options.repeats); candidates.len()];
    let mut clock = PhaseClock::Host;
    for _ in 0..options.repeats {
        for (i, &tuning) in candidates.iter().enumerate() {
            if failures[i].is_some() {
                continue;
            }
            ctx.set_tuning(tuning, TuningOrigin::Tuned);
            match timed.run(ctx) {
                Ok((_, timed)) => {
                    clock = timed.clock;
                    times[i].push(timed.compute);
                }
                Err(e) => failures[i] = Some(e.to_string()),
            }
        }
    }
    let measurements: Vec<Measurement> = candidates
        .iter()
        .zip(times.iter_mut().zip(failures))
        .map(|(&tuning, (times, failure))| {
            let compute = times.iter().min().copied().filter(|_| failure.is_none());
            log::debug!("tuning candidate {tuning}: {compute:?} {failure:?}");
            Measurement { tuning, compute, failure }
        })
        .collect();
    let best = measurements.iter().filter_map(|m| m.compute.map(|t| (t, m.tuning))).min_by_key(|(t, _)| *t);
    let Some((best_time, mut chosen)) = best else {
        ctx.set_tuning(previous.0, previous.1);
        ctx.drop_other_pipelines();
        let why = measurements.iter().filter_map(|m| m.failure.as_deref()).next().unwrap_or("none ran");
        return Err(Error::Gpu(format!("no candidate tuning ran correctly (first failure: {why})")));
    };
    // The default keeps its place unless a candidate beats it by more than timing noise.
    let default = Tuning::for_limits(ctx.limits());
    let default_time = measurements.iter().find(|m| m.tuning == default).and_then(|m| m.compute);
    if default_time.is_some_and(|t| t.as_secs_f64() <= best_time.as_secs_f64() * (1.0 + NOISE)) {
        chosen = default;
    }
    ctx.set_tuning(chosen, TuningOrigin::Tuned);
    ctx.drop_other_pipelines();
    Ok(TuneReport { options: *options, clock, measurements, chosen, default })
}

/// Settles `ctx`'s tuning when an engine is built: the cached one for this adapter if there
/// is a usable one, else (with `autotune`) one measured now and cached, else the
/// limit-derived default. Never fails: a cache that cannot be read or written, or a tuner
/// that finds nothing, is one warning.
pub(crate) fn settle(ctx: &mut GpuContext, autotune: bool, cache_dir: Option<&Path>) {
    let cache = TuningCache::at(cache_dir);
    let key = CacheKey::for_adapter(ctx.adapter());
    if let Some(cache) = &cache {
        match cache.load(&key) {
            // Only shapes this version's tuner could have chosen, on these limits: a file is
            // input, and the kernel is tested on those shapes alone.
            Ok(Some(t)) if Tuning::candidates(ctx.limits()).contains(&t) => {
                log::debug!("tuning from {}: {t}", cache.path().display());
                ctx.set_tuning(t, TuningOrigin::Cache);
                return;
            }
            Ok(Some(t)) => log::warn!(
                "ignoring the cached tuning {t:?} in {}: not one of the candidate tunings for {}",
                cache.path().display(),
                key.adapter
            ),
            Ok(None) => {}
            Err(e) => log::warn!("ignoring the tuning cache: {e}"),
        }
    }
    if !autotune {
        return;
    }
    log::info!("tuning the tiled kernel on {} (once; the choice is cached)", ctx.adapter().name);
    let options = TuneOptions::for_adapter(ctx.adapter());
    match tune(ctx, &options) {
        Ok(report) => {
            log::info!("tuned: {} ({})", report.chosen, report.summary());
            match &cache {
                Some(cache) => {
                    if let Err(e) = cache.store(&key, report.chosen, &report.summary()) {
                        log::warn!("could not cache the tuning: {e}");
                    }
                }
                None => log::warn!("no cache directory ($PAIRDIST_CACHE_DIR, $XDG_CACHE_HOME, $HOME): tuning not kept"),
            }
        }
        Err(e) => log::warn!("autotune failed, using the default tuning: {e}"),
    }
}

/// A problem of the tuner, its inputs and the f64 reference for the rows it checks.
struct Problem {
    x: Array2<f32>,
    y: Array2<f32>,
    /// The rows compared with the reference.
    rows: Vec<usize>,
    /// `want[r][j]`: the reference distance of row `rows[r]` to column `j`.
    want: Vec<Vec<f64>>,
}

impl Problem {
    /// `n × d` and `m × d` points in [-1, 1); `rows`: the rows checked (`None`: all).
    fn new(n: usize, m: usize, d: usize, rows: Option<Vec<usize>>) -> Problem {
        let x = points(n, d, 1);
        let y = points(m, d, 2);
        let rows = rows.unwrap_or_else(|| (0..n).collect());
        let as_f64 = |r: ndarray::ArrayView1<f32>| r.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
        let ys: Vec<Vec<f64>> = y.rows().into_iter().map(as_f64).collect();
        let want = rows
            .iter()
            .map(|&i| {
                let xi = as_f64(x.row(i));
                ys.iter().map(|yj| reference::kernel_distance(&xi, yj, METRIC)).collect()
            })
            .collect();
        Problem { x, y, rows, want }
    }

    /// Computes the problem with `ctx`'s current tuning, phases timed.
    fn run(&self, ctx: &GpuContext) -> Result<(Array2<f32>, Timed)> {
        let (x, y) = (self.x.view(), self.y.view());
        let limits = ctx.plan_limits(Kernel::Tiled, DEFAULT_MEMORY_BUDGET, Dtype::F32);
        let plan = Plan::new(x.nrows(), y.nrows(), x.ncols(), Region::Full, &limits)?;
        let mut out = Array2::<f32>::zeros((x.nrows(), y.nrows()));
        let counters = Counters::default();
        let job = Job {
            kernel: Kernel::Tiled,
            x,
            y: Rows::Host(y),
            metric: METRIC,
            plan: &plan,
            reduction: Reduction::Store,
            monitor: None,
            counters: &counters,
            row0: 0,
            col0: 0,
            weights: None,
            serial: true,
        };
        run(ctx, &SlotPool::default(), job, Output::Tiles(&mut MatrixSink::new(out.view_mut())))?;
        let stats = counters.snapshot();
        let timed = match stats.device_compute.is_zero() {
            true => Timed { compute: stats.compute, clock: PhaseClock::Host },
            false => Timed { compute: stats.device_compute, clock: PhaseClock::Gpu },
        };
        Ok((out, timed))
    }

    /// The first entry of the checked rows out of tolerance, as an error.
    fn check(&self, got: &Array2<f32>) -> Result<()> {
        let d = self.x.ncols();
        for (&i, want) in self.rows.iter().zip(&self.want) {
            for (j, &w) in want.iter().enumerate() {
                let g = f64::from(got[(i, j)]);
                // The points lie in [-1, 1): the tolerance's scale is 1.
                let tol = reference::tolerance(METRIC, d, 1.0, w);
                // Written so that a NaN fails too.
                if (g - w).abs() <= tol {
                    continue;
                }
                {
                    let (n, m) = got.dim();
                    return Err(Error::CheckFailed(format!(
                        "{n}x{m}x{d}: entry ({i}, {j}) is {g}, the reference {w} (tolerance {tol:.2e})"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// `rows × d` points in [-1, 1) from a fixed seed (SplitMix64: the library has no RNG crate).
fn points(rows: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Array2::from_shape_simple_fn((rows, d), || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 24 bits: exact in f32.
        (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_in_range_and_repeatable() {
        let a = points(50, 7, 3);
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
        assert_eq!(a, points(50, 7, 3));
        assert_ne!(a, points(50, 7, 4));
    }

    #[test]
    fn a_wrong_entry_fails_the_check() {
        let p = Problem::new(5, 4, 3, None);
        let mut got = Array2::from_shape_fn((5, 4), |(i, j)| p.want[i][j] as f32);
        assert!(p.check(&got).is_ok());
        got[(4, 3)] += 0.01;
        let err = p.check(&got).unwrap_err().to_string();
        assert!(err.contains("(4, 3)"), "{err}");
        got[(4, 3)] = f32::NAN;
        assert!(p.check(&got).is_err());
    }

    #[test]
    fn the_edge_problems_have_partial_blocks_and_steps_for_every_candidate() {
        let big = wgpu::Limits { max_compute_workgroup_storage_size: 65536, ..Default::default() };
        let [scalar, vec4] = EDGES;
        assert!(!scalar.2.is_multiple_of(4) && vec4.2.is_multiple_of(4));
        for t in Tuning::candidates(&big) {
            let (rows, cols) = Kernel::Tiled.block(&t);
            for (n, m, d) in EDGES {
                assert!(n > rows && !n.is_multiple_of(rows), "{t:?}");
                assert!(m > cols && !m.is_multiple_of(cols), "{t:?}");
                assert!(d > t.tile_k as usize && !d.is_multiple_of(t.tile_k as usize), "{t:?}");
            }
        }
    }
}

/// A candidate's compute time on the timed problem, and the clock it was read from.
struct Timed {
    compute: Duration,
    clock: PhaseClock,
}

/// Which clock timed the tuner's compute phases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PhaseClock {
    /// The host's clock, from submission until the device reports the work done: includes
    /// the submission's and the wait's overheads.
    #[default]
    Host,
    /// The device's own timestamps at the start and end of each compute pass
    /// (`wgpu::Features::TIMESTAMP_QUERY`): the passes alone.
    Gpu,
}

impl PhaseClock {
    /// "host" or "gpu", as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            PhaseClock::Host => "host",
            PhaseClock::Gpu => "gpu",
        }
    }
}

impl std::fmt::Display for PhaseClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
