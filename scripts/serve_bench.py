#!/usr/bin/env python3
"""Benchmarks of `svdimg serve`, measured in the real browser (headless Chromium through
Playwright) on this machine:

- slider to painted canvas, 50 random moves at k <= 300 on a 2-megapixel colour photo
  (p50, p95, max), and rapid moves (how many renders 30 quick moves cause);
- a 12-megapixel photo dropped on the page (and a 24-megapixel one with `--only big24`):
  time to the first view, and to exact factors;
- slider to painted canvas on a 24-megapixel photo with its exact factors, while the page
  measures the sizes (a `.svdz` file and a JPEG at 24 MP) in the background;
- memory: bytes held per cached image, and RSS against --memory with many uploads;
- the load test's long form (32 clients, 60 s).

Run with the test environment: .venv-py/bin/python scripts/serve_bench.py [--quick]
The test photos are mosaics of ../shared/images, made with Pillow."""

import argparse
import base64
import json
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "crates" / "svdimg-cli" / "tests" / "serve"))
import loadtest  # noqa: E402

BIN = ROOT / "target" / "release" / "svdimg"
SOURCE = ROOT.parent / "shared" / "images" / "coffee.png"


def photo(path, width, height):
    """A photo-like test image: a mosaic of the shared photos, each tile 600 px high, so
    that it has a photo's detail at any size (an upscaled photo would be too smooth)."""
    tiles = [Image.open(p).convert("RGB") for p in sorted(SOURCE.parent.glob("*.png"))]
    tiles = [t.resize((round(t.width * 600 / t.height), 600), Image.LANCZOS) for t in tiles]
    canvas = Image.new("RGB", (width, height))
    y, i = 0, 0
    while y < height:
        x = 0
        while x < width:
            tile = tiles[i % len(tiles)]
            canvas.paste(tile, (x, y))
            x += tile.width
            i += 1
        y += 600
        i += 1
    canvas.save(path, quality=92)
    return path


class Server:
    def __init__(self, *args):
        self.proc = subprocess.Popen([str(BIN), "serve", "--port", "0", *map(str, args)],
                                     stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().split()[2]
        self.host = self.url.split("/")[2]
        self.port = int(self.host.rsplit(":", 1)[1])

    def get(self, path):
        return json.loads(urllib.request.urlopen(self.url + path.lstrip("/")).read())

    def wait_exact(self, image, mode="rgb", timeout=600):
        start = time.monotonic()
        while self.get(f"api/images/{image}")["factors"].get(mode) != "exact":
            if time.monotonic() - start > timeout:
                raise TimeoutError(image)
            time.sleep(0.1)
        return time.monotonic() - start

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=180)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def random_ks(rng, moves):
    """`moves` random ranks in 1..300, no two in a row equal."""
    ks = []
    while len(ks) < moves:
        k = rng.randint(1, 300)
        if not ks or k != ks[-1]:
            ks.append(k)
    return ks


def wait_painted(page, query, timeout=120000):
    page.wait_for_function("q => document.querySelector('#approx').dataset.painted === q",
                           arg=query, timeout=timeout)


def set_k(page, k):
    """Types k into the box beside the slider (the slider's track is not linear in k)."""
    page.evaluate("""k => { const el = document.querySelector('#n-k'); el.value = k;
        el.dispatchEvent(new Event('change', { bubbles: true })); }""", k)


