"""svdimg: image compression and exploration with the singular value decomposition.

A drop-in for the SVD steps of NumPy's tutorial "Linear algebra on n-dimensional arrays",
computed by the svdimg Rust library (faer), with the GIL released:

>>> import numpy as np, svdimg
>>> img, meta = svdimg.load_sample()
>>> img.shape, img.dtype, meta["color"]
((256, 256, 3), dtype('uint8'), 'rgb')
>>> img_array = img / 255
>>> img_gray = img_array @ [0.2126, 0.7152, 0.0722]
>>> U, s, Vt = svdimg.svd(img_gray)
>>> U.shape, s.shape, Vt.shape
((256, 256), (256,), (256, 256))
>>> Sigma = np.zeros((256, 256)); np.fill_diagonal(Sigma, s)
>>> bool(np.allclose(img_gray, U @ Sigma @ Vt))
True

Besides ``svd`` there are ``truncated_svd`` (only the first k components, fast on large
images), ``approximate`` (the rank-k image, same shape and dtype), ``load``, the ``.svdz``
file format (``compress`` and ``decompress``) and the metrics ``psnr``, ``ssim`` and
``optimal_error``.

In a notebook, pictures show themselves: the arrays ``approximate``, ``load`` and
``decompress`` return are ``Picture`` arrays (``_repr_png_``), and ``gallery``,
``components`` and ``spectrum`` draw the lessons' figures. ``svdimg.widget.Explorer`` is the
interactive explorer (``pip install "svdimg[notebook]"``).
"""

from __future__ import annotations

import os
import warnings
from collections import namedtuple
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from . import _native
from .display import Picture, components, gallery, picture, spectrum

__all__ = [
    "svd",
    "svdvals",
    "SVDResult",
    "truncated_svd",
    "approximate",
    "load",
    "load_sample",
    "compress",
    "decompress",
    "psnr",
    "ssim",
    "optimal_error",
    "Picture",
    "gallery",
    "components",
    "spectrum",
]

__version__ = "0.1.0"


def _c_array(a: Any, dtype: Any = None) -> np.ndarray:
    """``a`` as a C-contiguous, aligned array (buffers from pickles or shared memory can
    be unaligned, which the native code cannot read in place)."""
    return np.require(a, dtype=dtype, requirements=["C_CONTIGUOUS", "ALIGNED"])


def _float_array(a: Any, name: str = "a") -> np.ndarray:
    """``a`` as a C-contiguous float32 or float64 array, checked for the SVD."""
    arr = np.asarray(a)
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} is complex ({arr.dtype}); this function works on real arrays")
    return _svd_array(arr, name)


def _svd_array(arr: np.ndarray, name: str = "a") -> np.ndarray:
    """``arr`` as a C-contiguous array of the type the SVD runs in, checked.

    NumPy's rules: float32 and complex64 stay (float16 widens to float32), complex128 is
    complex, every other numeric type becomes float64.
    """
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise np.linalg.LinAlgError(
            f"{name} must have at least 2 dimensions (..., M, N), got {arr.ndim}"
        )
    if arr.dtype.kind == "c":
        dtype = np.complex64 if arr.dtype == np.complex64 else np.complex128
    else:
        dtype = np.float32 if arr.dtype in (np.float16, np.float32) else np.float64
    arr = _c_array(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise np.linalg.LinAlgError(f"{name} contains NaN or infinity")
    return arr


def _positive(k: Any, name: str) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(k).__name__}")
    if k <= 0:
        raise ValueError(f"{name} must be at least 1, got {k}")
    return int(k)


try:  # NumPy 2: the named tuple np.linalg.svd returns.
    from numpy.linalg._linalg import SVDResult
