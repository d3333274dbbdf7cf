//! float64 end to end in the library: f64 points compute in f64 on every engine (a GPU engine
//! runs them on the CPU), and every answer is held against the independent f64 oracle within
//! 1e-12 relative, a bound no f32 computation can meet on the data used here.

use crate::support::{assert_matches64, close, engines, oracle64, points64, scale64, tolerance64, with_tiles};
use ndarray::{Array1, Array2, ArrayView2, s};
use pairdist::job::{Answer, Job};
use pairdist::sink::{CondensedSink, MatrixSink};
use pairdist::{Backend, Distance, Metric, answer::TopK};

#[test]
fn cdist_and_pdist_of_f64_points_match_the_oracle_within_1e_12_on_every_engine() {
    for (n, m, d, offset) in [(37, 70, 5, 0.0), (70, 33, 129, 1e4), (5, 90, 1000, 0.5), (1, 1, 1, 1e4)] {
        let x = points64(n as u64, n, d, offset);
        let y = points64(m as u64 + 100, m, d, offset);
        for metric in Metric::KERNELS {
            for (name, engine) in engines() {
                let what = format!("{name} {n}x{m}x{d} offset {offset}");
                let got = engine.cdist(x.view(), y.view(), metric).unwrap();
                assert_matches64(&format!("cdist {what}"), x.view(), y.view(), metric, |i, j| got[(i, j)]);
                let condensed = engine.pdist(x.view(), metric).unwrap();
                assert_eq!(condensed.len(), n * (n - 1) / 2);
                let at = |i: usize, j: usize| condensed[n * i - i * (i + 1) / 2 + (j - i - 1)];
                let full = |i: usize, j: usize| if i == j { 0.0 } else { at(i.min(j), i.max(j)) };
                // The diagonal is no entry of pdist: compare the others with cdist(x, x)'s oracle.
                let scale = scale64(x.view(), x.view());
                for i in 0..n {
                    for j in i + 1..n {
                        let want = oracle64(&x.row(i).to_vec(), &x.row(j).to_vec(), metric);
                        let (g, tol) = (full(i, j), tolerance64(metric, d, scale, want));
                        assert!(close(g, want, tol), "pdist {what}: {metric} at ({i}, {j}): {g:e} vs {want:e}");
                    }
                }
            }
        }
    }
}

#[test]
fn f64_is_computed_in_f64_not_rounded_to_f32() {
    // Near 1e4 the f32 spacing is 1e-3: any rounding of the inputs to f32 moves these
    // distances by about 1e-4 relative, a hundred million times the bound checked here.
    let x = points64(1, 40, 3, 1e4);
    let rounded = x.mapv(|v| f64::from(v as f32));
    let moved = |i: usize, j: usize| {
        let exact = oracle64(&x.row(i).to_vec(), &x.row(j).to_vec(), Metric::Euclidean);
        let from_f32 = oracle64(&rounded.row(i).to_vec(), &rounded.row(j).to_vec(), Metric::Euclidean);
        (exact - from_f32).abs() / exact
    };
    assert!(moved(0, 1) > 1e-7, "test data: rounding to f32 moves a distance by only {:e}", moved(0, 1));
    for (name, engine) in engines() {
        let got = engine.cdist(x.view(), x.view(), Metric::Euclidean).unwrap();
        let want = oracle64(&x.row(0).to_vec(), &x.row(1).to_vec(), Metric::Euclidean);
        assert!((got[(0, 1)] - want).abs() <= 1e-12 * want, "{name}: {} vs {want}", got[(0, 1)]);
        assert_matches64(name, x.view(), x.view(), Metric::Euclidean, |i, j| got[(i, j)]);
        // cdist(X, X) keeps its exact zeros in f64 too.
        assert!((0..x.nrows()).all(|i| got[(i, i)] == 0.0), "{name}: nonzero diagonal");
    }
}

#[test]
fn f64_views_of_any_layout_and_outputs_of_any_strides() {
    let cols = points64(7, 6, 45, 0.0); // points as columns
    let y = points64(8, 30, 6, 0.0);
    for (name, engine) in engines() {
        let mut out = Array2::from_elem((30, 45), f64::NAN);
        engine.cdist_into(cols.t(), y.view(), Metric::Cityblock, out.view_mut().reversed_axes()).unwrap();
        assert_matches64(name, cols.t(), y.view(), Metric::Cityblock, |i, j| out[(j, i)]);
        let every_other = y.slice(s![..;2, ..]);
        let d = engine.cdist(every_other, cols.t(), Metric::SqEuclidean).unwrap();
        assert_matches64(name, every_other, cols.t(), Metric::SqEuclidean, |i, j| d[(i, j)]);
    }
}

