#!/usr/bin/env bash
# Release build of the npm package's wasm + glue into pkg/, and the script-tag
# build into dist/. The wasm is built as a cdylib alone: with
# crate-type = ["cdylib", "rlib"] Cargo silently drops LTO (rust-lang/cargo#9672;
# ../shared/docs/TOOLCHAIN.md pitfall 12), which costs ~7.5 kB gzip.
# wasm-bindgen and wasm-opt come from setup.sh (crates.io / npm), never a download.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
FEATURES="${PKCE_WASM_FEATURES:-npm}"
OUT="${PKCE_WASM_OUT:-pkg}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo rustc --quiet --release --lib --crate-type cdylib --target wasm32-unknown-unknown \
  --no-default-features --features "$FEATURES"
mkdir -p "$OUT"
wasm-bindgen "$TARGET_DIR/wasm32-unknown-unknown/release/pkce_wasm.wasm" \
  --target web --out-dir "$OUT" --out-name pkce_wasm --no-typescript
# Size pass with the registry's binaryen (Debian's 108 corrupts the externref
# table wasm-bindgen 0.2.130 emits).
node_modules/.bin/wasm-opt -Oz --converge --strip-debug --strip-producers --strip-target-features --enable-reference-types --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals --enable-multivalue \
  "$OUT/pkce_wasm_bg.wasm" -o "$OUT/pkce_wasm_bg.wasm"
# Short import/export names (wasm-bindgen's carry 16-hex hashes), glue rewritten to match.
node scripts/lib/minify-names.mjs "$OUT"
[ "$OUT" = pkg ] || exit 0
# What the package ships (dist/): the ESM entry (the wrapper and the glue in
# one minified module, which finds the wasm next to itself), the script-tag
# build (one IIFE defining window.PkceWasm), the React binding, and the wasm.
mkdir -p dist
node_modules/.bin/esbuild js/index.js --bundle --format=esm --minify --log-level=error --outfile=dist/pkce-wasm.js
node_modules/.bin/esbuild js/global.js --bundle --format=iife --global-name=PkceWasm --minify \
  --log-level=error --outfile=dist/pkce-wasm.global.js
cp pkg/pkce_wasm_bg.wasm dist/pkce_wasm_bg.wasm
# pkce-wasm/react: minified, not bundled — `react` and the SDK (./pkce-wasm.js,
# next to it) stay imports, so an app gets one React and one copy of the SDK.
node_modules/.bin/esbuild js/react.js --format=esm --minify --log-level=error --outfile=dist/react.js
