//! `pairdist._pairdist`: the extension module under the Python package `pairdist`.
//!
//! A thin layer over the library: every method is one library call (one job), run without the
//! GIL, with Ctrl-C handled while it runs (the call runs on a worker thread while the calling
//! thread polls Python's signal handlers and stops the job's monitor on KeyboardInterrupt).
//! Blocking, merging and assembling answers all happen in the library, as for every other
//! face; the Python package only checks arguments the way SciPy and scikit-learn do and picks
//! dtypes. Classes: `Engine` (a backend chosen once), `Distance` (a metric with SciPy's
//! parameters), `Index` (a base fitted once); a function merges partial k-nearest answers
//! (Dask's tree reduction).

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use ndarray::{Array2, ArrayView2, ArrayViewMut1, ArrayViewMut2};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyReadwriteArray1, PyReadwriteArray2};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use pairdist::answer::TopK;
use pairdist::job::{Answer, Job, Target};
use pairdist::sink::{CondensedSink, MatrixSink};
use pairdist::{Backend, Element, EngineOptions, Error, Metric, Monitor, Neighbors, Pairs};

/// Distances (of the points' type) and indices of the k nearest, as NumPy arrays.
type NeighborArrays<'py> = (Bound<'py, PyAny>, Bound<'py, PyArray2<i64>>);
/// Rows, columns and distances (of the points' type) of pairs (COO), as NumPy arrays.
type PairArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>, Bound<'py, PyAny>);

/// Indices and distances (of the points' type) of the nearest, as NumPy arrays.
type ArgminArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyAny>);

/// Points as NumPy holds them: float32 or float64 (the Python layer converts anything else).
#[derive(FromPyObject)]
enum Points<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

/// A matrix output: float32 or float64, any strides.
#[derive(FromPyObject)]
enum Matrix<'py> {
    F32(PyReadwriteArray2<'py, f32>),
    F64(PyReadwriteArray2<'py, f64>),
}

/// A condensed output: float32 or float64.
#[derive(FromPyObject)]
enum Condensed<'py> {
    F32(PyReadwriteArray1<'py, f32>),
    F64(PyReadwriteArray1<'py, f64>),
}

/// Partial neighbour lists (Dask's): distances of either type, indices.
#[derive(FromPyObject)]
enum Partial<'py> {
    F32((PyReadonlyArray2<'py, f32>, PyReadonlyArray2<'py, i64>)),
    F64((PyReadonlyArray2<'py, f64>, PyReadonlyArray2<'py, i64>)),
}

/// The error for arrays of mixed types in one call: the Python layer converts them to one.
fn mixed_types() -> PyErr {
    PyTypeError::new_err("the points of a call must all be float32 or all float64")
}

/// SciPy's message for inputs with different numbers of columns.
const DIMENSION_MISMATCH: &str = "XA and XB must have the same number of columns (i.e. feature dimension.)";

/// Calls this small (pair-dimensions) run on the calling thread: they end in milliseconds, and
/// a worker thread would cost more than they do.
const INLINE_WORK: usize = 1 << 22;

/// How often a running call looks at Python's signal handlers (Ctrl-C).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

fn internal_error(panic: Box<dyn Any + Send>) -> PyErr {
    PyRuntimeError::new_err(format!("pairdist internal error (please report it): {}", panic_message(&*panic)))
}

/// Runs `f` without the GIL, with a monitor of its own that Ctrl-C stops: for `work` (about
/// the pair-dimensions computed) beyond [`INLINE_WORK`], on a worker thread while this thread
/// polls Python's signal handlers, which run only on the main thread; a handler's exception
/// (KeyboardInterrupt) stops the monitor, the call returns within a tile, and the exception is
/// raised. A panic becomes a `RuntimeError`; the library's own result is returned as it is.
fn run<T: Send>(
    py: Python<'_>,
    work: usize,
    f: impl FnOnce(Arc<Monitor>) -> pairdist::Result<T> + Send,
) -> PyResult<pairdist::Result<T>> {
    let monitor = Arc::new(Monitor::default());
    if work <= INLINE_WORK {
        return py.detach(|| catch_unwind(AssertUnwindSafe(|| f(monitor)))).map_err(internal_error);
    }
    let (result, signal) = py.detach(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            let worker = monitor.clone();
            scope.spawn(move || {
                let _ = tx.send(catch_unwind(AssertUnwindSafe(|| f(worker))));
            });
            let mut signal: Option<PyErr> = None;
            loop {
                match rx.recv_timeout(SIGNAL_POLL) {
                    Ok(result) => return (result, signal),
                    Err(mpsc::RecvTimeoutError::Timeout) if signal.is_none() => {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            monitor.request_stop();
                            signal = Some(e);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let lost: Box<dyn Any + Send> = Box::new("the worker thread ended without a result");
                        return (Err(lost), signal);
                    }
                }
            }
        })
    });
    let result = result.map_err(internal_error)?;
    match (result, signal) {
        // Stopped by Ctrl-C: the handler's own exception.
        (Err(Error::Interrupted), Some(e)) => Err(e),
        (result, _) => Ok(result),
    }
}

