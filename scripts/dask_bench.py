#!/usr/bin/env python3
"""svdimg.dask.randomized_svd against dask.array.linalg.svd_compressed on an out-of-core
Zarr array, on a LocalCluster of 1 and of 2 process workers.

Usage: .venv-py/bin/python scripts/dask_bench.py [--size N] [--k K] [--memory-mb MB]
(.venv-py is made by scripts/test.sh and has svdimg, dask, distributed and zarr.)

The N×N float32 matrix is U diag(s) Vᵀ with s = 100·0.9^i (i < 100) and random orthonormal
U and V, written to a temporary Zarr array in 1000×1000 chunks, so the Eckart–Young
optimum sqrt(Σ_{i≥k} sᵢ²) is exact. Both methods return U_k = Q·(left vectors of QᵀA), so
the error of their rank-k image is sqrt(‖A‖² − Σ_{i<k} ŝᵢ²), computed without forming
it. Peak worker memory is the largest resident set of any worker process, polled every
0.1 s. Both run with two power iterations; svd_compressed is also run with its default
(none).

Then an accuracy table on a 4000×4000 matrix in memory whose spectrum falls from 1 to 1e-4
over its first 40 values (then slowly): svd_compressed's default power iteration does not
re-orthonormalise between passes, which float32 cannot afford there; its iterator='QR' and
svdimg.dask do. --accuracy-only runs just that table.
"""
import argparse
import os
import shutil
import tempfile
import threading
import time

import numpy as np


def parse_args():
    p = argparse.ArgumentParser(prog="dask_bench.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=20000, help="matrix side N (default 20000)")
    p.add_argument("--k", type=int, default=20, help="rank (default 20)")
    p.add_argument("--memory-mb", type=int, default=1024, help="memory limit per worker in MB (default 1024)")
    p.add_argument("--accuracy-only", action="store_true", help="only the in-memory accuracy table")
    a = p.parse_args()
    if a.size < 2000 or a.k < 1:
        p.error("--size must be at least 2000 and --k positive")
    return a


def write_matrix(path, n, rank=100, seed=0):
    import zarr
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    v, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    s = 100 * 0.9 ** np.arange(rank)
    z = zarr.open_array(path, mode="w", shape=(n, n), chunks=(1000, 1000), dtype="f4")
    for i in range(0, n, 1000):
        z[i:i + 1000] = ((u[i:i + 1000] * s) @ v.T).astype(np.float32)
    return s


class Peak:
    """Polls the workers' resident memory in the background."""

    def __init__(self, client):
        import psutil
        self.procs = [psutil.Process(pid) for pid in client.run(os.getpid).values()]
        self.peak = 0
        self.stop = False
        self.thread = threading.Thread(target=self.poll, daemon=True)
        self.thread.start()

    def poll(self):
        while not self.stop:
            for p in self.procs:
                try:
                    self.peak = max(self.peak, p.memory_info().rss)
                except Exception:
                    pass
            time.sleep(0.1)

    def done(self):
        self.stop = True
        self.thread.join()
        return self.peak


def accuracy(k=20):
    """Error over the optimum on a graded spectrum, float32 and float64, threaded scheduler."""
    import dask.array as da

    import svdimg.dask as sd
    rng = np.random.default_rng(5)
    m = n = 4000
    r = 300
    u, _ = np.linalg.qr(rng.standard_normal((m, r)))
    v, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = np.concatenate([10 ** (-4 * np.arange(40) / 40), 1e-4 * 0.995 ** np.arange(r - 40)])
    a64 = (u * s) @ v.T
    optimum = np.sqrt(np.sum(s[k:] ** 2))
    print(f"\n{m}x{n}, s from 1 to 1e-4 over 40 values, k = {k}, chunks 1000x1000\n")
    print("| dtype | method | error / optimum |")
    print("|---|---|---:|")
    for dtype in (np.float32, np.float64):
        a = a64.astype(dtype)
        x = da.from_array(a, chunks=1000)

        def ratio(uu, ss, vt):
            rebuilt = (np.asarray(uu, np.float64) * ss) @ np.asarray(vt, np.float64)
            return np.linalg.norm(a.astype(np.float64) - rebuilt) / optimum

        uu, ss, vt = sd.randomized_svd(x, k)
        name = np.dtype(dtype).name
        print(f"| {name} | svdimg.dask.randomized_svd (2 power iterations, QR between) | "
              f"{ratio(uu.compute(), ss, vt.compute()):.4f} |")
        for iterator, q in (("power", 2), ("QR", 2), ("power", 0)):
            uu, ss, vt = da.compute(*da.linalg.svd_compressed(x, k, n_power_iter=q, iterator=iterator, seed=0))
            print(f"| {name} | dask svd_compressed (n_power_iter={q}, iterator='{iterator}') | "
                  f"{ratio(uu, ss, vt):.4f} |", flush=True)


def main():
    args = parse_args()
    if args.accuracy_only:
        accuracy(args.k)
        return
    import dask.array as da
    import distributed

    import svdimg.dask as sd

    tmp = tempfile.mkdtemp(prefix="svdimg-dask-bench-")
    path = os.path.join(tmp, "a.zarr")
    t = time.perf_counter()
    s_true = write_matrix(path, args.size)
    print(f"{args.size}x{args.size} float32 Zarr ({args.size ** 2 * 4 / 1e9:.2f} GB) written in "
          f"{time.perf_counter() - t:.1f} s; workers {args.memory_mb} MB each")
    k = args.k
    optimum = np.sqrt(np.sum(s_true[k:] ** 2))
    total_sq = float(np.sum(s_true ** 2))
    print(f"\n| workers | method | seconds | error / optimum | peak worker RSS (MB) |")
    print("|---:|---|---:|---:|---:|")
    for workers in (1, 2):
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           memory_limit=args.memory_mb * 2**20, dashboard_address=None,
                                           silence_logs=50)
        client = distributed.Client(cluster)
        x = da.from_zarr(path)
        cases = {
            "svdimg.dask.randomized_svd (2 power iterations)": lambda: sd.randomized_svd(x, k)[1],
            "dask svd_compressed (n_power_iter=2)": lambda: da.compute(
                da.linalg.svd_compressed(x, k, n_power_iter=2, seed=0)[1])[0],
            "dask svd_compressed (default: no power iteration)": lambda: da.compute(
                da.linalg.svd_compressed(x, k, seed=0)[1])[0],
        }
        for name, run in cases.items():
            peak = Peak(client)
            t = time.perf_counter()
            s = np.asarray(run(), dtype=np.float64)
            seconds = time.perf_counter() - t
            rss = peak.done()
            err = np.sqrt(max(total_sq - np.sum(s ** 2), 0.0))
            print(f"| {workers} | {name} | {seconds:.1f} | {err / optimum:.4f} | {rss / 2**20:.0f} |", flush=True)
        client.close()
        cluster.close()
    shutil.rmtree(tmp, ignore_errors=True)
    accuracy(k)


if __name__ == "__main__":
    main()
