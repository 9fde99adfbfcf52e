#!/usr/bin/env python3
"""The README's pictures of `svdimg serve`, taken in headless Chromium (Debian's, through
Playwright) from the release binary:

- docs/images/serve.jpg: the explorer on chelsea.png at rank 37, desktop (1400x1000);
- docs/images/lesson.jpg: the lesson mode on astronaut.png, desktop;
- docs/images/lesson-phone.jpg: the lesson mode on a phone (390x844), scrolled to its
  first steps;
- docs/images/widget.jpg: the notebook widget (svdimg.widget.Explorer) on chelsea.png at
  rank 37 in JupyterLab (started here on a loopback port with a token, stopped after).

Run with the test environment: .venv-py/bin/python scripts/explorer_pictures.py"""

import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

import nbformat

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[1]
IMAGES = ROOT.parent / "shared" / "images"
OUT = ROOT / "docs" / "images"
sys.path.insert(0, str(ROOT / "crates" / "svdimg-py" / "tests" / "notebook"))
from labserver import WIDGET, Lab, run_cell  # noqa: E402


def wait_painted(page, query):
    page.wait_for_function("q => document.querySelector('#approx').dataset.painted === q",
                           arg=query, timeout=60000)


def widget_picture(browser):
    """The widget in JupyterLab: a notebook of two cells, run, scrolled to the widget."""
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(
            "from svdimg.widget import Explorer\n\nw = Explorer('chelsea.png', k=37)\nw")]
        shutil.copy(IMAGES / "chelsea.png", root / "chelsea.png")
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, root / "explorer.ipynb")
        lab = Lab(root)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            lab.open(page, "explorer.ipynb")
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            run_cell(page, 0)
            page.wait_for_function(
                f"() => {{ const r = {WIDGET}; return Boolean(r)"
                " && r.querySelector('#numbers').dataset.query === 'mode=rgb&k=37'"
                " && Boolean(r.querySelector('#components img')); }", timeout=120_000)
            page.wait_for_timeout(2000)
            page.screenshot(path=str(OUT / "widget.jpg"), quality=80)
            page.close()
        finally:
            lab.stop()


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
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        widget_picture(browser)
        browser.close()
    for name in ("serve.jpg", "lesson.jpg", "lesson-phone.jpg", "widget.jpg"):
        print(OUT / name, (OUT / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
