"""Bad inputs: one clear Python exception each (SciPy's wording where SciPy has one), never a
Rust panic."""

import pickle

import numpy as np
import pytest

import pairdist

X = np.arange(12.0).reshape(4, 3)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: pairdist.cdist(X[0], X), ValueError, "XA must be a 2-dimensional array."),
        (lambda: pairdist.cdist(X, X[None]), ValueError, "XB must be a 2-dimensional array."),
        (lambda: pairdist.cdist(X, 3.0), ValueError, "XB must be a 2-dimensional array."),
        (lambda: pairdist.pdist(X[0]), ValueError, r"A 2-dimensional array must be passed. \(Shape was \(3,\)\)."),
        (
            lambda: pairdist.cdist(X, X[:, :2]),
            ValueError,
            r"XA and XB must have the same number of columns \(i.e. feature dimension.\)",
        ),
        (lambda: pairdist.knn(X, X[:, :2], k=1), ValueError, "same number of columns"),
        (lambda: pairdist.radius(X, X[:, :2], r=1), ValueError, "same number of columns"),
        (lambda: pairdist.cdist(X, X, "bogus"), ValueError, "Unknown Distance Metric: bogus; supported metrics: 'euclidean'"),
        (lambda: pairdist.pdist(X, "kulczynski2"), ValueError, "Unknown Distance Metric: kulczynski2; supported metrics:"),
        (lambda: pairdist.cdist(X, X, 3), TypeError, "metric must be a string"),
        (lambda: pairdist.cdist(X, X, lambda u, v: 0.0), TypeError, "metric by name, not a function"),
        (lambda: pairdist.cdist(X, X, foo=1), TypeError, "unexpected keyword argument 'foo'"),
        (lambda: pairdist.knn(X, k=1, foo=1), TypeError, "unexpected keyword argument 'foo'"),
        # SciPy's metric parameters: TypeError for one the metric does not take, as SciPy...
        (lambda: pairdist.cdist(X, X, "euclidean", p=3), TypeError, r"metric 'euclidean' takes no p \(only minkowski does\)"),
        (lambda: pairdist.pdist(X, "cosine", V=np.ones(3)), TypeError, "metric 'cosine' takes no variances V"),
        (lambda: pairdist.cdist(X, X, "seuclidean", VI=np.eye(3)), TypeError, "metric 'seuclidean' takes no inverse covariance VI"),
        (lambda: pairdist.cdist(X, X, "mahalanobis", w=np.ones(3)), TypeError, "metric 'mahalanobis' takes no weights w"),
        (lambda: pairdist.knn(X, k=1, metric="jensenshannon", w=np.ones(3)), TypeError, "metric 'jensenshannon' takes no weights w"),
        (lambda: pairdist.cdist(X, X, "minkowski", p="3"), TypeError, "p must be a number, not '3'"),
        (lambda: pairdist.cdist(X, X, w=["a", "b", "c"]), TypeError, "w must hold real numbers"),
        # ValueError for a bad value, with SciPy's message where SciPy has one.
        (lambda: pairdist.cdist(X, X, "minkowski", p=0), ValueError, r"p must be greater than 0 \(got 0\)"),
        (lambda: pairdist.radius(X, r=1, metric="minkowski", p=-1.5), ValueError, r"p must be greater than 0 \(got -1.5\)"),
        (lambda: pairdist.cdist(X, X, w=[1, -1, 1]), ValueError, "Input weights should be all non-negative"),
        (lambda: pairdist.knn(X, k=2, metric="cosine", w=[1, 2]), ValueError, r"Weights must have same size as input vector. 2 vs. 3."),
        (lambda: pairdist.pdist(X, "cityblock", w=[1, 2, 3, 4]), ValueError, r"Weights must have same size as input vector. 4 vs. 3."),
        (lambda: pairdist.cdist(X[:0], X, w=[1, 2]), ValueError, "Weights must have same size"),  # no points, still checked
        (lambda: pairdist.cdist(X, X, w=np.ones((1, 3))), ValueError, r"Weights must be a vector \(ndim = 1\)"),
        (lambda: pairdist.cdist(X, X, "seuclidean", V=[1, 2]), ValueError, "Variance vector V must be of the same dimension"),
        (lambda: pairdist.cdist(X, X, "seuclidean", V=np.ones((3, 1))), ValueError, "Variance vector V must be one-dimensional."),
        (lambda: pairdist.cdist(X, X, "mahalanobis", VI=np.ones((3, 2))), ValueError, "VI must be a square matrix; got 3 x 2"),
        (lambda: pairdist.pdist(X, "mahalanobis", VI=np.eye(2)), ValueError, "VI is 2 x 2 but the points have 3 dimensions"),
        (lambda: pairdist.cdist(X, X, "mahalanobis", VI=np.ones(3)), ValueError, "VI must be a 2-dimensional array \\(d x d\\), not 1-D"),
        (lambda: pairdist.cdist(X, X, "mahalanobis", VI=-np.eye(3)), ValueError, "VI is not positive semi-definite"),
        (
            lambda: pairdist.pdist(X[:3], "mahalanobis"),
            ValueError,
            r"The number of observations \(3\) is too small; the covariance matrix is singular. For observations with 3 dimensions, at least 4 observations are required.",
        ),
        (lambda: pairdist.cdist(X, X, "mahalanobis"), ValueError, "covariance matrix of the inputs is singular"),
        (lambda: pairdist.cdist(X, X + 1j), ValueError, r"Unsupported dtype complex128 \(XB must hold real numbers"),
        (lambda: pairdist.cdist([["a", "b", "c"]], X), ValueError, "Unsupported dtype <U1"),
        (lambda: pairdist.cdist(X, X, out=np.zeros((4, 5))), ValueError, "Output array has incorrect shape"),
        (lambda: pairdist.cdist(X, X, out=np.zeros((4, 4), np.int64)), ValueError, "Output array must be float64 or float32"),
        (lambda: pairdist.cdist(X, X, out=np.zeros((4, 4), ">f8")), ValueError, "native byte order"),
        (lambda: pairdist.cdist(X, X, out=[[0.0] * 4] * 4), TypeError, "out must be a NumPy array"),
        (lambda: pairdist.pdist(X, out=np.zeros(5)), ValueError, "Output array has incorrect shape"),
        (lambda: pairdist.cdist(X, X, out=np.zeros((4, 4)), dtype=np.float32), ValueError, "out is float64 but dtype=float32"),
        (lambda: pairdist.cdist(X, X, dtype=np.int32), ValueError, "dtype must be float32 or float64"),
        (lambda: pairdist.cdist(X, X, dtype="bogus"), TypeError, "dtype must be float32 or float64"),
        (lambda: pairdist.knn(X, k=0), ValueError, "k must be at least 1, got 0"),
        (lambda: pairdist.knn(X, k=4), ValueError, "k = 4 nearest neighbours asked, but X has only 3 other points"),
        (lambda: pairdist.knn(X, X[:2], k=3), ValueError, "but XB has only 2 points"),
        (lambda: pairdist.knn(X, k=1.5), TypeError, "k must be an integer"),
        (lambda: pairdist.knn(X, k=True), TypeError, "k must be an integer"),
        (lambda: pairdist.knn(X, 2), TypeError, r"XB must be an array of points or None \(k is given by keyword"),
        (lambda: pairdist.knn(X, 2, k=1), TypeError, r"XB must be an array of points or None \(k is given by keyword"),
        (lambda: pairdist.radius(X, 0.5, r=1), TypeError, r"XB must be an array of points or None \(r is given by keyword"),
        (lambda: pairdist.radius(X, r=-1), ValueError, r"r must be a number >= 0, got -1.0"),
        (lambda: pairdist.radius(X, r=float("nan")), ValueError, "r must be a number >= 0, got nan"),
        (lambda: pairdist.radius(X, r="1"), TypeError, "r must be a number"),
        (lambda: pairdist.radius(X, r=True), TypeError, "r must be a number"),
        (lambda: pairdist.radius(X, r=100.0, max_pairs=5), ValueError, "more than 5 pairs are within r = 100.0"),
        (lambda: pairdist.radius(X, r=1.0, max_pairs=-1), ValueError, "max_pairs must be >= 0"),
        (lambda: pairdist.cdist(X, X, backend="tpu"), ValueError, "unknown backend 'tpu'"),
        (lambda: pairdist.Engine(memory_budget=0), ValueError, "memory_budget must be a positive number of bytes"),
        (lambda: pairdist.Engine(adapter=3), TypeError, "adapter must be a string"),
        (lambda: pairdist.Engine("gpu", adapter="no such adapter anywhere"), RuntimeError, "no GPU adapter"),
    ],
)
def test_bad_input_raises_one_clear_error(call, error, message):
    with pytest.raises(error, match=message) as raised:
        call()
    assert "\n" not in str(raised.value), "the message is more than one line"


