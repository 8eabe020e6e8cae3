#!/usr/bin/env bash
# Reads while passwords hash: a read server function (users/list) at a fixed rate on a release
# server (SQLite), first alone, then while N sign-ins are in flight the whole time (argon2id,
# slow on purpose), then while N set-ups and N sign-ins are. Shows whether hashing and the
# unauthenticated pages leave the request threads free.
#
#   bench/reads_while_hashing.sh [report.md]     (scripts/bench.sh runs it too)
#   CONCURRENT_SIGN_INS=32 READ_RATE=500 BENCH_SECONDS=10 (the defaults)
#
# Needs the release build (cargo leptos build --release) and bench/loadgen; only 127.0.0.1
# is contacted, and the server it starts is stopped at the end.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
report=${1:-/dev/stdout}
tally="$root/target/release/tally"
loadgen="$root/target/release/loadgen"
[ -x "$tally" ] || { echo "bench/reads_while_hashing.sh: build first: cargo leptos build --release" >&2; exit 1; }
[ -x "$loadgen" ] || cargo build --release -q -p tally-loadgen
secs=${BENCH_SECONDS:-10}
concurrent=${CONCURRENT_SIGN_INS:-32}
rate=${READ_RATE:-500}
port=${BENCH_PORT:-3203}
base="http://127.0.0.1:$port"
work=$(mktemp -d /tmp/tally-hash.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

TALLY_ADDR="127.0.0.1:$port" TALLY_DATA_DIR="$work" TALLY_PUBLIC_URL="$base" \
  LEPTOS_SITE_ROOT="$root/target/site" RUST_LOG=warn TALLY_SIGN_IN_PER_IP_MINUTE=1000000 \
  TALLY_BILLING_SCHEDULER=false "$tally" >"$work/server.log" 2>&1 &
pid=$!
until curl -sf "$base/healthz" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.01
done
email=bench@tally.test
password="bench passphrase for loads"
python3 "$root/bench/first_account.py" "$base" "$work" "$email" "$password"
cookie=$(curl -sf -D - -o /dev/null -X POST -H "Origin: $base" "$base/api/account/sign-in" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" |
  sed -n 's/^[Ss]et-[Cc]ookie: \(tally_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
for i in $(seq 1 40); do
  printf 'first_name=User&last_name=Number%%20%d&email=user%d%%40bench.test\n' "$i" "$i"
done | xargs -P 4 -I{} curl -sf -o /dev/null -X POST -H "Origin: $base" -H "Cookie: $cookie" "$base/api/users/create" --data "{}"

read_load() { # $1 label
  "$loadgen" --seconds "$secs" --md --label "$1" --url "$base/api/users/list" --method POST \
    --header "Cookie=$cookie" --header "Origin=$base" --form page=1 --rates "$rate"
}
say "users/list at $rate/s alone"
alone=$(read_load "read: users/list, alone")
flood() { # $1 label, $2 endpoint, $3 in flight, $4 log; form fields follow. Sets flood_pid.
  local label=$1 endpoint=$2 n=$3 log=$4
  shift 4
  local form=()
  for f in "$@"; do form+=(--form "$f"); done
  # Offered far faster than the server can answer and capped at $n in flight: there are
  # always $n waiting or working; the ones over the cap are not sent.
  "$loadgen" --seconds "$((secs + 3))" --label "$label" --url "$base/api/$endpoint" --method POST \
    --header "Origin=$base" "${form[@]}" --rates 2000 --max-in-flight "$n" 2>"$log" >/dev/null &
  flood_pid=$!
}

say "users/list at $rate/s while $concurrent sign-ins are in flight"
# Each sign-in for an address of its own (none is an administrator's, so the throttle per
# address never refuses one): every one verifies a password hash, as a wrong password does.
flood sign-ins account/sign-in "$concurrent" "$work/sign-ins.txt" "email=bench{n}@tally.test" "password=$password"
f1=$flood_pid
sleep 2 # the loadgen's warm-up second, and the first sign-ins queued
during=$(read_load "read: users/list, with $concurrent sign-ins in flight")
wait "$f1" || true
signed_in=$(grep -o '[0-9]* ok, [0-9]* errors' "$work/sign-ins.txt" | tail -1 | awk '{print $1 + $3}')

each=$concurrent
say "users/list at $rate/s while $each set-ups and $each sign-ins are in flight"
flood sign-ins account/sign-in "$each" "$work/sign-ins-2.txt" "email=bench{n}@tally.test" "password=$password"
f1=$flood_pid
flood set-ups setup/create "$each" "$work/set-ups.txt" "setup_code=ABCD-EFGH-JKLM" legal_name=X contact_email=x@bench.test \
  country=GB line1=Y city=Z postal_code=SW1A price_per_user=5.00 free_users=10 first_name=Y last_name=Z "email=x{n}@bench.test" "password=$password"
f2=$flood_pid
sleep 2
mixed=$(read_load "read: users/list, with $each set-ups and $each sign-ins in flight")
wait "$f1" "$f2" || true
{
  echo "### Reads while passwords hash"
  echo ""
  echo "\`bench/reads_while_hashing.sh\`: \`users/list\` at $rate/s on SQLite for $secs s, alone; while"
  echo "$concurrent sign-ins are in flight the whole time (argon2id on the blocking pool, at most one hash"
  echo "per core at once; ${signed_in:-?} sign-ins answered in the $((secs + 3)) s of that load, each after a hash);"
  echo "and while $each set-ups and $each sign-ins are ($((each * 2)) at once; set-up on a server already set up is"
  echo "refused before any hashing, and throttled). Target: the read's p99 stays under 10 ms."
  echo ""
  echo "| Endpoint | Rate /s | p50 | p99 | max | Requests | Errors + shed |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "$alone"
  echo "$during"
  echo "$mixed"
  echo ""
} >>"$report"
