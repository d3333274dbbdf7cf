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

/// The metrics whose results on small integer coordinates are exact in f32 (integer sums, a
/// correctly rounded square root or division): answers on such data must equal the oracle's.
pub const EXACT_ON_INTEGERS: [Metric; 5] =
    [Metric::Euclidean, Metric::SqEuclidean, Metric::Cityblock, Metric::Chebyshev, Metric::Hamming];

/// The distance in f64, written out here from SciPy's definitions (not taken from the crate)
/// so the oracle is independent of the code under test. Row-local metrics only: seuclidean and
/// mahalanobis take their defaults from all the points ([`oracle_weighted`] and
/// [`oracle_quadratic`] take them given).
pub fn oracle(x: &[f32], y: &[f32], metric: Metric) -> f64 {
    let ones = vec![1.0; x.len()];
    oracle_weighted(x, y, metric, &ones)
}

/// SciPy's boolean metrics: formulas in the four counts of a pair of boolean rows.
pub const BOOLEAN: [Metric; 7] = [
    Metric::Dice,
    Metric::Kulczynski1,
    Metric::RogersTanimoto,
    Metric::RussellRao,
    Metric::SokalMichener,
    Metric::SokalSneath,
    Metric::Yule,
];

/// SciPy's weighted distance (`w` one per dimension), from its own formulas.
pub fn oracle_weighted(x: &[f32], y: &[f32], metric: Metric, w: &[f64]) -> f64 {
    let x: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let y: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    oracle_weighted64(&x, &y, metric, w)
}

/// [`oracle`] of f64 points.
pub fn oracle64(x: &[f64], y: &[f64], metric: Metric) -> f64 {
    oracle_weighted64(x, y, metric, &vec![1.0; x.len()])
}

/// [`oracle_weighted`] of f64 points.
pub fn oracle_weighted64(x: &[f64], y: &[f64], metric: Metric, w: &[f64]) -> f64 {
    let n = x.len();
    let sum = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>();
    match metric {
        Metric::Chebyshev | Metric::Minkowski { p: f64::INFINITY } => {
            // SciPy's loop: `if d > max: max = d` (a NaN difference is passed over), over the
            // dimensions of positive weight.
            let mut max = 0.0f64;
            for k in (0..n).filter(|&k| w[k] > 0.0) {
                let d = (x[k] - y[k]).abs();
                if d > max {
                    max = d;
                }
            }
            max
        }
        Metric::SqEuclidean => sum(&|k| w[k] * (x[k] - y[k]).powi(2)),
        Metric::Euclidean => sum(&|k| w[k] * (x[k] - y[k]).powi(2)).sqrt(),
        Metric::Cityblock => sum(&|k| w[k] * (x[k] - y[k]).abs()),
        Metric::Minkowski { p } => sum(&|k| w[k] * (x[k] - y[k]).abs().powf(p)).powf(1.0 / p),
        Metric::Cosine | Metric::Correlation => {
            // scipy.spatial.distance.correlation(u, v, w, centered)
            let total: f64 = w.iter().sum();
            let (mx, my) = if metric == Metric::Correlation {
                (sum(&|k| w[k] * x[k]) / total, sum(&|k| w[k] * y[k]) / total)
            } else {
                (0.0, 0.0)
            };
            let uv = sum(&|k| w[k] * (x[k] - mx) * (y[k] - my));
            let uu = sum(&|k| w[k] * (x[k] - mx).powi(2));
            let vv = sum(&|k| w[k] * (y[k] - my).powi(2));
            let d = 1.0 - uv / (uu * vv).sqrt();
            if d.is_nan() { d } else { d.clamp(0.0, 2.0) }
        }
        Metric::Canberra => sum(&|k| {
            let den = x[k].abs() + y[k].abs();
            if den == 0.0 { 0.0 } else { w[k] * (x[k] - y[k]).abs() / den }
        }),
        Metric::Hamming => sum(&|k| if x[k] != y[k] { w[k] } else { 0.0 }) / w.iter().sum::<f64>(),
        Metric::JensenShannon => {
            // SciPy's C loop (jensenshannon_distance_double).
            if x.iter().chain(y).any(|&v| v < 0.0) {
                return f64::INFINITY;
            }
            let (sx, sy) = (x.iter().sum::<f64>(), y.iter().sum::<f64>());
            if sx == 0.0 || sy == 0.0 {
                return f64::INFINITY;
            }
            let mut s = 0.0;
            for k in 0..n {
                let (p, q) = (x[k] / sx, y[k] / sy);
                let m = (p + q) / 2.0;
                if p > 0.0 {
                    s += p * (p / m).ln();
                }
                if q > 0.0 {
                    s += q * (q / m).ln();
                }
            }
            (s / 2.0).sqrt()
        }
        Metric::BrayCurtis => sum(&|k| w[k] * (x[k] - y[k]).abs()) / sum(&|k| w[k] * (x[k] + y[k]).abs()),
        Metric::Jaccard => {
            // scipy.spatial.distance.jaccard: booleans u != 0 (NaN is nonzero).
            let unequal = sum(&|k| if (x[k] != 0.0) != (y[k] != 0.0) { w[k] } else { 0.0 });
            let nonzero = sum(&|k| if x[k] != 0.0 || y[k] != 0.0 { w[k] } else { 0.0 });
            if nonzero != 0.0 { unequal / nonzero } else { 0.0 }
        }
        m if BOOLEAN.contains(&m) => {
            // scipy.spatial.distance's boolean metrics (`_nbool_correspond_all`): the weighted
            // counts of the four cases of u != 0, v != 0 (NaN is nonzero), then each formula.
            let count = |a: bool, b: bool| sum(&|k| if (x[k] != 0.0) == a && (y[k] != 0.0) == b { w[k] } else { 0.0 });
            let (ntt, ntf, nft, nff) = (count(true, true), count(true, false), count(false, true), count(false, false));
            let r = 2.0 * (ntf + nft);
            match metric {
                Metric::Dice => (ntf + nft) / (2.0 * ntt + ntf + nft),
                Metric::Kulczynski1 => ntt / (ntf + nft),
                Metric::RogersTanimoto | Metric::SokalMichener => r / (ntt + nff + r),
                Metric::RussellRao => {
                    let total: f64 = w.iter().sum();
                    (total - ntt) / total
                }
                Metric::SokalSneath => r / (ntt + r),
                _ => {
                    let half_r = ntf * nft;
                    if half_r == 0.0 { 0.0 } else { 2.0 * half_r / (ntt * nff + half_r) }
                }
            }
        }
        Metric::SEuclidean | Metric::Mahalanobis => panic!("{metric} needs V or VI: use oracle_quadratic"),
        other => panic!("no oracle for {other} yet: add SciPy's formula here"),
    }
}