def slider(browser, tmp, moves):
    path = photo(tmp / "photo-2mp.jpg", 1632, 1224)
    server = Server(path)
    try:
        exact_s = server.wait_exact("f1")
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        wait_painted(page, "mode=rgb&k=10")
        page.wait_for_timeout(1500)  # let the numbers, spectrum and components settle
        rng = random.Random(7)
        ks = random_ks(rng, moves)
        def moves_ms():
            page.evaluate("() => { window.svdimgPerf.paints.length = 0; }")
            for k in ks:
                set_k(page, k)
                wait_painted(page, f"mode=rgb&k={k}")
            paints = page.evaluate("() => window.svdimgPerf.paints")
            return [p["ms"] for p in paints], [p["frame_ms"] for p in paints]

        # Fitted to the window (the page asks for pixels at the screen's size), then at
        # 1:1, every pixel of the photo.
        ms, frame = moves_ms()
        fitted_width = page.evaluate("() => document.querySelector('#approx').width")
        page.click("#zoom-one")
        page.wait_for_timeout(800)
        ms_full, _ = moves_ms()
        full_width = page.evaluate("() => document.querySelector('#approx').width")
        # Rapid moves: 30 inputs 5 ms apart; count the renders they cause.
        renders = []
        page.on("request", lambda r: renders.append(r.url) if "/render?" in r.url else None)
        page.wait_for_timeout(1000)
        renders.clear()
        rapid = [rng.randint(1, 300) for _ in range(30)]
        for k in rapid:
            set_k(page, k)
            page.wait_for_timeout(5)
        wait_painted(page, f"mode=rgb&k={rapid[-1]}")
        page.wait_for_timeout(500)
        status = server.get("api/status")
        page.close()
        return {
            "image": "1632x1224 RGB JPEG (2.0 MP), a mosaic of the shared photos",
            "exact_factors_s": round(exact_s, 2),
            "moves": len(ms),
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "max_ms": round(max(ms), 1),
            "p95_to_next_frame_ms": round(percentile(frame, 95), 1),
            "canvas_width_fitted": fitted_width,
            "p50_ms_1to1": round(percentile(ms_full, 50), 1),
            "p95_ms_1to1": round(percentile(ms_full, 95), 1),
            "canvas_width_1to1": full_width,
            "rapid_moves": len(rapid),
            "rapid_renders": len(renders),
            "held_bytes": status["usage"]["bytes"],
            "rss_bytes": status["rss_bytes"],
        }
    finally:
        server.stop()


def big_drop(browser, tmp, width=4000, height=3000):
    path = photo(tmp / f"photo-{width}x{height}.jpg", width, height)
    server = Server()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        wait_painted(page, "mode=rgb&k=10")
        data = base64.b64encode(path.read_bytes()).decode()
        page.evaluate("""([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            window.__file = new File([bytes], name); }""", [data, path.name])
        start = time.monotonic()
        page.evaluate("""() => { const dt = new DataTransfer(); dt.items.add(window.__file);
            document.querySelector('#stage').dispatchEvent(
                new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); }""")
        page.wait_for_function("() => typeof window.svdimgPerf.firstView === 'number'", timeout=120000)
        first_view_ms = page.evaluate("() => window.svdimgPerf.firstView")
        wall_first = time.monotonic() - start
        image = page.evaluate("() => new URLSearchParams(location.hash.slice(1)).get('image')")
        preview_status = server.get("api/status")
        exact_s = server.wait_exact(image, timeout=1200) + wall_first
        status = server.get("api/status")
        page.close()
        return {
            "image": f"{width}x{height} RGB JPEG ({width * height / 1e6:.0f} MP, a mosaic of the shared photos), dropped on the page",
            "first_view_ms": round(first_view_ms),
            "exact_factors_s": round(exact_s, 1),
            "held_bytes_preview": preview_status["usage"]["bytes"],
            "held_bytes_exact": status["usage"]["bytes"],
            "rss_bytes_exact": status["rss_bytes"],
        }
    finally:
        server.stop()


