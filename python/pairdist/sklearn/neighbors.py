"""scikit-learn's neighbour estimators with pairdist's search: ``NearestNeighbors``,
``KNeighborsClassifier`` and ``KNeighborsRegressor``.

Each is a subclass of scikit-learn's estimator of the same name, so every parameter, attribute,
validation, error message and helper (``kneighbors_graph``, ``radius_neighbors_graph``,
``score``, pipelines, grid searches, pickling) is scikit-learn's own. What changes is the
brute-force search: ``fit`` builds a :class:`pairdist.Index` of the training points (on a GPU,
uploaded once and kept on the device), and ``kneighbors`` / ``radius_neighbors`` query it.
One more parameter, ``backend`` (``"auto"``, ``"cpu"``, ``"gpu"``), chooses where it runs;
``n_jobs`` sets the CPU threads (all cores by default).

>>> import numpy as np
>>> from pairdist.sklearn.neighbors import NearestNeighbors
>>> X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
>>> nn = NearestNeighbors(n_neighbors=1, backend="cpu").fit(X)
>>> nn.kneighbors([[0.9, 0.1], [4.0, 4.0]])
(array([[0.14142136],
       [1.41421356]]), array([[1],
       [2]]))

The answers are those of scikit-learn's ``algorithm="brute"``:

- metrics by scikit-learn's names: ``euclidean``/``l2``, ``manhattan``/``cityblock``/``l1``,
  ``chebyshev``, ``minkowski`` (``p``, and ``w`` in ``metric_params``), ``sqeuclidean``,
  ``cosine`` (``1 - cos``, clipped to [0, 2] as scikit-learn clips it), ``correlation``,
  ``braycurtis``, ``canberra``, ``hamming``, ``seuclidean`` (``V`` in ``metric_params``),
  ``mahalanobis`` (``VI``), and the boolean metrics (``jaccard``, ``dice``, ...: the points
  converted to booleans with scikit-learn's ``DataConversionWarning``, as scikit-learn does);
- distances as scikit-learn returns them (euclidean, not squared; float64, or float32 for
  ``cosine`` of float32 points, as scikit-learn's);
- float32 points compute in float32 (the GPU's speed: within about 1e-6 relative of a float64
  computation), float64, integer and boolean points in float64; float32 training points
  queried with float64 ones compute both in float64, as scikit-learn does;
- among equal distances the smaller index comes first (scikit-learn's brute force leaves the
  order of exact ties to its heap: the same distances, possibly other tied indices), and
  ``kneighbors()`` without X drops each point from its own list as scikit-learn does.

Everything pairdist does not compute is handed to scikit-learn's own search, unchanged:
callables, ``DistanceMetric`` objects, ``precomputed``, ``haversine``, ``nan_euclidean``,
sparse inputs, ``algorithm="kd_tree"`` or ``"ball_tree"`` asked for explicitly, per-query
radii, and the points where scikit-learn's conventions differ from SciPy's (``cosine`` of an
all-zero row, ``correlation`` of a constant row, ``braycurtis`` of two all-zero rows or of
negative points).
"""

from __future__ import annotations

import numbers
import threading
import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn import config_context
from sklearn import neighbors as _sk
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics.pairwise import PAIRWISE_BOOLEAN_FUNCTIONS
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

import pairdist

__all__ = ["NearestNeighbors", "KNeighborsClassifier", "KNeighborsRegressor"]

# scikit-learn's metric names -> pairdist's, for the metrics whose scikit-learn brute force
# answers what SciPy (and so pairdist) answers. The boolean metrics are added where pairdist
# has them (see _pairdist_metric).
_METRICS: Dict[str, str] = {
    "euclidean": "euclidean",
    "l2": "euclidean",
    "manhattan": "cityblock",
    "cityblock": "cityblock",
    "l1": "cityblock",
    "chebyshev": "chebyshev",
    "minkowski": "minkowski",
    "sqeuclidean": "sqeuclidean",
    "cosine": "cosine",
    "correlation": "correlation",
    "braycurtis": "braycurtis",
    "canberra": "canberra",
    "hamming": "hamming",
    "seuclidean": "seuclidean",
    "mahalanobis": "mahalanobis",
}
# The metric parameters pairdist takes for each metric; any other key goes to scikit-learn.
_PARAMS: Dict[str, frozenset] = {"minkowski": frozenset({"p", "w"}), "seuclidean": frozenset({"V"}), "mahalanobis": frozenset({"VI"})}
# scikit-learn's brute force needs these parameters (it has no default for them).
_REQUIRED: Dict[str, str] = {"seuclidean": "V", "mahalanobis": "VI"}

