"""Fixtures for the notebook tests: the release CLI (the reference the widget must match),
a JupyterLab on a loopback port with a token (started here, stopped at the end), and
Debian's Chromium through Playwright (which cannot download its own browsers here)."""

import io
import json
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """JupyterLab on 127.0.0.1 with a random token, serving `root`."""

    def __init__(self, root):
        self.root = root
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.log = open(root / "jupyterlab.log", "w")
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / ".jupyter"), JUPYTER_RUNTIME_DIR=str(root / ".runtime"))
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True",
                "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                # CI machines run as root; the server still listens on loopback only.
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as r:
                    json.load(r)
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start: {(root / 'jupyterlab.log').read_text()[-2000:]}")
                time.sleep(0.5)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


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