except ImportError:  # NumPy 1.x returns a plain tuple; a named one unpacks the same way.
    SVDResult = namedtuple("SVDResult", ["U", "S", "Vh"])


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Singular value decomposition, a drop-in for ``np.linalg.svd``.

    ``a`` is a (..., M, N) array, real or complex; the matrices of a stack are factored in
    parallel, with the GIL released. Types follow NumPy: float32 and complex64 stay single
    precision, integers become float64. Returns ``SVDResult(U, S, Vh)`` (NumPy's own named
    tuple, so ``res.U`` and unpacking both work) with ``a = U @ diag(S) @ Vh``: U is
    (..., M, M) and Vh (..., N, N) with ``full_matrices=True``, (..., M, K) and (..., K, N)
    with K = min(M, N) otherwise; or ``S`` alone (descending, real) when
    ``compute_uv=False``, computed without the vectors.

    Each singular pair is made unique up to NumPy's freedom: the largest-magnitude entry of
    each column of U is real and positive (LAPACK leaves signs and phases arbitrary).
    ``hermitian=True`` reads the lower triangle, as NumPy's eigendecomposition path does,
    and factors the Hermitian matrix it defines with the same SVD. Empty matrices and
    stacks come back as NumPy returns them (an identity U or Vh where M or N is 0). A
    subclass such as ``np.matrix`` gets U and Vh of its own type.

    >>> import numpy as np, svdimg
    >>> a = np.array([[3.0, 0.0], [4.0, 5.0]])
    >>> svdimg.svd(a, compute_uv=False).round(6)
    array([6.708204, 2.236068])
    >>> U, S, Vh = svdimg.svd(np.ones((3, 4, 2), dtype=np.float32), full_matrices=False)
    >>> U.shape, S.shape, Vh.shape, S.dtype
    ((3, 4, 2), (3, 2), (3, 2, 2), dtype('float32'))
    >>> svdimg.svd(np.array([[1j, 0], [0, 2]])).S
    array([2., 1.])
    """
    raw = np.asarray(a)
    wrap = getattr(a, "__array_wrap__", raw.__array_wrap__)
    arr = _svd_array(raw)
    if hermitian:
        # The Hermitian matrix the lower triangle defines (a diagonal's imaginary part is
        # ignored, as LAPACK's eigensolver ignores it).
        strict = np.tril(arr, -1)
        diagonal = np.diagonal(arr, axis1=-2, axis2=-1).real
        full = strict + np.swapaxes(strict, -1, -2).conj()
        full += diagonal[..., None] * np.eye(arr.shape[-1], dtype=arr.dtype)
        arr = _c_array(full)
    batch, (m, n) = arr.shape[:-2], arr.shape[-2:]
    k = min(m, n)
    real = arr.real.dtype
    if arr.size == 0:
        s = np.empty(batch + (k,), real)
        if not compute_uv:
            return s
        cols, rows = (m, n) if full_matrices else (k, k)
        u = np.broadcast_to(np.eye(m, cols, dtype=arr.dtype), batch + (m, cols)).copy()
        vh = np.broadcast_to(np.eye(rows, n, dtype=arr.dtype), batch + (rows, n)).copy()
        return SVDResult(wrap(u), s, wrap(vh))
    flat = arr.reshape((-1, m, n))
    if arr.dtype.kind == "c":
        out = _native.complex_svd_stack(flat, bool(full_matrices), bool(compute_uv))
    elif compute_uv:
        out = _native.svd(flat, bool(full_matrices))
    else:
        out = _native.singular_values(flat)
    if not compute_uv:
        return out.reshape(batch + out.shape[1:])
    u, s, vh = (x.reshape(batch + x.shape[1:]) for x in out)
    return SVDResult(wrap(u), s, wrap(vh))


def svdvals(x: Any, /):
    """The singular values of a (..., M, N) array, descending: ``np.linalg.svdvals``.

    The same as ``svd(x, compute_uv=False)``: no singular vectors are computed.

    >>> import numpy as np, svdimg
    >>> svdimg.svdvals(np.diag([1.0, 3.0, 2.0]))
    array([3., 2., 1.])
    """
    return svd(x, compute_uv=False)


def truncated_svd(a: Any, k: int, method: str = "auto", seed: int = 0):
    """The first ``k`` components ``(U, S, Vh)`` of a 2-D array: U (M, k), S (k,), Vh (k, N).

    ``method="randomized"`` computes only those components by randomized subspace
    iteration (error within 1% of the optimum); ``"exact"`` takes the full SVD and keeps k;
    ``"auto"`` picks randomized when the short side is at least 300 and k at most a fifth
    of it. ``seed`` fixes the random test matrix. ``k`` above min(M, N) is clamped.

    >>> import numpy as np, svdimg
    >>> img, _ = svdimg.load_sample()
    >>> gray = img @ [0.2126, 0.7152, 0.0722] / 255
    >>> U, S, Vh = svdimg.truncated_svd(gray, 20, method="randomized")
    >>> U.shape, S.shape, Vh.shape
    ((256, 20), (20,), (20, 256))
    >>> error = np.linalg.norm(gray - (U * S) @ Vh)
    >>> optimum = svdimg.optimal_error(svdimg.svd(gray, compute_uv=False), 20)
    >>> bool(error <= 1.01 * optimum)
    True
    """
    arr = _float_array(a)
    if arr.ndim != 2:
        raise ValueError(f"a must be a 2-D array, got {arr.ndim} dimensions")
    k = _positive(k, "k")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return _native.truncated_svd(arr, k, str(method), int(seed))


def _image_scale(arr: np.ndarray, name: str) -> float:
    """The value of full intensity for an image dtype."""
    if arr.dtype == np.uint8:
        return 255.0
    if arr.dtype == np.uint16:
        return 65535.0
    if arr.dtype.kind == "f":
        return 1.0
    raise TypeError(f"{name} must be uint8, uint16 or float (on [0, 1]), got {arr.dtype}")


def _image(image: Any, name: str = "image") -> Tuple[np.ndarray, float]:
    """An (H, W) or (H, W, C) image array, checked, with its full-intensity value."""
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        raise ValueError(
            f"{name} must be (H, W) or (H, W, C) with C in 1..4, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    scale = _image_scale(arr, name)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr, scale


def _split(arr: np.ndarray, scale: float, dtype) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Colour planes (C, H, W) and alpha (H, W) on the [0, 1] scale."""
    planes = arr[..., None] if arr.ndim == 2 else arr
    c = planes.shape[2]
    colors = 1 if c in (1, 2) else 3
    color = _c_array(np.moveaxis(planes[..., :colors], 2, 0), dtype=dtype) / dtype(scale)
    alpha = None
    if c in (2, 4):
        alpha = _c_array(planes[..., -1], dtype=dtype) / dtype(scale)
    return _c_array(color), alpha