_BACKENDS = ("auto", "cpu", "gpu")
_engines: Dict[Tuple[str, Optional[int]], pairdist.Engine] = {}
_engines_lock = threading.Lock()


def _engine(backend: str, threads: Optional[int]) -> pairdist.Engine:
    """One engine per backend and thread count, shared by every estimator (a GPU engine holds
    an adapter and its compiled pipelines: worth building once)."""
    key = (backend, threads)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = pairdist.Engine(backend, threads=threads)
        return engine


def _threads(n_jobs: Optional[int]) -> Optional[int]:
    """pairdist's thread count for scikit-learn's ``n_jobs``: None means all cores (as
    scikit-learn's own brute force, which runs on all OpenMP threads), -1 too."""
    return None if n_jobs is None else effective_n_jobs(n_jobs)


def _pairdist_metric(name: Any, params: Dict[str, Any]) -> Optional[Tuple[str, Dict[str, Any], bool]]:
    """(pairdist's metric, its parameters, whether points are booleans) for scikit-learn's
    effective metric and parameters, or None where scikit-learn's own search must answer."""
    if not isinstance(name, str):
        return None
    boolean = name in PAIRWISE_BOOLEAN_FUNCTIONS
    target = name if boolean else _METRICS.get(name)
    if target is None or target not in pairdist.METRICS:
        return None
    if not set(params) <= _PARAMS.get(name, frozenset()):
        return None
    if name in _REQUIRED and params.get(_REQUIRED[name]) is None:
        return None
    kwargs = {key: value for key, value in params.items() if value is not None}
    if "p" in kwargs and not (isinstance(kwargs["p"], numbers.Real) and kwargs["p"] > 0):
        return None
    return target, kwargs, boolean


def _zero_rows(X: np.ndarray) -> bool:
    return bool(X.shape[0]) and bool(np.any(~X.any(axis=1)))


def _constant_rows(X: np.ndarray) -> bool:
    return bool(X.shape[0]) and bool(np.any(np.ptp(X, axis=1) == 0))


def _differs_from_scipy(metric: str, X: np.ndarray) -> Optional[bool]:
    """Whether points of X hit a case where scikit-learn's brute force and SciPy disagree:
    True (this X alone decides: hand the query to scikit-learn), None (only together with
    zero rows on the other side), False (no such case)."""
    if metric == "cosine":  # scikit-learn: an all-zero row is at distance 1; SciPy: NaN
        return _zero_rows(X)
    if metric == "correlation":  # both NaN, but scikit-learn orders NaN by its own partition
        return _constant_rows(X)
    if metric == "braycurtis":  # scikit-learn: 0/0 is 0; SciPy: NaN (u = -v, or both zero)
        if X.size and X.min() < 0:
            return True
        return None if _zero_rows(X) else False
    return False


