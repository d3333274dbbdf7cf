//! The one error type: every failure a user can cause has a variant with a one-line message.

use std::path::PathBuf;

/// Result alias used across pairdist.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pairdist, each with a one-line message naming the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A metric name that pairdist does not know.
    #[error("unknown metric '{name}'; valid metrics are: {valid}")]
    UnknownMetric {
        /// The name that was given.
        name: String,
        /// The valid names, comma separated.
        valid: String,
    },
    /// A backend name that pairdist does not know.
    #[error("unknown backend '{0}'; valid backends are: auto, gpu, cpu")]
    UnknownBackend(String),
    /// The two point sets have different numbers of columns.
    #[error("dimension mismatch: XA has {xa} columns but XB has {xb}")]
    DimensionMismatch {
        /// Columns of the first input.
        xa: usize,
        /// Columns of the second input.
        xb: usize,
    },
    /// The caller's output array has the wrong shape.
    #[error("output shape mismatch: expected {expected:?}, got {got:?}")]
    OutputShape {
        /// The shape the result needs.
        expected: (usize, usize),
        /// The shape that was given.
        got: (usize, usize),
    },
    /// The computation is too large to index (for example, a pdist of more than 2^64 pairs).
    #[error("{0}")]
    TooLarge(String),
    /// An argument out of its range, for example `k = 0` nearest neighbours.
    #[error("{0}")]
    InvalidArgument(String),
    /// A GPU was required and none could be used.
    #[error("no GPU adapter available: {0}")]
    NoGpu(String),
    /// The GPU reported an error (validation, out of memory, device lost, timeout).
    #[error("GPU error: {0}")]
    Gpu(String),
    /// An input file could not be opened or read.
    #[error("cannot read '{path}': {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An input file exists but its content is not a valid array.
    #[error("invalid input '{path}': {reason}")]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, for example "line 7 has 3 values, expected 4".
        reason: String,
    },
    /// The output file cannot be created or written.
    #[error("cannot write '{path}': {reason}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// `--check` found entries outside the tolerance of the f64 reference.
    #[error("check failed: {0}")]
    CheckFailed(String),
    /// A bug in pairdist rather than a problem with the input.
    #[error("internal error: {0}")]
    Internal(String),
    /// The run was interrupted (Ctrl-C) or cancelled by a sink.
    #[error("interrupted")]
    Interrupted,
    /// Writing to standard output failed. Kept apart from [`Error::WriteFile`] because a closed
    /// pipe (`| head`) is how a reader says it has seen enough, which a CLI ends quietly.
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
}

impl Error {
    /// A [`Error::WriteFile`] error: writing `path` failed for `err`.
    ///
    /// ```
    /// let e = pairdist::Error::write("out.npy", "disk full");
    /// assert_eq!(e.to_string(), "cannot write 'out.npy': disk full");
    /// ```
    pub fn write(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Self {
        Error::WriteFile { path: path.into(), reason: err.to_string() }
    }

    /// A [`Error::BadInput`] error: the input at `path` is unusable for `reason`.
    pub fn bad_input(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::BadInput { path: path.into(), reason: reason.into() }
    }
}

impl Error {
    /// A [`Error::WriteFile`] error from an I/O error, which names `path` (the output the
    /// user gave) and not the temporary file that `tempfile` names in its errors.
    pub fn write_io(path: impl Into<PathBuf>, err: &std::io::Error) -> Self {
        Error::write(path, io_reason(err))
    }
}

/// The reason an I/O error gives, without the "at path ..." that `tempfile` appends: that path
/// is the temporary output, a name the user never gave and need not see.
fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" at path ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
