"""Shared fixtures: the data sets that ship with scikit-learn, tolerances against float64
references, and block sizes forced small so that every path of the block loops runs."""

import os
import tempfile

import numpy as np
import pytest

import pairdist

# Mesa's window-system probing wants this even when nothing is displayed.
os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp())

METRICS = ["euclidean", "sqeuclidean", "cityblock"]
# Every backend the suite runs on. "gpu" needs a GPU adapter (lavapipe in CI): without one the
# GPU tests fail, they are never skipped.
BACKENDS = ["cpu", "gpu"]
EPS32 = float(np.finfo(np.float32).eps)


def datasets():
    """scikit-learn's bundled data sets (no download): name -> float64 points."""
    from sklearn import datasets as sk

    return {
        "iris": sk.load_iris().data,  # 150 x 4
        "wine": sk.load_wine().data,  # 178 x 13, values up to 1680
        "breast_cancer": sk.load_breast_cancer().data,  # 569 x 30, values up to 4254
        "digits": sk.load_digits().data,  # 1797 x 64, integers 0..16
    }


DATASETS = datasets()


def tolerance(metric, *arrays):
    """rtol and atol for pairdist (float32) against a float64 reference on these inputs: a
    relative 1e-5 for the arithmetic, plus the most that rounding the inputs to float32 can
    move a distance (each coordinate difference by at most eps * scale)."""
    d = max(a.shape[1] for a in arrays)
    scale = max([float(np.max(np.abs(a))) for a in arrays if a.size] + [1e-30])
    if metric == "euclidean":
        atol = 2 * np.sqrt(d) * EPS32 * scale
    elif metric == "sqeuclidean":
        atol = 8 * d * EPS32 * scale**2
    else:
        atol = 2 * d * EPS32 * scale
    return {"rtol": 1e-5, "atol": atol}


def engine(backend):
    """The shared engine of a backend (the one pairdist's functions use)."""
    return pairdist._engine(backend)


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(
    params=[
        # (first block in pair-dimensions / d, rows per band when the columns are cut)
        pytest.param((1, 3), id="1-pair-blocks"),
        pytest.param((7, 3), id="7-pair-blocks"),
        pytest.param((50, 2), id="50-pair-blocks"),
        pytest.param((10**4, 64), id="full-width-bands"),
    ]
)
def small_blocks(request, monkeypatch):
    """Fixed small blocks (no timing): the block loops' every edge on small inputs."""
    pairs, min_rows = request.param

    def patch(d):
        monkeypatch.setattr(pairdist, "_FIRST_BLOCK", pairs * max(d, 1))
        monkeypatch.setattr(pairdist, "_MIN_ROWS", min_rows)
        monkeypatch.setattr(pairdist, "_BLOCK_SECONDS", 0)

    return patch
