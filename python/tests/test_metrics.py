"""Every metric of the library with SciPy's parameters (p, w, V, VI) against SciPy's float64
cdist and pdist on the real data sets; the parameters' data-dependent defaults with calls cut
into blocks; knn and radius with them against scikit-learn and brute force; SciPy's edge
cases (zero rows, 0/0 terms, negative probabilities, NaN)."""

import functools

import numpy as np
import pytest
import scipy.spatial.distance as sd
from conftest import BACKENDS, DATASETS, engine, tolerance
from sklearn.neighbors import NearestNeighbors

import pairdist

# A parameter given as GIVEN gets a value made from the data set (see parameters()); V and VI
# not given are SciPy's defaults, computed from the points.
GIVEN = "given"
# Every metric of the library, minkowski at several p (1, 2 and inf run its fast kernels).
CASES = [
    ("euclidean", {}),
    ("sqeuclidean", {}),
    ("cityblock", {}),
    ("chebyshev", {}),
    *[("minkowski", {"p": p}) for p in (0.5, 1, 1.5, 2, 3, np.inf)],
    ("cosine", {}),
    ("correlation", {}),
    ("canberra", {}),
    ("jensenshannon", {}),  # the data sets are non-negative
    ("hamming", {}),
    ("seuclidean", {}),
    ("seuclidean", {"V": GIVEN}),
    ("mahalanobis", {}),
    ("mahalanobis", {"VI": GIVEN}),
    ("braycurtis", {}),
    ("jaccard", {}),  # of booleans x != 0: digits' zero pixels make it more than "all set"
    # SciPy's boolean metrics, on boolean points (see _case_points); kulczynski1 and
    # sokalmichener left SciPy in 1.17 and are checked against their formulas (_counts).
    *[(metric, {}) for metric in ("dice", "kulczynski1", "rogerstanimoto", "russellrao", "sokalmichener", "sokalsneath", "yule")],
]
BOOLEAN = {"dice", "kulczynski1", "rogerstanimoto", "russellrao", "sokalmichener", "sokalsneath", "yule"}
# The metrics SciPy weights.
WEIGHTED = {
    "euclidean", "sqeuclidean", "cityblock", "chebyshev", "minkowski", "cosine", "correlation", "canberra", "hamming",
    "braycurtis", "jaccard", *BOOLEAN,
}
ALL_CASES = CASES + [(metric, dict(params, w=GIVEN)) for metric, params in CASES if metric in WEIGHTED]


def case_id(metric, params):
    return "-".join([metric] + [key if value is GIVEN else f"{key}={value}" for key, value in params.items()])


def cases(selection):
    return [pytest.param(metric, params, id=case_id(metric, params)) for metric, params in selection]


def parameters(X, params):
    """``params`` with each GIVEN replaced by a value made from X (its dimension and scale)."""
    rng = np.random.default_rng(X.shape[1])
    d = X.shape[1]
    out = dict(params)
    if out.get("w") is GIVEN:
        out["w"] = rng.uniform(0.0, 2.0, d)
        out["w"][0] = 0.0  # a zero weight: chebyshev leaves that dimension out
    if out.get("V") is GIVEN:
        out["V"] = (np.var(X, axis=0) + 1.0) * rng.uniform(0.5, 2.0, d)
    if out.get("VI") is GIVEN:
        # Positive definite even where the covariance is singular (digits' constant pixels).
        out["VI"] = np.linalg.inv(np.cov(X.T) + np.diag(np.var(X, axis=0) + 1.0))
    return out


def test_every_library_metric_is_tested():
    # A metric the library adds shows up in pairdist.METRICS by itself, and fails here until
    # it has its cases.
    assert {metric for metric, _ in CASES} == set(pairdist.METRICS)


def _case_points(name, metric, params):
    X = DATASETS[name]
    if metric in BOOLEAN:
        # SciPy's boolean formulas hold for boolean data (on other numbers it computes fuzzy
        # variants): each coordinate above its column's median.
        X = X > np.median(X, axis=0)
    if metric in ("cosine", "correlation") and "w" in params:
        # SciPy computes these weighted pair by pair in Python: 600 points keep it to seconds.
        X = X[:600]
    return X, parameters(X, params)


