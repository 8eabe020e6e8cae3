#!/usr/bin/env bash
# Builds the release site and prints the raw and brotli (-q 11) sizes of what it serves.
# Sends no traffic anywhere; stops by itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh" --bench
export PATH="$HOME/.cargo/bin:$PATH"

echo "[bench] cargo leptos build --release"
cargo leptos build --release 2>&1 | tail -n 3

pkg="$root/target/site/pkg"
printf '\n%-24s %12s %12s\n' "asset" "raw bytes" "brotli bytes"
total_raw=0
total_br=0
for f in "$pkg"/tally.wasm "$pkg"/tally.js "$pkg"/tally.css; do
  [ -f "$f" ] || { echo "missing $f" >&2; exit 1; }
  raw=$(stat -c %s "$f")
  br=$(brotli -q 11 -c "$f" | wc -c)
  total_raw=$((total_raw + raw))
  total_br=$((total_br + br))
  printf '%-24s %12d %12d\n' "$(basename "$f")" "$raw" "$br"
done
printf '%-24s %12d %12d\n' "total" "$total_raw" "$total_br"
