//! Criterion benches: the CPU path through `Engine` (Backend::Cpu) for a few shapes per metric,
//! and the end-to-end `cdist` call on the GPU when wgpu finds an adapter (upload, compute and
//! readback included). Throughput is in pair-dimensions, so criterion's "elem/s" is pd/s.
//! Kept short (few samples, a few seconds each) so `cargo bench` ends in a few minutes here;
//! `pairdist-bench` is the cross-vendor benchmark with the full grid.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use pairdist::{Backend, Engine, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `rows × d` points uniform in [-1, 1), seeded.
fn points(rows: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((rows, d), || rng.random_range(-1.0f32..1.0))
}

/// Benches `engine.cdist_into` for each shape (n = m) and metric in one group.
fn bench_engine(c: &mut Criterion, group: &str, engine: &Engine, shapes: &[(usize, usize)]) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for &(n, d) in shapes {
        let (x, y) = (points(n, d, 1), points(n, d, 2));
        let mut out = Array2::<f32>::zeros((n, n));
        g.throughput(Throughput::Elements((n * n * d) as u64));
        for metric in Metric::ALL {
            g.bench_with_input(BenchmarkId::new(metric.name(), format!("{n}x{n}x{d}")), &metric, |b, &metric| {
                b.iter(|| {
                    engine.cdist_into(black_box(x.view()), black_box(y.view()), metric, out.view_mut()).expect("cdist");
                    black_box(&out);
                })
            });
        }
    }
    g.finish();
}

fn cpu(c: &mut Criterion) {
    let engine = Engine::new(Backend::Cpu).expect("the CPU backend always opens");
    // Output-write bound (d = 3) and compute bound (d = 128).
    bench_engine(c, "cpu", &engine, &[(2048, 3), (1024, 128)]);
}

fn gpu(c: &mut Criterion) {
    let engine = match Engine::new(Backend::Gpu) {
        Ok(e) => e,
        Err(e) => {
            println!("note: skipping the GPU benches: {e}");
            return;
        }
    };
    println!("GPU benches on {}", engine.describe());
    // Small shapes: a software adapter such as lavapipe runs at about 1 Gpd/s.
    bench_engine(c, "gpu_cdist", &engine, &[(1024, 3), (512, 128)]);
}

criterion_group!(benches, cpu, gpu);
criterion_main!(benches);
