//! The kernels' computation written as the simplest loop, term by term in f64: each metric's one
//! definition ([`Metric::definition`]) evaluated on points as the kernels see them. The f64
//! reference (`cpu::reference`) and the f64 fix-up of extreme entries (`extremes`) both use it.

use crate::metric::Metric;
use crate::weights::TermWeights;

/// The kernel's metric between two points as the kernel sees them (prepared), in f64.
pub fn kernel_distance(x: &[f64], y: &[f64], metric: Metric) -> f64 {
    weighted_kernel_distance(x, y, metric, None)
}

/// [`kernel_distance`] with each term multiplied by its dimension's weight, if there are
/// weights (the minkowski family's, canberra's and hamming's `w`; hamming's mean is then over
/// their sum).
pub(crate) fn weighted_kernel_distance(x: &[f64], y: &[f64], metric: Metric, weights: Option<&TermWeights>) -> f64 {
    assert_eq!(x.len(), y.len(), "reference::kernel_distance needs points of equal dimension");
    let acc = match weights {
        None => x.iter().zip(y).fold(0.0f64, |acc, (&a, &b)| metric.merge(acc, metric.term(a, b))),
        Some(w) => {
            x.iter().zip(y).zip(w.values()).fold(0.0f64, |acc, ((&a, &b), &w)| metric.merge(acc, w * metric.term(a, b)))
        }
    };
    let value =
        metric.finalize_weighted(acc, x.len(), crate::weights::total_weight(weights.map(TermWeights::total), x.len()));
    match metric.definition().denominator {
        Some(denominator) => crate::ratio::of_points(denominator, value, x, y, x.len() as f64),
        None => value,
    }
}
