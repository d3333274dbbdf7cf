//! Every backend against an independent f64 oracle, on shapes around the tile edges, on the
//! numerically hard cases, and on every kind of view and output form the API accepts.

use crate::support::{assert_matches, engines, points};
use ndarray::{Array2, ArrayView2, array, s};
use pairdist::{Error, Metric};

const METRICS: [Metric; 10] = Metric::KERNELS;

#[test]
fn shapes_around_tile_edges() {
    let sizes = [(1, 1), (2, 65), (63, 64), (64, 63), (65, 130), (130, 2)];
    for d in [1, 3, 7, 256, 1000] {
        for (k, &(n, m)) in sizes.iter().enumerate() {
            let x = points(d as u64 * 100 + k as u64, n, d, -10.0, 10.0);
            let y = points(d as u64 * 100 + k as u64 + 50, m, d, -10.0, 10.0);
            for metric in METRICS {
                for (name, engine) in engines() {
                    let got = engine.cdist(x.view(), y.view(), metric).unwrap();
                    assert_matches(name, x.view(), y.view(), metric, got.view());
                }
            }
        }
    }
}

#[test]
fn self_distance_diagonal_is_exactly_zero() {
    let x = points(7, 130, 37, -1e3, 1e3);
    for metric in METRICS {
        for (name, engine) in engines() {
            let d = engine.cdist(x.view(), x.view(), metric).unwrap();
            for i in 0..x.nrows() {
                // 0, but +inf for jensenshannon of rows with negative entries, as in SciPy.
                let want = crate::support::oracle(&x.row(i).to_vec(), &x.row(i).to_vec(), metric) as f32;
                assert_eq!(d[(i, i)], want, "{name} {metric}: diagonal ({i}, {i}) is {}", d[(i, i)]);
            }
        }
    }
}

#[test]
fn pytorch_42479_cancellation() {
    // |x|² + |y|² − 2xy loses everything here in f32; differences first gives 109 exactly.
    let x = array![[512695.0f32]];
    let y = array![[512804.0f32]];
    for (name, engine) in engines() {
        assert_eq!(engine.cdist(x.view(), y.view(), Metric::Euclidean).unwrap()[(0, 0)], 109.0, "{name}");
        assert_eq!(engine.cdist(x.view(), y.view(), Metric::SqEuclidean).unwrap()[(0, 0)], 11881.0, "{name}");
        assert_eq!(engine.cdist(x.view(), y.view(), Metric::Cityblock).unwrap()[(0, 0)], 109.0, "{name}");
    }
}

#[test]
fn points_offset_by_a_million() {
    // Small spreads far from the origin: only the difference matters.
    let base = points(11, 70, 5, -1.0, 1.0);
    let x = base.mapv(|v| v + 1e6);
    let y = points(12, 66, 5, -1.0, 1.0).mapv(|v| v + 1e6);
    for metric in METRICS {
        for (name, engine) in engines() {
            let got = engine.cdist(x.view(), y.view(), metric).unwrap();
            assert_matches(name, x.view(), y.view(), metric, got.view());
            // And nearly equal points are not rounded to zero.
            // (Metrics of differences: the directions of these two points, which cosine and
            // jensenshannon compare, differ by less than f32 resolves.)
            let near = array![[1e6f32, 1e6], [1e6 + 0.125, 1e6]];
            let d = engine.cdist(near.view(), near.view(), metric).unwrap();
            assert!(
                !crate::support::of_differences(metric) || d[(0, 1)] > 0.0,
                "{name} {metric}: neighbours collapsed to 0"
            );
        }
    }
}

#[test]
fn transposed_and_strided_views() {
    let base = points(21, 80, 90, -5.0, 5.0);
    // Points as columns of a d × n array: the transposed view is n × d with column strides.
    let xt = base.t().to_owned();
    let x = xt.t();
    // Every other row and column: non-contiguous in both axes.
    let y_owner = points(22, 140, 180, -5.0, 5.0);
    let y = y_owner.slice(s![..;2, ..;2]);
    for metric in METRICS {
        for (name, engine) in engines() {
            let got = engine.cdist(x, y, metric).unwrap();
            assert_matches(name, x, y, metric, got.view());
        }
    }
}

