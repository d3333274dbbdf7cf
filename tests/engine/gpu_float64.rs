//! float64 on the GPU: where the adapter offers SHADER_F64 (lavapipe does), f64 jobs run in
//! f64 on the device, in kernels built from shaders/common/f64.wgsl, whose logarithm, exponential
//! and power are written out in WGSL (GLSL.std.450 has no 64-bit ones). Every metric is held to
//! 1e-12 relative against the independent f64 oracle on data where no f32 computation comes
//! close, including powers and logarithms across the whole f64 range, d split across passes,
//! partial tiles, and in-kernel weights.

use crate::support::{close, gpu, oracle_weighted64};
use ndarray::{Array2, ArrayView2};
use pairdist::{Distance, Dtype, Engine, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The GPU engine, checked to compute f64 on the device: without it these tests would test
/// the CPU, so an adapter without SHADER_F64 fails them rather than passing them vacuously.
fn f64_gpu() -> &'static Engine {
    let engine = gpu();
    let adapter = engine.adapter().expect("a GPU engine has an adapter");
    assert!(
        adapter.shader_f64 && engine.why_on_cpu(Dtype::F64).is_none(),
        "{} does not compute in f64 ({:?}): the float64 kernels are untested here",
        adapter.name,
        engine.why_on_cpu(Dtype::F64)
    );
    engine
}

/// Seeded points: uniform in [0, 1) times `scale(i)` for row i.
fn points(seed: u64, n: usize, d: usize, scale: impl Fn(usize) -> f64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |(i, _)| scale(i) * rng.random_range(0.0..1.0))
}

/// Asserts every entry of `got` is the oracle's weighted distance within `rel` relative (and
/// the same NaN or infinity; cosine and correlation within 8 ε absolute too).
fn assert_relative(
    what: &str,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    metric: Metric,
    w: &[f64],
    got: &Array2<f64>,
    rel: f64,
) {
    assert_eq!(got.dim(), (x.nrows(), y.nrows()), "{what}");
    for i in 0..x.nrows() {
        for j in 0..y.nrows() {
            let want = oracle_weighted64(&x.row(i).to_vec(), &y.row(j).to_vec(), metric, w);
            let g = got[(i, j)];
            // Cosine and correlation are 1 - cos: near 0 their rounding is absolute, ε-sized.
            let floor = if matches!(metric, Metric::Cosine | Metric::Correlation) { 8.0 * f64::EPSILON } else { 0.0 };
            let tol = rel * want.abs() + floor;
            assert!(close(g, want, tol), "{what}: {metric} at ({i}, {j}): got {g:e}, want {want:e}");
        }
    }
}

/// Every metric whose kernel differs (the minkowski family at several p: the power by
/// multiplication for a whole p, by the f64 exp and log otherwise, and the root always by them).
const METRICS: [Metric; 14] = [
    Metric::SqEuclidean,
    Metric::Euclidean,
    Metric::Cityblock,
    Metric::Chebyshev,
    Metric::Minkowski { p: 0.5 },
    Metric::Minkowski { p: 1.5 },
    Metric::Minkowski { p: 3.0 },
    Metric::Minkowski { p: 4.7 },
    Metric::Cosine,
    Metric::Correlation,
    Metric::Canberra,
    Metric::JensenShannon,
    Metric::BrayCurtis,
    Metric::Jaccard,
];

#[test]
fn every_metric_in_f64_on_the_gpu_is_within_1e_12_of_the_oracle() {
    let engine = f64_gpu();
    // Partial tiles (37 and 45 against 128-row blocks), d not a multiple of 4 and a multiple.
    for d in [1, 3, 8, 130] {
        let x = points(d as u64, 37, d, |_| 1.0);
        let y = points(d as u64 + 50, 45, d, |_| 1.0);
        let ones = vec![1.0; d];
        for metric in METRICS {
            let got = engine.cdist(x.view(), y.view(), metric).unwrap();
            assert_relative(&format!("d = {d}"), x.view(), y.view(), metric, &ones, &got, 1e-12);
        }
    }
}

