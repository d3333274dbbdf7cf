"""pairdist: pairwise distances on any GPU (wgpu: Vulkan, Metal, DX12) or on all CPU cores.

A drop-in for SciPy's ``cdist`` and ``pdist`` (same argument names, shapes and condensed
layout), and the answers people want without the matrix: the ``k`` nearest neighbours
(scikit-learn's ``kneighbors`` shapes) and every pair within a radius.

>>> import numpy as np, pairdist
>>> XA = np.array([[0.0, 0.0], [3.0, 4.0]])
>>> pairdist.cdist(XA, XA)
array([[0., 5.],
       [5., 0.]])
>>> distances, indices = pairdist.knn(XA, k=1)      # XB omitted: XA against itself
>>> indices
array([[1],
       [0]])

Metrics (:data:`METRICS`), by SciPy's names and aliases: ``euclidean`` (default),
``sqeuclidean``, ``cityblock`` (``manhattan``), ``chebyshev``, ``minkowski``, ``cosine``,
``correlation``, ``canberra``, ``jensenshannon``, ``hamming``, ``seuclidean``,
``mahalanobis``, ``braycurtis``, ``jaccard``. SciPy's metric parameters are keyword arguments, as in SciPy: ``p``
(minkowski's exponent, default 2), ``w`` (weights, for the metrics SciPy weights), ``V``
(seuclidean's variances) and ``VI`` (mahalanobis's inverse covariance); without ``V`` or ``VI``
they are SciPy's defaults, computed from all the points of the call:

>>> pairdist.cdist(XA, XA, "minkowski", p=1)
array([[0., 7.],
       [7., 0.]])

Precision: pairdist computes in float32 where the inputs are float32, and in float64 where
SciPy's float64 loses nothing to speed (differences first, never the ``|x|² + |y|² − 2x·y``
shortcut, in either type):

- float64 inputs (either byte order, and longer floats) compute in float64, within a relative
  1e-12 (plus a tiny absolute term scaled by the data) of SciPy's float64 answer;
- integers and booleans compute in float64, as SciPy computes them: hamming of booleans is
  exactly SciPy's 0.46, not 0.46000000834 (rounding them to float32 would gain nothing);
- float32 inputs compute in float32 (a GPU's speed), within a relative 1e-5 of SciPy's answer
  for the same values; so do float16 inputs (exact in float32, whose rounding is far finer
  than float16's own);
- inputs of two types compute in float32 only when both would (float32 and float16), else
  both in float64;
- object arrays (even of numbers), complex numbers and other non-real dtypes are refused with
  SciPy's ``ValueError("Unsupported dtype object")``.

Results are float64 by default, as SciPy returns them; pass ``dtype=np.float32`` for half the
memory (float64 results rounded once to float32, or float32 results without the widening
copy).

Backends: ``backend="auto"`` (default) uses the best hardware GPU and the CPU when there is
none (a software GPU such as lavapipe is slower than pairdist's own CPU path, so ``auto``
never picks one); ``"gpu"`` uses any GPU adapter, software ones included, and fails without
one; ``"cpu"`` uses all CPU cores. The module-level functions share one :class:`Engine` per
backend, built on first use; build your own :class:`Engine` to choose the adapter or the
memory budget.

Threads and Ctrl-C: every call is one job of the Rust library, run with the GIL released, so
Python threads calling pairdist run in parallel; while it runs, Python's signal handlers are
polled, and Ctrl-C (``KeyboardInterrupt``) stops a long call within a second (the library stops
at its next tile). An array passed as ``out=`` is then partly filled. ``threads=`` (on
:class:`Engine` and the module-level functions) sets how many threads the host's work uses;
all cores by default.

A base searched many times is an :class:`Index`: fitted once (on a GPU, kept on the device),
then queried batch after batch, as scikit-learn's ``NearestNeighbors`` is used.
"""

from __future__ import annotations

import inspect
import numbers
import operator
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _pairdist

__version__: str = _pairdist.__version__

__all__ = ["Engine", "Index", "METRICS", "cdist", "pdist", "knn", "radius", "argmin", "info"]

# The metrics the library computes, with the names it accepts for each.
_LIBRARY_METRICS: List[Tuple[str, List[str]]] = _pairdist.metrics()

#: The metrics pairdist computes, by SciPy's names.
METRICS: Tuple[str, ...] = tuple(name for name, _ in _LIBRARY_METRICS)

# The library knows SciPy's names and aliases; scikit-learn's names for two of them besides.
_MORE_NAMES: Dict[str, List[str]] = {"euclidean": ["l2"], "cityblock": ["l1"]}
# Every accepted name (lower case) -> the library's name.
_ALIASES: Dict[str, str] = {
    alias: name
    for name, aliases in _LIBRARY_METRICS
    for alias in [name, *aliases, *_MORE_NAMES.get(name, [])]
}
_SUPPORTED = ", ".join(f"'{name}'" for name in METRICS)
_COLUMNS = "XA and XB must have the same number of columns (i.e. feature dimension.)"
_DEFAULT_MAX_PAIRS = 100_000_000

ArrayLike = npt.ArrayLike
Metric = Union[str, Callable[..., Any]]