def test_missing_required_arguments():
    with pytest.raises(TypeError, match="knn\\(\\) missing required argument 'k'"):
        pairdist.knn(X)
    with pytest.raises(TypeError, match="radius\\(\\) missing required argument 'r'"):
        pairdist.radius(X)


def test_k_r_and_metric_may_be_positional_as_in_the_signature():
    Y = X + 0.5
    np.testing.assert_array_equal(pairdist.knn(X, Y, 2, "cityblock")[1], pairdist.knn(X, Y, k=2, metric="cityblock")[1])
    np.testing.assert_array_equal(pairdist.radius(X, Y, 2.0, "sqeuclidean")[1], pairdist.radius(X, Y, r=2.0, metric="sqeuclidean")[1])
    np.testing.assert_array_equal(pairdist.knn(X, None, 1)[1], [[1], [0], [1], [2]])


def test_engine_cannot_be_pickled():
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(pairdist.Engine("cpu"))


def test_the_extension_checks_its_own_arguments():
    # The Rust layer, called directly, refuses bad arguments with exceptions too.
    core = pairdist.Engine("cpu")._core
    x = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match="same number of columns"):
        core.cdist(x, np.zeros((3, 4), np.float32), "euclidean", np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="output shape mismatch"):
        core.cdist(x, x, "euclidean", np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="unknown metric 'bogus'"):
        core.knn(x, x, 1, "bogus")
    with pytest.raises(TypeError, match="metric must be a metric's name or a pairdist._pairdist.Distance"):
        core.knn(x, x, 1, 3)
    with pytest.raises(TypeError, match="metric 'cosine' takes no variances V"):
        pairdist._pairdist.Distance("cosine", V=np.ones(2))
    with pytest.raises(ValueError, match="Weights must have same size as input vector. 3 vs. 2."):
        core.knn(x, x, 1, pairdist._pairdist.Distance("euclidean", w=np.ones(3)))
    with pytest.raises(ValueError, match="k must be at least 1"):
        core.knn(x, x, 0, "euclidean")
    with pytest.raises(TypeError):
        core.knn(x.astype(np.float64), x, 1, "euclidean")
    with pytest.raises(ValueError, match="radius must be a number"):
        core.radius(x, x, float("nan"), "euclidean", 10)
