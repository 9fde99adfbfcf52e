#!/usr/bin/env python3
"""Where .svdz version 2 wins and loses against JPEG, in pictures.

    .venv-py/bin/python scripts/svdz_pictures.py [--svdimg target/release/svdimg] [--psnr 30]

For two shared photos (chelsea, where .svdz is smaller, and text, where JPEG is), writes
docs/images/svdz-vs-jpeg.png: a crop of the original, of the .svdz file at the PSNR given,
and of the smallest JPEG (libjpeg through Pillow, optimised Huffman tables, the better of
4:2:0 and 4:4:4) that reaches the same PSNR, each enlarged 2x, with the sizes printed.
"""
import argparse
import io
import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def psnr(a, b):
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def jpeg_for(image, target):
    """The smallest JPEG reaching `target` dB: bisection on the quality per subsampling."""
    best = None
    for sub in ([0, 2] if image.mode == "RGB" else [0]):
        lo, hi = 1, 100
        while lo < hi:
            q = (lo + hi) // 2
            buf = io.BytesIO()
            image.save(buf, "JPEG", quality=q, optimize=True, subsampling=sub)
            if psnr(image, Image.open(io.BytesIO(buf.getvalue())).convert(image.mode)) >= target:
                hi = q
            else:
                lo = q + 1
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=lo, optimize=True, subsampling=sub)
        data = buf.getvalue()
        if best is None or len(data) < len(best):
            best = data
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--svdimg", default="target/release/svdimg")
    ap.add_argument("--psnr", type=float, default=30.0)
    ap.add_argument("--out", default="docs/images/svdz-vs-jpeg.png")
    args = ap.parse_args()
    cases = [("chelsea", (150, 40)), ("text", (200, 40))]
    size, scale, label = 128, 2, 18
    sheet = Image.new("RGB", (3 * size * scale, len(cases) * (size * scale + label)), "white")
    draw = ImageDraw.Draw(sheet)
    with tempfile.TemporaryDirectory() as tmp:
        for row, (name, (x, y)) in enumerate(cases):
            src = SHARED / f"{name}.png"
            original = Image.open(src)
            original = original.convert("RGB" if original.mode not in ("L", "I;16") else "L")
            svdz, back = Path(tmp) / "a.svdz", Path(tmp) / "a.png"
            subprocess.run([args.svdimg, "compress", src, "-o", svdz, "--psnr", str(args.psnr), "--force"],
                           check=True, capture_output=True)
            subprocess.run([args.svdimg, "decompress", svdz, "-o", back, "--force"], check=True, capture_output=True)
            decoded = Image.open(back).convert(original.mode)
            jpeg = jpeg_for(original, args.psnr)
            jpeg_image = Image.open(io.BytesIO(jpeg)).convert(original.mode)
            columns = [
                (original, f"{name}: original"),
                (decoded, f".svdz v2: {svdz.stat().st_size:,} bytes, {psnr(original, decoded):.2f} dB"),
                (jpeg_image, f"JPEG: {len(jpeg):,} bytes, {psnr(original, jpeg_image):.2f} dB"),
            ]
            top = row * (size * scale + label)
            for col, (im, text) in enumerate(columns):
                crop = im.crop((x, y, x + size, y + size)).resize((size * scale, size * scale), Image.NEAREST)
                sheet.paste(crop.convert("RGB"), (col * size * scale, top + label))
                draw.text((col * size * scale + 4, top + 3), text, fill="black")
                print(text)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