def _metric_name(metric: Metric) -> str:
    """SciPy's canonical name of a metric pairdist computes, or a ValueError/TypeError."""
    if callable(metric):
        # SciPy's own functions (scipy.spatial.distance.euclidean, ...) name a metric.
        name = getattr(metric, "__name__", "")
        if getattr(metric, "__module__", "").startswith("scipy.spatial") and name in _ALIASES:
            return _ALIASES[name]
        raise TypeError(f"pairdist takes a metric by name, not a function; supported metrics: {_SUPPORTED}")
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a string such as 'euclidean', not {type(metric).__name__}")
    name = metric.lower()
    if name in _ALIASES:
        return _ALIASES[name]
    raise ValueError(f"Unknown Distance Metric: {metric}; supported metrics: {_SUPPORTED}")


def _vector(value: Any, name: str, ndim: int, not_ndim: str) -> np.ndarray:
    """A metric parameter's array (w, V: 1-D; VI: 2-D) as float64, as SciPy converts it."""
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, not {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(not_ndim)
    return np.asarray(a, dtype=np.float64)


def _distance(
    metric: Metric, p: Optional[float] = None, w: Any = None, V: Any = None, VI: Any = None, C: Any = None
) -> _pairdist.Distance:
    """The metric with SciPy's parameters (None: not given). The library checks them, with
    SciPy's exception types: TypeError for a parameter the metric does not take (p for
    euclidean, V for cosine), ValueError for a bad value (negative weights, p <= 0); lengths
    against the points' dimension are checked when a call runs. A ``_pairdist.Distance``
    (pairdist.dask builds them) is taken as it is."""
    if isinstance(metric, _pairdist.Distance) and (p, w, V, VI, C) == (None,) * 5:
        return metric
    name = _metric_name(metric)
    params: Dict[str, Any] = {}
    if p is not None:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
            raise TypeError(f"p must be a number, not {p!r}")
        params["p"] = float(p)
    if w is not None:
        params["w"] = _vector(w, "w", 1, "Weights must be a vector (ndim = 1)")
    if V is not None:
        params["V"] = _vector(V, "V", 1, "Variance vector V must be one-dimensional.")
    if VI is not None:
        params["VI"] = _vector(VI, "VI", 2, f"VI must be a 2-dimensional array (d x d), not {np.ndim(VI)}-D")
    if C is not None:  # mahalanobis's covariance (pairdist.dask computes it over chunks)
        params["C"] = _vector(C, "C", 2, "the covariance must be a 2-dimensional array (d x d)")
    return _pairdist.Distance(name, **params)


def _computed_type(dtype: np.dtype) -> np.dtype:
    """The type points of ``dtype`` compute in: float32 for float32 and float16 (the speed of a
    GPU; float16's own rounding is far coarser than float32's), float64 for everything else
    SciPy computes (float64, longer floats, integers, booleans), as SciPy computes them."""
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _unsupported(dtype: np.dtype, name: str) -> ValueError:
    """SciPy's error for points that are not real numbers (object arrays, complex, strings)."""
    return ValueError(f"Unsupported dtype {dtype} ({name} must hold real numbers: booleans, integers or floats)")


def _points(X: ArrayLike, name: str, not_2d: Optional[str] = None) -> np.ndarray:
    """X as a 2-D array that the engine reads in place, in the type it computes in
    (:func:`_computed_type`: float32 for float32 and float16, float64 for the rest). A view of
    X when X already is that type, native, C-contiguous and aligned, else one copy. Object
    arrays (even of numbers) and other non-real dtypes: SciPy's ``ValueError``."""
    a = np.asarray(X)
    if a.dtype.kind not in "biuf":
        raise _unsupported(a.dtype, name)
    if a.ndim != 2:
        raise ValueError(not_2d or f"{name} must be a 2-dimensional array.")
    target = _computed_type(a.dtype)
    if a.dtype != target or not a.flags.c_contiguous or not a.flags.aligned:
        a = np.array(a, dtype=target, order="C", copy=True)
    return a


def _same_type(xa: np.ndarray, xb: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The two point sets in one type: float64 when either is (float32 values widen exactly)."""
    if xa.dtype == xb.dtype:
        return xa, xb
    return xa.astype(np.float64), xb.astype(np.float64)


def _dtype(dtype: Optional[npt.DTypeLike], out: Optional[np.ndarray]) -> np.dtype:
    """The result's dtype: float64 (SciPy's) unless dtype or out says float32."""
    if dtype is None:
        return out.dtype if out is not None else np.dtype(np.float64)
    try:
        wanted = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, not {dtype!r}") from None
    if wanted not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, not {wanted}")
    if out is not None and out.dtype != wanted:
        raise ValueError(f"out is {out.dtype} but dtype={wanted} was asked for")
    return wanted


def _check_out(out: Any, shape: Tuple[int, ...]) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a NumPy array, not {type(out).__name__}")
    if out.shape != shape:
        raise ValueError(f"Output array has incorrect shape: {out.shape}, expected {shape}.")
    if out.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"Output array must be float64 or float32 (native byte order), not {out.dtype}.")
    if not out.flags.writeable:
        raise ValueError("Output array is read-only.")
    return out


def _check_neighbours_out(out: Any, shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """knn's ``out``: a pair (distances, indices) of writeable NumPy arrays of ``shape``,
    distances float64 or float32 (native), indices int64, any strides, not overlapping."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"out must be a tuple (distances, indices) of two NumPy arrays, not {type(out).__name__}")
    distances, indices = out
    for array, what in ((distances, "distances"), (indices, "indices")):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"out's {what} must be a NumPy array, not {type(array).__name__}")
        if array.shape != shape:
            raise ValueError(f"Output {what} array has incorrect shape: {array.shape}, expected {shape}.")
        if not array.flags.writeable:
            raise ValueError(f"Output {what} array is read-only.")
    if distances.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"Output distances array must be float64 or float32 (native byte order), not {distances.dtype}.")
    if indices.dtype != np.dtype(np.int64):
        raise ValueError(f"Output indices array must be int64 (native byte order), not {indices.dtype}.")
    if np.may_share_memory(distances, indices):
        raise ValueError("Output distances and indices arrays overlap.")
    return distances, indices


