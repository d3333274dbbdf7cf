"""cdist and pdist against SciPy in float64: real data sets, random shapes, every memory layout
and dtype of the inputs, out=, and the block loops at every block size."""

import numpy as np
import pytest
import scipy.spatial.distance as sd
from conftest import DATASETS, METRICS, engine, tolerance

import pairdist


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_cdist_and_pdist_on_real_data(name, metric, backend):
    X = DATASETS[name]
    half = len(X) // 2
    XA, XB = X[:half], X[half:]
    D = pairdist.cdist(XA, XB, metric, backend=backend)
    assert D.dtype == np.float64 and D.shape == (len(XA), len(XB))
    np.testing.assert_allclose(D, sd.cdist(XA, XB, metric), **tolerance(metric, X))
    P = pairdist.pdist(X, metric, backend=backend)
    assert P.dtype == np.float64 and P.shape == (len(X) * (len(X) - 1) // 2,)
    np.testing.assert_allclose(P, sd.pdist(X, metric), **tolerance(metric, X))


@pytest.mark.parametrize("metric", METRICS)
def test_cdist_of_x_with_itself_has_an_exact_zero_diagonal(metric, backend):
    X = DATASETS["breast_cancer"]
    D = pairdist.cdist(X, X, metric, backend=backend)
    assert np.all(np.diag(D) == 0)
    np.testing.assert_allclose(D, sd.cdist(X, X, metric), **tolerance(metric, X))


@pytest.mark.parametrize(
    "n, m, d",
    [(1, 1, 1), (5, 3, 2), (17, 33, 3), (64, 65, 7), (127, 129, 31), (300, 200, 130), (3, 4, 600), (2, 2, 5000)],
)
@pytest.mark.parametrize("metric", METRICS)
def test_random_shapes(n, m, d, metric, backend):
    rng = np.random.default_rng([n, m, d])
    XA = rng.standard_normal((n, d)) * 10
    XB = rng.standard_normal((m, d)) * 10 + 3
    tol = tolerance(metric, XA, XB)
    np.testing.assert_allclose(pairdist.cdist(XA, XB, metric, backend=backend), sd.cdist(XA, XB, metric), **tol)
    np.testing.assert_allclose(pairdist.pdist(XA, metric, backend=backend), sd.pdist(XA, metric), **tol)


def test_empty_inputs_and_zero_dimensions(backend):
    e = engine(backend)
    assert e.cdist(np.zeros((0, 3)), np.zeros((4, 3))).shape == (0, 4)
    assert e.cdist(np.zeros((4, 3)), np.zeros((0, 3))).shape == (4, 0)
    assert e.pdist(np.zeros((1, 3))).shape == (0,)
    assert e.pdist(np.zeros((0, 3))).shape == (0,)
    np.testing.assert_array_equal(e.cdist(np.zeros((3, 0)), np.zeros((2, 0))), sd.cdist(np.zeros((3, 0)), np.zeros((2, 0))))
    np.testing.assert_array_equal(e.pdist(np.zeros((4, 0))), np.zeros(6))


def test_nan_and_inf_propagate_as_in_scipy(backend):
    XA = np.array([[0.0, np.nan], [1.0, 2.0], [np.inf, 0.0]])
    XB = np.array([[0.0, 0.0], [np.inf, 1.0]])
    for metric in METRICS:
        D = pairdist.cdist(XA, XB, metric, backend=backend)
        np.testing.assert_allclose(D, sd.cdist(XA, XB, metric), rtol=1e-6)  # NaN where SciPy has NaN


def test_float32_result_is_the_computed_values_rounded_once(backend):
    X = DATASETS["wine"]
    # float64 points compute in float64: dtype=float32 rounds those results once.
    D32 = pairdist.cdist(X, X[:50], dtype=np.float32, backend=backend)
    D64 = pairdist.cdist(X, X[:50], backend=backend)
    assert D32.dtype == np.float32
    np.testing.assert_array_equal(D32, D64.astype(np.float32))
    P64 = pairdist.pdist(X, backend=backend)
    P32 = pairdist.pdist(X, dtype="float32", backend=backend)
    assert P32.dtype == np.float32
    np.testing.assert_array_equal(P32, P64.astype(np.float32))
    # float32 points compute in float32: float64 results are those values, widened.
    X32 = X.astype(np.float32)
    F32 = pairdist.cdist(X32, X32[:50], dtype=np.float32, backend=backend)
    np.testing.assert_array_equal(pairdist.cdist(X32, X32[:50], backend=backend), F32.astype(np.float64))


def layouts(X):
    """X in every layout and dtype pairdist accepts: name -> array with X's values."""
    base = np.zeros((2 * X.shape[0], 3 * X.shape[1]))
    base[::2, ::3] = X
    flipped = np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1]
    return {
        "float64 C": X,
        "float64 Fortran": np.asfortranarray(X),
        "float64 strided": base[::2, ::3],
        "negative strides": flipped,
        "float32 C": X.astype(np.float32),
        "float32 Fortran": np.asfortranarray(X, dtype=np.float32),
        "float32 strided": base.astype(np.float32)[::2, ::3],
        "big-endian float64": X.astype(">f8"),
        "list of lists": X.tolist(),
    }


@pytest.mark.parametrize("layout", list(layouts(np.zeros((1, 1)))))
def test_any_layout_and_dtype(layout, backend):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 9))
    Y = rng.standard_normal((45, 9))
    x, y = layouts(X)[layout], layouts(Y)[layout]
    for metric in METRICS:
        # The reference takes the values the input holds (float32 inputs: the float32 values).
        xr, yr = np.asarray(x, np.float64), np.asarray(y, np.float64)
        tol = tolerance(metric, X, Y)
        np.testing.assert_allclose(pairdist.cdist(x, y, metric, backend=backend), sd.cdist(xr, yr, metric), **tol)
        np.testing.assert_allclose(pairdist.pdist(x, metric, backend=backend), sd.pdist(xr, metric), **tol)


