//! `braycurtis`, `jaccard` and SciPy's other boolean metrics (`dice`, `yule`, ...), the metrics
//! that are a ratio of sums, on both backends and
//! for every answer, against the oracle's own formulas from SciPy (tests/support): with and
//! without weights, on non-negative data (the denominator from sums per row), on data whose
//! columns hold both signs (per-pair sums for those columns), on a mix of the two, and on
//! SciPy's special rows (zero rows, NaN, tiny coordinates that the f64 fix-up recomputes).

use crate::support::{close, engines, oracle_weighted, oracle_weighted64, tolerance, tolerance64, with_tiles};
use ndarray::{Array2, ArrayView2, s};
use pairdist::answer::TopK;
use pairdist::job::{Answer, Job, Target};
use pairdist::sink::{CondensedSink, MatrixSink};
use pairdist::{Backend, Distance, Engine, EngineOptions, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RATIOS: [Metric; 9] = [
    Metric::BrayCurtis,
    Metric::Jaccard,
    Metric::Dice,
    Metric::Kulczynski1,
    Metric::RogersTanimoto,
    Metric::RussellRao,
    Metric::SokalMichener,
    Metric::SokalSneath,
    Metric::Yule,
];

/// The kinds of data the denominator is computed differently for.
#[derive(Clone, Copy, Debug)]
enum Data {
    /// Sparse non-negative counts (abundances): every column has one sign.
    Counts,
    /// Uniform in [−2, 2): every column holds both signs.
    Mixed,
    /// Counts in the even columns, both signs in the odd ones.
    Partly,
}

fn data(seed: u64, n: usize, d: usize, kind: Data) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |(_, k)| {
        let count = if rng.random_range(0..3) == 0 { 0.0 } else { rng.random_range(0..7) as f32 };
        let signed = rng.random_range(-2.0f32..2.0);
        match kind {
            Data::Counts => count,
            Data::Mixed => signed,
            Data::Partly if k % 2 == 0 => count,
            Data::Partly => signed,
        }
    })
}

/// Weights with a zero and a spread of sizes.
fn weights(d: usize) -> Vec<f64> {
    (0..d).map(|k| if k == 1 { 0.0 } else { 0.25 + (k * 7 % 5) as f64 }).collect()
}

fn row(a: ArrayView2<f32>, i: usize) -> Vec<f32> {
    a.row(i).to_vec()
}

/// The distance asked for and the oracle's weights (ones without `w`).
fn distance(metric: Metric, d: usize, weighted: bool) -> (Distance, Vec<f64>) {
    if weighted {
        (Distance::new(metric).with_weights(weights(d)).unwrap(), weights(d))
    } else {
        (Distance::new(metric), vec![1.0; d])
    }
}

/// Asserts every entry of `got` (rows of `x` against rows of `y`) against the oracle.
fn assert_matrix(what: &str, x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric, w: &[f64], got: ArrayView2<f32>) {
    assert_eq!(got.dim(), (x.nrows(), y.nrows()), "{what}: shape");
    for ((i, j), &g) in got.indexed_iter() {
        let want = oracle_weighted(&row(x, i), &row(y, j), metric, w);
        let tol = tolerance(metric, x.ncols(), 1.0, want);
        assert!(close(g as f64, want, tol), "{what}: ({i}, {j}) got {g}, want {want}, tolerance {tol:e}");
    }
}

