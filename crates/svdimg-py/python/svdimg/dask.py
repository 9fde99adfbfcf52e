"""Huge images on Dask: a randomized SVD of a 2-D ``dask.array`` of any size.

``randomized_svd`` is Halko, Martinsson and Tropp's algorithm 4.4 (randomized subspace
iteration) with a QR between passes: ``Y = A Ω``, then for each power iteration
``Q = qr(Y)``, ``Z = Aᵀ Q``, ``Q' = qr(Z)``, ``Y = A Q'``; finally ``B = Qᵀ A`` (small),
whose SVD gives the factors. The matrix may be chunked in both directions and never has
to fit in one process: every pass reads it block by block, and each block's product runs
in svdimg's native code. The Gaussian test matrix Ω is drawn inside each block from
(seed, global column index), so nothing large is shipped and the result does not depend
on the chunking. Tall sketches are orthonormalised with ``dask.array.linalg.tsqr``.

Feed it from ``dask.array.from_zarr`` or from ``tifffile`` (``imread(path, aszarr=True)``
then ``dask.array.from_zarr``) without reading the whole image into one process.

Needs the optional extras: ``pip install svdimg[dask]`` (dask, distributed, zarr, tifffile).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from . import _c_array, _native


def _dask():
    try:
        import dask.array as da
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("svdimg.dask needs dask: pip install 'svdimg[dask]'") from e
    return da


def _check(x: Any):
    da = _dask()
    if not isinstance(x, da.Array):
        x = da.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D dask array, got {x.ndim} dimensions")
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    return x


def _sketch(block, l, seed, block_info=None):
    col0 = block_info[0]["array-location"][1][0]
    return _native.sketch_block(_c_array(block), col0, l, seed)[:, None, :]


def _times(block, q):
    """One block of A times the matching rows of a tall matrix (A Q)."""
    return _native.block_product(_c_array(block), _c_array(q, block.dtype), False)[:, None, :]


def _times_t(block, q):
    """One block of Aᵀ times the matching rows of a tall matrix (Aᵀ Q)."""
    return _native.block_product(_c_array(block), _c_array(q, block.dtype), True)[:, None, :]


def _t_times(q, block):
    """The matching rows of a tall matrix, transposed, times one block (Qᵀ A)."""
    return _native.block_product(_c_array(q, block.dtype), _c_array(block), True)[:, None, :]


def _orthonormal(y):
    """An orthonormal basis of the tall, one-column-chunk ``y`` by TSQR."""
    da = _dask()
    q, _ = da.linalg.tsqr(y)
    return q


def randomized_svd(x: Any, k: int, *, n_power_iter: int = 2, oversample: Optional[int] = None,
                   seed: int = 0) -> Tuple[Any, np.ndarray, Any]:
    """The first ``k`` singular triplets of the 2-D dask array ``x``: ``(U, s, Vt)`` with
    ``U`` (m×k) and ``Vt`` (k×n) dask arrays and ``s`` a NumPy array, descending.

    ``oversample`` defaults to ``max(10, k // 2)`` (the sketch has ``k + oversample``
    columns), as svdimg's in-memory ``truncated_svd``; ``n_power_iter`` passes of subspace
    iteration, each followed by a QR, make the error close to the optimum even when the
    spectrum decays slowly. Signs: the largest entry of each column of ``U`` is positive.
    """
    da = _dask()
    x = _check(x)
    m, n = x.shape
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = int(min(k, m, n))
    over = max(10, k // 2) if oversample is None else int(oversample)
    l = int(min(k + over, m, n))
    rows, cols = x.chunks
    # Y = A Ω, one (rows × l) product per block, summed over the block columns.
    y = x.map_blocks(_sketch, l, int(seed), chunks=(rows, (1,) * len(cols), (l,)),
                     new_axis=2, dtype=x.dtype).sum(axis=1)
    q = _orthonormal(y.rechunk((rows, l)))
    for _ in range(n_power_iter):
        z = da.blockwise(_times_t, "jik", x, "ij", q.rechunk((rows, l)), "ik",
                         adjust_chunks={"i": 1}, dtype=x.dtype).sum(axis=1)
        qz = _orthonormal(z.rechunk((cols, l)))
        y = da.blockwise(_times, "ijk", x, "ij", qz.rechunk((cols, l)), "jk",
                         adjust_chunks={"j": 1}, dtype=x.dtype).sum(axis=1)
        q = _orthonormal(y.rechunk((rows, l)))
    # Q (m × l) is kept where it was computed (in the cluster's memory, or this process's
    # with a local scheduler), so that B, U and the signs do not redo the passes.
    q = q.rechunk((rows, l)).persist()
    # B = Qᵀ A: l × n, small enough for one process.
    b = da.blockwise(_t_times, "kij", q, "ik", x, "ij", adjust_chunks={"i": 1},
                     dtype=x.dtype).sum(axis=1)
    b = b.compute()
    from . import svd as _svd
    ub, s, vt = _svd(np.asarray(b, dtype=np.float64), full_matrices=False)
    ub, s, vt = ub[:, :k], s[:k], vt[:k]
    # U = Q ub, lazily; then the signs (one pass over U, which is only m × k).
    u = q.map_blocks(lambda blk: blk @ ub.astype(blk.dtype), chunks=(rows, (k,)), dtype=x.dtype)
    signs = _column_signs(u)
    u = u * signs.astype(u.dtype)
    vt = (vt * signs[:, None]).astype(x.dtype)
    return u, s.astype(x.dtype), da.from_array(vt, chunks=((k,), cols))


def _column_signs(u) -> np.ndarray:
    """±1 per column so that its largest-magnitude entry is positive."""
    da = _dask()
    big = da.max(u, axis=0)
    small = da.min(u, axis=0)
    big, small = da.compute(big, small)
    return np.where(np.abs(small) > np.abs(big), -1.0, 1.0)


def _read_tiff_block(path, level=0, block_info=None):
    import tifffile
    import zarr

    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    with tifffile.imread(path, aszarr=True, level=level) as store:
        return np.asarray(zarr.open(store, mode="r")[r0:r1, c0:c1])


def from_tiff(path: Any, chunks: int = 2048):
    """A gray (2-D) TIFF as a dask array whose blocks are read where they are computed,
    through ``tifffile``'s Zarr view (``aszarr=True``): nothing is read into the calling
    process, and it works on process workers, which cannot be sent an open file. Blocks
    are about ``chunks`` pixels a side, rounded to whole tiles (or strips)."""
    import tifffile

    da = _dask()
    path = str(path)
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        if len(page.shape) != 2:
            raise ValueError(f"'{path}': expected a 2-D (gray) image, got shape {page.shape}")
        (h, w), dtype = page.shape, page.dtype
        tile = (page.tilelength, page.tilewidth) if page.is_tiled else (page.rowsperstrip or h, w)
    rows = max(1, chunks // tile[0]) * tile[0]
    cols = max(1, chunks // tile[1]) * tile[1]
    return da.map_blocks(_read_tiff_block, path, chunks=(_split(h, rows), _split(w, cols)), dtype=dtype,
                         meta=np.empty((0, 0), dtype))


def _split(total: int, size: int) -> Tuple[int, ...]:
    return tuple(min(size, total - i) for i in range(0, total, size))


def singular_values(x: Any, k: int, **kwargs) -> np.ndarray:
    """The first ``k`` singular values of the 2-D dask array ``x`` (``randomized_svd``)."""
    return randomized_svd(x, k, **kwargs)[1]


def approximate(x: Any, k: int, **kwargs):
    """The rank-``k`` approximation ``U_k diag(s) V_kᵀ`` of ``x`` as a lazy dask array,
    chunked like ``x``: each block is one small product, computed when asked for."""
    da = _dask()
    x = _check(x)
    u, s, vt = randomized_svd(x, k, **kwargs)
    us = u * s
    return da.blockwise(lambda a, b: a @ b, "ij", us, "ik", vt, "kj", dtype=x.dtype, concatenate=True)
