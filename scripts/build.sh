#!/usr/bin/env bash
# Release build of the wasm + glue into pkg/ (wasm-opt -Oz via Cargo.toml metadata).
# --mode no-install: never let wasm-pack download tools; setup.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
wasm-pack --quiet build --target web --release --mode no-install --no-pack --out-dir pkg --out-name pkce_wasm -- --features small-alloc
rm -f pkg/.gitignore
# Size pass with the registry's binaryen (see Cargo.toml for why not Debian's).
node_modules/.bin/wasm-opt -Oz --converge --strip-producers --strip-target-features --enable-reference-types --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  pkg/pkce_wasm_bg.wasm -o pkg/pkce_wasm_bg.wasm
# The script-tag build: one IIFE defining window.PkceWasm, with the wasm next to it.
mkdir -p dist
node_modules/.bin/esbuild js/global.js --bundle --format=iife --global-name=PkceWasm --minify \
  --log-level=error --outfile=dist/pkce-wasm.global.js
cp pkg/pkce_wasm_bg.wasm dist/pkce_wasm_bg.wasm