def _fill_neighbours(
    got: Tuple[np.ndarray, np.ndarray], out: Optional[Tuple[np.ndarray, np.ndarray]], result_dtype: np.dtype
) -> Tuple[np.ndarray, np.ndarray]:
    """knn's answer: into ``out`` when given (the same arrays returned), else as computed."""
    distances, indices = got
    if out is None:
        return distances.astype(result_dtype, copy=False), indices
    out[0][...] = distances
    out[1][...] = indices
    return out[0], out[1]


def _count(value: Any, name: str) -> int:
    """An integer argument (bools refused)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {value!r}") from None


def _neighbours(k: Any, m: int, own: bool) -> int:
    """`k` checked against the `m` points searched (one fewer for X against itself)."""
    k = _count(k, "k")
    available = m - 1 if own else m
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if k > available:
        what = f"X has only {available} other points" if own else f"XB has only {m} points"
        raise ValueError(f"k = {k} nearest neighbours asked, but {what}")
    return k


def _pair(XA: ArrayLike, XB: Optional[ArrayLike]) -> Tuple[np.ndarray, np.ndarray, bool]:
    """The two point sets in the type computed in (XB None: XA itself), checked to have equal
    columns."""
    xa = _points(XA, "XA")
    own = XB is None
    xb = xa if XB is None else _points(XB, "XB")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(_COLUMNS)
    xa, xb = _same_type(xa, xb)
    return xa, xb, own


def _radius_args(r: Any, max_pairs: Any) -> Tuple[float, int]:
    """radius's ``r`` (a number >= 0) and ``max_pairs`` (an integer >= 0), checked."""
    if not isinstance(r, numbers.Real) or isinstance(r, (bool, np.bool_)):
        raise TypeError(f"r must be a number, not {r!r}")
    r = float(r)
    if not r >= 0:
        raise ValueError(f"r must be a number >= 0, got {r}")
    max_pairs = _count(max_pairs, "max_pairs")
    if max_pairs < 0:
        raise ValueError(f"max_pairs must be >= 0, got {max_pairs}")
    return r, max_pairs


def _too_many(max_pairs: int, r: float) -> ValueError:
    return ValueError(f"more than {max_pairs} pairs are within r = {r}: raise max_pairs or lower r")