def approximate(image: Any, rank: int, method: str = "auto", seed: int = 0) -> np.ndarray:
    """The rank-``rank`` approximation of an image, with the same shape and dtype.

    ``image`` is (H, W) or (H, W, C), uint8, uint16 or float on [0, 1]. Each colour
    channel is approximated on its own; alpha (C = 2 or 4) passes through unchanged. The
    result is clipped to the valid range and rounded for integer types, so it never
    wraps. ``rank`` above min(H, W) is clamped.

    >>> import numpy as np, svdimg
    >>> img, _ = svdimg.load_sample()
    >>> out = svdimg.approximate(img, 20)
    >>> out.shape, out.dtype
    ((256, 256, 3), dtype('uint8'))
    >>> round(svdimg.psnr(img, out), 2)
    23.05
    """
    arr, scale = _image(image)
    rank = _positive(rank, "rank")
    work = np.float64 if arr.dtype == np.float64 else np.float32
    color, _ = _split(arr, scale, work)
    out = _native.approximate_planes(color, rank, str(method), int(seed))
    out = np.clip(np.moveaxis(out, 0, 2), 0.0, 1.0)
    result = np.array(arr, copy=True)
    view = result[..., None] if arr.ndim == 2 else result
    colors = out.shape[2]
    if arr.dtype.kind == "f":
        view[..., :colors] = out
    else:
        view[..., :colors] = np.rint(out * scale)
    return picture(result)