#[test]
fn weighted_and_parameterised_f64_distances_match_the_oracle() {
    let x = points64(9, 25, 4, 0.0);
    let y = points64(10, 31, 4, 0.0);
    let w = vec![0.5, 2.0, 0.0, 1.5];
    for (name, engine) in engines() {
        let weighted = Distance::new(Metric::Euclidean).with_weights(w.clone()).unwrap();
        let got = engine.cdist(x.view(), y.view(), &weighted).unwrap();
        let scale = 2.0 * scale64(x.view(), y.view());
        for i in 0..x.nrows() {
            for j in 0..y.nrows() {
                let want =
                    crate::support::oracle_weighted64(&x.row(i).to_vec(), &y.row(j).to_vec(), Metric::Euclidean, &w);
                let tol = tolerance64(Metric::Euclidean, 4, scale, want);
                assert!(close(got[(i, j)], want, tol), "{name} weighted ({i}, {j}): {} vs {want}", got[(i, j)]);
            }
        }
    }
}

/// The oracle's `k` nearest of each row: sorted by (distance, index).
fn oracle_knn(x: ArrayView2<f64>, y: ArrayView2<f64>, k: usize, metric: Metric, own: bool) -> Vec<Vec<(f64, i64)>> {
    crate::support::knn_lists(x.nrows(), y.nrows(), k, own, |i, j| {
        oracle64(&x.row(i).to_vec(), &y.row(j).to_vec(), metric)
    })
}

#[test]
fn knn_and_argmin_in_f64_give_the_oracle_lists() {
    // Random f64 points: no two distances of a row within 1e-12 of each other, so the lists
    // are the oracle's exactly, offset by 1e4 too (where f32 lists would differ).
    for offset in [0.0, 1e4] {
        let x = points64(11, 45, 6, offset);
        let y = points64(12, 300, 6, offset);
        let scale = scale64(x.view(), y.view());
        for metric in [Metric::Euclidean, Metric::Cityblock, Metric::Chebyshev, Metric::Cosine] {
            let want = oracle_knn(x.view(), y.view(), 8, metric, false);
            let want_self = oracle_knn(y.view(), y.view(), 5, metric, true);
            for (name, engine) in engines() {
                let what = format!("{name} {metric} offset {offset}");
                let got = engine.knn(x.view(), y.view(), 8, metric).unwrap();
                let own = engine.knn_self(y.view(), 5, metric).unwrap();
                for (got, want, what) in [(&got, &want, what.clone()), (&own, &want_self, format!("{what} self"))] {
                    for (i, row) in want.iter().enumerate() {
                        for (c, &(w, j)) in row.iter().enumerate() {
                            assert_eq!(got.indices[(i, c)], j, "{what} row {i} rank {c}");
                            let g = got.distances[(i, c)];
                            assert!(close(g, w, tolerance64(metric, 6, scale, w)), "{what} row {i}: {g} vs {w}");
                        }
                    }
                }
                let (nearest, distance) = engine.argmin(x.view(), y.view(), metric).unwrap();
                for (i, row) in want.iter().enumerate() {
                    assert_eq!((nearest[i], distance[i]), (got.indices[(i, 0)], got.distances[(i, 0)]), "{what}");
                    assert_eq!(nearest[i], row[0].1, "{what} argmin row {i}");
                }
            }
        }
    }
}

#[test]
fn radius_in_f64_gives_the_oracle_pairs() {
    let x = points64(13, 80, 3, 1e4);
    let y = points64(14, 120, 3, 1e4);
    let r = 0.4;
    for metric in [Metric::Euclidean, Metric::Cityblock] {
        let pairs_of = |a: ArrayView2<f64>, b: ArrayView2<f64>, own: bool| {
            let mut all = Vec::new();
            for i in 0..a.nrows() {
                for j in (if own { i + 1 } else { 0 })..b.nrows() {
                    let w = oracle64(&a.row(i).to_vec(), &b.row(j).to_vec(), metric);
                    all.push((i as i64, j as i64, w));
                }
            }
            all
        };
        for (name, engine) in engines() {
            for (own, all) in [(false, pairs_of(x.view(), y.view(), false)), (true, pairs_of(x.view(), x.view(), true))]
            {
                let got = if own {
                    engine.radius_self(x.view(), r, metric, usize::MAX).unwrap()
                } else {
                    engine.radius(x.view(), y.view(), r, metric, usize::MAX).unwrap()
                };
                let what = format!("{name} {metric} own={own}");
                // Every pair clearly inside is listed, none clearly outside, each distance right.
                let tol = tolerance64(metric, 3, 1e4 + 1.0, r);
                let listed: Vec<(i64, i64)> = got.rows.iter().zip(&got.cols).map(|(&i, &j)| (i, j)).collect();
                for &(i, j, w) in &all {
                    let at = listed.iter().position(|&p| p == (i, j));
                    assert!(w > r - tol || at.is_some(), "{what}: missed ({i}, {j}) at {w}");
                    assert!(w <= r + tol || at.is_none(), "{what}: ({i}, {j}) at {w} is outside {r}");
                    if let Some(p) = at {
                        assert!(close(got.distances[p], w, tol), "{what}: ({i}, {j}) {} vs {w}", got.distances[p]);
                    }
                }
                assert!(listed.windows(2).all(|p| p[0] < p[1]), "{what}: not sorted by row, then column");
                assert!(!listed.is_empty(), "{what}: the test data has no pair within {r}");
            }
        }
    }
}

