"""The type each input computes in (the fast top level, issue 23 item 2): float32 (and float16)
points in float32, for the GPU's speed; everything else SciPy computes in float64 (integers,
booleans, float64 and longer floats) in float64, where rounding to float32 would gain nothing
and lose digits SciPy keeps. Object arrays (and other non-real dtypes) are refused with
SciPy's error. Every answer is compared with SciPy's float64 one."""

import re

import numpy as np
import pytest
import scipy.spatial.distance as sd
from conftest import DATASETS

import pairdist

# Metrics whose SciPy formula pairdist's matches term by term (a relative 1e-12), and those
# held to an absolute term besides (their float64 formulas differ; see test_float64.py).
EXACT_FORM = ["euclidean", "sqeuclidean", "cityblock", "chebyshev", "minkowski", "canberra", "hamming", "braycurtis", "jaccard"]
ABSOLUTE = {"cosine": 1e-14, "correlation": 1e-14, "jensenshannon": 1e-13, "seuclidean": 0.0, "mahalanobis": 0.0}
INTEGER_TYPES = [np.bool_, np.uint8, np.int16, np.int32, np.int64, np.uint64]


def float32_values(D):
    """Whether every value of D is a float32 (what a float32 computation widens to)."""
    D = np.asarray(D, np.float64)
    return bool(np.all(D.astype(np.float32).astype(np.float64) == D))


def integer_points(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if dtype is np.bool_:
        return rng.random(shape) < 0.4
    low = 0 if np.dtype(dtype).kind in "ub" else -7
    return rng.integers(low, 9, shape).astype(dtype)


def test_hamming_of_booleans_is_exactly_scipys(backend):
    # The case: 23 of 50 differ, 0.46; in float32 it was 0.46000000834.
    u = np.zeros((1, 50), bool)
    v = u.copy()
    v[0, :23] = True
    want = sd.cdist(u, v, "hamming")
    assert want[0, 0] == 0.46
    np.testing.assert_array_equal(pairdist.cdist(u, v, "hamming", backend=backend), want)
    B = integer_points(np.bool_, (40, 50))
    for metric in ("hamming", "jaccard", "cityblock", "euclidean"):
        np.testing.assert_allclose(pairdist.cdist(B, B[:15], metric, backend=backend), sd.cdist(B, B[:15], metric), rtol=1e-12)
        np.testing.assert_allclose(pairdist.pdist(B, metric, backend=backend), sd.pdist(B, metric), rtol=1e-12)


def test_mahalanobis_of_integers_within_1e_12_of_scipy(backend):
    # The case: 0.70710670948 for 0.7071067811865476.
    X = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [2, 0, 1]])
    VI = np.eye(3) / 4
    want = sd.cdist(X, X, "mahalanobis", VI=VI)
    assert want[0, 1] == 0.7071067811865476
    got = pairdist.cdist(X, X, "mahalanobis", VI=VI, backend=backend)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    Y = integer_points(np.int64, (200, 5), seed=3)
    got = pairdist.cdist(Y, Y[:30], "mahalanobis", backend=backend)
    np.testing.assert_allclose(got, sd.cdist(Y, Y[:30], "mahalanobis"), rtol=1e-12)
    # The default VI of integer points, in float64 too.
    np.testing.assert_allclose(pairdist.pdist(Y, "mahalanobis", backend=backend), sd.pdist(Y, "mahalanobis"), rtol=1e-12)


@pytest.mark.parametrize("dtype", INTEGER_TYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("metric", EXACT_FORM + sorted(ABSOLUTE))
def test_integer_and_boolean_points_compute_in_float64(metric, dtype):
    XA = integer_points(dtype, (60, 7), seed=1)
    XB = integer_points(dtype, (45, 7), seed=2)
    if metric == "jensenshannon":
        XA, XB = XA + np.ones((), dtype), XB + np.ones((), dtype)  # no zero rows
    tol = {"rtol": 1e-12, "atol": ABSOLUTE.get(metric, 0.0)}
    if metric == "mahalanobis":
        tol["rtol"] = 1e-11  # SciPy's VI and pairdist's factor round differently (cond ~ 10)
    with np.errstate(all="ignore"):
        want_c, want_p = sd.cdist(XA, XB, metric), sd.pdist(XA, metric)
    got = pairdist.cdist(XA, XB, metric, backend="cpu")
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want_c, **tol)
    np.testing.assert_allclose(pairdist.pdist(XA, metric, backend="cpu"), want_p, **tol)


def test_longdouble_computes_in_float64():
    # np.longdouble was float32 too (kind "f", itemsize 16).
    X = np.random.default_rng(4).standard_normal((50, 6)) * 1e3 + 1e5
    L = X.astype(np.longdouble)
    want = sd.cdist(X, X[:20])  # the same values in float64
    np.testing.assert_allclose(pairdist.cdist(L, L[:20]), want, rtol=1e-12)
    np.testing.assert_allclose(pairdist.pdist(L, "cityblock"), sd.pdist(X, "cityblock"), rtol=1e-12)