/// Engines whose matrices leave the kernels in many tiles (streamed on the GPU).
fn tiled_engines() -> [(&'static str, Engine); 2] {
    [("gpu tiles", with_tiles(Backend::Gpu, 4096)), ("cpu tiles", with_tiles(Backend::Cpu, 4096))]
}

#[test]
fn cdist_and_pdist_follow_scipys_formulas() {
    let (n, m, d) = (37, 70, 9);
    let tiled = tiled_engines();
    let all: Vec<(&str, &Engine)> =
        engines().into_iter().chain(tiled.iter().map(|(name, engine)| (*name, engine))).collect();
    for kind in [Data::Counts, Data::Mixed, Data::Partly] {
        let x = data(1, n, d, kind);
        let y = data(2, m, d, kind);
        for metric in RATIOS {
            for weighted in [false, true] {
                let (dist, w) = distance(metric, d, weighted);
                for &(name, engine) in &all {
                    let what = format!("{name} {metric} {kind:?} weighted {weighted}");
                    let got = engine.cdist(x.view(), y.view(), &dist).unwrap();
                    assert_matrix(&what, x.view(), y.view(), metric, &w, got.view());
                    let condensed = engine.pdist(x.view(), &dist).unwrap();
                    let mut at = 0;
                    for i in 0..n {
                        for j in i + 1..n {
                            let want = oracle_weighted(&row(x.view(), i), &row(x.view(), j), metric, &w);
                            let g = condensed[at] as f64;
                            assert!(
                                close(g, want, tolerance(metric, d, 1.0, want)),
                                "{what} pdist ({i}, {j}): {g} vs {want}"
                            );
                            at += 1;
                        }
                    }
                }
                // Streamed into sinks (what the CLI's output files take), small tiles on both.
                for (name, engine) in &tiled {
                    let mut out = Array2::<f32>::from_elem((n, m), f32::NAN);
                    engine.cdist_to(x.view(), y.view(), &dist, &mut MatrixSink::new(out.view_mut())).unwrap();
                    assert_matrix(
                        &format!("{name} {metric} {kind:?} sink"),
                        x.view(),
                        y.view(),
                        metric,
                        &w,
                        out.view(),
                    );
                    let mut condensed = vec![f32::NAN; n * (n - 1) / 2];
                    engine.pdist_to(x.view(), &dist, &mut CondensedSink::new(n, &mut condensed)).unwrap();
                    let want = pairdist::cpu::reference::pdist(x.view(), &dist).unwrap();
                    for (g, w) in condensed.iter().zip(&want) {
                        assert!(close(*g as f64, *w, tolerance(metric, d, 1.0, *w)), "{name} {metric} condensed sink");
                    }
                }
                // The library's CPU functions take the same path as the engines.
                let got = pairdist::cpu::cdist(x.view(), y.view(), &dist).unwrap();
                assert_matrix(&format!("cpu::cdist {metric} {kind:?}"), x.view(), y.view(), metric, &w, got.view());
                let want = pairdist::cpu::reference::pdist(x.view(), &dist).unwrap();
                let got = pairdist::cpu::pdist(x.view(), &dist).unwrap();
                for (g, w) in got.iter().zip(&want) {
                    assert!(close(*g as f64, *w, tolerance(metric, d, 1.0, *w)), "cpu::pdist {metric}: {g} vs {w}");
                }
            }
        }
    }
}

#[test]
fn scipys_special_rows_zero_nan_and_tiny() {
    // Zero rows (braycurtis 0/0 is NaN, jaccard's is 0), NaN (nonzero for jaccard), a row
    // of tiny coordinates (its sums are recomputed in f64 before the division), a row
    // identical to another, a row of another sign.
    let x = ndarray::array![
        [0.0f32, 0.0, 0.0, 0.0],
        [1.0, 0.0, 2.0, 0.0],
        [f32::NAN, 0.0, 1.0, 0.0],
        [1e-30, 2e-30, 0.0, 0.0],
        [1.0, 0.0, 2.0, 0.0],
        [-1.0, 3.0, 0.0, 0.5],
    ];
    let y =
        ndarray::array![[0.0f32, 0.0, 0.0, 0.0], [3e-30, 0.0, 0.0, 1e-30], [1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 0.0]];
    for metric in RATIOS {
        let w = vec![1.0; 4];
        for (name, engine) in engines() {
            let what = format!("{name} {metric} special rows");
            let got = engine.cdist(x.view(), y.view(), metric).unwrap();
            assert_matrix(&what, x.view(), y.view(), metric, &w, got.view());
            let got = engine.cdist(x.view(), x.view(), metric).unwrap();
            assert_matrix(&what, x.view(), x.view(), metric, &w, got.view());
        }
    }
    // Empty inputs and points of no dimensions: the shapes asked for, no panic (0/0 again).
    for metric in RATIOS {
        for (name, engine) in engines() {
            let none = Array2::<f32>::zeros((0, 3));
            assert_eq!(engine.cdist(none.view(), x.slice(s![.., ..3]), metric).unwrap().dim(), (0, 6), "{name}");
            assert_eq!(engine.pdist(none.view(), metric).unwrap().len(), 0, "{name}");
            let flat = Array2::<f32>::zeros((3, 0));
            let got = engine.cdist(flat.view(), flat.view(), metric).unwrap();
            // SciPy's values of 0/0 at d = 0: jaccard and yule define them as 0.
            let want = if matches!(metric, Metric::Jaccard | Metric::Yule) { 0.0 } else { f32::NAN };
            assert!(got.iter().all(|&v| v == want || (v.is_nan() && want.is_nan())), "{name} {metric} d = 0: {got}");
            assert_eq!(engine.knn(flat.view(), flat.view(), 2, metric).unwrap().indices.dim(), (3, 2), "{name}");
        }
    }
    // SciPy's values, stated: 0/0.
    let zero = ndarray::array![[0.0f32, 0.0]];
    for (name, engine) in engines() {
        assert!(engine.cdist(zero.view(), zero.view(), Metric::BrayCurtis).unwrap()[(0, 0)].is_nan(), "{name}");
        assert_eq!(engine.cdist(zero.view(), zero.view(), Metric::Jaccard).unwrap()[(0, 0)], 0.0, "{name}");
    }
}

/// Asserts a k-nearest answer: each rank's distance is the reference's at that rank, and is
/// the oracle's distance of the index returned (so no closer point was missed).
fn assert_knn(
    what: &str,
    got: &pairdist::Neighbors,
    want: &[Vec<(f64, i64)>],
    d: usize,
    oracle: impl Fn(usize, usize) -> f64,
) {
    for (i, want_row) in want.iter().enumerate() {
        for (c, &(w, _)) in want_row.iter().enumerate() {
            let (g, j) = (got.distances[(i, c)] as f64, got.indices[(i, c)]);
            let tol = tolerance(Metric::BrayCurtis, d, 1.0, w);
            assert!(close(g, w, tol), "{what}: row {i} rank {c}: {g} vs {w}");
            let own = oracle(i, j as usize);
            assert!(close(g, own, tol), "{what}: row {i} rank {c}: index {j} is at {own}, reported {g}");
        }
    }
}

#[test]
fn knn_radius_and_argmin_see_the_ratio() {
    let (n, m, d, k) = (60, 300, 12, 7);
    // The GPU's select epilogue would rank numerators; it must step aside for a ratio.
    let select = Engine::with_options(EngineOptions {
        backend: Backend::Gpu,
        reduce_on_device: Some(true),
        ..Default::default()
    })
    .unwrap();
    let [(gpu_name, gpu), (cpu_name, cpu)] = engines();
    for kind in [Data::Counts, Data::Mixed] {
        let x = data(11, n, d, kind);
        let y = data(12, m, d, kind);
        for metric in RATIOS {
            let (dist, w) = distance(metric, d, true);
            let oracle = |a: ArrayView2<f32>, b: ArrayView2<f32>, i: usize, j: usize| {
                oracle_weighted(&row(a, i), &row(b, j), metric, &w)
            };
            let want = crate::support::knn_lists(n, m, k, false, |i, j| oracle(x.view(), y.view(), i, j));
            let want_self = crate::support::knn_lists(n, n, k, true, |i, j| oracle(x.view(), x.view(), i, j));
            for (name, engine) in [(gpu_name, gpu), (cpu_name, cpu), ("gpu select", &select)] {
                let what = format!("{name} {metric} {kind:?}");
                let got = engine.knn(x.view(), y.view(), k, &dist).unwrap();
                assert_knn(&format!("{what} knn"), &got, &want, d, |i, j| oracle(x.view(), y.view(), i, j));
                let got = engine.knn_self(x.view(), k, &dist).unwrap();
                assert_knn(&format!("{what} knn_self"), &got, &want_self, d, |i, j| oracle(x.view(), x.view(), i, j));
                let (idx, dst) = engine.argmin(x.view(), y.view(), &dist).unwrap();
                for i in 0..n {
                    let tol = tolerance(metric, d, 1.0, want[i][0].0);
                    assert!(close(dst[i] as f64, want[i][0].0, tol), "{what} argmin row {i}");
                    assert!(
                        close(oracle(x.view(), y.view(), i, idx[i] as usize), want[i][0].0, tol),
                        "{what} argmin {i}"
                    );
                }
                // Radius: the pairs within the median distance, none missing and none extra
                // beyond the tolerance's width.
                let r = want.iter().map(|l| l[k / 2].0).sum::<f64>() / n as f64;
                let got = engine.radius(x.view(), y.view(), r as f32, &dist, usize::MAX).unwrap();
                let mut found = Array2::from_elem((n, m), false);
                for p in 0..got.len() {
                    let (i, j) = (got.rows[p] as usize, got.cols[p] as usize);
                    found[(i, j)] = true;
                    let own = oracle(x.view(), y.view(), i, j);
                    assert!(
                        close(got.distances[p] as f64, own, tolerance(metric, d, 1.0, own)),
                        "{what} radius ({i}, {j})"
                    );
                }
                for ((i, j), &f) in found.indexed_iter() {
                    let v = oracle(x.view(), y.view(), i, j);
                    let tol = tolerance(metric, d, 1.0, v);
                    assert!(f || v > r - tol, "{what} radius: ({i}, {j}) at {v} <= {r} missing");
                    assert!(!f || v <= r + tol, "{what} radius: ({i}, {j}) at {v} > {r} reported");
                }
            }
        }
    }
}

#[test]
fn windows_of_a_ratio_are_blocks_of_the_whole() {
    let x = data(21, 90, 10, Data::Partly);
    let y = data(22, 160, 10, Data::Partly);
    for metric in RATIOS {
        for (name, engine) in engines() {
            let full = engine.cdist(x.view(), y.view(), metric).unwrap();
            let mut block = Array2::<f32>::zeros((30, 70));
            let job = Job::new(x.view(), Some(y.view()), metric, Answer::Matrix(Target::Array(block.view_mut())));
            engine.run(job.window(40..70, 60..130)).unwrap();
            let want = full.slice(s![40..70, 60..130]);
            for ((i, j), &g) in block.indexed_iter() {
                let w = want[(i, j)] as f64;
                assert!(close(g as f64, w, tolerance(metric, 10, 1.0, w)), "{name} {metric} window ({i}, {j})");
            }
            // k nearest over shards of the base merge into the whole answer.
            let mut lists = vec![TopK::new(4); 90];
            for cols in [0..50, 50..51, 51..160] {
                let job = Job::new(x.view(), Some(y.view()), metric, Answer::Nearest { k: 4, lists: &mut lists });
                engine.run(job.window(0..90, cols)).unwrap();
            }
            let whole = engine.knn(x.view(), y.view(), 4, metric).unwrap();
            for (i, list) in lists.iter().enumerate() {
                let got: Vec<f32> = list.as_slice().iter().map(|c| c.0).collect();
                let want: Vec<f32> = whole.distances.row(i).to_vec();
                for (g, w) in got.iter().zip(&want) {
                    assert!(
                        close(*g as f64, *w as f64, tolerance(metric, 10, 1.0, *w as f64)),
                        "{name} {metric} shards row {i}"
                    );
                }
            }
        }
    }
}

#[test]
fn float64_is_within_1e12_of_the_formulas() {
    let (n, m, d) = (30, 45, 11);
    for kind in [Data::Counts, Data::Mixed, Data::Partly] {
        let x = data(31, n, d, kind).mapv(|v| v as f64 * 1.1);
        let y = data(32, m, d, kind).mapv(|v| v as f64 * 0.9);
        for metric in RATIOS {
            for weighted in [false, true] {
                let (dist, w) = distance(metric, d, weighted);
                for (name, engine) in engines() {
                    let got = engine.cdist(x.view(), y.view(), &dist).unwrap();
                    for ((i, j), &g) in got.indexed_iter() {
                        let want = oracle_weighted64(&x.row(i).to_vec(), &y.row(j).to_vec(), metric, &w);
                        let tol = tolerance64(metric, d, 1.0, want);
                        assert!(close(g, want, tol), "{name} f64 {metric} {kind:?} ({i}, {j}): {g} vs {want}");
                    }
                }
            }
        }
    }
}

#[test]
fn bad_parameters_are_one_line_errors() {
    let e = Distance::new(Metric::Jaccard).with_weights(vec![1.0, -1.0]).unwrap_err().to_string();
    assert!(e.contains("non-negative"), "{e}");
    let e = Distance::new(Metric::BrayCurtis).with_variances(vec![1.0]).unwrap_err().to_string();
    assert!(e.contains("braycurtis"), "{e}");
    let x = data(41, 3, 4, Data::Counts);
    let short = Distance::new(Metric::BrayCurtis).with_weights(vec![1.0; 3]).unwrap();
    for (name, engine) in engines() {
        let e = engine.cdist(x.view(), x.view(), &short).unwrap_err().to_string();
        assert!(e.contains("3 vs. 4") && !e.contains('\n'), "{name}: {e}");
    }
}

/// Rows of SciPy's special values for a ratio, in the element type `T`: a zero row (0/0),
/// NaN and ±∞ coordinates, tiny ones (f32's fix-up recomputes their sums), rows whose sums of
/// |x| leave f32's range while their differences stay in it, an exact duplicate, a row of
/// another sign; `mixed` adds a column that holds both signs (braycurtis's per-pair sums).
fn special<T: pairdist::Element>(mixed: bool, huge: f64, tiny: f64) -> (Array2<T>, Array2<T>) {
    let d = 12;
    let mut rng = ChaCha8Rng::seed_from_u64(51);
    let mut base = |n: usize| Array2::from_shape_fn((n, d), |_| rng.random_range(0..4) as f64);
    let (mut x, mut y) = (base(9), base(7));
    x.row_mut(0).fill(0.0);
    y.row_mut(0).fill(0.0);
    x[(1, 3)] = f64::NAN;
    x[(2, 5)] = f64::INFINITY;
    y[(1, 5)] = f64::INFINITY;
    y[(2, 7)] = if mixed { f64::NEG_INFINITY } else { f64::INFINITY };
    x.row_mut(3).fill(0.0);
    x[(3, 0)] = tiny;
    x[(3, 4)] = 3.0 * tiny;
    y[(3, 4)] = 2.0 * tiny;
    // Sums of 12·huge: for huge = 2e37 two of them add up beyond f32's range, though each
    // sum and every difference is within it.
    x.row_mut(4).fill(huge);
    y.row_mut(4).fill(1.1 * huge);
    x.row_mut(5).assign(&y.row(6));
    if mixed {
        x.row_mut(6).mapv_inplace(|v| -v);
        for i in 0..x.nrows() {
            x[(i, 1)] = -1.5 + i as f64;
        }
        for j in 0..y.nrows() {
            y[(j, 1)] = 2.5 - j as f64;
        }
    }
    (x.mapv(T::from_f64), y.mapv(T::from_f64))
}

fn rows64<T: pairdist::Element>(a: ArrayView2<T>) -> Vec<Vec<f64>> {
    a.rows().into_iter().map(|r| r.iter().map(|&v| v.into()).collect()).collect()
}

/// Every matrix answer of `x` against `y` and of `x` against itself, on both engines, the
/// library's CPU functions and small tiles streamed into sinks, against the oracle.
fn assert_special_rows<T: pairdist::Element>(what: &str, x: ArrayView2<T>, y: ArrayView2<T>) {
    let (xs, ys) = (rows64(x), rows64(y));
    let (n, d) = (xs.len(), x.ncols());
    let f64_type = std::any::TypeId::of::<T>() == std::any::TypeId::of::<f64>();
    let tol = |metric: Metric, want: f64| {
        if f64_type { tolerance64(metric, d, 1.0, want) } else { tolerance(metric, d, 1.0, want) }
    };
    let tiled = tiled_engines();
    let all: Vec<(&str, &Engine)> =
        engines().into_iter().chain(tiled.iter().map(|(name, engine)| (*name, engine))).collect();
    for metric in RATIOS {
        let w = vec![1.0; d];
        let check = |how: &str, got: f64, i: usize, j: usize, b: &[Vec<f64>]| {
            let want = oracle_weighted64(&xs[i], &b[j], metric, &w);
            assert!(close(got, want, tol(metric, want)), "{what} {how} {metric} ({i}, {j}): got {got}, want {want}");
        };
        let mut outputs: Vec<(String, Array2<T>)> = Vec::new();
        for &(name, engine) in &all {
            outputs.push((format!("{name} cdist"), engine.cdist(x, y, metric).unwrap()));
            let mut sunk = Array2::from_elem((n, y.nrows()), T::nan());
            engine.cdist_to(x, y, metric, &mut MatrixSink::new(sunk.view_mut())).unwrap();
            outputs.push((format!("{name} cdist_to"), sunk));
        }
        outputs.push(("cpu::cdist".into(), pairdist::cpu::cdist(x, y, metric).unwrap()));
        for (how, got) in &outputs {
            for ((i, j), &g) in got.indexed_iter() {
                check(how, g.into(), i, j, &ys);
            }
        }
        let mut condensed: Vec<(String, Vec<T>)> = Vec::new();
        for &(name, engine) in &all {
            condensed.push((format!("{name} pdist"), engine.pdist(x, metric).unwrap().to_vec()));
            let mut sunk = vec![T::nan(); n * (n - 1) / 2];
            engine.pdist_to(x, metric, &mut CondensedSink::new(n, &mut sunk)).unwrap();
            condensed.push((format!("{name} pdist_to"), sunk));
        }
        condensed.push(("cpu::pdist".into(), pairdist::cpu::pdist(x, metric).unwrap().to_vec()));
        for (how, got) in &condensed {
            let pairs = (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j)));
            for ((i, j), &g) in pairs.zip(got) {
                check(how, g.into(), i, j, &xs);
            }
        }
    }
}

