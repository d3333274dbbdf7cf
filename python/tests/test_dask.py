"""pairdist.dask on a multi-process local cluster, against SciPy and scikit-learn."""

import numpy as np
import pytest
import scipy.spatial.distance as sd
from conftest import DATASETS, METRICS, tolerance
from sklearn.neighbors import NearestNeighbors

da = pytest.importorskip("dask.array", reason="the Dask tests need dask[array,distributed]")
distributed = pytest.importorskip("dask.distributed")

import pairdist  # noqa: E402
import pairdist.dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # Two worker processes, one thread each: every task runs in another process than the
    # test, with its own pairdist engine.
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=40
    ) as cluster, distributed.Client(cluster) as client:
        yield client


def test_tasks_run_in_the_worker_processes(client):
    import os

    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    # pairdist imports there, and computes there.
    versions = set(client.run(lambda: __import__("pairdist").__version__).values())
    assert versions == {pairdist.__version__}


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", ["digits", "breast_cancer"])
def test_cdist_on_chunks_matches_scipy(name, metric, client):
    X = DATASETS[name]
    XA = da.from_array(X, chunks=(200, 7))  # column chunks too: rechunked to whole points
    XB = da.from_array(X[::2], chunks=(150, -1))
    D = pairdist.dask.cdist(XA, XB, metric)
    assert isinstance(D, da.Array)
    assert D.shape == (len(X), len(X[::2])) and D.dtype == np.float64
    assert D.chunks == (XA.chunks[0], XB.chunks[0])
    # One task per pair of row chunks (plus the tasks that read and rechunk the inputs).
    assert D.numblocks == (XA.numblocks[0], XB.numblocks[0])
    np.testing.assert_allclose(D.compute(), sd.cdist(X, X[::2], metric), **tolerance(metric, X))


def test_cdist_streams_to_disk(tmp_path, client):
    X = DATASETS["digits"]
    XA = da.from_array(X, chunks=(400, -1))
    D = pairdist.dask.cdist(XA, XA, "cityblock", dtype=np.float32)
    assert D.dtype == np.float32
    da.to_npy_stack(tmp_path, D, axis=0)  # one .npy per row chunk, written by the workers
    back = np.concatenate([np.load(tmp_path / f"{i}.npy") for i in range(D.numblocks[0])])
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, sd.cdist(X, X, "cityblock"))  # integer data: exact


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_knn_matches_scikit_learn(name, metric, client):
    X = DATASETS[name]
    queries, base = X[::4], np.delete(X, np.s_[::4], axis=0)
    k = 6
    dist, idx = pairdist.dask.knn(
        da.from_array(queries, chunks=(37, -1)), da.from_array(base, chunks=(50, -1)), k=k, metric=metric
    )
    assert isinstance(dist, da.Array) and isinstance(idx, da.Array)
    dist, idx = client.compute([dist, idx], sync=True)
    assert dist.shape == idx.shape == (len(queries), k) and idx.dtype == np.int64
    sk = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean", "cityblock": "manhattan"}[metric]
    sk_dist, sk_idx = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=sk).fit(base).kneighbors(queries)
    tol = tolerance(metric, X)
    np.testing.assert_allclose(dist, sk_dist, **tol)
    D = sd.cdist(queries, base, metric)
    np.testing.assert_allclose(np.take_along_axis(D, idx, 1), np.take_along_axis(D, sk_idx, 1), **tol)


@pytest.mark.parametrize("split_every", [2, 8])
@pytest.mark.parametrize("own", [False, True], ids=["XB", "self"])
def test_knn_merges_give_exactly_the_single_call_answer(own, split_every, client):
    # Integer data with many ties and duplicates, base chunks smaller than k: the tree of
    # merges must keep the tie rule (distance, then index) of one pairdist.knn call.
    X = DATASETS["digits"][:700]
    queries = X[::3]
    k = 12
    base = None if own else da.from_array(X, chunks=(5, -1))
    dist, idx = pairdist.dask.knn(
        da.from_array(X if own else queries, chunks=(64, -1)), base, k=k, metric="sqeuclidean", split_every=split_every
    )
    dist, idx = client.compute([dist, idx], sync=True)
    want_dist, want_idx = pairdist.knn(X if own else queries, None if own else X, k=k, metric="sqeuclidean")
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)
    # ... which is the float64 reference, exactly: ties by index.
    D = sd.cdist(X if own else queries, X, "sqeuclidean")
    if own:
        np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)[:, :k]
    np.testing.assert_array_equal(idx, order)