def huge_slider(browser, tmp, moves):
    """A 24 MP photo once its exact factors are in: slider to painted canvas while the
    page's sizes (a .svdz file and a JPEG search at 24 MP, seconds each) are measured."""
    path = photo(tmp / "photo-24mp.jpg", 6000, 4000)
    server = Server(path, "--memory", "4G")
    try:
        exact_s = server.wait_exact("f1", timeout=1200)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        wait_painted(page, "mode=rgb&k=10")
        rng = random.Random(11)
        ks = random_ks(rng, moves)
        page.evaluate("() => { window.svdimgPerf.paints.length = 0; }")
        busy = []
        for k in ks:
            set_k(page, k)
            wait_painted(page, f"mode=rgb&k={k}")
            # Whether a sizes measurement was under way during this move.
            busy.append(page.evaluate("() => document.querySelector('#svdz-size').textContent === 'measuring…'"))
            page.wait_for_timeout(rng.choice([50, 300, 900]))
        paints = page.evaluate("() => window.svdimgPerf.paints")
        ms = [p["ms"] for p in paints]
        scale = page.evaluate("() => document.querySelector('#approx').width")
        page.close()
        return {
            "image": "6000x4000 RGB JPEG (24 MP), a mosaic of the shared photos",
            "exact_factors_s": round(exact_s, 1),
            "moves": len(ms),
            "moves_while_measuring_sizes": sum(busy),
            "canvas_width_px": scale,
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "max_ms": round(max(ms), 1),
        }
    finally:
        server.stop()


def memory_bound(tmp, count):
    """Uploads `count` different 2 MP photos one after another into a 400 MB budget,
    factoring each; records what is held and the RSS after each."""
    budget = 400 << 20
    server = Server("--memory", budget)
    samples = []
    try:
        for i in range(count):
            path = tmp / f"m{i}.jpg"
            photo(tmp / "base.png", 1632, 1224)
            Image.open(tmp / "base.png").rotate(3 * i).save(path, quality=90)
            request = urllib.request.Request(server.url + "api/images", data=path.read_bytes(), method="POST")
            reply = json.loads(urllib.request.urlopen(request).read())
            urllib.request.urlopen(server.url + f"api/images/{reply['id']}/render?k=50").read()
            status = server.get("api/status")
            samples.append((status["usage"]["bytes"], status["rss_bytes"], status["usage"]["evicted"]))
        return {
            "budget_bytes": budget,
            "uploads": count,
            "held_bytes_max": max(s[0] for s in samples),
            "rss_bytes_max": max(s[1] for s in samples),
            "evicted": samples[-1][2],
        }
    finally:
        server.stop()


def load(seconds):
    source = ROOT.parent / "shared" / "images" / "astronaut.png"
    server = Server(source, "--memory", 256 << 20, "--max-upload", 1 << 20)
    try:
        urllib.request.urlopen(server.url + "api/images/f1/render?k=1").read()
        return loadtest.run(server.port, server.host, ["f1"], clients=32, seconds=seconds,
                            max_upload=1 << 20)
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer moves, a 10 s load test")
    parser.add_argument("--only", choices=["slider", "big", "big24", "huge", "memory", "load"], action="append")
    args = parser.parse_args()
    only = set(args.only or ["slider", "big", "huge", "memory", "load"])
    results = {}
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as d, sync_playwright() as p:
        tmp = pathlib.Path(d)
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        if "slider" in only:
            results["slider"] = slider(browser, tmp, 20 if args.quick else 50)
            print(json.dumps({"slider": results["slider"]}), flush=True)
        if "big" in only:
            results["big"] = big_drop(browser, tmp)
            print(json.dumps({"big": results["big"]}), flush=True)
        if "big24" in only:
            results["big24"] = big_drop(browser, tmp, 6000, 4000)
            print(json.dumps({"big24": results["big24"]}), flush=True)
        if "huge" in only:
            results["huge"] = huge_slider(browser, tmp, 10 if args.quick else 30)
            print(json.dumps({"huge": results["huge"]}), flush=True)
        browser.close()
        if "memory" in only:
            results["memory"] = memory_bound(tmp, 3 if args.quick else 8)
            print(json.dumps({"memory": results["memory"]}), flush=True)
    if "load" in only:
        results["load"] = load(10 if args.quick else 60)
        print(json.dumps({"load": results["load"]}), flush=True)


if __name__ == "__main__":
    main()
