//! SciPy's parameters (`p`, `w`, `V`, `VI`) on both backends, against the oracle's own
//! weighted formulas, quadratic forms and matrix inverse (tests/support), and their errors.

use crate::support::{
    close, engines, inverse, knn_lists, oracle, oracle_quadratic, oracle_weighted, points, tolerance, tolerance64,
};
use ndarray::{Array2, ArrayView2};
use pairdist::{Distance, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Asserts `got` (x against y) equals `want(i, j)` within the f32 tolerance of `metric`.
fn assert_all(
    what: &str,
    got: ArrayView2<f32>,
    metric: Metric,
    d: usize,
    scale: f64,
    want: impl Fn(usize, usize) -> f64,
) {
    for ((i, j), &g) in got.indexed_iter() {
        let w = want(i, j);
        let tol = tolerance(metric, d, scale, w);
        assert!(close(g as f64, w, tol), "{what}: ({i}, {j}) got {g}, want {w}, tolerance {tol:e}");
    }
}

/// Condensed `(i, j)`, `i < j`, of `n` points, as a flat index.
fn condensed_at(n: usize, i: usize, j: usize) -> usize {
    n * i - i * (i + 1) / 2 + (j - i - 1)
}

fn row(a: &Array2<f32>, i: usize) -> Vec<f32> {
    a.row(i).to_vec()
}

/// Weights with a zero and a spread of sizes.
fn weights(d: usize) -> Vec<f64> {
    (0..d).map(|k| if k == 1 { 0.0 } else { 0.25 + (k * 7 % 5) as f64 }).collect()
}

const WEIGHTED: [Metric; 12] = [
    Metric::Euclidean,
    Metric::SqEuclidean,
    Metric::Cityblock,
    Metric::Chebyshev,
    Metric::Minkowski { p: 0.5 },
    Metric::Minkowski { p: 1.5 },
    Metric::Minkowski { p: 3.0 },
    Metric::Minkowski { p: f64::INFINITY },
    Metric::Cosine,
    Metric::Correlation,
    Metric::Canberra,
    Metric::Hamming,
];

#[test]
fn weights_follow_scipys_weighted_formulas() {
    let (n, m, d) = (37, 70, 9);
    let x = points(1, n, d, -2.0, 2.0);
    let y = points(2, m, d, -2.0, 2.0);
    let w = weights(d);
    for metric in WEIGHTED {
        let distance = Distance::new(metric).with_weights(w.clone()).unwrap();
        for (name, engine) in engines() {
            let what = format!("{name} weighted {metric}");
            let got = engine.cdist(x.view(), y.view(), &distance).unwrap();
            assert_all(&what, got.view(), metric, d, 8.0, |i, j| oracle_weighted(&row(&x, i), &row(&y, j), metric, &w));
            let condensed = engine.pdist(x.view(), &distance).unwrap();
            for i in 0..n {
                for j in i + 1..n {
                    let want = oracle_weighted(&row(&x, i), &row(&x, j), metric, &w);
                    let g = condensed[condensed_at(n, i, j)] as f64;
                    assert!(close(g, want, tolerance(metric, d, 8.0, want)), "{what} pdist ({i}, {j}): {g} vs {want}");
                }
            }
        }
    }
}

#[test]
fn minkowski_takes_any_p_and_reaches_the_fast_kernels() {
    let x = points(3, 40, 11, -3.0, 3.0);
    let y = points(4, 66, 11, -3.0, 3.0);
    // Every whole p with a kernel of its own on the CPU (3..=8), one past them, fractional ones.
    for p in [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, f64::INFINITY] {
        let metric = Metric::minkowski(p).unwrap();
        for (name, engine) in engines() {
            let got = engine.cdist(x.view(), y.view(), metric).unwrap();
            assert_all(&format!("{name} {metric}"), got.view(), metric, 11, 3.0, |i, j| {
                oracle(&row(&x, i), &row(&y, j), metric)
            });
            // p = 1, 2, ∞ run the cityblock, euclidean and chebyshev kernels: the same numbers.
            let twin = match p {
                1.0 => Some(Metric::Cityblock),
                2.0 => Some(Metric::Euclidean),
                f64::INFINITY => Some(Metric::Chebyshev),
                _ => None,
            };
            if let Some(twin) = twin {
                assert_eq!(got, engine.cdist(x.view(), y.view(), twin).unwrap(), "{name} {metric} vs {twin}");
            }
        }
    }
}

/// The variances (ddof 1) of the columns of the stacked rows, written out here.
fn variances(rows: &[&Array2<f32>]) -> Vec<f64> {
    let all: Vec<Vec<f64>> =
        rows.iter().flat_map(|a| a.rows().into_iter().map(|r| r.iter().map(|&v| v as f64).collect())).collect();
    let (n, d) = (all.len() as f64, all[0].len());
    (0..d)
        .map(|k| {
            let mean = all.iter().map(|r| r[k]).sum::<f64>() / n;
            all.iter().map(|r| (r[k] - mean).powi(2)).sum::<f64>() / (n - 1.0)
        })
        .collect()
}

/// The covariance (ddof 1) of the columns of the stacked rows, written out here.
fn covariance(rows: &[&Array2<f32>]) -> Array2<f64> {
    let all: Vec<Vec<f64>> =
        rows.iter().flat_map(|a| a.rows().into_iter().map(|r| r.iter().map(|&v| v as f64).collect())).collect();
    let (n, d) = (all.len() as f64, all[0].len());
    let mean: Vec<f64> = (0..d).map(|k| all.iter().map(|r| r[k]).sum::<f64>() / n).collect();
    Array2::from_shape_fn((d, d), |(a, b)| {
        all.iter().map(|r| (r[a] - mean[a]) * (r[b] - mean[b])).sum::<f64>() / (n - 1.0)
    })
}

fn diagonal(v: &[f64]) -> Array2<f64> {
    Array2::from_shape_fn((v.len(), v.len()), |(i, j)| if i == j { 1.0 / v[i] } else { 0.0 })
}

#[test]
fn seuclidean_with_v_given_and_by_default() {
    let (n, m, d) = (30, 45, 6);
    let x = points(5, n, d, -1.0, 1.0);
    let y = points(6, m, d, 0.0, 4.0);
    let given: Vec<f64> = (0..d).map(|k| 0.5 + k as f64).collect();
    for (name, engine) in engines() {
        let with_v = Distance::new(Metric::SEuclidean).with_variances(given.clone()).unwrap();
        let got = engine.cdist(x.view(), y.view(), &with_v).unwrap();
        let a = diagonal(&given);
        assert_all(&format!("{name} seuclidean V"), got.view(), Metric::SEuclidean, d, 4.0, |i, j| {
            oracle_quadratic(&row(&x, i), &row(&y, j), &a)
        });

        // SciPy's default: the variances of XA stacked on XB for cdist, of X alone for pdist.
        let got = engine.cdist(x.view(), y.view(), Metric::SEuclidean).unwrap();
        let a = diagonal(&variances(&[&x, &y]));
        assert_all(&format!("{name} seuclidean"), got.view(), Metric::SEuclidean, d, 4.0, |i, j| {
            oracle_quadratic(&row(&x, i), &row(&y, j), &a)
        });
        let condensed = engine.pdist(x.view(), Metric::SEuclidean).unwrap();
        let a = diagonal(&variances(&[&x]));
        let want = oracle_quadratic(&row(&x, 3), &row(&x, 17), &a);
        assert!(close(condensed[condensed_at(n, 3, 17)] as f64, want, 1e-5 * want), "{name} seuclidean pdist");
    }
}

#[test]
fn mahalanobis_with_vi_given_and_by_default() {
    let (n, m, d) = (40, 50, 5);
    let x = points(7, n, d, -1.0, 1.0);
    let y = points(8, m, d, -1.0, 2.0);
    // Positive definite and not symmetric: the quadratic form sees its symmetric part only.
    let b = points(9, d, d, -1.0, 1.0).mapv(f64::from);
    let mut vi = b.t().dot(&b) + Array2::<f64>::eye(d);
    vi[(0, 1)] += 0.3;
    vi[(1, 0)] -= 0.3;
    for (name, engine) in engines() {
        let given = Distance::new(Metric::Mahalanobis).with_inverse_covariance(vi.clone()).unwrap();
        let got = engine.cdist(x.view(), y.view(), &given).unwrap();
        assert_all(&format!("{name} mahalanobis VI"), got.view(), Metric::Mahalanobis, d, 8.0, |i, j| {
            oracle_quadratic(&row(&x, i), &row(&y, j), &vi)
        });

        let default_vi = inverse(&covariance(&[&x, &y]));
        let got = engine.cdist(x.view(), y.view(), Metric::Mahalanobis).unwrap();
        assert_all(&format!("{name} mahalanobis"), got.view(), Metric::Mahalanobis, d, 8.0, |i, j| {
            oracle_quadratic(&row(&x, i), &row(&y, j), &default_vi)
        });
        // The defaults made explicit give the same matrix.
        let filled = Distance::new(Metric::Mahalanobis).with_defaults(x.view(), Some(y.view())).unwrap();
        let explicit = filled.inverse_covariance().unwrap();
        assert!(explicit.iter().zip(&default_vi).all(|(a, b)| (a - b).abs() <= 1e-9 * (1.0 + b.abs())));
        let again = engine.cdist(x.view(), y.view(), &filled).unwrap();
        // Exactly the default's numbers: the default's own map, not VI formed and factored again
        // (which differed by an ulp of f32 here, 3e-7 in pairdist.dask).
        assert_eq!(again, got, "{name} mahalanobis filled");
    }
}

#[test]
fn answers_take_parameters_too() {
    let x = points(10, 25, 4, -1.0, 1.0);
    let y = points(11, 300, 4, -1.0, 1.0);
    let w = vec![1.0, 0.0, 4.0, 0.5];
    let distances = [
        (Distance::new(Metric::Euclidean).with_weights(w.clone()).unwrap(), Metric::Euclidean),
        (
            Distance::new(Metric::minkowski(3.0).unwrap()).with_weights(w.clone()).unwrap(),
            Metric::minkowski(3.0).unwrap(),
        ),
        (Distance::new(Metric::Cosine).with_weights(w.clone()).unwrap(), Metric::Cosine),
    ];
    for (distance, metric) in &distances {
        let exact = |i: usize, j: usize| oracle_weighted(&row(&x, i), &row(&y, j), *metric, &w);
        for (name, engine) in engines() {
            let nn = engine.knn(x.view(), y.view(), 5, distance).unwrap();
            for i in 0..x.nrows() {
                let mut all: Vec<f64> = (0..y.nrows()).map(|j| exact(i, j)).collect();
                all.sort_by(f64::total_cmp);
                for (c, &want) in all.iter().take(5).enumerate() {
                    let j = nn.indices[(i, c)] as usize;
                    let tol = 2.0 * tolerance(*metric, 4, 8.0, want);
                    assert!((exact(i, j) - want).abs() <= tol, "{name} {metric} knn row {i} rank {c}");
                }
            }
            let r = all_quantile(&exact, x.nrows(), y.nrows());
            let pairs = engine.radius(x.view(), y.view(), r as f32, distance, usize::MAX).unwrap();
            for p in 0..pairs.len() {
                let want = exact(pairs.rows[p] as usize, pairs.cols[p] as usize);
                assert!(want <= r + tolerance(*metric, 4, 8.0, r), "{name} {metric} radius pair {p}");
            }
            let inside = (0..x.nrows())
                .flat_map(|i| (0..y.nrows()).map(move |j| (i, j)))
                .filter(|&(i, j)| exact(i, j) < r * (1.0 - 1e-4))
                .count();
            assert!(pairs.len() >= inside, "{name} {metric}: {} pairs within r, {inside} clearly inside", pairs.len());
        }
    }
}

/// canberra's and hamming's weights multiply each term inside the kernels (no change of
/// coordinates stands for them): every answer on both engines (and the GPU's select epilogue),
/// f32 and f64, on small integers (where hamming ties and canberra has 0/0 terms), with a zero
/// weight, and with weights that are all zero (SciPy: canberra 0, hamming 0/0 = NaN).
#[test]
fn canberra_and_hamming_weigh_each_term_in_every_answer() {
    use pairdist::{Backend, Engine, EngineOptions};
    let (n, m, d) = (23, 150, 7);
    let x = points(15, n, d, -2.0, 3.0).mapv(f32::floor);
    let y = points(16, m, d, -2.0, 3.0).mapv(f32::floor);
    let (x64, y64) = (x.mapv(f64::from), y.mapv(f64::from));
    let select = Engine::with_options(EngineOptions {
        backend: Backend::Gpu,
        reduce_on_device: Some(true),
        ..Default::default()
    })
    .unwrap();
    let all = [engines()[0], engines()[1], ("gpu select", &select)];
    let w = weights(d);
    for metric in [Metric::Canberra, Metric::Hamming] {
        let distance = Distance::new(metric).with_weights(w.clone()).unwrap();
        let exact = |i: usize, j: usize| oracle_weighted(&row(&x, i), &row(&y, j), metric, &w);
        let own = |i: usize, j: usize| oracle_weighted(&row(&x, i), &row(&x, j), metric, &w);
        let tol = |want: f64| 2.0 * tolerance(metric, d, 3.0, want);
        let k = 6;
        let (want_knn, want_self) = (knn_lists(n, m, k, false, exact), knn_lists(n, n, k, true, own));
        // Hamming's weights (quarters) sum exactly, so its lists are the reference's exactly.
        let same_lists = |what: &str,
                          got: &pairdist::Neighbors<f32>,
                          want: &[Vec<(f64, i64)>],
                          exact: &dyn Fn(usize, usize) -> f64| {
            for (i, want_row) in want.iter().enumerate() {
                for (c, &(wd, wj)) in want_row.iter().enumerate() {
                    let (j, g) = (got.indices[(i, c)], got.distances[(i, c)] as f64);
                    assert!(close(g, wd, tol(wd)), "{what} row {i} rank {c}: {g} vs {wd}");
                    assert!(close(exact(i, j as usize), wd, tol(wd)), "{what} row {i} rank {c}: index {j}");
                    if metric == Metric::Hamming {
                        assert_eq!(j, wj, "{what} row {i} rank {c}");
                    }
                }
            }
        };
        for (name, engine) in all {
            let what = format!("{name} weighted {metric}");
            let got = engine.cdist(x.view(), y.view(), &distance).unwrap();
            assert_all(&what, got.view(), metric, d, 3.0, exact);
            let got64 = engine.cdist(x64.view(), y64.view(), &distance).unwrap();
            for ((i, j), &g) in got64.indexed_iter() {
                let want = exact(i, j);
                assert!(close(g, want, tolerance64(metric, d, 3.0, want)), "{what} f64 ({i}, {j}): {g} vs {want}");
            }
            let condensed = engine.pdist(x.view(), &distance).unwrap();
            for i in 0..n {
                for j in i + 1..n {
                    let (g, want) = (condensed[condensed_at(n, i, j)] as f64, own(i, j));
                    assert!(close(g, want, tol(want)), "{what} pdist ({i}, {j}): {g} vs {want}");
                }
            }
            same_lists(
                &format!("{what} knn"),
                &engine.knn(x.view(), y.view(), k, &distance).unwrap(),
                &want_knn,
                &exact,
            );
            same_lists(
                &format!("{what} knn_self"),
                &engine.knn_self(x.view(), k, &distance).unwrap(),
                &want_self,
                &own,
            );
            let (nearest, dist) = engine.argmin(x.view(), y.view(), &distance).unwrap();
            for i in 0..n {
                let want = want_knn[i][0].0;
                assert!(close(dist[i] as f64, want, tol(want)), "{what} argmin {i}");
                assert!(close(exact(i, nearest[i] as usize), want, tol(want)), "{what} argmin {i}: index");
            }
            let r = all_quantile(&exact, n, m);
            let pairs = engine.radius(x.view(), y.view(), r as f32, &distance, usize::MAX).unwrap();
            for p in 0..pairs.len() {
                let want = exact(pairs.rows[p] as usize, pairs.cols[p] as usize);
                assert!(want <= r + tol(r), "{what} radius pair {p}: {want} > {r}");
            }
            let inside =
                (0..n).flat_map(|i| (0..m).map(move |j| (i, j))).filter(|&(i, j)| exact(i, j) < r - tol(r)).count();
            assert!(pairs.len() >= inside, "{what} radius: {} pairs, {inside} clearly inside", pairs.len());
        }
        // Weights all zero: every canberra term is 0; hamming's mean is 0/0.
        let zero = Distance::new(metric).with_weights(vec![0.0; d]).unwrap();
        for (name, engine) in engines() {
            let got = engine.cdist(x.view(), y.view(), &zero).unwrap();
            let got64 = engine.cdist(x64.view(), y64.view(), &zero).unwrap();
            match metric {
                Metric::Hamming => {
                    assert!(got.iter().all(|v| v.is_nan()) && got64.iter().all(|v| v.is_nan()), "{name}")
                }
                _ => assert!(got.iter().all(|&v| v == 0.0) && got64.iter().all(|&v| v == 0.0), "{name}"),
            }
        }
    }
}

/// A radius holding about a tenth of the pairs.
fn all_quantile(exact: &impl Fn(usize, usize) -> f64, n: usize, m: usize) -> f64 {
    let mut all: Vec<f64> = (0..n).flat_map(|i| (0..m).map(move |j| (i, j))).map(|(i, j)| exact(i, j)).collect();
    all.sort_by(f64::total_cmp);
    all[all.len() / 10]
}

#[test]
fn nan_distances_come_last_in_knn_on_every_path() {
    // Zero rows have no direction: their cosine distance is NaN (SciPy's), which sorts after
    // every number, on the CPU, the GPU reading tiles back, and the GPU's select epilogue.
    use pairdist::{Backend, Engine, EngineOptions};
    let mut y = points(12, 90, 3, -1.0, 1.0);
    for j in [0, 7, 50] {
        y.row_mut(j).fill(0.0);
    }
    let x = points(13, 20, 3, -1.0, 1.0);
    let device = Engine::with_options(EngineOptions {
        backend: Backend::Gpu,
        reduce_on_device: Some(true),
        ..Default::default()
    })
    .unwrap();
    let cpu = crate::support::cpu();
    let want = cpu.knn(x.view(), y.view(), 90, Metric::Cosine).unwrap();
    for i in 0..x.nrows() {
        let tail: Vec<i64> = want.indices.row(i).iter().skip(87).copied().collect();
        assert_eq!(tail, vec![0, 7, 50], "cpu row {i}: NaN last, by index");
        assert!(want.distances.row(i).iter().skip(87).all(|v| v.is_nan()));
    }
    for (name, engine) in [("gpu", crate::support::gpu()), ("gpu select", &device)] {
        for k in [3, 90] {
            let got = engine.knn(x.view(), y.view(), k, Metric::Cosine).unwrap();
            for i in 0..x.nrows() {
                let (g, w) =
                    (got.indices.row(i).to_vec(), want.indices.row(i).iter().take(k).copied().collect::<Vec<_>>());
                // The order may differ where distances tie within rounding; the NaN tail may not.
                if k == 90 {
                    assert_eq!(&g[87..], &w[87..], "{name} row {i}");
                }
                assert!(
                    got.distances.row(i).iter().take(k.min(87)).all(|v| !v.is_nan()),
                    "{name} row {i}: a NaN before a number"
                );
            }
        }
    }
}

#[test]
fn bad_parameters_are_one_line_errors() {
    let x = points(14, 6, 3, 0.0, 1.0);
    let engine = crate::support::cpu();
    let err = |r: pairdist::Result<Distance>| r.unwrap_err().to_string();
    let run = |d: Distance| engine.cdist(x.view(), x.view(), &d).unwrap_err().to_string();
    // pdist of two points in three dimensions: a singular covariance, whatever the values.
    let few = |m: Metric| engine.pdist(x.slice(ndarray::s![..2, ..]), m).unwrap_err().to_string();
    let cases = [
        (
            err(Distance::new(Metric::Euclidean).with_weights(vec![1.0, -1.0, 1.0])),
            "Input weights should be all non-negative",
        ),
        (
            err(Distance::new(Metric::Euclidean).with_weights(vec![1.0, f64::NAN, 1.0])),
            "Input weights should be finite",
        ),
        (err(Distance::new(Metric::SEuclidean).with_weights(vec![1.0; 3])), "metric 'seuclidean' takes no weights w"),
        (
            err(Distance::new(Metric::JensenShannon).with_weights(vec![1.0; 3])),
            "metric 'jensenshannon' takes no weights w",
        ),
        (err(Distance::new(Metric::Cosine).with_variances(vec![1.0; 3])), "metric 'cosine' takes no variances V"),
        (
            err(Distance::new(Metric::SEuclidean).with_variances(vec![1.0, 0.0, 1.0])),
            "V must hold positive finite variances",
        ),
        (
            err(Distance::new(Metric::Mahalanobis).with_inverse_covariance(Array2::zeros((3, 2)))),
            "VI must be a square matrix",
        ),
        (Metric::minkowski(0.0).unwrap_err().to_string(), "p must be greater than 0"),
        (
            run(Distance::new(Metric::Euclidean).with_weights(vec![1.0; 2]).unwrap()),
            "Weights must have same size as input vector. 2 vs. 3.",
        ),
        (
            run(Distance::new(Metric::SEuclidean).with_variances(vec![1.0; 4]).unwrap()),
            "Variance vector V must be of the same dimension",
        ),
        (
            run(Distance::new(Metric::Mahalanobis).with_inverse_covariance(Array2::eye(2)).unwrap()),
            "VI is 2 x 2 but the points have 3 dimensions",
        ),
        (
            run(Distance::new(Metric::Mahalanobis).with_inverse_covariance(-Array2::<f64>::eye(3)).unwrap()),
            "VI is not positive semi-definite",
        ),
        (few(Metric::Mahalanobis), "The number of observations (2) is too small"),
    ];
    for (message, expected) in cases {
        assert!(message.starts_with(expected), "{message:?} should start with {expected:?}");
        assert!(!message.contains('\n'), "{message:?}");
    }
}

/// Weighted minkowski-family distances of points far from the origin keep the precision of
/// their differences: SciPy sums `w (x − y)²`, and so must pairdist. Scaling the coordinates
/// by `w^(1/q)` first would round each to the spacing of 1e4 (1e-3 in f32, 2e-12 in f64) before
/// the difference, a relative error of that over a difference of about 0.5.
#[test]
fn weighted_distances_of_points_far_from_the_origin_keep_their_precision() {
    let (d, offset) = (7, 1e4f32);
    let x = points(30, 20, d, 0.0, 1.0).mapv(|v| v + offset);
    let y = points(31, 24, d, 0.0, 1.0).mapv(|v| v + offset);
    let w: Vec<f64> = (0..d).map(|k| 0.3 + 0.37 * k as f64).collect();
    let metrics = [Metric::SqEuclidean, Metric::Euclidean, Metric::Cityblock, Metric::minkowski(1.5).unwrap()];
    for metric in metrics {
        let distance = Distance::new(metric).with_weights(w.clone()).unwrap();
        for (name, engine) in engines() {
            // f32: a relative 1e-5, no absolute slack for the size of the coordinates.
            let got = engine.cdist(x.view(), y.view(), &distance).unwrap();
            let (x64, y64) = (x.mapv(f64::from), y.mapv(f64::from));
            let got64 = engine.cdist(x64.view(), y64.view(), &distance).unwrap();
            for i in 0..x.nrows() {
                for j in 0..y.nrows() {
                    let want = oracle_weighted(&row(&x, i), &row(&y, j), metric, &w);
                    let g = f64::from(got[(i, j)]);
                    assert!((g - want).abs() <= 1e-5 * want, "{name} f32 {metric} ({i}, {j}): {g:e} vs {want:e}");
                    let g = got64[(i, j)];
                    assert!((g - want).abs() <= 1e-12 * want, "{name} f64 {metric} ({i}, {j}): {g:e} vs {want:e}");
                }
            }
        }
    }
}

/// Points for minkowski's root at the ends of the range, in f64: rows at scales from
/// `10^-lo` to `10^hi` (their sums of |x − y|^p span far more), a row equal to a row of the
/// other side (sum 0), NaN and ±∞ coordinates, and rows of powers of two whose sums are exact
/// but, in f64, subnormal or below the smallest subnormal for the larger p.
fn root_edge_points(seed: u64, n: usize, d: usize, lo: i32, hi: i32) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0..1.0));
    for (i, mut row) in x.rows_mut().into_iter().enumerate() {
        let e = lo + (i as i32 * 7) % (hi - lo + 1);
        row.mapv_inplace(|v| v * 10f64.powi(e));
    }
    x
}

