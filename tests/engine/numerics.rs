//! Wrong numbers with exit status 0, found by adversarial testing of 0.1 (issue 7), and their
//! neighbours: every dimension summed at any `d`, accuracy that does not decay with `d`, and
//! `euclidean` exact across the whole f32 range. Each test here failed on 0.1.

use crate::support::{engines, oracle, with_tiles};
use ndarray::{Array1, Array2, ArrayView2, array};
use pairdist::plan::Region;
use pairdist::sink::{CondensedSink, MatrixSink};
use pairdist::{Backend, Engine, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded standard normal points (Box–Muller), the data the accuracy targets speak of.
fn normal(seed: u64, n: usize, d: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || {
        let (u, v): (f64, f64) = (rng.random_range(f64::MIN_POSITIVE..1.0), rng.random());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    })
}

/// |got − want| / |want|; 0 where they are equal (the same infinity included).
fn relative(got: f32, want: f64) -> f64 {
    let got = f64::from(got);
    if got == want { 0.0 } else { (got - want).abs() / want.abs().max(f64::MIN_POSITIVE) }
}

/// Normal points, made non-negative for jensenshannon (its rows are distributions; negative
/// entries give +inf everywhere, which would measure nothing).
fn for_metric(a: &Array2<f32>, metric: Metric) -> Array2<f32> {
    if metric == Metric::JensenShannon { a.mapv(f32::abs) } else { a.clone() }
}

/// The f64 oracle of every pair of rows of `x` and `y`, on all cores (the oracle's simple loop
/// is the slow part of these tests at d = 10⁵ and more).
fn oracle_matrix(x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric) -> Array2<f64> {
    use rayon::prelude::*;
    let rows = |a: ArrayView2<f32>| a.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let (xs, ys) = (rows(x), rows(y));
    let values: Vec<f64> = (0..xs.len() * ys.len())
        .into_par_iter()
        .map(|k| oracle(&xs[k / ys.len()], &ys[k % ys.len()], metric))
        .collect();
    Array2::from_shape_vec((xs.len(), ys.len()), values).expect("one value per pair")
}

/// The largest relative error of `got` against `want`, and where.
fn worst_relative(got: ArrayView2<f32>, want: &Array2<f64>) -> (f64, (usize, usize)) {
    let mut worst = (0.0, (0, 0));
    for ((at, &g), &w) in got.indexed_iter().zip(want.iter()) {
        let rel = relative(g, w);
        // NaN counts as the worst error.
        if rel.is_nan() || rel > worst.0 {
            worst = (rel, at);
        }
    }
    worst
}

/// Every way a matrix leaves an engine, against the oracle's matrices of `x` against `y` and
/// against itself: allocated, streamed through a sink in tiles, and condensed (`pdist`,
/// compared with the upper triangle); with `matrix_only`, the first alone (the three differ
/// only in where tiles go, not in how passes sum, and on lavapipe every pass of 4096
/// dimensions costs tens of milliseconds whatever the rows: a million dimensions three ways,
/// minutes).
fn assert_relative_to(
    engine: &Engine,
    name: &str,
    (x, y): (ArrayView2<f32>, ArrayView2<f32>),
    (metric, bound, matrix_only): (Metric, f64, bool),
    (want, want_own): (&Array2<f64>, &Array2<f64>),
) {
    let shape = format!("{}x{}x{}", x.nrows(), y.nrows(), x.ncols());
    let got = engine.cdist(x, y, metric).unwrap();
    let (rel, at) = worst_relative(got.view(), want);
    assert!(rel <= bound, "{name} {metric} {shape}: relative error {rel:e} at {at:?} (bound {bound:e})");
    if matrix_only {
        return;
    }

    let mut streamed = Array2::from_elem((x.nrows(), y.nrows()), f32::NAN);
    engine.cdist_to(x, y, metric, &mut MatrixSink::new(streamed.view_mut())).unwrap();
    let (rel, at) = worst_relative(streamed.view(), want);
    assert!(rel <= bound, "{name} {metric} {shape} streamed: relative error {rel:e} at {at:?}");

    let condensed = engine.pdist(x, metric).unwrap();
    let (n, mut k) = (x.nrows(), 0);
    for i in 0..n {
        for j in i + 1..n {
            let rel = relative(condensed[k], want_own[(i, j)]);
            assert!(rel <= bound, "{name} {metric} pdist of {shape}: ({i}, {j}) relative error {rel:e}");
            k += 1;
        }
    }
}

