#!/usr/bin/env bash
# Every tier, in order; the first failure stops the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
started=$SECONDS
step() { printf '\n=== %s (t+%ds)\n' "$*" $((SECONDS - started)); }

step "tier 1: native core — cargo test"
cargo test --all-targets

step "tier 2: web layer in headless Chromium — wasm-pack test"
wasm-pack test --headless --chrome --mode no-install

step "build (release) for the end-to-end tier"
bash scripts/build.sh

step "tier 3: end to end — real Chromium + real oidc-provider"
node --test --test-concurrency=1 tests/e2e/*.test.mjs
printf '\n=== all tiers passed in %ds\n' $((SECONDS - started))