def test_knn_float32_and_errors(client):
    X = da.from_array(DATASETS["iris"], chunks=(40, -1))
    dist, idx = pairdist.dask.knn(X, k=3, dtype=np.float32)
    assert dist.dtype == np.float32 and dist.compute().dtype == np.float32
    with pytest.raises(ValueError, match="k = 150 nearest neighbours asked, but X has only 149 other points"):
        pairdist.dask.knn(X, k=150)
    with pytest.raises(ValueError, match="same number of columns"):
        pairdist.dask.cdist(X, X[:, :2])
    with pytest.raises(ValueError, match="Unknown Distance Metric"):
        pairdist.dask.cdist(X, X, "bogus")
    with pytest.raises(ValueError, match="XA must be a 2-dimensional array"):
        pairdist.dask.cdist(X[:, 0], X)


def test_workers_compute_on_the_gpu_backend(client):
    # Each worker process builds its own GPU engine (lavapipe in CI; no GPU is a failure).
    X = DATASETS["wine"]
    XA = da.from_array(X, chunks=(50, -1))
    D = pairdist.dask.cdist(XA, XA[::2], "sqeuclidean", backend="gpu")
    np.testing.assert_allclose(D.compute(), sd.cdist(X, X[::2], "sqeuclidean"), **tolerance("sqeuclidean", X))
    dist, idx = client.compute(list(pairdist.dask.knn(XA, k=3, backend="gpu")), sync=True)
    want_dist, want_idx = pairdist.knn(X, k=3, backend="gpu")
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)
    backends = client.run(lambda: sorted(__import__("pairdist")._engines))
    # The tasks ran on the workers' GPU engines (keyed by backend and thread count).
    assert any(backend == "gpu" for keys in backends.values() for backend, _ in keys)


@pytest.mark.parametrize("metric", ["seuclidean", "mahalanobis"])
@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_cdist_defaults_of_v_and_vi_are_those_of_all_the_points(name, metric, client):
    # SciPy's V and VI come from XA and XB stacked; each block sees only two chunks, so they
    # must be computed once, from everything, and given to every block.
    X = DATASETS[name]
    XA, XB = X[::2], X[1::3]
    D = pairdist.dask.cdist(da.from_array(XA, chunks=(60, 5)), da.from_array(XB, chunks=(45, -1)), metric)
    assert D.numblocks[0] > 1 and D.numblocks[1] > 1
    np.testing.assert_allclose(D.compute(), sd.cdist(XA, XB, metric), **tolerance(metric, XA, XB))
    # The same as one pairdist call on the whole arrays.
    np.testing.assert_allclose(D.compute(), pairdist.cdist(XA, XB, metric), rtol=1e-5, atol=1e-6)


def test_cdist_with_given_parameters(client):
    X = DATASETS["wine"]
    XA = da.from_array(X, chunks=(50, -1))
    w = np.linspace(0.0, 2.0, X.shape[1])
    cases = [
        ("minkowski", {"p": 3, "w": w}),
        ("cosine", {"w": w}),
        ("seuclidean", {"V": X.var(axis=0) * 2}),
        ("seuclidean", {"V": XA.var(axis=0) * 2}),  # a dask array: computed first
        ("mahalanobis", {"VI": np.linalg.inv(np.cov(X.T) + np.eye(X.shape[1]))}),
    ]
    for metric, params in cases:
        reference = {key: np.asarray(value) if key != "p" else value for key, value in params.items()}
        D = pairdist.dask.cdist(XA, XA[::2], metric, **params)
        np.testing.assert_allclose(D.compute(), sd.cdist(X, X[::2], metric, **reference), **tolerance(metric, X, **reference))


