#!/usr/bin/env bash
# Every tier, in order; the first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$SECONDS
step() { printf '\n=== %s (t+%ds)\n' "$*" $((SECONDS - started)); }

step "lint: rustfmt, and clippy on both targets (src/ denies unwrap, expect, panic, indexing: no panicking path ships)"
cargo fmt --all -- --check
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet --all-targets --target wasm32-unknown-unknown -- -D warnings
cargo clippy --quiet --lib --no-default-features --features npm --target wasm32-unknown-unknown -- -D warnings

step "the npm build has no Rust futures: wasm-bindgen-futures is not in its dependency tree"
if cargo tree -e normal --no-default-features --features npm --target wasm32-unknown-unknown | grep -q wasm-bindgen-futures; then
  echo "wasm-bindgen-futures is in the npm build's dependency tree" >&2
  exit 1
fi

step "tier 1: native core — cargo test (unit tests and property tests)"
cargo test --all-targets

step "tier 2: web layer in headless Chromium — wasm-pack test"
wasm-pack test --headless --chrome --mode no-install

step "Rust API: the example builds for wasm32, the docs build with every item documented"
cargo build --quiet --example login --target wasm32-unknown-unknown
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --target wasm32-unknown-unknown

step "build (release) for the end-to-end tier"
bash scripts/build.sh

step "tier 3: end to end — real Chromium + real oidc-provider; packaging — from the npm pack tarball"
node --test --test-concurrency=1 tests/e2e/*.test.mjs tests/packaging/*.test.mjs
printf '\n=== all tiers passed in %ds\n' $((SECONDS - started))