/// [`run`], with the library's errors turned into Python exceptions.
fn compute<T: Send>(
    py: Python<'_>,
    work: usize,
    f: impl FnOnce(Arc<Monitor>) -> pairdist::Result<T> + Send,
) -> PyResult<T> {
    run(py, work, f)?.map_err(to_py)
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
/// inverse covariance), or mahalanobis's covariance `C` (`VI` = its inverse, as the default
/// computes it). What does not depend on the points is checked here; lengths against the
/// points' dimension, and SciPy's defaults of `V` and `VI`, when a call runs.
#[pyclass(frozen, module = "pairdist._pairdist")]
struct Distance {
    inner: pairdist::Distance,
}

#[pymethods]
impl Distance {
    #[new]
    #[pyo3(signature = (metric, *, p = None, w = None, V = None, VI = None, C = None))]
    #[allow(non_snake_case)] // SciPy's names of the parameters
    fn new(
        metric: &str,
        p: Option<f64>,
        w: Option<PyReadonlyArray1<'_, f64>>,
        V: Option<PyReadonlyArray1<'_, f64>>,
        VI: Option<PyReadonlyArray2<'_, f64>>,
        C: Option<PyReadonlyArray2<'_, f64>>,
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
        if let Some(c) = C {
            let taken = bare.clone().with_covariance(Array2::zeros((0, 0))).is_ok();
            inner = inner.with_covariance(c.as_array().to_owned()).map_err(|e| parameter_error(e, taken))?;
        }
        Ok(Distance { inner })
    }

    /// The metric's name (SciPy's).
    #[getter]
    fn metric(&self) -> &'static str {
        self.inner.metric().name()
    }

    /// Checks the parameters against points of `d` dimensions (lengths, shapes), as a call on
    /// such points would: for callers that build a lazy computation (Dask) and want a mistake
    /// to fail now, not in a worker.
    fn check(&self, d: usize) -> PyResult<()> {
        let none = Array2::<f64>::zeros((0, d));
        // The data-dependent defaults need points: stand-ins of the right shape.
        let mut distance = self.inner.clone();
        match self.inner.metric() {
            Metric::SEuclidean if self.inner.variances().is_none() => {
                distance = distance.with_variances(vec![1.0; d]).map_err(to_py)?;
            }
            Metric::Mahalanobis if !self.inner.has_covariance() => {
                distance = distance.with_inverse_covariance(Array2::eye(d)).map_err(to_py)?;
            }
            _ => {}
        }
        distance.resolve(none.view(), None).map(|_| ()).map_err(to_py)
    }

    fn __repr__(&self) -> String {
        format!("<pairdist distance: {}>", self.inner.metric())
    }
}

/// A pairdist engine: a backend (a GPU adapter with its compiled pipelines, or the CPU) chosen
/// once and reused by every call. Immutable and safe to share between threads. The public,
/// SciPy-shaped class is `pairdist.Engine`, which wraps this one.
#[pyclass(frozen, module = "pairdist._pairdist")]
struct Engine {
    inner: pairdist::Engine,
}