@pytest.mark.parametrize("metric", ["seuclidean", "mahalanobis"])
@pytest.mark.parametrize("own", [False, True], ids=["XB", "self"])
def test_knn_defaults_of_v_and_vi_are_those_of_all_the_points(metric, own, client):
    X = DATASETS["breast_cancer"]
    queries, base = X[::4], np.delete(X, np.s_[::4], axis=0)
    XA = X if own else queries
    dist, idx = pairdist.dask.knn(
        da.from_array(XA, chunks=(80, -1)), None if own else da.from_array(base, chunks=(70, -1)), k=5, metric=metric
    )
    dist, idx = client.compute([dist, idx], sync=True)
    # SciPy's defaults: of X alone without XB (as pdist), of the two stacked with it (as cdist).
    points = X if own else np.vstack([queries, base])
    params = {"V": np.var(points, axis=0, ddof=1)} if metric == "seuclidean" else {"VI": np.linalg.inv(np.cov(points.T))}
    D = sd.cdist(XA, X if own else base, metric, **params)
    if own:
        np.fill_diagonal(D, np.inf)
    tol = tolerance(metric, points, **params)
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :5], **tol)
    np.testing.assert_allclose(np.take_along_axis(D, idx, 1), dist, **tol)
    # The same answer as one pairdist call.
    want_dist, want_idx = pairdist.knn(XA, None if own else base, k=5, metric=metric)
    np.testing.assert_allclose(dist, want_dist, rtol=1e-5, atol=1e-6)


def test_parameter_errors_are_raised_when_the_graph_is_built(client):
    X = da.from_array(DATASETS["iris"], chunks=(40, -1))
    with pytest.raises(TypeError, match="metric 'euclidean' takes no p"):
        pairdist.dask.cdist(X, X, "euclidean", p=3)
    with pytest.raises(TypeError, match="metric 'cosine' takes no variances V"):
        pairdist.dask.knn(X, k=2, metric="cosine", V=np.ones(4))
    with pytest.raises(ValueError, match="Weights must have same size as input vector. 2 vs. 4."):
        pairdist.dask.cdist(X, X, "cityblock", w=[1.0, 2.0])
    with pytest.raises(ValueError, match="Input weights should be all non-negative"):
        pairdist.dask.knn(X, k=2, w=[1.0, -2.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="VI is 3 x 3 but the points have 4 dimensions"):
        pairdist.dask.cdist(X, X, "mahalanobis", VI=np.eye(3))
    with pytest.raises(ValueError, match=r"The number of observations \(4\) is too small"):
        pairdist.dask.cdist(X[:2], X[:2], "mahalanobis")
    with pytest.raises(ValueError, match=r"p must be greater than 0"):
        pairdist.dask.knn(X, k=2, metric="minkowski", p=0)


def _unknown_chunks(X, chunks):
    """X as a dask array whose row-chunk sizes are unknown (NaN), as after a boolean mask."""
    x = da.from_array(X, chunks=(chunks, -1))
    return x[da.ones(len(X), dtype=bool, chunks=chunks)]


@pytest.mark.parametrize("own", [False, True], ids=["XB", "self"])
def test_knn_on_chunks_of_unknown_size(own, client):
    # 0.1: "cannot convert float NaN to integer" (the chunks' starts were cumulative sums of NaN).
    X = DATASETS["wine"]
    XA = _unknown_chunks(X, 40)
    assert np.isnan(XA.shape[0])
    XB = None if own else _unknown_chunks(X[::2], 30)
    dist, idx = client.compute(list(pairdist.dask.knn(XA, XB, k=4)), sync=True)
    want_dist, want_idx = pairdist.knn(X, None if own else X[::2], k=4)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)
    # k beyond the points, known only when computed, is still SciPy-worded.
    with pytest.raises(ValueError, match="k = 500 nearest neighbours asked"):
        client.compute(list(pairdist.dask.knn(XA, XB, k=500)), sync=True)


