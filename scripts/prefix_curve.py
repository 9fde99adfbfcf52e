#!/usr/bin/env python3
"""The prefix curve of an .svdz file: bytes read against the PSNR of what they decode.

    .venv-py/bin/python scripts/prefix_curve.py [IMAGE] [--psnr DB] [--steps N]

Compresses IMAGE (default ../shared/images/astronaut.png) as `svdimg compress` does, then
decodes the first n bytes of the file for n from the header's end to the whole file, as
`svdimg decompress --max-bytes n` does, and prints a Markdown table: bytes read, share of
the file and PSNR against the source. Needs the Python module
(`maturin develop`, as scripts/test.sh builds it).
"""
import argparse
import warnings
from pathlib import Path

import numpy as np
import svdimg

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", default=str(SHARED / "astronaut.png"))
    parser.add_argument("--psnr", type=float, default=35.0)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    img, _ = svdimg.load(args.image)
    data = svdimg.compress(img, psnr=args.psnr)
    print(f"{Path(args.image).name}: {img.shape[1]}x{img.shape[0]}, {len(data)} bytes "
          f"at {args.psnr:g} dB\n")
    print("| bytes read | share | PSNR (dB) |")
    print("|---:|---:|---:|")
    for i in range(1, args.steps + 1):
        n = len(data) * i // args.steps
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                out = svdimg.decompress(data, max_bytes=n)
            except ValueError:
                continue  # inside the header
        print(f"| {n} | {n / len(data):.0%} | {svdimg.psnr(img, out):.2f} |")


if __name__ == "__main__":
    main()
