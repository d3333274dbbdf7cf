//! Shared by the integration tests: engines, seeded inputs, an independent f64 oracle check.

#![allow(dead_code, reason = "each test binary uses a different part of this module")]

use std::sync::OnceLock;

use ndarray::{Array2, ArrayView2};
use pairdist::{Backend, Engine, EngineOptions, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The GPU engine for this test binary. A machine without an adapter fails the test: CI must
/// never silently skip the GPU.
pub fn gpu() -> &'static Engine {
    static GPU: OnceLock<Engine> = OnceLock::new();
    GPU.get_or_init(|| {
        let engine = Engine::new(Backend::Gpu)
            .expect("no GPU adapter: install a Vulkan driver (apt-get install mesa-vulkan-drivers)");
        eprintln!("GPU tests run on {}", engine.describe());
        engine
    })
}

/// The CPU engine.
pub fn cpu() -> &'static Engine {
    static CPU: OnceLock<Engine> = OnceLock::new();
    CPU.get_or_init(|| Engine::new(Backend::Cpu).unwrap())
}

/// Both backends, named, for loops over them.
pub fn engines() -> [(&'static str, &'static Engine); 2] {
    [("gpu", gpu()), ("cpu", cpu())]
}

/// An engine whose tiles are capped at `bytes`.
pub fn with_tiles(backend: Backend, bytes: u64) -> Engine {
    Engine::with_options(EngineOptions { backend, max_tile_bytes: Some(bytes), ..Default::default() }).unwrap()
}

/// Seeded uniform points in [lo, hi).
pub fn points(seed: u64, n: usize, d: usize, lo: f32, hi: f32) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || rng.random_range(lo..hi))
}

/// The distance in f64, written out here (not taken from the crate) so the oracle is
/// independent of the code under test.
pub fn oracle(x: &[f32], y: &[f32], metric: Metric) -> f64 {
    if metric == Metric::Chebyshev {
        // SciPy's loop: `if d > max: max = d` (a NaN difference is passed over).
        let mut max = 0.0f64;
        for (&a, &b) in x.iter().zip(y) {
            let d = (a as f64 - b as f64).abs();
            if d > max {
                max = d;
            }
        }
        return max;
    }
    let mut sum = 0.0f64;
    for (&a, &b) in x.iter().zip(y) {
        let t = a as f64 - b as f64;
        sum += if metric == Metric::Cityblock { t.abs() } else { t * t };
    }
    if metric == Metric::Euclidean { sum.sqrt() } else { sum }
}

/// 1e-5 relative plus an absolute term for the rounding of d f32 terms of size `scale`.
pub fn tolerance(metric: Metric, d: usize, scale: f64, want: f64) -> f64 {
    let eps = f32::EPSILON as f64;
    let root_d = (d.max(1) as f64).sqrt();
    let abs = match metric {
        Metric::SqEuclidean => 4.0 * root_d * eps * scale * scale,
        Metric::Euclidean => (4.0 * root_d * eps).sqrt() * scale,
        Metric::Cityblock => 2.0 * root_d * eps * scale,
        // One rounded difference: no sum to grow with d.
        Metric::Chebyshev => 2.0 * eps * scale,
    };
    1e-5 * want.abs() + abs
}

/// Asserts `got` (n × m) matches the oracle for every entry, naming the first failure.
pub fn assert_matches(what: &str, x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric, got: ArrayView2<f32>) {
    assert_eq!(got.dim(), (x.nrows(), y.nrows()), "{what}: wrong shape");
    let scale = x.iter().chain(y.iter()).fold(0.0f64, |m, &v| m.max((v as f64).abs()));
    for i in 0..x.nrows() {
        let xi = x.row(i).to_vec();
        for j in 0..y.nrows() {
            let want = oracle(&xi, &y.row(j).to_vec(), metric);
            let g = got[(i, j)] as f64;
            let tol = tolerance(metric, x.ncols(), scale, want);
            assert!(
                (g - want).abs() <= tol,
                "{what}: {metric} at ({i}, {j}) of {}x{}x{}: got {g}, want {want}, tolerance {tol:e}",
                x.nrows(),
                y.nrows(),
                x.ncols()
            );
        }
    }
}
