#!/usr/bin/env bash
# Sets up what is missing, then runs every gate and test of Tally:
#   formatting, clippy (ssr and hydrate/wasm32), core's tax ID table in wasm32, unit and property tests,
#   server integration tests on SQLite and on a throw-away PostgreSQL, Playwright
#   end-to-end tests in Debian's Chromium with axe-core, and the REST API's outside checkers
#   (openapi-spec-validator, schemathesis) against the release server; the integration tests
#   check sample e-invoices with factur-x and saxonche (EN 16931 Schematron) from the same venv.
# Stops at the first failure and exits non-zero. Everything it starts, it stops.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh" --test
export PATH="$HOME/.cargo/bin:$PATH"
# cargo-leptos builds debug servers with exactly this RUSTFLAGS (it appends the flag to any
# RUSTFLAGS already set, so it must not be exported to it). Giving clippy and the tests the
# same value lets the tests and the site build share compiled dependencies.
leptos_flags="--cfg erase_components"
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
started=$(date +%s)
# A clean checkout's builds and databases need about 15 GB; short of it, tests fail by the dozen
# for no reason of their own, so say so first.
free_kb=$(df -Pk "$root" | awk 'NR == 2 {print $4}')
if [ "${free_kb:-0}" -lt $((15 * 1024 * 1024)) ]; then
  echo "warning: only $((free_kb / 1024 / 1024)) GB free on $(df -P "$root" | awk 'NR == 2 {print $6}'); a full run needs about 15 GB" >&2
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy, ssr build (all crates and tests)"
RUSTFLAGS="$leptos_flags" cargo clippy --workspace --all-targets -- -D warnings

step "clippy, hydrate build (wasm32)"
RUSTFLAGS="$leptos_flags" cargo clippy -p tally-app --lib --no-default-features --features hydrate \
  --target wasm32-unknown-unknown -- -D warnings

step "core in wasm32-unknown-unknown: the tax ID table, as the browser checks it"
# wasm-bindgen-test-runner comes with the wasm-bindgen CLI and runs the test in Node.js.
RUSTFLAGS="$leptos_flags" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p tally-core --target wasm32-unknown-unknown --test tax_ids

step "throw-away PostgreSQL"
# shellcheck source=scripts/pg.sh
source "$root/scripts/pg.sh"
pg_start
# shellcheck source=scripts/localstripe.sh
source "$root/scripts/localstripe.sh"
trap 'ls_stop; pg_stop' EXIT
export TALLY_TEST_POSTGRES_URL="$PG_URL"

step "localstripe (the Stripe gateway's test server)"
ls_start
export TALLY_TEST_STRIPE_URL="$STRIPE_TEST_URL"
# The webhook tests' receiver verifies each delivery with the standardwebhooks library,
# installed with the API checkers by scripts/setup.sh --test.
# shellcheck source=scripts/api_checks.sh
source "$root/scripts/api_checks.sh"
export TALLY_TEST_WEBHOOK_PYTHON="$(ac_venv)/bin/python"

step "unit, property and integration tests (SQLite and PostgreSQL)"
# Every test request has its own timeout; this bound is the backstop for anything else that
# could wait forever, so a hang fails the run in minutes instead of eating CI's time limit.
RUSTFLAGS="$leptos_flags" timeout --kill-after=30 40m cargo test --workspace --no-fail-fast

step "release site build for the end-to-end tests (split wasm, as served)"
# What ships: the release server and the wasm split into the first page's part and the chunks
# of pages and dialogs only some roles open. The flags come from .cargo/config.toml.
cargo leptos build --release --split --precompress

step "end-to-end tests (Playwright, Chromium, axe-core)"
# The specs' servers and Chromium keep their files in a folder of this checkout that each run
# empties, not in /tmp, where every run used to leave a few more behind.
e2e_tmp="$root/target/e2e-tmp"
rm -rf "$e2e_tmp" && mkdir -p "$e2e_tmp"
(cd end2end && TMPDIR="$e2e_tmp" timeout --kill-after=30 20m npx playwright test)
rm -rf "$e2e_tmp"

step "the REST API's outside checkers (openapi-spec-validator, schemathesis) on the release server"
timeout --kill-after=30 10m bash -c "source '$root/scripts/api_checks.sh' && api_checks '$root/target/release/tally' '$root/target/site'"

step "all checks passed in $(( $(date +%s) - started )) s"
