//! Metrics: SciPy's names, their definitions, and the scalar CPU twin of each shader body.
//!
//! Every metric is written as "accumulate a term per dimension, then finalize", which is the
//! shape of the WGSL code in `shaders/common/metric.wgsl`. Differences are always taken first:
//! the `|x|² + |y|² − 2x·y` form is never used, so `cdist(X, X)` has exact zeros on its
//! diagonal and nearby points do not cancel to zero.

use std::fmt;
use std::str::FromStr;

use num_traits::Float;

use crate::error::Error;

/// A distance metric between two points of the same dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Σ (x − y)², SciPy's `sqeuclidean`.
    SqEuclidean,
    /// √Σ (x − y)², SciPy's `euclidean`.
    Euclidean,
    /// Σ |x − y|, SciPy's `cityblock` (also accepted as `manhattan`).
    Cityblock,
}

impl Metric {
    /// Every metric, in the order they are listed to users.
    pub const ALL: [Metric; 3] = [Metric::Euclidean, Metric::SqEuclidean, Metric::Cityblock];

    /// SciPy's name for the metric.
    pub fn name(self) -> &'static str {
        match self {
            Metric::SqEuclidean => "sqeuclidean",
            Metric::Euclidean => "euclidean",
            Metric::Cityblock => "cityblock",
        }
    }

    /// The value of the `METRIC` override constant in the WGSL shaders.
    #[cfg(feature = "gpu")]
    pub(crate) fn shader_id(self) -> u32 {
        match self {
            Metric::SqEuclidean => 0,
            Metric::Euclidean => 1,
            Metric::Cityblock => 2,
        }
    }

    /// The term one dimension adds to the accumulator (twin of `metric_term` in WGSL).
    #[inline(always)]
    pub fn term<T: Float>(self, x: T, y: T) -> T {
        let diff = x - y;
        match self {
            Metric::SqEuclidean | Metric::Euclidean => diff * diff,
            Metric::Cityblock => diff.abs(),
        }
    }

    /// The distance from the accumulated sum of terms (twin of `metric_finalize` in WGSL).
    #[inline(always)]
    pub fn finalize<T: Float>(self, acc: T) -> T {
        match self {
            Metric::Euclidean => acc.sqrt(),
            Metric::SqEuclidean | Metric::Cityblock => acc,
        }
    }

    fn valid_names() -> String {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.push("manhattan");
        names.join(", ")
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// Parses SciPy's metric names (case-insensitive); `manhattan` is an alias of `cityblock`.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "sqeuclidean" => Ok(Metric::SqEuclidean),
            "euclidean" => Ok(Metric::Euclidean),
            "cityblock" | "manhattan" => Ok(Metric::Cityblock),
            _ => Err(Error::UnknownMetric { name: s.to_string(), valid: Metric::valid_names() }),
        }
    }
}