#[test]
fn every_dimension_is_summed_around_the_shader_loop_limit() {
    // 0.1 on lavapipe stopped summing after about 49 932 dimensions (65 535 with the naive
    // kernel): the driver ends loops after 65 535 iterations per invocation, counted over all
    // loops, and the plan let one pass run that long.
    // The limit counts loop iterations, whatever the term: a sum and a max suffice here (every
    // term's own accuracy at large d is the next test's).
    for d in [65_535, 65_536, 65_537, 131_073] {
        let x = normal(d as u64, 5, d);
        let y = normal(d as u64 + 1, 3, d);
        for metric in [Metric::Euclidean, Metric::Chebyshev] {
            let (x, y) = (for_metric(&x, metric), for_metric(&y, metric));
            let want = (&oracle_matrix(x.view(), y.view(), metric), &oracle_matrix(x.view(), x.view(), metric));
            for (name, engine) in engines() {
                // The limit is the GPU's: the three outputs once, past it the matrix.
                assert_relative_to(engine, name, (x.view(), y.view()), (metric, 1e-5, d > 65_537), want);
            }
        }
    }
}

#[test]
fn relative_error_stays_below_1e_5_up_to_a_million_dimensions() {
    // 0.1 summed in plain running f32 sums: 1.3e-5 at d = 100 000 on the CPU.
    for (n, m, d) in [(3, 3, 100_000), (64, 64, 50_000), (4, 3, 1_000_000)] {
        let x = normal(7 + d as u64, n, d);
        let y = normal(8 + d as u64, m, d);
        // Every term at d = 100 000; the sums of differences on the larger problems too (the
        // logarithms and powers of the others are slow on lavapipe, not less accurate), and at
        // a million dimensions the two sums (of squares, of absolute values) whose rounding
        // grows with d: a max does not accumulate, and euclidean's root is sqeuclidean's sum.
        let metrics = match (d, n * m * d) {
            (1_000_000.., _) => &[Metric::SqEuclidean, Metric::Cityblock][..],
            (_, 1_000_001..) => &Metric::KERNELS[..4],
            _ => &Metric::KERNELS[..],
        };
        for &metric in metrics {
            let (x, y) = (for_metric(&x, metric), for_metric(&y, metric));
            let want = (&oracle_matrix(x.view(), y.view(), metric), &oracle_matrix(x.view(), x.view(), metric));
            for (name, engine) in engines() {
                // Every output at d = 50 000 (on the 64 x 64 case); the matrix beyond.
                assert_relative_to(engine, name, (x.view(), y.view()), (metric, 1e-5, d > 50_000), want);
            }
        }
    }
}

#[test]
fn euclidean_does_not_overflow_below_the_largest_f32() {
    // SciPy: 1e20, 8.06e19, 5e19. 0.1 gave inf for every off-diagonal entry.
    let cases = [
        array![[1e20f32, 0.0], [0.0, 0.0], [3e19, 4e19]],
        // Distances just below f32::MAX, and coordinates whose differences overflow f32.
        array![[1.5e38f32, 0.0], [-1.5e38, 0.0], [0.0, 1e38], [3e38, 3e38]],
        // Many moderate coordinates: the squared sum passes f32::MAX, the distance does not.
        Array2::from_shape_fn((3, 1000), |(i, k)| if i == 0 { 0.0 } else { 1e18 * (1.0 + (i * k % 7) as f32) }),
    ];
    for x in &cases {
        for (name, engine) in engines() {
            assert_exact_euclidean(engine, name, x.view());
        }
        // Many tiles, so the fix-up also meets blocks that do not start at row 0.
        for backend in [Backend::Gpu, Backend::Cpu] {
            let engine = with_tiles(backend, 4096);
            assert_exact_euclidean(&engine, &format!("{backend:?} small tiles"), x.view());
        }
    }
}

