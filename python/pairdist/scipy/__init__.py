"""SciPy's namespaces with pairdist underneath, as CuPy's ``cupyx.scipy`` mirrors SciPy.

``pairdist.scipy.spatial.distance`` is ``scipy.spatial.distance`` with ``cdist`` and ``pdist``
computed by pairdist wherever pairdist computes SciPy's answer, and SciPy's own functions for
everything else. It needs SciPy (``import pairdist`` alone does not import it).

>>> from pairdist.scipy.spatial.distance import cdist
>>> cdist([[0, 0]], [[3, 4]])
array([[5.]])
"""

from . import spatial

__all__ = ["spatial"]
