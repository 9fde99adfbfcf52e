#!/usr/bin/env bash
# Runs every test of svdimg. Installs what it needs on a fresh machine first:
# Chromium (for the browser test of the tour's HTML report) through apt.
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

cargo test --workspace --locked
