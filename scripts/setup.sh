#!/usr/bin/env bash
# Installs whatever this machine lacks to build (and, with --test, to test) Tally.
# Idempotent and quick when everything is present: each step checks before it installs.
#
#   scripts/setup.sh          tools to build and run Tally
#   scripts/setup.sh --test   also Chromium, PostgreSQL, brotli, the end-to-end packages and
#                             wasm-opt (the end-to-end tests run the release build)
#   scripts/setup.sh --bench  the same, for release builds, size reports and page loads
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130 # must equal the wasm-bindgen pin in Cargo.toml
BINARYEN_VERSION=132.0.0

want_test=false
want_bench=false
for arg in "$@"; do
  case "$arg" in
    --test) want_test=true ;;
    --bench) want_bench=true ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=false
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ "$apt_updated" = false ]; then sudo_if_needed apt-get update -qq; apt_updated=true; fi
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- Rust ------------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup.sh: cargo is missing; install Rust with rustup first (see README)" >&2
  exit 1
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    rustup component add "$component"
  fi
done
if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 17 minutes on 2 cores, once)"
  cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes, once)"
  # Not --locked: its lock file names a dependency version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# --- Release builds (wasm-opt) and size reports (brotli) ---------------------------------
if [ "$want_test" = true ] || [ "$want_bench" = true ]; then
  apt_install brotli
fi
# The tests run the release build too (what ships), and cargo-leptos runs wasm-opt on it.
if [ "$want_test" = true ] || [ "$want_bench" = true ]; then
  if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    say "installing wasm-opt (binaryen $BINARYEN_VERSION from npm)"
    npm install -g --silent "binaryen@$BINARYEN_VERSION"
  fi
fi

# --- Tests and benchmarks: PostgreSQL, Chromium, Playwright ------------------------------
# The benchmarks load pages in Chromium too, to count the bytes a page really downloads.
if [ "$want_test" = true ] || [ "$want_bench" = true ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
  apt_install chromium
  # localstripe, the Stripe-compatible server the Stripe gateway's tests run against.
  # shellcheck source=scripts/localstripe.sh
  source "$root/scripts/localstripe.sh"
  if ! ls_install; then
    echo "setup: installing localstripe from PyPI failed" >&2
    exit 1
  fi
  # The REST API's outside checkers: openapi-spec-validator and schemathesis.
  # shellcheck source=scripts/api_checks.sh
  source "$root/scripts/api_checks.sh"
  if ! ac_install; then
    echo "setup: installing the API checkers from PyPI failed" >&2
    exit 1
  fi
  if [ ! -d "$root/end2end/node_modules/@playwright/test" ] ||
     [ "$root/end2end/package-lock.json" -nt "$root/end2end/node_modules/.package-lock.json" ]; then
    say "installing the end-to-end test packages (npm ci; no browser download)"
    (cd "$root/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
fi
# Lighthouse, for the page scores of the benchmarks only.
if [ "$want_bench" = true ]; then
  if [ ! -d "$root/bench/node_modules/lighthouse" ] ||
     [ "$root/bench/package-lock.json" -nt "$root/bench/node_modules/.package-lock.json" ]; then
    say "installing Lighthouse for the benchmarks (npm ci)"
    (cd "$root/bench" && npm ci --no-audit --no-fund --silent)
  fi
fi
say "ready"