class Engine:
    """A backend chosen once and reused by every call: a GPU adapter with its compiled
    pipelines, or the CPU. Immutable after construction and safe to share between threads.

    Parameters
    ----------
    backend : {"auto", "gpu", "cpu"}
        ``"auto"``: the best hardware GPU, else the CPU. ``"gpu"``: any GPU adapter, software
        ones (lavapipe) included; ``RuntimeError`` if there is none. ``"cpu"``: all CPU cores.
    adapter : str, optional
        Only GPU adapters whose ``"NAME (BACKEND)"`` contains this text (case-insensitive),
        such as ``"rtx"`` or ``"(vulkan)"``; see :func:`info`.
    memory_budget : int, optional
        Bytes of device memory for all tile buffers together (default 512 MiB; on the CPU,
        bytes of each streamed tile).
    max_tile_bytes : int, optional
        Caps every tile buffer at this many bytes (more, smaller tiles).
    threads : int, optional
        Threads of the host's work (the CPU's kernels; a GPU's packing and copies); default:
        all cores.

    Examples
    --------
    >>> import numpy as np, pairdist
    >>> engine = pairdist.Engine("cpu")
    >>> engine.cdist(np.zeros((2, 3)), np.ones((1, 3)), "cityblock")
    array([[3.],
           [3.]])
    """

    __slots__ = ("_core",)

    def __init__(
        self,
        backend: str = "auto",
        adapter: Optional[str] = None,
        memory_budget: Optional[int] = None,
        max_tile_bytes: Optional[int] = None,
        threads: Optional[int] = None,
    ) -> None:
        if not isinstance(backend, str) or backend.lower() not in ("auto", "gpu", "cpu"):
            raise ValueError(f"unknown backend {backend!r}; valid backends are 'auto', 'gpu', 'cpu'")
        if adapter is not None and not isinstance(adapter, str):
            raise TypeError(f"adapter must be a string or None, not {type(adapter).__name__}")
        sizes = {"memory_budget": memory_budget, "max_tile_bytes": max_tile_bytes}
        for name, value in sizes.items():
            if value is not None and _count(value, name) <= 0:
                raise ValueError(f"{name} must be a positive number of bytes, not {value}")
        if threads is not None and _count(threads, "threads") <= 0:
            raise ValueError(f"threads must be at least 1, not {threads}")
        self._core = _pairdist.Engine(
            backend.lower(),
            adapter,
            None if memory_budget is None else int(memory_budget),
            None if max_tile_bytes is None else int(max_tile_bytes),
            None if threads is None else int(threads),
        )

    @property
    def backend(self) -> str:
        """``"gpu"`` or ``"cpu"``: where this engine computes (``"auto"`` resolved)."""
        return self._core.backend

    @property
    def device(self) -> str:
        """One line naming the device, e.g. ``"GPU: NVIDIA ... (Vulkan)"`` or ``"CPU: 8 threads"``."""
        return self._core.device

    @property
    def adapter(self) -> Optional[Dict[str, Any]]:
        """The GPU adapter in use (name, backend, device_type, driver, ...), or None on the CPU."""
        return self._core.adapter

    @property
    def threads(self) -> int:
        """Threads of the engine's host work."""
        return self._core.threads

    def stats(self) -> Dict[str, Any]:
        """What this engine did so far, over every call: ``jobs``, ``tiles``, ``pairs``,
        ``dispatches`` (GPU passes), ``bytes_uploaded`` and ``bytes_read_back`` (to and from the
        GPU; 0 on the CPU), and the seconds of the ``upload``, ``compute`` and ``readback``
        phases. Differences of two snapshots tell what one call did."""
        return self._core.stats()

    def __repr__(self) -> str:
        return f"pairdist.Engine(backend={self.backend!r})  # {self.device}"

    def __reduce__(self) -> Any:
        raise TypeError("a pairdist.Engine holds a device and cannot be pickled; build one in each process")

    def cdist(
        self,
        XA: ArrayLike,
        XB: ArrayLike,
        metric: Metric = "euclidean",
        *,
        out: Optional[np.ndarray] = None,
        dtype: Optional[npt.DTypeLike] = None,
        p: Optional[float] = None,
        w: Optional[ArrayLike] = None,
        V: Optional[ArrayLike] = None,
        VI: Optional[ArrayLike] = None,
    ) -> np.ndarray:
        """The distance between each pair of the two collections of inputs, like SciPy's
        ``scipy.spatial.distance.cdist``.

        Parameters
        ----------
        XA : array_like, (mA, n)
            mA points in n dimensions: any real dtype (booleans, integers, floats), any memory
            order. float32 and float16 points compute in float32; float64 points, longer
            floats, integers and booleans in float64, as SciPy computes them (float32 and
            float64 points are read in place when C-contiguous; anything else is converted
            once). When XA and XB would compute in different types, both compute in float64.
            Object arrays and other dtypes: ``ValueError("Unsupported dtype ...")``, as SciPy.
        XB : array_like, (mB, n)
            mB points in n dimensions.
        metric : str
            One of :data:`METRICS` (``"euclidean"`` by default) or one of SciPy's aliases
            (``"cos"``, ``"mahal"``, ...); a function of ``scipy.spatial.distance`` naming one
            (``scipy.spatial.distance.cosine``) works too.
        out : ndarray, (mA, mB), optional
            Filled in place and returned: float64 or float32, any strides.
        dtype : {None, np.float64, np.float32}
            The result's dtype: float64 by default (as SciPy), or float32 (half the memory:
            float64 results rounded once, or float32 ones as computed); with ``out``, out's
            dtype.
        p : float, optional
            ``minkowski``'s exponent, ``p > 0`` (``np.inf`` allowed; default 2).
        w : array_like, (n,), optional
            Non-negative weights of the dimensions, for the metrics SciPy weights:
            ``euclidean``, ``sqeuclidean``, ``cityblock``, ``chebyshev`` (the dimensions of
            positive weight), ``minkowski``, ``cosine``, ``correlation``, ``canberra``,
            ``hamming`` (the weight where u != v over the total weight: NaN if it is 0),
            ``braycurtis``, ``jaccard``; other metrics: ``TypeError``.
        V : array_like, (n,), optional
            ``seuclidean``'s variances; default, as SciPy: the variances (ddof 1) of XA and XB
            stacked.
        VI : array_like, (n, n), optional
            ``mahalanobis``'s inverse covariance; default, as SciPy: the inverse of the
            covariance of XA and XB stacked (``ValueError`` for n or fewer points, or a
            singular covariance).

        A parameter the metric does not take is a ``TypeError``, as in SciPy (``p`` for
        ``euclidean``, ``V`` for ``cosine``); a bad value a ``ValueError`` (negative or
        wrongly sized weights, ``p <= 0``, a ``VI`` that is not n × n).

        Returns
        -------
        ndarray, (mA, mB)
            ``Y[i, j]`` is the distance between ``XA[i]`` and ``XB[j]``.

        Raises
        ------
        ValueError
            For inputs that are not 2-D or not real numbers (object arrays), different numbers
            of columns, an unknown metric, a bad metric parameter, or an ``out`` of the wrong
            shape or dtype (SciPy's messages).
        TypeError
            For a metric parameter the metric does not take.
        """
        distance = _distance(metric, p, w, V, VI)
        xa = _points(XA, "XA")
        xb = _points(XB, "XB")
        if xa.shape[1] != xb.shape[1]:
            raise ValueError(_COLUMNS)
        xa, xb = _same_type(xa, xb)
        n, m = xa.shape[0], xb.shape[0]
        if out is not None:
            _check_out(out, (n, m))
        result_dtype = _dtype(dtype, out)
        if out is None:
            result = np.empty((n, m), result_dtype)
        elif np.may_share_memory(out, xa) or np.may_share_memory(out, xb):
            # Writing tiles would change inputs that later tiles read.
            result = np.empty((n, m), out.dtype)
            self._core.cdist(xa, xb, distance, result)
            out[...] = result
            return out
        else:
            result = out
        self._core.cdist(xa, xb, distance, result)
        return result

    def pdist(
        self,
        X: ArrayLike,
        metric: Metric = "euclidean",
        *,
        out: Optional[np.ndarray] = None,
        dtype: Optional[npt.DTypeLike] = None,
        p: Optional[float] = None,
        w: Optional[ArrayLike] = None,
        V: Optional[ArrayLike] = None,
        VI: Optional[ArrayLike] = None,
    ) -> np.ndarray:
        """Pairwise distances between the points of ``X``, like SciPy's
        ``scipy.spatial.distance.pdist``: the condensed vector of the pairs i < j, row by row
        (``scipy.spatial.distance.squareform`` turns it into the square matrix).

        Parameters
        ----------
        X : array_like, (m, n)
            m points in n dimensions.
        metric, dtype, p, w
            As for :meth:`cdist`.
        V, VI : array_like, optional
            As for :meth:`cdist`; their defaults are those of the points of X.
        out : ndarray, (m * (m - 1) // 2,), optional
            Filled in place and returned: float64 or float32.

        Returns
        -------
        ndarray, (m * (m - 1) // 2,)
            The distance of pair (i, j), i < j, is at ``m * i + j - ((i + 2) * (i + 1)) // 2``.
        """
        distance = _distance(metric, p, w, V, VI)
        x = _points(X, "X", not_2d=f"A 2-dimensional array must be passed. (Shape was {np.shape(X)}).")
        n = x.shape[0]
        size = n * (n - 1) // 2
        if out is not None:
            _check_out(out, (size,))
        result_dtype = _dtype(dtype, out)
        if out is None:
            result = np.empty(size, result_dtype)
        elif np.may_share_memory(out, x):
            # Writing tiles would change the input that later tiles read.
            result = np.empty(size, out.dtype)
            self._core.pdist(x, distance, result)
            out[...] = result
            return out
        else:
            result = out
        self._core.pdist(x, distance, result)
        return result

    def knn(
        self,
        XA: ArrayLike,
        XB: Optional[ArrayLike] = None,
        k: Optional[int] = None,
        metric: Metric = "euclidean",
        *,
        out: Optional[Tuple[np.ndarray, np.ndarray]] = None,
        dtype: Optional[npt.DTypeLike] = None,
        p: Optional[float] = None,
        w: Optional[ArrayLike] = None,
        V: Optional[ArrayLike] = None,
        VI: Optional[ArrayLike] = None,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest points of ``XB`` to each point of ``XA``, as scikit-learn's
        ``NearestNeighbors(algorithm="brute").fit(XB).kneighbors(XA, k)`` returns them, without
        building the distance matrix (memory: the answer plus the blocks in flight).

        Parameters
        ----------
        XA : array_like, (n, d)
            The query points.
        XB : array_like, (m, d), optional
            The points searched. ``None``: XA against itself, each point left out of its own
            list (by index: a duplicate of it still counts), as scikit-learn's
            ``kneighbors()`` without X.
        k : int
            Neighbours per query (required), 1 <= k <= m (m - 1 when XB is None).
        metric, dtype, p, w, V, VI
            As for :meth:`cdist` (with XB None, the defaults of V and VI are those of XA,
            as for :meth:`pdist`).
        out : (ndarray, ndarray), optional
            ``(distances, indices)``, both ``(n, k)``, filled and returned: distances float64
            or float32 (the result's dtype; ``dtype``, if given, must agree), indices int64,
            both writeable, any strides (a slice of larger arrays works), not overlapping.
            Wrong shapes, dtypes or read-only arrays are a ``ValueError``; anything but a pair
            of NumPy arrays a ``TypeError``. They are written once the answer is complete.

        Returns
        -------
        distances : ndarray, (n, k)
            Ascending along each row; float64 unless ``dtype=np.float32`` (or out's).
        indices : ndarray of int64, (n, k)
            Rows of XB; among equal distances the smaller index comes first (NaN distances last).
        """
        if XB is not None and np.ndim(XB) == 0:
            raise TypeError("XB must be an array of points or None (k is given by keyword: knn(X, k=5))")
        if k is None:
            raise TypeError("knn() missing required argument 'k' (the number of neighbours)")
        distance = _distance(metric, p, w, V, VI)
        xa, xb, own = _pair(XA, XB)
        k = _neighbours(k, xb.shape[0], own)
        if out is not None:
            out = _check_neighbours_out(out, (xa.shape[0], k))
        result_dtype = _dtype(dtype, None if out is None else out[0])
        got = self._core.knn(xa, None if own else xb, k, distance)
        return _fill_neighbours(got, out, result_dtype)

    def argmin(
        self,
        XA: ArrayLike,
        XB: ArrayLike,
        metric: Metric = "euclidean",
        *,
        dtype: Optional[npt.DTypeLike] = None,
        p: Optional[float] = None,
        w: Optional[ArrayLike] = None,
        V: Optional[ArrayLike] = None,
        VI: Optional[ArrayLike] = None,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The nearest point of ``XB`` to each point of ``XA`` (k-means' assignment step), without
        building the distance matrix: the library's own argmin (the first column of
        :meth:`knn` with ``k=1``, without the lists).

        Parameters
        ----------
        XA : array_like, (n, d)
            The points to assign.
        XB : array_like, (m, d)
            The candidates (centres), m >= 1.
        metric, dtype, p, w, V, VI
            As for :meth:`cdist`.

        Returns
        -------
        indices : ndarray of int64, (n,)
            The nearest row of XB (the smaller index among equal distances).
        distances : ndarray, (n,)
            Its distance; float64 unless ``dtype=np.float32``.
        """
        if XB is None:
            raise TypeError("argmin() needs XB, the points to choose from")
        distance = _distance(metric, p, w, V, VI)
        xa, xb, _ = _pair(XA, XB)
        if xb.shape[0] == 0:
            raise ValueError("argmin() needs at least one point in XB to choose from; it has none")
        result_dtype = _dtype(dtype, None)
        indices, distances = self._core.argmin(xa, xb, distance)
        return indices, distances.astype(result_dtype, copy=False)

    def radius(
        self,
        XA: ArrayLike,
        XB: Optional[ArrayLike] = None,
        r: Optional[float] = None,
        metric: Metric = "euclidean",
        *,
        max_pairs: int = _DEFAULT_MAX_PAIRS,
        dtype: Optional[npt.DTypeLike] = None,
        p: Optional[float] = None,
        w: Optional[ArrayLike] = None,
        V: Optional[ArrayLike] = None,
        VI: Optional[ArrayLike] = None,
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every pair of points within distance ``r``, as coordinate (COO) triplets, without
        building the distance matrix.

        Parameters
        ----------
        XA : array_like, (n, d)
            The query points.
        XB : array_like, (m, d), optional
            The points searched. ``None``: the pairs i < j of XA with itself, each once (as
            SciPy's ``cKDTree.query_pairs``).
        r : float
            Pairs at distance <= r (required; compared in the type computed in, as for
            :meth:`cdist`: float32 for float32 and float16 points, else float64); for
            ``sqeuclidean``, a squared distance.
        metric, dtype, p, w, V, VI
            As for :meth:`knn`.
        max_pairs : int
            ``ValueError`` once more pairs than this are found, before they fill memory
            (default 10**8).

        Returns
        -------
        rows, cols : ndarray of int64
            The pairs (rows[p], cols[p]), sorted by row, then column.
        distances : ndarray
            Their distances; float64 unless ``dtype=np.float32``.

        ``scipy.sparse.coo_matrix((distances, (rows, cols)), shape=(n, m))`` makes them a sparse
        matrix, and ``np.split(cols, np.searchsorted(rows, np.arange(1, n)))`` gives each
        query's neighbours as scikit-learn's ``radius_neighbors(..., sort_results=False)``
        lists them (in column order).
        """
        if XB is not None and np.ndim(XB) == 0:
            raise TypeError("XB must be an array of points or None (r is given by keyword: radius(X, r=0.5))")
        if r is None:
            raise TypeError("radius() missing required argument 'r' (the radius)")
        distance = _distance(metric, p, w, V, VI)
        xa, xb, own = _pair(XA, XB)
        n, m = xa.shape[0], xb.shape[0]
        r, max_pairs = _radius_args(r, max_pairs)
        result_dtype = _dtype(dtype, None)
        # The radius in the type computed in (float32: rounded once, beyond its range inf).
        r_computed = r if xa.dtype == np.float64 else float(np.float32(r) if r <= np.finfo(np.float32).max else np.inf)
        got = self._core.radius(xa, None if own else xb, r_computed, distance, max_pairs)
        if got is None:
            raise _too_many(max_pairs, r)
        rows, cols, dist = got
        return rows, cols, dist.astype(result_dtype, copy=False)


_engines: Dict[Tuple[Any, Any], Engine] = {}
_engines_lock = threading.Lock()


def _engine(backend: str, threads: Optional[int] = None) -> Engine:
    """The shared engine of a backend (and thread count), built on first use."""
    key = (backend.lower() if isinstance(backend, str) else backend, threads)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = Engine(key[0], threads=threads)
        return engine


def cdist(
    XA: ArrayLike,
    XB: ArrayLike,
    metric: Metric = "euclidean",
    *,
    out: Optional[np.ndarray] = None,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    threads: Optional[int] = None,
    p: Optional[float] = None,
    w: Optional[ArrayLike] = None,
    V: Optional[ArrayLike] = None,
    VI: Optional[ArrayLike] = None,
) -> np.ndarray:
    """The distance between each pair of the two collections of inputs: SciPy's ``cdist``.

    ``pairdist.cdist(XA, XB, metric)`` returns what ``scipy.spatial.distance.cdist(XA, XB,
    metric)`` does (an ``(mA, mB)`` float64 array), computed in float64 for float64, integer and
    boolean inputs as SciPy computes them (within 1e-12 relative), and in float32 for float32
    and float16 inputs (the GPU's speed; within 1e-5 relative). ``backend``
    (``"auto"``, ``"gpu"``, ``"cpu"``) picks the shared :class:`Engine`; everything else is
    :meth:`Engine.cdist`.

    >>> import numpy as np, pairdist
    >>> pairdist.cdist([[0, 0], [1, 1]], [[0, 0], [3, 4]], "sqeuclidean")
    array([[ 0., 25.],
           [ 2., 13.]])
    """
    return _engine(backend, threads).cdist(XA, XB, metric, out=out, dtype=dtype, p=p, w=w, V=V, VI=VI)


def pdist(
    X: ArrayLike,
    metric: Metric = "euclidean",
    *,
    out: Optional[np.ndarray] = None,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    threads: Optional[int] = None,
    p: Optional[float] = None,
    w: Optional[ArrayLike] = None,
    V: Optional[ArrayLike] = None,
    VI: Optional[ArrayLike] = None,
) -> np.ndarray:
    """Pairwise distances between the points of ``X`` in SciPy's condensed form: SciPy's ``pdist``.

    See :meth:`Engine.pdist`.

    >>> import pairdist
    >>> pairdist.pdist([[0, 0], [0, 1], [2, 1]], "cityblock")
    array([1., 3., 2.])
    """
    return _engine(backend, threads).pdist(X, metric, out=out, dtype=dtype, p=p, w=w, V=V, VI=VI)


def knn(
    XA: ArrayLike,
    XB: Optional[ArrayLike] = None,
    k: Optional[int] = None,
    metric: Metric = "euclidean",
    *,
    out: Optional[Tuple[np.ndarray, np.ndarray]] = None,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    threads: Optional[int] = None,
    p: Optional[float] = None,
    w: Optional[ArrayLike] = None,
    V: Optional[ArrayLike] = None,
    VI: Optional[ArrayLike] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest points of ``XB`` (default: XA itself, each point left out of its own
    list) to each point of ``XA``: ``(distances, indices)``, both ``(n, k)``, as scikit-learn's
    ``kneighbors`` returns them. See :meth:`Engine.knn`.

    >>> import pairdist
    >>> d, i = pairdist.knn([[0.4], [9.0]], [[0.0], [10.0], [1.0], [4.0]], k=2)
    >>> i
    array([[0, 2],
           [1, 3]])
    """
    return _engine(backend, threads).knn(XA, XB, k=k, metric=metric, out=out, dtype=dtype, p=p, w=w, V=V, VI=VI)


def radius(
    XA: ArrayLike,
    XB: Optional[ArrayLike] = None,
    r: Optional[float] = None,
    metric: Metric = "euclidean",
    *,
    max_pairs: int = _DEFAULT_MAX_PAIRS,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    threads: Optional[int] = None,
    p: Optional[float] = None,
    w: Optional[ArrayLike] = None,
    V: Optional[ArrayLike] = None,
    VI: Optional[ArrayLike] = None,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair within distance ``r``: ``(rows, cols, distances)`` sorted by row, then column
    (with XB omitted, the pairs i < j of XA). See :meth:`Engine.radius`.

    >>> import pairdist
    >>> rows, cols, dist = pairdist.radius([[0.0], [10.0]], [[0.5], [9.0], [0.0]], r=1.0)
    >>> rows, cols
    (array([0, 0, 1]), array([0, 2, 1]))
    """
    return _engine(backend, threads).radius(
        XA, XB, r=r, metric=metric, max_pairs=max_pairs, dtype=dtype, p=p, w=w, V=V, VI=VI
    )


_BACKEND_DOC = """backend : {"auto", "gpu", "cpu"}
    Which shared engine computes: the best hardware GPU else the CPU, any GPU adapter
    (``RuntimeError`` without one), or the CPU. Build an :class:`Engine` for more choices.
threads : int, optional
    Threads of the host's work (default: all cores); one shared engine per backend and count.
"""


def _document(function: Callable[..., Any], method: Callable[..., Any]) -> None:
    """Gives a module-level function the parameters and returns of the Engine method it calls,
    and its ``backend`` argument, so that ``help()`` shows everything in one place."""
    own = inspect.cleandoc(function.__doc__ or "")
    detail = inspect.cleandoc(method.__doc__ or "")
    detail = detail[detail.index("Parameters") :]
    at = detail.index("Returns")
    function.__doc__ = f"{own}\n\n{detail[:at].rstrip()}\n{_BACKEND_DOC}\n{detail[at:]}"


def argmin(
    XA: ArrayLike,
    XB: ArrayLike,
    metric: Metric = "euclidean",
    *,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    threads: Optional[int] = None,
    p: Optional[float] = None,
    w: Optional[ArrayLike] = None,
    V: Optional[ArrayLike] = None,
    VI: Optional[ArrayLike] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """The nearest point of ``XB`` to each point of ``XA``: ``(indices, distances)``, both
    ``(n,)``. See :meth:`Engine.argmin`.

    >>> import pairdist
    >>> pairdist.argmin([[1.0, 0.0], [4.0, 6.0]], [[0.0, 0.0], [5.0, 5.0]], "sqeuclidean")
    (array([0, 1]), array([1., 2.]))
    """
    return _engine(backend, threads).argmin(XA, XB, metric, dtype=dtype, p=p, w=w, V=V, VI=VI)


class Index:
    """A base of points fitted once, then searched by any number of query batches, as
    scikit-learn's ``NearestNeighbors(algorithm="brute").fit(XB)`` is: the metric's defaults
    (``V``, ``VI``) are those of the base alone, the base is mapped to the kernels' coordinates
    once, and on a GPU it is uploaded once and kept on the device, so that each batch uploads
    only its queries. Answers are those of :meth:`Engine.knn`, :meth:`Engine.radius` and
    :meth:`Engine.argmin` on the same points.

    Parameters
    ----------
    XB : array_like, (m, d)
        The base, kept (and queries computed) in the type :meth:`Engine.cdist` computes its
        points in: float32 for float32 and float16 points, float64 for float64, longer floats,
        integers and booleans. Queries are converted to the base's type.
    metric, p, w, V, VI
        As for :meth:`Engine.cdist` (``V`` and ``VI`` default to those of XB).
    engine : Engine, optional
        The engine to run on; default: the shared one of ``backend``.
    backend : {"auto", "gpu", "cpu"}
        The shared engine's backend, when ``engine`` is not given.

    >>> import numpy as np, pairdist
    >>> index = pairdist.Index([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    >>> distances, indices = index.knn([[0.9, 0.1], [4.0, 4.0]], k=1)
    >>> indices
    array([[1],
           [2]])
    """

    __slots__ = ("_core", "_engine", "_dtype", "_m")

    def __init__(
        self,
        XB: ArrayLike,
        metric: Metric = "euclidean",
        *,
        engine: Optional[Engine] = None,
        backend: str = "auto",
        p: Optional[float] = None,
        w: Optional[ArrayLike] = None,
        V: Optional[ArrayLike] = None,
        VI: Optional[ArrayLike] = None,
    ) -> None:
        if engine is not None and not isinstance(engine, Engine):
            raise TypeError(f"engine must be a pairdist.Engine, not {type(engine).__name__}")
        self._engine = engine if engine is not None else _engine(backend)
        distance = _distance(metric, p, w, V, VI)
        xb = _points(XB, "XB")
        self._dtype = xb.dtype
        self._m = xb.shape[0]
        self._core = _pairdist.Index(self._engine._core, xb, distance)

    def __len__(self) -> int:
        return self._m

    @property
    def dim(self) -> int:
        """Dimensions of the points."""
        return self._core.dim

    @property
    def dtype(self) -> np.dtype:
        """The type the base is kept and queries are computed in."""
        return self._dtype

    @property
    def resident(self) -> bool:
        """Whether the base is kept on a GPU."""
        return self._core.resident

    @property
    def engine(self) -> Engine:
        """The engine the index runs on."""
        return self._engine

    def _queries(self, XA: ArrayLike) -> np.ndarray:
        xa = _points(XA, "XA")
        if xa.shape[1] != self.dim:
            raise ValueError(_COLUMNS)
        return np.ascontiguousarray(xa, dtype=self._dtype)

    def knn(
        self,
        XA: ArrayLike,
        k: Optional[int] = None,
        *,
        out: Optional[Tuple[np.ndarray, np.ndarray]] = None,
        dtype: Optional[npt.DTypeLike] = None,
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest base points to each query: ``(distances, indices)``, ``(n, k)``,
        as :meth:`Engine.knn` gives them (float64 distances unless ``dtype=np.float32``), into
        ``out`` when given (as for :meth:`Engine.knn`)."""
        if k is None:
            raise TypeError("knn() missing required argument 'k' (the number of neighbours)")
        k = _neighbours(k, self._m, False)
        queries = self._queries(XA)
        if out is not None:
            out = _check_neighbours_out(out, (queries.shape[0], k))
        result_dtype = _dtype(dtype, None if out is None else out[0])
        return _fill_neighbours(self._core.knn(queries, k), out, result_dtype)

    def argmin(self, XA: ArrayLike, *, dtype: Optional[npt.DTypeLike] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The nearest base point to each query: ``(indices, distances)``, both ``(n,)``, as
        :meth:`Engine.argmin` (the library's own argmin of a fitted base)."""
        if self._m == 0:
            raise ValueError("argmin() needs at least one point in the base to choose from; it has none")
        result_dtype = _dtype(dtype, None)
        indices, distances = self._core.argmin(self._queries(XA))
        return indices, distances.astype(result_dtype, copy=False)

    def radius(
        self,
        XA: ArrayLike,
        r: Optional[float] = None,
        *,
        max_pairs: int = _DEFAULT_MAX_PAIRS,
        dtype: Optional[npt.DTypeLike] = None,
    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (query, base point) pair within ``r``: ``(rows, cols, distances)`` sorted by
        row, then column, as :meth:`Engine.radius`."""
        if r is None:
            raise TypeError("radius() missing required argument 'r' (the radius)")
        r, max_pairs = _radius_args(r, max_pairs)
        result_dtype = _dtype(dtype, None)
        r_computed = r if self._dtype == np.float64 else float(np.float32(r) if r <= np.finfo(np.float32).max else np.inf)
        got = self._core.radius(self._queries(XA), r_computed, max_pairs)
        if got is None:
            raise _too_many(max_pairs, r)
        rows, cols, dist = got
        return rows, cols, dist.astype(result_dtype, copy=False)

    def __repr__(self) -> str:
        where = "on the device" if self.resident else "on the host"
        return f"pairdist.Index({self._m} points in {self.dim} dimensions, {self._dtype}, {where})"

    def __reduce__(self) -> Any:
        raise TypeError("a pairdist.Index holds device memory and cannot be pickled; fit one in each process")


for _function in (cdist, pdist, knn, radius, argmin):
    _document(_function, getattr(Engine, _function.__name__))


def info() -> List[Dict[str, Any]]:
    """Every GPU adapter wgpu finds, as dicts: ``name``, ``backend`` (Vulkan, Metal, Dx12, Gl),
    ``device_type``, ``driver``, ``is_software`` (lavapipe and other rasterizers running on the
    CPU) and ``unusable`` (why pairdist cannot use it, or None)."""
    return _pairdist.adapters()