#[test]
fn the_generic_cpu_functions_fix_f32_extremes_too() {
    let x = array![[1e20f32, 0.0], [0.0, 0.0], [3e19, 4e19], [1e-30, 0.0]];
    let d = pairdist::cpu::cdist(x.view(), x.view(), Metric::Euclidean).unwrap();
    let p = pairdist::cpu::pdist(x.view(), Metric::Euclidean).unwrap();
    for (i, j, want) in [(0, 1, 1e20), (1, 2, 5e19), (1, 3, 1e-30)] {
        let rel = |got: f32| (got as f64 - want).abs() / want;
        assert!(rel(d[(i, j)]) < 1e-6, "cdist ({i}, {j}) is {}", d[(i, j)]);
        assert!(rel(p[4 * i - i * (i + 1) / 2 + (j - i - 1)]) < 1e-6, "pdist ({i}, {j})");
    }
}

#[test]
fn euclidean_does_not_underflow_above_the_smallest_f32() {
    // Squares of differences below 1e-19 underflow f32 (GPUs flush them to zero), but the
    // distances are ordinary f32 values.
    let cases = [
        array![[1e-30f32, 0.0], [0.0, 0.0], [3e-31, 4e-31]],
        array![[1e-22f32, 2e-22, 0.0], [0.0, 0.0, 0.0], [-3e-23, 1e-23, 5e-23]],
        Array2::from_shape_fn((4, 300), |(i, k)| (i as f32 + 1.0) * 1e-25 * ((k % 5) as f32 - 2.0)),
    ];
    for x in &cases {
        for (name, engine) in engines() {
            assert_exact_euclidean(engine, name, x.view());
        }
    }
}

/// `euclidean` of the rows of `x` against themselves: every entry within 2.5 ε of the f64 value.
fn assert_exact_euclidean(engine: &Engine, name: &str, x: ArrayView2<f32>) {
    let n = x.nrows();
    let want =
        Array2::from_shape_fn((n, n), |(i, j)| oracle(&x.row(i).to_vec(), &x.row(j).to_vec(), Metric::Euclidean));
    // Distances beyond f32::MAX are inf in f32, as NumPy's float32 cast gives.
    let close = |got: f32, want: f64| match want > f32::MAX as f64 {
        true => got == f32::INFINITY,
        false => (got as f64 - want).abs() <= 2.5 * f32::EPSILON as f64 * want,
    };
    let full = engine.cdist(x, x, Metric::Euclidean).unwrap();
    let mut streamed = Array2::from_elem((n, n), f32::NAN);
    engine.cdist_to(x, x, Metric::Euclidean, &mut MatrixSink::new(streamed.view_mut())).unwrap();
    for (how, got) in [("cdist", &full), ("cdist_to", &streamed)] {
        for ((i, j), &w) in want.indexed_iter() {
            assert!(close(got[(i, j)], w), "{name} {how}: ({i}, {j}) is {}, want {w:e}", got[(i, j)]);
        }
    }
    let condensed = engine.pdist(x, Metric::Euclidean).unwrap();
    let mut streamed = Array1::from_elem(n * (n - 1) / 2, f32::NAN);
    let sink = &mut CondensedSink::new(n, streamed.as_slice_mut().unwrap());
    engine.pdist_to(x, Metric::Euclidean, sink).unwrap();
    let mut k = 0;
    for i in 0..n {
        for j in i + 1..n {
            assert!(close(condensed[k], want[(i, j)]), "{name} pdist: ({i}, {j}) is {}", condensed[k]);
            assert!(close(streamed[k], want[(i, j)]), "{name} pdist_to: ({i}, {j}) is {}", streamed[k]);
            k += 1;
        }
    }
}

