//! The fit-once index on every backend: its answers are the engine's own calls on the same
//! points (defaults from the base), batch after batch; on a GPU the base stays on the device, so
//! later batches upload only their queries (seen through the engine's counters).

use ndarray::{Array2, s};
use pairdist::{Backend, Distance, Engine, EngineOptions, Index, Metric};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeded points with small integer coordinates: distances are exact, ties many.
fn grid(seed: u64, n: usize, d: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((n, d), || rng.random_range(0..5) as f32)
}

fn engines() -> Vec<(&'static str, Engine)> {
    let gpu = |reduce, max_tile_bytes| {
        Engine::with_options(EngineOptions {
            backend: Backend::Gpu,
            reduce_on_device: Some(reduce),
            max_tile_bytes,
            ..Default::default()
        })
        .expect("no GPU adapter: install a Vulkan driver (apt-get install mesa-vulkan-drivers)")
    };
    vec![
        ("cpu", Engine::new(Backend::Cpu).unwrap()),
        ("gpu, reduced on the host", gpu(false, None)),
        ("gpu, reduced on the device", gpu(true, None)),
        // Small tiles, and the base kept in many small buffers.
        ("gpu, small tiles", gpu(true, Some(16 << 10))),
    ]
}

#[test]
fn an_index_answers_what_the_engine_answers_batch_after_batch() {
    let base = grid(1, 900, 6);
    let queries = grid(2, 250, 6);
    let metrics = [
        Distance::new(Metric::Euclidean),
        Distance::new(Metric::Cityblock),
        Distance::new(Metric::Cosine),
        Distance::new(Metric::SEuclidean),
        Distance::new(Metric::Mahalanobis),
        Distance::new(Metric::Jaccard),
        Distance::new(Metric::Canberra).with_weights(vec![1.0, 2.0, 0.5, 1.0, 3.0, 0.0]).unwrap(),
    ];
    for (e, (name, engine)) in engines().into_iter().enumerate() {
        // Every metric on the CPU and on the device's reductions; the host's reductions with the
        // first two, and small tiles and buffers (lavapipe pays ~25 ms a pass) with the first.
        let tested = match e {
            0 | 2 => &metrics[..],
            1 => &metrics[..2],
            _ => &metrics[..1],
        };
        for metric in tested {
            let index = Index::new(&engine, base.view(), metric).unwrap();
            assert_eq!(index.is_resident(), name.starts_with("gpu"), "{name}");
            // The engine's call with the index's defaults (those of the base alone).
            let explicit = metric.with_defaults(base.view(), None).unwrap();
            for batch in [queries.slice(s![..100, ..]), queries.slice(s![100.., ..])] {
                let want = engine.knn(batch, base.view(), 10, &explicit).unwrap();
                let got = index.knn(batch, 10).unwrap();
                assert_eq!(got.indices, want.indices, "{name} {}", metric.metric());
                assert_eq!(got.distances, want.distances, "{name} {}", metric.metric());
                let (nearest, _) = index.argmin(batch).unwrap();
                assert_eq!(nearest, want.indices.column(0), "{name} {}", metric.metric());
                let r = want.distances[(0, 9)];
                let want = engine.radius(batch, base.view(), r, &explicit, usize::MAX).unwrap();
                assert_eq!(index.radius(batch, r, usize::MAX).unwrap(), want, "{name} {}", metric.metric());
            }
        }
    }
}

#[test]
fn a_second_batch_uploads_no_base_bytes() {
    let (m, n, d) = (1500, 100, 16);
    let base = grid(3, m, d);
    let queries = grid(4, n, d);
    for (name, engine) in engines().into_iter().skip(1) {
        let before = engine.stats();
        let index = Index::new(&engine, base.view(), Metric::Euclidean).unwrap();
        let fitted = engine.stats().since(&before);
        assert_eq!(fitted.bytes_uploaded, (m * d * 4) as u64, "{name}: the base, once");
        for batch in 0..2 {
            let before = engine.stats();
            index.knn(queries.view(), 5).unwrap();
            let query = engine.stats().since(&before);
            // The queries, once per slot at most (two slots alternate over the tiles).
            assert!(query.bytes_uploaded <= (2 * n * d * 4) as u64, "{name} batch {batch}: {query:?}");
            assert!(query.bytes_uploaded > 0);
        }
        // The engine's own call uploads the base every time.
        let before = engine.stats();
        engine.knn(queries.view(), base.view(), 5, Metric::Euclidean).unwrap();
        assert!(engine.stats().since(&before).bytes_uploaded >= (m * d * 4) as u64, "{name}");
    }
}

#[test]
fn a_resident_base_split_across_passes_of_dimensions() {
    // More dimensions than one pass sums: the base is kept in chunks of them.
    let base = grid(5, 300, 5000);
    let queries = grid(6, 40, 5000);
    let cpu = Engine::new(Backend::Cpu).unwrap();
    let want = cpu.knn(queries.view(), base.view(), 7, Metric::SqEuclidean).unwrap();
    for (name, engine) in engines().into_iter().skip(1) {
        let index = Index::new(&engine, base.view(), Metric::SqEuclidean).unwrap();
        assert_eq!(index.knn(queries.view(), 7).unwrap(), want, "{name}");
    }
}

#[test]
fn bad_queries_are_errors() {
    let base = grid(7, 10, 3);
    for (name, engine) in engines() {
        let index = Index::new(&engine, base.view(), Metric::Euclidean).unwrap();
        assert!(index.knn(grid(8, 2, 4).view(), 1).is_err(), "{name}: wrong dimension");
        assert!(index.knn(grid(8, 2, 3).view(), 11).is_err(), "{name}: k past the base");
        assert!(index.radius(grid(8, 2, 3).view(), -1.0, 10).is_err(), "{name}: negative radius");
        assert_eq!(index.knn(grid(8, 0, 3).view(), 3).unwrap().indices.dim(), (0, 3), "{name}: no queries");
    }
    let few = grid(9, 3, 5);
    assert!(Index::new(&Engine::new(Backend::Cpu).unwrap(), few.view(), Metric::Mahalanobis).is_err());
}
