"""knn and radius against scikit-learn's brute-force NearestNeighbors and a float64 NumPy
reference: real data sets, ties (duplicate points, integer data), and every block size."""

import numpy as np
import pytest
import scipy.spatial.distance as sd
from conftest import DATASETS, METRICS, engine, tolerance
from sklearn.neighbors import NearestNeighbors

import pairdist

SKLEARN_METRIC = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "cityblock": "manhattan"}


def reference(XA, XB, metric, own):
    """The float64 distance matrix, with each point's own entry out of reach when own."""
    D = sd.cdist(XA, XB, metric)
    if own:
        np.fill_diagonal(D, np.inf)
    return D


def check_knn(dist, idx, XA, XB, k, metric, own=False):
    """Tie-tolerant: the j-th neighbour given is at the j-th smallest true distance (within
    tolerance), its distance is its true distance, and no index repeats."""
    D = reference(XA, XB, metric, own)
    tol = tolerance(metric, XA, XB)
    assert dist.shape == idx.shape == (len(XA), k)
    assert idx.dtype == np.int64 and dist.dtype == np.float64
    assert np.all(np.sort(idx, axis=1)[:, 1:] != np.sort(idx, axis=1)[:, :-1]), "an index repeats"
    true = np.take_along_axis(D, idx, axis=1)
    np.testing.assert_allclose(dist, true, **tol)
    np.testing.assert_allclose(true, np.sort(D, axis=1)[:, :k], **tol)
    assert np.all(np.diff(dist, axis=1) >= 0), "distances not ascending"


def exact_order(XA, XB, k, metric, own=False):
    """Indices by (distance, index), for data whose distances are exact in float32."""
    D = reference(XA, XB, metric, own)
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)[:, :k]
    return np.take_along_axis(D, order, axis=1), order


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_knn_matches_scikit_learn(name, metric, backend):
    X = DATASETS[name]
    XA, XB = X[::3], np.delete(X, np.s_[::3], axis=0)
    k = 7
    dist, idx = pairdist.knn(XA, XB, k=k, metric=metric, backend=backend)
    check_knn(dist, idx, XA, XB, k, metric)
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=SKLEARN_METRIC[metric]).fit(XB)
    sk_dist, sk_idx = nn.kneighbors(XA)
    tol = tolerance(metric, X)
    np.testing.assert_allclose(dist, sk_dist, **tol)
    # Where the indices differ, they are ties: the same true distance.
    D = sd.cdist(XA, XB, metric)
    np.testing.assert_allclose(np.take_along_axis(D, idx, 1), np.take_along_axis(D, sk_idx, 1), **tol)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_knn_graph_matches_scikit_learn(name, metric, backend):
    X = DATASETS[name]
    k = 5
    dist, idx = pairdist.knn(X, k=k, metric=metric, backend=backend)
    check_knn(dist, idx, X, X, k, metric, own=True)
    assert not np.any(idx == np.arange(len(X))[:, None]), "a point is in its own list"
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=SKLEARN_METRIC[metric]).fit(X)
    sk_dist, _ = nn.kneighbors()  # without X: each point left out of its own list
    np.testing.assert_allclose(dist, sk_dist, **tolerance(metric, X))


@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock"])
def test_knn_ties_go_to_the_smaller_index_exactly_on_integer_data(metric, backend):
    # Digits: integer pixels 0..16, many equal distances and duplicate images.
    X = DATASETS["digits"]
    dist, idx = pairdist.knn(X[:300], X, k=10, metric=metric, backend=backend)
    want_dist, want_idx = exact_order(X[:300], X, 10, metric)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)
    dist, idx = pairdist.knn(X, k=10, metric=metric, backend=backend)
    want_dist, want_idx = exact_order(X, X, 10, metric, own=True)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)


