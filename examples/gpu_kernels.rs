//! Naive vs tuned GPU kernel, same run:
//! `cargo run --release --example gpu_kernels [reps] [case filter, e.g. 2048x2048x128]`.
//!
//! Times whole `Engine::cdist` calls (upload, compute, readback into the caller's array),
//! best of `reps` (default 3) after one warm-up, and checks a sample of every result against
//! the f64 reference. Prints Gpd/s (10^9 pair-dimensions per second) and the ratio naive
//! time / tuned time, by wall clock and by the process's CPU time (lavapipe runs in-process,
//! so CPU time is steadier than wall time on a shared machine). The "fixed" column is the
//! wall time of the same call with d = 0 (buffers, dispatch of a kernel that only stores,
//! readback): subtracting it estimates the compute alone.

use std::time::Instant;

use ndarray::Array2;
use pairdist::cpu::reference;
use pairdist::gpu::Kernel;
use pairdist::{Backend, Distance, Engine, EngineOptions, Metric};
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
    let resolved = Distance::new(metric).resolve(x.view(), Some(y.view())).expect("metrics without parameters");
    for (i, j) in idx {
        let expected = reference::distance(x.row(i), y.row(j), &resolved);
        let tol = reference::tolerance(resolved.metric(), d, 1.0, expected);
        let got = out[[i, j]] as f64;
        if (got - expected).abs() > tol {
            if bad < 3 {
                eprintln!("  MISMATCH {metric:?} ({i}, {j}): got {got}, expected {expected}, tol {tol}");
            }
            bad += 1;
        }
    }
    bad
}

/// CPU time of this process (all threads, user + system) in seconds, from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest.split_whitespace().map(|v| v.parse().unwrap_or(0.0)).collect();
    // Clock ticks are 1/100 s on Linux.
    f.get(11).zip(f.get(12)).map(|(u, s)| (u + s) / 100.0).unwrap_or(0.0)
}

/// Best wall time and best CPU time of `reps` calls after a warm-up, and failed checks.
fn time(engine: &Engine, x: &Array2<f32>, y: &Array2<f32>, metric: Metric, reps: usize) -> (f64, f64, usize) {
    let out = engine.cdist(x.view(), y.view(), metric).expect("warm-up");
    let bad = if x.ncols() > 0 { check(x, y, &out, metric) } else { 0 };
    let (mut wall, mut cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps {
        let (t, c) = (Instant::now(), cpu_seconds());
        let out = engine.cdist(x.view(), y.view(), metric).expect("cdist");
        wall = wall.min(t.elapsed().as_secs_f64());
        cpu = cpu.min(cpu_seconds() - c);
        std::hint::black_box(out);
    }
    (wall, cpu, bad)
}

fn main() -> pairdist::Result<()> {
    env_logger::init();
    let reps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let filter = std::env::args().nth(2).unwrap_or_default();
    let engine = |kernel| Engine::with_options(EngineOptions { backend: Backend::Gpu, kernel, ..Default::default() });
    let naive = engine(Kernel::Naive)?;
    let tuned = engine(Kernel::Tiled)?;
    println!("{}", tuned.describe());
    println!("whole cdist call, best of {reps} after a warm-up; ratio = naive time / tuned time");
    println!(
        "{:>14} {:>11} | {:>8} {:>8} {:>6} | {:>7} {:>7} {:>6} | {:>7} {:>7} {:>6}",
        "case", "metric", "naive", "tuned", "wall", "naive", "tuned", "cpu", "fixed", "fixed", "-fixed"
    );
    println!(
        "{:>14} {:>11} | {:>8} {:>8} {:>6} | {:>7} {:>7} {:>6} | {:>7} {:>7} {:>6}",
        "", "", "Gpd/s", "Gpd/s", "ratio", "cpu s", "cpu s", "ratio", "naive s", "tuned s", "ratio"
    );
    let cases = [(2048, 2048, 128), (4096, 4096, 64), (4096, 4096, 3), (1000, 777, 61)];
    let mut failures = 0;
    for (n, m, d) in cases {
        if !format!("{n}x{m}x{d}").contains(&filter) {
            continue;
        }
        let x = random(n, d, 1);
        let y = random(m, d, 2);
        let (x0, y0) = (Array2::<f32>::zeros((n, 0)), Array2::<f32>::zeros((m, 0)));
        for metric in [Metric::SqEuclidean, Metric::Euclidean, Metric::Cityblock] {
            let (wn, cn, bn) = time(&naive, &x, &y, metric, reps);
            let (wt, ct, bt) = time(&tuned, &x, &y, metric, reps);
            let (fnv, _, _) = time(&naive, &x0, &y0, metric, reps);
            let (ftu, _, _) = time(&tuned, &x0, &y0, metric, reps);
            failures += bn + bt;
            let gpd = |t: f64| (n * m * d) as f64 / t / 1e9;
            println!(
                "{:>14} {:>11} | {:>8.3} {:>8.3} {:>5.2}x | {:>7.3} {:>7.3} {:>5.2}x | {:>7.3} {:>7.3} {:>5.2}x{}",
                format!("{n}x{m}x{d}"),
                metric.name(),
                gpd(wn),
                gpd(wt),
                wn / wt,
                cn,
                ct,
                cn / ct,
                fnv,
                ftu,
                (wn - fnv) / (wt - ftu),
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