/// About the pair-dimensions of `xa` against `xb`: how long a call may run.
fn work<T>(xa: &ArrayView2<T>, xb: &ArrayView2<T>) -> usize {
    xa.nrows().saturating_mul(xb.nrows()).saturating_mul(xa.ncols().max(1))
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (backend = "auto", adapter = None, memory_budget = None, max_tile_bytes = None, threads = None))]
    fn new(
        py: Python<'_>,
        backend: &str,
        adapter: Option<String>,
        memory_budget: Option<u64>,
        max_tile_bytes: Option<u64>,
        threads: Option<usize>,
    ) -> PyResult<Self> {
        let backend: Backend = backend.parse().map_err(to_py)?;
        let mut options = EngineOptions { backend, adapter, max_tile_bytes, threads, ..EngineOptions::default() };
        if let Some(bytes) = memory_budget {
            options.memory_budget = bytes;
        }
        // Building a GPU context takes a while (adapter, device, pipelines): without the GIL.
        let inner = compute(py, 0, move |_| pairdist::Engine::with_options(options))?;
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

    /// Threads of the engine's host work.
    #[getter]
    fn threads(&self) -> usize {
        self.inner.threads()
    }

    /// The GPU adapter in use as a dict, or None on the CPU.
    #[getter]
    fn adapter<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner.adapter().map(|a| adapter_dict(py, a)).transpose()
    }

    /// The engine's counters (see the library's `Stats`), as a dict: jobs, tiles, pairs,
    /// dispatches, bytes_uploaded, bytes_read_back, and the seconds of the upload, compute and
    /// readback phases.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let dict = PyDict::new(py);
        dict.set_item("jobs", s.jobs)?;
        dict.set_item("tiles", s.tiles)?;
        dict.set_item("pairs", s.pairs)?;
        dict.set_item("dispatches", s.dispatches)?;
        dict.set_item("bytes_uploaded", s.bytes_uploaded)?;
        dict.set_item("bytes_read_back", s.bytes_read_back)?;
        dict.set_item("upload_seconds", s.upload.as_secs_f64())?;
        dict.set_item("compute_seconds", s.compute.as_secs_f64())?;
        dict.set_item("readback_seconds", s.readback.as_secs_f64())?;
        Ok(dict)
    }

    /// Fills `out` (n × m, float32 or float64, any strides) with the distances between the rows
    /// of `xa` and `xb`, computed in their type (float32 or float64) and rounded once to out's.
    fn cdist(
        &self,
        py: Python<'_>,
        xa: Points<'_>,
        xb: Points<'_>,
        metric: &Bound<'_, PyAny>,
        out: Matrix<'_>,
    ) -> PyResult<()> {
        let metric = distance_arg(metric)?;
        match (xa, xb) {
            (Points::F32(xa), Points::F32(xb)) => self.cdist_in(py, xa.as_array(), xb.as_array(), &metric, out),
            (Points::F64(xa), Points::F64(xb)) => self.cdist_in(py, xa.as_array(), xb.as_array(), &metric, out),
            _ => Err(mixed_types()),
        }
    }

    /// Fills `out` (n(n−1)/2, float32 or float64, contiguous) with SciPy's condensed distances
    /// of the rows of `x`, computed in x's type.
    fn pdist(&self, py: Python<'_>, x: Points<'_>, metric: &Bound<'_, PyAny>, out: Condensed<'_>) -> PyResult<()> {
        let metric = distance_arg(metric)?;
        match x {
            Points::F32(x) => self.pdist_in(py, x.as_array(), &metric, out),
            Points::F64(x) => self.pdist_in(py, x.as_array(), &metric, out),
        }
    }

    /// The `k` nearest rows of `xb` (None: of `xa`, each row left out of its own list) to each
    /// row of `xa`: (distances n × k, indices n × k), ascending, ties to the smaller index;
    /// distances of the points' type.
    #[pyo3(signature = (xa, xb, k, metric))]
    fn knn<'py>(
        &self,
        py: Python<'py>,
        xa: Points<'py>,
        xb: Option<Points<'py>>,
        k: usize,
        metric: &Bound<'_, PyAny>,
    ) -> PyResult<NeighborArrays<'py>> {
        let metric = distance_arg(metric)?;
        match (xa, xb) {
            (Points::F32(xa), None) => self.knn_in(py, xa.as_array(), None, k, &metric),
            (Points::F32(xa), Some(Points::F32(xb))) => self.knn_in(py, xa.as_array(), Some(xb.as_array()), k, &metric),
            (Points::F64(xa), None) => self.knn_in(py, xa.as_array(), None, k, &metric),
            (Points::F64(xa), Some(Points::F64(xb))) => self.knn_in(py, xa.as_array(), Some(xb.as_array()), k, &metric),
            _ => Err(mixed_types()),
        }
    }

    /// The nearest row of `xb` to each row of `xa` and its distance (the library's
    /// `Engine::argmin`): (indices n, distances n of the points' type), ties to the smaller
    /// index.
    fn argmin<'py>(
        &self,
        py: Python<'py>,
        xa: Points<'py>,
        xb: Points<'py>,
        metric: &Bound<'_, PyAny>,
    ) -> PyResult<ArgminArrays<'py>> {
        let metric = distance_arg(metric)?;
        match (xa, xb) {
            (Points::F32(xa), Points::F32(xb)) => self.argmin_in(py, xa.as_array(), xb.as_array(), &metric),
            (Points::F64(xa), Points::F64(xb)) => self.argmin_in(py, xa.as_array(), xb.as_array(), &metric),
            _ => Err(mixed_types()),
        }
    }

    /// A shard's partial k-nearest lists, for merging with `merge_neighbours`: `xa` holds rows
    /// `row0, ...` and `xb` rows `col0, ...` of the whole problem (xb None: xa against itself,
    /// the diagonal shard of X against X, each point left out by its global index); indices
    /// are global, and lists shorter than `k` (a shard of fewer points) are padded with index
    /// -1 and a NaN distance.
    #[pyo3(signature = (xa, xb, k, metric, row0, col0))]
    #[expect(
        clippy::too_many_arguments,
        reason = "Python's signature: the points, k, the metric and the shard's place"
    )]
    fn knn_partial<'py>(
        &self,
        py: Python<'py>,
        xa: Points<'py>,
        xb: Option<Points<'py>>,
        k: usize,
        metric: &Bound<'_, PyAny>,
        row0: usize,
        col0: usize,
    ) -> PyResult<NeighborArrays<'py>> {
        let metric = distance_arg(metric)?;
        let offsets = (row0, col0);
        match (xa, xb) {
            (Points::F32(xa), None) => self.partial_in(py, xa.as_array(), None, k, &metric, offsets),
            (Points::F32(xa), Some(Points::F32(xb))) => {
                self.partial_in(py, xa.as_array(), Some(xb.as_array()), k, &metric, offsets)
            }
            (Points::F64(xa), None) => self.partial_in(py, xa.as_array(), None, k, &metric, offsets),
            (Points::F64(xa), Some(Points::F64(xb))) => {
                self.partial_in(py, xa.as_array(), Some(xb.as_array()), k, &metric, offsets)
            }
            _ => Err(mixed_types()),
        }
    }

    /// Every pair (row of `xa`, row of `xb`; xb None: pairs i < j of xa) at distance at most
    /// `r` (compared in the points' type), as (rows, cols, distances) sorted by row then
    /// column; None when more than `max_pairs` pairs are.
    #[pyo3(signature = (xa, xb, r, metric, max_pairs))]
    fn radius<'py>(
        &self,
        py: Python<'py>,
        xa: Points<'py>,
        xb: Option<Points<'py>>,
        r: f64,
        metric: &Bound<'_, PyAny>,
        max_pairs: usize,
    ) -> PyResult<Option<PairArrays<'py>>> {
        let metric = distance_arg(metric)?;
        match (xa, xb) {
            (Points::F32(xa), None) => self.radius_in(py, xa.as_array(), None, r as f32, &metric, max_pairs),
            (Points::F32(xa), Some(Points::F32(xb))) => {
                self.radius_in(py, xa.as_array(), Some(xb.as_array()), r as f32, &metric, max_pairs)
            }
            (Points::F64(xa), None) => self.radius_in(py, xa.as_array(), None, r, &metric, max_pairs),
            (Points::F64(xa), Some(Points::F64(xb))) => {
                self.radius_in(py, xa.as_array(), Some(xb.as_array()), r, &metric, max_pairs)
            }
            _ => Err(mixed_types()),
        }
    }

    fn __repr__(&self) -> String {
        format!("<pairdist engine: {}>", self.inner.describe())
    }
}