def test_mahalanobis_default_on_chunks_of_unknown_size_says_too_few_observations(client):
    # 0.1: a misleading "not positive definite" error; SciPy says there are too few observations.
    X = _unknown_chunks(DATASETS["iris"][:2], 1)  # 4 observations stacked, in 4 dimensions
    with pytest.raises(ValueError, match=r"The number of observations \(4\) is too small"):
        pairdist.dask.cdist(X, X, "mahalanobis").compute()


def test_knn_of_no_queries_has_k_columns(client):
    # 0.1: shape (0, 0).
    X = DATASETS["iris"]
    dist, idx = pairdist.dask.knn(da.from_array(X[:0], chunks=(10, -1)), da.from_array(X, chunks=(50, -1)), k=3)
    assert dist.shape == idx.shape == (0, 3)
    dist, idx = client.compute([dist, idx], sync=True)
    assert dist.shape == idx.shape == (0, 3)


def test_knn_mahalanobis_float32_is_the_single_calls_exactly(client):
    # 0.1: float32 distances differed from pairdist.knn's by 3e-7 (the default VI was formed in
    # Dask and factored again; the library's default maps by the covariance's own factor).
    X = DATASETS["breast_cancer"].astype(np.float32)
    dist, idx = pairdist.dask.knn(da.from_array(X, chunks=(100, -1)), k=5, metric="mahalanobis", dtype=np.float32)
    dist, idx = client.compute([dist, idx], sync=True)
    want_dist, want_idx = pairdist.knn(X, k=5, metric="mahalanobis", dtype=np.float32)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(dist, want_dist)


@pytest.mark.parametrize("metric", ["sqeuclidean", "cityblock", "mahalanobis"])
def test_pdist_on_chunks_matches_scipy(metric, client):
    X = DATASETS["wine"]
    P = pairdist.dask.pdist(da.from_array(X, chunks=(50, 5)), metric)
    assert isinstance(P, da.Array) and P.shape == (len(X) * (len(X) - 1) // 2,) and P.dtype == np.float64
    assert P.numblocks == (4,)
    got = client.compute(P, sync=True)
    # mahalanobis's default VI is that of all of X, not of a chunk.
    np.testing.assert_allclose(got, sd.pdist(X, metric), rtol=1e-11)


def test_pdist_on_chunks_of_unknown_size_and_float32(client):
    X = DATASETS["iris"]
    P = pairdist.dask.pdist(_unknown_chunks(X, 40), "cityblock", dtype=np.float32)
    got = client.compute(P, sync=True)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, sd.pdist(X, "cityblock").astype(np.float32))
    assert pairdist.dask.pdist(da.from_array(X[:1], chunks=(1, -1))).compute().shape == (0,)


@pytest.mark.parametrize("own", [False, True], ids=["XB", "self"])
def test_radius_on_chunks_matches_brute_force(own, client):
    X = DATASETS["digits"][:300].astype(np.int64)  # integers: float64, exact distances
    queries = X if own else X[::3]
    r = 25.0
    rows, cols, dist = pairdist.dask.radius(
        da.from_array(queries, chunks=(70, -1)), None if own else da.from_array(X, chunks=(40, -1)), r=r
    )
    rows, cols, dist = client.compute([rows, cols, dist], sync=True)
    D = sd.cdist(queries, X)
    found = D <= r
    if own:
        found &= np.triu(np.ones_like(found), 1).astype(bool)
    want_rows, want_cols = np.nonzero(found)  # row by row, columns in order
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(cols, want_cols)
    np.testing.assert_allclose(dist, D[want_rows, want_cols], rtol=1e-12)
    with pytest.raises(ValueError, match="more than 3 pairs are within"):
        client.compute(list(pairdist.dask.radius(da.from_array(X, chunks=(70, -1)), r=r, max_pairs=3)), sync=True)
