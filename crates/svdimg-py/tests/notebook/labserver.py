"""JupyterLab for the tests and the benchmark: on 127.0.0.1 with a random token, started and
stopped by its user."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request


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
        # No news toast: the notebook shows only what the user asked for.
        settings = root / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
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

    def open(self, page, name, timeout=120_000):
        """Opens notebook `name` in `page` and waits for its kernel to be connected."""
        page.goto(f"{self.url}/lab/tree/{name}?token={self.token}")
        page.wait_for_function(
            "() => { const s = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " return s && s.sessionContext && s.sessionContext.session && s.sessionContext.session.kernel"
            " && s.sessionContext.session.kernel.connectionStatus === 'connected'; }",
            timeout=timeout,
        )


# The shadow root of the first explorer widget on the page (null before it is shown), as a
# JavaScript expression.
WIDGET = (
    "([...document.querySelectorAll('.jp-OutputArea-output div')]"
    ".find((d) => d.shadowRoot && d.shadowRoot.querySelector('#approx')) || {}).shadowRoot"
)


def run_cell(page, index):
    """Runs cell `index` of the open notebook (through JupyterLab's own command)."""
    page.evaluate(
        "(i) => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = i;"
        " return window.jupyterapp.commands.execute('notebook:run-cell'); }",
        index,
    )


def wait_painted(page, query, timeout=120_000):
    """Waits until the widget's canvas holds the exact picture of setting `query`."""
    page.wait_for_function(
        f"(q) => {{ const r = {WIDGET}; const c = r && r.querySelector('#approx');"
        " return Boolean(c) && c.dataset.painted === q && c.dataset.exact === '1'; }",
        arg=query,
        timeout=timeout,
    )