/// √((x − y)ᵀ A (x − y)): mahalanobis with `VI = A`, seuclidean with `A = diag(1/V)`.
pub fn oracle_quadratic(x: &[f32], y: &[f32], a: &Array2<f64>) -> f64 {
    let diff: Vec<f64> = x.iter().zip(y).map(|(&p, &q)| p as f64 - q as f64).collect();
    let mut s = 0.0;
    for i in 0..diff.len() {
        for j in 0..diff.len() {
            s += diff[i] * a[(i, j)] * diff[j];
        }
    }
    s.sqrt()
}

/// The inverse of a square matrix, by Gauss–Jordan elimination with partial pivoting.
pub fn inverse(a: &Array2<f64>) -> Array2<f64> {
    let n = a.nrows();
    let mut m = a.clone();
    let mut inv = Array2::<f64>::eye(n);
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| m[(i, c)].abs().total_cmp(&m[(j, c)].abs())).unwrap();
        for k in 0..n {
            m.swap((c, k), (p, k));
            inv.swap((c, k), (p, k));
        }
        let d = m[(c, c)];
        for k in 0..n {
            m[(c, k)] /= d;
            inv[(c, k)] /= d;
        }
        for r in (0..n).filter(|&r| r != c) {
            let f = m[(r, c)];
            for k in 0..n {
                m[(r, k)] -= f * m[(c, k)];
                inv[(r, k)] -= f * inv[(c, k)];
            }
        }
    }
    inv
}

/// 1e-5 relative plus an absolute term for the rounding of d f32 terms of size `scale`.
pub fn tolerance(metric: Metric, d: usize, scale: f64, want: f64) -> f64 {
    tolerance_in(f32::EPSILON as f64, 1e-5, metric, d, scale, want)
}

/// [`tolerance`] for results computed in f64: 1e-12 relative, and ε_f64 in the absolute term.
pub fn tolerance64(metric: Metric, d: usize, scale: f64, want: f64) -> f64 {
    tolerance_in(f64::EPSILON, 1e-12, metric, d, scale, want)
}

