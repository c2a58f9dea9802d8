#!/usr/bin/env bash
# Release build of the wasm + glue into pkg/ (wasm-opt -Oz via Cargo.toml metadata).
# --mode no-install: never let wasm-pack download tools; setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
wasm-pack --quiet build --target web --release --mode no-install --no-pack --out-dir pkg --out-name pkce_wasm
rm -f pkg/.gitignore
