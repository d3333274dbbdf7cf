//! Answers without the matrix (k nearest, argmin, radius) on every backend, against an
//! independent f64 oracle: exact lists on integer data (where every distance is exact and ties
//! abound), no missed neighbour on random and offset data, and the edge cases.

use crate::support::{EXACT_ON_INTEGERS, engines, oracle, points, tolerance, with_tiles};
use ndarray::{Array2, ArrayView2, array};
use pairdist::{Error, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded points with small integer coordinates: every distance is exact in f32, and many tie.
fn grid(seed: u64, n: usize, d: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || rng.random_range(0..4) as f32)
}

/// The reference lists: every candidate sorted by (f64 distance, index), the first `k`.
fn reference_knn(x: ArrayView2<f32>, y: ArrayView2<f32>, k: usize, metric: Metric, own: bool) -> Vec<Vec<(f64, i64)>> {
    crate::support::knn_lists(x.nrows(), y.nrows(), k, own, |i, j| {
        oracle(&x.row(i).to_vec(), &y.row(j).to_vec(), metric)
    })
}

#[test]
fn knn_on_integer_data_is_the_reference_exactly() {
    for (n, m, d) in [(1, 1, 1), (7, 130, 3), (130, 65, 5), (64, 300, 2)] {
        let x = grid(n as u64, n, d);
        let y = grid(m as u64 + 1, m, d);
        for k in [1, 5.min(m), m] {
            for metric in EXACT_ON_INTEGERS {
                let want = reference_knn(x.view(), y.view(), k, metric, false);
                for (name, engine) in engines() {
                    let got = engine.knn(x.view(), y.view(), k, metric).unwrap();
                    assert_eq!(got.indices.dim(), (n, k));
                    for (i, want_row) in want.iter().enumerate() {
                        for (c, &(w, j)) in want_row.iter().enumerate() {
                            let what = format!("{name} {metric} {n}x{m}x{d} k={k} row {i} rank {c}");
                            assert_eq!(got.indices[(i, c)], j, "{what}: index");
                            // Integer sums are exact; euclidean's f32 square root is correctly rounded.
                            assert_eq!(got.distances[(i, c)], w as f32, "{what}: distance");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn knn_self_leaves_each_point_out_and_keeps_duplicates() {
    // Duplicated rows: a point's twin is its nearest neighbour at distance 0, itself never.
    let base = grid(3, 70, 3);
    let x = ndarray::concatenate![ndarray::Axis(0), base, base.slice(ndarray::s![..20, ..])];
    for metric in EXACT_ON_INTEGERS {
        let want = reference_knn(x.view(), x.view(), 4, metric, true);
        for (name, engine) in engines() {
            let got = engine.knn_self(x.view(), 4, metric).unwrap();
            for (i, want_i) in want.iter().enumerate() {
                let got_row: Vec<(f32, i64)> = (0..4).map(|c| (got.distances[(i, c)], got.indices[(i, c)])).collect();
                let want_row: Vec<(f32, i64)> = want_i.iter().map(|&(w, j)| (w as f32, j)).collect();
                assert_eq!(got_row, want_row, "{name} {metric} row {i}");
            }
        }
    }
}

#[test]
fn knn_misses_no_closer_point_on_random_and_offset_data() {
    // Offset by 1e4: the |x|² + |y|² − 2x·y trick (FAISS) loses every neighbour here.
    for offset in [0.0f32, 1e4] {
        let x = points(11, 90, 24, -1.0, 1.0).mapv(|v| v + offset);
        let y = points(12, 700, 24, -1.0, 1.0).mapv(|v| v + offset);
        for metric in Metric::KERNELS {
            for (name, engine) in engines() {
                let k = 10;
                let got = engine.knn(x.view(), y.view(), k, metric).unwrap();
                let scale = 1.0 + offset as f64;
                for i in 0..x.nrows() {
                    let xi = x.row(i).to_vec();
                    let exact = |j: i64| oracle(&xi, &y.row(j as usize).to_vec(), metric);
                    let row: Vec<i64> = got.indices.row(i).to_vec();
                    // Ascending, each distance right, and nothing outside clearly closer.
                    for (c, &j) in row.iter().enumerate() {
                        let w = exact(j);
                        let g = got.distances[(i, c)] as f64;
                        assert!(
                            g == w || (g - w).abs() <= tolerance(metric, 24, scale, w),
                            "{name} {metric} row {i}: {g} vs {w}"
                        );
                        assert!(c == 0 || got.distances[(i, c - 1)] <= got.distances[(i, c)]);
                    }
                    let kth = exact(row[k - 1]);
                    for j in (0..y.nrows() as i64).filter(|j| !row.contains(j)) {
                        let tol = 2.0 * tolerance(metric, 24, scale, kth);
                        // (An infinite k-th distance, jensenshannon of negative data: nothing is missed.)
                        let missed = exact(j) < kth - tol;
                        assert!(!missed, "{name} {metric} offset {offset} row {i}: missed {j}");
                    }
                }
            }
        }
    }
}

#[test]
fn many_tiles_give_the_same_lists() {
    let x = grid(21, 150, 4);
    let y = grid(22, 260, 4);
    for (name, engine) in engines() {
        let one = engine.knn(x.view(), y.view(), 7, Metric::Cityblock).unwrap();
        for backend in [pairdist::Backend::Gpu, pairdist::Backend::Cpu] {
            let tiny = with_tiles(backend, 4096);
            assert_eq!(tiny.knn(x.view(), y.view(), 7, Metric::Cityblock).unwrap(), one, "{name} vs {backend:?} tiles");
        }
    }
}

#[test]
fn argmin_is_the_first_neighbour() {
    let x = grid(31, 100, 3);
    let y = grid(32, 9, 3);
    for (name, engine) in engines() {
        let (nearest, distance) = engine.argmin(x.view(), y.view(), Metric::Euclidean).unwrap();
        let nn = engine.knn(x.view(), y.view(), 1, Metric::Euclidean).unwrap();
        assert_eq!(nearest, nn.indices.column(0), "{name}");
        assert_eq!(distance, nn.distances.column(0), "{name}");
    }
}

#[test]
fn nan_rows_come_last_and_bad_k_is_an_error() {
    let x = array![[0.0f32, 0.0], [1.0, 1.0]];
    let y = array![[f32::NAN, 0.0], [5.0, 5.0], [1.0, 1.0]];
    for (name, engine) in engines() {
        let nn = engine.knn(x.view(), y.view(), 3, Metric::SqEuclidean).unwrap();
        assert_eq!(nn.indices, array![[2, 1, 0], [2, 1, 0]], "{name}");
        assert!(nn.distances[(0, 2)].is_nan());
        for k in [0, 4] {
            let e = engine.knn(x.view(), y.view(), k, Metric::Euclidean).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{name} k = {k}: {e}");
        }
        assert!(engine.knn_self(x.view(), 2, Metric::Euclidean).is_err(), "{name}: 2 neighbours of 2 points");
        let empty = Array2::<f32>::zeros((0, 2));
        assert_eq!(engine.knn(empty.view(), y.view(), 2, Metric::Euclidean).unwrap().indices.dim(), (0, 2));
    }
}

/// The reference pairs within `r`, by row then column, with the f64 distances rounded to f32
/// (exactly what f32 gives on integer data).
fn reference_pairs(
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    r: f32,
    metric: Metric,
    upper: bool,
) -> Vec<(i64, i64, f32)> {
    let mut out = Vec::new();
    for i in 0..x.nrows() {
        for j in if upper { i + 1 } else { 0 }..y.nrows() {
            let v = oracle(&x.row(i).to_vec(), &y.row(j).to_vec(), metric) as f32;
            if v <= r {
                out.push((i as i64, j as i64, v));
            }
        }
    }
    out
}

#[test]
fn radius_on_integer_data_is_the_reference_exactly() {
    let x = grid(41, 140, 3);
    let y = grid(42, 200, 3);
    for metric in EXACT_ON_INTEGERS {
        let r = if metric == Metric::Euclidean { 2f32.sqrt() } else { 2.0 };
        let want = reference_pairs(x.view(), y.view(), r, metric, false);
        let want_self = reference_pairs(x.view(), x.view(), r, metric, true);
        for (name, engine) in engines() {
            let got = engine.radius(x.view(), y.view(), r, metric, usize::MAX).unwrap();
            let got: Vec<_> = (0..got.len()).map(|p| (got.rows[p], got.cols[p], got.distances[p])).collect();
            assert!(got == want, "{name} {metric}: {} pairs, {} expected", got.len(), want.len());
            let own = engine.radius_self(x.view(), r, metric, usize::MAX).unwrap();
            let own: Vec<_> = (0..own.len()).map(|p| (own.rows[p], own.cols[p], own.distances[p])).collect();
            assert!(own == want_self, "{name} {metric} self: {} pairs, {} expected", own.len(), want_self.len());
        }
    }
}

#[test]
fn radius_fails_cleanly_past_the_pair_cap() {
    let x = grid(51, 100, 2);
    for (name, engine) in engines() {
        let all = engine.radius(x.view(), x.view(), 100.0, Metric::Euclidean, 10_000).unwrap();
        assert_eq!(all.len(), 10_000, "{name}");
        let e = engine.radius(x.view(), x.view(), 100.0, Metric::Euclidean, 9_999).unwrap_err();
        assert!(e.to_string().contains("more than 9999 pairs"), "{name}: {e}");
        assert!(engine.radius(x.view(), x.view(), -1.0, Metric::Euclidean, 10).is_err());
        assert!(engine.radius(x.view(), x.view(), f32::NAN, Metric::Euclidean, 10).is_err());
    }
}

#[test]
fn gpu_selection_on_the_device_equals_the_cpu_around_its_limits() {
    // The GPU reduces tiles to each row's k best candidates: for every metric that is exact on
    // integers, one tile and tiles split in columns must give the CPU's lists exactly (the
    // epilogue's limit, k around SELECT_K_MAX, is device_answers::any_k_up_to_the_limit's).
    use pairdist::{Backend, Engine, EngineOptions};
    // Sizes that make a few column blocks of the small tiles below (lavapipe pays ~25 ms a pass).
    let x = grid(61, 70, 3);
    let y = grid(62, 600, 3);
    let cpu = crate::support::cpu();
    // lavapipe would select on the host; force the device epilogue (and, for the last, tiles
    // small enough that a row's lists come from several column blocks).
    let device = |max_tile_bytes| {
        let options =
            EngineOptions { backend: Backend::Gpu, reduce_on_device: Some(true), max_tile_bytes, ..Default::default() };
        Engine::with_options(options).unwrap()
    };
    let (gpu, tiled) = (device(None), device(Some(64 << 10)));
    for k in [1, 9, 40] {
        for metric in EXACT_ON_INTEGERS {
            let want = cpu.knn(x.view(), y.view(), k, metric).unwrap();
            assert_eq!(gpu.knn(x.view(), y.view(), k, metric).unwrap(), want, "k = {k} {metric}");
            assert_eq!(tiled.knn(x.view(), y.view(), k, metric).unwrap(), want, "small tiles, k = {k} {metric}");
            let own = cpu.knn_self(y.view(), k, metric).unwrap();
            assert_eq!(gpu.knn_self(y.view(), k, metric).unwrap(), own, "self, k = {k} {metric}");
        }
    }
}

#[test]
fn a_monitor_counts_every_pair_and_stops_the_next_call() {
    use pairdist::{Backend, Engine, EngineOptions, Monitor};
    use std::sync::Arc;
    let x = grid(71, 300, 3);
    let y = grid(72, 900, 3);
    for backend in [Backend::Gpu, Backend::Cpu] {
        let monitor = Arc::new(Monitor::default());
        let options = EngineOptions {
            backend,
            monitor: Some(monitor.clone()),
            reduce_on_device: Some(true),
            ..Default::default()
        };
        let engine = Engine::with_options(options).unwrap();
        engine.knn(x.view(), y.view(), 3, Metric::Euclidean).unwrap(); // on the GPU: the select epilogue
        assert_eq!(monitor.pairs_done(), 300 * 900, "{backend:?} knn");
        // Past the select epilogue's limit, the GPU streams its tiles.
        engine.knn(x.view(), y.view(), 800, Metric::Euclidean).unwrap();
        engine.radius(x.view(), y.view(), 1.0, Metric::Euclidean, usize::MAX).unwrap();
        assert_eq!(monitor.pairs_done(), 3 * 300 * 900, "{backend:?} knn and radius");
        monitor.request_stop();
        for k in [3, 800] {
            let e = engine.knn(x.view(), y.view(), k, Metric::Euclidean).unwrap_err();
            assert!(matches!(e, Error::Interrupted), "{backend:?} k = {k}: {e}");
        }
        assert!(matches!(engine.radius(x.view(), y.view(), 1.0, Metric::Euclidean, 10), Err(Error::Interrupted)));
    }
}

#[test]
fn jobs_over_windows_are_shards_that_merge_into_the_whole_answer() {
    use pairdist::answer::{TopK, Within};
    use pairdist::job::{Answer, Job, Target};
    let x = grid(81, 150, 3);
    let y = grid(82, 700, 3);
    let (n, m, k) = (150, 700, 6);
    // The GPU's select epilogue must report global columns and skip the global diagonal too.
    let options =
        pairdist::EngineOptions { backend: pairdist::Backend::Gpu, reduce_on_device: Some(true), ..Default::default() };
    let select = pairdist::Engine::with_options(options).unwrap();
    let [(gpu_name, gpu), (cpu_name, cpu)] = engines();
    for (name, engine) in [(gpu_name, gpu), (cpu_name, cpu), ("gpu select", &select)] {
        // k nearest: the base in three shards, offered to the same lists.
        let mut lists = vec![TopK::new(k); n];
        for cols in [0..250, 250..251, 251..m] {
            let job = Job::new(x.view(), Some(y.view()), Metric::Cityblock, Answer::Nearest { k, lists: &mut lists });
            engine.run(job.window(0..n, cols)).unwrap();
        }
        let whole = engine.knn(x.view(), y.view(), k, Metric::Cityblock).unwrap();
        for (i, list) in lists.iter().enumerate() {
            let got: Vec<(f32, i64)> = list.as_slice().to_vec();
            let want: Vec<(f32, i64)> = (0..k).map(|c| (whole.distances[(i, c)], whole.indices[(i, c)])).collect();
            assert_eq!(got, want, "{name} row {i}");
        }
        // A kNN graph over a window on the diagonal: each point left out by its global index.
        let mut lists = vec![TopK::new(3); 100];
        let job = Job::new(y.view(), None, Metric::Euclidean, Answer::Nearest { k: 3, lists: &mut lists });
        engine.run(job.upper().window(300..400, 300..400)).unwrap();
        let part = y.slice(ndarray::s![300..400, ..]);
        let alone = engine.knn_self(part, 3, Metric::Euclidean).unwrap();
        for (i, list) in lists.iter().enumerate() {
            let got: Vec<i64> = list.as_slice().iter().map(|c| c.1 - 300).collect();
            assert_eq!(got, alone.indices.row(i).to_vec(), "{name} graph window row {i}");
        }
        // A matrix window is that block of the whole matrix.
        let full = engine.cdist(x.view(), y.view(), Metric::Euclidean).unwrap();
        let mut block = Array2::<f32>::zeros((40, 300));
        let job =
            Job::new(x.view(), Some(y.view()), Metric::Euclidean, Answer::Matrix(Target::Array(block.view_mut())));
        engine.run(job.window(100..140, 350..650)).unwrap();
        assert_eq!(block, full.slice(ndarray::s![100..140, 350..650]), "{name} matrix window");
        // Pairs within r of a window on the diagonal of X against itself: the pairs i < j there.
        let mut rows = vec![Within::default(); 50];
        let job = Job::new(
            y.view(),
            None,
            Metric::Euclidean,
            Answer::Within { r: 1.0, max_pairs: usize::MAX, rows: &mut rows },
        );
        engine.run(job.upper().window(200..250, 200..250)).unwrap();
        let all = engine.radius_self(y.view(), 1.0, Metric::Euclidean, usize::MAX).unwrap();
        let want: Vec<(i64, i64)> = (0..all.len())
            .map(|p| (all.rows[p], all.cols[p]))
            .filter(|&(i, j)| (200..250).contains(&i) && (200..250).contains(&j))
            .collect();
        let mut got = pairdist::Pairs::default();
        for (r, within) in rows.iter().enumerate() {
            got.push_row(200 + r, within);
        }
        assert_eq!(
            got.rows.iter().copied().zip(got.cols.iter().copied()).collect::<Vec<_>>(),
            want,
            "{name} radius window"
        );
        // Windows outside the problem, and pairs i < j off the diagonal, are errors.
        let mut lists = vec![TopK::new(1); 10];
        let job = Job::new(x.view(), Some(y.view()), Metric::Euclidean, Answer::Nearest { k: 1, lists: &mut lists });
        assert!(matches!(engine.run(job.window(0..10, 600..701)), Err(Error::InvalidArgument(_))));
        let job = Job::new(y.view(), None, Metric::Euclidean, Answer::Nearest { k: 1, lists: &mut lists });
        assert!(matches!(engine.run(job.upper().window(0..10, 10..20)), Err(Error::InvalidArgument(_))));
    }
}