#[test]
fn hamming_in_f64_on_the_gpu_counts_exactly_with_and_without_weights() {
    let engine = f64_gpu();
    // Coordinates from a few values, so that many are equal; weights whose sum needs more than
    // f32's 24 bits (the kernel divides by it as two f32 parts).
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x = Array2::from_shape_fn((29, 11), |_| f64::from(rng.random_range(0..3u8)));
    let y = Array2::from_shape_fn((33, 11), |_| f64::from(rng.random_range(0..3u8)));
    let w: Vec<f64> = (0..11).map(|k| 1.0 + f64::from(k) / 3.0 + 1e-9).collect();
    for metric in [Metric::Hamming, Metric::Canberra] {
        let plain = engine.cdist(x.view(), y.view(), metric).unwrap();
        assert_relative("unweighted", x.view(), y.view(), metric, &[1.0; 11], &plain, 1e-13);
        let weighted = Distance::new(metric).with_weights(w.clone()).unwrap();
        let got = engine.cdist(x.view(), y.view(), &weighted).unwrap();
        assert_relative("weighted", x.view(), y.view(), metric, &w, &got, 1e-13);
    }
}

#[test]
fn powers_and_roots_in_f64_on_the_gpu_hold_across_the_whole_range() {
    let engine = f64_gpu();
    // Rows scaled from 1e-150 to 1e150: |x - y|^p and its root span the f64 range, where the
    // kernel's exp and log take powers of two out in steps before f32's log estimates them.
    let scale = |i: usize| 10f64.powi(i as i32 * 15 - 150);
    let x = points(1, 21, 6, scale);
    let y = points(2, 21, 6, scale);
    let ones = [1.0; 6];
    for p in [0.5, 1.5, 2.5, 3.0, 7.25] {
        let metric = Metric::Minkowski { p };
        let got = engine.cdist(x.view(), y.view(), metric).unwrap();
        assert_relative(&format!("p = {p}"), x.view(), y.view(), metric, &ones, &got, 1e-12);
    }
    // Probabilities from 1e-300 to 1: Jensen-Shannon's logarithms of ratios near 0 and 2.
    let tiny = |i: usize| 10f64.powi(-(i as i32) * 15);
    let (p, q) = (points(3, 21, 5, tiny), points(4, 19, 5, tiny));
    let got = engine.cdist(p.view(), q.view(), Metric::JensenShannon).unwrap();
    assert_relative("jensenshannon", p.view(), q.view(), Metric::JensenShannon, &[1.0; 5], &got, 1e-12);
}

#[test]
fn f64_special_values_on_the_gpu_are_scipys() {
    let engine = f64_gpu();
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    // Zeros, an infinity, a NaN, a negative coordinate (jensenshannon: inf), a subnormal.
    let x = ndarray::array![[0.0, 0.0, 0.0], [1.0, inf, 2.0], [1.0, nan, 2.0], [-1.0, 0.5, 0.25], [5e-324, 1.0, 0.0]];
    for metric in METRICS {
        let got = engine.cdist(x.view(), x.view(), metric).unwrap();
        for i in 0..x.nrows() {
            for j in 0..x.nrows() {
                let want = oracle_weighted64(&x.row(i).to_vec(), &x.row(j).to_vec(), metric, &[1.0; 3]);
                let g = got[(i, j)];
                let same = (g.is_nan() && want.is_nan()) || close(g, want, 1e-12 * want.abs());
                assert!(same, "{metric} at ({i}, {j}): got {g:e}, want {want:e}");
            }
        }
    }
}

#[test]
fn f64_sums_split_across_passes_on_the_gpu_stay_within_1e_12() {
    let engine = f64_gpu();
    // More dimensions than one f64 pass of the tiled kernel sums (about 11 900 at the default
    // shape): the passes add into the output, and the last one finalizes.
    let plan = engine.plan_for::<f64>(7, 9, 25_000, pairdist::plan::Region::Full).unwrap();
    assert!(plan.dim_chunks().count() > 1, "d = 25 000 fits one pass: the test misses its point");
    let x = points(5, 7, 25_000, |_| 1.0);
    let y = points(6, 9, 25_000, |_| 1.0);
    let ones = vec![1.0; 25_000];
    for metric in [Metric::SqEuclidean, Metric::Chebyshev, Metric::Minkowski { p: 1.5 }, Metric::JensenShannon] {
        let got = engine.cdist(x.view(), y.view(), metric).unwrap();
        assert_relative("split d", x.view(), y.view(), metric, &ones, &got, 1e-12);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let hx = Array2::from_shape_fn((7, 25_000), |_| f64::from(rng.random_range(0..2u8)));
    let got = engine.cdist(hx.view(), hx.view(), Metric::Hamming).unwrap();
    assert_relative("split d", hx.view(), hx.view(), Metric::Hamming, &ones, &got, 1e-13);
}
