"""pairdist.sklearn: scikit-learn's estimator checks, and agreement with scikit-learn's own
``algorithm="brute"`` and with float64 references (SciPy's cdist of the same values) on
scikit-learn's bundled data sets, exact ties, radius searches, graphs, and every hand-over to
scikit-learn's own search."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.spatial.distance as sd
from conftest import DATASETS, EPS32
from sklearn import neighbors as skn
from sklearn.exceptions import DataConversionWarning
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from pairdist.sklearn import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors
from pairdist.sklearn import neighbors as pn

# scikit-learn's metric name, its constructor arguments, SciPy's name and parameters.
RNG = np.random.default_rng(23)


def metric_cases(X):
    """(id, estimator kwargs, SciPy metric, SciPy kwargs) for points like X."""
    d = X.shape[1]
    V = X.var(axis=0, ddof=1) + 1e-3  # digits has constant pixels
    VI = np.linalg.inv(np.cov(X.T) + np.eye(d))
    w = np.linspace(0.5, 2.0, d)
    return [
        ("euclidean", {"metric": "euclidean"}, "euclidean", {}),
        ("minkowski-p2", {}, "euclidean", {}),  # scikit-learn's default
        ("l2", {"metric": "l2"}, "euclidean", {}),
        ("manhattan", {"metric": "manhattan"}, "cityblock", {}),
        ("l1", {"metric": "l1"}, "cityblock", {}),
        ("cityblock", {"metric": "cityblock"}, "cityblock", {}),
        ("chebyshev", {"metric": "chebyshev"}, "chebyshev", {}),
        ("minkowski-p3", {"metric": "minkowski", "p": 3}, "minkowski", {"p": 3}),
        ("minkowski-p1.5-w", {"metric": "minkowski", "p": 1.5, "metric_params": {"w": w}}, "minkowski", {"p": 1.5, "w": w}),
        ("minkowski-inf", {"metric": "minkowski", "p": np.inf}, "chebyshev", {}),
        ("sqeuclidean", {"metric": "sqeuclidean"}, "sqeuclidean", {}),
        ("cosine", {"metric": "cosine"}, "cosine", {}),
        ("correlation", {"metric": "correlation"}, "correlation", {}),
        ("braycurtis", {"metric": "braycurtis"}, "braycurtis", {}),
        ("canberra", {"metric": "canberra"}, "canberra", {}),
        ("hamming", {"metric": "hamming"}, "hamming", {}),
        ("seuclidean", {"metric": "seuclidean", "metric_params": {"V": V}}, "seuclidean", {"V": V}),
        ("mahalanobis", {"metric": "mahalanobis", "metric_params": {"VI": VI}}, "mahalanobis", {"VI": VI}),
    ]


def tolerance(scipy_metric, dtype, X, kwargs):
    """rtol, atol of pairdist against SciPy's float64 answer for the same values: 1e-12 relative
    in float64; in float32 1e-6 relative for the metrics computed on differences, plus an
    absolute term where float32 cannot do better: 1 - cos (cosine, correlation) cancels, and
    seuclidean and mahalanobis compute on points transformed (rounded) once, so their error
    scales with the transformed coordinates, not with the distance."""
    if dtype == np.float64:
        return {"rtol": 1e-12, "atol": 1e-12 if scipy_metric in ("cosine", "correlation") else 0.0}
    if scipy_metric in ("cosine", "correlation"):
        return {"rtol": 1e-6, "atol": 1e-6}
    if scipy_metric == "seuclidean":
        scale = np.max(np.abs(X)) / np.sqrt(np.min(kwargs["V"]))
        return {"rtol": 1e-6, "atol": 4 * np.sqrt(X.shape[1]) * EPS32 * scale}
    if scipy_metric == "mahalanobis":
        VI = kwargs["VI"]
        scale = np.max(np.abs(X)) * np.sqrt(X.shape[1] * np.max(np.linalg.eigvalsh(VI)))
        return {"rtol": 1e-6, "atol": 4 * np.sqrt(X.shape[1]) * EPS32 * scale}
    return {"rtol": 1e-6, "atol": 0.0}


def check_neighbours(dist, ind, D, k, tol, exact=False):
    """Tie-tolerant correctness against the float64 matrix D: the j-th neighbour is at the
    j-th smallest true distance, its distance is its true distance, no index repeats; with
    ``exact`` (distances exact whatever the order of the arithmetic: counts, small integers),
    among equal distances the smaller index comes first."""
    assert dist.shape == ind.shape == (D.shape[0], k)
    assert ind.dtype == np.int64
    s = np.sort(ind, axis=1)
    assert np.all(s[:, 1:] != s[:, :-1]), "an index repeats"
    true = np.take_along_axis(D, ind, axis=1)
    np.testing.assert_allclose(dist, true, **tol)
    np.testing.assert_allclose(true, np.sort(D, axis=1)[:, :k], **tol)
    assert np.all(np.diff(dist, axis=1) >= 0), "distances not ascending"
    if exact:
        tied = np.diff(true, axis=1) == 0
        assert np.all(np.diff(ind, axis=1)[tied] > 0), "exact ties not in index order"


def same_neighbours_as(ind, ind_ref, dist_ref, tol):
    """The neighbours strictly closer than each row's k-th distance (beyond tolerance) are the
    same as scikit-learn's: only the tie group at the k-th place may be cut differently."""
    kth = dist_ref[:, -1:]
    margin = tol["rtol"] * np.abs(kth) + tol["atol"]
    for row in range(len(ind)):
        inside = dist_ref[row] < kth[row] - margin[row]
        assert set(ind_ref[row][inside]) <= set(ind[row]), f"row {row}"