class _Search:
    """The fitted search of one estimator: a pairdist.Index of the training points, plus what
    a query needs to answer as scikit-learn's brute force. Pickled without the index (device
    memory), which is rebuilt on first use."""

    def __init__(self, fit_X: np.ndarray, metric: str, params: Dict[str, Any], boolean: bool, backend: str, threads: Optional[int]) -> None:
        self.metric, self.params, self.boolean = metric, params, boolean
        self.backend, self.threads = backend, threads
        # The base as it is computed: booleans for the boolean metrics (scikit-learn's
        # conversion), float32 kept, everything else float64 (as scikit-learn computes it).
        base = fit_X.astype(bool) if boolean else fit_X
        if base.dtype != np.float32:
            base = np.asarray(base, dtype=np.float64)
        self.base = np.ascontiguousarray(base)
        self.base_differs = _differs_from_scipy(metric, self.base)
        self._index: Optional[pairdist.Index] = None
        self._lock = threading.Lock()
        self.index()  # errors (no GPU, a bad V) surface in fit

    def engine(self) -> pairdist.Engine:
        return _engine(self.backend, self.threads)

    def index(self) -> pairdist.Index:
        with self._lock:
            if self._index is None:
                self._index = pairdist.Index(self.base, self.metric, engine=self.engine(), **self.params)
            return self._index

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_index"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def queries(self, X: np.ndarray, own: bool) -> Optional[np.ndarray]:
        """The queries as computed (converted as the base is; ``own``: the training points
        themselves), or None when scikit-learn's search must answer them."""
        if own:
            # The base against itself: zero rows on "both sides" are the base's own.
            if self.base_differs is not False:
                return None
            Q = self.base
        else:
            differs = _differs_from_scipy(self.metric, X.astype(bool) if self.boolean else X)
            if self.base_differs or differs or (self.base_differs is None and differs is None):
                return None
            Q = X.astype(bool) if self.boolean else X
        if self.boolean and X.dtype != bool:
            # scikit-learn's warning, as its pairwise_distances gives it for these metrics.
            warnings.warn(f"Data was converted to boolean for metric {self.metric}", DataConversionWarning)
        return Q

    def _computed_in_float64(self, Q: np.ndarray) -> bool:
        # scikit-learn computes in float32 only when both sides are float32.
        return self.base.dtype == np.float32 and Q.dtype != np.float32

    def result_dtype(self, Q: np.ndarray) -> type:
        # scikit-learn's cosine_distances keeps float32; its other metrics answer in float64.
        if self.metric == "cosine" and self.base.dtype == np.float32 and Q.dtype == np.float32:
            return np.float32
        return np.float64

    def knn(self, Q: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
        if self._computed_in_float64(Q):
            dist, ind = self.engine().knn(np.asarray(Q, np.float64), self.base.astype(np.float64), k=k, metric=self.metric, **self.params)
        else:
            dist, ind = self.index().knn(Q, k)
        return self._finish(dist, Q), ind

    def radius(self, Q: np.ndarray, r: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        # Every pair can be within r: never stop at pairdist's default cap.
        max_pairs = max(Q.shape[0] * self.base.shape[0], 1)
        if self._computed_in_float64(Q):
            rows, cols, dist = self.engine().radius(
                np.asarray(Q, np.float64), self.base.astype(np.float64), r=r, metric=self.metric, max_pairs=max_pairs, **self.params
            )
        else:
            rows, cols, dist = self.index().radius(Q, r, max_pairs=max_pairs)
        return rows, cols, self._finish(dist, Q)

    def _finish(self, dist: np.ndarray, Q: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            dist = np.clip(dist, 0.0, 2.0)  # as scikit-learn's cosine_distances
        return dist.astype(self.result_dtype(Q), copy=False)


def _object_array(parts: list) -> np.ndarray:
    """A 1-D object array of arrays, as scikit-learn's radius_neighbors returns them."""
    out = np.empty(len(parts), dtype=object)
    for i, part in enumerate(parts):
        out[i] = part
    return out


class _PairdistSearch:
    """What the three estimators share: fitting the index, and the two searches answered by it
    (scikit-learn's own code answers whatever pairdist does not compute)."""

    def _forces_brute(self) -> bool:
        """Whether ``algorithm="auto"`` becomes brute force (pairdist's), rather than the tree
        scikit-learn would build: for every metric pairdist may compute."""
        if self.algorithm != "auto" or not isinstance(self.metric, str):
            return False
        name = self.metric
        if name in PAIRWISE_BOOLEAN_FUNCTIONS:
            return name in pairdist.METRICS
        if name not in _METRICS or _METRICS[name] not in pairdist.METRICS:
            return False
        params = self.metric_params or {}
        return name not in _REQUIRED or params.get(_REQUIRED[name]) is not None

    def _fit(self, X: Any, y: Any = None) -> Any:
        forced = self._forces_brute()
        if forced:
            # scikit-learn's fit reads the choice from the parameter; it is put back at once.
            self.algorithm = "brute"
        try:
            super()._fit(X, y)
        finally:
            if forced:
                self.algorithm = "auto"
        self._pairdist_search_ = None
        plan = _pairdist_metric(self.effective_metric_, self.effective_metric_params_)
        fit_X = getattr(self, "_fit_X", None)
        if (
            plan is not None
            and self._fit_method == "brute"
            and self.metric != "precomputed"
            and isinstance(fit_X, np.ndarray)
            and fit_X.dtype.kind in "biuf"
        ):
            metric, params, boolean = plan
            self._pairdist_search_ = _Search(fit_X, metric, params, boolean, self.backend, _threads(self.n_jobs))
        return self

    def _pairdist_queries(self, X: Any) -> Tuple[Optional[np.ndarray], Any]:
        """(queries as computed, or None for scikit-learn's search; X as validated)."""
        search = self._pairdist_search_
        if X is None:
            return search.queries(self._fit_X, own=True), None
        X = validate_data(self, X, accept_sparse="csr", reset=False, order="C")
        if sp.issparse(X):
            return None, X
        return search.queries(X, own=False), X

    def kneighbors(self, X: Any = None, n_neighbors: Optional[int] = None, return_distance: bool = True) -> Any:
        check_is_fitted(self)
        if getattr(self, "_pairdist_search_", None) is None:
            return super().kneighbors(X, n_neighbors, return_distance)
        # scikit-learn's checks, in its order and with its messages.
        if n_neighbors is None:
            n_neighbors = self.n_neighbors
        elif n_neighbors <= 0:
            raise ValueError("Expected n_neighbors > 0. Got %d" % n_neighbors)
        elif not isinstance(n_neighbors, numbers.Integral):
            raise TypeError("n_neighbors does not take %s value, enter integer value" % type(n_neighbors))
        query_is_train = X is None
        Q, X = self._pairdist_queries(X)
        if Q is None:
            return super().kneighbors(X, n_neighbors, return_distance)
        k = n_neighbors + 1 if query_is_train else n_neighbors
        n_samples_fit = self.n_samples_fit_
        if k > n_samples_fit:
            inequality = "n_neighbors < n_samples_fit" if query_is_train else "n_neighbors <= n_samples_fit"
            raise ValueError(
                f"Expected {inequality}, but n_neighbors = {n_neighbors}, "
                f"n_samples_fit = {n_samples_fit}, n_samples = {Q.shape[0]}"
            )
        dist, ind = self._pairdist_search_.knn(Q, k)
        if query_is_train:
            # scikit-learn's rule: drop each point from its own list; where k duplicates of it
            # come first and it is not in the list, drop the first of them.
            n = Q.shape[0]
            mask = ind != np.arange(n)[:, None]
            mask[np.all(mask, axis=1), 0] = False
            ind = ind[mask].reshape(n, k - 1)
            dist = dist[mask].reshape(n, k - 1)
        return (dist, ind) if return_distance else ind

    def _radius_neighbors(self, X: Any, radius: Any, return_distance: bool, sort_results: bool) -> Any:
        check_is_fitted(self)
        search = getattr(self, "_pairdist_search_", None)
        if search is None:
            return super().radius_neighbors(X, radius, return_distance, sort_results)
        if sort_results and not return_distance:
            raise ValueError("return_distance must be True if sort_results is True.")
        query_is_train = X is None
        Q, X = self._pairdist_queries(X)
        if radius is None:
            radius = self.radius
        if Q is None or np.ndim(radius) > 0 or not isinstance(radius, numbers.Real):
            return super().radius_neighbors(X, radius, return_distance, sort_results)
        rows, cols, dist = search.radius(Q, float(radius))
        if query_is_train:  # a point is not its own neighbour
            keep = rows != cols
            rows, cols, dist = rows[keep], cols[keep], dist[keep]
        if sort_results:
            # By distance within each row; equal distances keep the column order.
            order = np.lexsort((dist, rows))
            rows, cols, dist = rows[order], cols[order], dist[order]
        bounds = np.searchsorted(rows, np.arange(1, Q.shape[0]))
        neigh_ind = _object_array(np.split(cols, bounds))
        if not return_distance:
            return neigh_ind
        return _object_array(np.split(dist, bounds)), neigh_ind


_BACKEND_PARAM = {"backend": [StrOptions(set(_BACKENDS))]}
_BACKEND_DOC = """
    backend : {"auto", "cpu", "gpu"}, default="auto"
        Where pairdist's search runs: the best hardware GPU else all CPU cores (``"auto"``),
        all CPU cores, or any GPU adapter (software ones such as lavapipe included; an error
        at ``fit`` without one). ``n_jobs`` sets the CPU threads (default: all cores)."""


class NearestNeighbors(_PairdistSearch, _sk.NearestNeighbors):
    __doc__ = (
        "scikit-learn's :class:`sklearn.neighbors.NearestNeighbors` searched by pairdist (see "
        ":mod:`pairdist.sklearn.neighbors`).\n\n    Parameters: scikit-learn's, and\n" + _BACKEND_DOC + "\n"
    )

    _parameter_constraints: dict = {**_sk.NearestNeighbors._parameter_constraints, **_BACKEND_PARAM}

    def __init__(
        self,
        *,
        n_neighbors: int = 5,
        radius: float = 1.0,
        algorithm: str = "auto",
        leaf_size: int = 30,
        metric: Any = "minkowski",
        p: float = 2,
        metric_params: Optional[dict] = None,
        n_jobs: Optional[int] = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(
            n_neighbors=n_neighbors,
            radius=radius,
            algorithm=algorithm,
            leaf_size=leaf_size,
            metric=metric,
            p=p,
            metric_params=metric_params,
            n_jobs=n_jobs,
        )
        self.backend = backend

    def radius_neighbors(self, X: Any = None, radius: Optional[float] = None, return_distance: bool = True, sort_results: bool = False) -> Any:
        """scikit-learn's ``radius_neighbors``, answered by pairdist's index: each query's
        neighbours within ``radius`` (boundary included) in index order, or by distance
        (ties in index order) with ``sort_results=True``."""
        return self._radius_neighbors(X, radius, return_distance, sort_results)


class _PairdistVotes:
    """The classifier's and regressor's predictions: scikit-learn's code, with its shortcut
    past ``kneighbors`` (the fused Cython vote) turned off where pairdist answers."""

    def _through_kneighbors(self) -> Any:
        if getattr(self, "_pairdist_search_", None) is None:
            return config_context()
        return config_context(enable_cython_pairwise_dist=False)


class KNeighborsClassifier(_PairdistSearch, _PairdistVotes, _sk.KNeighborsClassifier):
    __doc__ = (
        "scikit-learn's :class:`sklearn.neighbors.KNeighborsClassifier` whose neighbours are "
        "pairdist's (see :mod:`pairdist.sklearn.neighbors`).\n\n    Parameters: scikit-learn's, and\n" + _BACKEND_DOC + "\n"
    )

    _parameter_constraints: dict = {**_sk.KNeighborsClassifier._parameter_constraints, **_BACKEND_PARAM}

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        weights: Any = "uniform",
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: float = 2,
        metric: Any = "minkowski",
        metric_params: Optional[dict] = None,
        n_jobs: Optional[int] = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(
            n_neighbors=n_neighbors,
            weights=weights,
            algorithm=algorithm,
            leaf_size=leaf_size,
            p=p,
            metric=metric,
            metric_params=metric_params,
            n_jobs=n_jobs,
        )
        self.backend = backend

    def predict(self, X: Any) -> np.ndarray:
        """scikit-learn's ``predict``, its votes among pairdist's neighbours."""
        with self._through_kneighbors():
            return super().predict(X)

    def predict_proba(self, X: Any) -> Any:
        """scikit-learn's ``predict_proba``, its votes among pairdist's neighbours."""
        with self._through_kneighbors():
            return super().predict_proba(X)


class KNeighborsRegressor(_PairdistSearch, _sk.KNeighborsRegressor):
    __doc__ = (
        "scikit-learn's :class:`sklearn.neighbors.KNeighborsRegressor` whose neighbours are "
        "pairdist's (see :mod:`pairdist.sklearn.neighbors`).\n\n    Parameters: scikit-learn's, and\n" + _BACKEND_DOC + "\n"
    )

    _parameter_constraints: dict = {**_sk.KNeighborsRegressor._parameter_constraints, **_BACKEND_PARAM}

    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        weights: Any = "uniform",
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: float = 2,
        metric: Any = "minkowski",
        metric_params: Optional[dict] = None,
        n_jobs: Optional[int] = None,
        backend: str = "auto",
    ) -> None:
        super().__init__(
            n_neighbors=n_neighbors,
            weights=weights,
            algorithm=algorithm,
            leaf_size=leaf_size,
            p=p,
            metric=metric,
            metric_params=metric_params,
            n_jobs=n_jobs,
        )
        self.backend = backend
