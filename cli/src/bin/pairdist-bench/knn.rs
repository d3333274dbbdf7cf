//! `--knn K`: the k-nearest answer timed beside the matrix, with its recall against f64.

use std::time::Instant;

use ndarray::ArrayView2;
use pairdist::cpu::reference;
use pairdist::{Distance, Engine, Neighbors, Result};

use crate::measure::Timing;

/// One warm-up, then `repeats` timed `knn` calls; the last answer is returned for checking.
pub(crate) fn time(
    engine: &Engine,
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    k: usize,
    metric: &Distance,
    repeats: usize,
) -> Result<(Timing, Neighbors)> {
    let mut answer = engine.knn(x, y, k, metric)?;
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let start = Instant::now();
        answer = engine.knn(x, y, k, metric)?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 0 { (times[mid - 1] + times[mid]) / 2.0 } else { times[mid] };
    Ok((Timing { median, min: times[0] }, answer))
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