# ---------------------------------------------------------------- scikit-learn's own checks


@parametrize_with_checks(
    [Estimator(backend=backend) for backend in ("cpu", "gpu") for Estimator in (NearestNeighbors, KNeighborsClassifier, KNeighborsRegressor)]
)
def test_sklearn_estimator_checks(estimator, check):
    """scikit-learn's check_estimator, one check at a time, on the CPU and on a GPU adapter
    (none marked as expected to fail; skipped only: the array-API and pandas checks, where
    those are not installed, and the classifier's decision_function, which it has not)."""
    check(estimator)


@pytest.mark.parametrize("Estimator", [NearestNeighbors, KNeighborsClassifier, KNeighborsRegressor])
def test_estimator_checks_run_pairdist(Estimator, monkeypatch):
    """The checks above fit pairdist's index, and the classifier's and regressor's checks
    query it (a silent hand-over to scikit-learn's search would leave them passing).
    NearestNeighbors has no predict for the checks to call: the tests below query it."""
    from sklearn.utils.estimator_checks import check_estimator

    fits, queries = [], []
    init, knn = pn._Search.__init__, pn._Search.knn
    monkeypatch.setattr(pn._Search, "__init__", lambda self, *a: fits.append(1) or init(self, *a))
    monkeypatch.setattr(pn._Search, "knn", lambda self, Q, k: queries.append(k) or knn(self, Q, k))
    check_estimator(Estimator(backend="cpu"))
    assert len(fits) > 20
    if Estimator is not NearestNeighbors:
        assert len(queries) > 20


