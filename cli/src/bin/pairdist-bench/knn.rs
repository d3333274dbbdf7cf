//! `--knn K`: the k-nearest answer timed beside the matrix, with its recall against f64.

use std::time::Instant;

use ndarray::ArrayView2;
use pairdist::cpu::reference;
use pairdist::{Distance, Engine, Index, Neighbors, Result, Stats};

use crate::measure::Timing;

/// A timed answer: the timing of the runs after a warm-up, the last run's answer (for
/// checking) and what the engine's counters saw of the warm-up call.
pub(crate) struct Measured {
    pub(crate) timing: Timing,
    pub(crate) answer: Neighbors,
    pub(crate) counters: Stats,
}

/// One warm-up, then `repeats` timed `Engine::knn` calls.
pub(crate) fn time(
    engine: &Engine,
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    k: usize,
    metric: &Distance,
    repeats: usize,
) -> Result<Measured> {
    timed(engine, repeats, || engine.knn(x, y, k, metric))
}

/// An [`Index`] of `y` fitted once (not timed), then one warm-up and `repeats` timed queries
/// of `x`: what a caller who fits once and queries many times sees.
pub(crate) fn time_index(
    engine: &Engine,
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    k: usize,
    metric: &Distance,
    repeats: usize,
) -> Result<Measured> {
    let index = Index::new(engine, y, metric.clone())?;
    timed(engine, repeats, || index.knn(x, k))
}

fn timed(engine: &Engine, repeats: usize, mut call: impl FnMut() -> Result<Neighbors>) -> Result<Measured> {
    let before = engine.stats();
    let mut answer = call()?;
    let counters = engine.stats().since(&before);
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        answer = call()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 0 { (times[mid - 1] + times[mid]) / 2.0 } else { times[mid] };
    Ok(Measured { timing: Timing { median, min: times[0] }, answer, counters })
}

/// Recall@k against the f64 reference on `rows` evenly spread query rows: the share of the
/// reference's k nearest found, counting as found a neighbour whose f64 distance ties the
/// reference's k-th within 1e-6 relative (any of a tie is a right answer).
pub(crate) fn recall(x: ArrayView2<f32>, y: ArrayView2<f32>, metric: &Distance, nn: &Neighbors, rows: usize) -> f64 {
    let k = nn.indices.ncols();
    let step = (x.nrows() / rows.max(1)).max(1);
    let (mut found, mut total) = (0usize, 0usize);
    let resolved = metric.resolve(x, Some(y)).expect("the bench's metrics take their defaults");
    let metric = &resolved;
    for i in (0..x.nrows()).step_by(step).take(rows) {
        let mut all: Vec<(f64, usize)> =
            (0..y.nrows()).map(|j| (reference::distance(x.row(i), y.row(j), metric), j)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let kth = all[k - 1].0;
        let tie = kth + 1e-6 * kth.abs();
        for &j in nn.indices.row(i) {
            let d = reference::distance(x.row(i), y.row(j as usize), metric);
            found += usize::from(d <= tie);
        }
        total += k;
    }
    found as f64 / total.max(1) as f64
}