/// `rel` relative plus an absolute term for the rounding of d terms of size `scale` with
/// machine epsilon `eps`.
fn tolerance_in(eps: f64, rel: f64, metric: Metric, d: usize, scale: f64, want: f64) -> f64 {
    let root_d = (d.max(1) as f64).sqrt();
    let abs = match metric {
        Metric::SqEuclidean => 4.0 * root_d * eps * scale * scale,
        Metric::Euclidean | Metric::SEuclidean | Metric::Mahalanobis => (4.0 * root_d * eps).sqrt() * scale,
        Metric::Cityblock => 2.0 * root_d * eps * scale,
        // One rounded difference: no sum to grow with d.
        Metric::Chebyshev => 2.0 * eps * scale,
        Metric::Minkowski { p } => ((p + 2.0) * root_d * eps).powf(1.0 / p) * 2.0 * scale,
        // Unit rows rounded to f32: each difference moves by about ε.
        Metric::Cosine | Metric::Correlation => 4.0 * root_d * eps + 8.0 * eps * (2.0 * want.abs()).sqrt(),
        Metric::Canberra => 2.0 * d as f64 * eps,
        Metric::JensenShannon => (8.0 * root_d * eps).sqrt(),
        Metric::Hamming => 0.0,
        // A sum of non-negative terms over a denominator summed from the same points.
        Metric::BrayCurtis | Metric::Jaccard => 2.0 * root_d * eps * want.abs(),
        // Formulas in four counts: exact without weights; with them, counts of the total weight
        // off by about √d·ε of it (the tests' weights are sums of quarters, exact again).
        m if BOOLEAN.contains(&m) => 4.0 * root_d * eps * (1.0 + want.abs()),
        // `Metric` is non-exhaustive: a metric added to the library fails the tests here until
        // this oracle knows it.
        other => panic!("the tests' tolerance has no case for {other}"),
    };
    rel * want.abs() + abs
}

/// The reference lists of a k-nearest answer: for each of `n` rows, the `m` candidates
/// (without the row itself when `own`) sorted by (`distance(i, j)`, j), the first `k`.
pub fn knn_lists(
    n: usize,
    m: usize,
    k: usize,
    own: bool,
    distance: impl Fn(usize, usize) -> f64,
) -> Vec<Vec<(f64, i64)>> {
    (0..n)
        .map(|i| {
            let mut all: Vec<(f64, i64)> =
                (0..m).filter(|&j| !(own && i == j)).map(|j| (distance(i, j), j as i64)).collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            all.truncate(k);
            all
        })
        .collect()
}

/// Whether `got` is `want` within `tol`, or the same infinity, or both NaN.
pub fn close(got: f64, want: f64, tol: f64) -> bool {
    got == want || (got.is_nan() && want.is_nan()) || (got - want).abs() <= tol
}

/// Whether the metric is a function of the differences x − y alone, taken as IEEE arithmetic
/// says (NaN and Inf propagate, translation changes nothing).
pub fn of_differences(metric: Metric) -> bool {
    let def = metric.definition();
    def.prepare == pairdist::Prepare::None
        && def.denominator.is_none()
        && matches!(
            def.term,
            pairdist::Term::SquaredDifference | pairdist::Term::AbsoluteDifference | pairdist::Term::PowerDifference
        )
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
                close(g, want, tol),
                "{what}: {metric} at ({i}, {j}) of {}x{}x{}: got {g}, want {want}, tolerance {tol:e}",
                x.nrows(),
                y.nrows(),
                x.ncols()
            );
        }
    }
}

/// Seeded f64 points `offset + u`, u uniform in [0, 1): at an offset of 1e4, rounding them to
/// f32 (spacing 1e-3 there) moves their distances by about 1e-4 relative.
pub fn points64(seed: u64, n: usize, d: usize, offset: f64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || offset + rng.random_range(0.0..1.0))
}

/// The largest |coordinate| of `x` and `y`.
pub fn scale64(x: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    x.iter().chain(y.iter()).fold(0.0, |m: f64, v| m.max(v.abs()))
}

/// Asserts `got(i, j)` is the oracle's distance within [`tolerance64`] for every pair.
pub fn assert_matches64(
    what: &str,
    x: ArrayView2<f64>,
    y: ArrayView2<f64>,
    metric: Metric,
    got: impl Fn(usize, usize) -> f64,
) {
    let scale = scale64(x, y);
    for i in 0..x.nrows() {
        let xi = x.row(i).to_vec();
        for j in 0..y.nrows() {
            let want = oracle64(&xi, &y.row(j).to_vec(), metric);
            let (g, tol) = (got(i, j), tolerance64(metric, x.ncols(), scale, want));
            assert!(close(g, want, tol), "{what}: {metric} at ({i}, {j}): got {g:e}, want {want:e}, tolerance {tol:e}");
        }
    }
}
