"""pairdist.scipy.spatial.distance against SciPy itself: every metric on every input dtype
gives SciPy's float64 answer, bad calls give SciPy's exceptions (type and message), the
backend follows PAIRDIST_BACKEND and set_backend, calls are routed (and counted) as the module
documents, and patching SciPy puts the mirror in and takes it out."""

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.spatial.distance as sd

import pairdist
from pairdist.scipy.spatial import distance as mirror

# SciPy's own functions, whatever a test patches.
scipy_cdist = mirror._scipy_cdist
scipy_pdist = mirror._scipy_pdist
BOOLEAN = ["dice", "rogerstanimoto", "russellrao", "sokalsneath", "yule"]
NUMERIC = [
    "braycurtis", "canberra", "chebyshev", "cityblock", "correlation", "cosine", "euclidean", "hamming",
    "jaccard", "jensenshannon", "mahalanobis", "minkowski", "seuclidean", "sqeuclidean",
]  # fmt: skip
RTOL = 1e-12


@pytest.fixture
def on(backend):
    """The mirror on one backend (set_backend), counters zeroed; the default after."""
    mirror.set_backend(backend)
    mirror.reset_stats()
    yield backend
    mirror.set_backend(None)


def close(got, want, rtol=RTOL):
    """SciPy's float64 answer within rtol (NaN where SciPy has NaN), plus an absolute term of
    rtol times the largest entry, for entries that cancel to about zero."""
    assert got.dtype == np.float64 and got.shape == want.shape
    scale = float(np.nanmax(np.abs(want[np.isfinite(want)]), initial=1.0))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


def data(kind, rng, shape=(13, 5)):
    """Points of one dtype: float32, int64, uint8, bool, or 0/1 float64."""
    if kind == "float32":
        return rng.standard_normal(shape).astype(np.float32) * 3
    if kind == "int64":
        return rng.integers(-20, 20, shape)
    if kind == "uint8":
        return rng.integers(0, 255, shape, dtype=np.uint8)
    if kind == "bool":
        return rng.random(shape) < 0.5
    return (rng.random(shape) < 0.5).astype(np.float64)


def positive(X):
    """jensenshannon's inputs: non-negative rows."""
    return np.abs(X)