impl Engine {
    fn cdist_in<T: Element + numpy::Element>(
        &self,
        py: Python<'_>,
        xa: ArrayView2<'_, T>,
        xb: ArrayView2<'_, T>,
        metric: &pairdist::Distance,
        out: Matrix<'_>,
    ) -> PyResult<()> {
        let work = work(&xa, &xb);
        let engine = &self.inner;
        // Into an output of the type computed in, in place; into the other, through a sink
        // that rounds each value once.
        match out {
            Matrix::F32(mut out) => {
                let out = out.as_array_mut();
                compute(py, work, |m| into_matrix(&engine.watched(m), xa, xb, metric, out))
            }
            Matrix::F64(mut out) => {
                let out = out.as_array_mut();
                compute(py, work, |m| into_matrix(&engine.watched(m), xa, xb, metric, out))
            }
        }
    }

    fn pdist_in<T: Element + numpy::Element>(
        &self,
        py: Python<'_>,
        x: ArrayView2<'_, T>,
        metric: &pairdist::Distance,
        out: Condensed<'_>,
    ) -> PyResult<()> {
        let work = work(&x, &x) / 2;
        let engine = &self.inner;
        match out {
            Condensed::F32(mut out) => {
                let out = out.as_array_mut();
                compute(py, work, |m| into_condensed(&engine.watched(m), x, metric, out))
            }
            Condensed::F64(mut out) => {
                let out = out.as_array_mut();
                compute(py, work, |m| into_condensed(&engine.watched(m), x, metric, out))
            }
        }
    }

