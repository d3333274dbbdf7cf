//! `pairdist._pairdist`: the extension module under the Python package `pairdist`.
//!
//! A thin layer over the library's public API: one `Engine` class whose methods take float32 or
//! float64 NumPy arrays (any strides; all of a call's in one type, which it computes in),
//! release the GIL while the library computes, and turn the
//! library's errors (and, should one happen, a panic) into Python exceptions; and one
//! `Distance` class, a metric with SciPy's parameters (`p`, `w`, `V`, `VI`). What makes it
//! SciPy- and scikit-learn-shaped (argument checks, dtypes, `out=`, splitting long calls into
//! blocks so Ctrl-C stops them) is Python code, in `pairdist/__init__.py`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use ndarray::{Array2, ArrayView2};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyReadwriteArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use pairdist::{Backend, Element, EngineOptions, Error, Metric, Prepare};

/// Distances (of the points' type) and indices of the k nearest, as NumPy arrays.
type NeighborArrays<'py> = (Bound<'py, PyAny>, Bound<'py, PyArray2<i64>>);
/// Rows, columns and distances (of the points' type) of pairs (COO), as NumPy arrays.
type PairArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>, Bound<'py, PyAny>);
/// Points prepared for a kernel (of the points' type), and the distance to run on them (see
/// `Distance::prepare`).
type PreparedArrays<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyAny>>, Distance);

/// Points as NumPy holds them: float32 or float64 (the Python layer converts anything else).
#[derive(FromPyObject)]
enum Points<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

