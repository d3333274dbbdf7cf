//! The autotuner and its cache, on the GPU adapter (lavapipe in CI): the tuner times every
//! candidate and chooses one of them; every candidate tuning computes what the f64 reference
//! does; the cache round-trips, is keyed, and a corrupt one falls back to the default. No
//! assertion depends on how fast anything ran.

use std::path::Path;

use ndarray::{Array2, ArrayView2};
use pairdist::cpu::reference;
use pairdist::gpu::{CACHE_FILE, CacheKey, GpuContext, TuneOptions, Tuning, TuningCache, TuningOrigin, tune};
use pairdist::{Backend, Engine, EngineOptions, Metric};

/// The GPU context of the adapter `Backend::Gpu` picks. A machine without one fails: CI must
/// never silently skip the GPU.
fn context() -> GpuContext {
    GpuContext::new(None).expect("no GPU adapter: install a Vulkan driver (apt-get install mesa-vulkan-drivers)")
}

/// A GPU engine reading its tuning cache from `dir`.
fn engine(dir: &Path, autotune: bool) -> Engine {
    let options =
        EngineOptions { backend: Backend::Gpu, tuning_cache: Some(dir.to_path_buf()), autotune, ..Default::default() };
    Engine::with_options(options).unwrap()
}

/// Seeded points in [-2, 2) (a small xorshift: this test needs no distribution).
fn points(seed: u64, n: usize, d: usize) -> Array2<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Array2::from_shape_simple_fn((n, d), || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 22) as f32 - 2.0
    })
}

/// Every entry of `got` within the reference's tolerance; the message names the first that is not.
fn assert_matches(what: &str, x: ArrayView2<f32>, y: ArrayView2<f32>, metric: Metric, got: ArrayView2<f32>) {
    let want = reference::cdist(x, y, metric).unwrap();
    assert_eq!(got.dim(), want.dim(), "{what}");
    for ((i, j), &w) in want.indexed_iter() {
        let g = f64::from(got[(i, j)]);
        // The coordinates lie in [-2, 2).
        let tol = reference::tolerance(metric, x.ncols(), 2.0, w);
        assert!((g - w).abs() <= tol, "{what}: ({i}, {j}) is {g}, the reference {w}, tolerance {tol:.2e}");
    }
}

#[test]
fn the_tuner_measures_every_candidate_and_chooses_one() {
    let mut ctx = context();
    let candidates = Tuning::candidates(ctx.limits());
    assert!(candidates.len() > 1, "{candidates:?}");
    let report = tune(&mut ctx, &TuneOptions { n: 200, d: 40, repeats: 1 }).unwrap();
    let measured: Vec<Tuning> = report.measurements.iter().map(|m| m.tuning).collect();
    assert_eq!(measured, candidates);
    for m in &report.measurements {
        assert!(m.failure.is_none() && m.compute.is_some(), "{m:?}");
    }
    assert!(candidates.contains(&report.chosen));
    assert_eq!(report.default, candidates[0]);
    assert_eq!((ctx.tuning(), ctx.tuning_origin()), (report.chosen, TuningOrigin::Tuned));
    assert!(report.summary().contains("200x200x40"), "{}", report.summary());
}

#[test]
fn the_tuner_refuses_empty_and_huge_problems() {
    let mut ctx = context();
    for (n, d, repeats) in [(0, 8, 1), (8, 0, 1), (8, 8, 0), (1 << 20, 8, 1), (8, 1 << 28, 1)] {
        let err = tune(&mut ctx, &TuneOptions { n, d, repeats }).unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
    }
    assert_eq!(ctx.tuning_origin(), TuningOrigin::Default);
}

#[test]
fn every_candidate_tuning_matches_the_reference() {
    let ctx = context();
    let key = CacheKey::for_adapter(ctx.adapter());
    // Partial blocks, d = 1, d not a multiple of 4, d above every TILE_K (several steps), and
    // d a multiple of 4 (the vec4 staging path, prefetched or not): one step short of TILE_K
    // (4), whole steps (64), and several steps ending in a partial one (100).
    let shapes = [
        (1, 1, 1),
        (7, 5, 3),
        (65, 129, 37),
        (130, 260, 33),
        (257, 70, 64),
        (40, 300, 130),
        (70, 9, 4),
        (133, 201, 100),
    ];
    for tuning in Tuning::candidates(ctx.limits()) {
        let dir = tempfile::tempdir().unwrap();
        TuningCache::in_dir(dir.path()).store(&key, tuning, "test").unwrap();
        let engine = engine(dir.path(), false);
        assert_eq!(engine.tuning_origin(), Some(TuningOrigin::Cache));
        assert_eq!(engine.kernel_shape().map(|(_, t)| t), Some(tuning));
        for (k, &(n, m, d)) in shapes.iter().enumerate() {
            let x = points(2 * k as u64, n, d);
            let y = points(2 * k as u64 + 1, m, d);
            for metric in [Metric::SqEuclidean, Metric::Cityblock, Metric::Chebyshev] {
                let got = engine.cdist(x.view(), y.view(), metric).unwrap();
                assert_matches(&format!("{tuning:?} {metric} {n}x{m}x{d}"), x.view(), y.view(), metric, got.view());
            }
        }
        // pdist runs only the blocks on and above the diagonal.
        let x = points(99, 150, 21);
        let got = engine.pdist(x.view(), Metric::Euclidean).unwrap();
        let want = reference::pdist(x.view(), Metric::Euclidean).unwrap();
        for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
            let tol = reference::tolerance(Metric::Euclidean, 21, 2.0, w);
            assert!((f64::from(g) - w).abs() <= tol, "{tuning:?} pdist [{i}]: {g} vs {w}");
        }
    }
}

