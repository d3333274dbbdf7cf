//! `--p`, `--w`, `--V`, `--VI`: a metric's parameters, read and handed to a [`Distance`].

use std::path::{Path, PathBuf};

use clap::Args;
use ndarray::{Array2, ArrayD, Ix2};
use pairdist::{Distance, Error, Metric, Result};
use pairdist_cli::io::{AsRead, read_input};

/// A metric's parameters, as SciPy's cdist takes them.
#[derive(Args)]
pub(crate) struct MetricParams {
    /// minkowski's exponent p (> 0; inf allowed; default 2).
    #[arg(long, allow_negative_numbers = true)]
    p: Option<f64>,
    // The help names the metrics that take weights from the library's definitions
    // (`weights_help`): a list written here went stale.
    #[arg(long, help = weights_help())]
    w: Option<PathBuf>,
    /// seuclidean's variances, one per dimension (default: the variances of the inputs).
    #[arg(long = "V", value_name = "V")]
    v: Option<PathBuf>,
    /// mahalanobis's inverse covariance, d x d (default: the inverse covariance of the inputs).
    #[arg(long = "VI", value_name = "VI")]
    vi: Option<PathBuf>,
}

/// `--w`'s help: the metrics whose parameters (as `pairdist metrics` lists them) include `w`.
fn weights_help() -> String {
    let weighted: Vec<&str> = Metric::ALL
        .iter()
        .map(|m| m.definition())
        .filter(|d| d.parameters.split(',').any(|p| p.split_whitespace().next() == Some("w")))
        .map(|d| d.name)
        .collect();
    format!("Weights, one per dimension (.npy or text, 1-D or one row or column): {}", weighted.join(", "))
}

impl MetricParams {
    /// `metric` with these parameters, checked as SciPy checks them.
    pub(crate) fn distance(&self, metric: Metric) -> Result<Distance> {
        let metric = match (self.p, metric) {
            (None, m) => m,
            (Some(p), Metric::Minkowski { .. }) => Metric::minkowski(p)?,
            (Some(_), m) => {
                return Err(Error::InvalidArgument(format!(
                    "metric '{}' takes no parameter p (only minkowski does)",
                    m.name()
                )));
            }
        };
        let mut distance = Distance::new(metric);
        if let Some(path) = &self.w {
            distance = distance.with_weights(vector(path, "w")?)?;
        }
        if let Some(path) = &self.v {
            distance = distance.with_variances(vector(path, "V")?)?;
        }
        if let Some(path) = &self.vi {
            distance = distance.with_inverse_covariance(matrix(path)?)?;
        }
        Ok(distance)
    }
}

/// The values of a parameter file in f64, in the file's shape (a .npy of any rank; text is
/// rows of values).
fn values(path: &Path) -> Result<ArrayD<f64>> {
    if is_npy(path) {
        let bad = |reason: String| Error::BadInput { path: path.into(), reason };
        let read64 = ndarray_npy::read_npy::<_, ArrayD<f64>>(path);
        return match read64 {
            Ok(a) => Ok(a),
            Err(_) => ndarray_npy::read_npy::<_, ArrayD<f32>>(path)
                .map(|a| a.mapv(f64::from))
                .map_err(|e| bad(format!("not a float32 or float64 array ({e})"))),
        };
    }
    let input = read_input(path)?;
    Ok(match input.as_read() {
        AsRead::F32(a) => a.mapv(f64::from).into_dyn(),
        AsRead::F64(a) => a.to_owned().into_dyn(),
    })
}

/// A 1-D parameter (a 1-D array, or one row or one column).
fn vector(path: &Path, name: &str) -> Result<Vec<f64>> {
    let a = values(path)?;
    let long = a.shape().iter().filter(|&&s| s > 1).count();
    if long > 1 {
        return Err(Error::BadInput {
            path: path.into(),
            reason: format!("{name} must be 1-D (one value per dimension), got shape {:?}", a.shape()),
        });
    }
    Ok(a.iter().copied().collect())
}

/// A 2-D parameter.
fn matrix(path: &Path) -> Result<Array2<f64>> {
    let a = values(path)?;
    let shape = a.shape().to_vec();
    a.into_dimensionality::<Ix2>().map_err(|_| Error::BadInput {
        path: path.into(),
        reason: format!("VI must be a 2-D d x d matrix, got shape {shape:?}"),
    })
}

/// Whether the file starts with the .npy magic (whatever its name).
fn is_npy(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 6];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && &magic == b"\x93NUMPY"
}
