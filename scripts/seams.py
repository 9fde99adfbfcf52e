#!/usr/bin/env python3
"""Seams of tiled .svdz files: PSNR on the pixels next to a tile border against the rest.

    .venv-py/bin/python scripts/seams.py [--svdimg target/release/svdimg] [--psnr 30] IMAGE...

Compresses each image with the default settings at the PSNR given, decodes it, and
compares the decoded pixels with the input in two sets: those within one pixel of a tile
border (the band where a seam would show) and the interior. A seam shows as a band PSNR
well below the interior's.
"""
import argparse
import json
import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def borders(length, tile):
    """The first index of every tile after the first, as the encoder splits `length`."""
    parts = max(1, -(-length // tile))
    return [i * length // parts for i in range(1, parts)]


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--svdimg", default="target/release/svdimg")
    ap.add_argument("--psnr", type=float, default=30.0)
    ap.add_argument("--extra", default="", help="more compress flags, e.g. '--layout tiled'")
    args = ap.parse_args()
    print(f"{'image':<14} {'layout':<16} {'chroma':<6} {'PSNR':>6} {'border':>7} {'interior':>8} {'gap':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for image in args.images:
            svdz, back = Path(tmp) / "x.svdz", Path(tmp) / "x.png"
            subprocess.run([args.svdimg, "compress", image, "-o", svdz, "--psnr", str(args.psnr), "--force"]
                           + args.extra.split(), check=True, capture_output=True)
            info = json.loads(subprocess.run([args.svdimg, "info", svdz, "--json"], check=True,
                                             capture_output=True, text=True).stdout)
            subprocess.run([args.svdimg, "decompress", svdz, "-o", back, "--force"], check=True,
                           capture_output=True)
            a = np.asarray(Image.open(image).convert("RGB" if info["color"] != "gray" else "L"))
            b = np.asarray(Image.open(back).convert("RGB" if info["color"] != "gray" else "L"))
            m, n = a.shape[:2]
            mask = np.zeros((m, n), bool)
            if info["tiles"] > 1:
                t = info["tile_size"]
                for y in borders(m, t):
                    mask[y - 1:y + 1, :] = True
                for x in borders(n, t):
                    mask[:, x - 1:x + 1] = True
            whole = psnr(a, b)
            if mask.any():
                band, inner = psnr(a[mask], b[mask]), psnr(a[~mask], b[~mask])
                print(f"{Path(image).name:<14} {info['layout']} {info['tile_size']:>4}px{'':<4} {info['chroma']:<6} "
                      f"{whole:6.2f} {band:7.2f} {inner:8.2f} {band - inner:6.2f}")
            else:
                print(f"{Path(image).name:<14} {info['layout']:<16} {info['chroma']:<6} {whole:6.2f}")


if __name__ == "__main__":
    main()
