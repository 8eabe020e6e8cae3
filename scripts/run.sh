#!/usr/bin/env bash
# Sets up what is missing, then builds and serves Tally at http://127.0.0.1:3000 on its
# embedded defaults: SQLite under ./data, the mail outbox under ./data/outbox, the sandbox
# payment gateway. Extra arguments go to the server (e.g. --demo once that exists).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
export PATH="$HOME/.cargo/bin:$PATH"
cargo leptos build
export LEPTOS_SITE_ROOT="$root/target/site"
echo "[run] Tally is starting at ${TALLY_PUBLIC_URL:-http://${TALLY_ADDR:-127.0.0.1:3000}} (Ctrl-C stops it)"
exec "$root/target/debug/tally" "$@"
