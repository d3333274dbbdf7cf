"""Threads and Ctrl-C: calls from two Python threads at once give the right answers, the GIL is
released while pairdist computes, and SIGINT stops a long call with KeyboardInterrupt."""

import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import scipy.spatial.distance as sd
from conftest import DATASETS, engine, tolerance

import pairdist


@pytest.mark.parametrize("backends", [("cpu", "cpu"), ("gpu", "gpu"), ("cpu", "gpu")], ids="-".join)
def test_two_threads_at_once_get_the_right_answers(backends):
    jobs = [
        (DATASETS["digits"], "euclidean"),
        (DATASETS["breast_cancer"], "cityblock"),
    ]
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def work(t):
        X, metric = jobs[t]
        try:
            barrier.wait()
            for _ in range(3):
                results[t] = (
                    pairdist.cdist(X, X[::3], metric, backend=backends[t]),
                    pairdist.pdist(X, metric, backend=backends[t]),
                    pairdist.knn(X, k=4, metric=metric, backend=backends[t]),
                )
        except BaseException as e:  # reported below, with the thread's traceback
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for t, (X, metric) in enumerate(jobs):
        D, P, (dist, idx) = results[t]
        tol = tolerance(metric, X)
        np.testing.assert_allclose(D, sd.cdist(X, X[::3], metric), **tol)
        np.testing.assert_allclose(P, sd.pdist(X, metric), **tol)
        full = sd.cdist(X, X, metric)
        np.fill_diagonal(full, np.inf)
        np.testing.assert_allclose(dist, np.sort(full, axis=1)[:, :4], **tol)


@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_the_gil_is_released_while_computing(backend):
    # One call into the extension (no blocks in between), and a Python thread that notes the
    # time whenever it runs. With the GIL released it runs throughout the call; with the GIL
    # held it could run only at the call's edges (one 5 ms switch interval), never in the
    # middle half of a call lasting a tenth of a second or more.
    rng = np.random.default_rng(0)
    n, d = (4000, 512) if backend == "cpu" else (1000, 512)
    X = rng.random((n, d), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    core = engine(backend)._core
    core.cdist(X[:10], X[:10], "euclidean", out[:10, :10])  # warm up
    ticks, stop = [], threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        start = time.perf_counter()
        core.cdist(X, X, "euclidean", out)
        end = time.perf_counter()
    finally:
        stop.set()
        ticker.join()
    quarter = (end - start) / 4
    middle = [t for t in ticks if start + quarter < t < end - quarter]
    assert len(middle) > 0, "no Python thread ran while pairdist computed: the GIL was held"
    np.testing.assert_allclose(out[:50, :50], sd.cdist(X[:50], X[:50]), rtol=1e-5, atol=1e-5)


# A child process makes a long call, and a thread of it sends SIGINT once the call has visibly
# started (for cdist and pdist: once the first entry is written). The call must end with
# KeyboardInterrupt; it would take minutes otherwise.
INTERRUPTED = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import numpy as np
    import pairdist

    backend, what = sys.argv[1], sys.argv[2]
    big = backend == "cpu"
    rng = np.random.default_rng(0)
    started = None
    if what in ("cdist", "pdist"):
        n, d = (8000, 16384) if big else (4000, 2048)
        X = rng.random((n, d), dtype=np.float32)
        shape = (n, n) if what == "cdist" else (n * (n - 1) // 2,)
        out = np.full(shape, -1.0, np.float32)
        first = (0, 0) if what == "cdist" else (0,)
        started = lambda: out[first] != -1
        call = lambda: getattr(pairdist, what)(X, *([X] if what == "cdist" else []), out=out, backend=backend)
    else:
        n = 200_000 if big else 30_000
        X = rng.random((n, 256), dtype=np.float32)
        begun = time.perf_counter() + 0.5
        started = lambda: time.perf_counter() > begun
        if what == "knn":
            call = lambda: pairdist.knn(X, k=5, backend=backend)
        else:
            call = lambda: pairdist.radius(X, r=0.1, backend=backend)
    sent = []

    def interrupt():
        while not started():
            time.sleep(0.005)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    try:
        call()
    except KeyboardInterrupt:
        latency = time.perf_counter() - sent[0]
        unfilled = float(np.mean(out == -1)) if what in ("cdist", "pdist") else 1.0
        print(f"interrupted after {latency:.3f} s, {unfilled:.2%} of the output unwritten")
        sys.exit(0)
    print("completed: not interrupted")
    sys.exit(1)
    """
)


@pytest.mark.parametrize("what", ["cdist", "pdist", "knn", "radius"])
@pytest.mark.parametrize("backend", ["cpu", "gpu"])
def test_ctrl_c_stops_a_long_call(backend, what):
    child = subprocess.run(
        [sys.executable, "-c", INTERRUPTED, backend, what], capture_output=True, text=True, timeout=300
    )
    print(child.stdout, child.stderr)
    assert child.returncode == 0, child.stdout + child.stderr
    assert child.stdout.startswith("interrupted after")
    if what in ("cdist", "pdist"):
        # Stopped part way: most of the output was never written.
        unwritten = float(child.stdout.split(", ")[1].split("%")[0])
        assert unwritten > 0
