//! `pairdist._pairdist`: the extension module under the Python package `pairdist`.
//!
//! A thin layer over the library's public API: one `Engine` class whose methods take float32
//! NumPy arrays (any strides), release the GIL while the library computes, and turn the
//! library's errors (and, should one happen, a panic) into Python exceptions. What makes it
//! SciPy- and scikit-learn-shaped (argument checks, dtypes, `out=`, splitting long calls into
//! blocks so Ctrl-C stops them) is Python code, in `pairdist/__init__.py`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use numpy::{PyArray1, PyArray2, PyReadonlyArray2, PyReadwriteArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use pairdist::{Backend, EngineOptions, Error, Metric};

/// Distances and indices of the k nearest, as NumPy arrays.
type NeighborArrays<'py> = (Bound<'py, PyArray2<f32>>, Bound<'py, PyArray2<i64>>);
/// Rows, columns and distances of pairs (COO), as NumPy arrays.
type PairArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<f32>>);

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

    /// Fills `out` (n × m, any strides) with the distances between the rows of `xa` and `xb`.
    fn cdist_into(
        &self,
        py: Python<'_>,
        xa: PyReadonlyArray2<'_, f32>,
        xb: PyReadonlyArray2<'_, f32>,
        metric: &str,
        mut out: PyReadwriteArray2<'_, f32>,
    ) -> PyResult<()> {
        let metric = parse_metric(metric)?;
        let (xa, xb, out) = (xa.as_array(), xb.as_array(), out.as_array_mut());
        compute(py, || self.inner.cdist_into(xa, xb, metric, out))
    }

    /// The `k` nearest rows of `xb` to each row of `xa`: (distances n × k, indices n × k),
    /// ascending, ties to the smaller index.
    fn knn<'py>(
        &self,
        py: Python<'py>,
        xa: PyReadonlyArray2<'_, f32>,
        xb: PyReadonlyArray2<'_, f32>,
        k: usize,
        metric: &str,
    ) -> PyResult<NeighborArrays<'py>> {
        let metric = parse_metric(metric)?;
        let (xa, xb) = (xa.as_array(), xb.as_array());
        let nn = compute(py, || self.inner.knn(xa, xb, k, metric))?;
        Ok((PyArray2::from_owned_array(py, nn.distances), PyArray2::from_owned_array(py, nn.indices)))
    }

    /// Every pair (row of `xa`, row of `xb`) at distance at most `r`, as (rows, cols,
    /// distances) sorted by row then column; None when more than `max_pairs` pairs are.
    fn radius<'py>(
        &self,
        py: Python<'py>,
        xa: PyReadonlyArray2<'_, f32>,
        xb: PyReadonlyArray2<'_, f32>,
        r: f32,
        metric: &str,
        max_pairs: usize,
    ) -> PyResult<Option<PairArrays<'py>>> {
        let metric = parse_metric(metric)?;
        let (xa, xb) = (xa.as_array(), xb.as_array());
        match run(py, || self.inner.radius(xa, xb, r, metric, max_pairs))? {
            Ok(pairs) => Ok(Some((
                PyArray1::from_vec(py, pairs.rows),
                PyArray1::from_vec(py, pairs.cols),
                PyArray1::from_vec(py, pairs.distances),
            ))),
            // The only size limit radius has is the cap on pairs; the caller words the error.
            Err(Error::TooLarge(_)) => Ok(None),
            Err(e) => Err(to_py(e)),
        }
    }

    fn __repr__(&self) -> String {
        format!("<pairdist engine: {}>", self.inner.describe())
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
    m.add_function(wrap_pyfunction!(adapters, m)?)?;
    m.add_function(wrap_pyfunction!(metrics, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