/// Every whole p of its own kernel, one past them and a fractional one, in f32 and f64, on
/// both engines and the library's functions (matrix and condensed): within 1e-5 (f32) and
/// 1e-12 (f64) relative of the oracle wherever the oracle's value is a normal number of the
/// type, and exactly the oracle's 0, ∞ or NaN elsewhere.
fn check_roots<T: pairdist::Element>(what: &str, x: &Array2<f64>, y: &Array2<f64>, rel: f64) {
    let (xt, yt) = (x.mapv(T::from_f64), y.mapv(T::from_f64));
    let rows = |a: &Array2<T>| -> Vec<Vec<f64>> {
        a.rows().into_iter().map(|r| r.iter().map(|&v| v.into()).collect()).collect()
    };
    let (xs, ys) = (rows(&xt), rows(&yt));
    let d = x.ncols();
    let tiny: f64 = T::min_positive_value().into();
    let huge: f64 = T::max_value().into();
    for p in [3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 2.5] {
        let metric = Metric::minkowski(p).unwrap();
        let w = vec![1.0; d];
        let check = |how: &str, g: T, a: &[f64], b: &[f64], at: (usize, usize)| {
            let want = crate::support::oracle_weighted64(a, b, metric, &w);
            let g: f64 = g.into();
            let ok = if want.is_nan() {
                g.is_nan()
            } else if want.abs() >= tiny && want.abs() <= huge {
                (g - want).abs() <= rel * (1.0 + p / 4.0) * want.abs()
            } else if want == 0.0 || want.is_infinite() {
                g == want
            } else {
                // Subnormal in the type, or beyond its range: rounded once from f64.
                (g - want).abs() <= rel * want.abs() + tiny || (want.abs() > huge && g.is_infinite())
            };
            assert!(ok, "{what} {how} {metric} {at:?}: got {g:e}, want {want:e}");
        };
        let mut matrices = Vec::new();
        for (name, engine) in engines() {
            matrices.push((name, engine.cdist(xt.view(), yt.view(), metric).unwrap()));
        }
        matrices.push(("cpu::cdist", pairdist::cpu::cdist(xt.view(), yt.view(), metric).unwrap()));
        for (how, got) in &matrices {
            for ((i, j), &g) in got.indexed_iter() {
                check(how, g, &xs[i], &ys[j], (i, j));
            }
        }
        let n = xs.len();
        for (name, engine) in engines() {
            let condensed = engine.pdist(xt.view(), metric).unwrap();
            for i in 0..n {
                for j in i + 1..n {
                    check(&format!("{name} pdist"), condensed[condensed_at(n, i, j)], &xs[i], &xs[j], (i, j));
                }
            }
        }
    }
}