    fn knn_in<'py, T: Element + numpy::Element>(
        &self,
        py: Python<'py>,
        xa: ArrayView2<'_, T>,
        xb: Option<ArrayView2<'_, T>>,
        k: usize,
        metric: &pairdist::Distance,
    ) -> PyResult<NeighborArrays<'py>> {
        let work = work(&xa, &xb.unwrap_or(xa));
        let engine = &self.inner;
        let nn = compute(py, work, |m| {
            let engine = engine.watched(m);
            match xb {
                Some(xb) => engine.knn(xa, xb, k, metric),
                None => engine.knn_self(xa, k, metric),
            }
        })?;
        Ok(neighbor_arrays(py, nn))
    }

    fn argmin_in<'py, T: Element + numpy::Element>(
        &self,
        py: Python<'py>,
        xa: ArrayView2<'_, T>,
        xb: ArrayView2<'_, T>,
        metric: &pairdist::Distance,
    ) -> PyResult<ArgminArrays<'py>> {
        let engine = &self.inner;
        let nearest = compute(py, work(&xa, &xb), |m| engine.watched(m).argmin(xa, xb, metric))?;
        Ok(argmin_arrays(py, nearest))
    }

    fn partial_in<'py, T: Element + numpy::Element>(
        &self,
        py: Python<'py>,
        xa: ArrayView2<'_, T>,
        xb: Option<ArrayView2<'_, T>>,
        k: usize,
        metric: &pairdist::Distance,
        (row0, col0): (usize, usize),
    ) -> PyResult<NeighborArrays<'py>> {
        if k == 0 {
            return Err(PyValueError::new_err("k must be at least 1, got 0"));
        }
        if xb.is_none() && row0 != col0 {
            return Err(PyValueError::new_err("a shard of X against itself has row0 == col0"));
        }
        let work = work(&xa, &xb.unwrap_or(xa));
        let engine = &self.inner;
        let nn = compute(py, work, |m| {
            let mut lists = vec![TopK::new(k); xa.nrows()];
            let job = Job::new(xa, xb, metric, Answer::Nearest { k, lists: &mut lists }).offsets(row0, col0);
            engine.watched(m).run(if xb.is_none() { job.upper() } else { job })?;
            Ok(Neighbors::padded(&lists, k))
        })?;
        Ok(neighbor_arrays(py, nn))
    }

    fn radius_in<'py, T: Element + numpy::Element>(
        &self,
        py: Python<'py>,
        xa: ArrayView2<'_, T>,
        xb: Option<ArrayView2<'_, T>>,
        r: T,
        metric: &pairdist::Distance,
        max_pairs: usize,
    ) -> PyResult<Option<PairArrays<'py>>> {
        let work = work(&xa, &xb.unwrap_or(xa));
        let engine = &self.inner;
        let result = run(py, work, |m| {
            let engine = engine.watched(m);
            match xb {
                Some(xb) => engine.radius(xa, xb, r, metric, max_pairs),
                None => engine.radius_self(xa, r, metric, max_pairs),
            }
        })?;
        pair_arrays(py, result)
    }
}

