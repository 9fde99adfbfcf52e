#!/usr/bin/env python3
"""The README's pictures of `svdimg serve`, taken in headless Chromium (Debian's, through
Playwright) from the release binary:

- docs/images/serve.jpg: the explorer on chelsea.png at rank 37, desktop (1400x1000);
- docs/images/lesson.jpg: the lesson mode on astronaut.png, desktop;
- docs/images/lesson-phone.jpg: the lesson mode on a phone (390x844), scrolled to its
  first steps.

Run with the test environment: .venv-py/bin/python scripts/explorer_pictures.py"""

import pathlib
import shutil
import signal
import subprocess

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "images"
OUT = ROOT / "docs" / "images"


def wait_painted(page, query):
    page.wait_for_function("q => document.querySelector('#approx').dataset.painted === q",
                           arg=query, timeout=60000)


def main():
    server = subprocess.Popen(
        [str(ROOT / "target" / "release" / "svdimg"), "serve", "--port", "0",
         str(IMAGES / "chelsea.png"), str(IMAGES / "astronaut.png")],
        stdout=subprocess.PIPE, text=True)
    url = server.stdout.readline().split()[2]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "#image=f1&mode=rgb&k=37")
            wait_painted(page, "mode=rgb&k=37")
            page.wait_for_function("() => document.querySelector('#numbers').dataset.sizes === 'mode=rgb&k=37'")
            page.click("#numbers button.info[data-explain=psnr]")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "serve.jpg"), quality=80)
            page.goto(url + "#image=f2&mode=rgb&k=10&lesson")
            page.wait_for_function("() => document.querySelector('#lesson-steps').dataset.k === '10'")
            page.wait_for_timeout(2000)
            page.screenshot(path=str(OUT / "lesson.jpg"), quality=80)
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                     is_mobile=True, has_touch=True)
            phone.goto(url + "#image=f2&mode=rgb&k=10&lesson")
            phone.wait_for_function("() => document.querySelector('#lesson-steps').dataset.k === '10'")
            phone.evaluate("() => document.querySelector('#lesson li[data-step=svd]').scrollIntoView()")
            phone.wait_for_timeout(2000)
            phone.screenshot(path=str(OUT / "lesson-phone.jpg"), quality=75)
            browser.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    for name in ("serve.jpg", "lesson.jpg", "lesson-phone.jpg"):
        print(OUT / name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
