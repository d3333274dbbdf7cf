"""``scipy.spatial`` mirrored by pairdist: :mod:`pairdist.scipy.spatial.distance`, SciPy's
``scipy.spatial.distance`` with ``cdist`` and ``pdist`` on pairdist."""

from . import distance

__all__ = ["distance"]