#[test]
fn plans_bound_the_dimensions_of_every_pass() {
    // The planner's own promise, checked on the engine a user builds.
    for (name, engine) in engines() {
        for d in [1, 4096, 65_537, 1_000_000, 10_000_000] {
            let plan = engine.plan(2, 2, d, Region::Full).unwrap();
            let chunks: Vec<_> = plan.dim_chunks().collect();
            assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), d, "{name} d = {d}");
            if name == "gpu" {
                assert!(chunks.iter().all(|c| c.len() <= pairdist::plan::MAX_DIMS_PER_PASS), "{name} d = {d}");
            }
        }
    }
}

/// Weights inside the kernels: `w·|x − y|^q` in f32 can leave the range
/// where its factors do not, and the other way round. Each entry is within a few ε of SciPy's
/// f64 value, rounded once to f32.
#[test]
fn weighted_terms_do_not_overflow_or_underflow_where_the_distance_does_not() {
    let cases: [(Array2<f32>, Vec<f64>); 4] = [
        // (1e20)² overflows f32; times 1e-30 it is 1e10.
        (array![[1e20f32, 1.0], [0.0, 0.0], [-1e20, 3.0]], vec![1e-30, 1.0]),
        // 1e-50 is 0 in f32; the weighted sum 1e-50 is not, nor its root.
        (array![[1.0f32, 0.0], [0.0, 0.0], [2.0, 0.0]], vec![1e-50, 0.0]),
        // (1e-30)² underflows f32; times 1e40 it is 1e-20.
        (array![[1e-30f32, 0.0], [0.0, 0.0], [3e-30, 0.0]], vec![1e40, 1.0]),
        // 1e30 · 1² is fine, but 1e30 · (1e5)² = 1e40 overflows where the distance 1e20 does not.
        (array![[1e5f32, 0.0], [0.0, 1.0], [-1e5, 2.0]], vec![1e30, 1.0]),
    ];
    for (x, w) in &cases {
        let metrics = [
            Metric::Euclidean,
            Metric::SqEuclidean,
            Metric::Cityblock,
            Metric::minkowski(3.0).unwrap(),
            // Canberra's and hamming's terms are at most 1, but a weight of 1e40 is inf in f32.
            Metric::Canberra,
            Metric::Hamming,
        ];
        for metric in metrics {
            let distance = pairdist::Distance::new(metric).with_weights(w.clone()).unwrap();
            for (name, engine) in engines() {
                let got = engine.cdist(x.view(), x.view(), &distance).unwrap();
                let pairs = engine.pdist(x.view(), &distance).unwrap();
                let n = x.nrows();
                for i in 0..n {
                    for j in 0..n {
                        let want = crate::support::oracle_weighted(&x.row(i).to_vec(), &x.row(j).to_vec(), metric, w);
                        // What the f32 result should be: SciPy's value rounded once (inf
                        // beyond f32::MAX, 0 below the smallest subnormal).
                        let want = f64::from(want as f32);
                        let ok = |g: f32| {
                            f64::from(g) == want || (f64::from(g) - want).abs() <= 4.0 * f64::from(f32::EPSILON) * want
                        };
                        assert!(ok(got[(i, j)]), "{name} {metric} w {w:?} ({i}, {j}): {} vs {want:e}", got[(i, j)]);
                        if i < j {
                            let g = pairs[n * i - i * (i + 1) / 2 + (j - i - 1)];
                            assert!(ok(g), "{name} pdist {metric} w {w:?} ({i}, {j}): {g} vs {want:e}");
                        }
                    }
                }
            }
        }
    }
}