#[test]
fn special_rows_in_every_matrix_answer_f32_and_f64() {
    for mixed in [false, true] {
        let (x, y) = special::<f32>(mixed, 2e37, 1e-30);
        assert_special_rows(&format!("f32 mixed {mixed}"), x.view(), y.view());
        // Without tiny coordinates no row needs f32's fix-up (a path of its own).
        let (x, y) = special::<f32>(mixed, 2e37, 0.0);
        assert_special_rows(&format!("f32 mixed {mixed}, no tiny rows"), x.view(), y.view());
        let (x, y) = special::<f64>(mixed, 1e300, 1e-300);
        assert_special_rows(&format!("f64 mixed {mixed}"), x.view(), y.view());
        // f64 points whose sums would leave f32's range (f64 has no fix-up to lean on).
        let (x, y) = special::<f64>(mixed, 1e37, 1e-30);
        assert_special_rows(&format!("f64 mixed {mixed}, f32's extremes"), x.view(), y.view());
    }
}

/// A window of the matrix and a window on the diagonal of the condensed vector (an upper job)
/// are the oracle's entries at the window's global indices, in f32 and f64.
fn check_windows<T: pairdist::Element>(what: &str, x: ArrayView2<T>, y: ArrayView2<T>, tol: fn(Metric, f64) -> f64) {
    let (xs, ys) = (rows64(x), rows64(y));
    let d = x.ncols();
    for metric in RATIOS {
        let w = vec![1.0; d];
        for (name, engine) in engines() {
            let (rows, cols) = (5..29, 11..40);
            let mut block = Array2::<T>::from_elem((rows.len(), cols.len()), T::nan());
            let job = Job::new(x, Some(y), metric, Answer::Matrix(Target::Array(block.view_mut())));
            engine.run(job.window(rows.clone(), cols.clone())).unwrap();
            for ((i, j), &g) in block.indexed_iter() {
                let want = oracle_weighted64(&xs[rows.start + i], &ys[cols.start + j], metric, &w);
                let g: f64 = g.into();
                assert!(close(g, want, tol(metric, want)), "{what} {name} {metric} window ({i}, {j}): {g} vs {want}");
            }
            let r = 7..33;
            let k = r.len();
            let mut condensed = vec![T::nan(); k * (k - 1) / 2];
            let job = Job::new(x, None, metric, Answer::Matrix(Target::Condensed(&mut condensed)));
            engine.run(job.upper().window(r.clone(), r.clone())).unwrap();
            let pairs = (0..k).flat_map(|i| (i + 1..k).map(move |j| (i, j)));
            for ((i, j), &g) in pairs.zip(&condensed) {
                let want = oracle_weighted64(&xs[r.start + i], &xs[r.start + j], metric, &w);
                let g: f64 = g.into();
                assert!(
                    close(g, want, tol(metric, want)),
                    "{what} {name} {metric} upper window ({i}, {j}): {g} vs {want}"
                );
            }
        }
    }
}