def load(
    path: Union[str, os.PathLike], *, allow_truncated: bool = False
) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Reads an image file: ``(array, metadata)``.

    The array is uint8 or uint16, (H, W) for gray or (H, W, C) with its own channels (2
    gray+alpha, 3 RGB, 4 RGBA); JPEG EXIF orientation is applied, GIF gives its first
    frame. ``metadata`` has ``width``, ``height``, ``bit_depth``, ``color``, ``format`` and
    ``truncated``.

    A file cut short raises ``ValueError`` ("the image is truncated (JPEG data ends at byte
    N with no end-of-image marker)"). With ``allow_truncated=True`` it is decoded when the
    decoder can fill in what is missing, with a ``UserWarning``, and ``metadata["truncated"]``
    says where the data ends (it is ``None`` for a complete file).
    """
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    array, meta = _native.decode(data, allow_truncated)
    if meta["truncated"] is not None:
        warnings.warn(
            f"{os.fspath(path)!r}: the image is truncated ({meta['truncated']}); "
            "the decoder filled in what is missing",
            stacklevel=2,
        )
    return picture(array), meta


def load_sample() -> Tuple[np.ndarray, Dict[str, Any]]:
    """The built-in sample photo (256x256 RGB, NASA, public domain), as ``load`` gives it."""
    array, meta = _native.decode(_native.sample_png())
    return picture(array), meta


def compress(
    image: Any,
    *,
    rank: Optional[int] = None,
    psnr: Optional[float] = None,
    max_bytes: Optional[int] = None,
    energy: Optional[float] = None,
    color: str = "auto",
) -> bytes:
    """Compresses an image to ``.svdz`` bytes (quantised SVD factors).

    ``psnr`` and ``max_bytes`` write version 2 (tiles with a rank each, or one global basis
    when smaller; adaptive range coding); ``rank`` and ``energy`` name global components
    and write version 1. Give at most one target: ``psnr`` (default 35 dB, met on the decoded image),
    ``max_bytes`` (the best PSNR that fits), ``energy`` (share kept, in (0, 1]) or
    ``rank``. ``color`` is ``"auto"`` (YCbCr for colour, a JPEG's own for a photo that was a
    JPEG; gray for gray), ``"rgb"``,
    ``"ycbcr"`` or ``"gray"``. uint8 and uint16 keep their depth; float images (on [0, 1])
    are stored at 16 bits. Alpha is kept losslessly.

    >>> import svdimg
    >>> img, _ = svdimg.load_sample()
    >>> data = svdimg.compress(img, psnr=30)
    >>> len(data) < img.nbytes // 5
    True
    >>> svdimg.psnr(img, svdimg.decompress(data)) >= 30
    True
    """
    arr, scale = _image(image)
    given = [(k, v) for k, v in [("rank", rank), ("psnr", psnr), ("max_bytes", max_bytes), ("energy", energy)] if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one target, got {', '.join(k for k, _ in given)}")
    target, value = given[0] if given else ("psnr", 35.0)
    if target in ("rank", "max_bytes"):
        value = _positive(value, target)
    elif not np.isfinite(value) or value <= 0:
        raise ValueError(f"{target} must be positive, got {value}")
    bit_depth = 8 if arr.dtype == np.uint8 else 16
    colors, alpha = _split(arr, scale, np.float32)
    return _native.compress(colors, alpha, bit_depth, target, float(value), str(color))


def decompress(
    data: Union[bytes, bytearray, memoryview, str, os.PathLike],
    rank: Optional[int] = None,
    *,
    max_bytes: Optional[int] = None,
    allow_truncated: bool = False,
) -> np.ndarray:
    """Decodes an ``.svdz`` file (its bytes, or a path) to a uint8 or uint16 (H, W) or
    (H, W, C) array.

    A file stores its components strongest first, so its first bytes are a coarser picture.
    ``rank`` decodes only the first components of each plane (version 1, or a global
    version 2 file) or of each tile (a tiled file); from a path only the blocks that hold
    them are read. ``max_bytes`` decodes what the first ``max_bytes`` bytes hold (from a
    path, only those are read). Corrupt data raises ``ValueError``; so does data cut short,
    unless ``allow_truncated=True``: then what arrived is decoded, with a ``UserWarning``
    naming how many components of how many were used.
    """
    if rank is not None:
        rank = _positive(rank, "rank")
    if max_bytes is not None:
        max_bytes = _positive(max_bytes, "max_bytes")
    if isinstance(data, (str, os.PathLike)):
        name = f"{os.fspath(data)!r}: "
        array, meta = _native.decompress(
            None, os.fspath(data), rank, max_bytes, bool(allow_truncated)
        )
    else:
        name = ""
        array, meta = _native.decompress(
            bytes(data), None, rank, max_bytes, bool(allow_truncated)
        )
    if meta["truncated"] and not meta["asked"]:
        warnings.warn(
            f"{name}the .svdz file is truncated (it ends at byte {meta['bytes_read']} of "
            f"{meta['file_bytes']}); decoded {meta['components_used']} of its "
            f"{meta['components_total']} components",
            stacklevel=2,
        )
    return picture(array)


def _unit_planes(a: Any, b: Any) -> Tuple[np.ndarray, np.ndarray]:
    """Two images of one shape on the [0, 1] scale, as float64."""
    x, sx = _image(a, "a")
    y, sy = _image(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"the images differ in shape: {x.shape} and {y.shape}")
    return x.astype(np.float64) / sx, y.astype(np.float64) / sy


def psnr(a: Any, b: Any) -> float:
    """Peak signal-to-noise ratio in dB of two images of one shape, each on its dtype's
    scale (uint8 /255, uint16 /65535, float as is); ``inf`` when they are equal.

    >>> import numpy as np, svdimg
    >>> a = np.zeros((4, 4), np.uint8); b = a.copy(); b[0, 0] = 255
    >>> round(svdimg.psnr(a, b), 4)
    12.0412
    """
    x, y = _unit_planes(a, b)
    return _native.psnr(x.ravel(), y.ravel())


def ssim(a: Any, b: Any) -> float:
    """Mean structural similarity of two images of one shape (Wang et al. 2004: 11x11
    Gaussian window, sigma 1.5, over the valid region), averaged over channels; matches
    scikit-image's ``structural_similarity(..., gaussian_weights=True,
    use_sample_covariance=False, data_range=1)``.
    """
    x, y = _unit_planes(a, b)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    values = [
        _native.ssim(_c_array(x[..., c]), _c_array(y[..., c]))
        for c in range(x.shape[2])
    ]
    return float(np.mean(values))


def optimal_error(s: Any, k: int) -> float:
    """The Eckart-Young optimum: the smallest Frobenius error of any rank-``k``
    approximation of a matrix with singular values ``s``, ``sqrt(sum(s[k:]**2))``.

    >>> import svdimg
    >>> svdimg.optimal_error([5.0, 3.0, 4.0], 1)
    5.0
    """
    arr = _c_array(np.asarray(s, dtype=np.float64).ravel())
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"k must be a non-negative integer, got {k!r}")
    return _native.optimal_error(arr, int(k))
