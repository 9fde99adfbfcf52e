#!/usr/bin/env python3
"""Times LAPACK's one-stage bidiagonalisation (?gebrd) and its bidiagonal dqds (?lasq1)
through NumPy's bundled OpenBLAS, next to NumPy's own SVD.

Usage: .venv-bench/bin/python scripts/gebrd_timing.py   (the venv scripts/compare.py makes)

NumPy's SVD (?gesdd) spends its time in three steps: ?gebrd (reduce to bidiagonal form),
the bidiagonal SVD (?bdsdc; for values alone, dqds in ?lasq1) and, with vectors, ?ormbr
(apply the reflectors). This calls ?gebrd and ?lasq1 with ctypes, to show how much of the
SVD each is; scripts/compare.py --values imports `stages` from here to set them beside
svdimg's two-stage solver (QR, dense to band, band to bidiagonal, dqds).
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as compare.py does.
"""
import ctypes
import glob
import os
import time

import numpy as np

_libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "libscipy_openblas64_*.so"))
if not _libs:
    raise SystemExit("gebrd_timing.py: NumPy's bundled OpenBLAS (numpy.libs) not found")
_lib = ctypes.CDLL(_libs[0])
_I = ctypes.c_int64
_PREFIX = {np.float64: "d", np.float32: "s"}


def _ptr(x):
    return x.ctypes.data_as(ctypes.c_void_p)


def _timed_with_query(call, dtype, info):
    """Seconds for `call(work, lwork)` after its workspace query (`lwork = -1`)."""
    query = np.empty(1, dtype)
    call(query, -1)
    work = np.empty(int(query[0]), dtype)
    start = time.perf_counter()
    call(work, len(work))
    seconds = time.perf_counter() - start
    assert info.value == 0, info.value
    return seconds


def gebrd(a, keep=False):
    """Seconds for ?gebrd on a copy of `a` (column-major), after a workspace query, and the
    bidiagonal it leaves (diagonal, off-diagonal); with `keep`, also the reflectors
    (the overwritten matrix, tauq, taup)."""
    dtype = a.dtype.type
    fn = getattr(_lib, f"scipy_{_PREFIX[dtype]}gebrd_64_")
    m, n = a.shape
    a = np.asfortranarray(a.copy())
    k = min(m, n)
    d, e, tq, tp = (np.empty(k, dtype) for _ in range(4))
    info = _I(0)

    def call(work, lwork):
        fn(ctypes.byref(_I(m)), ctypes.byref(_I(n)), _ptr(a), ctypes.byref(_I(m)), _ptr(d), _ptr(e),
           _ptr(tq), _ptr(tp), _ptr(work), ctypes.byref(_I(lwork)), ctypes.byref(info))

    seconds = _timed_with_query(call, dtype, info)
    if keep:
        return seconds, d, e[: k - 1], (a, tq, tp)
    return seconds, d, e[: k - 1]


def bdsdc(d, e):
    """Seconds for ?bdsdc (divide and conquer, with vectors) on the upper bidiagonal (d, e),
    and its U, s, Vᵀ (column-major)."""
    dtype = d.dtype.type
    fn = getattr(_lib, f"scipy_{_PREFIX[dtype]}bdsdc_64_")
    n = len(d)
    d, e = d.copy(), np.concatenate([e, [0]]).astype(dtype)
    u = np.zeros((n, n), dtype, order="F")
    vt = np.zeros((n, n), dtype, order="F")
    work = np.empty(3 * n * n + 4 * n, dtype)
    iwork = np.empty(8 * n, np.int64)
    info = _I(0)
    dummy = np.empty(1, dtype)
    idummy = np.empty(1, np.int64)
    start = time.perf_counter()
    fn(ctypes.c_char_p(b"U"), ctypes.c_char_p(b"I"), ctypes.byref(_I(n)), _ptr(d), _ptr(e), _ptr(u),
       ctypes.byref(_I(n)), _ptr(vt), ctypes.byref(_I(n)), _ptr(dummy), _ptr(idummy), _ptr(work),
       _ptr(iwork), ctypes.byref(info), ctypes.c_size_t(1), ctypes.c_size_t(1))
    seconds = time.perf_counter() - start
    assert info.value == 0, info.value
    return seconds, u, d, vt