/// An output array: float32 or float64.
#[derive(FromPyObject)]
enum Output<'py> {
    F32(PyReadwriteArray2<'py, f32>),
    F64(PyReadwriteArray2<'py, f64>),
}

/// The error for arrays of mixed types in one call: the Python layer converts them to one.
fn mixed_types() -> PyErr {
    PyTypeError::new_err("the points (and out) of a call must all be float32 or all float64")
}

/// SciPy's message for inputs with different numbers of columns.
const DIMENSION_MISMATCH: &str = "XA and XB must have the same number of columns (i.e. feature dimension.)";

/// Runs `f` without the GIL (other Python threads run meanwhile). A panic becomes a
/// `RuntimeError`; the library's own result is returned as it is.
fn run<T: Send>(py: Python<'_>, f: impl FnOnce() -> pairdist::Result<T> + Send) -> PyResult<pairdist::Result<T>> {
    py.detach(|| catch_unwind(AssertUnwindSafe(f))).map_err(|panic| {
        PyRuntimeError::new_err(format!("pairdist internal error (please report it): {}", panic_message(&*panic)))
    })
}

/// [`run`], with the library's errors turned into Python exceptions.
fn compute<T: Send>(py: Python<'_>, f: impl FnOnce() -> pairdist::Result<T> + Send) -> PyResult<T> {
    run(py, f)?.map_err(to_py)
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

/// The Python exception for a library error: `ValueError` for bad arguments (SciPy's wording
/// where SciPy has one), `KeyboardInterrupt` for a stopped run, `RuntimeError` otherwise.
fn to_py(error: Error) -> PyErr {
    match error {
        Error::DimensionMismatch { .. } => PyValueError::new_err(DIMENSION_MISMATCH),
        Error::UnknownMetric { .. }
        | Error::UnknownBackend(_)
        | Error::InvalidArgument(_)
        | Error::OutputShape { .. }
        | Error::TooLarge(_) => PyValueError::new_err(error.to_string()),
        Error::Interrupted => PyKeyboardInterrupt::new_err(()),
        _ => PyRuntimeError::new_err(error.to_string()),
    }
}

fn parse_metric(name: &str) -> PyResult<Metric> {
    name.parse().map_err(to_py)
}

/// A parameter the library refused: `TypeError` when the metric takes no such parameter at
/// all (`taken` false), as SciPy raises for `cdist(x, y, 'cosine', V=v)`; `ValueError` for a
/// bad value of a parameter it takes, as SciPy raises for negative weights.
fn parameter_error(error: Error, taken: bool) -> PyErr {
    if taken { to_py(error) } else { PyTypeError::new_err(error.to_string()) }
}

/// The distance a method was given: a `Distance`, or a metric's name (no parameters).
fn distance_arg(metric: &Bound<'_, PyAny>) -> PyResult<pairdist::Distance> {
    if let Ok(distance) = metric.cast::<Distance>() {
        return Ok(distance.get().inner.clone());
    }
    match metric.extract::<String>() {
        Ok(name) => Ok(parse_metric(&name)?.into()),
        Err(_) => Err(PyTypeError::new_err("metric must be a metric's name or a pairdist._pairdist.Distance")),
    }
}

/// A metric with SciPy's parameters, checked as SciPy checks them: `p` (minkowski), `w`
/// (weights of the metrics SciPy weights), `V` (seuclidean's variances), `VI` (mahalanobis's
/// inverse covariance). What does not depend on the points is checked here; lengths against
/// the points' dimension, and SciPy's defaults of `V` and `VI`, when a call runs.
#[pyclass(frozen, module = "pairdist._pairdist")]
struct Distance {
    inner: pairdist::Distance,
}

#[pymethods]
impl Distance {
    #[new]
    #[pyo3(signature = (metric, *, p = None, w = None, V = None, VI = None))]
    #[allow(non_snake_case)] // SciPy's names of the parameters
    fn new(
        metric: &str,
        p: Option<f64>,
        w: Option<PyReadonlyArray1<'_, f64>>,
        V: Option<PyReadonlyArray1<'_, f64>>,
        VI: Option<PyReadonlyArray2<'_, f64>>,
    ) -> PyResult<Self> {
        let mut metric = parse_metric(metric)?;
        if let Some(p) = p {
            if !matches!(metric, Metric::Minkowski { .. }) {
                return Err(PyTypeError::new_err(format!(
                    "metric '{}' takes no p (only minkowski does)",
                    metric.name()
                )));
            }
            metric = Metric::minkowski(p).map_err(to_py)?;
        }
        let bare = pairdist::Distance::new(metric);
        let mut inner = bare.clone();
        // Each parameter is tried on the bare metric with an empty value too: whether the
        // metric takes it at all decides the exception's type.
        if let Some(w) = w {
            let taken = bare.clone().with_weights(Vec::new()).is_ok();
            inner = inner.with_weights(w.as_array().to_vec()).map_err(|e| parameter_error(e, taken))?;
        }
        if let Some(v) = V {
            let taken = bare.clone().with_variances(Vec::new()).is_ok();
            inner = inner.with_variances(v.as_array().to_vec()).map_err(|e| parameter_error(e, taken))?;
        }
        if let Some(vi) = VI {
            let taken = bare.clone().with_inverse_covariance(Array2::zeros((0, 0))).is_ok();
            inner = inner.with_inverse_covariance(vi.as_array().to_owned()).map_err(|e| parameter_error(e, taken))?;
        }
        Ok(Distance { inner })
    }

    /// The metric's name (SciPy's).
    #[getter]
    fn metric(&self) -> &'static str {
        self.inner.metric().name()
    }

    /// Checks the parameters against the points (`xb` None: `xa` with itself), fills SciPy's
    /// defaults from all of them, and returns the points as the kernel sees them with the
    /// distance to run on them, `(xa', xb' or None, kernel)`; or None when calls on any part
    /// of the points may take them as they are, with this distance.
    ///
    /// For a caller that splits one call into many (blocks, so that Ctrl-C is handled between
    /// them): resolving once, over all the points, makes `seuclidean`'s `V` and `mahalanobis`'s
    /// `VI` the defaults of the whole inputs, not of each block, and maps every point once
    /// (O(d²) for mahalanobis) instead of once per block. Where the kernel prepares rows
    /// itself (cosine, correlation, jensenshannon), the preparation depends on each row alone
    /// and is not repeated on prepared rows: None, the blocks take the original points.
    #[pyo3(signature = (xa, xb = None))]
    fn prepare<'py>(
        &self,
        py: Python<'py>,
        xa: Points<'py>,
        xb: Option<Points<'py>>,
    ) -> PyResult<Option<PreparedArrays<'py>>> {
        match (xa, xb) {
            (Points::F32(xa), None) => self.prepare_in(py, xa.as_array(), None),
            (Points::F32(xa), Some(Points::F32(xb))) => self.prepare_in(py, xa.as_array(), Some(xb.as_array())),
            (Points::F64(xa), None) => self.prepare_in(py, xa.as_array(), None),
            (Points::F64(xa), Some(Points::F64(xb))) => self.prepare_in(py, xa.as_array(), Some(xb.as_array())),
            _ => Err(mixed_types()),
        }
    }

    fn __repr__(&self) -> String {
        format!("<pairdist distance: {}>", self.inner.metric())
    }
}