#[test]
fn whole_p_roots_at_the_ends_of_the_range_f32_and_f64() {
    let d = 6;
    let specials = |x: &mut Array2<f64>, y: &mut Array2<f64>| {
        x.row_mut(0).assign(&y.row(3));
        x[(1, 2)] = f64::NAN;
        x[(2, 0)] = f64::INFINITY;
        y[(1, 4)] = f64::NEG_INFINITY;
        // Powers of two: |x − y|^p exact, subnormal or zero in f64 for the larger p.
        x.row_mut(3).fill(0.0);
        x[(3, 1)] = 2f64.powi(-130);
        y.row_mut(2).fill(0.0);
        y[(2, 1)] = 2f64.powi(-135);
        y[(2, 5)] = 2f64.powi(-135);
    };
    // f32: rows from 1e-30 to 1e30 (sums under- and overflow f32; the fix-up recomputes those).
    let (mut x, mut y) = (root_edge_points(71, 40, d, -30, 30), root_edge_points(72, 35, d, -30, 30));
    specials(&mut x, &mut y);
    check_roots::<f32>("f32", &x, &y, 1e-5);
    // f64: rows from 1e-250 to 1e250 (sums far beyond f32's range, some beyond f64's).
    let (mut x, mut y) = (root_edge_points(73, 40, d, -250, 250), root_edge_points(74, 35, d, -250, 250));
    specials(&mut x, &mut y);
    check_roots::<f64>("f64", &x, &y, 1e-12);
    // Rows of one scale, so every pair's sum is ordinary: the vector path throughout.
    for e in [-20, 0, 9] {
        let (x, y) = (root_edge_points(75, 70, 17, e, e), root_edge_points(76, 33, 17, e, e));
        check_roots::<f32>(&format!("f32 at 1e{e}"), &x, &y, 1e-5);
        check_roots::<f64>(&format!("f64 at 1e{e}"), &x, &y, 1e-12);
    }
}
