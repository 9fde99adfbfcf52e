#!/usr/bin/env bash
# Runs every test of svdimg. Installs what it needs on a fresh machine first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "scripts/test.sh: cargo is required (install Rust from rustup)" >&2
  exit 1
fi

cargo test --workspace --locked
