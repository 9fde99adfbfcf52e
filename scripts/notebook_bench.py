#!/usr/bin/env python3
"""Benchmark of the notebook widget (svdimg.widget.Explorer) in a real JupyterLab, in
headless Chromium, side by side with `svdimg serve` on the same photo in the same run:

- slider to painted canvas, random moves at k <= 300 on a 2-megapixel colour photo
  (p50, p95, max), fitted to the output area and at 1:1;
- the kernel's memory: the bytes of the one factorisation the widget holds, of the
  picture's planes, and the kernel's resident set.

Run with the test environment (scripts/test.sh makes it):
    .venv-py/bin/python scripts/notebook_bench.py [--moves N] [--json]
The photo is serve_bench's 2 MP mosaic of ../shared/images."""

import argparse
import json
import pathlib
import random
import sys
import tempfile
import time

import nbformat
from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "crates" / "svdimg-py" / "tests" / "notebook"))
import serve_bench  # noqa: E402
from labserver import WIDGET, Lab, wait_painted  # noqa: E402

def notebook(path, image):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            f"from svdimg.widget import Explorer\nw = Explorer({str(image)!r}, k=10)\nw"),
        nbformat.v4.new_code_cell(
            "import json, resource\nprint(json.dumps({'factor_bytes': w.factor_bytes, "
            "'picture_bytes': w.picture_bytes, "
            "'kernel_max_rss_bytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def set_k(page, k):
    page.evaluate(f"""k => {{ const el = {WIDGET}.querySelector('#n-k'); el.value = k;
        el.dispatchEvent(new Event('change', {{ bubbles: true }})); }}""", k)


def widget_slider(browser, tmp, image, moves):
    lab = Lab(tmp)
    try:
        notebook(tmp / "bench.ipynb", image)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        lab.open(page, "bench.ipynb")
        start = time.monotonic()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        wait_painted(page, "mode=rgb&k=10", timeout=300_000)
        first_view_s = time.monotonic() - start
        page.wait_for_timeout(1500)
        ks = serve_bench.random_ks(random.Random(7), moves)

        def moves_ms():
            page.evaluate("() => { window.svdimgPerf.paints.length = 0; }")
            for k in ks:
                set_k(page, k)
                wait_painted(page, f"mode=rgb&k={k}")
            paints = page.evaluate("() => window.svdimgPerf.paints")
            return [p["ms"] for p in paints], [p["frame_ms"] for p in paints]

        ms, frame = moves_ms()
        fitted = page.evaluate(f"() => {WIDGET}.querySelector('#approx').width")
        page.evaluate(f"() => {WIDGET}.querySelector('#zoom-one').click()")
        page.wait_for_timeout(800)
        ms_full, _ = moves_ms()
        full = page.evaluate(f"() => {WIDGET}.querySelector('#approx').width")
        text = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output").inner_text(timeout=60_000)
        memory = json.loads(text.strip().splitlines()[-1])
        page.close()
        pct = serve_bench.percentile
        return {
            "first_view_s": round(first_view_s, 2),
            "moves": len(ms),
            "p50_ms": round(pct(ms, 50), 1),
            "p95_ms": round(pct(ms, 95), 1),
            "max_ms": round(max(ms), 1),
            "p95_to_next_frame_ms": round(pct(frame, 95), 1),
            "canvas_width_fitted": fitted,
            "p50_ms_1to1": round(pct(ms_full, 50), 1),
            "p95_ms_1to1": round(pct(ms_full, 95), 1),
            "canvas_width_1to1": full,
            **memory,
        }
    finally:
        lab.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=50, help="random slider moves (default 50)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t, sync_playwright() as p:
        tmp = pathlib.Path(t)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        image = serve_bench.photo(tmp / "photo-2mp.jpg", 1632, 1224)
        (tmp / "lab").mkdir()
        results = {
            "image": "1632x1224 RGB JPEG (2.0 MP), serve_bench's mosaic of the shared photos",
            "widget": widget_slider(browser, tmp / "lab", image, args.moves),
            "serve": serve_bench.slider(browser, tmp, args.moves),
        }
        browser.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{results['image']}, {args.moves} random moves at k <= 300")
    print(f"{'':8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95 1:1':>8}")
    for name in ("widget", "serve"):
        r = results[name]
        print(f"{name:8} {r['p50_ms']:8} {r['p95_ms']:8} {r['max_ms']:8} {r['p95_ms_1to1']:8}")
    w = results["widget"]
    print(f"widget: first view {w['first_view_s']} s; factors {w['factor_bytes'] / 2**20:.1f} MiB, "
          f"picture {w['picture_bytes'] / 2**20:.1f} MiB, kernel max RSS {w['kernel_max_rss_bytes'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
