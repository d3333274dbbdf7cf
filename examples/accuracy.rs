//! The largest relative error against the f64 reference on standard normal data, for `d` from
//! 10² to 10⁶, on the CPU and the GPU (the README's "Precision" figures come from here).
//!
//! `cargo run --release --example accuracy`

use ndarray::Array2;
use pairdist::cpu::reference;
use pairdist::{Backend, Engine, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn normal(seed: u64, n: usize, d: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || {
        let (u, v): (f64, f64) = (rng.random_range(f64::MIN_POSITIVE..1.0), rng.random());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    })
}

fn main() -> pairdist::Result<()> {
    let engines = [("cpu", Engine::new(Backend::Cpu)?), ("gpu", Engine::new(Backend::Gpu)?)];
    println!("{:>9} {:>12} {:>4} {:>11}", "d", "metric", "on", "worst rel");
    for d in [100, 1_000, 10_000, 100_000, 1_000_000] {
        let n = (4_000_000 / d).clamp(4, 32);
        let x = normal(d as u64, n, d);
        let y = normal(d as u64 + 1, n, d);
        // The metrics defined for normal data (jensenshannon wants distributions, and
        // seuclidean and mahalanobis are euclidean after a change of coordinates).
        let metrics = Metric::KERNELS.into_iter().filter(|m| *m != Metric::JensenShannon);
        let want: Vec<_> =
            metrics.clone().map(|m| reference::cdist(x.view(), y.view(), m)).collect::<Result<_, _>>()?;
        for (k, metric) in metrics.enumerate() {
            for (name, engine) in &engines {
                let got = engine.cdist(x.view(), y.view(), metric)?;
                let worst = got
                    .iter()
                    .zip(want[k].iter())
                    .map(|(&g, &w)| (g as f64 - w).abs() / w.abs())
                    .fold(0.0f64, f64::max);
                println!("{d:>9} {metric:>12} {name:>4} {worst:>11.2e}");
            }
        }
    }
    Ok(())
}
