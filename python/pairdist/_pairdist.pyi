"""Type stubs of the Rust extension module under ``pairdist`` (use ``pairdist.Engine`` and the
module-level functions: this module's arrays must already be float32 and 2-D)."""

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

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
    def cdist_into(
        self,
        xa: npt.NDArray[np.float32],
        xb: npt.NDArray[np.float32],
        metric: str,
        out: npt.NDArray[np.float32],
    ) -> None: ...
    def knn(
        self, xa: npt.NDArray[np.float32], xb: npt.NDArray[np.float32], k: int, metric: str
    ) -> Tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...
    def radius(
        self,
        xa: npt.NDArray[np.float32],
        xb: npt.NDArray[np.float32],
        r: float,
        metric: str,
        max_pairs: int,
    ) -> Optional[Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]]: ...

def adapters() -> List[Dict[str, Any]]: ...
def metrics() -> List[Tuple[str, List[str]]]: ...
