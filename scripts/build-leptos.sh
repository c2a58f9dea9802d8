#!/usr/bin/env bash
# Release build of the Leptos example (examples/leptos, its own workspace and
# Cargo.lock) into examples/leptos/dist/: index.html, app.js, app_bg.wasm.
# wasm-bindgen is the CLI setup.sh installs, the version the example pins.
set -euo pipefail
cd "$(dirname "$0")/../examples/leptos"
export PATH="$HOME/.cargo/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --locked --release --target wasm32-unknown-unknown
rm -rf dist
mkdir -p dist
wasm-bindgen "$TARGET_DIR/wasm32-unknown-unknown/release/pkce-wasm-leptos-example.wasm" \
  --target web --out-dir dist --out-name app --no-typescript
# Size pass with the registry's binaryen, as scripts/build.sh (about -25 % gzip).
../../node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers --enable-reference-types --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  dist/app_bg.wasm -o dist/app_bg.wasm
cp index.html dist/index.html
