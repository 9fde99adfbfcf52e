"""Fixtures for the tests of `svdimg serve`: the release binary, a server on a free port,
and headless Chromium (Debian's, since Playwright cannot download its own here)."""

import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
SHARED = ROOT.parent / "shared"

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))


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


class Server:
    """`svdimg serve` on a free loopback port, stopped with SIGINT (Ctrl-C)."""

    def __init__(self, binary, args):
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--port", "0", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("svdimg serve: http://"):
            self.proc.kill()
            raise RuntimeError(f"no URL from svdimg serve: {line!r} {self.proc.stderr.read()}")
        self.url = line.split()[2]
        self.host = self.url.split("/")[2]
        self.port = int(self.host.rsplit(":", 1)[1])

    def stop(self):
        """Ctrl-C: the server exits 0 and says it stopped."""
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        stderr = self.proc.stderr.read()
        return code, stderr


@pytest.fixture
def serve(svdimg_bin):
    servers = []

    def start(*args):
        server = Server(svdimg_bin, args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        if server.proc.poll() is None:
            code, stderr = server.stop()
            assert code == 0, stderr
            assert "panicked" not in stderr, stderr


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        missing("Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def phone(chromium):
    """A page on a phone's screen (390×844, touch), its script errors checked as `page`'s."""
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, errors


def shared_image(name):
    path = SHARED / "images" / name
    if not path.exists():
        missing(str(path))
    return path