def test_import_pairdist_never_imports_sklearn():
    code = "import sys, pairdist; pairdist.cdist([[0.0]], [[1.0]]); assert 'sklearn' not in sys.modules, sorted(m for m in sys.modules if 'sklearn' in m)"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- agreement on real data


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["iris", "digits", "wine"])
def test_kneighbors_agree_with_sklearn_brute(name, dtype):
    """Every metric: pairdist's kneighbors (with queries, and without: each point against the
    others) against SciPy's float64 distances of the same values and against scikit-learn's
    brute force (the same distances, the same neighbours but for ties at the k-th place)."""
    X = DATASETS[name].astype(dtype)
    base, queries = X[::2], X[1::2]
    k = 7
    for case, kwargs, scipy_metric, scipy_kwargs in metric_cases(base.astype(np.float64)):
        ours = NearestNeighbors(n_neighbors=k, backend="cpu", **kwargs).fit(base)
        assert ours._pairdist_search_ is not None, case
        ref = skn.NearestNeighbors(n_neighbors=k, algorithm="brute", **kwargs).fit(base)
        tol = tolerance(scipy_metric, dtype, base, scipy_kwargs)
        for Q, own in ((queries, False), (None, True)):
            dist, ind = ours.kneighbors(Q)
            dist_ref, ind_ref = ref.kneighbors(Q)
            D = sd.cdist(base if own else Q, base, scipy_metric, **scipy_kwargs)
            if own:
                np.fill_diagonal(D, np.inf)
            try:
                check_neighbours(dist, ind, D, k, tol)
                assert dist.dtype == dist_ref.dtype
                if not (scipy_metric == "cosine" and dtype == np.float32):
                    # scikit-learn's own float32 cosine is only good to about 1e-2 relative;
                    # its euclidean, |x|^2 + |y|^2 - 2 x.y, to about 1e-11 on wine.
                    rtol = tol["rtol"] + (1e-10 if scipy_metric in ("euclidean", "sqeuclidean") else 1e-12)
                    np.testing.assert_allclose(dist, dist_ref, rtol=rtol, atol=tol["atol"] + 1e-12)
                same_neighbours_as(ind, ind_ref, np.take_along_axis(D, ind_ref, axis=1), tol)
            except AssertionError as error:
                raise AssertionError(f"{name} {case} own={own}: {error}") from None


def test_boolean_metrics_convert_as_sklearn():
    """The boolean metrics turn the points into booleans, with scikit-learn's warning, and then
    answer SciPy's boolean distances (exact: counts)."""
    X = (DATASETS["digits"][:300] > 6).astype(np.float64)
    base, queries = X[::2], X[1::2]
    for metric in ["jaccard", "dice", "rogerstanimoto", "russellrao", "sokalsneath", "yule"]:
        ours = NearestNeighbors(n_neighbors=5, metric=metric, backend="cpu").fit(base)
        assert ours._pairdist_search_ is not None, metric
        with pytest.warns(DataConversionWarning, match=f"converted to boolean for metric {metric}"):
            dist, ind = ours.kneighbors(queries)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # boolean points: no conversion, no warning
            ours_bool = NearestNeighbors(n_neighbors=5, metric=metric, backend="cpu").fit(base.astype(bool))
            dist_bool, ind_bool = ours_bool.kneighbors(queries.astype(bool))
        D = sd.cdist(queries.astype(bool), base.astype(bool), metric)
        D = np.where(np.isnan(D), np.inf, D)  # yule of constant rows (SciPy's NaN) sorted last
        dist = np.where(np.isnan(dist), np.inf, dist)
        check_neighbours(dist, ind, D, 5, {"rtol": 1e-15, "atol": 0.0}, exact=True)
        np.testing.assert_array_equal(ind_bool, ind)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataConversionWarning)
            dist_ref, _ = skn.NearestNeighbors(n_neighbors=5, algorithm="brute", metric=metric).fit(base).kneighbors(queries)
        np.testing.assert_allclose(dist, np.where(np.isnan(dist_ref), np.inf, dist_ref), rtol=1e-15)