#[test]
fn cdist_into_a_strided_output() {
    let x = points(31, 65, 9, -3.0, 3.0);
    let y = points(32, 33, 9, -3.0, 3.0);
    for (name, engine) in engines() {
        // Write into the transpose of a buffer: a column-major output view.
        let mut buffer = Array2::<f32>::from_elem((33, 65), f32::NAN);
        engine.cdist_into(x.view(), y.view(), Metric::Euclidean, buffer.view_mut().reversed_axes()).unwrap();
        assert_matches(name, x.view(), y.view(), Metric::Euclidean, buffer.t());
        let mut wrong = Array2::<f32>::zeros((65, 32));
        let err = engine.cdist_into(x.view(), y.view(), Metric::Euclidean, wrong.view_mut()).unwrap_err();
        assert!(matches!(err, Error::OutputShape { .. }), "{name}: {err}");
    }
}

/// SciPy's condensed vector from a square matrix, for comparing pdist.
fn condensed(full: ArrayView2<f32>) -> Vec<f32> {
    let n = full.nrows();
    (0..n).flat_map(|i| (i + 1..n).map(move |j| full[(i, j)])).collect()
}

#[test]
fn pdist_is_the_upper_triangle() {
    for n in [0, 1, 2, 63, 64, 65, 131] {
        let x = points(40 + n as u64, n, 6, -2.0, 2.0);
        for metric in METRICS {
            for (name, engine) in engines() {
                let p = engine.pdist(x.view(), metric).unwrap();
                assert_eq!(p.len(), n * n.saturating_sub(1) / 2, "{name}: length for n = {n}");
                let mut k = 0;
                for i in 0..n {
                    for j in i + 1..n {
                        let want = crate::support::oracle(&x.row(i).to_vec(), &x.row(j).to_vec(), metric);
                        let tol = crate::support::tolerance(metric, 6, 2.0, want);
                        assert!(
                            crate::support::close(p[k] as f64, want, tol),
                            "{name} {metric} pdist ({i}, {j}): {} vs {want}",
                            p[k]
                        );
                        k += 1;
                    }
                }
                if n > 1 {
                    let full = engine.cdist(x.view(), x.view(), metric).unwrap();
                    let same = p.iter().zip(condensed(full.view())).all(|(&a, b)| a == b || (a.is_nan() && b.is_nan()));
                    assert!(same, "{name} {metric}: pdist differs from cdist");
                }
            }
        }
    }
}

#[test]
fn empty_inputs_follow_scipy() {
    for (name, engine) in engines() {
        let none = Array2::<f32>::zeros((0, 4));
        let some = points(50, 3, 4, 0.0, 1.0);
        assert_eq!(engine.cdist(none.view(), some.view(), Metric::Euclidean).unwrap().dim(), (0, 3), "{name}");
        assert_eq!(engine.cdist(some.view(), none.view(), Metric::Euclidean).unwrap().dim(), (3, 0), "{name}");
        // d = 0: SciPy's values for points of no dimensions (0; NaN for cosine, correlation
        // and hamming; +inf for jensenshannon).
        let flat_x = Array2::<f32>::zeros((5, 0));
        let flat_y = Array2::<f32>::zeros((7, 0));
        for metric in METRICS {
            let d = engine.cdist(flat_x.view(), flat_y.view(), metric).unwrap();
            let want = crate::support::oracle(&[], &[], metric) as f32;
            assert!(d.iter().all(|&v| v == want || (v.is_nan() && want.is_nan())), "{name} {metric}: d = 0: {d}");
        }
        assert_eq!(engine.pdist(none.view(), Metric::Cityblock).unwrap().len(), 0, "{name}");
    }
}