@functools.lru_cache(maxsize=2)
def _scipy(name, case, function):
    """SciPy's answer for a case, computed once for both backends (it is most of the time)."""
    metric, params = dict((case_id(m, p), (m, p)) for m, p in ALL_CASES)[case]
    X, params = _case_points(name, metric, params)
    half = len(X) // 2
    points = (X[:half], X[half:]) if function == "cdist" else (X,)
    if metric in ("kulczynski1", "sokalmichener"):
        return _removed_from_scipy(metric, function, *points, w=params.get("w"))
    try:
        return getattr(sd, function)(*points, metric, **params)
    except np.linalg.LinAlgError as e:
        return e


def _removed_from_scipy(metric, function, XA, XB=None, w=None):
    """SciPy 1.16's kulczynski1 and sokalmichener of boolean points, from its formulas in the
    weighted counts of the four cases (ntt: true in both, ntf: true in XA only, ...)."""
    A = np.asarray(XA, dtype=np.float64)
    B = A if XB is None else np.asarray(XB, dtype=np.float64)
    w = np.ones(A.shape[1]) if w is None else np.asarray(w, dtype=np.float64)
    ntt = (A * w) @ B.T
    ntf = (A * w) @ (1 - B).T
    nft = ((1 - A) * w) @ B.T
    nff = ((1 - A) * w) @ (1 - B).T
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "kulczynski1":
            D = ntt / (ntf + nft)
        else:
            D = 2 * (ntf + nft) / (ntt + nff + 2 * (ntf + nft))
    return D if XB is not None else D[np.triu_indices(len(A), 1)]


def datasets_of(metric, params):
    """The data sets a case runs on, by family rather than the full product: every data set for
    each metric's own kernel; two (real values and integers, with a zero weight) for the
    weighted cases; one for minkowski at p = 1, 2 and inf, which run the cityblock, euclidean and
    chebyshev kernels that their own cases test everywhere."""
    if metric == "minkowski" and params.get("p") in (1, 2, np.inf):
        return ["wine"]
    if "w" in params:
        return ["wine", "digits"]
    return sorted(DATASETS)


# Both backends one after the other for each case, so that SciPy's answer is computed once and
# kept only while it is needed.
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "name, metric, params",
    [
        pytest.param(name, metric, params, id=f"{name}-{case_id(metric, params)}")
        for metric, params in ALL_CASES
        for name in datasets_of(metric, params)
    ],
)
def test_cdist_and_pdist_match_scipy(name, metric, params, backend):
    case = case_id(metric, params)
    X, params = _case_points(name, metric, params)
    half = len(X) // 2
    XA, XB = X[:half], X[half:]
    for function, points in (("cdist", (XA, XB)), ("pdist", (X,))):
        want = _scipy(name, case, function)
        if isinstance(want, np.linalg.LinAlgError):
            # digits' constant pixels: a singular covariance, which has no inverse (default VI).
            with pytest.raises(ValueError, match="singular"):
                getattr(pairdist, function)(*points, metric, backend=backend, **params)
            continue
        got = getattr(pairdist, function)(*points, metric, backend=backend, **params)
        assert got.dtype == np.float64 and got.shape == want.shape
        # X is XA stacked on XB: the points SciPy's defaults of V and VI come from, either way.
        np.testing.assert_allclose(got, want, **tolerance(metric, X, **params), err_msg=function)


