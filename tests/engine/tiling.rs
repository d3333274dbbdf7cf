//! The tile plan and the streaming executors: many small tiles give exactly what one tile
//! gives, the split-d path matches the oracle, and sinks on disk hold the same values.

use crate::support::{assert_matches, points, with_tiles};
use pairdist::plan::Region;
use pairdist::{Backend, Metric};

/// Smallest tile cap the GPU's 64 × 64 block allows: 16 KiB of f32 outputs.
const TINY_GPU: u64 = 16 << 10;
const TINY_CPU: u64 = 1 << 10;

#[test]
fn tiny_tiles_equal_one_tile_bit_for_bit() {
    // 1000 × 1000 in 64 × 64 GPU blocks: 256 tiles; neither side a multiple of the block.
    let x = points(1, 1000, 24, -4.0, 4.0);
    let y = points(2, 999, 24, -4.0, 4.0);
    for (backend, cap) in [(Backend::Gpu, TINY_GPU), (Backend::Cpu, TINY_CPU)] {
        let tiny = with_tiles(backend, cap);
        let plan = tiny.plan(1000, 999, 24, Region::Full).unwrap();
        assert!(plan.tiles().count() >= 200, "{backend:?}: only {} tiles", plan.tiles().count());
        assert!(!plan.splits_dims());
        // The GPU's default plan is one tile here; the CPU's default tiles for its cache, but
        // still 10x fewer than the forced ones.
        let one = with_tiles(backend, u64::MAX);
        let default_blocks = one.plan(1000, 999, 24, Region::Full).unwrap().tiles().count();
        match backend {
            Backend::Gpu => assert_eq!(default_blocks, 1),
            _ => assert!(default_blocks * 10 <= plan.tiles().count()),
        }
        for metric in Metric::KERNELS {
            let a = tiny.cdist(x.view(), y.view(), metric).unwrap();
            let b = one.cdist(x.view(), y.view(), metric).unwrap();
            let differ = a.iter().zip(&b).filter(|(p, q)| p.to_bits() != q.to_bits()).count();
            assert_eq!(differ, 0, "{backend:?} {metric}: {differ} entries differ between tiny and one tile");
            assert_matches(&format!("{backend:?}"), x.view(), y.view(), metric, a.view());
            let p_tiny = tiny.pdist(x.view(), metric).unwrap();
            let p_one = one.pdist(x.view(), metric).unwrap();
            assert!(p_tiny.iter().zip(&p_one).all(|(p, q)| p.to_bits() == q.to_bits()), "{backend:?} {metric} pdist");
        }
    }
}

#[test]
fn split_dimensions_match_the_oracle() {
    let gpu = with_tiles(Backend::Gpu, TINY_GPU);
    let (n, m, d) = (70, 90, 5000);
    let plan = gpu.plan(n, m, d, Region::Full).unwrap();
    assert!(plan.splits_dims(), "expected d to be split: {plan:?}");
    assert!(plan.dim_chunks().count() > 10);
    let x = points(3, n, d, -1.0, 1.0);
    let y = points(4, m, d, -1.0, 1.0);
    for metric in Metric::KERNELS {
        let got = gpu.cdist(x.view(), y.view(), metric).unwrap();
        assert_matches("gpu split d", x.view(), y.view(), metric, got.view());
        // pdist walks the split path too (only blocks on or above the diagonal).
        let p = gpu.pdist(x.view(), metric).unwrap();
        let mut k = 0;
        for i in 0..n {
            for j in i + 1..n {
                let want = crate::support::oracle(&x.row(i).to_vec(), &x.row(j).to_vec(), metric);
                let tol = crate::support::tolerance(metric, d, 1.0, want);
                assert!(
                    crate::support::close(p[k] as f64, want, tol),
                    "{metric} split-d pdist ({i}, {j}): {} vs {want}",
                    p[k]
                );
                k += 1;
            }
        }
    }
}

