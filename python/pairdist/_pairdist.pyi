"""Type stubs of the Rust extension module under ``pairdist`` (use ``pairdist.Engine`` and the
module-level functions: this module's arrays must already be 2-D, and all of a call's float32
or all float64, the type it computes in)."""

from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

# float32 or float64 points (all of one call's in the same type).
Points = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]

class Engine:
    """A pairdist engine (the library's ``Engine``): immutable, safe to share between threads."""

    def __init__(
        self,
        backend: str = "auto",
        adapter: Optional[str] = None,
        memory_budget: Optional[int] = None,
        max_tile_bytes: Optional[int] = None,
    ) -> None: ...
    @property
    def backend(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def adapter(self) -> Optional[Dict[str, Any]]: ...
    def cdist_into(self, xa: Points, xb: Points, metric: Union[str, Distance], out: Points) -> None: ...
    def knn(self, xa: Points, xb: Points, k: int, metric: Union[str, Distance]) -> Tuple[Points, npt.NDArray[np.int64]]: ...
    def radius(
        self, xa: Points, xb: Points, r: float, metric: Union[str, Distance], max_pairs: int
    ) -> Optional[Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Points]]: ...

class Distance:
    """A metric with SciPy's parameters (the library's ``Distance``), checked on construction:
    ``TypeError`` for a parameter the metric does not take, ``ValueError`` for a bad value.
    Lengths against the points, and the defaults of ``V`` and ``VI``, are checked and computed
    when a call runs (or by :meth:`prepare`)."""

    def __init__(
        self,
        metric: str,
        *,
        p: Optional[float] = None,
        w: Optional[npt.NDArray[np.float64]] = None,
        V: Optional[npt.NDArray[np.float64]] = None,
        VI: Optional[npt.NDArray[np.float64]] = None,
    ) -> None: ...
    @property
    def metric(self) -> str: ...
    def prepare(self, xa: Points, xb: Optional[Points] = None) -> Optional[Tuple[Points, Optional[Points], Distance]]:
        """The parameters checked against the points (xb None: xa with itself), SciPy's
        defaults filled from all of them, and the points as the kernel sees them with the
        distance to run on them; None when calls may take the points as they are."""
        ...

def adapters() -> List[Dict[str, Any]]: ...
def metrics() -> List[Tuple[str, List[str]]]: ...