#[test]
fn the_cache_round_trips_and_is_keyed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = TuningCache::in_dir(dir.path());
    let key =
        CacheKey { adapter: "A".into(), driver: "mesa 1".into(), backend: "Vulkan".into(), version: "0.1.0".into() };
    let tuning = Tuning { wg_x: 8, wg_y: 16, tile_k: 16, prefetch: false };
    assert_eq!(cache.load(&key).unwrap(), None);
    cache.store(&key, tuning, "").unwrap();
    assert_eq!(cache.load(&key).unwrap(), Some(tuning));
    let others = [
        CacheKey { adapter: "B".into(), ..key.clone() },
        CacheKey { driver: "mesa 2".into(), ..key.clone() },
        CacheKey { backend: "Gl".into(), ..key.clone() },
        CacheKey { version: "0.2.0".into(), ..key.clone() },
    ];
    for other in &others {
        assert_eq!(cache.load(other).unwrap(), None, "{other:?}");
    }
    assert_eq!(TuningCache::in_dir(dir.path()).load(&key).unwrap(), Some(tuning));

    // An engine takes its own adapter's entry and nothing else.
    let ctx = context();
    let ours = CacheKey::for_adapter(ctx.adapter());
    let default = Tuning::for_limits(ctx.limits());
    let other = *Tuning::candidates(ctx.limits()).last().unwrap();
    assert_ne!(other, default);
    let dir = tempfile::tempdir().unwrap();
    let cache = TuningCache::in_dir(dir.path());
    cache.store(&CacheKey { version: "0.0.0-other".into(), ..ours.clone() }, other, "").unwrap();
    let e = engine(dir.path(), false);
    assert_eq!((e.tuning_origin(), e.kernel_shape().unwrap().1), (Some(TuningOrigin::Default), default));
    cache.store(&ours, other, "").unwrap();
    let e = engine(dir.path(), false);
    assert_eq!((e.tuning_origin(), e.kernel_shape().unwrap().1), (Some(TuningOrigin::Cache), other));
}

#[test]
fn a_corrupt_or_unusable_cache_falls_back_to_the_default() {
    let ctx = context();
    let default = Tuning::for_limits(ctx.limits());
    let key = CacheKey::for_adapter(ctx.adapter());
    let x = points(5, 33, 9);
    let check = |dir: &Path, what: &str| {
        let e = engine(dir, false);
        assert_eq!((e.tuning_origin(), e.kernel_shape().unwrap().1), (Some(TuningOrigin::Default), default), "{what}");
        let got = e.cdist(x.view(), x.view(), Metric::SqEuclidean).unwrap();
        assert_matches(what, x.view(), x.view(), Metric::SqEuclidean, got.view());
    };
    for text in ["{ not json", "", "[1, 2]", r#"{"format": 7, "entries": []}"#, "\u{0}\u{1}binary"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CACHE_FILE), text).unwrap();
        check(dir.path(), &format!("file {text:?}"));
    }
    // A tuning no device can run (a 64 x 64 workgroup), one with TILE_K 0, one that would
    // fit but is no candidate (odd workgroup sides), and a candidate shape with a prefetch
    // its registers cannot hold (8 x 8 x 32: 4 staging items per invocation).
    let odd = Tuning { wg_x: 3, wg_y: 5, tile_k: 12, prefetch: false };
    for bad in [
        Tuning { wg_x: 64, wg_y: 64, tile_k: 16, prefetch: false },
        Tuning { wg_x: 16, wg_y: 16, tile_k: 0, prefetch: false },
        odd,
        Tuning { wg_x: 8, wg_y: 8, tile_k: 32, prefetch: true },
    ] {
        let dir = tempfile::tempdir().unwrap();
        TuningCache::in_dir(dir.path()).store(&key, bad, "").unwrap();
        check(dir.path(), &format!("{bad:?}"));
    }
    // Unreadable: a directory where the file should be.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(CACHE_FILE)).unwrap();
    check(dir.path(), "a directory");
}

#[test]
fn autotune_measures_once_then_the_cache_answers() {
    let dir = tempfile::tempdir().unwrap();
    let first = engine(dir.path(), true);
    assert_eq!(first.tuning_origin(), Some(TuningOrigin::Tuned));
    let tuning = first.kernel_shape().unwrap().1;
    let ctx = context();
    assert!(Tuning::candidates(ctx.limits()).contains(&tuning));
    let cached = TuningCache::in_dir(dir.path()).load(&CacheKey::for_adapter(ctx.adapter())).unwrap();
    assert_eq!(cached, Some(tuning));
    // Later engines, with or without autotune, read the cache.
    for autotune in [true, false] {
        let e = engine(dir.path(), autotune);
        assert_eq!((e.tuning_origin(), e.kernel_shape().unwrap().1), (Some(TuningOrigin::Cache), tuning));
    }
    let x = points(8, 70, 19);
    let got = first.cdist(x.view(), x.view(), Metric::Cityblock).unwrap();
    assert_matches("autotuned", x.view(), x.view(), Metric::Cityblock, got.view());
}