@pytest.mark.parametrize(
    "metric, params",
    cases(
        [
            ("seuclidean", {}),
            ("mahalanobis", {}),
            ("cosine", {"w": GIVEN}),
            ("minkowski", {"p": 3, "w": GIVEN}),
            ("canberra", {"w": GIVEN}),
            ("hamming", {"w": GIVEN}),
        ]
    ),
)
def test_tiles_share_the_defaults_of_all_the_points(metric, params, small_tiles, backend):
    # Cut into small tiles, a call still has SciPy's V and VI of all its points
    # (XA and XB stacked; X for pdist and knn without XB), never those of one tile.
    X = DATASETS["wine"]
    XA, XB = X[:70], X[70:]
    params = parameters(X, params)
    e = engine(backend)
    np.testing.assert_allclose(e.cdist(XA, XB, metric, **params), sd.cdist(XA, XB, metric, **params), **tolerance(metric, X, **params))
    out = np.zeros((len(XA), len(XB)), np.float32, order="F")
    e.cdist(XA, XB, metric, out=out, **params)
    np.testing.assert_allclose(out, sd.cdist(XA, XB, metric, **params), **tolerance(metric, X, **params))
    own = X[:90]
    np.testing.assert_allclose(e.pdist(own, metric, **params), sd.pdist(own, metric, **params), **tolerance(metric, own, **params))
    # knn of X with itself: the defaults of X alone, as pdist's.
    D = sd.squareform(sd.pdist(own, metric, **params))
    np.fill_diagonal(D, np.inf)
    dist, idx = e.knn(own, k=5, metric=metric, **params)
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :5], **tolerance(metric, own, **params))
    np.testing.assert_allclose(np.take_along_axis(D, idx, 1), dist, **tolerance(metric, own, **params))


@pytest.mark.parametrize("metric", ["canberra", "hamming"])
def test_weights_inside_the_kernel_on_ties_and_zero_weights(metric, backend):
    # canberra's and hamming's weights multiply each term in the kernels. Small integers: hamming
    # ties and canberra has 0/0 terms; a zero weight, then weights all zero (SciPy: canberra 0,
    # hamming 0/0 = NaN); float64 and float32 points.
    rng = np.random.default_rng(7)
    XA = rng.integers(-2, 3, (40, 9)).astype(np.float64)
    XB = rng.integers(-2, 3, (55, 9)).astype(np.float64)
    for w in (rng.uniform(0.0, 2.0, 9) * (np.arange(9) % 4 != 1), np.zeros(9)):
        want, want_p = sd.cdist(XA, XB, metric, w=w), sd.pdist(XA, metric, w=w)
        for dtype in (np.float64, np.float32):
            a, b = XA.astype(dtype), XB.astype(dtype)
            tol = tolerance(metric, XA, XB, w=w)
            np.testing.assert_allclose(pairdist.cdist(a, b, metric, w=w, backend=backend), want, **tol)
            np.testing.assert_allclose(pairdist.pdist(a, metric, w=w, backend=backend), want_p, **tol)
    w = rng.uniform(0.0, 2.0, 9)
    D = sd.cdist(XA, XB, metric, w=w)
    dist, idx = pairdist.knn(XA, XB, k=4, metric=metric, w=w, backend=backend)
    check_knn(dist, idx, D, 4, tolerance(metric, XA, XB, w=w))


def check_knn(dist, idx, D, k, tol):
    """The j-th neighbour is at the j-th smallest distance of the float64 matrix D (ties may
    swap indices), its distance is its true one, and no index repeats."""
    assert dist.shape == idx.shape == (D.shape[0], k)
    assert np.all(np.sort(idx, axis=1)[:, 1:] != np.sort(idx, axis=1)[:, :-1]), "an index repeats"
    true = np.take_along_axis(D, idx, axis=1)
    np.testing.assert_allclose(dist, true, **tol)
    np.testing.assert_allclose(true, np.sort(D, axis=1)[:, :k], **tol)