def ormbr(vect, a, tau, c, m):
    """Seconds for ?ormbr applying Q (vect "Q", to the n×n `c` padded to m rows) or Pᵀ
    (vect "P", from the right to `c`) from ?gebrd's reflectors: the back-transformation of
    ?gesdd. Returns the seconds and the result."""
    dtype = a.dtype.type
    fn = getattr(_lib, f"scipy_{_PREFIX[dtype]}ormbr_64_")
    am, an = a.shape
    k = min(am, an)
    if vect == b"Q":
        cc = np.zeros((m, c.shape[1]), dtype, order="F")
        cc[: c.shape[0]] = c
        side, trans, nq = b"L", b"N", am
    else:
        cc = np.asfortranarray(c.copy())
        side, trans, nq = b"R", b"N", an
    cm, cn = cc.shape
    info = _I(0)

    def call(work, lwork):
        fn(ctypes.c_char_p(vect), ctypes.c_char_p(side), ctypes.c_char_p(trans), ctypes.byref(_I(cm)),
           ctypes.byref(_I(cn)), ctypes.byref(_I(an if vect == b"Q" else am)), _ptr(a), ctypes.byref(_I(am)),
           _ptr(tau), _ptr(cc), ctypes.byref(_I(cm)), _ptr(work), ctypes.byref(_I(lwork)), ctypes.byref(info),
           ctypes.c_size_t(1), ctypes.c_size_t(1), ctypes.c_size_t(1))

    seconds = _timed_with_query(call, dtype, info)
    return seconds, cc


def vector_stages(a):
    """LAPACK's ?gesdd with vectors, stage by stage, for `a` (m×n) as NumPy hands it over
    (its transpose, column-major): (gebrd, bdsdc, ormbr for U, ormbr for V) seconds."""
    at = a.T  # what LAPACK sees: n×m column-major; tall when m < n is false, so reduce aᵀ
    t_brd, d, e, (red, tq, tp) = gebrd(at, keep=True)
    rows, cols = at.shape
    t_dc, u, s, vt = bdsdc(d, e)
    k = min(rows, cols)
    # ?gebrd of a tall matrix gives an upper bidiagonal: B = Qᵀ A P, so U = Q u, Vᵀ = vt Pᵀ.
    t_q, _ = ormbr(b"Q", red, tq, u, rows)
    t_p, _ = ormbr(b"P", red, tp, vt, k)
    return t_brd, t_dc, t_q, t_p


def lasq1(d, e):
    """Seconds for ?lasq1 (dqds, values only) on the bidiagonal (d, e), and the values."""
    dtype = d.dtype.type
    fn = getattr(_lib, f"scipy_{_PREFIX[dtype]}lasq1_64_")
    n = len(d)
    d, e2 = d.copy(), np.concatenate([e, [0]]).astype(dtype)
    work = np.empty(4 * n, dtype)
    info = _I(0)
    start = time.perf_counter()
    fn(ctypes.byref(_I(n)), _ptr(d), _ptr(e2), _ptr(work), ctypes.byref(info))
    seconds = time.perf_counter() - start
    assert info.value == 0, info.value
    return seconds, d


def stages(a):
    """(gebrd seconds, lasq1 seconds) for `a` as NumPy hands it to LAPACK."""
    # NumPy passes its row-major array to LAPACK as the transpose: reduce aᵀ.
    t_brd, d, e = gebrd(a.T)
    t_sq, _ = lasq1(d, e)
    return t_brd, t_sq


def main():
    rng = np.random.default_rng(1)
    print("| shape | dtype | NumPy svd, values only (s) | ?gebrd (s) | ?lasq1 (s) |")
    print("|---|---|---:|---:|---:|")
    for m, n in [(768, 1024), (2000, 3000)]:
        for dtype in (np.float64, np.float32):
            a = rng.random((m, n)).astype(dtype)
            svd, brd, sq = (float("inf"),) * 3
            for _ in range(3):
                start = time.perf_counter()
                np.linalg.svd(a, compute_uv=False)
                svd = min(svd, time.perf_counter() - start)
                t_brd, t_sq = stages(a)
                brd, sq = min(brd, t_brd), min(sq, t_sq)
            print(f"| {m}×{n} | {np.dtype(dtype).name} | {svd:.3f} | {brd:.3f} | {sq:.3f} |")


if __name__ == "__main__":
    main()
