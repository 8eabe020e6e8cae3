#!/usr/bin/env bash
# Builds the release site, prints the raw and brotli (-q 11) sizes of what it serves, then
# starts the release server on loopback and measures start-up time and sign-in latency at
# fixed rates (bench/load.py). Sends traffic only to 127.0.0.1; stops by itself.
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

# --- Server: start-up and sign-in latency ---------------------------------------------------
port=${TALLY_BENCH_PORT:-3200}
data=$(mktemp -d /tmp/tally-bench.XXXXXX)
base="http://127.0.0.1:$port"
export TALLY_ADDR="127.0.0.1:$port" TALLY_DATA_DIR="$data" TALLY_PUBLIC_URL="$base" \
  LEPTOS_SITE_ROOT="$root/target/site" RUST_LOG=warn \
  TALLY_SIGN_IN_PER_IP_MINUTE=1000000 # one client address sends every request here
t0=$(date +%s%N)
"$root/target/release/tally" >"$data/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf "$base/healthz" >/dev/null; do
  kill -0 $server 2>/dev/null || { echo "server died:"; cat "$data/server.log"; exit 1; }
  sleep 0.01
done
t1=$(date +%s%N)
printf '\nstart-up to first 200 on /healthz: %d ms\n' $(( (t1 - t0) / 1000000 ))

email=bench@tally.test
password="bench passphrase for loads"
curl -sf -o /dev/null -X POST -H "Origin: $base" "$base/api/setup/create" \
  --data-urlencode company_name=Bench --data-urlencode first_name=Ben --data-urlencode last_name=Ch \
  --data-urlencode "email=$email" --data-urlencode "password=$password"
for rate in 5 10 20; do
  python3 "$root/bench/load.py" --url "$base/api/account/sign-in" --rate $rate --seconds 15 \
    --form "email=$email" --form "password=$password" --header "Origin=$base" \
    --label "sign-in (argon2id, SQLite) at $rate/s"
done
