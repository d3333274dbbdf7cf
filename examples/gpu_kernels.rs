//! Naive vs tuned GPU kernel, same run:
//! `cargo run --release --example gpu_kernels [reps] [case filter, e.g. 2048x2048x128]`.
//!
//! Times whole `Engine::cdist` calls (upload, compute, readback into the caller's array),
//! best of `reps` (default 3) after one warm-up, and checks a sample of every result against
//! the f64 reference. Prints Gpd/s (10^9 pair-dimensions per second), G pairs/s and the
//! ratio tuned / naive.

use std::time::{Duration, Instant};

use ndarray::Array2;
use pairdist::cpu::reference;
use pairdist::gpu::Kernel;
use pairdist::{Backend, Engine, EngineOptions, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(rows: usize, dims: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, dims), || rng.random_range(-1.0f32..1.0))
}

/// Checks a sample of entries against the f64 reference; returns the number of failures.
fn check(x: &Array2<f32>, y: &Array2<f32>, out: &Array2<f32>, metric: Metric) -> usize {
    let (n, m, d) = (x.nrows(), y.nrows(), x.ncols());
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut bad = 0;
    // Always include the corners, where partial blocks live.
    let mut idx = vec![(0, 0), (n - 1, m - 1), (n - 1, 0), (0, m - 1)];
    idx.extend((0..300).map(|_| (rng.random_range(0..n), rng.random_range(0..m))));
    for (i, j) in idx {
        let expected = reference::distance(x.row(i), y.row(j), metric);
        let tol = reference::tolerance(metric, d, 1.0, expected);
        let got = out[[i, j]] as f64;
        if (got - expected).abs() > tol {
            if bad < 3 {
                eprintln!(
                    "  MISMATCH {metric:?} ({i}, {j}): got {got}, expected {expected}, tol {tol}"
                );
            }
            bad += 1;
        }
    }
    bad
}

fn time(
    engine: &Engine,
    x: &Array2<f32>,
    y: &Array2<f32>,
    metric: Metric,
    reps: usize,
) -> (Duration, usize) {
    let out = engine.cdist(x.view(), y.view(), metric).expect("warm-up");
    let bad = check(x, y, &out, metric);
    let best = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let out = engine.cdist(x.view(), y.view(), metric).expect("cdist");
            let e = t.elapsed();
            std::hint::black_box(out);
            e
        })
        .min()
        .unwrap_or_default();
    (best, bad)
}

fn main() -> pairdist::Result<()> {
    env_logger::init();
    let reps: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let filter = std::env::args().nth(2).unwrap_or_default();
    let engine = |kernel| {
        Engine::with_options(EngineOptions {
            backend: Backend::Gpu,
            kernel,
            ..Default::default()
        })
    };
    let naive = engine(Kernel::Naive)?;
    let tuned = engine(Kernel::Tiled)?;
    println!("{}", tuned.describe());
    println!("whole cdist call, best of {reps} after a warm-up");
    println!(
        "{:>20} {:>12} {:>16} {:>16} {:>7}",
        "case", "metric", "naive Gpd/s", "tuned Gpd/s", "ratio"
    );
    let cases = [
        (2048, 2048, 128),
        (4096, 4096, 64),
        (4096, 4096, 3),
        (1000, 777, 61),
    ];
    let mut failures = 0;
    for (n, m, d) in cases {
        if !format!("{n}x{m}x{d}").contains(&filter) {
            continue;
        }
        let x = random(n, d, 1);
        let y = random(m, d, 2);
        for metric in [Metric::SqEuclidean, Metric::Euclidean, Metric::Cityblock] {
            let (tn, bn) = time(&naive, &x, &y, metric, reps);
            let (tt, bt) = time(&tuned, &x, &y, metric, reps);
            failures += bn + bt;
            let pd = (n * m * d) as f64;
            let gpd = |t: Duration| pd / t.as_secs_f64() / 1e9;
            let gp = |t: Duration| (n * m) as f64 / t.as_secs_f64() / 1e9;
            println!(
                "{:>20} {:>12} {:>7.3} ({:.3}G p) {:>7.3} ({:.3}G p) {:>6.2}x{}",
                format!("{n}x{m}x{d}"),
                metric.name(),
                gpd(tn),
                gp(tn),
                gpd(tt),
                gp(tt),
                tn.as_secs_f64() / tt.as_secs_f64(),
                if bn + bt > 0 { "  WRONG" } else { "" }
            );
        }
    }
    if failures > 0 {
        eprintln!("{failures} entries outside the reference tolerance");
        std::process::exit(1);
    }
    Ok(())
}