#[test]
fn nan_and_inf_propagate() {
    let x = array![[0.0f32, f32::NAN], [f32::INFINITY, 0.0], [1.0, 1.0]];
    let y = array![[0.0f32, 0.0], [f32::INFINITY, 0.0]];
    for metric in METRICS.into_iter().filter(|&m| crate::support::of_differences(m)) {
        for (name, engine) in engines() {
            let d = engine.cdist(x.view(), y.view(), metric).unwrap();
            if metric == Metric::Chebyshev {
                // SciPy's chebyshev passes over a NaN difference (`if d > max: max = d`); SciPy
                // gives exactly this matrix.
                assert_eq!(d, array![[0.0, f32::INFINITY], [f32::INFINITY, 0.0], [1.0, f32::INFINITY]], "{name}");
                continue;
            }
            assert!(d[(0, 0)].is_nan() && d[(0, 1)].is_nan(), "{name} {metric}: NaN lost: {d}");
            assert_eq!(d[(1, 0)], f32::INFINITY, "{name} {metric}");
            assert!(d[(1, 1)].is_nan(), "{name} {metric}: inf - inf must be NaN, got {}", d[(1, 1)]);
            assert_eq!(d[(2, 1)], f32::INFINITY, "{name} {metric}");
        }
    }
}

#[test]
fn nan_inf_and_zero_rows_follow_scipy_in_every_other_metric() {
    // SciPy's rules, written out in the oracle: canberra's 0/0 terms are 0 and NaN propagates,
    // hamming counts NaN as unequal, cosine and correlation of a zero (or constant) row are
    // NaN, jensenshannon skips a NaN entry only beside a zero and makes a row with a
    // negative entry or a zero sum infinitely far.
    let x = array![
        [0.0f32, f32::NAN, 1.0],
        [f32::INFINITY, 0.0, 1.0],
        [1.0, 1.0, 1.0],
        [0.0, 0.0, 0.0],
        [-1.0, 2.0, 3.0],
        [0.0, 0.5, 2.0]
    ];
    let y = array![[0.0f32, 0.0, 1.0], [f32::INFINITY, 0.0, 2.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]];
    for metric in METRICS.into_iter().filter(|&m| !crate::support::of_differences(m)) {
        for (name, engine) in engines() {
            let d = engine.cdist(x.view(), y.view(), metric).unwrap();
            assert_matches(&format!("{name} non-finite"), x.view(), y.view(), metric, d.view());
        }
    }
}

#[test]
fn mismatched_dimensions_are_an_error() {
    let x = points(60, 3, 4, 0.0, 1.0);
    let y = points(61, 3, 5, 0.0, 1.0);
    for (name, engine) in engines() {
        let err = engine.cdist(x.view(), y.view(), Metric::Euclidean).unwrap_err();
        assert_eq!(err.to_string(), "dimension mismatch: XA has 4 columns but XB has 5", "{name}");
    }
}

#[test]
fn cpu_path_is_generic_over_f64() {
    let x = points(70, 40, 12, -1.0, 1.0).mapv(f64::from);
    let y = points(71, 30, 12, -1.0, 1.0).mapv(f64::from);
    for metric in METRICS {
        let d = pairdist::cpu::cdist(x.view(), y.view(), metric).unwrap();
        let want = pairdist::cpu::reference::cdist(x.view(), y.view(), metric).unwrap();
        for i in 0..40 {
            for j in 0..30 {
                let want = want[(i, j)];
                assert!(crate::support::close(d[(i, j)], want, 1e-12 * (1.0 + want)), "f64 {metric} ({i}, {j})");
            }
        }
        let p = pairdist::cpu::pdist(x.view(), metric).unwrap();
        assert_eq!(p.len(), 40 * 39 / 2);
        assert_eq!(p[0], d_self(&x, metric));
    }
}

fn d_self(x: &Array2<f64>, metric: Metric) -> f64 {
    pairdist::cpu::cdist(x.view(), x.view(), metric).unwrap()[(0, 1)]
}

