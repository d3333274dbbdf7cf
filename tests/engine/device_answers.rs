//! Answers reduced on the GPU (lavapipe in CI): the select epilogue (k nearest, argmin, any k up
//! to `SELECT_K_MAX`) and the filter epilogue (radius) give the CPU's answers exactly, in float32
//! and float64, across tiles, windows and the filter's overflow paths; and the engine's counters
//! show that what comes back grows with the answer, not with the matrix.

use crate::support::EXACT_ON_INTEGERS;
use ndarray::Array2;
use pairdist::gpu::SELECT_K_MAX;
use pairdist::{Backend, Element, Engine, EngineOptions, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded points with small integer coordinates (of `T`): every distance is exact, many tie.
fn grid<T: Element>(seed: u64, n: usize, d: usize, values: u32) -> Array2<T> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || T::from_f64(f64::from(rng.random_range(0..values))))
}

/// A GPU engine that reduces answers on the device (lavapipe would not by default), with tiles
/// of at most `max_tile_bytes`.
fn device(max_tile_bytes: Option<u64>) -> Engine {
    let options =
        EngineOptions { backend: Backend::Gpu, reduce_on_device: Some(true), max_tile_bytes, ..Default::default() };
    Engine::with_options(options)
        .expect("no GPU adapter: install a Vulkan driver (apt-get install mesa-vulkan-drivers)")
}

/// Radius on the device equals the CPU's pairs, with the radius at every selectivity: few hits
/// (one copy back), more than the filter expected (a second copy of the hits), and more than it
/// holds (the tile's distances read back and filtered on the host); X against Y and against
/// itself (pairs i < j), in one tile and in many.
#[test]
fn radius_on_the_device_is_the_cpus_at_every_selectivity() {
    let x = grid::<f32>(1, 300, 3, 5);
    let y = grid::<f32>(2, 700, 3, 5);
    let cpu = crate::support::cpu();
    for engine in [device(None), device(Some(16 << 10))] {
        for metric in EXACT_ON_INTEGERS {
            // d ranges over [0, 4·3] (or its square): from almost no pairs to all of them.
            for r in [0.0f32, 1.0, 2.0, 4.0, 100.0] {
                let want = cpu.radius(x.view(), y.view(), r, metric, usize::MAX).unwrap();
                let got = engine.radius(x.view(), y.view(), r, metric, usize::MAX).unwrap();
                assert_eq!(got, want, "{metric} r = {r}");
                let want = cpu.radius_self(y.view(), r, metric, usize::MAX).unwrap();
                assert_eq!(engine.radius_self(y.view(), r, metric, usize::MAX).unwrap(), want, "self {metric} r = {r}");
            }
        }
        // The cap on pairs holds on the device too.
        let all = 300 * 700;
        assert!(engine.radius(x.view(), y.view(), 100.0, Metric::Euclidean, all - 1).is_err());
        assert_eq!(engine.radius(x.view(), y.view(), 100.0, Metric::Euclidean, all).unwrap().len(), all);
    }
}

/// The same in float64: the epilogues' 64-bit keys order and filter exactly as the host does.
#[test]
fn float64_answers_reduce_on_the_device_exactly() {
    let engine = device(None);
    assert!(engine.why_on_cpu(pairdist::Dtype::F64).is_none(), "the CI adapter computes in f64");
    let x = grid::<f64>(3, 200, 4, 4);
    let y = grid::<f64>(4, 500, 4, 4);
    let cpu = crate::support::cpu();
    for metric in EXACT_ON_INTEGERS {
        for k in [1, 7, 100] {
            let want = cpu.knn(x.view(), y.view(), k, metric).unwrap();
            assert_eq!(engine.knn(x.view(), y.view(), k, metric).unwrap(), want, "{metric} k = {k}");
            let want = cpu.knn_self(y.view(), k, metric).unwrap();
            assert_eq!(engine.knn_self(y.view(), k, metric).unwrap(), want, "self {metric} k = {k}");
        }
        for r in [0.0, 1.5, 3.0, 1e9] {
            let want = cpu.radius(x.view(), y.view(), r, metric, usize::MAX).unwrap();
            assert_eq!(engine.radius(x.view(), y.view(), r, metric, usize::MAX).unwrap(), want, "{metric} r = {r}");
        }
    }
    // Distances that differ in the low bits of an f64 only: an f32 key would tie them.
    let base = Array2::from_shape_fn((3, 1), |(j, _)| 1.0 + j as f64 * 1e-12);
    let query = Array2::<f64>::zeros((1, 1));
    let nn = engine.knn(query.view(), base.view(), 3, Metric::Cityblock).unwrap();
    assert_eq!(nn.indices.row(0).to_vec(), vec![0, 1, 2]);
    let pairs = engine.radius(query.view(), base.view(), 1.0 + 1.5e-12, Metric::Cityblock, 10).unwrap();
    assert_eq!(pairs.cols, vec![0, 1]);
}

