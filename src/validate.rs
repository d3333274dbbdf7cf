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
pub fn radius<T: crate::Element>(r: T) -> Result<()> {
    if r >= T::zero() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!("the radius must be a number >= 0, not {r}")))
    }
}

/// Entries of an output: `n × m`, or n(n−1)/2 when `condensed`; an error if they, or their
/// f32 bytes, cannot be counted in a u64 (a file offset).
///
/// ```
/// assert_eq!(pairdist::validate::output_entries(3, 4, false).unwrap(), 12);
/// assert_eq!(pairdist::validate::output_entries(4, 4, true).unwrap(), 6);
/// assert!(pairdist::validate::output_entries(usize::MAX, 2, false).is_err());
/// ```
pub fn output_entries(n: usize, m: usize, condensed: bool) -> Result<u64> {
    let (n64, m64) = (n as u64, m as u64);
    let entries = if condensed { n64.checked_mul(n64.saturating_sub(1)).map(|p| p / 2) } else { n64.checked_mul(m64) };
    entries.filter(|e| e.checked_mul(4).is_some()).ok_or_else(|| {
        let shape = if condensed { format!("pdist of {n} points") } else { format!("a {n} x {m} matrix") };
        Error::TooLarge(format!("{shape} has more entries than a file can hold"))
    })
}

/// Checks, before allocating, that `bytes` of memory for `what` can be had: no more than one
/// allocation may take (`isize::MAX`) and no more than the system has available (on Linux,
/// `MemAvailable` plus free swap). `None` stands for a size that overflowed while counting.
/// An allocation that fails aborts the process; this turns it into an error naming the sizes.
///
/// ```
/// use pairdist::validate::fits_in_memory;
/// assert!(fits_in_memory("a small array", Some(1024)).is_ok());
/// let err = fits_in_memory("the demo's data", Some(u64::MAX)).unwrap_err().to_string();
/// assert!(err.starts_with("the demo's data needs 16.0 EiB of memory"), "{err}");
/// assert!(fits_in_memory("an overflowing size", None).is_err());
/// ```
pub fn fits_in_memory(what: &str, bytes: Option<u64>) -> Result<()> {
    let available = available_memory();
    let limit = available.unwrap_or(u64::MAX).min(isize::MAX as u64);
    match bytes {
        Some(b) if b <= limit => Ok(()),
        Some(b) => Err(Error::TooLarge(format!(
            "{what} needs {} of memory, more than {}",
            human_bytes(b),
            match available {
                Some(a) if a < isize::MAX as u64 => format!("the {} available", human_bytes(a)),
                _ => "one allocation can take".to_string(),
            }
        ))),
        None => Err(Error::TooLarge(format!("{what} needs more memory than a 64-bit size can count"))),
    }
}

/// Bytes of memory the system can still give (Linux: `MemAvailable` + `SwapFree`), if known.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = meminfo.lines().find(|l| l.starts_with(name))?;
        line[name.len()..].trim().trim_end_matches("kB").trim().parse::<u64>().ok().map(|kb| kb * 1024)
    };
    Some(field("MemAvailable:")? + field("SwapFree:").unwrap_or(0))
}

/// `bytes` in binary units with one decimal: "4.0 GiB".
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.1} {}", UNITS[unit]) }
}
