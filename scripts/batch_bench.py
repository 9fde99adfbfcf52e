#!/usr/bin/env python3
"""`svdimg batch` on a folder of photos against the tutorials' Python loop, with Pillow's
JPEG encoder as a floor.

Usage: python3 scripts/batch_bench.py [--count 200] [--rank 50] [--python-sample 40]

Runs in the venv scripts/compare.py makes (.venv-bench: NumPy and Pillow). The photos are
the five shared ones (../shared/images), cropped and resized to 800×600 at varying offsets
and saved as JPEG (quality 90). Cases, each on the same files:

* `svdimg batch IN -o OUT --rank K --to png`: the rank-K image of every photo, as PNG;
* `svdimg batch IN -o OUT` (the default: .svdz at 35 dB);
* the tutorials' loop, one file after another: Pillow decodes, `np.linalg.svd` of each
  channel (full_matrices=False), rank-K reconstruction, clip, Pillow writes PNG; timed on
  the first --python-sample files and reported per image;
* Pillow alone: decode and re-encode as JPEG (quality 90): the floor of any pipeline.
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


def ensure_venv():
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not python.exists():
        sys.exit("batch_bench.py: run scripts/compare.py once to make .venv-bench")
    os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


def parse_args():
    p = argparse.ArgumentParser(prog="batch_bench.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=200, help="photos (default 200)")
    p.add_argument("--rank", type=int, default=50, help="rank K (default 50)")
    p.add_argument("--python-sample", type=int, default=40, metavar="N",
                   help="photos the Python loop is timed on (default 40)")
    a = p.parse_args()
    if a.count < 1 or a.rank < 1 or a.python_sample < 1:
        p.error("counts and rank must be positive")
    return a


ARGS = parse_args()
ensure_venv()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def make_photos(folder, count):
    shared = ROOT.parent / "shared" / "images"
    names = sorted(p for p in shared.glob("*.png"))
    pictures = [Image.open(p).convert("RGB") for p in names]
    for i in range(count):
        im = pictures[i % len(pictures)]
        w, h = im.size
        dx, dy = (i * 7) % max(1, w // 8), (i * 5) % max(1, h // 8)
        crop = im.crop((dx, dy, w - (i * 3) % max(1, w // 8), h - (i * 2) % max(1, h // 8)))
        crop.resize((800, 600), Image.BICUBIC).save(folder / f"photo{i:03d}.jpg", quality=90)


def tutorial(src, dst, k):
    img = np.asarray(Image.open(src)) / 255
    img_t = np.transpose(img, (2, 0, 1))
    u, s, vt = np.linalg.svd(img_t, full_matrices=False)
    approx = u[..., :k] @ (s[..., :k, None] * vt[..., :k, :])
    out = np.clip(np.transpose(approx, (1, 2, 0)), 0, 1)
    Image.fromarray((out * 255).round().astype(np.uint8)).save(dst)


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "svdimg-cli"], cwd=ROOT, check=True)
    svdimg = ROOT / "target" / "release" / "svdimg"
    tmp = Path(tempfile.mkdtemp(prefix="svdimg-batch-bench-"))
    (tmp / "in").mkdir()
    make_photos(tmp / "in", ARGS.count)
    files = sorted((tmp / "in").iterdir())
    mp = sum(Image.open(f).size[0] * Image.open(f).size[1] for f in files) / 1e6
    print(f"{len(files)} JPEG photos, 800x600, {mp:.1f} megapixels, {os.cpu_count()} cores; rank {ARGS.rank}\n")
    print("| case | seconds | images/s | MP/s |")
    print("|---|---:|---:|---:|")

    def row(name, seconds, n, megapixels):
        print(f"| {name} | {seconds:.2f} | {n / seconds:.1f} | {megapixels / seconds:.1f} |", flush=True)

    for name, extra in ((f"svdimg batch --rank {ARGS.rank} --to png", ["--rank", str(ARGS.rank), "--to", "png"]),
                        ("svdimg batch (default: .svdz at 35 dB)", [])):
        out = tmp / ("out" + str(len(extra)))
        start = time.perf_counter()
        r = subprocess.run([str(svdimg), "batch", str(tmp / "in"), "-o", str(out), "--json", *extra],
                           check=True, capture_output=True, text=True)
        row(name, time.perf_counter() - start, len(files), mp)
        summary = json.loads(r.stdout)
        assert summary["done"] == len(files), summary

    sample = files[: ARGS.python_sample]
    (tmp / "py").mkdir()
    start = time.perf_counter()
    for f in sample:
        tutorial(f, tmp / "py" / (f.stem + ".png"), ARGS.rank)
    seconds = time.perf_counter() - start
    mp_sample = mp * len(sample) / len(files)
    row(f"tutorials' Python loop, rank {ARGS.rank} to PNG ({len(sample)} of the photos)", seconds, len(sample), mp_sample)

    (tmp / "jpeg").mkdir()
    start = time.perf_counter()
    for f in files:
        Image.open(f).save(tmp / "jpeg" / f.name, quality=90)
    row("Pillow: decode and re-encode JPEG (floor)", time.perf_counter() - start, len(files), mp)


if __name__ == "__main__":
    main()