/// `cdist` of `xa` and `xb` into `out` of any float type: in place when it is the points'.
fn into_matrix<T: Element, O: Element>(
    engine: &pairdist::Engine,
    xa: ArrayView2<'_, T>,
    xb: ArrayView2<'_, T>,
    metric: &pairdist::Distance,
    out: ArrayViewMut2<'_, O>,
) -> pairdist::Result<()> {
    match try_cast_mut::<O, T>(out) {
        Ok(out) => engine.run(Job::new(xa, Some(xb), metric, Answer::Matrix(Target::Array(out)))),
        Err(mut out) => {
            let mut sink = MatrixSink::new(out.view_mut());
            engine.run(Job::new(xa, Some(xb), metric, Answer::Matrix(Target::Sink(&mut sink))))
        }
    }
}

/// `out` as a view of `T` when `O` is `T`, else `out` back.
fn try_cast_mut<O: 'static, T: 'static>(
    out: ArrayViewMut2<'_, O>,
) -> Result<ArrayViewMut2<'_, T>, ArrayViewMut2<'_, O>> {
    if std::any::TypeId::of::<T>() != std::any::TypeId::of::<O>() {
        return Err(out);
    }
    let (dim, strides) = (out.raw_dim(), out.strides().to_vec());
    let ptr = out.as_ptr() as *mut T;
    let strides = ndarray::Ix2(strides[0] as usize, strides[1] as usize);
    // SAFETY: `T` and `O` are the same type (checked above), so the pointer, shape and strides
    // describe the same memory, borrowed mutably for the same lifetime.
    Ok(unsafe { ArrayViewMut2::from_shape_ptr(ndarray::ShapeBuilder::strides(dim, strides), ptr) })
}

/// `pdist` of `x` into `out` of any float type: in place when it is the points' and contiguous.
fn into_condensed<T: Element, O: Element>(
    engine: &pairdist::Engine,
    x: ArrayView2<'_, T>,
    metric: &pairdist::Distance,
    mut out: ArrayViewMut1<'_, O>,
) -> pairdist::Result<()> {
    let n = x.nrows();
    match out.as_slice_mut() {
        Some(slice) if std::any::TypeId::of::<T>() == std::any::TypeId::of::<O>() => {
            // SAFETY: `T` and `O` are the same type (checked just above).
            let slice = unsafe { std::slice::from_raw_parts_mut(slice.as_mut_ptr() as *mut T, slice.len()) };
            engine.run(Job::new(x, None, metric, Answer::Matrix(Target::Condensed(slice))).upper())
        }
        Some(slice) => engine.pdist_to(x, metric, &mut CondensedSink::new(n, slice)),
        None => {
            let mut buffer = vec![O::from_f64(0.0); out.len()];
            engine.pdist_to(x, metric, &mut CondensedSink::new(n, &mut buffer))?;
            out.iter_mut().zip(buffer).for_each(|(o, v)| *o = v);
            Ok(())
        }
    }
}

