"""Type stubs of the Rust extension module under ``pairdist`` (use ``pairdist.Engine``,
``pairdist.Index`` and the module-level functions: this module's arrays must already be 2-D,
and all of a call's float32 or all float64, the type it computes in). Every method is one job
of the library, run without the GIL, stopped by Ctrl-C."""

from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str

# float32 or float64 points (all of one call's in the same type).
Points = Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]
Neighbours = Tuple[Points, npt.NDArray[np.int64]]
PairsArrays = Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Points]
# Indices and distances (of the points' type) of each query's nearest point, both 1-D.
Nearest = Tuple[npt.NDArray[np.int64], Union[npt.NDArray[np.float32], npt.NDArray[np.float64]]]

class Engine:
    """A pairdist engine (the library's ``Engine``): immutable, safe to share between threads."""

    def __init__(
        self,
        backend: str = "auto",
        adapter: Optional[str] = None,
        memory_budget: Optional[int] = None,
        max_tile_bytes: Optional[int] = None,
        threads: Optional[int] = None,
    ) -> None: ...
    @property
    def backend(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def threads(self) -> int: ...
    @property
    def adapter(self) -> Optional[Dict[str, Any]]: ...
    def stats(self) -> Dict[str, Any]: ...
    def cdist(self, xa: Points, xb: Points, metric: Union[str, Distance], out: Points) -> None: ...
    def pdist(self, x: Points, metric: Union[str, Distance], out: Points) -> None: ...
    def knn(self, xa: Points, xb: Optional[Points], k: int, metric: Union[str, Distance]) -> Neighbours: ...
    def argmin(self, xa: Points, xb: Points, metric: Union[str, Distance]) -> Nearest: ...
    def knn_partial(
        self, xa: Points, xb: Optional[Points], k: int, metric: Union[str, Distance], row0: int, col0: int
    ) -> Neighbours: ...
    def radius(
        self, xa: Points, xb: Optional[Points], r: float, metric: Union[str, Distance], max_pairs: int
    ) -> Optional[PairsArrays]: ...

class Distance:
    """A metric with SciPy's parameters (the library's ``Distance``), checked on construction:
    ``TypeError`` for a parameter the metric does not take, ``ValueError`` for a bad value.
    Lengths against the points, and the defaults of ``V`` and ``VI``, are checked and computed
    when a call runs (or, for lengths, by :meth:`check`)."""

    def __init__(
        self,
        metric: str,
        *,
        p: Optional[float] = None,
        w: Optional[npt.NDArray[np.float64]] = None,
        V: Optional[npt.NDArray[np.float64]] = None,
        VI: Optional[npt.NDArray[np.float64]] = None,
        C: Optional[npt.NDArray[np.float64]] = None,
    ) -> None: ...
    @property
    def metric(self) -> str: ...
    def check(self, d: int) -> None: ...

class Index:
    """A base fitted once (the library's ``Index``), float32 or float64 as the base is."""

    def __init__(self, engine: Engine, base: Points, metric: Union[str, Distance]) -> None: ...
    def __len__(self) -> int: ...
    @property
    def dtype(self) -> str: ...
    @property
    def dim(self) -> int: ...
    @property
    def resident(self) -> bool: ...
    def knn(self, queries: Points, k: int) -> Neighbours: ...
    def argmin(self, queries: Points) -> Nearest: ...
    def radius(self, queries: Points, r: float, max_pairs: int) -> Optional[PairsArrays]: ...

def merge_neighbours(parts: List[Neighbours], k: int) -> Neighbours: ...
def adapters() -> List[Dict[str, Any]]: ...
def metrics() -> List[Tuple[str, List[str]]]: ...
