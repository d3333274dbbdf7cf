//! `pairdist demo`: a generated problem on the best backend, timed and checked, so a newcomer
//! sees what pairdist does on their machine without data of their own.

use std::time::Instant;

use clap::Args;
use ndarray::Array2;
use pairdist::cpu::reference;
use pairdist::{Metric, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::EngineArgs;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Points in XA.
    #[arg(long, default_value_t = 4096)]
    n: usize,
    /// Points in XB.
    #[arg(long, default_value_t = 4096)]
    m: usize,
    /// Dimensions.
    #[arg(long, default_value_t = 64)]
    d: usize,
    /// Metric: euclidean, sqeuclidean, cityblock (alias manhattan).
    #[arg(long, default_value = "euclidean", value_parser = crate::parse_metric)]
    metric: Metric,
    /// Timed runs after one warm-up; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    #[command(flatten)]
    engine: EngineArgs,
}

pub(crate) fn run(args: &DemoArgs) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let mut points = |rows: usize| Array2::from_shape_simple_fn((rows, args.d), || rng.random_range(-1.0f32..1.0));
    let (x, y) = (points(args.n), points(args.m));
    println!("pairdist demo: {} x {} pairs in {} dimensions, {}", args.n, args.m, args.d, args.metric);
    let engine = args.engine.build()?;
    println!("device: {}", engine.describe());

    let mut out = Array2::zeros((args.n, args.m));
    let mut times = Vec::new();
    for _ in 0..=args.repeats.max(1) {
        let start = Instant::now();
        engine.cdist_into(x.view(), y.view(), args.metric, out.view_mut())?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.remove(0); // the warm-up also compiles the GPU pipeline
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let pairs = (args.n * args.m) as f64;
    println!(
        "time: {:.4} s median of {} runs after a warm-up: {:.3} G pairs/s, {:.2} Gpd/s",
        median,
        times.len(),
        pairs / median / 1e9,
        pairs * args.d as f64 / median / 1e9
    );

    // Check a sample of entries against the f64 reference.
    let samples = 2000.min(args.n * args.m);
    let mut worst = 0.0f64;
    let mut failures = 0;
    for _ in 0..samples {
        let (i, j) = (rng.random_range(0..args.n), rng.random_range(0..args.m));
        let want = reference::distance(x.row(i), y.row(j), args.metric);
        let err = (out[(i, j)] as f64 - want).abs();
        worst = worst.max(err / want.abs().max(f64::MIN_POSITIVE));
        if err > reference::tolerance(args.metric, args.d, 1.0, want) {
            failures += 1;
        }
    }
    println!(
        "check: {samples} sampled entries against the f64 reference, largest relative error {worst:.2e}: {}",
        if failures == 0 { "OK".to_string() } else { format!("{failures} OUT OF TOLERANCE") }
    );
    if failures > 0 {
        return Err(pairdist::Error::Gpu(format!("{failures} entries out of tolerance")));
    }
    Ok(())
}
