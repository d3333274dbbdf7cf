//! `pairdist demo`: a generated problem on the best backend, timed and checked, so a newcomer
//! sees what pairdist does on their machine without data of their own.

use std::time::Instant;

use clap::Args;
use ndarray::Array2;
use pairdist::cpu::reference;
use pairdist::{Distance, Metric, Result, validate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::EngineArgs;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Points in XA.
    #[arg(long, default_value_t = 4096, value_parser = |s: &str| crate::parse_count(s, "n", 0), allow_negative_numbers = true)]
    n: usize,
    /// Points in XB.
    #[arg(long, default_value_t = 4096, value_parser = |s: &str| crate::parse_count(s, "m", 0), allow_negative_numbers = true)]
    m: usize,
    /// Dimensions.
    #[arg(long, default_value_t = 64, value_parser = |s: &str| crate::parse_count(s, "d", 0), allow_negative_numbers = true)]
    d: usize,
    /// Metric, by SciPy's name (see `pairdist metrics`).
    #[arg(long, default_value = "euclidean", value_parser = crate::parse_metric)]
    metric: Metric,
    /// Timed runs after one warm-up; the median is reported.
    #[arg(long, default_value_t = 3, value_parser = |s: &str| crate::parse_count(s, "repeats", 0), allow_negative_numbers = true)]
    repeats: usize,
    #[command(flatten)]
    engine: EngineArgs,
}

pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    let (n, m, d) = (args.n, args.m, args.d);
    // Before any allocation: sizes that cannot fit are an error, not an abort.
    let values = n.checked_mul(d).and_then(|a| m.checked_mul(d).and_then(|b| a.checked_add(b)));
    let values = values.and_then(|v| n.checked_mul(m).and_then(|r| v.checked_add(r)));
    let bytes = values.and_then(|v| (v as u64).checked_mul(4));
    validate::fits_in_memory(&format!("a demo of {n} x {m} points in {d} dimensions (XA, XB and the result)"), bytes)?;

    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut points = |rows: usize| try_array((rows, d), || rng.random_range(-1.0f32..1.0));
    let (x, y) = (points(n)?, points(m)?);
    out!("pairdist demo: {n} x {m} pairs in {d} dimensions, {}", args.metric)?;
    let engine = args.engine.build()?;
    out!("device: {}", engine.describe())?;

    let mut out = try_array((n, m), || 0.0)?;
    let mut times = Vec::new();
    for _ in 0..=args.repeats.max(1) {
        let start = Instant::now();
        engine.cdist_into(x.view(), y.view(), args.metric, out.view_mut())?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.remove(0); // the warm-up also compiles the GPU pipeline
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let pairs = n as f64 * m as f64;
    out!(
        "time: {:.4} s median of {} runs after a warm-up: {:.3} G pairs/s, {:.2} Gpd/s",
        median,
        times.len(),
        pairs / median / 1e9,
        pairs * d as f64 / median / 1e9
    )?;

    // Check a sample of entries against the f64 reference.
    let samples = n.saturating_mul(m).min(2000);
    let mut worst = 0.0f64;
    let mut failures = 0;
    let resolved = Distance::new(args.metric).resolve(x.view(), Some(y.view()))?;
    for _ in 0..samples {
        let (i, j) = (rng.random_range(0..n), rng.random_range(0..m));
        let want = reference::distance(x.row(i), y.row(j), &resolved);
        let got = out[(i, j)] as f64;
        // The same infinity, or NaN where the reference is NaN, is exact; any other NaN fails.
        let err = if got == want || (got.is_nan() && want.is_nan()) { 0.0 } else { (got - want).abs() };
        let within = err <= reference::tolerance(resolved.metric(), d, 1.0, want);
        worst = if err.is_nan() { f64::INFINITY } else { worst.max(err / want.abs().max(f64::MIN_POSITIVE)) };
        if !within {
            failures += 1;
        }
    }
    out!(
        "check: {samples} sampled entries against the f64 reference, largest relative error {worst:.2e}: {}",
        if failures == 0 { "OK".to_string() } else { format!("{failures} OUT OF TOLERANCE") }
    )?;
    if failures > 0 {
        return Err(pairdist::Error::CheckFailed(format!("{failures} sampled entries out of tolerance")));
    }
    Ok(())
}

/// A `shape` array filled by `f`, or an error (not an abort) when the memory cannot be had.
fn try_array(shape: (usize, usize), mut f: impl FnMut() -> f32) -> Result<Array2<f32>> {
    let mut values = Vec::new();
    let len = shape.0.checked_mul(shape.1).filter(|&len| values.try_reserve_exact(len).is_ok()).ok_or_else(|| {
        pairdist::Error::TooLarge(format!("a {} x {} array: the memory cannot be allocated", shape.0, shape.1))
    })?;
    values.extend((0..len).map(|_| f()));
    Ok(Array2::from_shape_vec(shape, values).expect("rows x columns values"))
}