def test_float32_and_float16_points_compute_in_float32(backend):
    X = np.random.default_rng(5).standard_normal((40, 9))
    for dtype in (np.float32, np.float16):
        x = X.astype(dtype)
        got = pairdist.cdist(x, x[:10], backend=backend)
        assert got.dtype == np.float64 and float32_values(got)
        np.testing.assert_allclose(got, sd.cdist(x.astype(np.float64), x[:10].astype(np.float64)), rtol=1e-5, atol=1e-5)
    # float32 with an integer input: the integers compute in float64, so both do.
    x32 = X.astype(np.float32)
    ints = integer_points(np.int32, (10, 9))
    got = pairdist.cdist(x32, ints)
    np.testing.assert_allclose(got, sd.cdist(x32.astype(np.float64), ints), rtol=1e-12)
    assert not float32_values(got)


def test_knn_radius_argmin_and_index_of_integers_in_float64(backend):
    X = DATASETS["digits"].astype(np.int64)[:300]
    D = sd.cdist(X[:50], X)
    dist, idx = pairdist.knn(X[:50], X, k=5, backend=backend)
    assert dist.dtype == np.float64
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :5], rtol=1e-12)
    np.testing.assert_allclose(np.take_along_axis(D, idx, 1), dist, rtol=1e-12)
    index = pairdist.Index(X, backend=backend)
    assert index.dtype == np.float64
    dist2, idx2 = index.knn(X[:50], k=5)
    np.testing.assert_allclose(dist2, np.sort(D, axis=1)[:, :5], rtol=1e-12)
    i, d = pairdist.argmin(X[:50], X[100:], backend=backend)
    np.testing.assert_allclose(d, D[:, 100:].min(axis=1), rtol=1e-12)
    i, d = index.argmin(X[:50])
    np.testing.assert_allclose(d, np.zeros(50), atol=0)
    # Booleans: an Index of them is float64 as well.
    assert pairdist.Index(X > 8, backend=backend).dtype == np.float64


def test_radius_of_integers_compares_in_float64(backend):
    # Two points sqrt(2) apart and a radius just below it: in float32 the radius and the
    # distance round to the same float32, and the pair was found.
    X = np.array([[0, 0], [1, 1]])
    r = 1.4142135623
    assert np.float32(r) == np.float32(np.sqrt(2.0)) and r < np.sqrt(2.0)
    rows, cols, dist = pairdist.radius(X, r=r, backend=backend)
    assert len(rows) == 0
    rows, cols, dist = pairdist.radius(X, r=1.4142135624, backend=backend)
    assert list(rows) == [0] and list(cols) == [1]
    np.testing.assert_allclose(dist, [np.sqrt(2.0)], rtol=1e-15)
    index = pairdist.Index(X, backend=backend)
    assert len(index.radius(X, r=r)[0]) == 2  # each point itself only
    # An integer input beside a float32 one: both in float64.
    rows, cols, dist = pairdist.radius(X.astype(np.float32), X, r=r, backend=backend)
    assert list(zip(rows, cols)) == [(0, 0), (1, 1)]


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1.0, None], [2.0, 3.0]], dtype=object),
        np.array([[1.0, 2.0], [2.0, 3.0]], dtype=object),  # numbers in an object array: SciPy refuses them too
        [[1.0, None], [2.0, 3.0]],
    ],
    ids=["None", "numbers", "list with None"],
)
def test_object_arrays_are_refused_with_scipys_error(X):
    # They silently became NaN (or were converted); SciPy: "Unsupported dtype object".
    Y = np.ones((2, 2))
    with pytest.raises(ValueError, match="Unsupported dtype object") as scipy_error:
        sd.cdist(X, Y)
    calls = [
        lambda: pairdist.cdist(X, Y),
        lambda: pairdist.cdist(Y, X),
        lambda: pairdist.pdist(X),
        lambda: pairdist.knn(X, k=1),
        lambda: pairdist.knn(Y, X, k=1),
        lambda: pairdist.radius(X, r=1.0),
        lambda: pairdist.argmin(Y, X),
        lambda: pairdist.Index(X),
        lambda: pairdist.Index(Y).knn(X, k=1),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="Unsupported dtype object"):
            call()
    assert str(scipy_error.value) == "Unsupported dtype object"


@pytest.mark.parametrize("X", [np.ones((2, 2), complex), np.array([["a", "b"]]), np.ones((1, 2), "datetime64[s]")])
def test_other_dtypes_are_refused_as_scipy_refuses_them(X):
    with pytest.raises(ValueError, match=re.escape(f"Unsupported dtype {X.dtype}")):
        sd.cdist(X, X)
    with pytest.raises(ValueError, match=re.escape(f"Unsupported dtype {X.dtype}")):
        pairdist.cdist(X, X)
    with pytest.raises(ValueError, match=re.escape(f"Unsupported dtype {X.dtype}")):
        pairdist.pdist(X)


def test_docstrings_say_which_type_computes():
    for doc in (pairdist.__doc__, pairdist.Engine.cdist.__doc__, pairdist.cdist.__doc__, pairdist.Index.__doc__):
        assert "integers" in doc and "booleans" in doc and "float64" in doc and "float16" in doc