# ---------------------------------------------------------------- exact ties


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev", "sqeuclidean", "hamming"])
def test_exact_ties_in_index_order(metric, dtype):
    """Points on a small integer grid (duplicates, and many equal distances, all exact in
    float32): neighbours by (distance, index); without X, each point dropped from its own list
    by scikit-learn's rule; the same distances as scikit-learn's brute force (its order among
    exact ties is its heap's, so indices are compared as sets of the ties' values)."""
    X = RNG.integers(0, 3, (60, 3)).astype(dtype)
    k = 12
    ours = NearestNeighbors(n_neighbors=k, metric=metric, backend="cpu").fit(X)
    ref = skn.NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute").fit(X)
    scipy_metric = {"manhattan": "cityblock"}.get(metric, metric)
    D = sd.cdist(X, X, scipy_metric)
    order = np.lexsort((np.broadcast_to(np.arange(60), D.shape), D), axis=1)

    dist, ind = ours.kneighbors(X[:20])
    np.testing.assert_array_equal(ind, order[:20, :k])
    # Exact in float64; float32 counts over d (hamming) rounded once.
    rtol = 0.0 if dtype == np.float64 else EPS32
    np.testing.assert_allclose(dist, np.take_along_axis(D[:20], ind, axis=1), rtol=rtol, atol=0)
    np.testing.assert_allclose(dist, ref.kneighbors(X[:20])[0], rtol=rtol, atol=0)

    # Without X: k + 1 in stable order, each point's own index dropped, else the first (when
    # more than k + 1 duplicates come before it): scikit-learn's rule on the stable order.
    first = order[:, : k + 1]
    mask = first != np.arange(60)[:, None]
    mask[np.all(mask, axis=1), 0] = False
    dist, ind = ours.kneighbors()
    np.testing.assert_array_equal(ind, first[mask].reshape(60, k))
    np.testing.assert_allclose(dist, ref.kneighbors()[0], rtol=rtol, atol=0)


def test_more_duplicates_than_neighbours():
    """Ten copies of one point and k = 3: its neighbours without X are three other copies at
    distance 0, as scikit-learn gives them."""
    X = np.vstack([np.zeros((10, 2)), RNG.random((5, 2)) + 1])
    dist, ind = NearestNeighbors(n_neighbors=3, backend="cpu").fit(X).kneighbors()
    np.testing.assert_array_equal(dist[:10], 0.0)
    assert all(row not in ind[row] and set(ind[row]) <= set(range(10)) for row in range(10))
    np.testing.assert_array_equal(ind[:3], [[1, 2, 3], [0, 2, 3], [0, 1, 3]])
    np.testing.assert_array_equal(ind[5], [1, 2, 3])  # itself not in the first 4: the first dropped
    want = skn.NearestNeighbors(n_neighbors=3, algorithm="brute").fit(X).kneighbors()[0]
    np.testing.assert_allclose(dist, want, rtol=1e-10, atol=0)  # scikit-learn's |x|^2 + |y|^2 - 2 x.y


# ---------------------------------------------------------------- radius and graphs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("metric,radius", [("euclidean", 1.0), ("manhattan", 2.0), ("sqeuclidean", 0.5), ("cosine", 0.002)])
def test_radius_neighbors_agree_with_sklearn_brute(metric, radius, dtype):
    X = DATASETS["iris"].astype(dtype)
    base, queries = X[::2], X[1::2]
    ours = NearestNeighbors(radius=radius, metric=metric, backend="cpu").fit(base)
    ref = skn.NearestNeighbors(radius=radius, metric=metric, algorithm="brute").fit(base)
    scipy_metric = {"manhattan": "cityblock"}.get(metric, metric)
    for Q in (queries, None):
        D = sd.cdist(base if Q is None else Q, base, scipy_metric)
        dist, ind = ours.radius_neighbors(Q)
        dist_ref, ind_ref = ref.radius_neighbors(Q)
        assert dist.dtype == ind.dtype == object and len(ind) == len(D)
        tol = 1e-6 if dtype == np.float32 else 1e-12
        for row in range(len(D)):
            assert ind[row].dtype == np.int64 and np.all(np.diff(ind[row]) > 0)  # index order
            expected = np.flatnonzero(D[row] <= radius)
            if Q is None:
                expected = expected[expected != row]
            # A pair within float32 rounding of the boundary may fall either side.
            near = np.abs(D[row] - radius) <= tol * radius + 1e-6 * (metric == "cosine")
            assert set(ind[row]) ^ set(expected) <= set(np.flatnonzero(near)), row
            assert set(ind[row]) ^ set(ind_ref[row]) <= set(np.flatnonzero(near)), row
            np.testing.assert_allclose(dist[row], D[row, ind[row]], rtol=tol, atol=1e-6 * (metric == "cosine"))
        # sort_results: by distance, exact ties (integer-like iris differences) by index.
        sdist, sind = ours.radius_neighbors(Q, sort_results=True)
        for row in range(len(D)):
            np.testing.assert_array_equal(np.sort(sind[row]), ind[row])
            key = D[row, sind[row]]
            assert np.all(np.diff(sdist[row]) >= 0)
            assert np.all((np.diff(key) > 0) | ((np.diff(key) == 0) & (np.diff(sind[row]) > 0)) | (np.abs(np.diff(key)) < 1e-6))


