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

# One browser run of the web-layer tests. wasm-bindgen-test-runner takes the
# first driver it finds: a *_REMOTE variable, then GECKODRIVER, SAFARIDRIVER,
# CHROMEDRIVER (wasm-pack sets the one its flag names), then the first driver
# on PATH, where geckodriver comes first. So the caller's driver variables are
# dropped, and every test binary must say it ran in the browser asked for.
browser_tier() { # $1: chrome | firefox; $2: the runner's name for it; then VAR=value for the run
  local flag=$1 name=$2 log all ours
  shift 2
  log=$(mktemp)
  env -u GECKODRIVER -u GECKODRIVER_REMOTE -u GECKODRIVER_ARGS -u CHROMEDRIVER -u CHROMEDRIVER_REMOTE \
    -u CHROMEDRIVER_ARGS -u SAFARIDRIVER -u SAFARIDRIVER_REMOTE -u SAFARIDRIVER_ARGS -u MSEDGEDRIVER \
    -u MSEDGEDRIVER_REMOTE -u MSEDGEDRIVER_ARGS -u WASM_BINDGEN_TEST_WEBDRIVER_JSON "$@" \
    wasm-pack test --headless "--$flag" --mode no-install 2>&1 | tee "$log" || { rm -f "$log"; exit 1; }
  all=$(grep -c '^Running headless tests in ' "$log" || true)
  ours=$(grep -c "^Running headless tests in $name " "$log" || true)
  rm -f "$log"
  if [ "$all" -eq 0 ] || [ "$all" -ne "$ours" ]; then
    echo "the $name run ran $ours of $all test binaries in $name" >&2
    exit 1
  fi
}

step "tier 2: web layer in headless Chromium — wasm-pack test --chrome"
browser_tier chrome Chrome

# Firefox gets its prefs from webdriver.json (moz:firefoxOptions) and, from
# geckodriver, the automation defaults. MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 is
# what Mozilla's own harnesses set: Firefox then honours the remote-settings
# server override (a release build ignores it otherwise and polls
# firefox.settings.services.mozilla.com), and a connection to a non-local
# address crashes the browser, so a test reaching past loopback fails loudly
# (the runner reports "http status: 500"; geckodriver's log says why).
step "tier 2: the same tests in headless Firefox — wasm-pack test --firefox"
browser_tier firefox Firefox MOZ_DISABLE_NONLOCAL_CONNECTIONS=1

step "Rust API: the example builds for wasm32, the docs build with every item documented"
cargo build --quiet --example login --target wasm32-unknown-unknown
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --target wasm32-unknown-unknown

step "build (release) for the end-to-end tier"
bash scripts/build.sh

step "Leptos example (its own workspace): rustfmt, clippy for wasm32, release build"
(cd examples/leptos && cargo fmt -- --check && cargo clippy --quiet --locked --target wasm32-unknown-unknown -- -D warnings)
bash scripts/build-leptos.sh

step "tier 3: end to end — real Chromium + real oidc-provider; packaging — from the npm pack tarball"
node --test --test-concurrency=1 tests/e2e/*.test.mjs tests/packaging/*.test.mjs
printf '\n=== all tiers passed in %ds\n' $((SECONDS - started))
