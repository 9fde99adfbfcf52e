#!/usr/bin/env python3
"""Speed and peak memory of `svdimg compress` and `decompress`, .svdz version 2 against
version 1, at 1 and 24 megapixels.

    .venv-py/bin/python scripts/svdz_bench.py [--svdimg target/release/svdimg] [--quick]

The test photos are made here from ../shared/images: a 6000x4000 and a 1224x816 mosaic of
the shared photos (each tile 600 pixels high, so it has a photo's detail at any size), and
coffee.png upscaled to 6000x4000 (smooth), all JPEG at quality 92. Each command runs under
/usr/bin/time; the table gives the wall time, the peak RSS, the bytes and the PSNR.
`--quick` leaves out the 24-megapixel images.
"""
import argparse
import re
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from serve_bench import photo as mosaic  # the same mosaic as the explorer's benchmark

SHARED = Path(__file__).resolve().parents[2] / "shared" / "images"


def timed(cmd):
    out = subprocess.run(["/usr/bin/time", "-f", "%e %M", *map(str, cmd)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    seconds, kb = out.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kb) / 1024, out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--svdimg", default="target/release/svdimg")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = [("1224x816 mosaic", tmp / "m1.jpg", lambda p: mosaic(p, 1224, 816))]
        if not args.quick:
            images += [
                ("6000x4000 mosaic", tmp / "m24.jpg", lambda p: mosaic(p, 6000, 4000)),
                ("6000x4000 coffee, upscaled", tmp / "c24.jpg",
                 lambda p: Image.open(SHARED / "coffee.png").convert("RGB").resize((6000, 4000), Image.LANCZOS)
                 .save(p, quality=92)),
            ]
        print("| image | version | compress | peak | bytes | PSNR | layout | decompress | peak |")
        print("|---|---|---:|---:|---:|---:|---|---:|---:|")
        for name, path, make in images:
            make(path)
            for version in ["2", "1"]:
                svdz = tmp / f"out{version}.svdz"
                secs, mb, text = timed([args.svdimg, "compress", path, "-o", svdz, "--svdz-version", version])
                psnr = re.search(r"PSNR ([0-9.]+) dB", text).group(1)
                layout = re.search(r"version \d, ([a-z]+)[^\n]*chroma ([0-9:]+)", text)
                dsecs, dmb, _ = timed([args.svdimg, "decompress", svdz, "-o", tmp / "back.png", "--force"])
                print(f"| {name} | {version} | {secs:.2f} s | {mb:,.0f} MB | {svdz.stat().st_size:,} | {psnr} dB "
                      f"| {layout.group(1)}, {layout.group(2)} | {dsecs:.2f} s | {dmb:,.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