def test_graphs_agree_with_sklearn():
    """kneighbors_graph and radius_neighbors_graph, both modes, on tie-free data (digits plus
    noise): CSR matrices equal to scikit-learn's brute force."""
    X = DATASETS["digits"][:400] + RNG.normal(0, 1e-3, (400, 64))
    ours = NearestNeighbors(n_neighbors=6, radius=20.0, backend="cpu").fit(X[:300])
    ref = skn.NearestNeighbors(n_neighbors=6, radius=20.0, algorithm="brute").fit(X[:300])
    for Q in (X[300:], None):
        for mode in ("connectivity", "distance"):
            for method, kwargs in (("kneighbors_graph", {}), ("radius_neighbors_graph", {"sort_results": mode == "distance"})):
                A = getattr(ours, method)(Q, mode=mode, **kwargs)
                B = getattr(ref, method)(Q, mode=mode, **kwargs)
                assert sp.issparse(A) and A.format == "csr" and A.shape == B.shape
                assert A.nnz == B.nnz > 0
                np.testing.assert_allclose(A.toarray(), B.toarray(), rtol=1e-12)


# ---------------------------------------------------------------- types, hand-overs, errors


def test_float32_base_with_float64_queries_computes_in_float64():
    """scikit-learn computes in float32 only when both sides are; so does the estimator."""
    X = DATASETS["wine"]
    base = X[::2].astype(np.float32)
    ours = NearestNeighbors(n_neighbors=4, backend="cpu").fit(base)
    dist, ind = ours.kneighbors(X[1::2])
    D = sd.cdist(X[1::2], base.astype(np.float64))
    check_neighbours(dist, ind, D, 4, {"rtol": 1e-12, "atol": 0.0})


def test_integer_points_compute_in_float64():
    X = RNG.integers(-1000, 1000, (200, 5))
    ours = NearestNeighbors(n_neighbors=4, metric="cosine", backend="cpu").fit(X)
    dist, ind = ours.kneighbors(X[:50] + 1)
    check_neighbours(dist, ind, sd.cdist(X[:50] + 1, X, "cosine"), 4, {"rtol": 1e-12, "atol": 1e-14})


def _handed_over(estimator, monkeypatch):
    """Fails the test if pairdist's search answers (it must be scikit-learn's)."""

    def refuse(*args, **kwargs):
        raise AssertionError("pairdist answered a query that scikit-learn's search must answer")

    monkeypatch.setattr(pn._Search, "knn", refuse)
    monkeypatch.setattr(pn._Search, "radius", refuse)
    return estimator


