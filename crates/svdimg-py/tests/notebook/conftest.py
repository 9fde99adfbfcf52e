"""Fixtures for the notebook tests: the release CLI (the reference the widget must match),
a JupyterLab on a loopback port with a token (started here, stopped at the end), and
Debian's Chromium through Playwright (which cannot download its own browsers here)."""

import io
import os
import pathlib
import shutil
import subprocess

from labserver import Lab

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
SHARED = ROOT.parent / "shared"


def missing(what):
    """A skip where the tool is absent, but a failure under CI, which must run everything."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {what} is missing (scripts/test.sh installs it)")
    pytest.skip(f"{what} not found")


@pytest.fixture(scope="session")
def svdimg_bin():
    path = pathlib.Path(os.environ.get("SVDIMG_BIN", ROOT / "target" / "release" / "svdimg"))
    if not path.exists():
        missing(f"{path} (cargo build --release)")
    return path


def read_png(data):
    """PNG bytes as an (H, W, C) uint8 array."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA" if b"tRNS" in data else "RGB"))


def psnr(a, b):
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if err == 0 else 10 * np.log10(255.0**2 / err)


@pytest.fixture
def cli_approx(svdimg_bin, tmp_path):
    """`svdimg approx -k K --method exact` of a file (or the sample) as an array."""

    def run(k, image=None, gray=False):
        out = tmp_path / f"cli-{k}-{int(gray)}.png"
        source = ["--sample"] if image is None else [str(image)]
        extra = ["--gray"] if gray else []
        subprocess.run(
            [str(svdimg_bin), "approx", *source, "-k", str(k), "--method", "exact", "-o", str(out), *extra],
            check=True,
            capture_output=True,
        )
        return read_png(out.read_bytes())

    return run


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    try:
        import jupyterlab  # noqa: F401
        import anywidget  # noqa: F401
    except ImportError:
        missing('JupyterLab and anywidget (pip install "svdimg[notebook]" jupyterlab)')
    server = Lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()
    assert server.proc.returncode is not None


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        missing("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()
