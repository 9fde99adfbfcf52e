#!/usr/bin/env python3
"""Side-by-side timings of svdimg against NumPy, SciPy and scikit-learn, in one run.

Run: python3 scripts/compare.py [--repeats N] [--e2e-thin] [--skip-e2e]
     python3 scripts/compare.py --values [--sizes 768x1024,2000x3000,4000x6000] [--repeats N]
     python3 scripts/compare.py --vectors [--sizes 2000x3000,4000x6000] [--repeats N]

Creates its own virtual environment (.venv-bench) with numpy, scipy, scikit-learn,
threadpoolctl and pillow on first use. Runs every case on the same matrices, interleaved
(one repeat of every case, then the next), and reports the best of the repeats:

* a 2000x3000 matrix: coffee.png from ../shared/images, gray, upscaled (bicubic), on [0, 1];
* end to end, a 24-megapixel RGB JPEG (6000x4000) made the same way: the tutorial's Python
  pipeline (decode, SVD per channel, rank-100 reconstruction, clip, encode PNG) against
  `svdimg approx -k 100`.

With --values it times singular values alone instead: NumPy's svd(compute_uv=False) against
svdimg's two-stage solver (with the seconds of each stage) and faer's one-stage values-only
SVD, in f64 and f32, at each size (coffee.png, gray, resized); beside them LAPACK's ?gebrd and
?lasq1 through NumPy's OpenBLAS (scripts/gebrd_timing.py); and, when scripts/test.sh has made
.venv-py, the tutorial's svd(img_gray, compute_uv=False) through svdimg's Python drop-in
against NumPy at 768x1024, both in that one process.

With --vectors it times the exact SVD with vectors (thin): NumPy's svd(full_matrices=False)
against svdimg's Factors::compute_with (the two-stage route from the sizes where it is
faster), faer's one-stage SVD and the two-stage route with the seconds of each stage, beside
LAPACK's ?gebrd, ?bdsdc and ?ormbr (for U and for V) through NumPy's OpenBLAS; the exact first
50 components (Factors::compute_top) against NumPy's full SVD; and full_matrices=True at the
first size.

NumPy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (for this process only), and
the BLAS it uses is printed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bench"
PACKAGES = ["numpy", "scipy", "scikit-learn", "threadpoolctl", "pillow"]


def ensure_venv():
    """Re-executes this script inside its venv, with OpenBLAS's overrides unset."""
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.execve(str(python), [str(python), __file__, *sys.argv[1:]], env)


def parse_args():
    """The command line; --help prints this module's docstring, an unknown flag is an error."""
    parser = argparse.ArgumentParser(
        prog="compare.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="repeats of every case; the best is reported (default 3)")
    parser.add_argument("--e2e-thin", action="store_true",
                        help="the tutorial pipeline uses full_matrices=False (default: the tutorial's full SVD)")
    parser.add_argument("--skip-e2e", action="store_true", help="leave out the end-to-end 24-megapixel case")
    parser.add_argument("--values", action="store_true",
                        help="time singular values alone (no vectors) instead of the default cases")
    parser.add_argument("--vectors", action="store_true",
                        help="time the exact SVD with vectors, stage by stage, instead of the default cases")
    parser.add_argument("--sizes", default=None, metavar="MxN,...",
                        help="matrix sizes for --values (default 768x1024,2000x3000,4000x6000) or "
                             "--vectors (default 2000x3000,4000x6000)")
    args = parser.parse_args()
    if args.sizes is None:
        args.sizes = "2000x3000,4000x6000" if args.vectors else "768x1024,2000x3000,4000x6000"
    try:
        args.sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
        if any(len(size) != 2 or min(size) < 1 for size in args.sizes):
            raise ValueError
    except ValueError:
        parser.error(f"--sizes must look like 768x1024,2000x3000, got '{args.sizes}'")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


ARGS = parse_args()
ensure_venv()

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.utils.extmath import randomized_svd  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402


def cargo_build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "svdimg-cli"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "svdimg", "--example", "bench_svd"], cwd=ROOT, check=True)
    return ROOT / "target/release/svdimg", ROOT / "target/release/examples/bench_svd"


def shared_image(name):
    path = ROOT.parent / "shared" / "images" / name
    if not path.exists():
        sys.exit(f"compare.py: {path} not found (the shared/ folder beside the checkout)")
    return Image.open(path).convert("RGB")


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


