#!/usr/bin/env bash
# Installs what `npm start` / `npm test` need and is missing. Idempotent: every
# step checks first, so a warm machine passes through in about a second.
# Everything comes from a package registry (rustup dist, crates.io, Debian, npm):
# nothing downloads a prebuilt binary from anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
GECKODRIVER_VERSION=0.37.1
WASM_BINDGEN_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' Cargo.toml)
[ -n "$WASM_BINDGEN_VERSION" ] || { echo "setup: cannot read the pinned wasm-bindgen version from Cargo.toml" >&2; exit 1; }

say() { printf '[setup] %s\n' "$*"; }
# `--test` (npm test) also installs the second browser engine of the browser
# tier: Firefox and geckodriver. `npm start` does not need them.
FOR_TESTS=0
[ "${1:-}" = --test ] && FOR_TESTS=1
export PATH="$HOME/.cargo/bin:$PATH"

# 1. Rust target
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# 2. wasm-pack (from crates.io)
if ! wasm-pack --version 2>/dev/null | grep -q "$WASM_PACK_VERSION"; then
  say "installing wasm-pack $WASM_PACK_VERSION from crates.io (a few minutes, once)"
  cargo install --locked wasm-pack --version "$WASM_PACK_VERSION"
fi

# 3. wasm-bindgen-cli, exactly the version Cargo.toml pins (not --locked: its
#    lockfile wants a crate version the registry does not carry).
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# 4. Chromium + ChromeDriver and Firefox ESR from Debian, in one apt run
#    (wasm-opt comes from npm: binaryen). geckodriver starts the `firefox` on
#    PATH (Debian's firefox-esr installs one); any Firefox there will do.
need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
[ "$FOR_TESTS" = 0 ] || command -v firefox >/dev/null || need_apt+=(firefox-esr)
if [ ${#need_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing ${need_apt[*]} from Debian"
    apt-get update -o DPkg::Lock::Timeout=300 >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}. Install Chromium + ChromeDriver (same major version) and Firefox with your package manager, then re-run." >&2
    exit 1
  fi
fi

# 5. geckodriver (Firefox's WebDriver) is not in Debian: build it from crates.io
#    (--force: over an untracked binary of another version too).
if [ "$FOR_TESTS" = 1 ] && [ "$(geckodriver --version 2>/dev/null | awk 'NR == 1 { print $2 }')" != "$GECKODRIVER_VERSION" ]; then
  say "installing geckodriver $GECKODRIVER_VERSION from crates.io (3 to 7 minutes, once)"
  cargo install --locked --force geckodriver --version "$GECKODRIVER_VERSION"
fi

# 6. npm dependencies (dev only: the SDK itself has none)
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "ready"
