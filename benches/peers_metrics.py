"""Times SciPy's single-threaded cdist, scikit-learn's pairwise_distances on every core, and a
Numba prange loop for the metrics beyond the three of ../shared/peers, on the data
pairdist-bench uses (uniform in [-1, 1) plus --offset), so BENCHMARKS.md can put them beside
pairdist's figures from the same session.

Usage (the peers' virtual environment has SciPy, scikit-learn and Numba):
    ~/.cache/pairdist-peers/bin/python benches/peers_metrics.py --n 2048 --d 64 --offset 2
"""

import argparse
import os
import time

import numba
import numpy as np
from scipy.spatial.distance import cdist
from sklearn.metrics import pairwise_distances

THREADS = os.cpu_count()

# SciPy's name and keyword arguments -> scikit-learn's name (None: not offered).
METRICS = {
    "sqeuclidean": ({}, "sqeuclidean"),
    "minkowski:3": ({"p": 3}, "minkowski"),
    "minkowski:2.5": ({"p": 2.5}, "minkowski"),
    "cosine": ({}, "cosine"),
    "correlation": ({}, "correlation"),
    "canberra": ({}, "canberra"),
    "jensenshannon": ({}, None),
    "hamming": ({}, "hamming"),
    "seuclidean": ({}, "seuclidean"),
    "mahalanobis": ({}, "mahalanobis"),
    "braycurtis": ({}, "braycurtis"),
    "jaccard": ({}, None),  # scikit-learn's jaccard is for booleans only
}


@numba.njit(parallel=True, fastmath=False)
def _canberra_numba(x, y, out):
    for i in numba.prange(x.shape[0]):
        for j in range(y.shape[0]):
            s = 0.0
            for k in range(x.shape[1]):
                den = abs(x[i, k]) + abs(y[j, k])
                if den > 0.0:
                    s += abs(x[i, k] - y[j, k]) / den
            out[i, j] = s


@numba.njit(parallel=True, fastmath=False)
def _minkowski3_numba(x, y, out):
    for i in numba.prange(x.shape[0]):
        for j in range(y.shape[0]):
            s = 0.0
            for k in range(x.shape[1]):
                a = abs(x[i, k] - y[j, k])
                s += a * a * a
            out[i, j] = s ** (1.0 / 3.0)


NUMBA = {"canberra": _canberra_numba, "minkowski:3": _minkowski3_numba}


def best(fn, reps):
    fn()  # warm-up (and Numba's compilation)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2048)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--offset", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--metric", default=",".join(METRICS))
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = (rng.uniform(-1, 1, (args.n, args.d)) + args.offset).astype(np.float32)
    x64 = x.astype(np.float64)
    work = args.n * args.n * args.d / 1e9
    for name in args.metric.split(","):
        kw, sk = METRICS[name]
        metric = name.split(":")[0]
        rows = [("scipy cdist (1 thread)", lambda: cdist(x64, x64, metric, **kw))]
        if sk is not None:
            rows.append((f"sklearn ({THREADS} threads)", lambda: pairwise_distances(x64, x64, metric=sk, n_jobs=THREADS, **kw)))
        if name in NUMBA:
            out = np.empty((args.n, args.n))
            rows.append((f"numba prange ({THREADS} threads)", lambda: NUMBA[name](x64, x64, out)))
        for peer, fn in rows:
            secs = best(fn, args.reps)
            print(f"{name:14} {peer:26} n={args.n} d={args.d} {work / secs:8.3f} Gpd/s ({secs:.3f} s)", flush=True)


if __name__ == "__main__":
    main()
