//! The element types pairdist computes in, `f32` and `f64`, and their names ([`Dtype`]).
//!
//! Every engine call is generic over [`Element`]: float32 inputs compute in f32, float64 inputs
//! in f64 (as SciPy does). The trait is sealed: the kernels, the answers and the file formats
//! are written for these two types only.

use std::fmt;
use std::str::FromStr;

use num_traits::Float;

use crate::error::{Error, Result};
use crate::metric::Metric;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A type pairdist computes in: `f32` or `f64` (sealed).
///
/// ```
/// use ndarray::array;
/// use pairdist::{Backend, Element, Engine, Metric};
///
/// // One generic function for both precisions.
/// fn nearest_distance<T: Element>(engine: &Engine, x: &ndarray::Array2<T>) -> pairdist::Result<T> {
///     let nn = engine.knn_self(x.view(), 1, Metric::Euclidean)?;
///     Ok(nn.distances[(0, 0)])
/// }
/// let engine = Engine::new(Backend::Cpu)?;
/// assert_eq!(nearest_distance(&engine, &array![[0.0f32], [3.0]])?, 3.0);
/// assert_eq!(nearest_distance(&engine, &array![[0.0f64], [0.1]])?, 0.1);
/// # Ok::<(), pairdist::Error>(())
/// ```
pub trait Element:
    Float
    + Into<f64>
    + Send
    + Sync
    + fmt::Debug
    + fmt::Display
    + Default
    + bytemuck::Pod
    + ndarray_npy::WritableElement
    + sealed::Sealed
    + 'static
{
    /// The type's name as a value.
    const DTYPE: Dtype;

    /// `v` rounded to this type (to nearest; beyond its range, ±∞).
    fn from_f64(v: f64) -> Self;

    /// This value rounded to `O` (exact when `O` is at least as wide).
    #[inline(always)]
    fn cast<O: Element>(self) -> O {
        O::from_f64(self.into())
    }

    /// The tolerance a result of the kernel `metric` computed in this type must meet against
    /// the f64 reference: [`reference::tolerance`](crate::cpu::reference::tolerance) for f32,
    /// [`reference::tolerance_f64`](crate::cpu::reference::tolerance_f64) for f64.
    fn tolerance(metric: Metric, d: usize, scale: f64, expected: f64) -> f64;

    /// Whether sums in this type need the f64 fix-up at the ends of its range (see
    /// `extremes.rs`): f32 does; f64 follows IEEE arithmetic, as SciPy does.
    #[doc(hidden)]
    const FIX_EXTREMES: bool;
}

impl Element for f32 {
    const DTYPE: Dtype = Dtype::F32;
    const FIX_EXTREMES: bool = true;

    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }

    fn tolerance(metric: Metric, d: usize, scale: f64, expected: f64) -> f64 {
        crate::tolerance::tolerance(metric, d, scale, expected)
    }
}

impl Element for f64 {
    const DTYPE: Dtype = Dtype::F64;
    const FIX_EXTREMES: bool = false;

    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }

    fn tolerance(metric: Metric, d: usize, scale: f64, expected: f64) -> f64 {
        crate::tolerance::tolerance_f64(metric, d, scale, expected)
    }
}

/// An element type as a value: what a file holds or an output is written in.
///
/// ```
/// use pairdist::Dtype;
/// assert_eq!("float64".parse::<Dtype>()?, Dtype::F64);
/// assert_eq!("f32".parse::<Dtype>()?.to_string(), "float32");
/// assert_eq!(Dtype::F32.max(Dtype::F64), Dtype::F64); // the wider of two
/// # Ok::<(), pairdist::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dtype {
    /// `f32`, NumPy's float32.
    F32,
    /// `f64`, NumPy's float64.
    F64,
}

impl Dtype {
    /// NumPy's name: `float32` or `float64`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "float32",
            Dtype::F64 => "float64",
        }
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dtype {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(Dtype::F32),
            "f64" | "float64" => Ok(Dtype::F64),
            _ => Err(Error::InvalidArgument(format!("unknown dtype '{s}'; valid: f32 (float32), f64 (float64)"))),
        }
    }
}
