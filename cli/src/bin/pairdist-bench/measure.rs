//! Timing one case on one engine, and checking what it computed against the f64 reference.

use std::cmp::Ordering;
use std::time::Instant;

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use pairdist::cpu::reference;
use pairdist::job::{Answer, Job, Target};
use pairdist::{Distance, Element, Engine, Resolved, Result, Stats};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `rows × d` points drawn uniformly from [-1, 1), the same for the same seed.
pub(crate) fn points(rows: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, d), || rng.random_range(-1.0f32..1.0))
}

/// Wall-clock times of the timed runs of one case.
pub(crate) struct Timing {
    /// Median over the timed runs, in seconds.
    pub(crate) median: f64,
    /// Fastest timed run, in seconds.
    pub(crate) min: f64,
}

/// One warm-up call (which also compiles GPU pipelines and faults in `out`), then `repeats`
/// timed calls of `cdist_into`: the whole call a user makes, upload and readback included.
pub(crate) fn time<T: Element>(
    engine: &Engine,
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    metric: &Distance,
    mut out: ArrayViewMut2<T>,
    repeats: usize,
) -> Result<Timing> {
    engine.cdist_into(x, y, metric, out.view_mut())?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        engine.cdist_into(x, y, metric, out.view_mut())?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 0 { (times[mid - 1] + times[mid]) / 2.0 } else { times[mid] };
    Ok(Timing { median, min: times[0] })
}

/// One more call with the GPU phases run one after another ([`Job::timed_phases`]), and what
/// the engine's counters saw of it: each phase's time, tiles, dispatches and bytes moved
/// (`None` on the CPU). Writes `out` again, so the check that follows also covers this path.
pub(crate) fn phases<T: Element>(
    engine: &Engine,
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    metric: &Distance,
    out: ArrayViewMut2<T>,
) -> Result<Option<Stats>> {
    if engine.adapter().is_none() || engine.why_on_cpu(T::DTYPE).is_some() {
        return Ok(None);
    }
    let before = engine.stats();
    engine.run(Job::new(x, Some(y), metric, Answer::Matrix(Target::Array(out))).timed_phases())?;
    Ok(Some(engine.stats().since(&before)))
}

/// How far a result is from the f64 reference on the sampled entries.
pub(crate) struct Accuracy {
    /// Largest |got − want| / |want| over the samples (0 where both are exactly 0).
    pub(crate) max_rel_err: f64,
    /// Whether every sample is within the tolerance of the type computed in
    /// ([`reference::tolerance`] for f32, [`reference::tolerance_f64`] for f64).
    pub(crate) within_tolerance: bool,
    /// Entries compared.
    pub(crate) samples: usize,
}

/// The tolerance's scale of each row as the kernel sees it ([`Resolved::scale`]).
fn row_scales<T: Element>(a: ArrayView2<T>, resolved: &Resolved) -> Vec<f64> {
    a.axis_iter(Axis(0)).map(|r| resolved.scale(&resolved.point(r))).collect()
}

/// Compares the two corners and `samples` random entries of `out` with the f64 reference.
pub(crate) fn check<T: Element>(
    x: ArrayView2<T>,
    y: ArrayView2<T>,
    metric: &Distance,
    out: ArrayView2<T>,
    samples: usize,
) -> Accuracy {
    let (n, m) = out.dim();
    // The bench's inputs are the generated points, with SciPy's defaults for parameters (and
    // weights of the right length).
    let resolved = metric.resolve(x, Some(y)).expect("the bench's metrics take their defaults");
    let (xs, ys) = (row_scales(x, &resolved), row_scales(y, &resolved));
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let picks = [(0, 0), (n - 1, m - 1)]
        .into_iter()
        .chain((0..samples).map(|_| (rng.random_range(0..n), rng.random_range(0..m))));
    let mut acc = Accuracy { max_rel_err: 0.0, within_tolerance: true, samples: 0 };
    for (i, j) in picks {
        let want = reference::distance(x.row(i), y.row(j), &resolved);
        let got: f64 = out[(i, j)].into();
        // The same infinity, or NaN where the reference is NaN (SciPy's values: jensenshannon
        // of a row with a negative entry, cosine of a zero row), is exact.
        let same = got == want || (got.is_nan() && want.is_nan());
        let err = if same { 0.0 } else { (got - want).abs() };
        let tol = T::tolerance(resolved.metric(), x.ncols(), xs[i].max(ys[j]), want);
        let rel = if err == 0.0 { 0.0 } else { err / want.abs() };
        // Any other NaN counts as out of tolerance and infinitely wrong.
        if !matches!(err.partial_cmp(&tol), Some(Ordering::Less | Ordering::Equal)) {
            acc.within_tolerance = false;
        }
        acc.max_rel_err = acc.max_rel_err.max(if rel.is_nan() { f64::INFINITY } else { rel });
        acc.samples += 1;
    }
    acc
}