/// NaN distances come after every number, and are never within a radius, on the device too.
#[test]
fn nan_distances_sort_last_and_are_never_within() {
    let engine = device(None);
    let mut y = grid::<f32>(5, 50, 2, 3);
    y[(3, 0)] = f32::NAN;
    y[(10, 1)] = f32::NAN;
    let x = grid::<f32>(6, 20, 2, 3);
    let cpu = crate::support::cpu();
    for metric in [Metric::Euclidean, Metric::Cityblock] {
        let (got, want) =
            (engine.knn(x.view(), y.view(), 50, metric).unwrap(), cpu.knn(x.view(), y.view(), 50, metric).unwrap());
        assert_eq!(got.indices, want.indices, "{metric}");
        // NaN is not equal to itself: compare the bits.
        assert_eq!(got.distances.mapv(f32::to_bits), want.distances.mapv(f32::to_bits), "{metric}");
        assert!(got.distances.column(49).iter().all(|v| v.is_nan()), "{metric}: NaN last");
        let pairs = engine.radius(x.view(), y.view(), f32::INFINITY, metric, usize::MAX).unwrap();
        assert_eq!(pairs, cpu.radius(x.view(), y.view(), f32::INFINITY, metric, usize::MAX).unwrap());
        assert_eq!(pairs.len(), 20 * 48, "{metric}: every pair but the NaN columns");
    }
}

/// k up to the epilogue's limit, and past it (the tiles then stream to the host), give the CPU's
/// lists.
#[test]
fn any_k_up_to_the_limit_selects_on_the_device() {
    let x = grid::<f32>(7, 40, 3, 4);
    let y = grid::<f32>(8, 1800, 3, 4);
    let cpu = crate::support::cpu();
    let (gpu, tiled) = (device(None), device(Some(64 << 10)));
    for k in [1, 33, 255, 256, 257, 700, SELECT_K_MAX, SELECT_K_MAX + 1, 1800] {
        let want = cpu.knn(x.view(), y.view(), k, Metric::Cityblock).unwrap();
        assert_eq!(gpu.knn(x.view(), y.view(), k, Metric::Cityblock).unwrap(), want, "k = {k}");
        assert_eq!(tiled.knn(x.view(), y.view(), k, Metric::Cityblock).unwrap(), want, "small tiles, k = {k}");
    }
}

/// The figures, through the counters, on 4096 × 4096 × 32: radius at about 0.1%
/// selectivity reads back less than 2% of the matrix's bytes, k nearest with k = 100 less than
/// 10%, and the matrix itself all of them. The same answers as the CPU's.
#[test]
fn what_comes_back_grows_with_the_answer_not_the_matrix() {
    let (n, d) = (4096, 32);
    let x = grid::<f32>(9, n, d, 16);
    let y = grid::<f32>(10, n, d, 16);
    let matrix_bytes = (n * n * 4) as u64;
    let engine = device(None);
    let cpu = crate::support::cpu();
    // The 0.1% quantile of the distances of a sample of rows.
    let sample = cpu.cdist(x.slice(ndarray::s![..64, ..]), y.view(), Metric::Euclidean).unwrap();
    let mut sorted = sample.iter().copied().collect::<Vec<f32>>();
    sorted.sort_by(f32::total_cmp);
    let r = sorted[sorted.len() / 1000];

    let before = engine.stats();
    let pairs = engine.radius(x.view(), y.view(), r, Metric::Euclidean, usize::MAX).unwrap();
    let radius = engine.stats().since(&before);
    assert_eq!(pairs, cpu.radius(x.view(), y.view(), r, Metric::Euclidean, usize::MAX).unwrap());
    let selectivity = pairs.len() as f64 / (n * n) as f64;
    assert!((0.0002..0.005).contains(&selectivity), "selectivity {selectivity}");
    assert!(radius.bytes_read_back * 50 < matrix_bytes, "radius read back {radius:?}");
    assert!(radius.bytes_uploaded >= (2 * n * d * 4) as u64 && radius.dispatches >= 2, "{radius:?}");

    let before = engine.stats();
    let nn = engine.knn(x.view(), y.view(), 100, Metric::Euclidean).unwrap();
    let knn = engine.stats().since(&before);
    assert_eq!(nn, cpu.knn(x.view(), y.view(), 100, Metric::Euclidean).unwrap());
    assert!(knn.bytes_read_back * 10 < matrix_bytes, "knn read back {knn:?}");

    let before = engine.stats();
    engine.cdist(x.view(), y.view(), Metric::Euclidean).unwrap();
    let matrix = engine.stats().since(&before);
    assert_eq!(matrix.bytes_read_back, matrix_bytes, "{matrix:?}");
    assert_eq!((matrix.jobs, matrix.pairs), (1, (n * n) as u64));
}
