"""scikit-learn estimators whose neighbour search is pairdist's fit-once :class:`pairdist.Index`.

>>> from pairdist.sklearn.neighbors import NearestNeighbors    # as cuML's cuml.neighbors

:mod:`pairdist.sklearn.neighbors` holds ``NearestNeighbors``, ``KNeighborsClassifier`` and
``KNeighborsRegressor``: scikit-learn's own estimators (subclasses, so every parameter, attribute,
error and helper is scikit-learn's) with the brute-force search replaced by pairdist's, on a GPU
or on all CPU cores (``backend="auto" | "cpu" | "gpu"``). scikit-learn is needed only here:
``import pairdist`` never imports it.
"""

from .neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

__all__ = ["NearestNeighbors", "KNeighborsClassifier", "KNeighborsRegressor"]