def test_duplicate_points_find_each_other(backend):
    base = np.random.default_rng(5).integers(0, 50, (40, 3)).astype(float)
    X = np.repeat(base, 3, axis=0)  # every point three times: rows 3p, 3p+1, 3p+2
    dist, idx = pairdist.knn(X, k=2, metric="cityblock", backend=backend)
    copies = (np.arange(len(X)) // 3 * 3)[:, None] + np.arange(3)
    others = np.array([[c for c in row if c != i] for i, row in enumerate(copies)])
    np.testing.assert_array_equal(idx, others)
    np.testing.assert_array_equal(dist, 0)
    # Against a base holding the query itself: its duplicates tie at 0, smaller index first.
    dist, idx = pairdist.knn(X[::3], X, k=3, metric="euclidean", backend=backend)
    np.testing.assert_array_equal(idx, copies[::3])


@pytest.mark.parametrize("own", [False, True], ids=["XB", "self"])
@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock"])
def test_knn_tiles_of_every_size_give_the_exact_answer(metric, own, small_tiles, backend):
    rng = np.random.default_rng(2)
    XA = rng.integers(0, 6, (41, 4)).astype(float)  # few values: many ties
    XB = XA if own else rng.integers(0, 6, (29, 4)).astype(float)
    for k in (1, 4, 28):
        dist, idx = engine(backend).knn(XA, None if own else XB, k=k, metric=metric)
        want_dist, want_idx = exact_order(XA, XB, k, metric, own)
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_array_equal(dist, want_dist)


def test_knn_float32_and_nan(backend):
    X = DATASETS["iris"].copy()
    X[3, 1] = np.nan
    dist, idx = pairdist.knn(X, k=149, dtype=np.float32, backend=backend)
    assert dist.dtype == np.float32
    # NaN distances come last, by index: the row with NaN has only NaN distances.
    assert np.all(np.isnan(dist[3])) and list(idx[3]) == [i for i in range(150) if i != 3]
    assert np.isnan(dist[0, -1]) and idx[0, -1] == 3


def check_pairs(rows, cols, dist, XA, XB, r, metric, own=False):
    """Sorted, unique, each distance true, every pair clearly within r found and none clearly
    outside; pairs within tolerance of r may go either way."""
    tol = tolerance(metric, XA, XB)
    D = sd.cdist(XA, XB, metric)
    assert rows.dtype == cols.dtype == np.int64 and dist.dtype == np.float64
    assert np.all(np.lexsort((cols, rows)) == np.arange(len(rows))), "not sorted by row, column"
    assert len(set(zip(rows.tolist(), cols.tolist()))) == len(rows), "a pair repeats"
    if own:
        assert np.all(cols > rows)
    np.testing.assert_allclose(dist, D[rows, cols], **tol)
    assert np.all(dist <= np.float32(r))
    found = np.zeros(D.shape, bool)
    found[rows, cols] = True
    slack = tol["atol"] + tol["rtol"] * r
    wanted = D <= r - slack
    if own:
        wanted = np.triu(wanted, 1)
    assert not np.any(wanted & ~found), "a pair within r is missing"
    assert not np.any(found & (D > r + slack)), "a pair beyond r was found"
    return found


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_radius_matches_scikit_learn(name, metric, backend):
    X = DATASETS[name]
    XA, XB = X[::2], X[1::2]
    r = float(np.quantile(sd.pdist(X[::5], metric), 0.02))
    rows, cols, dist = pairdist.radius(XA, XB, r=r, metric=metric, backend=backend)
    assert len(rows) > 0
    found = check_pairs(rows, cols, dist, XA, XB, r, metric)
    nn = NearestNeighbors(radius=r, algorithm="brute", metric=SKLEARN_METRIC[metric]).fit(XB)
    graph = nn.radius_neighbors_graph(XA, mode="distance").toarray() > 0
    sk = np.zeros_like(found)
    sk_dist, sk_idx = nn.radius_neighbors(XA)
    for i, neighbours in enumerate(sk_idx):
        sk[i, neighbours] = True
    D = sd.cdist(XA, XB, metric)
    tol = tolerance(metric, X)
    differ = found != sk
    assert np.all(np.abs(D[differ] - r) <= tol["atol"] + tol["rtol"] * r), "differs from scikit-learn away from r"
    assert np.all(graph <= sk)
    # Each query's neighbours in scikit-learn's per-row form, by the recipe in the docstring.
    per_row = np.split(cols, np.searchsorted(rows, np.arange(1, len(XA))))
    assert len(per_row) == len(XA)
    assert all(set(p.tolist()) == set(np.flatnonzero(found[i]).tolist()) for i, p in enumerate(per_row))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", sorted(DATASETS))
def test_radius_of_x_with_itself(name, metric, backend):
    X = DATASETS[name]
    r = float(np.quantile(sd.pdist(X[::5], metric), 0.02))
    rows, cols, dist = pairdist.radius(X, r=r, metric=metric, backend=backend)
    check_pairs(rows, cols, dist, X, X, r, metric, own=True)


@pytest.mark.parametrize("own", [False, True], ids=["XB", "self"])
def test_radius_tiles_of_every_size_give_the_exact_answer(own, small_tiles, backend):
    rng = np.random.default_rng(9)
    XA = rng.integers(0, 5, (43, 3)).astype(float)
    XB = XA if own else rng.integers(0, 5, (31, 3)).astype(float)
    for r in (0.0, 2.0, 100.0):
        rows, cols, dist = engine(backend).radius(XA, None if own else XB, r=r, metric="cityblock")
        D = sd.cdist(XA, XB, "cityblock")
        within = np.triu(D <= r, 1) if own else D <= r
        want_rows, want_cols = np.nonzero(within)  # row-major: sorted by row, then column
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(cols, want_cols)
        np.testing.assert_array_equal(dist, D[want_rows, want_cols])
        # The cap counts exactly the pairs of the answer, never the ones a tile drops.
        n = len(rows)
        assert len(engine(backend).radius(XA, None if own else XB, r=r, metric="cityblock", max_pairs=n)[0]) == n
        if n:
            with pytest.raises(ValueError, match=f"more than {n - 1} pairs are within r"):
                engine(backend).radius(XA, None if own else XB, r=r, metric="cityblock", max_pairs=n - 1)


def test_radius_sqeuclidean_takes_a_squared_radius_and_float32(backend):
    X = DATASETS["iris"]
    a = pairdist.radius(X, r=0.25, metric="sqeuclidean", backend=backend)
    b = pairdist.radius(X, r=0.5, metric="euclidean", dtype="float32", backend=backend)
    assert b[2].dtype == np.float32
    # Pairs away from the boundary agree; both checked against float64 on their own terms.
    check_pairs(*a, X, X, 0.25, "sqeuclidean", own=True)
    check_pairs(b[0], b[1], b[2].astype(np.float64), X, X, 0.5, "euclidean", own=True)


def test_empty_answers(backend):
    X = DATASETS["iris"]
    rows, cols, dist = pairdist.radius(X + 1000, X, r=1.0, backend=backend)
    assert rows.shape == cols.shape == dist.shape == (0,)
    dist, idx = pairdist.knn(np.zeros((0, 4)), X, k=3, backend=backend)
    assert dist.shape == idx.shape == (0, 3)


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "cosine", "mahalanobis"])
def test_an_index_answers_as_knn_and_scikit_learn(metric, backend):
    from sklearn.neighbors import NearestNeighbors

    X = DATASETS["wine"]
    queries, base = X[::4], np.delete(X, np.s_[::4], axis=0)
    index = pairdist.Index(base, metric, engine=engine(backend))
    assert len(index) == len(base) and index.dim == X.shape[1] and index.resident == (backend == "gpu")
    # Defaults of the base alone, as scikit-learn fits them (mahalanobis: VI of the base).
    params = {"VI": np.linalg.inv(np.cov(base.T))} if metric == "mahalanobis" else {}
    for batch in (queries[:20], queries[20:]):
        dist, idx = index.knn(batch, k=5)
        want_dist, want_idx = engine(backend).knn(batch, base, k=5, metric=metric, **params)
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_allclose(dist, want_dist, rtol=1e-6, atol=1e-9)
        sk = NearestNeighbors(n_neighbors=5, algorithm="brute", metric=metric, metric_params=params or None)
        sk_dist, _ = sk.fit(base).kneighbors(batch)
        np.testing.assert_allclose(dist, sk_dist, **tolerance(metric, X, **params))
        nearest, nearest_dist = index.argmin(batch)
        np.testing.assert_array_equal(nearest, idx[:, 0])
        if params:
            continue  # VI given to knn differs from the index's own by rounding: edges may move
        rows, cols, d = index.radius(batch, r=float(np.median(dist[:, -1])))
        want = engine(backend).radius(batch, base, r=float(np.median(dist[:, -1])), metric=metric)
        np.testing.assert_array_equal(rows, want[0])
        np.testing.assert_array_equal(cols, want[1])
    with pytest.raises(ValueError, match="same number of columns"):
        index.knn(queries[:, :3], k=1)


