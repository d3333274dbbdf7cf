"""pairdist on Dask arrays: distance matrices and nearest neighbours beyond one machine.

Dask is an optional dependency (``pip install "dask[array,distributed]"``), imported when a
function here is called. Every task is one pairdist call on one pair of chunks, run by the
worker's own shared :class:`pairdist.Engine` (one per process and backend, built on first use).

>>> import dask, dask.array as da, pairdist.dask
>>> XA = da.random.random((100_000, 32), chunks=(10_000, 32))
>>> XB = da.random.random((50_000, 32), chunks=(10_000, 32))
>>> D = pairdist.dask.cdist(XA, XB)                       # lazy, 100 000 × 50 000, 10 × 5 chunks
>>> D.to_zarr("D.zarr")                                   # doctest: +SKIP
>>> distances, indices = pairdist.dask.knn(XA, XB, k=10)  # lazy; neither side in one worker
>>> distances, indices = dask.compute(distances, indices)  # doctest: +SKIP
>>> P = pairdist.dask.pdist(XB)                           # lazy condensed vector, chunked by XB's rows
>>> rows, cols, dist = pairdist.dask.radius(XA, XB, r=1.0)  # lazy pairs, chunked by XA's rows

SciPy's metric parameters (``p``, ``w``, ``V``, ``VI``) are taken as by :func:`pairdist.cdist`.
The blocks are computed apart, so SciPy's defaults that depend on the points, ``seuclidean``'s
``V`` and ``mahalanobis``'s ``VI``, are computed once by Dask from all of XA and XB (as SciPy
does: XA stacked on XB; XA alone for ``knn`` without XB) and passed to every block:

>>> D = pairdist.dask.cdist(XA, XB, "seuclidean")         # V: the variances of all 150 000 points
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

import pairdist
from pairdist import (
    _COLUMNS,
    _DEFAULT_MAX_PAIRS,
    _count,
    _distance,
    _dtype,
    _metric_name,
    _neighbours,
    _pairdist,
    _radius_args,
    _same_type,
    _too_many,
    _unsupported,
)

__all__ = ["cdist", "pdist", "knn", "radius"]


def _dask_array() -> Any:
    try:
        import dask.array as da
    except ImportError:
        raise ImportError(
            'pairdist.dask needs Dask: pip install "dask[array,distributed]" (or "pairdist[dask]")'
        ) from None
    return da


def _points(da: Any, X: Any, name: str) -> Any:
    """X as a 2-D dask array with one chunk along the columns (each task needs whole points)."""
    x = da.asarray(X)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-dimensional array.")
    if x.dtype.kind not in "biuf":  # object arrays too: SciPy's error, before any task runs
        raise _unsupported(x.dtype, name)
    return x.rechunk({1: -1})


def _covariance(points: Any, d: int) -> Any:
    """SciPy's covariance of all the points (ddof 1) as a lazy dask array, checked when computed
    as SciPy checks it: fewer than d + 1 points is SciPy's "too few observations" error, also
    when the chunk sizes (so the number of points) are unknown until then."""
    covariance = _dask_array().cov(points.astype(np.float64), rowvar=False).rechunk(-1)
    count = points[:, :1].map_blocks(lambda b: np.full((1, 1), b.shape[0]), chunks=(1, 1), dtype=np.int64).sum()
    return covariance.map_blocks(_enough_observations, count, d, dtype=np.float64)


def _enough_observations(covariance: np.ndarray, n: Any, d: int) -> np.ndarray:
    n = int(n)
    if n <= d:
        raise ValueError(
            f"The number of observations ({n}) is too small; the covariance matrix is singular. "
            f"For observations with {d} dimensions, at least {d + 1} observations are required."
        )
    return covariance


def _parameters(da: Any, name: str, xa: Any, xb: Any, given: Dict[str, Any]) -> Dict[str, Any]:
    """SciPy's parameters for every block (xb None: xa with itself), checked here, so that a
    mistake fails now rather than in a worker. Those given are NumPy arrays (a dask array
    given is computed first: it is one vector or matrix). ``seuclidean``'s V and
    ``mahalanobis``'s VI, when not given, are computed once from all the points, lazily, as
    SciPy computes them: ``np.var(np.vstack([XA, XB]), axis=0, ddof=1)``, and for VI the
    covariance ``np.cov(np.vstack([XA, XB]).T)``, which the library inverts as its own default
    does (so the numbers are those of :func:`pairdist.cdist` on the whole arrays)."""
    params = {key: (np.asarray(value) if isinstance(value, da.Array) else value) for key, value in given.items()}
    params = {key: value for key, value in params.items() if value is not None}
    d = xa.shape[1]
    _distance(name, **params).check(d)
    points = xa if xb is None else da.concatenate([xa, xb])
    if name == "seuclidean" and "V" not in params:
        params["V"] = da.var(points.astype(np.float64), axis=0, ddof=1)
    if name == "mahalanobis" and "VI" not in params:
        n = points.shape[0]
        if n <= d:  # SciPy's check and message, now where the sizes are known (NaN compares False)
            _enough_observations(np.empty(0), n, d)
        params["C"] = _covariance(points, d)
    return params


def _cdist_block(
    a: np.ndarray, b: np.ndarray, metric: str, out_dtype: np.dtype, backend: str, **params: Any
) -> np.ndarray:
    return pairdist._engine(backend).cdist(a, b, _distance(metric, **params), dtype=out_dtype)


def cdist(
    XA: Any,
    XB: Any,
    metric: str = "euclidean",
    *,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    p: Optional[float] = None,
    w: Any = None,
    V: Any = None,
    VI: Any = None,
) -> Any:
    """The distance matrix between the rows of two dask arrays, as a lazy dask array.

    One :func:`pairdist.cdist` call per pair of row chunks (``blockwise``): block (i, j) of the
    result is chunk i of XA against chunk j of XB, so the result is chunked as
    ``(XA.chunks[0], XB.chunks[0])``. XA and XB are rechunked to a single chunk along the
    columns. Nothing is computed until asked: ``.to_zarr()`` or ``da.to_npy_stack()`` write a
    matrix far larger than any one machine's memory, a chunk at a time.

    Parameters
    ----------
    XA : dask array (or array_like), (mA, n)
    XB : dask array (or array_like), (mB, n)
    metric : str
        As for :func:`pairdist.cdist`.
    dtype : {None, np.float64, np.float32}
        float64 by default (as SciPy), or float32.
    backend : {"auto", "gpu", "cpu"}
        The backend of each worker's shared engine.
    p, w, V, VI
        SciPy's metric parameters, as for :func:`pairdist.cdist` (a dask array given as one
        is computed first). Without them, ``V`` and ``VI`` are SciPy's defaults of all the
        points, XA stacked on XB, computed once by Dask (lazily, with the result) and given
        to every block: never those of one block.
    """
    da = _dask_array()
    from dask.base import tokenize

    name = _metric_name(metric)
    xa = _points(da, XA, "XA")
    xb = _points(da, XB, "XB")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(_COLUMNS)
    result_dtype = _dtype(dtype, None)
    params = _parameters(da, name, xa, xb, {"p": p, "w": w, "V": V, "VI": VI})
    return da.blockwise(
        _cdist_block, "ij", xa, "ik", xb, "jk",
        concatenate=True,
        dtype=result_dtype,
        meta=np.empty((0, 0), result_dtype),
        name="pairdist-cdist-" + tokenize(xa, xb, name, result_dtype, backend, params),
        metric=name,
        out_dtype=result_dtype,
        backend=backend,
        # Dask arrays among them (the defaults of V and VI) are computed once, before the
        # blocks, and each block gets their values.
        **params,
    )


def _knn_partial(
    a: np.ndarray,
    b: Optional[np.ndarray],
    k: int,
    metric: str,
    backend: str,
    row0: Any,
    col0: Any,
    params: Dict[str, Any],
) -> Tuple[np.ndarray, np.ndarray]:
    """A query chunk's (up to) k nearest in one base chunk, by the library (one job): indices
    global, rows short of k padded with index -1. ``b`` None: the chunk against itself (X
    against X's diagonal chunk), each point left out by its global index. ``params`` hold every
    data-dependent parameter explicitly, so the chunks are prepared exactly as the whole."""
    core = pairdist._engine(backend)._core
    a = pairdist._points(a, "XA")
    if b is not None:
        a, b = _same_type(a, pairdist._points(b, "XB"))
    return core.knn_partial(a, b, k, _distance(metric, **params), int(row0), int(col0))


def _knn_merge(parts: List[Tuple[np.ndarray, np.ndarray]], k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The library's merge of partial lists (by distance, then index, padding last)."""
    return _pairdist.merge_neighbours(list(parts), k)


def _knn_finish(part: Tuple[np.ndarray, np.ndarray], which: int, dtype: np.dtype, m: Any, own: bool) -> np.ndarray:
    if part[1].size and part[1][:, -1].min() < 0:
        # Fewer candidates than k: known only now where the chunk sizes were unknown.
        what = f"X has only {int(m) - 1} other points" if own else f"XB has only {int(m)} points"
        raise ValueError(f"k = {part[1].shape[1]} nearest neighbours asked, but {what}")
    return part[0].astype(dtype) if which == 0 else part[1]


def _starts(da: Any, x: Any) -> Tuple[List[Any], Any]:
    """The first global row of each row chunk of ``x``, and the number of rows: integers where
    the chunk sizes are known, lazy values (computed with the graph) where they are not."""
    import dask

    sizes = x.chunks[0]
    if not any(np.isnan(sizes)):
        starts = np.cumsum((0,) + sizes)
        return [int(v) for v in starts[:-1]], int(starts[-1])
    counts = [dask.delayed(len)(chunk) for chunk in x[:, :1].to_delayed().ravel()]
    starts = [dask.delayed(sum)(counts[:i]) for i in range(len(counts))]
    return starts, dask.delayed(sum)(counts)


def knn(
    XA: Any,
    XB: Any = None,
    k: Optional[int] = None,
    metric: str = "euclidean",
    *,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    split_every: int = 8,
    p: Optional[float] = None,
    w: Any = None,
    V: Any = None,
    VI: Any = None,
) -> Tuple[Any, Any]:
    """The ``k`` nearest rows of XB to each row of XA, on dask arrays, as two lazy dask arrays
    ``(distances, indices)`` of shape ``(n, k)``, chunked like XA's rows.

    Each task computes a query chunk's k nearest in one base chunk (indices offset by that
    chunk's first row); a tree reduction (``split_every`` lists at a time) merges each query
    chunk's partial lists by (distance, index), the tie rule of :func:`pairdist.knn`, so the
    answer is the one a single call would give and neither XA nor XB has to fit in one worker.
    Compute both together, ``dask.compute(distances, indices)``, to run the graph once.

    Parameters
    ----------
    XA : dask array (or array_like), (n, d)
        The queries.
    XB : dask array (or array_like), (m, d), optional
        The points searched; ``None``: XA against itself, each point left out of its own list.
    k : int
        Neighbours per query (required), 1 <= k <= m (m - 1 when XB is None).
    metric, dtype, backend, p, w, V, VI
        As for :func:`cdist` (with XB None, the defaults of V and VI are those of XA).
    split_every : int
        How many partial lists each merge task takes (at least 2).
    """
    import dask

    if k is None:
        raise TypeError("knn() missing required argument 'k' (the number of neighbours)")
    da = _dask_array()
    name = _metric_name(metric)
    xa = _points(da, XA, "XA")
    own = XB is None
    xb = xa if own else _points(da, XB, "XB")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(_COLUMNS)
    m = xb.shape[0]
    # With unknown chunk sizes m is NaN: k is checked against it when the answer is computed.
    k = _neighbours(k, m, own) if not np.isnan(m) else _count(k, "k")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    split_every = max(2, _count(split_every, "split_every"))
    result_dtype = _dtype(dtype, None)
    params = _parameters(da, name, xa, None if own else xb, {"p": p, "w": w, "V": V, "VI": VI})

    partial = dask.delayed(_knn_partial, pure=True)
    merge = dask.delayed(_knn_merge, pure=True)
    finish = dask.delayed(_knn_finish, pure=True)
    queries = xa.to_delayed().ravel()
    bases = xb.to_delayed().ravel()
    row_starts, _ = _starts(da, xa)
    col_starts, m_total = _starts(da, xb)
    distance_chunks, index_chunks = [], []
    for i, query in enumerate(queries):
        # The diagonal chunk of X against X takes the job that leaves each point out.
        level = [
            partial(query, None if own and i == j else base, k, name, backend, row_starts[i], col_starts[j], params)
            for j, base in enumerate(bases)
        ]
        # Tree reduction: split_every lists at a time until one is left.
        while len(level) > 1:
            level = [merge(level[s : s + split_every], k) for s in range(0, len(level), split_every)]
        answer = level[0]
        rows = xa.chunks[0][i]
        distance_chunks.append(da.from_delayed(finish(answer, 0, result_dtype, m_total, own), (rows, k), dtype=result_dtype))
        index_chunks.append(da.from_delayed(finish(answer, 1, result_dtype, m_total, own), (rows, k), dtype=np.int64))
    if not distance_chunks:  # no query rows (no chunks at all): empty answers of k columns
        return da.zeros((0, k), dtype=result_dtype), da.zeros((0, k), dtype=np.int64)
    return da.concatenate(distance_chunks), da.concatenate(index_chunks)


def _pdist_block(x: np.ndarray, metric: str, out_dtype: np.dtype, backend: str, params: Dict[str, Any]) -> np.ndarray:
    """The condensed distances of one row chunk with itself (the library's pdist)."""
    return pairdist._engine(backend).pdist(x, _distance(metric, **params), dtype=out_dtype)


def _cdist_part(
    a: np.ndarray, b: np.ndarray, metric: str, out_dtype: np.dtype, backend: str, params: Dict[str, Any]
) -> np.ndarray:
    return _cdist_block(a, b, metric, out_dtype, backend, **params)


def _condensed_rows(diagonal: np.ndarray, blocks: List[np.ndarray], out_dtype: np.dtype) -> np.ndarray:
    """The condensed entries of one row chunk's rows (SciPy's layout: row by row, the columns
    after each row): its own pairs (``diagonal``, the chunk's condensed vector) and its
    distances to every later chunk (``blocks``, in order), interleaved row by row. Its L rows
    against the n_T points from the chunk's first on are an L x n_T matrix, whose entries right
    of each row's own column, read row by row, are exactly those entries."""
    if not blocks:  # the last chunk: its own pairs are all of its entries
        return diagonal.astype(out_dtype, copy=False)
    L = blocks[0].shape[0]
    full = np.empty((L, L + sum(b.shape[1] for b in blocks)), out_dtype)
    full[np.triu_indices(L, 1)] = diagonal
    at = L
    for block in blocks:
        full[:, at : at + block.shape[1]] = block
        at += block.shape[1]
    return full[np.arange(full.shape[1])[None, :] > np.arange(L)[:, None]]


def pdist(
    X: Any,
    metric: str = "euclidean",
    *,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    p: Optional[float] = None,
    w: Any = None,
    V: Any = None,
    VI: Any = None,
) -> Any:
    """SciPy's condensed vector of the distances between the rows of a dask array (the pairs
    i < j, row by row, as :func:`pairdist.pdist`), as a lazy 1-D dask array.

    Chunk c of the result holds the entries of X's row chunk c (so its length is
    ``L * (n - s) - L * (L + 1) // 2`` for a chunk of L rows from row s): one task computes the
    chunk's own pairs (the library's pdist, each pair once), one task per later chunk its
    distances to that chunk (cdist), and one task lays them out in SciPy's order. No task
    holds more than two chunks of X and one chunk of the result; ``.to_zarr()`` writes a
    vector larger than memory a chunk at a time. Chunks of unknown size (NaN) are fine: the
    result's are unknown too.

    Parameters
    ----------
    X : dask array (or array_like), (n, d)
    metric, dtype, backend, p, w, V, VI
        As for :func:`cdist`; the defaults of ``V`` and ``VI`` are those of all of X (as
        SciPy's pdist), computed once by Dask.
    """
    import dask

    da = _dask_array()
    name = _metric_name(metric)
    x = _points(da, X, "X")
    result_dtype = _dtype(dtype, None)
    params = _parameters(da, name, x, None, {"p": p, "w": w, "V": V, "VI": VI})
    own = dask.delayed(_pdist_block, pure=True)
    against = dask.delayed(_cdist_part, pure=True)
    layout = dask.delayed(_condensed_rows, pure=True)
    chunks = x.to_delayed().ravel()
    sizes = x.chunks[0]
    n = x.shape[0]
    parts = []
    for i, chunk in enumerate(chunks):
        diagonal = own(chunk, name, result_dtype, backend, params)
        blocks = [against(chunk, later, name, result_dtype, backend, params) for later in chunks[i + 1 :]]
        rows = sizes[i]
        if np.isnan(n):
            length: float = np.nan
        else:
            start = int(sum(sizes[:i]))
            length = int(rows) * (int(n) - start) - int(rows) * (int(rows) + 1) // 2
        parts.append(da.from_delayed(layout(diagonal, blocks, result_dtype), (length,), dtype=result_dtype))
    if not parts:
        return da.zeros((0,), dtype=result_dtype)
    return da.concatenate(parts)


def _radius_part(
    a: np.ndarray,
    b: Optional[np.ndarray],
    r: float,
    metric: str,
    out_dtype: np.dtype,
    backend: str,
    max_pairs: int,
    row0: Any,
    col0: Any,
    params: Dict[str, Any],
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One query chunk's pairs within r in one base chunk (the library's radius; ``b`` None:
    the chunk's own pairs i < j), with global rows and columns."""
    rows, cols, dist = pairdist._engine(backend).radius(
        a, b, r=r, metric=_distance(metric, **params), max_pairs=max_pairs, dtype=out_dtype
    )
    return rows + int(row0), cols + int(col0), dist


def _radius_rows(
    parts: List[Tuple[np.ndarray, np.ndarray, np.ndarray]], r: float, max_pairs: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A query chunk's pairs: its parts (each sorted by row, then column; their columns in
    increasing ranges, in order) in one list sorted by row, then column."""
    rows, cols, dist = (np.concatenate([part[which] for part in parts]) for which in range(3))
    if len(rows) > max_pairs:
        raise _too_many(max_pairs, r)
    if len(parts) > 1:
        order = np.argsort(rows, kind="stable")  # stable: each row's columns stay in order
        rows, cols, dist = rows[order], cols[order], dist[order]
    return rows, cols, dist


def _pick(part: Tuple[np.ndarray, ...], which: int) -> np.ndarray:
    return part[which]


def radius(
    XA: Any,
    XB: Any = None,
    r: Optional[float] = None,
    metric: str = "euclidean",
    *,
    max_pairs: int = _DEFAULT_MAX_PAIRS,
    dtype: Optional[npt.DTypeLike] = None,
    backend: str = "auto",
    p: Optional[float] = None,
    w: Any = None,
    V: Any = None,
    VI: Any = None,
) -> Tuple[Any, Any, Any]:
    """Every pair within distance ``r`` on dask arrays, as three lazy 1-D dask arrays ``(rows,
    cols, distances)``: the answer of :func:`pairdist.radius` (sorted by row, then column;
    with XB None, the pairs i < j of XA), chunked like XA's rows. Their lengths are unknown
    until computed (NaN chunks); compute the three together, ``dask.compute(rows, cols,
    distances)``, to run the graph once.

    One task per query chunk and base chunk (with XB None, per chunk and each chunk from it
    on) finds its pairs with the library's radius, so neither XA nor XB has to fit in one
    worker; one task per query chunk puts its pairs in order.

    Parameters
    ----------
    XA : dask array (or array_like), (n, d)
        The queries.
    XB : dask array (or array_like), (m, d), optional
        The points searched; ``None``: the pairs i < j of XA.
    r : float
        Pairs at distance <= r (required), compared as :func:`pairdist.radius` compares.
    max_pairs : int
        The most pairs of one query chunk (what one task holds): beyond it, computing raises
        ``ValueError`` (default 10**8).
    metric, dtype, backend, p, w, V, VI
        As for :func:`cdist` (with XB None, the defaults of V and VI are those of XA).
    """
    import dask

    if XB is not None and np.ndim(XB) == 0:
        raise TypeError("XB must be an array of points or None (r is given by keyword: radius(X, r=0.5))")
    if r is None:
        raise TypeError("radius() missing required argument 'r' (the radius)")
    da = _dask_array()
    name = _metric_name(metric)
    xa = _points(da, XA, "XA")
    own = XB is None
    xb = xa if own else _points(da, XB, "XB")
    if xa.shape[1] != xb.shape[1]:
        raise ValueError(_COLUMNS)
    r, max_pairs = _radius_args(r, max_pairs)
    result_dtype = _dtype(dtype, None)
    params = _parameters(da, name, xa, None if own else xb, {"p": p, "w": w, "V": V, "VI": VI})

    part = dask.delayed(_radius_part, pure=True)
    gather = dask.delayed(_radius_rows, pure=True)
    pick = dask.delayed(_pick, pure=True)
    queries = xa.to_delayed().ravel()
    bases = xb.to_delayed().ravel()
    row_starts, _ = _starts(da, xa)
    col_starts, _ = _starts(da, xb)
    kinds = (np.int64, np.int64, result_dtype)
    columns: List[List[Any]] = [[], [], []]
    for i, query in enumerate(queries):
        parts = [
            part(query, None if own and i == j else base, r, name, result_dtype, backend, max_pairs,
                 row_starts[i], col_starts[j], params)
            for j, base in enumerate(bases)
            if not own or j >= i
        ]
        if not parts:  # XB has no chunks: no pairs
            continue
        answer = gather(parts, r, max_pairs)
        for which, kind in enumerate(kinds):
            columns[which].append(da.from_delayed(pick(answer, which), (np.nan,), dtype=kind))
    return tuple(da.concatenate(c) if c else da.zeros((0,), dtype=kind) for c, kind in zip(columns, kinds))
