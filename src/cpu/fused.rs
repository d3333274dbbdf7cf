//! A ratio's denominators in the kernels' element type (see `ratio`), which the CPU kernels
//! divide by as they store each result.

use crate::metric::Denominator;

/// A ratio's denominators in the kernels' element type, for the CPU kernels to divide by as
/// they store each result: braycurtis's `n / (a + b)`, jaccard's `n / ((a + b + n) / 2)` (0
/// where that is 0/0), with `a` and `b` the sums of the result's rows, as in `ratio::quotient`.
pub(crate) struct FusedRatio<T> {
    pub(crate) denominator: Denominator,
    /// Per row of the window's X, rounded to `T`.
    pub(crate) x_sums: Vec<T>,
    /// Per row of the window's Y (X's again for pdist), rounded to `T`.
    pub(crate) y_sums: Vec<T>,
}