impl Distance {
    /// [`Distance::prepare`] of points of `T`, giving points of `T`.
    fn prepare_in<'py, T: Element + numpy::Element>(
        &self,
        py: Python<'py>,
        xa: ArrayView2<'_, T>,
        xb: Option<ArrayView2<'_, T>>,
    ) -> PyResult<Option<PreparedArrays<'py>>> {
        let resolved = compute(py, || self.inner.resolve(xa, xb))?;
        // Row-local preparations and ratios (their denominators need the raw rows) are left to
        // each chunk; only a global change of coordinates is worth doing once.
        let local = resolved.kernel().definition().prepare != Prepare::None || resolved.denominator().is_some();
        if resolved.is_identity() || local {
            return Ok(None);
        }
        let (pa, pb) = compute(py, || {
            let prepare = |x: ArrayView2<'_, T>| resolved.prepare(x).unwrap_or_else(|| x.to_owned());
            Ok((prepare(xa), xb.map(prepare)))
        })?;
        let kernel = Distance { inner: resolved.kernel().into() };
        let array = |a: Array2<T>| PyArray2::from_owned_array(py, a).into_any();
        Ok(Some((array(pa), pb.map(array), kernel)))
    }
}

/// A pairdist engine: a backend (a GPU adapter with its compiled pipelines, or the CPU) chosen
/// once and reused by every call. Immutable and safe to share between threads. The public,
/// SciPy-shaped class is `pairdist.Engine`, which wraps this one.
#[pyclass(frozen, module = "pairdist._pairdist")]
struct Engine {
    inner: pairdist::Engine,
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (backend = "auto", adapter = None, memory_budget = None, max_tile_bytes = None))]
    fn new(
        py: Python<'_>,
        backend: &str,
        adapter: Option<String>,
        memory_budget: Option<u64>,
        max_tile_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let backend: Backend = backend.parse().map_err(to_py)?;
        let mut options = EngineOptions { backend, adapter, max_tile_bytes, ..EngineOptions::default() };
        if let Some(bytes) = memory_budget {
            options.memory_budget = bytes;
        }
        // Building a GPU context takes a while (adapter, device, pipelines): without the GIL.
        let inner = compute(py, move || pairdist::Engine::with_options(options))?;
        Ok(Engine { inner })
    }

    /// "gpu" or "cpu": where this engine computes.
    #[getter]
    fn backend(&self) -> &'static str {
        if self.inner.adapter().is_some() { "gpu" } else { "cpu" }
    }

    /// One line naming the device, such as "GPU: llvmpipe (...) (Vulkan)" or "CPU: 8 threads".
    #[getter]
    fn device(&self) -> String {
        self.inner.describe()
    }

    /// The GPU adapter in use as a dict, or None on the CPU.
    #[getter]
    fn adapter<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner.adapter().map(|a| adapter_dict(py, a)).transpose()
    }

    /// Fills `out` (n × m, any strides) with the distances between the rows of `xa` and `xb`,
    /// computed in their type (float32 or float64; `out` of the same).
    fn cdist_into(
        &self,
        py: Python<'_>,
        xa: Points<'_>,
        xb: Points<'_>,
        metric: &Bound<'_, PyAny>,
        out: Output<'_>,
    ) -> PyResult<()> {
        let metric = distance_arg(metric)?;
        match (xa, xb, out) {
            (Points::F32(xa), Points::F32(xb), Output::F32(mut out)) => {
                let (xa, xb, out) = (xa.as_array(), xb.as_array(), out.as_array_mut());
                compute(py, || self.inner.cdist_into(xa, xb, &metric, out))
            }
            (Points::F64(xa), Points::F64(xb), Output::F64(mut out)) => {
                let (xa, xb, out) = (xa.as_array(), xb.as_array(), out.as_array_mut());
                compute(py, || self.inner.cdist_into(xa, xb, &metric, out))
            }
            _ => Err(mixed_types()),
        }
    }

    /// The `k` nearest rows of `xb` to each row of `xa`: (distances n × k, indices n × k),
    /// ascending, ties to the smaller index; distances of the points' type.
    fn knn<'py>(
        &self,
        py: Python<'py>,
        xa: Points<'_>,
        xb: Points<'_>,
        k: usize,
        metric: &Bound<'_, PyAny>,
    ) -> PyResult<NeighborArrays<'py>> {
        let metric = distance_arg(metric)?;
        match (xa, xb) {
            (Points::F32(xa), Points::F32(xb)) => self.knn_in(py, xa.as_array(), xb.as_array(), k, &metric),
            (Points::F64(xa), Points::F64(xb)) => self.knn_in(py, xa.as_array(), xb.as_array(), k, &metric),
            _ => Err(mixed_types()),
        }
    }

    /// Every pair (row of `xa`, row of `xb`) at distance at most `r` (compared in the points'
    /// type), as (rows, cols, distances) sorted by row then column; None when more than
    /// `max_pairs` pairs are.
    fn radius<'py>(
        &self,
        py: Python<'py>,
        xa: Points<'_>,
        xb: Points<'_>,
        r: f64,
        metric: &Bound<'_, PyAny>,
        max_pairs: usize,
    ) -> PyResult<Option<PairArrays<'py>>> {
        let metric = distance_arg(metric)?;
        match (xa, xb) {
            (Points::F32(xa), Points::F32(xb)) => {
                self.radius_in(py, xa.as_array(), xb.as_array(), r as f32, &metric, max_pairs)
            }
            (Points::F64(xa), Points::F64(xb)) => {
                self.radius_in(py, xa.as_array(), xb.as_array(), r, &metric, max_pairs)
            }
            _ => Err(mixed_types()),
        }
    }

    fn __repr__(&self) -> String {
        format!("<pairdist engine: {}>", self.inner.describe())
    }
}

