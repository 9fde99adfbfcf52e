#!/usr/bin/env python3
"""Times OpenBLAS's bidiagonalisation (LAPACK dgebrd) against NumPy's whole thin SVD.

Usage: .venv-bench/bin/python scripts/gebrd_timing.py   (the venv scripts/compare.py makes)

NumPy's SVD (dgesdd) spends its time in three steps: dgebrd (reduce to bidiagonal form),
dbdsdc (the bidiagonal SVD) and dormbr (apply the reflectors). This calls dgebrd through
NumPy's bundled OpenBLAS with ctypes, to show how much of the SVD it is; compare with the
last column of `cargo run --release -p svdimg --example qr_first` (faer's reduction).
Run it with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as compare.py does.
"""
import ctypes
import glob
import os
import time

import numpy as np

libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "libscipy_openblas64_*.so"))
if not libs:
    raise SystemExit("gebrd_timing.py: NumPy's bundled OpenBLAS (numpy.libs) not found")
gebrd = ctypes.CDLL(libs[0]).scipy_dgebrd_64_
I = ctypes.c_int64


def time_gebrd(a):
    """Seconds for dgebrd on a copy of `a` (column-major), after a workspace query."""
    m, n = a.shape
    a = np.asfortranarray(a.copy())
    k = min(m, n)
    d, e, tq, tp = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    info = I(0)
    ptr = lambda x: x.ctypes.data_as(ctypes.c_void_p)

    def call(work, lwork):
        gebrd(ctypes.byref(I(m)), ctypes.byref(I(n)), ptr(a), ctypes.byref(I(m)), ptr(d), ptr(e),
              ptr(tq), ptr(tp), ptr(work), ctypes.byref(I(lwork)), ctypes.byref(info))

    query = np.empty(1)
    call(query, -1)
    work = np.empty(int(query[0]))
    start = time.perf_counter()
    call(work, len(work))
    seconds = time.perf_counter() - start
    assert info.value == 0, info.value
    return seconds


rng = np.random.default_rng(1)
print("| shape | NumPy thin SVD (s) | dgebrd alone (s) |")
print("|---|---:|---:|")
for m, n in [(768, 1024), (2000, 2000), (2000, 3000)]:
    a = rng.random((m, n))
    svd, brd = float("inf"), float("inf")
    for _ in range(3):
        start = time.perf_counter()
        np.linalg.svd(a, full_matrices=False)
        svd = min(svd, time.perf_counter() - start)
        # NumPy passes its row-major array to LAPACK as the transpose: reduce aᵀ.
        brd = min(brd, time_gebrd(a.T))
    print(f"| {m}×{n} | {svd:.3f} | {brd:.3f} |")