@pytest.mark.parametrize(
    "metric, params, sklearn",
    [
        pytest.param("cosine", {}, {"metric": "cosine"}, id="cosine"),
        pytest.param("minkowski", {"p": 3}, {"metric": "minkowski", "p": 3}, id="minkowski-p=3"),
        pytest.param("chebyshev", {}, {"metric": "chebyshev"}, id="chebyshev"),
        pytest.param("canberra", {}, {"metric": "canberra"}, id="canberra"),
        pytest.param("correlation", {}, {"metric": "correlation"}, id="correlation"),
        pytest.param("braycurtis", {}, {"metric": "braycurtis"}, id="braycurtis"),
    ],
)
@pytest.mark.parametrize("name", ["wine", "breast_cancer", "digits"])
def test_knn_matches_scikit_learn(name, metric, params, sklearn, backend):
    X = DATASETS[name]
    XA, XB = X[::3], np.delete(X, np.s_[::3], axis=0)
    k = 6
    dist, idx = pairdist.knn(XA, XB, k=k, metric=metric, backend=backend, **params)
    tol = tolerance(metric, X, **params)
    check_knn(dist, idx, sd.cdist(XA, XB, metric, **params), k, tol)
    sk_dist, _ = NearestNeighbors(n_neighbors=k, algorithm="brute", **sklearn).fit(XB).kneighbors(XA)
    np.testing.assert_allclose(dist, sk_dist, **tol)


@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_knn_mahalanobis_and_seuclidean_defaults(name, backend):
    X = DATASETS[name]
    XA, XB = X[::3], np.delete(X, np.s_[::3], axis=0)
    k = 4
    # XB given: SciPy's cdist defaults, of XA and XB stacked (here: X, reordered).
    VI = np.linalg.inv(np.cov(X.T))
    dist, idx = pairdist.knn(XA, XB, k=k, metric="mahalanobis", backend=backend)
    tol = tolerance("mahalanobis", X)
    check_knn(dist, idx, sd.cdist(XA, XB, "mahalanobis", VI=VI), k, tol)
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="mahalanobis", metric_params={"VI": VI})
    np.testing.assert_allclose(dist, nn.fit(XB).kneighbors(XA)[0], **tol)
    # XB omitted: the defaults of X alone, as pdist's.
    D = sd.squareform(sd.pdist(X, "seuclidean"))
    np.fill_diagonal(D, np.inf)
    dist, idx = pairdist.knn(X, k=k, metric="seuclidean", backend=backend)
    check_knn(dist, idx, D, k, tolerance("seuclidean", X))
    assert not np.any(idx == np.arange(len(X))[:, None])


@pytest.mark.parametrize(
    "metric, params",
    cases(
        [
            ("cosine", {}),
            ("minkowski", {"p": 3}),
            ("mahalanobis", {}),
            ("euclidean", {"w": GIVEN}),
            ("jensenshannon", {}),
            ("braycurtis", {"w": GIVEN}),
            ("jaccard", {}),
        ]
    ),
)
@pytest.mark.parametrize("own", [False, True], ids=["XB", "self"])
def test_radius_against_brute_force(metric, params, own, backend):
    X = DATASETS["breast_cancer"]
    params = parameters(X, params)
    XA, XB = (X, X) if own else (X[::2], X[1::2])
    # SciPy's defaults, made explicit for the reference: of X alone without XB (as pdist).
    reference = dict(params)
    if metric == "mahalanobis":
        reference["VI"] = np.linalg.inv(np.cov((X if own else np.vstack([XA, XB])).T))
    D = sd.cdist(XA, XB, metric, **reference)
    r = float(np.quantile(D, 0.01))
    rows, cols, dist = pairdist.radius(XA, None if own else XB, r=r, metric=metric, backend=backend, **params)
    assert len(rows) > 0
    tol = tolerance(metric, X, **reference)
    np.testing.assert_allclose(dist, D[rows, cols], **tol)
    assert np.all(np.lexsort((cols, rows)) == np.arange(len(rows))), "not sorted by row, column"
    found = np.zeros(D.shape, bool)
    found[rows, cols] = True
    slack = tol["atol"] + tol["rtol"] * r
    wanted = D <= r - slack
    if own:
        assert np.all(cols > rows)
        wanted = np.triu(wanted, 1)
    assert not np.any(wanted & ~found), "a pair within r is missing"
    assert not np.any(found & (D > r + slack)), "a pair beyond r was found"


