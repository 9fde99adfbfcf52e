#!/usr/bin/env python3
"""The bytes .svdz version 2 needs against the strong JPEG and WebP, over a set of photos.

    python3 scripts/rd_table.py [--svdimg target/release/svdimg] [--levels 30 35 40] IMAGE...

Runs `svdimg rd IMAGE --json` on each image (every file is decoded and measured; see
docs/guide/svdz.md) and prints, per photo and PSNR level, the ratio .svdz v2 / strong JPEG
and .svdz v2 / WebP, then the median and the worst ratio at each level. A level a codec does
not reach on a photo is "-" and is left out of the summary.

Photos the project has never seen: scikit-image ships 16 photos and scans in its wheel,

    pip download scikit-image --no-deps -d /tmp/skw
    unzip -j /tmp/skw/scikit_image-*.whl 'skimage/data/*.png' 'skimage/data/*.jpg' -d /tmp/unseen
    python3 scripts/rd_table.py /tmp/unseen/*.png /tmp/unseen/*.jpg
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def ratios(svdimg, image, levels, tmp):
    out = subprocess.run(
        [svdimg, "rd", str(image), "-o", str(Path(tmp) / "rd.svg"), "--json"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        print(f"{image}: {out.stderr.strip()}", file=sys.stderr)
        return None
    at = json.loads(out.stdout)["bytes_at"]
    row = {}
    for level in levels:
        b = at.get(str(level), {})
        v2 = b.get("svdz-v2")
        row[level] = tuple(v2 / b[k] if v2 and b.get(k) else None for k in ("jpeg-strong", "webp"))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--svdimg", default="target/release/svdimg")
    ap.add_argument("--levels", type=int, nargs="+", default=[30, 35, 40])
    ap.add_argument("images", nargs="+", type=Path)
    args = ap.parse_args()
    fmt = lambda x: f"{x:.2f}" if x else "-"
    head = " / ".join(str(l) for l in args.levels) + " dB"
    print(f"| photo | v2 / strong JPEG at {head} | v2 / WebP at {head} |")
    print("|---|---|---|")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for image in args.images:
            row = ratios(args.svdimg, image, args.levels, tmp)
            if row is None:
                continue
            rows[image.name] = row
            jpeg = " / ".join(fmt(row[l][0]) for l in args.levels)
            webp = " / ".join(fmt(row[l][1]) for l in args.levels)
            print(f"| {image.name} | {jpeg} | {webp} |", flush=True)
    print()
    for level in args.levels:
        for i, name in enumerate(("strong JPEG", "WebP")):
            values = [r[level][i] for r in rows.values() if r[level][i]]
            if values:
                worst = max(rows, key=lambda k: rows[k][level][i] or 0)
                print(
                    f"{level} dB, v2 / {name}: median {statistics.median(values):.2f}, "
                    f"worst {max(values):.2f} ({worst}), {len(values)} photos"
                )


if __name__ == "__main__":
    main()