PYTHON_DROP_IN = """
import json, sys, time
import numpy as np, svdimg
a = np.load(sys.argv[1])
best = {"numpy": float("inf"), "svdimg": float("inf")}
for _ in range(int(sys.argv[2])):
    for name, fn in (("numpy", np.linalg.svd), ("svdimg", svdimg.svd)):
        start = time.perf_counter()
        s = fn(a, compute_uv=False)
        best[name] = min(best[name], time.perf_counter() - start)
        best[name + "_s1"] = float(s[0])
print(json.dumps(best))
"""


def values_section(bench, repeats):
    """Singular values alone, at each size, in f64 and f32: NumPy, svdimg (two-stage and
    one-stage), LAPACK's stages."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from gebrd_timing import stages

    tmp = Path(tempfile.mkdtemp(prefix="svdimg-values-"))
    print("\n### Singular values only (no vectors), coffee.png gray resized, best of "
          f"{repeats}\n")
    print("| shape | dtype | NumPy (s) | svdimg two-stage (s) | NumPy / svdimg | faer one-stage (s) "
          "| QR | dense→band | band→bidiagonal | dqds | LAPACK ?gebrd | LAPACK ?lasq1 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m, n in ARGS.sizes:
        img = shared_image("coffee.png").convert("L").resize((n, m), Image.BICUBIC)
        a = np.asarray(img, dtype=np.float64) / 255.0
        raw = tmp / f"{m}x{n}.f64"
        a.astype("<f8").tofile(raw)
        for dtype, tag in ((np.float64, "f64"), (np.float32, "f32")):
            x = a.astype(dtype)
            best = {}
            stage_times = {}

            def keep(name, seconds):
                best[name] = min(best.get(name, float("inf")), seconds)

            for _ in range(repeats):
                keep("numpy", timed(lambda: np.linalg.svd(x, compute_uv=False))[0])
                for mode in (f"values-{tag}", f"onestage-values-{tag}"):
                    out = subprocess.run([str(bench), str(raw), str(m), str(n), mode, "0"],
                                         capture_output=True, text=True, check=True)
                    r = json.loads(out.stdout)
                    if mode.startswith("values") and r["seconds"] < best.get(mode, float("inf")):
                        stage_times = r
                    keep(mode, r["seconds"])
                t_brd, t_sq = stages(x)
                keep("gebrd", t_brd)
                keep("lasq1", t_sq)
            two, one = best[f"values-{tag}"], best[f"onestage-values-{tag}"]
            st = stage_times
            print(f"| {m}x{n} | {tag} | {best['numpy']:.3f} | {two:.3f} | {best['numpy'] / two:.2f}x "
                  f"| {one:.3f} | {st['qr']:.3f} | {st['band']:.3f} | {st['bulge']:.3f} | {st['dqds']:.3f} "
                  f"| {best['gebrd']:.3f} | {best['lasq1']:.3f} |", flush=True)
    py = ROOT / ".venv-py" / "bin" / "python"
    if not py.exists():
        print("\n(.venv-py not found: run scripts/test.sh once for the Python drop-in comparison)")
        return
    img = shared_image("coffee.png").convert("L").resize((1024, 768), Image.BICUBIC)
    np.save(tmp / "gray.npy", np.asarray(img, dtype=np.float64) / 255.0)
    out = subprocess.run([str(py), "-c", PYTHON_DROP_IN, str(tmp / "gray.npy"), str(max(repeats, 5))],
                         capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    print(f"\nPython, the tutorial's svd(img_gray, compute_uv=False) at 768x1024 float64, best of "
          f"{max(repeats, 5)}, one process: NumPy {r['numpy'] * 1000:.1f} ms, svdimg.svd "
          f"{r['svdimg'] * 1000:.1f} ms ({r['numpy'] / r['svdimg']:.2f}x); s1 {r['numpy_s1']:.10f} vs "
          f"{r['svdimg_s1']:.10f}")


def vectors_section(bench, repeats):
    """The exact SVD with vectors, at each size, in f64 and f32: NumPy against svdimg's routes,
    stage by stage beside LAPACK's; the first 50 components; full_matrices=True."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from gebrd_timing import vector_stages

    tmp = Path(tempfile.mkdtemp(prefix="svdimg-vectors-"))
    print(f"\n### The exact SVD with vectors (thin), coffee.png gray resized, best of {repeats}\n")
    print("| shape | dtype | NumPy (s) | svdimg (s) | NumPy / svdimg | faer one-stage (s) | two-stage (s) "
          "| band | bulge | divide | chase back | panels back | LAPACK ?gebrd | ?bdsdc | ?ormbr U | ?ormbr V "
          "| top-50 (s) | NumPy / top-50 |")
    print("|---|---|" + "---:|" * 16)
    full_line = None
    for index, (m, n) in enumerate(ARGS.sizes):
        img = shared_image("coffee.png").convert("L").resize((n, m), Image.BICUBIC)
        a = np.asarray(img, dtype=np.float64) / 255.0
        raw = tmp / f"{m}x{n}.f64"
        a.astype("<f8").tofile(raw)
        for dtype, tag in ((np.float64, "f64"), (np.float32, "f32")):
            x = a.astype(dtype)
            best, stage_times, lapack = {}, {}, None

            def keep(name, seconds):
                best[name] = min(best.get(name, float("inf")), seconds)

            for _ in range(repeats):
                keep("numpy", timed(lambda: np.linalg.svd(x, full_matrices=False))[0])
                for mode in (f"exact-{tag}", f"onestage-{tag}", f"twostage-{tag}", f"top-{tag}"):
                    out = subprocess.run([str(bench), str(raw), str(m), str(n), mode, "50"],
                                         capture_output=True, text=True, check=True)
                    r = json.loads(out.stdout)
                    if mode.startswith("twostage") and r["seconds"] < best.get(mode, float("inf")):
                        stage_times = r
                    keep(mode, r["seconds"])
                stages = vector_stages(x)
                if lapack is None or sum(stages) < sum(lapack):
                    lapack = stages
            st = stage_times
            ours = best[f"exact-{tag}"]
            print(f"| {m}x{n} | {tag} | {best['numpy']:.2f} | {ours:.2f} | {best['numpy'] / ours:.2f}x "
                  f"| {best[f'onestage-{tag}']:.2f} | {best[f'twostage-{tag}']:.2f} | {st['band']:.2f} "
                  f"| {st['bulge']:.2f} | {st['divide']:.2f} | {st['chase_back']:.2f} | {st['panels_back']:.2f} "
                  f"| {lapack[0]:.2f} | {lapack[1]:.2f} | {lapack[2]:.2f} | {lapack[3]:.2f} "
                  f"| {best[f'top-{tag}']:.2f} | {best['numpy'] / best[f'top-{tag}']:.2f}x |", flush=True)
            if index == 0 and tag == "f64":
                t_np = min(timed(lambda: np.linalg.svd(x, full_matrices=True))[0] for _ in range(repeats))
                t_ours = float("inf")
                for _ in range(repeats):
                    out = subprocess.run([str(bench), str(raw), str(m), str(n), "full-f64", "0"],
                                         capture_output=True, text=True, check=True)
                    t_ours = min(t_ours, json.loads(out.stdout)["seconds"])
                full_line = (f"\nfull_matrices=True at {m}x{n} f64: NumPy {t_np:.2f} s, svdimg "
                             f"Factors::compute_full {t_ours:.2f} s ({t_np / t_ours:.2f}x)")
    if full_line:
        print(full_line)