def test_integer_and_boolean_inputs_are_exact():
    X = DATASETS["digits"].astype(np.int64)
    D = pairdist.cdist(X, X[:100], "sqeuclidean")
    np.testing.assert_array_equal(D, sd.cdist(X, X[:100], "sqeuclidean"))
    B = np.random.default_rng(1).random((30, 8)) > 0.5
    np.testing.assert_array_equal(pairdist.cdist(B, B, "cityblock"), sd.cdist(B.astype(float), B.astype(float), "cityblock"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("order", ["C", "F", "strided"])
def test_out_is_filled_in_place(dtype, order, backend):
    X = DATASETS["iris"]
    XA, XB = X[:70], X[70:]
    if order == "strided":
        out = np.zeros((len(XA), 2 * len(XB)), dtype)[:, ::2]
    else:
        out = np.zeros((len(XA), len(XB)), dtype, order=order)
    result = pairdist.cdist(XA, XB, "cityblock", out=out, backend=backend)
    assert result is out
    np.testing.assert_allclose(out, sd.cdist(XA, XB, "cityblock"), **tolerance("cityblock", X))
    condensed = np.full(len(X) * (len(X) - 1) // 2, -1.0, dtype)
    assert pairdist.pdist(X, out=condensed, backend=backend) is condensed
    np.testing.assert_allclose(condensed, sd.pdist(X), **tolerance("euclidean", X))


def test_out_sharing_memory_with_an_input():
    rng = np.random.default_rng(3)
    out = rng.random((10, 10)).astype(np.float32)
    XA = out.reshape(-1)[:40].reshape(10, 4)  # a C-contiguous float32 view of out: read in place
    XB = rng.random((10, 4)).astype(np.float32)
    expected = sd.cdist(XA.astype(np.float64), XB.astype(np.float64))
    # The result must be computed from XA as it was before out was written.
    assert pairdist.cdist(XA, XB, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock"])
def test_tiles_of_every_size_give_the_exact_answer(metric, small_tiles, backend):
    # Integer coordinates: every distance is exact in float32, so equality is expected.
    rng = np.random.default_rng(11)
    XA = rng.integers(-20, 20, (37, 5)).astype(np.float64)
    XB = rng.integers(-20, 20, (53, 5)).astype(np.float64)
    e = engine(backend)
    np.testing.assert_array_equal(e.cdist(XA, XB, metric), sd.cdist(XA, XB, metric))
    np.testing.assert_array_equal(e.cdist(XA, XB, metric, dtype=np.float32), sd.cdist(XA, XB, metric))
    out = np.zeros((53, 37), order="F")
    e.cdist(XB, XA, metric, out=out)
    np.testing.assert_array_equal(out, sd.cdist(XB, XA, metric))
    np.testing.assert_array_equal(e.pdist(XB, metric), sd.pdist(XB, metric))
    np.testing.assert_array_equal(e.pdist(XB[:2], metric), sd.pdist(XB[:2], metric))


def test_scipy_aliases_and_functions_name_metrics():
    X = DATASETS["iris"][:20]
    aliases = [
        ("E", "euclidean"),
        ("l2", "euclidean"),
        ("sqe", "sqeuclidean"),
        ("cb", "cityblock"),
        ("Manhattan", "cityblock"),
        ("cheb", "chebyshev"),
        ("pnorm", "minkowski"),
        ("cos", "cosine"),
        ("co", "correlation"),
        ("js", "jensenshannon"),
        ("matching", "hamming"),
        ("se", "seuclidean"),
        ("mahal", "mahalanobis"),
    ]
    for alias, name in aliases:
        np.testing.assert_array_equal(pairdist.cdist(X, X, alias), pairdist.cdist(X, X, name))
    np.testing.assert_array_equal(pairdist.cdist(X, X, sd.cityblock), pairdist.cdist(X, X, "cityblock"))
    np.testing.assert_array_equal(pairdist.cdist(X, X, sd.cosine), pairdist.cdist(X, X, "cosine"))
    # Explicitly absent metric parameters are fine, as in SciPy.
    np.testing.assert_array_equal(pairdist.pdist(X, "euclidean", w=None, p=None, V=None, VI=None), pairdist.pdist(X))


def test_engines_and_info():
    adapters = pairdist.info()
    assert isinstance(adapters, list)
    assert all({"name", "backend", "device_type", "driver", "is_software", "unusable"} <= set(a) for a in adapters)
    cpu = pairdist.Engine("cpu", memory_budget=1 << 20, max_tile_bytes=1 << 14)
    assert cpu.backend == "cpu" and cpu.adapter is None and "CPU" in cpu.device
    X = DATASETS["wine"]
    np.testing.assert_allclose(cpu.cdist(X, X), sd.cdist(X, X), **tolerance("euclidean", X))
    auto = pairdist.Engine()
    assert auto.backend in ("cpu", "gpu")


def test_gpu_engine_runs_on_an_adapter():
    # CI has lavapipe: "gpu" must find an adapter (a missing GPU fails here, never skips).
    gpu = pairdist.Engine("gpu")
    assert gpu.backend == "gpu"
    assert gpu.adapter["name"] in [a["name"] for a in pairdist.info()]
    X = DATASETS["digits"]
    np.testing.assert_allclose(gpu.cdist(X, X[::7]), sd.cdist(X, X[::7]), **tolerance("euclidean", X))