/// canberra's and hamming's weights are read per dimension inside the kernels: with `d` split
/// into passes (GPU) and chunks (CPU), each pass must weigh its own slice of `w`. The weights
/// differ from one dimension to the next (zeros included), so a slice taken at the wrong
/// offset changes the results; on small integers, hamming's terms differ from one pair to the
/// next too.
#[test]
fn weights_follow_their_dimensions_across_passes() {
    use pairdist::Distance;
    let gpu = with_tiles(Backend::Gpu, TINY_GPU);
    let (n, m, d) = (40, 70, 5000);
    let plan = gpu.plan(n, m, d, Region::Full).unwrap();
    assert!(plan.splits_dims() && plan.dim_chunks().count() > 3, "expected d to be split: {plan:?}");
    let x = points(7, n, d, 0.0, 3.0).mapv(f32::floor);
    let y = points(8, m, d, 0.0, 3.0).mapv(f32::floor);
    // Halves, so that hamming's sums of weights are exact.
    let w: Vec<f64> = (0..d).map(|k| ((k * 7 + k / 500) % 9) as f64 * 0.5).collect();
    let cpu = with_tiles(Backend::Cpu, TINY_CPU);
    for metric in [Metric::Canberra, Metric::Hamming] {
        let distance = Distance::new(metric).with_weights(w.clone()).unwrap();
        let want = |a: &ndarray::Array2<f32>, i: usize, j: usize| {
            crate::support::oracle_weighted(&x.row(i).to_vec(), &a.row(j).to_vec(), metric, &w)
        };
        for (name, engine) in [("gpu split d", &gpu), ("cpu", &cpu)] {
            let got = engine.cdist(x.view(), y.view(), &distance).unwrap();
            for ((i, j), &g) in got.indexed_iter() {
                let want = want(&y, i, j);
                let tol = crate::support::tolerance(metric, d, 3.0, want);
                assert!(crate::support::close(g as f64, want, tol), "{name} {metric} ({i}, {j}): {g} vs {want}");
            }
            let p = engine.pdist(x.view(), &distance).unwrap();
            let mut k = 0;
            for i in 0..n {
                for j in i + 1..n {
                    let want = want(&x, i, j);
                    let tol = crate::support::tolerance(metric, d, 3.0, want);
                    assert!(
                        crate::support::close(p[k] as f64, want, tol),
                        "{name} {metric} pdist ({i}, {j}): {} vs {want}",
                        p[k]
                    );
                    k += 1;
                }
            }
        }
    }
}

#[test]
fn tiles_not_multiple_of_the_workgroup() {
    let gpu = with_tiles(Backend::Gpu, TINY_GPU * 2);
    for (n, m, d) in [(129, 67, 3), (65, 200, 7), (1, 300, 2)] {
        let x = points(n as u64, n, d, -2.0, 2.0);
        let y = points(m as u64 + 7, m, d, -2.0, 2.0);
        for metric in Metric::KERNELS {
            let got = gpu.cdist(x.view(), y.view(), metric).unwrap();
            assert_matches("gpu ragged tiles", x.view(), y.view(), metric, got.view());
        }
    }
}

#[test]
fn tile_caps_and_memory_budgets_mean_the_same_on_both_backends() {
    // 0.1's GPU refused --memory-budget 64KiB for 150 points while the CPU took
    // --max-tile-bytes 1. Now every value works on both, caps below the floors act as the
    // floors (plan::MIN_TILE_BYTES, plan::MIN_MEMORY_BUDGET), and the results are the same.
    use pairdist::{Engine, EngineOptions};
    let x = points(31, 150, 7, -3.0, 3.0);
    let y = points(32, 140, 7, -3.0, 3.0);
    for backend in [Backend::Gpu, Backend::Cpu] {
        for (max_tile_bytes, memory_budget) in [(Some(1), 1), (None, 64 << 10), (Some(4096), 1 << 20), (None, 1)] {
            let options = EngineOptions { backend, max_tile_bytes, memory_budget, ..Default::default() };
            let what = format!("{backend:?} tile cap {max_tile_bytes:?}, budget {memory_budget}");
            let engine = Engine::with_options(options).unwrap_or_else(|e| panic!("{what}: {e}"));
            for metric in Metric::KERNELS {
                let got = engine.cdist(x.view(), y.view(), metric).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_matches(&what, x.view(), y.view(), metric, got.view());
            }
        }
    }
}
