"""Shared fixtures: the data sets that ship with scikit-learn, tolerances against float64
references, and block sizes forced small so that every path of the block loops runs."""

import os
import tempfile

import numpy as np
import pytest

import pairdist

# Mesa's window-system probing wants this even when nothing is displayed.
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp())

METRICS = ["euclidean", "sqeuclidean", "cityblock"]
# Every backend the suite runs on. "gpu" needs a GPU adapter (lavapipe in CI): without one the
# GPU tests fail, they are never skipped.
BACKENDS = ["cpu", "gpu"]
EPS32 = float(np.finfo(np.float32).eps)


def datasets():
    """scikit-learn's bundled data sets (no download): name -> float64 points."""
    from sklearn import datasets as sk

    return {
        "iris": sk.load_iris().data,  # 150 x 4
        "wine": sk.load_wine().data,  # 178 x 13, values up to 1680
        "breast_cancer": sk.load_breast_cancer().data,  # 569 x 30, values up to 4254
        # 1000 of its 1797 x 64 (integers 0..16, constant pixels): every digit, and SciPy's
        # reference, most of the suite's time, on a third of the pairs.
        "digits": sk.load_digits().data[:1000],
    }


DATASETS = datasets()


def tolerance(metric, *arrays, p=None, w=None, V=None, VI=None):
    """rtol and atol for pairdist (float32) against a float64 reference on these inputs (all
    the points of the call: XA and XB, or X), with SciPy's metric parameters: a relative 1e-5
    for the arithmetic, plus the most that rounding the inputs to float32 can move a distance
    (each coordinate difference by at most eps * scale, scale the largest coordinate as the
    kernel sees it: weighted, or transformed for seuclidean and mahalanobis)."""
    d = max(a.shape[1] for a in arrays)
    scale = max([float(np.max(np.abs(a))) for a in arrays if a.size] + [1e-30])
    if metric in ("cosine", "correlation", "jensenshannon"):
        # Bounded distances of rows normalised first: an absolute error.
        return {"rtol": 1e-5, "atol": 1e-6}
    if metric == "hamming":
        # Counts over d: exact, as long as no two different inputs round to one float32; with
        # weights, a sum of non-negative weights over their total.
        return {"rtol": 1e-5 + (0.0 if w is None else 2 * np.sqrt(d) * EPS32), "atol": 0.0}
    if metric in ("dice", "kulczynski1", "rogerstanimoto", "russellrao", "sokalmichener", "sokalsneath", "yule"):
        # Boolean points compute in float64: formulas in counts (sums of weights).
        return {"rtol": 1e-10, "atol": 1e-12}
    if metric in ("braycurtis", "jaccard"):
        # A sum of non-negative terms (each a few eps off) over a denominator of the same points.
        return {"rtol": 1e-5 + 2 * np.sqrt(d) * EPS32, "atol": 0.0}
    if metric == "canberra":
        # d terms in [0, 1] (times their weights), each a few eps off.
        w_max = 1.0 if w is None or not len(w) else float(np.max(w))
        return {"rtol": 1e-5, "atol": 2 * d * EPS32 * w_max}
    if metric in ("seuclidean", "mahalanobis"):
        # Euclidean of transformed points (SciPy's defaults of V and VI: of all the points).
        stacked = np.vstack(arrays)
        if metric == "seuclidean":
            V = np.var(stacked, axis=0, ddof=1) if V is None else np.asarray(V)
            # A zero variance gives NaN or inf, as in SciPy: any finite difference passes.
            scale = scale / np.sqrt(np.min(V)) if np.min(V) > 0 else np.inf
        else:
            VI = np.linalg.inv(np.cov(stacked.T)) if VI is None else np.asarray(VI)
            scale *= np.sqrt(d * np.max(np.linalg.eigvalsh((VI + VI.T) / 2)))
        metric = "euclidean"
    q = {"euclidean": 2, "sqeuclidean": 2, "cityblock": 1, "chebyshev": np.inf, "minkowski": p or 2}[metric]
    if w is not None and np.isfinite(q):
        # Weights multiply the terms, as if the coordinates were scaled by w^(1/q) (chebyshev
        # only selects them).
        scale *= max(float(np.max(w)), 1.0) ** (1 / q)
    if metric == "euclidean" or (metric == "minkowski" and q == 2):
        atol = 2 * np.sqrt(d) * EPS32 * scale
    elif metric == "sqeuclidean":
        atol = 8 * d * EPS32 * scale**2
    else:
        # A p-norm of the differences, p >= 1; for p < 1 it can grow d^(1/p - 1) times more.
        atol = 2 * d * EPS32 * scale * d ** max(0.0, 1 / q - 1)
    return {"rtol": 1e-5, "atol": atol}


# The tile cap of the engines `engine` gives (None: the default tiles); `small_tiles` sets it.
_TILE_CAP = None
_CAPPED = {}


def engine(backend):
    """The shared engine of a backend (the one pairdist's functions use), or under
    `small_tiles` one whose tiles are capped."""
    if _TILE_CAP is None:
        return pairdist._engine(backend)
    key = (backend, _TILE_CAP)
    if key not in _CAPPED:
        _CAPPED[key] = pairdist.Engine(backend, max_tile_bytes=_TILE_CAP)
    return _CAPPED[key]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(
    params=[
        pytest.param(4096, id="4KiB-tiles"),
        pytest.param(64 << 10, id="64KiB-tiles"),
    ]
)
def small_tiles(request, monkeypatch):
    """Engines (from `engine`) whose tiles are capped: the library's tiling of a call seen
    from Python (the answers must not change)."""
    import conftest

    monkeypatch.setattr(conftest, "_TILE_CAP", request.param)
