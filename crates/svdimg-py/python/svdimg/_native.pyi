"""Type stubs of svdimg._native, the Rust extension (see svdimg/__init__.py for the API)."""

from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

_Float = np.floating[Any]

def svd(
    a: npt.NDArray[_Float], full_matrices: bool
) -> Tuple[npt.NDArray[_Float], npt.NDArray[_Float], npt.NDArray[_Float]]:
    """(U, S, Vh) of each matrix of a C-contiguous (B, M, N) stack, in parallel."""
    ...
def singular_values(a: npt.NDArray[_Float]) -> npt.NDArray[_Float]:
    """The (B, min(M, N)) singular values of a C-contiguous (B, M, N) stack."""
    ...
def complex_svd_stack(
    a: npt.NDArray[np.complexfloating[Any, Any]], full_matrices: bool, compute_uv: bool
) -> Any:
    """(U, S, Vh), or S alone, of each matrix of a C-contiguous complex (B, M, N) stack."""
    ...
def truncated_svd(
    a: npt.NDArray[_Float], k: int, method: str, seed: int
) -> Tuple[npt.NDArray[_Float], npt.NDArray[_Float], npt.NDArray[_Float]]: ...
def approximate_planes(
    planes: npt.NDArray[_Float], rank: int, method: str, seed: int
) -> npt.NDArray[_Float]: ...
def decode(data: bytes, allow_truncated: bool = False) -> Tuple[npt.NDArray[Any], Dict[str, Any]]: ...
def compress(
    planes: npt.NDArray[np.float32],
    alpha: Optional[npt.NDArray[np.float32]],
    bit_depth: int,
    target: str,
    value: float,
    color: str,
) -> bytes: ...
def decompress(data: bytes, rank: Optional[int] = None) -> npt.NDArray[Any]: ...
def psnr(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float: ...
def ssim(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float: ...
def optimal_error(s: npt.NDArray[np.float64], k: int) -> float: ...
def sample_png() -> bytes: ...
