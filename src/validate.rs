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

/// `k` nearest neighbours must be at least 1 and at most the `available` candidates (the
/// rows of XB, or one fewer for X against itself), as scikit-learn requires.
///
/// ```
/// assert!(pairdist::validate::neighbours(3, 10).is_ok());
/// assert_eq!(
///     pairdist::validate::neighbours(11, 10).unwrap_err().to_string(),
///     "k = 11 nearest neighbours asked, but only 10 candidates exist"
/// );
/// ```
pub fn neighbours(k: usize, available: usize) -> Result<()> {
    match k {
        0 => Err(Error::InvalidArgument("k must be at least 1".into())),
        k if k > available => Err(Error::InvalidArgument(format!(
            "k = {k} nearest neighbours asked, but only {available} candidates exist"
        ))),
        _ => Ok(()),
    }
}

/// A radius must be a number, at least 0.
///
/// ```
/// assert!(pairdist::validate::radius(0.5).is_ok());
/// assert!(pairdist::validate::radius(f32::NAN).is_err());
/// ```
pub fn radius(r: f32) -> Result<()> {
    if r >= 0.0 { Ok(()) } else { Err(Error::InvalidArgument(format!("the radius must be a number >= 0, not {r}"))) }
}