/// Rows of normal coordinates, row `i` scaled by `scale(i)`: the scaled points and the rows
/// unscaled (whose cosine and correlation are the exact answers, both metrics being invariant
/// under a positive scale of either row).
fn scaled_rows(seed: u64, n: usize, d: usize, scale: impl Fn(usize) -> f64) -> (Array2<f64>, Array2<f64>) {
    let base = normal(seed, n, d).mapv(f64::from);
    let mut scaled = base.clone();
    for (i, mut row) in scaled.rows_mut().into_iter().enumerate() {
        row.mapv_inplace(|v| v * scale(i));
    }
    (scaled, base)
}

#[test]
fn float64_cosine_and_correlation_hold_where_squared_norms_leave_the_range() {
    // Issue 24, item 1: |x| above about 1.3e154 or below about 1e-154 squares to ∞ or 0 in
    // f64. Scales 1e-300..1e300, and closely around both thresholds.
    let exponents: Vec<i32> =
        [-300, -250, -200, -160].into_iter().chain(-157..=-150).chain(150..=157).chain([160, 200, 250, 300]).collect();
    let scale = |i: usize| 10f64.powi(exponents[i % exponents.len()]);
    let (x, xb) = scaled_rows(81, 2 * exponents.len(), 9, scale);
    let (y, yb) = scaled_rows(82, exponents.len() + 3, 9, |j| scale(j + 5));
    for metric in [Metric::Cosine, Metric::Correlation] {
        let want = |a: &Array2<f64>, i: usize, b: &Array2<f64>, j: usize| {
            crate::support::oracle64(&a.row(i).to_vec(), &b.row(j).to_vec(), metric)
        };
        for (name, engine) in engines() {
            let what = format!("{name} f64 {metric}");
            let got = engine.cdist(x.view(), y.view(), metric).unwrap();
            for ((i, j), &g) in got.indexed_iter() {
                let w = want(&xb, i, &yb, j);
                assert!(
                    (g - w).abs() <= 1e-12,
                    "{what} ({i}, {j}) at scales {:e}, {:e}: {g} vs {w}",
                    scale(i),
                    scale(j + 5)
                );
            }
            // knn: the neighbours of the exact distances (no ties among normal rows).
            let k = 4;
            let nn = engine.knn(x.view(), y.view(), k, metric).unwrap();
            let lists = crate::support::knn_lists(x.nrows(), y.nrows(), k, false, |i, j| want(&xb, i, &yb, j));
            for (i, list) in lists.iter().enumerate() {
                for (c, &(w, j)) in list.iter().enumerate() {
                    assert_eq!(nn.indices[(i, c)], j, "{what} knn row {i} rank {c}");
                    assert!((nn.distances[(i, c)] - w).abs() <= 1e-12, "{what} knn row {i} rank {c}");
                }
            }
            let condensed = engine.pdist(x.view(), metric).unwrap();
            let pairs = (0..x.nrows()).flat_map(|i| (i + 1..x.nrows()).map(move |j| (i, j)));
            for ((i, j), &g) in pairs.zip(condensed.iter()) {
                let w = want(&xb, i, &xb, j);
                assert!((g - w).abs() <= 1e-12, "{what} pdist ({i}, {j}): {g} vs {w}");
            }
        }
    }
    // The issue's own rows: 1e200, the smallest subnormal and 1e-200 along the axes.
    let x = array![[1e200, 0.0], [5e-324, 0.0], [1e-200, 1e-200]];
    let unit = array![[1.0, 0.0], [1.0, 0.0], [1.0, 1.0]];
    for (name, engine) in engines() {
        let got = engine.cdist(x.view(), x.view(), Metric::Cosine).unwrap();
        for ((i, j), &g) in got.indexed_iter() {
            let w = crate::support::oracle64(&unit.row(i).to_vec(), &unit.row(j).to_vec(), Metric::Cosine);
            assert!((g - w).abs() <= 1e-12, "{name} cosine of the issue's rows ({i}, {j}): {g} vs {w}");
        }
    }
}