@pytest.mark.parametrize("kind", ["float32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("metric", NUMERIC)
def test_numeric_metrics_give_scipys_float64_answer_for_every_dtype(metric, kind, on):
    rng = np.random.default_rng([NUMERIC.index(metric), len(kind)])
    XA, XB = data(kind, rng), data(kind, rng, (7, 5))
    if metric == "jensenshannon" and kind in ("float32", "int64"):
        XA, XB = positive(XA), positive(XB)
    kwargs = {"p": 3.0} if metric == "minkowski" else {}
    with np.errstate(all="ignore"):
        want_c = scipy_cdist(XA, XB, metric, **kwargs)
        want_p = scipy_pdist(XA, metric, **kwargs)
        got_c = mirror.cdist(XA, XB, metric, **kwargs)
        got_p = mirror.pdist(XA, metric, **kwargs)
    close(got_c, want_c)
    close(got_p, want_p)
    assert mirror.stats()["pairdist"] == 2, mirror.stats()


@pytest.mark.parametrize("kind", ["bool", "01-float64", "uint8-01"])
@pytest.mark.parametrize("metric", BOOLEAN)
def test_boolean_metrics_of_boolean_data_are_pairdists_and_scipys(metric, kind, on):
    if metric not in pairdist.METRICS:
        pytest.skip(f"{metric} is not in this build of the library")
    rng = np.random.default_rng(BOOLEAN.index(metric))
    XA, XB = data("bool", rng), data("bool", rng, (6, 5))
    XA[0] = XA[1] = True  # equal rows: yule's and sokalsneath's special cases
    XB[0] = True
    if kind != "bool":
        XA, XB = XA.astype(np.uint8 if kind == "uint8-01" else np.float64), XB.astype(np.float64)
    w = rng.random(5) + 0.1
    with np.errstate(all="ignore"):
        close(mirror.cdist(XA, XB, metric), scipy_cdist(XA, XB, metric))
        close(mirror.pdist(XA, metric), scipy_pdist(XA, metric))
        close(mirror.cdist(XA, XB, metric, w=w), scipy_cdist(XA, XB, metric, w=w))
    assert mirror.stats()["pairdist"] == 3, mirror.stats()


def test_weighted_yule_where_scipy_returns_zero(on):
    # c_FT = c_FF = 0: SciPy's yule is 0 (R = 0), weighted or not.
    u = np.ones((1, 5), dtype=bool)
    v = np.array([[True, False, False, False, False]])
    w = np.array([0.3, 0.5, 0.9, 0.2, 0.4])
    np.testing.assert_array_equal(scipy_cdist(u, v, "yule", w=w), [[0.0]])
    before = mirror.stats()["pairdist"]
    np.testing.assert_array_equal(mirror.cdist(u, v, "yule", w=w), [[0.0]])
    assert mirror.stats()["pairdist"] == before + 1, "weighted yule was not computed by pairdist"

    np.testing.assert_array_equal(mirror.cdist(u, v, "yule"), [[0.0]])


def test_boolean_metrics_of_other_numbers_are_scipys_fuzzy_formulas(on):
    # SciPy's dice of numbers: ntt = sum(u v), ndiff = sum(u (1 - v) + (1 - u) v).
    u, v = np.array([[0.5, 2.0, 0.0, 0.0]]), np.array([[3.0, 0.0, 0.0, 1.0]])
    got = mirror.cdist(u, v, "dice")
    np.testing.assert_allclose(got, [[3.5 / 6.5]], rtol=1e-15)
    np.testing.assert_array_equal(got, scipy_cdist(u, v, "dice"))
    X = np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0], [1.0, 1.0, 0.0]])
    for metric in BOOLEAN:
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(mirror.pdist(X, metric), scipy_pdist(X, metric))
    s = mirror.stats()
    assert s["pairdist"] == 0 and s["scipy"] == 1 + len(BOOLEAN)
    assert all(reason.startswith("boolean metric of numbers other than 0 and 1") for reason in s["scipy_reasons"])


def test_parameters_and_defaults_are_scipys(on):
    rng = np.random.default_rng(7)
    XA, XB = rng.standard_normal((20, 4)), rng.standard_normal((9, 4))
    w = rng.random(4)
    V = rng.random(4) + 0.5
    A = rng.standard_normal((4, 4))
    VI = A @ A.T + np.eye(4)
    calls = [
        ("minkowski", {"p": 1.5}), ("minkowski", {"p": np.inf, "w": w}), ("minkowski", {"p": 0.5}),
        ("euclidean", {"w": w}), ("sqeuclidean", {"w": w}), ("cityblock", {"w": w}),
        ("chebyshev", {"w": w}), ("canberra", {"w": w}), ("braycurtis", {"w": w}),
        ("cosine", {"w": w}), ("correlation", {"w": w}), ("hamming", {"w": w}), ("jaccard", {"w": w}),
        ("seuclidean", {}), ("seuclidean", {"V": V}), ("mahalanobis", {}), ("mahalanobis", {"VI": VI}),
        ("euclidean", {"w": None}), ("seuclidean", {"V": None}), ("mahalanobis", {"VI": None}),
    ]  # fmt: skip
    for metric, kwargs in calls:
        close(mirror.cdist(XA, XB, metric, **kwargs), scipy_cdist(XA, XB, metric, **kwargs))
        close(mirror.pdist(XA, metric, **kwargs), scipy_pdist(XA, metric, **kwargs))
    # pdist drops w, V and VI given as None, for every metric (cdist does not: see the errors).
    close(mirror.pdist(XA, "cosine", V=None, VI=None, w=None), scipy_pdist(XA, "cosine"))
    assert mirror.stats()["pairdist"] == 2 * len(calls) + 1, mirror.stats()