fn neighbor_arrays<T: Element + numpy::Element>(py: Python<'_>, nn: Neighbors<T>) -> NeighborArrays<'_> {
    (PyArray2::from_owned_array(py, nn.distances).into_any(), PyArray2::from_owned_array(py, nn.indices))
}

fn argmin_arrays<T: Element + numpy::Element>(
    py: Python<'_>,
    (indices, distances): (ndarray::Array1<i64>, ndarray::Array1<T>),
) -> ArgminArrays<'_> {
    (PyArray1::from_owned_array(py, indices), PyArray1::from_owned_array(py, distances).into_any())
}

/// Pairs as arrays; None past the caller's cap on pairs (the caller words the error).
fn pair_arrays<T: Element + numpy::Element>(
    py: Python<'_>,
    result: pairdist::Result<Pairs<T>>,
) -> PyResult<Option<PairArrays<'_>>> {
    match result {
        Ok(pairs) => Ok(Some((
            PyArray1::from_vec(py, pairs.rows),
            PyArray1::from_vec(py, pairs.cols),
            PyArray1::from_vec(py, pairs.distances).into_any(),
        ))),
        // The only size limit radius has is the cap on pairs.
        Err(Error::TooLarge(_)) => Ok(None),
        Err(e) => Err(to_py(e)),
    }
}

/// A base fitted once for a metric on an engine, searched by any number of query batches (the
/// library's `Index`): float32 or float64, as the base is.
#[pyclass(frozen, module = "pairdist._pairdist")]
struct Index {
    inner: IndexOf,
}

enum IndexOf {
    F32(pairdist::Index<f32>),
    F64(pairdist::Index<f64>),
}

#[pymethods]
impl Index {
    #[new]
    fn new(py: Python<'_>, engine: &Engine, base: Points<'_>, metric: &Bound<'_, PyAny>) -> PyResult<Self> {
        let metric = distance_arg(metric)?;
        let engine = &engine.inner;
        let inner = match base {
            Points::F32(b) => {
                let b = b.as_array();
                IndexOf::F32(compute(py, b.len(), |m| pairdist::Index::new(&engine.watched(m), b, &metric))?)
            }
            Points::F64(b) => {
                let b = b.as_array();
                IndexOf::F64(compute(py, b.len(), |m| pairdist::Index::new(&engine.watched(m), b, &metric))?)
            }
        };
        Ok(Index { inner })
    }

    /// Points in the base.
    fn __len__(&self) -> usize {
        match &self.inner {
            IndexOf::F32(i) => i.len(),
            IndexOf::F64(i) => i.len(),
        }
    }

