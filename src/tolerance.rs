//! How close a result must be to the f64 reference: the bound every check uses (the tests, the
//! CLI's `--check`, the bench, the tuner), for f32 and for f64 results.

use crate::metric::{Denominator, Finalize, Metric, Term};

/// The tolerance an f32 result of the kernel `metric` must meet against the f64 reference.
///
/// A relative term of 1e-5, plus an absolute term for the rounding of `d` f32 terms of the
/// size of `scale` (the largest |coordinate| the kernel sees): √d · ε_f32 · scale², or · scale
/// for cityblock. A final root takes the absolute term's root with it.
pub fn tolerance(metric: Metric, d: usize, scale: f64, expected: f64) -> f64 {
    tolerance_in(f32::EPSILON as f64, 1e-5, false, metric, d, scale, expected)
}

/// The tolerance an f64 result of the kernel `metric` must meet against the f64 reference:
/// [`tolerance`]'s terms with ε_f64 and a relative term of 1e-12 (the kernels and the
/// reference differ only in the order of their sums). A final root moves the sum's absolute
/// error by its slope there when that is less than the error's root (the root alone would be
/// 1e-7 of the scale, far above 1e-12).
///
/// ```
/// use pairdist::{Metric, cpu::reference};
/// assert!(reference::tolerance_f64(Metric::Euclidean, 100, 1.0, 2.0) < 1e-11);
/// assert!(reference::tolerance(Metric::Euclidean, 100, 1.0, 2.0) > 1e-5);
/// ```
pub fn tolerance_f64(metric: Metric, d: usize, scale: f64, expected: f64) -> f64 {
    tolerance_in(f64::EPSILON, 1e-12, true, metric, d, scale, expected)
}

/// The tolerance for results computed with machine epsilon `eps` and relative bound `rel`;
/// with `slope`, final roots take [`root_error`]'s sharper bound.
fn tolerance_in(eps: f64, rel: f64, slope: bool, metric: Metric, d: usize, scale: f64, expected: f64) -> f64 {
    let root_d = (d.max(1) as f64).sqrt();
    if let Some(Denominator::Boolean(_)) = metric.definition().denominator {
        // A formula in four counts derived from sums of weights: exact without weights (whole
        // counts); with them, each count off by about √d·ε of the total weight.
        return rel * expected.abs() + 4.0 * root_d * eps * (1.0 + expected.abs());
    }
    if metric.definition().denominator.is_some() {
        // A sum of non-negative terms (relative error √d·ε) over a denominator summed in
        // f64 from the same points.
        return (rel + 2.0 * root_d * eps) * expected.abs();
    }
    let p = metric.exponent();
    let sum = match metric.definition().term {
        Term::SquaredDifference => root_d * eps * scale * scale * 4.0,
        Term::AbsoluteDifference => root_d * eps * scale * 2.0,
        Term::PowerDifference => root_d * eps * (2.0 * scale).powf(p) * (p + 2.0),
        // Terms of at most 1 (canberra), or exact counts (hamming), or of probabilities; with
        // weights inside the kernel (canberra, hamming), non-negative terms of any size, whose
        // sum is off by about √d·ε of itself.
        Term::Canberra => root_d * eps * (8.0 + 2.0 * expected.abs()),
        Term::JensenShannon => root_d * eps * 8.0,
        Term::NotEqual => root_d * eps * 2.0 * expected.abs(),
    };
    let (abs, rel) = match metric.definition().finalize {
        Finalize::Identity | Finalize::Mean => (sum, rel),
        Finalize::Sqrt => (root_error(sum, 2.0, expected, slope), rel),
        // √(S/2): the bound for √S, with √S = √2 · expected.
        Finalize::SqrtHalf => (root_error(sum, 2.0, expected * std::f64::consts::SQRT_2, slope), rel),
        Finalize::Root => (root_error(sum, p, expected, slope), rel * (1.0 + p / 4.0)),
        // Unit rows rounded to the type move each difference by about ε, so |x̂ − ŷ|² by about
        // 4ε|x̂ − ŷ| = 4ε√(2·distance).
        Finalize::HalfCapped => (sum + 4.0 * eps * (2.0 * expected.abs()).sqrt(), rel),
    };
    rel * expected.abs() + abs
}

/// How far an error of `sum` in a sum moves its `q`-th root, for a root near `expected`: at
/// most `sum^(1/q)`, and (with `slope`) at most `sum` times the root's slope at the smallest
/// sum the error allows, `(expected^q − sum)`, when that is positive (the root is concave, so
/// its slope only grows towards smaller sums).
fn root_error(sum: f64, q: f64, expected: f64, slope: bool) -> f64 {
    let blunt = sum.powf(1.0 / q);
    let low = expected.abs().powf(q) - sum;
    // (A NaN `low`, from a NaN or infinite result, keeps the blunt bound.)
    if slope && low > 0.0 { blunt.min(sum / q * low.powf(1.0 / q - 1.0)) } else { blunt }
}