def test_scipys_metric_functions_and_aliases_route_to_pairdist(on):
    rng = np.random.default_rng(3)
    X = rng.random((12, 3))
    for function in (sd.euclidean, sd.cityblock, sd.cosine, sd.braycurtis, sd.seuclidean, sd.mahalanobis):
        close(mirror.cdist(X, X[:4], function), scipy_cdist(X, X[:4], function))
        close(mirror.pdist(X, function), scipy_pdist(X, function))
    close(mirror.cdist(X, X, sd.minkowski, p=3), scipy_cdist(X, X, sd.minkowski, p=3))
    # SciPy's boolean functions convert their inputs to booleans first.
    close(mirror.pdist(X, sd.dice), scipy_pdist(X, sd.dice))
    for alias in ("euclid", "cb", "cos", "mahal", "matching", "jacc", "chebychev", "pnorm", "sqe", "js"):
        close(mirror.cdist(X, X, alias), scipy_cdist(X, X, alias))
    assert mirror.stats()["pairdist"] == 6 * 2 + 2 + 10, mirror.stats()


def test_other_callables_and_test_metrics_are_scipys_own(on):
    X = np.random.default_rng(4).random((6, 3))
    np.testing.assert_array_equal(mirror.pdist(X, lambda u, v: float(np.sum(u * v))), scipy_pdist(X, lambda u, v: float(np.sum(u * v))))
    np.testing.assert_array_equal(mirror.cdist(X, X, "test_euclidean"), scipy_cdist(X, X, "test_euclidean"))
    np.testing.assert_array_equal(mirror.cdist(X, X, sd.correlation, centered=False), scipy_cdist(X, X, sd.correlation, centered=False))
    s = mirror.stats()
    assert s == {
        "pairdist": 0,
        "scipy": 3,
        "refused": 0,
        "scipy_reasons": {"a callable other than SciPy's metric functions": 1, "test_ metric": 1, "a keyword the metric does not take": 1},
    }


def test_odd_dtypes_and_empty_inputs_are_scipys(on):
    X = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(mirror.cdist(X.astype(np.longdouble), X, "cityblock"), scipy_cdist(X.astype(np.longdouble), X, "cityblock"))
    np.testing.assert_array_equal(mirror.cdist(np.zeros((0, 3)), X), scipy_cdist(np.zeros((0, 3)), X))
    np.testing.assert_array_equal(mirror.pdist(np.zeros((4, 0))), scipy_pdist(np.zeros((4, 0))))
    # float16 computes in float64, as SciPy computes it.
    close(mirror.pdist(X.astype(np.float16), "canberra"), scipy_pdist(X.astype(np.float16), "canberra"))
    s = mirror.stats()
    assert (s["pairdist"], s["scipy"]) == (1, 3), s


def scipys_error(call):
    """The exception SciPy's own cdist/pdist raise for a call, and the mirror's for the same."""
    errors = []
    for cdist, pdist in ((scipy_cdist, scipy_pdist), (mirror.cdist, mirror.pdist)):
        with pytest.raises(Exception) as info:
            call(cdist, pdist)
        errors.append(info.value)
    return errors