    /// "float32" or "float64": the base's type, which queries compute in.
    #[getter]
    fn dtype(&self) -> &'static str {
        match &self.inner {
            IndexOf::F32(_) => "float32",
            IndexOf::F64(_) => "float64",
        }
    }

    /// Dimensions of the points.
    #[getter]
    fn dim(&self) -> usize {
        match &self.inner {
            IndexOf::F32(i) => i.dim(),
            IndexOf::F64(i) => i.dim(),
        }
    }

    /// Whether the base is kept on a GPU.
    #[getter]
    fn resident(&self) -> bool {
        match &self.inner {
            IndexOf::F32(i) => i.is_resident(),
            IndexOf::F64(i) => i.is_resident(),
        }
    }

    /// The `k` nearest points of the base to each query: (distances, indices), as `Engine.knn`.
    fn knn<'py>(&self, py: Python<'py>, queries: Points<'py>, k: usize) -> PyResult<NeighborArrays<'py>> {
        match (&self.inner, queries) {
            (IndexOf::F32(index), Points::F32(q)) => {
                let q = q.as_array();
                let nn = compute(py, q.len() * index.len(), |m| index.watched(m).knn(q, k))?;
                Ok(neighbor_arrays(py, nn))
            }
            (IndexOf::F64(index), Points::F64(q)) => {
                let q = q.as_array();
                let nn = compute(py, q.len() * index.len(), |m| index.watched(m).knn(q, k))?;
                Ok(neighbor_arrays(py, nn))
            }
            _ => Err(mixed_types()),
        }
    }

    /// The nearest point of the base to each query: (indices, distances), as `Engine.argmin`
    /// (the library's `Index::argmin`).
    fn argmin<'py>(&self, py: Python<'py>, queries: Points<'py>) -> PyResult<ArgminArrays<'py>> {
        match (&self.inner, queries) {
            (IndexOf::F32(index), Points::F32(q)) => {
                let q = q.as_array();
                let nearest = compute(py, q.len() * index.len(), |m| index.watched(m).argmin(q))?;
                Ok(argmin_arrays(py, nearest))
            }
            (IndexOf::F64(index), Points::F64(q)) => {
                let q = q.as_array();
                let nearest = compute(py, q.len() * index.len(), |m| index.watched(m).argmin(q))?;
                Ok(argmin_arrays(py, nearest))
            }
            _ => Err(mixed_types()),
        }
    }

    /// Every (query, base point) pair within `r`: (rows, cols, distances); None past max_pairs.
    fn radius<'py>(
        &self,
        py: Python<'py>,
        queries: Points<'py>,
        r: f64,
        max_pairs: usize,
    ) -> PyResult<Option<PairArrays<'py>>> {
        match (&self.inner, queries) {
            (IndexOf::F32(index), Points::F32(q)) => {
                let q = q.as_array();
                let result = run(py, q.len() * index.len(), |m| index.watched(m).radius(q, r as f32, max_pairs))?;
                pair_arrays(py, result)
            }
            (IndexOf::F64(index), Points::F64(q)) => {
                let q = q.as_array();
                let result = run(py, q.len() * index.len(), |m| index.watched(m).radius(q, r, max_pairs))?;
                pair_arrays(py, result)
            }
            _ => Err(mixed_types()),
        }
    }
}

/// The `k` best of several partial k-nearest answers of the same rows (`(distances, indices)`
/// pairs, padding index -1 skipped), merged by (distance, index) as every backend orders them,
/// and padded where fewer than `k` are known: Dask's tree reduction of shards' lists.
#[pyfunction]
fn merge_neighbours<'py>(py: Python<'py>, parts: Vec<Partial<'py>>, k: usize) -> PyResult<NeighborArrays<'py>> {
    fn merged<T: Element + numpy::Element>(
        py: Python<'_>,
        parts: Vec<(Array2<T>, Array2<i64>)>,
        k: usize,
    ) -> PyResult<NeighborArrays<'_>> {
        let parts: Vec<Neighbors<T>> =
            parts.into_iter().map(|(distances, indices)| Neighbors { distances, indices }).collect();
        let nn = compute(py, 0, |_| Neighbors::merge(&parts, k))?;
        Ok(neighbor_arrays(py, nn))
    }
    let mut f32_parts = Vec::new();
    let mut f64_parts = Vec::new();
    for part in &parts {
        match part {
            Partial::F32((d, i)) => f32_parts.push((d.as_array().to_owned(), i.as_array().to_owned())),
            Partial::F64((d, i)) => f64_parts.push((d.as_array().to_owned(), i.as_array().to_owned())),
        }
    }
    match (f32_parts.is_empty(), f64_parts.is_empty()) {
        (_, true) => merged(py, f32_parts, k),
        (true, false) => merged(py, f64_parts, k),
        (false, false) => Err(mixed_types()),
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
    let list = compute(py, 0, |_| Ok(pairdist::gpu::adapters()))?;
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
    m.add_class::<Index>()?;
    m.add_function(wrap_pyfunction!(adapters, m)?)?;
    m.add_function(wrap_pyfunction!(metrics, m)?)?;
    m.add_function(wrap_pyfunction!(merge_neighbours, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