# Rows with SciPy's special cases: zero rows (cosine, correlation: NaN; canberra: 0/0 terms are
# 0; jensenshannon: a zero sum; braycurtis: 0/0 is NaN; jaccard: 0/0 is 0), a negative entry
# (jensenshannon: inf; braycurtis: a column of both signs), NaN (hamming: unequal; jaccard:
# nonzero).
EDGES = np.array(
    [
        [0.0, 0.0, 0.0, 0.0],
        [1.0, 2.0, 3.0, 0.0],
        [0.0, 0.0, 5.0, 0.0],
        [-1.0, 2.0, 3.0, 4.0],
        [np.nan, 1.0, 2.0, 0.0],
        [0.0, 0.0, 0.0, 0.0],
        [2.0, 2.0, 2.0, 2.0],
        [0.5, 0.0, 0.0, 1.5],
    ]
)


@pytest.mark.parametrize(
    "metric", ["cosine", "correlation", "canberra", "jensenshannon", "hamming", "chebyshev", "braycurtis", "jaccard"]
)
def test_scipy_edge_cases(metric, backend):
    want = sd.cdist(EDGES, EDGES[::-1], metric)
    assert np.isnan(want).any() or np.isinf(want).any() or metric in ("canberra", "hamming", "chebyshev", "jaccard")
    got = pairdist.cdist(EDGES, EDGES[::-1], metric, backend=backend)
    # NaN and inf exactly where SciPy has them; the rest within float32 precision.
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pairdist.pdist(EDGES, metric, backend=backend), sd.pdist(EDGES, metric), rtol=1e-5, atol=1e-6)


def test_canberra_zero_over_zero_terms_are_zero(backend):
    X = np.array([[0.0, 1.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(pairdist.pdist(X, "canberra", backend=backend), sd.pdist(X, "canberra"), rtol=1e-6)
    assert pairdist.cdist(X[2:], X[2:], "canberra", backend=backend)[0, 0] == 0.0


def test_jensenshannon_rows_with_negatives_are_infinitely_far(backend):
    X = np.array([[0.2, 0.8], [-0.1, 1.1], [0.5, 0.5]])
    got = pairdist.cdist(X, X, "jensenshannon", backend=backend)
    want = sd.cdist(X, X, "jensenshannon")
    assert np.all(np.isinf(got[1])) and np.all(np.isinf(got[:, 1]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_minkowski_defaults_and_aliases():
    X = DATASETS["iris"][:40]
    # SciPy's default p is 2; p = 1, 2 and inf are cityblock, euclidean and chebyshev.
    for p, same in [(None, "euclidean"), (1, "cityblock"), (2, "euclidean"), (np.inf, "chebyshev")]:
        np.testing.assert_allclose(pairdist.pdist(X, "minkowski", p=p), pairdist.pdist(X, same), rtol=1e-6)
    np.testing.assert_array_equal(pairdist.pdist(X, "pnorm", p=3), pairdist.pdist(X, "minkowski", p=3))
    np.testing.assert_allclose(pairdist.pdist(X, "mi", p=3), sd.pdist(X, "minkowski", p=3), **tolerance("minkowski", X, p=3))


@pytest.mark.parametrize("weighted", [False, True], ids=["", "w"])
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_braycurtis_on_data_of_both_signs(name, weighted, backend):
    # Centred data: every column holds both signs, so the denominator is summed per pair.
    X = DATASETS[name]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    params = parameters(X, {"w": GIVEN}) if weighted else {}
    half = len(X) // 2
    tol = tolerance("braycurtis", X, **params)
    np.testing.assert_allclose(
        pairdist.cdist(X[:half], X[half:], "braycurtis", backend=backend, **params),
        sd.cdist(X[:half], X[half:], "braycurtis", **params),
        **tol,
    )
    np.testing.assert_allclose(
        pairdist.pdist(X, "braycurtis", backend=backend, **params), sd.pdist(X, "braycurtis", **params), **tol
    )