def main():
    repeats = ARGS.repeats
    svdimg, bench = cargo_build()
    print("BLAS used by NumPy:")
    for lib in threadpool_info():
        print(f"  {lib.get('internal_api')} {lib.get('version')} threads={lib.get('num_threads')} "
              f"kernel={lib.get('architecture')}")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, cores {os.cpu_count()}")
    if ARGS.values:
        values_section(bench, repeats)
        return
    if ARGS.vectors:
        vectors_section(bench, repeats)
        return

    img = shared_image("coffee.png").convert("L").resize((3000, 2000), Image.BICUBIC)
    a = np.asarray(img, dtype=np.float64) / 255.0
    m, n = a.shape
    a32 = a.astype(np.float32)
    tmp = Path(tempfile.mkdtemp(prefix="svdimg-compare-"))
    raw = tmp / "a.f64"
    a.astype("<f8").tofile(raw)
    s_ref = np.linalg.svd(a, compute_uv=False)

    def optimum(k):
        return float(np.sqrt(np.sum(s_ref[k:] ** 2)))

    def rank_error(u, s, vt, k):
        return float(np.linalg.norm(a - (u[:, :k] * s[:k]) @ vt[:k]))

    def rust(mode, k):
        out = subprocess.run([str(bench), str(raw), str(m), str(n), mode, str(k)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        return r["seconds"], r

    cases = {
        "numpy svd thin f64": lambda: (*timed(lambda: np.linalg.svd(a, full_matrices=False)), None),
        "numpy svd full f64": lambda: (*timed(lambda: np.linalg.svd(a)), None),
        "numpy svd thin f32": lambda: (*timed(lambda: np.linalg.svd(a32, full_matrices=False)), None),
        "scipy gesdd thin f64": lambda: (*timed(lambda: scipy.linalg.svd(a, full_matrices=False, lapack_driver="gesdd")), None),
        "svdimg exact f64": lambda: (*rust("exact-f64", 50), None),
        "svdimg exact f32": lambda: (*rust("exact-f32", 50), None),
    }
    for k in (10, 50, 200):
        cases[f"sklearn randomized_svd k={k} f64"] = (lambda k=k: (*timed(lambda: randomized_svd(a, k, random_state=0)), k))
        cases[f"sklearn randomized_svd k={k} f32"] = (lambda k=k: (*timed(lambda: randomized_svd(a32, k, random_state=0)), k))
        cases[f"svdimg randomized k={k} f32"] = (lambda k=k: (*rust("randomized-f32", k), k))
    best = {}
    ratio = {}
    extra = {}
    for rep in range(repeats):
        for name, case in cases.items():
            if name == "numpy svd full f64" and rep > 0:
                continue  # slow, and only a reference point
            seconds, out, k = case()
            best[name] = min(best.get(name, float("inf")), seconds)
            if k is not None:
                if name.startswith("svdimg"):
                    ratio[name] = out["error"] / optimum(k)
                    if "sketch_gflops" in out:
                        extra[name] = (out["sketch_gflops"], out["matmul_gflops"])
                else:
                    u, s, vt = out
                    ratio[name] = rank_error(u.astype(np.float64), s.astype(np.float64), vt.astype(np.float64), k) / optimum(k)
        print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr)

    print(f"\n### {m}x{n} (coffee.png, gray, upscaled), best of {repeats}\n")
    print("| case | seconds | error / optimum |")
    print("|---|---:|---:|")
    for name in cases:
        r = f"{ratio[name]:.5f}" if name in ratio else ""
        print(f"| {name} | {best[name]:.3f} | {r} |")
    print("\nRatios (other / svdimg, higher is faster for svdimg):\n")
    pairs = [
        ("exact thin f64 vs NumPy f64", "numpy svd thin f64", "svdimg exact f64"),
        ("exact thin f32 vs NumPy f32", "numpy svd thin f32", "svdimg exact f32"),
        ("exact thin f64 vs SciPy gesdd f64", "scipy gesdd thin f64", "svdimg exact f64"),
        ("k=50 vs sklearn randomized_svd (f64 input)", "sklearn randomized_svd k=50 f64", "svdimg randomized k=50 f32"),
        ("k=50 vs sklearn randomized_svd (f32 input)", "sklearn randomized_svd k=50 f32", "svdimg randomized k=50 f32"),
        ("k=50 vs NumPy thin f64", "numpy svd thin f64", "svdimg randomized k=50 f32"),
    ]
    for label, other, ours in pairs:
        print(f"- {label}: {best[other] / best[ours]:.2f}x")
    sk, mm = extra["svdimg randomized k=50 f32"]
    print(f"- sketch phase at k=50 (Gaussian Ω drawn, then A·Ω): {sk:.1f} GFLOP/s vs a plain faer f32 "
          f"matmul of the same shapes in the same process: {mm:.1f} GFLOP/s ({100 * sk / mm:.0f}%)")

    if ARGS.skip_e2e:
        return
    big = shared_image("coffee.png").resize((6000, 4000), Image.BICUBIC)
    jpg = tmp / "photo24.jpg"
    big.save(jpg, quality=92)
    full = not ARGS.e2e_thin

    def tutorial():
        img = np.asarray(Image.open(jpg)) / 255
        img_t = np.transpose(img, (2, 0, 1))
        u, s, vt = np.linalg.svd(img_t, full_matrices=full)
        k = 100
        approx = u[..., :k] @ (s[..., :k, None] * vt[..., :k, :])
        out = np.clip(np.transpose(approx, (1, 2, 0)), 0, 1)
        Image.fromarray((out * 255).round().astype(np.uint8)).save(tmp / "tutorial.png")

    def ours():
        subprocess.run([str(svdimg), "approx", str(jpg), "-k", "100", "-o", str(tmp / "svdimg.png")], check=True, capture_output=True)

    t_ours = min(timed(ours)[0] for _ in range(2))
    t_py, _ = timed(tutorial)
    t_ours = min(t_ours, timed(ours)[0])
    print(f"\n### End to end: 6000x4000 RGB JPEG -> rank-100 PNG\n")
    print(f"- tutorial pipeline in Python (np.linalg.svd, full_matrices={full}): {t_py:.1f} s")
    print(f"- svdimg approx -k 100: {t_ours:.2f} s")
    print(f"- ratio: {t_py / t_ours:.1f}x")


if __name__ == "__main__":
    main()
