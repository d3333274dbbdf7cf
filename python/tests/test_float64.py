"""float64 end to end: float64 points compute in float64 and match SciPy's float64 answers
within a relative 1e-12, on every backend (a GPU engine computes float64 on the CPU), where
the float32 computation of the same points is off by 1e-4."""

import functools
import os

import numpy as np
import pytest
import scipy.interpolate
import scipy.spatial.distance as sd
from conftest import DATASETS

import pairdist

# The metrics whose SciPy formula pairdist's matches term by term in float64 (sums of the
# differences' terms): the bound is relative only. The others are held to it plus an absolute
# term below (their formulas differ: SciPy's cosine is 1 - u.v/(|u||v|), pairdist's |û - v̂|²/2).
EXACT_FORM = [
    "euclidean", "sqeuclidean", "cityblock", "chebyshev", "minkowski", "canberra", "hamming", "braycurtis", "jaccard"
]
# SciPy's jensenshannon takes the square root of a sum whose logarithms cancel: its own error
# near a distance t is about eps / t (1e-14 at t = 0.002), pairdist's series form has none.
ABSOLUTE = {"cosine": 1e-14, "correlation": 1e-14, "jensenshannon": 1e-13}


def gradients_hang():
    """SciPy's test file estimate_gradients_hang.npy: float64 points whose coordinates differ in
    digits float32 drops (the issue's example: rounding them costs 1.7e-4 relative)."""
    path = os.path.join(os.path.dirname(scipy.interpolate.__file__), "tests", "data", "estimate_gradients_hang.npy")
    return np.load(path)


def test_scipys_gradients_hang_points_are_exact_in_float64(backend):
    X = gradients_hang()
    assert X.dtype == np.float64
    want = sd.pdist(X)
    # The premise: the float32 values of these points are off by far more than 1e-12.
    from_f32 = sd.pdist(X.astype(np.float32).astype(np.float64))
    apart = want > 0  # the file repeats some points
    assert np.max(np.abs(from_f32 - want)[apart] / want[apart]) > 1e-5
    got = pairdist.pdist(X, backend=backend)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(pairdist.cdist(X, X[:40], backend=backend), sd.cdist(X, X[:40]), rtol=1e-12, atol=0)


def _points(name, metric):
    X = DATASETS[name]
    if metric == "jensenshannon":
        X = np.abs(X) + 1.0  # probabilities after normalising; SciPy's inf for a zero row aside
    return X


@functools.lru_cache(maxsize=1)
def _scipy(name, metric):
    """SciPy's cdist and pdist of a case, computed once for both backends."""
    X = _points(name, metric)
    half = len(X) // 2
    return sd.cdist(X[:half], X[half:], metric), sd.pdist(X, metric)


# Both backends one after the other for each case (SciPy's answer computed once).
@pytest.mark.parametrize("backend", ["cpu", "gpu"])
@pytest.mark.parametrize("metric", EXACT_FORM + sorted(ABSOLUTE))
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_float64_matches_scipy_within_1e_12(name, metric, backend):
    X = _points(name, metric)
    half = len(X) // 2
    XA, XB = X[:half], X[half:]
    tol = {"rtol": 1e-12, "atol": ABSOLUTE.get(metric, 0.0)}
    want_cdist, want_pdist = _scipy(name, metric)
    D = pairdist.cdist(XA, XB, metric, backend=backend)
    assert D.dtype == np.float64
    np.testing.assert_allclose(D, want_cdist, **tol)
    np.testing.assert_allclose(pairdist.pdist(X, metric, backend=backend), want_pdist, **tol)


def test_parameters_in_float64(backend):
    X = DATASETS["wine"]
    XA, XB = X[:90], X[90:]
    w = np.linspace(0.5, 2.0, X.shape[1])
    np.testing.assert_allclose(
        pairdist.cdist(XA, XB, "minkowski", p=3, w=w, backend=backend), sd.cdist(XA, XB, "minkowski", p=3, w=w), rtol=1e-12
    )
    V = np.var(X, axis=0, ddof=1)
    np.testing.assert_allclose(pairdist.cdist(XA, XB, "seuclidean", V=V, backend=backend), sd.cdist(XA, XB, "seuclidean", V=V), rtol=1e-12)
    # mahalanobis: SciPy forms VI and its quadratic form, pairdist a Cholesky factor's map;
    # their roundings differ by the covariance's condition number times epsilon.
    VI = np.linalg.inv(np.cov(X.T)).T
    bound = np.linalg.cond(VI) * np.finfo(np.float64).eps * 10
    got = pairdist.cdist(XA, XB, "mahalanobis", VI=VI, backend=backend)
    np.testing.assert_allclose(got, sd.cdist(XA, XB, "mahalanobis", VI=VI), rtol=max(1e-12, bound))


def test_float32_output_of_float64_points_and_mixed_inputs(backend):
    X = gradients_hang()
    D64 = pairdist.cdist(X, X, backend=backend)
    D32 = pairdist.cdist(X, X, dtype=np.float32, backend=backend)
    assert D32.dtype == np.float32
    # float64 results rounded once, not float32 arithmetic (which is off by 1e-4 here).
    np.testing.assert_array_equal(D32, D64.astype(np.float32))
    out = np.zeros((len(X), len(X)), np.float32, order="F")
    pairdist.cdist(X, X, out=out, backend=backend)
    np.testing.assert_array_equal(out, D32)
    # One float32 input and one float64: both in float64 (the float32 values widen exactly).
    X32 = X[:30].astype(np.float32)
    got = pairdist.cdist(X32, X, backend=backend)
    np.testing.assert_allclose(got, sd.cdist(X32.astype(np.float64), X), rtol=1e-12, atol=0)


def test_knn_and_radius_in_float64(backend):
    X = gradients_hang()
    D = sd.cdist(X, X)
    np.fill_diagonal(D, np.inf)
    dist, idx = pairdist.knn(X, k=5, backend=backend)
    assert dist.dtype == np.float64
    order = np.argsort(D, axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(idx, order)
    np.testing.assert_allclose(dist, np.take_along_axis(D, order, axis=1), rtol=1e-12, atol=0)
    r = float(np.median(np.min(D, axis=1)))
    rows, cols, d = pairdist.radius(X, r=r, backend=backend)
    assert d.dtype == np.float64
    i, j = np.nonzero(np.triu(D <= r, 1))
    np.testing.assert_array_equal(rows, i)
    np.testing.assert_array_equal(cols, j)
    np.testing.assert_allclose(d, D[i, j], rtol=1e-12, atol=0)