#[test]
fn f64_jobs_take_windows_and_small_tiles() {
    let x = points64(15, 60, 7, 0.0);
    let y = points64(16, 90, 7, 0.0);
    let want = oracle_knn(x.view(), y.view(), 3, Metric::Euclidean, false);
    for backend in [Backend::Gpu, Backend::Cpu] {
        // 4 KiB tiles: 512 f64 values, so many tiles of both shapes.
        let engine = with_tiles(backend, 4096);
        let d = engine.cdist(x.view(), y.view(), Metric::SqEuclidean).unwrap();
        assert_matches64(&format!("{backend:?} small tiles"), x.view(), y.view(), Metric::SqEuclidean, |i, j| {
            d[(i, j)]
        });
        // Two shards of Y, as two workers would run them, merged into the same lists.
        let mut lists = vec![TopK::new(3); x.nrows()];
        for cols in [0..40, 40..90] {
            let answer = Answer::Nearest { k: 3, lists: &mut lists };
            engine.run(Job::new(x.view(), Some(y.view()), Metric::Euclidean, answer).window(0..60, cols)).unwrap();
        }
        for (i, row) in want.iter().enumerate() {
            let got: Vec<i64> = lists[i].as_slice().iter().map(|c| c.1).collect();
            let expected: Vec<i64> = row.iter().map(|c| c.1).collect();
            assert_eq!(got, expected, "{backend:?} shards, row {i}");
        }
    }
}

#[test]
fn f64_results_kept_as_f32_are_rounded_once() {
    // The memory-saving form: computed in f64, stored in f32 by the sink.
    let x = points64(17, 50, 9, 1e4);
    let y = points64(18, 40, 9, 1e4);
    for (name, engine) in engines() {
        let mut out = Array2::<f32>::from_elem((50, 40), f32::NAN);
        engine.cdist_to(x.view(), y.view(), Metric::Euclidean, &mut MatrixSink::new(out.view_mut())).unwrap();
        let mut condensed = Array1::<f32>::from_elem(50 * 49 / 2, f32::NAN);
        let sink = &mut CondensedSink::new(50, condensed.as_slice_mut().unwrap());
        engine.pdist_to(x.view(), Metric::Euclidean, sink).unwrap();
        for i in 0..50 {
            for j in 0..40 {
                let want = oracle64(&x.row(i).to_vec(), &y.row(j).to_vec(), Metric::Euclidean);
                // One rounding to f32 of a value within 1e-12 of `want`: half an f32 ulp and a hair.
                let tol = want * (f64::from(f32::EPSILON) / 2.0 + 1e-12);
                assert!((f64::from(out[(i, j)]) - want).abs() <= tol, "{name} ({i}, {j}): {} vs {want}", out[(i, j)]);
            }
        }
        let want = oracle64(&x.row(3).to_vec(), &x.row(7).to_vec(), Metric::Euclidean);
        let got = f64::from(condensed[50 * 3 - 3 * 4 / 2 + (7 - 3 - 1)]);
        assert!(
            (got - want).abs() <= want * (f64::from(f32::EPSILON) / 2.0 + 1e-12),
            "{name} condensed: {got} vs {want}"
        );
        assert!(condensed.iter().all(|v| v.is_finite()), "{name}: a condensed entry was not written");
    }
}

#[test]
fn f64_follows_ieee_arithmetic_at_the_ends_of_its_range() {
    // f32 results are recomputed in f64 where f32 sums overflow; f64 ones are what IEEE f64
    // arithmetic gives, as SciPy's are: sqrt(1e200² + 0) overflows to inf.
    let far = ndarray::array![[1e200f64, 0.0], [0.0, 0.0]];
    let tiny = ndarray::array![[1e-300f64], [0.0]];
    let ieee_far = (1e200f64 * 1e200).sqrt();
    let ieee_tiny = (1e-300f64 * 1e-300).sqrt();
    assert!(ieee_far.is_infinite() && ieee_tiny == 0.0, "test premise: the squares leave f64's range");
    for (name, engine) in engines() {
        let d = engine.cdist(far.view(), far.view(), Metric::Euclidean).unwrap();
        assert_eq!(d[(0, 1)], ieee_far, "{name}");
        assert_eq!(engine.cdist(far.view(), far.view(), Metric::Cityblock).unwrap()[(0, 1)], 1e200, "{name}");
        assert_eq!(engine.pdist(tiny.view(), Metric::Euclidean).unwrap()[0], ieee_tiny, "{name}");
        let nan = ndarray::array![[f64::NAN, 1.0], [0.0, 1.0]];
        assert!(engine.cdist(nan.view(), nan.view(), Metric::Euclidean).unwrap()[(0, 1)].is_nan(), "{name}");
    }
}