@pytest.mark.parametrize(
    "kwargs,data",
    [
        ({"metric": lambda u, v: float(np.abs(u - v).sum())}, "dense"),
        ({"metric": "haversine"}, "2d"),
        ({"metric": "nan_euclidean"}, "dense"),
        ({"algorithm": "kd_tree"}, "dense"),
        ({"algorithm": "ball_tree", "metric": "manhattan"}, "dense"),
        ({"metric": "euclidean"}, "sparse"),
        ({"metric": "cosine"}, "zero-row"),
        ({"metric": "correlation"}, "constant-row"),
        ({"metric": "braycurtis"}, "negative"),
        ({"metric": "mahalanobis", "metric_params": {"V": np.eye(3) * 2}, "algorithm": "ball_tree"}, "dense"),
    ],
    ids=["callable", "haversine", "nan_euclidean", "kd_tree", "ball_tree", "sparse", "cosine-zero", "correlation-constant", "braycurtis-negative", "mahalanobis-V"],
)
def test_handed_to_sklearn_unchanged(kwargs, data, monkeypatch):
    """What pairdist does not compute (or where scikit-learn's conventions differ from SciPy's)
    is answered by scikit-learn's own search: exactly scikit-learn's answer."""
    X = RNG.random((40, 3)) - (0.5 if data == "negative" else 0.0)
    if data == "2d":
        X = X[:, :2]
    if data == "zero-row":
        X[5] = 0.0
    if data == "constant-row":
        X[5] = 0.25
    if data == "sparse":
        X = sp.csr_matrix(np.where(X > 0.5, X, 0.0))
    ours = NearestNeighbors(n_neighbors=4, radius=0.4, backend="cpu", **kwargs).fit(X)
    ref = skn.NearestNeighbors(n_neighbors=4, radius=0.4, **kwargs).fit(X)
    _handed_over(ours, monkeypatch)
    for Q in (X[:10], None):
        for got, want in zip(ours.kneighbors(Q), ref.kneighbors(Q)):
            np.testing.assert_array_equal(got, want)
        got, want = ours.radius_neighbors(Q), ref.radius_neighbors(Q)
        for a, b in zip(got[1], want[1]):
            np.testing.assert_array_equal(a, b)


def test_zero_query_row_handed_over_only_for_that_query(monkeypatch):
    """A base without zero rows is searched by pairdist; a query holding one (cosine: 1 in
    scikit-learn, NaN in SciPy) is answered by scikit-learn, as scikit-learn answers it."""
    X = RNG.random((40, 3))
    ours = NearestNeighbors(n_neighbors=4, metric="cosine", backend="cpu").fit(X)
    Q = X[:5].copy()
    Q[2] = 0.0
    want = skn.NearestNeighbors(n_neighbors=4, metric="cosine", algorithm="brute").fit(X).kneighbors(Q)
    _handed_over(ours, monkeypatch)
    got = ours.kneighbors(Q)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[0][2], 1.0)


def test_errors_are_sklearns():
    """Bad parameters and calls fail as scikit-learn fails them, with its messages."""
    X = RNG.random((10, 3))
    with pytest.raises(InvalidParameterError, match="'backend' parameter"):
        NearestNeighbors(backend="tpu").fit(X)
    for call in (
        lambda e: e.kneighbors(X, n_neighbors=11),
        lambda e: e.kneighbors(n_neighbors=10),
        lambda e: e.kneighbors(X, n_neighbors=0),
        lambda e: e.kneighbors(X, n_neighbors=2.5),
        lambda e: e.kneighbors(X[:, :2]),
        lambda e: e.kneighbors(np.where(X > 0.5, np.nan, X)),
        lambda e: e.radius_neighbors(X, return_distance=False, sort_results=True),
    ):
        with pytest.raises((ValueError, TypeError)) as ours:
            call(NearestNeighbors(backend="cpu").fit(X))
        with pytest.raises((ValueError, TypeError)) as theirs:
            call(skn.NearestNeighbors(algorithm="brute").fit(X))
        assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))
    # scikit-learn's brute force needs VI (unless the queries are the very array fitted).
    with pytest.raises(ValueError, match="'VI' parameter is required"):
        NearestNeighbors(metric="mahalanobis", algorithm="brute", backend="cpu").fit(X).kneighbors(X.copy())


