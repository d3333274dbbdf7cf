//! Input checks shared by every entry point (the engine and the CLI): one place decides what
//! is valid.

use crate::error::{Error, Result};

/// XA and XB must have the same number of columns (`xa` and `xb` columns).
///
/// ```
/// assert!(pairdist::validate::same_dims(3, 3).is_ok());
/// assert_eq!(
///     pairdist::validate::same_dims(3, 4).unwrap_err().to_string(),
///     "dimension mismatch: XA has 3 columns but XB has 4"
/// );
/// ```
pub fn same_dims(xa: usize, xb: usize) -> Result<()> {
    if xa == xb { Ok(()) } else { Err(Error::DimensionMismatch { xa, xb }) }
}

/// Length of the condensed vector of `n` points, n(n−1)/2, or an error if it overflows.
pub(crate) fn condensed_len(n: usize) -> Result<usize> {
    (n / 2)
        .checked_mul(n.saturating_sub(1))
        .and_then(|_| n.checked_mul(n.saturating_sub(1)).map(|p| p / 2))
        .ok_or_else(|| Error::TooLarge(format!("pdist of {n} points has too many pairs")))
}

/// The caller's output must be exactly `n × m`.
pub(crate) fn output_shape(expected: (usize, usize), got: (usize, usize)) -> Result<()> {
    if expected == got { Ok(()) } else { Err(Error::OutputShape { expected, got }) }
}
