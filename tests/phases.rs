//! The benchmark's phase timing (`Engine::cdist_phases`) on the GPU adapter (lavapipe in CI):
//! its result matches the reference, and it says which clock timed the compute passes. No
//! assertion depends on how long anything took.

use ndarray::Array2;
use pairdist::cpu::reference;
use pairdist::gpu::PhaseClock;
use pairdist::{Backend, Engine, EngineOptions, Metric};

#[test]
fn phases_use_the_gpu_clock_where_offered_and_compute_the_right_thing() {
    let engine = Engine::new(Backend::Gpu).expect("no GPU adapter: install a Vulkan driver (mesa-vulkan-drivers)");
    let adapter = engine.adapter().unwrap().clone();
    // Several tiles and several chunks of d, so that several passes are timed and summed.
    let small = EngineOptions { backend: Backend::Gpu, max_tile_bytes: Some(16 << 10), ..Default::default() };
    for engine in [engine, Engine::with_options(small).unwrap()] {
        let (n, m, d) = (150, 90, 37);
        let x = Array2::from_shape_fn((n, d), |(i, k)| ((i * 7 + k * 3) % 11) as f32 - 5.0);
        let y = Array2::from_shape_fn((m, d), |(j, k)| ((j * 5 + k) % 13) as f32 - 6.0);
        let mut out = Array2::<f32>::zeros((n, m));
        let phases = engine.cdist_phases(x.view(), y.view(), Metric::Cityblock, out.view_mut()).unwrap().unwrap();
        let want = if adapter.timestamp_query { PhaseClock::Gpu } else { PhaseClock::Host };
        assert_eq!(phases.clock, want, "{adapter}");
        assert!(phases.tiles >= 1 && phases.passes >= phases.tiles, "{phases:?}");
        // Small integers: cityblock is exact in f32.
        let exact = reference::cdist(x.view(), y.view(), Metric::Cityblock).unwrap();
        assert_eq!(out, exact.mapv(|v| v as f32));
    }
}

#[test]
fn the_cpu_has_no_phases() {
    let engine = Engine::new(Backend::Cpu).unwrap();
    let x = Array2::<f32>::ones((3, 2));
    let mut out = Array2::<f32>::zeros((3, 3));
    assert_eq!(engine.cdist_phases(x.view(), x.view(), Metric::Euclidean, out.view_mut()).unwrap(), None);
    assert_eq!(out, Array2::<f32>::zeros((3, 3)));
}
