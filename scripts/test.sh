#!/usr/bin/env bash
# Runs every test of svdimg. Installs what it needs on a fresh machine first:
# Chromium (for the browser tests of the tour's HTML report and of `svdimg serve`) through
# apt, and a Python virtual environment (.venv-py) with maturin, NumPy, pytest, the Dask
# extras for the Python bindings, and Playwright and Pillow for the tests of `svdimg serve`
# (Playwright drives Debian's Chromium: it cannot download its own browsers here).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "scripts/test.sh: cargo is required (install Rust from rustup)" >&2
  exit 1
fi

if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null; then
    echo "scripts/test.sh: installing chromium with apt for the browser test" >&2
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium; } >/dev/null \
      || echo "scripts/test.sh: could not install chromium; the browser test will be skipped (it fails under CI)" >&2
  fi
fi

# Tests run in the release profile, so that they reuse what `cargo run --release -- tour` (the
# README's first command) already built instead of compiling every dependency a second time.
# The Python extension (svdimg-py) has no cargo tests; pytest runs it below.
cargo test --release --locked

# The Python bindings: build the extension into .venv-py and run pytest (tests and the
# docstring examples).
if [ ! -x .venv-py/bin/python ]; then
  echo "scripts/test.sh: creating .venv-py for the Python bindings" >&2
  python3 -m venv .venv-py
fi
# The optional extras too: svdimg[dask] (the Dask tests run a real two-worker cluster) and
# svdimg[notebook] with JupyterLab and nbclient (the widget runs in a real JupyterLab, and the
# lessons' notebooks are executed).
.venv-py/bin/python -m pip install -q --disable-pip-version-check "maturin>=1.5,<2" "numpy>=1.21" pytest \
  "dask[array]>=2024.1" "distributed>=2024.1" "zarr>=2.16" "tifffile>=2023.1" \
  "playwright>=1.40" "pillow>=9" \
  "anywidget>=0.9" "ipykernel>=6" "jupyterlab>=4" "nbclient>=0.7" "nbformat>=5"
VIRTUAL_ENV="$PWD/.venv-py" PATH="$PWD/.venv-py/bin:$PATH" \
  .venv-py/bin/maturin develop -q --release --locked -m crates/svdimg-py/Cargo.toml
.venv-py/bin/python -m pytest -q crates/svdimg-py

# The documentation: every relative link and anchor of the README and docs/ resolves (and
# the checker itself is tested).
.venv-py/bin/python -m pytest -q scripts/tests
.venv-py/bin/python scripts/check_links.py

# svdimg serve, end to end: headless Chromium through Playwright, and the load test's short
# form (32 clients for a few seconds), against the release binary built above.
.venv-py/bin/python -m pytest -q crates/svdimg-cli/tests/serve