impl Engine {
    /// [`Engine::knn`] of points of `T`.
    fn knn_in<'py, T: Element + numpy::Element>(
        &self,
        py: Python<'py>,
        xa: ArrayView2<'_, T>,
        xb: ArrayView2<'_, T>,
        k: usize,
        metric: &pairdist::Distance,
    ) -> PyResult<NeighborArrays<'py>> {
        let nn = compute(py, || self.inner.knn(xa, xb, k, metric))?;
        Ok((PyArray2::from_owned_array(py, nn.distances).into_any(), PyArray2::from_owned_array(py, nn.indices)))
    }

    /// [`Engine::radius`] of points of `T`.
    fn radius_in<'py, T: Element + numpy::Element>(
        &self,
        py: Python<'py>,
        xa: ArrayView2<'_, T>,
        xb: ArrayView2<'_, T>,
        r: T,
        metric: &pairdist::Distance,
        max_pairs: usize,
    ) -> PyResult<Option<PairArrays<'py>>> {
        match run(py, || self.inner.radius(xa, xb, r, metric, max_pairs))? {
            Ok(pairs) => Ok(Some((
                PyArray1::from_vec(py, pairs.rows),
                PyArray1::from_vec(py, pairs.cols),
                PyArray1::from_vec(py, pairs.distances).into_any(),
            ))),
            // The only size limit radius has is the cap on pairs; the caller words the error.
            Err(Error::TooLarge(_)) => Ok(None),
            Err(e) => Err(to_py(e)),
        }
    }
}

fn adapter_dict<'py>(py: Python<'py>, a: &pairdist::gpu::AdapterSummary) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("name", &a.name)?;
    dict.set_item("backend", &a.backend)?;
    dict.set_item("device_type", &a.device_type)?;
    dict.set_item("driver", &a.driver)?;
    dict.set_item("is_software", a.is_software)?;
    dict.set_item("unusable", a.unusable.as_deref())?;
    Ok(dict)
}

/// Every GPU adapter wgpu finds, usable or not, as dicts.
#[pyfunction]
fn adapters(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    let list = compute(py, || Ok(pairdist::gpu::adapters()))?;
    list.iter().map(|a| adapter_dict(py, a)).collect()
}

/// Every metric the library computes, as (SciPy's name, the other names it accepts).
#[pyfunction]
fn metrics() -> Vec<(&'static str, Vec<&'static str>)> {
    Metric::ALL.iter().map(|m| (m.definition().name, m.definition().aliases.to_vec())).collect()
}

#[pymodule]
fn _pairdist(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Distance>()?;
    m.add_function(wrap_pyfunction!(adapters, m)?)?;
    m.add_function(wrap_pyfunction!(metrics, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