X = np.random.default_rng(5).random((6, 3))
BAD_CALLS = {
    "unknown metric": lambda c, p: c(X, X, "euclidian"),
    "metric of another type": lambda c, p: p(X, 3),
    "unknown test metric": lambda c, p: c(X, X, "test_euclidian"),
    "p=None": lambda c, p: c(X, X, "minkowski", p=None),
    "p for euclidean": lambda c, p: p(X, "euclidean", p=2),
    "V=None in cdist for cosine": lambda c, p: c(X, X, "cosine", V=None),
    "w for seuclidean": lambda c, p: p(X, "seuclidean", w=np.ones(3)),
    "w for jensenshannon": lambda c, p: c(X, X, "jensenshannon", w=np.ones(3)),
    "unknown keyword": lambda c, p: c(X, X, "cityblock", N0tV4l1D_p4raM=1),
    "positional argument": lambda c, p: c(X, X, "cityblock", 2.0),
    "negative w": lambda c, p: c(X, X, "euclidean", w=[1.0, -1.0, 1.0]),
    "negative w, weighted cosine": lambda c, p: p(X, "cosine", w=[1.0, -1.0, 1.0]),
    "w of the wrong length": lambda c, p: p(X, "cityblock", w=np.ones(4)),
    "2-D w": lambda c, p: c(X, X, "euclidean", w=np.ones((1, 3))),
    "out of the wrong shape": lambda c, p: c(X, X, "euclidean", out=np.empty((6, 5))),
    "out in Fortran order": lambda c, p: c(X, X, "cityblock", out=np.empty((6, 6), order="F")),
    "strided out": lambda c, p: p(X, "cosine", out=np.empty(30)[::2]),
    "int64 out": lambda c, p: c(X, X, "chebyshev", out=np.empty((6, 6), dtype=np.int64)),
    "float32 out": lambda c, p: p(X, "euclidean", out=np.empty(15, dtype=np.float32)),
    "list as out": lambda c, p: c(X, X, "euclidean", out=[0.0] * 36),
    "0-d V": lambda c, p: p(X, "seuclidean", V=np.asarray(1.0)),
    "V of the wrong length": lambda c, p: c(X, X, "seuclidean", V=np.ones(2)),
    "mahalanobis with too few points": lambda c, p: c([[0, 1]], [[2, 3]], "mahalanobis"),
    "mahalanobis of a singular covariance": lambda c, p: p(np.ones((5, 2)), "mahalanobis"),
    "complex input": lambda c, p: c(X + 1j, X, "euclidean"),
    "object input": lambda c, p: p(np.array([[1.0, None], [2.0, 3.0]], dtype=object), "cityblock"),
    "1-D input": lambda c, p: p(np.ones(3)),
    "1-D XB": lambda c, p: c(X, np.ones(3)),
    "different columns": lambda c, p: c(X, X[:, :2]),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_calls_raise_scipys_exception(name, on):
    theirs, ours = scipys_error(BAD_CALLS[name])
    assert type(ours) is type(theirs)
    assert str(ours) == str(theirs)


def test_read_only_out_is_scipys_value_error(on):
    out = np.zeros((6, 6))
    out.setflags(write=False)
    theirs, ours = scipys_error(lambda c, p: c(X, X, "euclidean", out=out))
    assert type(ours) is type(theirs) is ValueError and str(ours) == str(theirs)
    assert mirror.stats()["refused"] == 1


def test_out_is_filled_and_returned(on):
    rng = np.random.default_rng(6)
    XA, XB = rng.random((9, 4)), rng.random((5, 4))
    out = np.full((9, 5), np.nan)
    assert mirror.cdist(XA, XB, "canberra", out=out) is out
    close(out, scipy_cdist(XA, XB, "canberra"))
    condensed = np.full(36, np.nan)
    assert mirror.pdist(XA, "cosine", out=condensed) is condensed
    close(condensed, scipy_pdist(XA, "cosine"))
    assert mirror.stats()["pairdist"] == 2


def test_what_pairdist_refuses_scipy_computes(on):
    # A VI that is no inverse covariance: SciPy computes with it (here a NaN), pairdist refuses.
    rng = np.random.default_rng(8)
    XA = rng.random((6, 3))
    VI = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(all="ignore"):
        want = scipy_cdist(XA, XA, "mahalanobis", VI=VI)
        got = mirror.cdist(XA, XA, "mahalanobis", VI=VI)
    np.testing.assert_array_equal(got, want)
    # p <= 0: SciPy's C++ minkowski computes it (p = 0 gives inf).
    np.testing.assert_array_equal(mirror.cdist(XA, XA, "minkowski", p=0), scipy_cdist(XA, XA, "minkowski", p=0))
    s = mirror.stats()
    assert (s["pairdist"], s["scipy"]) == (0, 2), s
    assert "p <= 0 (SciPy computes it)" in s["scipy_reasons"]


def test_pdist_of_a_list_and_cdist_of_nested_lists(on):
    P = [[0, 0], [3, 4], [6, 8]]
    np.testing.assert_array_equal(mirror.pdist(P), [5.0, 10.0, 5.0])
    np.testing.assert_array_equal(mirror.cdist(P, P[:1], "sqeuclidean"), [[0.0], [25.0], [100.0]])
    assert mirror.stats()["pairdist"] == 2


def test_backend_from_environment_and_set_backend(monkeypatch):
    mirror.set_backend(None)
    monkeypatch.delenv("PAIRDIST_BACKEND", raising=False)
    assert mirror.get_backend() == "auto"
    X = np.random.default_rng(9).random((8, 3))
    for backend in ("cpu", "gpu"):
        monkeypatch.setenv("PAIRDIST_BACKEND", backend.upper())
        assert mirror.get_backend() == backend
        engine = pairdist._engine(backend)
        jobs = engine.stats()["jobs"]
        close(mirror.cdist(X, X, "cityblock"), scipy_cdist(X, X, "cityblock"))
        assert engine.stats()["jobs"] == jobs + 1
    # set_backend overrides the environment, None goes back to it.
    mirror.set_backend("cpu")
    try:
        assert mirror.get_backend() == "cpu"
        cpu = pairdist._engine("cpu")
        jobs = cpu.stats()["jobs"]
        mirror.pdist(X, "euclidean")
        assert cpu.stats()["jobs"] == jobs + 1
    finally:
        mirror.set_backend(None)
    assert mirror.get_backend() == "gpu"
    monkeypatch.setenv("PAIRDIST_BACKEND", "tpu")
    with pytest.raises(ValueError, match="PAIRDIST_BACKEND: unknown backend 'tpu'; valid backends are 'auto', 'cpu', 'gpu'"):
        mirror.cdist(X, X)
    with pytest.raises(ValueError, match=r"set_backend\(\): unknown backend 'fast'"):
        mirror.set_backend("fast")


def test_stats_count_and_reset():
    mirror.reset_stats()
    X = np.random.default_rng(10).random((5, 2))
    mirror.pdist(X, "cityblock")
    mirror.pdist(X, lambda u, v: 1.0)
    with pytest.raises(TypeError):
        mirror.pdist(X, "cityblock", p=2)
    assert mirror.stats() == {
        "pairdist": 1,
        "scipy": 2,
        "refused": 1,
        "scipy_reasons": {"a callable other than SciPy's metric functions": 1, "a keyword the metric does not take": 1},
    }
    mirror.reset_stats()
    assert mirror.stats() == {"pairdist": 0, "scipy": 0, "refused": 0, "scipy_reasons": {}}


def test_patching_scipy_and_fallbacks_while_patched():
    original = (sd.cdist, sd.pdist)
    assert original == (scipy_cdist, scipy_pdist)
    X = np.random.default_rng(11).random((5, 2))
    mirror.reset_stats()
    with mirror.patched():
        assert sd.cdist is mirror.cdist and sd.pdist is mirror.pdist
        close(sd.pdist(X, "euclidean"), scipy_pdist(X, "euclidean"))
        # A fallback calls SciPy's own function, not the patched one again.
        np.testing.assert_array_equal(sd.cdist(X, X, "test_cityblock"), scipy_cdist(X, X, "test_cityblock"))
    assert (sd.cdist, sd.pdist) == original
    assert (mirror.stats()["pairdist"], mirror.stats()["scipy"]) == (1, 1)
    mirror.patch_scipy()
    try:
        assert sd.cdist is mirror.cdist
    finally:
        mirror.unpatch_scipy()
    assert (sd.cdist, sd.pdist) == original


def test_the_module_is_scipys_and_pairdist_alone_imports_no_scipy():
    for name in sd.__all__:
        assert hasattr(mirror, name), name
        if name not in ("cdist", "pdist"):
            assert getattr(mirror, name) is getattr(sd, name)
    assert mirror.squareform is sd.squareform
    assert set(mirror.__all__) == set(sd.__all__)
    # Every metric name and alias SciPy knows is known to the mirror, with SciPy's meaning.
    assert mirror._SCIPY_ALIASES == {alias: info.canonical_name for alias, info in sd._METRIC_ALIAS.items()}
    code = "import sys, pairdist; assert not any(m == 'scipy' or m.startswith('scipy.') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))


def test_the_docstrings_examples_run():
    import doctest

    import pairdist.scipy

    for module in (pairdist.scipy, pairdist.scipy.spatial, mirror):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0
    assert doctest.testmod(mirror).attempted >= 8