#[test]
fn metric_names_follow_scipy() {
    assert_eq!("manhattan".parse::<Metric>().unwrap(), Metric::Cityblock);
    assert_eq!("SqEuclidean".parse::<Metric>().unwrap(), Metric::SqEuclidean);
    assert_eq!("minkowski".parse::<Metric>().unwrap(), Metric::Minkowski { p: 2.0 });
    assert_eq!("Yule".parse::<Metric>().unwrap(), Metric::Yule);
    let err = "mahalanobiss".parse::<Metric>().unwrap_err().to_string();
    assert!(err.starts_with("unknown metric 'mahalanobiss'"), "{err}");
    for name in ["euclidean", "sqeuclidean", "cityblock", "manhattan", "cosine", "jensenshannon", "mahalanobis", "dice"]
    {
        assert!(err.contains(name), "{err}");
    }
}

#[test]
fn every_adapter_matches_the_oracle() {
    // Each adapter wgpu sees (Vulkan, and GL where a driver exists), opened by its selector.
    let adapters = pairdist::gpu::adapters();
    assert!(!adapters.is_empty(), "no GPU adapter: install a Vulkan driver (mesa-vulkan-drivers)");
    let x = points(80, 70, 13, -3.0, 3.0);
    let y = points(81, 131, 13, -3.0, 3.0);
    for a in adapters {
        let options = pairdist::EngineOptions {
            backend: pairdist::Backend::Gpu,
            adapter: Some(a.selector()),
            ..Default::default()
        };
        let engine = pairdist::Engine::with_options(options).unwrap();
        eprintln!("checking {}", engine.describe());
        assert_eq!(engine.adapter().map(|b| b.selector()), Some(a.selector()));
        for metric in METRICS {
            let got = engine.cdist(x.view(), y.view(), metric).unwrap();
            assert_matches(&a.selector(), x.view(), y.view(), metric, got.view());
        }
    }
}

#[test]
fn a_new_minkowski_p_compiles_no_pipeline_and_each_p_is_its_own() {
    // p is data in the kernel's uniform block: after the first power-term pipeline of each
    // element type, every other p (whole ones, which multiply, and fractional ones, which take
    // pow) runs the same pipelines. Alternating them on one engine also catches a stale p left
    // in a slot's uniform block by the previous call.
    let engine = pairdist::Engine::new(pairdist::Backend::Gpu).expect("no GPU adapter");
    let x = points(71, 45, 19, -2.0, 2.0);
    let y = points(72, 38, 19, -2.0, 2.0);
    let (x64, y64) = (x.mapv(f64::from), y.mapv(f64::from));
    let first = Metric::Minkowski { p: 1.5 };
    engine.cdist(x.view(), y.view(), first).unwrap();
    let f64_gpu = engine.why_on_cpu(pairdist::Dtype::F64).is_none();
    if f64_gpu {
        engine.cdist(x64.view(), y64.view(), first).unwrap();
    }
    let before = engine.stats();
    for p in [3.0, 0.7, 2.5, 1.5, 7.0, 4.7, 3.0, 0.3] {
        let metric = Metric::Minkowski { p };
        let got = engine.cdist(x.view(), y.view(), metric).unwrap();
        assert_matches(&format!("minkowski p = {p}"), x.view(), y.view(), metric, got.view());
        if f64_gpu {
            let got = engine.cdist(x64.view(), y64.view(), metric).unwrap();
            let want = pairdist::cpu::reference::cdist(x64.view(), y64.view(), metric).unwrap();
            for ((i, j), &w) in want.indexed_iter() {
                let g = got[(i, j)];
                assert!((g - w).abs() <= 1e-12 * w.abs(), "f64 minkowski p = {p} ({i}, {j}): {g} vs {w}");
            }
        }
    }
    let call = engine.stats().since(&before);
    assert_eq!(call.pipelines_compiled, 0, "new values of p compiled pipelines");
    assert!(call.dispatches > 0, "the calls ran on the GPU");
}