def test_pickle_and_clone():
    """A fitted estimator pickles (without its index, rebuilt on first use) and answers the
    same after; clone keeps backend."""
    from sklearn.base import clone

    X = DATASETS["iris"]
    nn = NearestNeighbors(n_neighbors=3, backend="cpu", n_jobs=1).fit(X)
    again = pickle.loads(pickle.dumps(nn))
    assert again._pairdist_search_._index is None
    for a, b in zip(nn.kneighbors(X[:20]), again.kneighbors(X[:20])):
        np.testing.assert_array_equal(a, b)
    assert clone(nn).get_params()["backend"] == "cpu"


# ---------------------------------------------------------------- classifier and regressor


def test_classifier_and_regressor_agree_with_sklearn(monkeypatch):
    """Predictions, probabilities and scores as scikit-learn's brute force, on tie-free data
    (digits plus noise), uniform and distance weights, through pairdist's neighbours."""
    data = DATASETS["digits"]
    from sklearn.datasets import load_digits

    y = load_digits().target[: len(data)]
    X = data + RNG.normal(0, 1e-3, data.shape)
    train, test = slice(0, 700), slice(700, None)
    calls = []
    knn = pn._Search.knn
    monkeypatch.setattr(pn._Search, "knn", lambda self, Q, k: calls.append(k) or knn(self, Q, k))
    for weights in ("uniform", "distance"):
        ours = KNeighborsClassifier(n_neighbors=5, weights=weights, backend="cpu").fit(X[train], y[train])
        ref = skn.KNeighborsClassifier(n_neighbors=5, weights=weights, algorithm="brute").fit(X[train], y[train])
        np.testing.assert_array_equal(ours.predict(X[test]), ref.predict(X[test]))
        np.testing.assert_allclose(ours.predict_proba(X[test]), ref.predict_proba(X[test]), rtol=1e-12)
        assert ours.score(X[test], y[test]) == ref.score(X[test], y[test]) > 0.9
        ours = KNeighborsRegressor(n_neighbors=5, weights=weights, backend="cpu").fit(X[train], y[train])
        ref = skn.KNeighborsRegressor(n_neighbors=5, weights=weights, algorithm="brute").fit(X[train], y[train])
        np.testing.assert_allclose(ours.predict(X[test]), ref.predict(X[test]), rtol=1e-12)
    assert len(calls) >= 8


# ---------------------------------------------------------------- GPU (lavapipe in CI)


def test_gpu_backend_agrees_with_sklearn():
    """The same estimator on a GPU adapter: float32 kneighbors, radius and a classifier,
    small (lavapipe is slow)."""
    X = DATASETS["wine"].astype(np.float32)
    base, queries = X[::2], X[1::2]
    ours = NearestNeighbors(n_neighbors=5, radius=40.0, backend="gpu").fit(base)
    assert ours._pairdist_search_.index().engine.backend == "gpu"
    ref = skn.NearestNeighbors(n_neighbors=5, radius=40.0, algorithm="brute").fit(base)
    D = sd.cdist(queries, base)
    dist, ind = ours.kneighbors(queries)
    check_neighbours(dist, ind, D, 5, {"rtol": 1e-6, "atol": 0.0})
    same_neighbours_as(ind, ref.kneighbors(queries)[1], np.take_along_axis(D, ref.kneighbors(queries)[1], axis=1), {"rtol": 1e-6, "atol": 0.0})
    for row, (a, b) in enumerate(zip(ours.radius_neighbors(queries)[1], ref.radius_neighbors(queries)[1])):
        assert set(a) ^ set(b) <= set(np.flatnonzero(np.abs(D[row] - 40.0) <= 40.0 * 1e-6)), row
    y = (base[:, 0] > np.median(base[:, 0])).astype(int)
    clf = KNeighborsClassifier(n_neighbors=3, backend="gpu").fit(base, y)
    np.testing.assert_array_equal(clf.predict(queries), skn.KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(base, y).predict(queries))


def test_docstring_examples():
    import doctest

    result = doctest.testmod(pn, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 3 and result.failed == 0