def test_argmin_is_the_nearest_centre(backend):
    X = DATASETS["iris"]
    centres = X[::30]
    nearest, dist = pairdist.argmin(X, centres, "sqeuclidean", backend=backend)
    D = sd.cdist(X, centres, "sqeuclidean")
    np.testing.assert_array_equal(nearest, np.argmin(D, axis=1))
    np.testing.assert_allclose(dist, D.min(axis=1), **tolerance("sqeuclidean", X))
    assert nearest.shape == dist.shape == (len(X),)


def test_stats_count_what_the_engine_moved(backend):
    e = pairdist.Engine(backend)
    X = DATASETS["digits"].astype(np.float32)
    before = e.stats()
    e.cdist(X, X, dtype=np.float32)
    after = e.stats()
    assert after["jobs"] - before["jobs"] == 1 and after["pairs"] - before["pairs"] == len(X) ** 2
    if backend == "gpu":
        assert after["bytes_read_back"] - before["bytes_read_back"] == 4 * len(X) ** 2
        assert after["bytes_uploaded"] > before["bytes_uploaded"] and after["dispatches"] > before["dispatches"]
    else:
        assert after["bytes_uploaded"] == after["bytes_read_back"] == 0


def test_threads_are_the_callers_choice():
    one = pairdist.Engine("cpu", threads=1)
    assert one.threads == 1 and "1 threads" in one.device
    X = DATASETS["wine"]
    np.testing.assert_array_equal(one.cdist(X, X), pairdist.cdist(X, X, backend="cpu"))
    np.testing.assert_array_equal(pairdist.cdist(X, X, backend="cpu", threads=1), one.cdist(X, X))
    with pytest.raises(ValueError, match="threads must be at least 1"):
        pairdist.Engine("cpu", threads=0)