#[test]
fn windows_of_the_matrix_and_of_the_condensed_vector_f32_and_f64() {
    for kind in [Data::Counts, Data::Partly] {
        let (x, y) = (data(61, 40, 13, kind), data(62, 45, 13, kind));
        check_windows(&format!("f32 {kind:?}"), x.view(), y.view(), |m, w| tolerance(m, 13, 1.0, w));
        let (x, y) = (x.mapv(|v| v as f64 * 1.1), y.mapv(|v| v as f64 * 0.7));
        check_windows(&format!("f64 {kind:?}"), x.view(), y.view(), |m, w| tolerance64(m, 13, 1.0, w));
    }
}

#[test]
fn weighted_boolean_counts_that_are_zero_stay_zero() {
    // Counts derived from sums of weights that do not add exactly (0.3 + 0.5 + ...): yule is 0
    // where ntf·nft = 0, and a rounding residue of the count must not turn it into 2.
    let x = ndarray::array![[1.0, 1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0, 1.0]];
    let w = vec![0.3, 0.5, 0.9, 0.2, 0.4];
    // Random rows and weights besides, in both element types.
    let mut rng = ChaCha8Rng::seed_from_u64(91);
    let many = Array2::from_shape_fn((23, 17), |_| f64::from(rng.random_range(0..2u8)));
    let w_many: Vec<f64> = (0..17).map(|_| rng.random_range(0.01..2.0)).collect();
    for metric in crate::support::BOOLEAN {
        for (points, weights) in [(&x, &w), (&many, &w_many)] {
            let dist = Distance::new(metric).with_weights(weights.clone()).unwrap();
            let d = points.ncols();
            for (name, engine) in engines() {
                let got = engine.cdist(points.view(), points.view(), &dist).unwrap();
                let got32 =
                    engine.cdist(points.mapv(|v| v as f32).view(), points.mapv(|v| v as f32).view(), &dist).unwrap();
                for ((i, j), &g) in got.indexed_iter() {
                    let want = oracle_weighted64(&points.row(i).to_vec(), &points.row(j).to_vec(), metric, weights);
                    let what = format!("{name} {metric} weighted ({i}, {j})");
                    assert!(close(g, want, tolerance64(metric, d, 1.0, want)), "{what} f64: {g} vs {want}");
                    let g = f64::from(got32[(i, j)]);
                    assert!(close(g, want, tolerance(metric, d, 1.0, want)), "{what} f32: {g} vs {want}");
                }
            }
        }
    }
}
