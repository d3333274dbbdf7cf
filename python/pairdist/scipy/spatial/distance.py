"""``scipy.spatial.distance`` with ``cdist`` and ``pdist`` computed by pairdist.

A drop-in module, as CuPy's ``cupyx.scipy.spatial.distance``: every public name of SciPy's
``scipy.spatial.distance`` is here (``squareform``, ``is_valid_dm``, ``euclidean``, ... are
SciPy's own, re-exported), and ``cdist`` and ``pdist`` take SciPy's arguments and give SciPy's
answers, SciPy's exceptions and SciPy's handling of ``out=``:

>>> import numpy as np
>>> from pairdist.scipy.spatial import distance
>>> distance.cdist([[0, 0], [1, 1]], [[3, 4]], "euclidean")
array([[5.        ],
       [3.60555128]])
>>> distance.squareform(distance.pdist([[0, 0], [3, 4]]))
array([[0., 5.],
       [5., 0.]])

**What pairdist computes** (on the backend of :func:`get_backend`): every string metric of
SciPy (and SciPy's aliases) that :data:`pairdist.METRICS` holds, and SciPy's own metric
functions passed as callables (``cdist(XA, XB, distance.euclidean)``), in float64 for every
input dtype (booleans, integers, float16, float32 and float64: float32 points are widened to
float64 first, as SciPy computes them), within about 1e-12 relative of SciPy's float64 answer
(pairdist's float64 ``jensenshannon`` is closer to an exact reference than SciPy's own).
SciPy's parameters are validated as SciPy validates them, and SciPy's defaults are computed
with SciPy's own formulas (``V = var(vstack, axis=0, ddof=1)``, ``VI = inv(cov(vstack.T)).T``),
so that the numbers are SciPy's.

**What is handed to SciPy's own ``cdist``/``pdist``** (kept from before any patching, so a
fallback never recurses), so that the answer or the exception is SciPy's:

- callables other than SciPy's metric functions (SciPy's loop over pairs calls them; pairdist
  has nothing faster for a Python function) and SciPy's ``test_*`` metric names (slow
  reference implementations, by definition SciPy's);
- inputs that are not arrays of booleans, integers or floats up to float64 (complex, object,
  longdouble, strings...), that are empty (no rows or no columns: nothing to accelerate), or,
  for ``pdist``, that are not NumPy arrays, lists or tuples (SciPy keeps other array
  namespaces in theirs);
- every call SciPy would refuse: an unknown metric or keyword (``p=None``, ``V`` for
  ``cosine``), an ``out`` that is not a C-contiguous, aligned, writeable float64 array of the
  right shape, bad ``w``, ``V`` or ``VI``, a mahalanobis default that needs more points: SciPy
  raises its own exception;
- what SciPy computes but pairdist refuses: ``p <= 0``, ``correlation``'s ``centered`` and
  ``jensenshannon``'s ``base`` for callables, a ``VI`` pairdist will not take, anything pairdist
  answers with a ``TypeError`` or ``ValueError``;
- SciPy's boolean metrics (``dice``, ``rogerstanimoto``, ``russellrao``, ``sokalsneath``,
  ``yule``, and ``kulczynski1``, ``sokalmichener`` of older SciPy) on data that is not boolean:
  SciPy then uses fuzzy numeric formulas (``dice([.5, 2, 0, 0], [3, 0, 0, 1]) = 0.538``); data of
  zeros and ones is computed by pairdist as booleans. Until pairdist has a metric (it is not in
  :data:`pairdist.METRICS`), SciPy computes it. SciPy also computes weighted ``yule`` (pairdist's differs
  from SciPy's where SciPy's is 0, for now).

:func:`stats` counts the calls computed by each, with the reasons of the fallbacks.

**Backend**: pairdist's default (``"auto"``: the best hardware GPU, else the CPU), overridden by
the environment variable ``PAIRDIST_BACKEND`` (``cpu``, ``gpu`` or ``auto``, read at each call)
and by :func:`set_backend`.

**Patching SciPy**: :func:`patch_scipy` puts this module's ``cdist`` and ``pdist`` into
``scipy.spatial.distance`` (code that calls ``scipy.spatial.distance.cdist(...)`` then runs on
pairdist; names imported from it before the patch keep SciPy's), :func:`unpatch_scipy` puts
SciPy's back, and :func:`patched` does both around a ``with`` block.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
from collections import Counter
from typing import Any, Dict, Iterator, Optional, Tuple

import numpy as np
import scipy.spatial.distance as _sd

import pairdist as _pd

# SciPy's functions as they were before any patch (a patched SciPy holds ours, which remember
# the originals), so that a fallback never calls back into this module.
_scipy_cdist = getattr(_sd.cdist, "_scipy_original", _sd.cdist)
_scipy_pdist = getattr(_sd.pdist, "_scipy_original", _sd.pdist)

# Every public name of SciPy's module, SciPy's own but for the two computed here.
__all__ = list(_sd.__all__)
for _name in __all__:
    if _name not in ("cdist", "pdist"):
        globals()[_name] = getattr(_sd, _name)

# SciPy's metric names and aliases -> its canonical name, from the installed SciPy (the names it
# knows are the names it accepts); the copy below only for a SciPy without that table.
_SCIPY_ALIASES: Dict[str, str] = {
    alias: info.canonical_name for alias, info in getattr(_sd, "_METRIC_ALIAS", {}).items()
} or {
    **dict.fromkeys(["braycurtis"], "braycurtis"),
    **dict.fromkeys(["canberra"], "canberra"),
    **dict.fromkeys(["chebychev", "chebyshev", "cheby", "cheb", "ch"], "chebyshev"),
    **dict.fromkeys(["cityblock", "cblock", "cb", "c"], "cityblock"),
    **dict.fromkeys(["correlation", "co"], "correlation"),
    **dict.fromkeys(["cosine", "cos"], "cosine"),
    **dict.fromkeys(["dice"], "dice"),
    **dict.fromkeys(["euclidean", "euclid", "eu", "e"], "euclidean"),
    **dict.fromkeys(["matching", "hamming", "hamm", "ha", "h"], "hamming"),
    **dict.fromkeys(["jaccard", "jacc", "ja", "j"], "jaccard"),
    **dict.fromkeys(["jensenshannon", "js"], "jensenshannon"),
    **dict.fromkeys(["mahalanobis", "mahal", "mah"], "mahalanobis"),
    **dict.fromkeys(["minkowski", "mi", "m", "pnorm"], "minkowski"),
    **dict.fromkeys(["rogerstanimoto"], "rogerstanimoto"),
    **dict.fromkeys(["russellrao"], "russellrao"),
    **dict.fromkeys(["seuclidean", "se", "s"], "seuclidean"),
    **dict.fromkeys(["sokalsneath"], "sokalsneath"),
    **dict.fromkeys(["sqeuclidean", "sqe", "sqeuclid"], "sqeuclidean"),
    **dict.fromkeys(["yule"], "yule"),
}
# SciPy's own metric functions, by identity (a user's function that happens to be called
# "euclidean" is the user's, and SciPy's loop calls it).
_SCIPY_FUNCTIONS: Dict[int, str] = {
    id(getattr(_sd, name)): name for name in set(_SCIPY_ALIASES.values()) if callable(getattr(_sd, name, None))
}
# SciPy's boolean metrics: boolean formulas on boolean data, fuzzy numeric ones on numbers.
_BOOLEAN = frozenset("dice kulczynski1 rogerstanimoto russellrao sokalmichener sokalsneath yule".split())
# The metrics SciPy takes no weights for (w=None aside, for string metrics).
_NO_WEIGHTS = frozenset(["jensenshannon", "mahalanobis", "seuclidean"])
# The metric parameters pairdist takes: any other keyword goes to SciPy (which refuses it, or
# passes it to a callable).
_PARAMETER = {"minkowski": "p", "seuclidean": "V", "mahalanobis": "VI"}

_BACKENDS = ("auto", "cpu", "gpu")
_backend: Optional[str] = None

_lock = threading.Lock()
_counts: Counter = Counter()
_reasons: Counter = Counter()


def set_backend(name: Optional[str]) -> None:
    """Compute on ``"cpu"``, ``"gpu"`` or ``"auto"`` (pairdist's backends) from now on; ``None``
    goes back to the ``PAIRDIST_BACKEND`` environment variable (default ``"auto"``)."""
    global _backend
    if name is not None:
        name = _valid_backend(name, "set_backend()")
    _backend = name


def get_backend() -> str:
    """The backend calls run on: :func:`set_backend`'s, else ``PAIRDIST_BACKEND``'s, else
    ``"auto"``."""
    if _backend is not None:
        return _backend
    return _valid_backend(os.environ.get("PAIRDIST_BACKEND", "auto"), "PAIRDIST_BACKEND")


def _valid_backend(name: Any, where: str) -> str:
    if not isinstance(name, str) or name.strip().lower() not in _BACKENDS:
        raise ValueError(f"{where}: unknown backend {name!r}; valid backends are 'auto', 'cpu', 'gpu'")
    return name.strip().lower()


def stats() -> Dict[str, Any]:
    """Calls so far: ``pairdist`` (computed by pairdist), ``scipy`` (handed to SciPy's own
    function), ``refused`` (of those, calls with one of pairdist's metrics that SciPy answered
    with its exception: bad keywords, ``out``, ``w``...) and ``scipy_reasons`` (why calls were
    handed to SciPy, with how many calls each)."""
    with _lock:
        return {
            "pairdist": _counts["pairdist"],
            "scipy": _counts["scipy"],
            "refused": _counts["refused"],
            "scipy_reasons": dict(_reasons),
        }


def reset_stats() -> None:
    """Sets the counters of :func:`stats` back to zero."""
    with _lock:
        _counts.clear()
        _reasons.clear()


class _Fallback(Exception):
    """Raised while planning a call that SciPy must compute; the message says why."""


def _metric(metric: Any) -> Tuple[str, bool]:
    """SciPy's canonical name of a metric pairdist computes, and whether it came as a callable."""
    if isinstance(metric, str):
        name = _SCIPY_ALIASES.get(metric.lower())
        if name is None:
            raise _Fallback("test_ metric" if metric.lower().startswith("test_") else "unknown metric")
        as_callable = False
    elif callable(metric):
        name = _SCIPY_FUNCTIONS.get(id(metric))
        if name is None or getattr(_sd, name, None) is not metric:
            raise _Fallback("a callable other than SciPy's metric functions")
        as_callable = True
    else:
        raise _Fallback("metric neither a string nor a callable")
    if name not in _pd.METRICS:
        raise _Fallback(f"{name}: not a pairdist metric")
    return name, as_callable


def _points(X: Any, pdist: bool) -> np.ndarray:
    """X as SciPy reads it (``np.asarray``), if pairdist computes it the same; else _Fallback."""
    if pdist and not isinstance(X, (np.ndarray, list, tuple)):
        raise _Fallback("pdist of an array that is not NumPy's")
    a = np.asarray(X)
    if a.dtype.kind not in "biuf" or (a.dtype.kind == "f" and a.dtype.itemsize > 8):
        raise _Fallback(f"dtype {a.dtype}")
    if a.ndim != 2:
        raise _Fallback("not 2-D")
    if a.size == 0:
        raise _Fallback("empty input")
    return a


def _boolean(a: np.ndarray) -> np.ndarray:
    """Boolean data: a bool array as it is, numbers that are all 0 or 1 as booleans; any other
    number makes SciPy use its fuzzy formulas (one pass to convert, one to compare)."""
    if a.dtype == np.bool_:
        return a
    b = a.astype(np.bool_)
    if not np.array_equal(b, a):
        raise _Fallback("boolean metric of numbers other than 0 and 1 (SciPy's fuzzy formulas)")
    return b


def _float64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


def _weights(w: Any, n: int) -> np.ndarray:
    """``w`` as SciPy accepts it: real, 1-D, one non-negative weight per column."""
    w = np.asarray(w)
    if w.dtype.kind not in "biuf" or w.ndim != 1 or w.shape[0] != n:
        raise _Fallback("w that SciPy refuses")
    w = _float64(w)
    if np.any(w < 0):
        raise _Fallback("w that SciPy refuses")
    return w


def _parameters(name: str, as_callable: bool, kwargs: Dict[str, Any], n: int) -> Dict[str, Any]:
    """The metric's parameters for pairdist (w as float64; V and VI: None for SciPy's default),
    or _Fallback for any keyword SciPy refuses or pairdist does not take."""
    params: Dict[str, Any] = {}
    own = _PARAMETER.get(name)
    for key, value in kwargs.items():
        if key == "w":
            if name in _NO_WEIGHTS:
                # SciPy takes w=None for string metrics (a TypeError for its functions).
                if value is None and not as_callable:
                    continue
                raise _Fallback("w for a metric without weights")
            if value is not None:
                params["w"] = _weights(value, n)
        elif key == own == "p":
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise _Fallback("p that is not a number")
            p = float(value)
            if not p > 0:
                raise _Fallback("p <= 0 (SciPy computes it)")
            params["p"] = p
        elif key == own:
            params[key] = value
        else:
            raise _Fallback("a keyword the metric does not take")
    return params


def _variances(V: Any, n: int) -> np.ndarray:
    V = np.asarray(V)
    if V.dtype.kind not in "biuf" or V.ndim != 1 or V.shape[0] != n:
        raise _Fallback("V that SciPy refuses")
    return _float64(V)


def _inverse_covariance(VI: Any, n: int) -> np.ndarray:
    VI = np.asarray(VI)
    if VI.dtype.kind not in "biuf" or VI.shape != (n, n):
        raise _Fallback("VI that is not n x n real numbers")
    return _float64(VI)


def _defaults(name: str, params: Dict[str, Any], arrays: Tuple[np.ndarray, ...], n: int) -> None:
    """seuclidean's V and mahalanobis's VI, given (checked as SciPy checks them) or SciPy's
    defaults computed as SciPy computes them, from all the points of the call."""
    if name == "seuclidean":
        V = params.get("V")
        if V is None:
            stacked = np.vstack(arrays) if len(arrays) > 1 else arrays[0]
            params["V"] = np.var(stacked, axis=0, ddof=1)
        else:
            params["V"] = _variances(V, n)
    elif name == "mahalanobis":
        VI = params.get("VI")
        if VI is None:
            m = sum(a.shape[0] for a in arrays)
            if m <= n:
                raise _Fallback("mahalanobis default with too few points (SciPy's ValueError)")
            stacked = np.vstack(arrays) if len(arrays) > 1 else arrays[0]
            try:
                CV = np.atleast_2d(np.cov(stacked.T))
                params["VI"] = np.linalg.inv(CV).T.copy()
            except np.linalg.LinAlgError:
                raise _Fallback("singular covariance (SciPy's LinAlgError)") from None
        else:
            params["VI"] = _inverse_covariance(VI, n)


def _out(out: Any, shape: Tuple[int, ...]) -> None:
    """``out`` as SciPy takes it: a C-contiguous, aligned, writeable float64 ndarray of the
    result's shape; anything else SciPy refuses (with its own exception)."""
    if out is None:
        return
    if not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != np.float64:
        raise _Fallback("out that SciPy refuses")
    if not (out.flags.c_contiguous and out.flags.aligned and out.flags.writeable):
        raise _Fallback("out that SciPy refuses")


def _plan(
    name: str, as_callable: bool, inputs: Tuple[Any, ...], out: Any, kwargs: Dict[str, Any]
) -> Tuple[Tuple[np.ndarray, ...], Dict[str, Any]]:
    """What pairdist computes for a call of metric ``name``: the points and the parameters;
    _Fallback when SciPy must compute it."""
    pdist = len(inputs) == 1
    arrays = tuple(_points(X, pdist) for X in inputs)
    n = arrays[0].shape[1]
    if any(a.shape[1] != n for a in arrays):
        raise _Fallback("different numbers of columns (SciPy's ValueError)")
    params = _parameters(name, as_callable, kwargs, n)
    shape = (arrays[0].shape[0] * (arrays[0].shape[0] - 1) // 2,) if pdist else (arrays[0].shape[0], arrays[1].shape[0])
    _out(out, shape)
    if name in _BOOLEAN:
        # SciPy's functions convert to booleans (their only type); its string metrics compute
        # booleans with the boolean formulas and numbers with fuzzy ones.
        arrays = tuple(a.astype(np.bool_) if as_callable else _boolean(a) for a in arrays)
    elif name in ("hamming", "jaccard") and (
        arrays[0].dtype == np.bool_ if as_callable else all(a.dtype == np.bool_ for a in arrays)
    ):
        # SciPy's boolean kernels (its functions convert every input to XA's bool); pairdist's
        # numeric ones give the same on booleans.
        arrays = tuple(a.astype(np.bool_, copy=False) for a in arrays)
    else:
        arrays = tuple(_float64(a) for a in arrays)
    _defaults(name, params, arrays, n)
    return arrays, params


def _count(where: str, reason: Optional[str] = None) -> None:
    with _lock:
        _counts[where] += 1
        if reason is not None:
            _reasons[reason] += 1


def _run(function: Any, scipy_function: Any, metric: Any, inputs: Tuple[Any, ...], out: Any, kwargs: Dict[str, Any]) -> np.ndarray:
    """One call: planned and computed by pairdist, or handed to SciPy's own function."""
    backend = get_backend()  # a bad PAIRDIST_BACKEND is the user's error, not a fallback
    routed = False  # whether the metric is one pairdist computes
    try:
        name, as_callable = _metric(metric)
        routed = True
        arrays, params = _plan(name, as_callable, inputs, out, kwargs)
    except _Fallback as why:
        reason = str(why)
    except Exception as error:  # anything odd while reading the call: SciPy's own answer
        reason = f"unreadable call ({type(error).__name__})"
    else:
        try:
            result = function(*arrays, name, out=out, backend=backend, **params)
        except (TypeError, ValueError) as error:
            # pairdist refuses something SciPy may accept: SciPy's answer or exception.
            reason = f"pairdist refused {name}: {str(error).splitlines()[0][:120] if str(error) else type(error).__name__}"
        else:
            _count("pairdist")
            return result
    _count("scipy", reason)
    try:
        return scipy_function(*inputs, metric, out=out, **kwargs)
    except Exception:
        if routed:
            # A call with one of pairdist's metrics that SciPy refuses: SciPy's exception.
            _count("refused")
        raise


def cdist(XA: Any, XB: Any, metric: Any = "euclidean", *, out: Optional[np.ndarray] = None, **kwargs: Any) -> np.ndarray:
    """SciPy's ``scipy.spatial.distance.cdist``: the ``(mA, mB)`` float64 matrix of the distances
    between each row of XA and each row of XB, with SciPy's arguments, answers and exceptions,
    computed by pairdist where it can (the module's docstring says where SciPy computes).

    >>> from pairdist.scipy.spatial.distance import cdist
    >>> cdist([[0.0, 0.0]], [[1.0, 1.0], [3.0, 4.0]], "cityblock")
    array([[2., 7.]])
    """
    return _run(_pd.cdist, _scipy_cdist, metric, (XA, XB), out, kwargs)


def pdist(X: Any, metric: Any = "euclidean", *, out: Optional[np.ndarray] = None, **kwargs: Any) -> np.ndarray:
    """SciPy's ``scipy.spatial.distance.pdist``: the condensed float64 vector of the distances
    between the rows of X (pairs i < j, row by row), with SciPy's arguments, answers and
    exceptions, computed by pairdist where it can (the module's docstring says where SciPy
    computes). As in SciPy, ``w``, ``V`` and ``VI`` given as None are dropped.

    >>> from pairdist.scipy.spatial.distance import pdist
    >>> pdist([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    array([ 5., 10.,  5.])
    """
    kwargs = {key: value for key, value in kwargs.items() if not (key in ("w", "V", "VI") and value is None)}
    return _run(_pd.pdist, _scipy_pdist, metric, (X,), out, kwargs)


cdist._scipy_original = _scipy_cdist  # type: ignore[attr-defined]
pdist._scipy_original = _scipy_pdist  # type: ignore[attr-defined]


def patch_scipy() -> None:
    """Puts this module's ``cdist`` and ``pdist`` into ``scipy.spatial.distance``: code calling
    ``scipy.spatial.distance.cdist`` (by the module) runs on pairdist from now on. Names
    imported from SciPy before (``from scipy.spatial.distance import cdist``) keep SciPy's."""
    _sd.cdist = cdist
    _sd.pdist = pdist


def unpatch_scipy() -> None:
    """Puts SciPy's own ``cdist`` and ``pdist`` back into ``scipy.spatial.distance``."""
    _sd.cdist = _scipy_cdist
    _sd.pdist = _scipy_pdist


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """``with patched():`` SciPy's ``cdist`` and ``pdist`` are this module's inside the block
    (and SciPy's again after it, whatever they were before)."""
    before = (_sd.cdist, _sd.pdist)
    patch_scipy()
    try:
        yield
    finally:
        _sd.cdist, _sd.pdist = before