def test_argmin_is_the_librarys_own(backend):
    # Bound in the extension (it was knn with k = 1 in Python).
    assert hasattr(pairdist._pairdist.Engine, "argmin") and hasattr(pairdist._pairdist.Index, "argmin")
    X = DATASETS["digits"][:400]
    centres = X[::37]
    D = sd.cdist(X, centres, "sqeuclidean")
    want = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)[:, 0]
    idx, dist = pairdist.argmin(X, centres, "sqeuclidean", backend=backend)
    assert idx.shape == dist.shape == (len(X),) and idx.dtype == np.int64 and dist.dtype == np.float64
    np.testing.assert_array_equal(idx, want)
    np.testing.assert_array_equal(dist, D[np.arange(len(X)), want])
    idx, dist = pairdist.Index(centres, "sqeuclidean", backend=backend).argmin(X, dtype=np.float32)
    np.testing.assert_array_equal(idx, want)
    assert dist.dtype == np.float32
    with pytest.raises(ValueError, match="at least one point in XB"):
        pairdist.argmin(X, X[:0], backend=backend)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_knn_fills_out(dtype, backend):
    X = DATASETS["wine"]
    D = sd.cdist(X[:40], X)
    big_d = np.full((80, 5), -1.0, dtype)
    big_i = np.full((80, 5), -1, np.int64)
    out = (big_d[::2], big_i[::2])  # strided slices of larger arrays
    got = pairdist.knn(X[:40], X, k=5, out=out, backend=backend)
    assert got[0] is out[0] and got[1] is out[1]
    np.testing.assert_allclose(out[0], np.sort(D, axis=1)[:, :5], rtol=1e-12 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(np.take_along_axis(D, out[1], 1), np.sort(D, axis=1)[:, :5], rtol=1e-6)
    assert np.all(big_d[1::2] == -1) and np.all(big_i[1::2] == -1)
    index = pairdist.Index(X, backend=backend)
    out2 = (np.empty((40, 5), dtype), np.empty((40, 5), np.int64))
    index.knn(X[:40], k=5, out=out2)
    np.testing.assert_array_equal(out2[1], out[1])


def test_knn_out_is_checked():
    X = DATASETS["iris"]
    good = lambda: (np.empty((150, 3)), np.empty((150, 3), np.int64))  # noqa: E731
    cases = [
        (np.empty((150, 3)), TypeError, "out must be a tuple"),
        ((np.empty((150, 3)),), TypeError, "out must be a tuple"),
        ((np.empty((150, 3)), [[0] * 3] * 150), TypeError, "indices must be a NumPy array"),
        ((np.empty((150, 4)), np.empty((150, 3), np.int64)), ValueError, "distances array has incorrect shape"),
        ((np.empty((150, 3)), np.empty((150, 3), np.int32)), ValueError, "indices array must be int64"),
        ((np.empty((150, 3), np.int64), np.empty((150, 3), np.int64)), ValueError, "distances array must be float64 or float32"),
        ((np.empty((150, 3), ">f8"), np.empty((150, 3), np.int64)), ValueError, "native byte order"),
    ]
    ro = good()
    ro[0].flags.writeable = False
    cases.append((ro, ValueError, "distances array is read-only"))
    shared = np.empty((150, 3), np.int64)
    cases.append(((shared.view(np.float64), shared), ValueError, "overlap"))
    for out, error, message in cases:
        with pytest.raises(error, match=message):
            pairdist.knn(X, k=3, out=out, backend="cpu")
    with pytest.raises(ValueError, match="out is float64 but dtype=float32"):
        pairdist.knn(X, k=3, out=good(), dtype=np.float32, backend="cpu")
