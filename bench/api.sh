#!/usr/bin/env bash
# The REST API under load (issue 32), on SQLite and on PostgreSQL: adding users one by one at
# fixed rates (bench/loadgen, open loop; target p99 ≤ 20 ms at 500 a second), a sync of
# 10,000 users, then of the same number with half of them replaced (target ≤ 2 s each), and
# SCIM lists filtered by userName over those 10,000 users (target p99 ≤ 20 ms).
#
#   bench/api.sh [OUT.md]     needs the release build (cargo leptos build --release) and,
#                             for PostgreSQL, its binaries (scripts/setup.sh --test)
#
# Writes Markdown rows to OUT.md (stdout without one). Starts its own servers and PostgreSQL
# on loopback and stops them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-/dev/stdout}
secs=${BENCH_SECONDS:-10}
work=$(mktemp -d /tmp/tally-bench-api.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ "$(type -t pg_stop)" = function ] && pg_stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cargo build --release -q -p tally-loadgen
loadgen="$root/target/release/loadgen"

with_env() { # $1 port, $2 data dir, $3 database URL, then the command
  local port=$1 data=$2 db=$3
  shift 3
  TALLY_ADDR="127.0.0.1:$port" TALLY_DATA_DIR="$data" TALLY_PUBLIC_URL="http://127.0.0.1:$port" \
    DATABASE_URL="$db" LEPTOS_SITE_ROOT="$root/target/site" RUST_LOG=warn \
    TALLY_BILLING_SCHEDULER=false TALLY_API_RATE_LIMIT=1000000 "$@"
}

sync_seconds() { # $1 base, $2 key, $3 account, $4 first user number; prints seconds
  python3 - "$1" "$2" "$3" "$4" <<'EOF'
import json, sys, time, urllib.request
base, key, account, first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
users = [{"first_name": "Sync", "last_name": f"User {i}", "email": f"sync{i}@bench.test",
          "external_id": f"crm-{i}"} for i in range(first, first + 10_000)]
body = json.dumps({"users": users}).encode()
req = urllib.request.Request(f"{base}/v1/accounts/{account}/users", data=body, method="PUT",
                             headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
t0 = time.perf_counter()
with urllib.request.urlopen(req) as r:
    report = json.load(r)
took = time.perf_counter() - t0
assert report["users_now"] == 10_000, report
print(f"{took:.2f} {report['added']} {report['removed']}")
EOF
}

run() { # $1 label, $2 port, $3 database URL
  local label=$1 port=$2 db=$3 data="$work/$1" base key account pid
  base="http://127.0.0.1:$port"
  mkdir -p "$data"
  key=$(with_env "$port" "$data" "$db" "$root/target/release/tally" api-key --name bench \
    --scope accounts:write --scope users:write 2>/dev/null)
  with_env "$port" "$data" "$db" "$root/target/release/tally" >"$data/server.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  until curl -sf "$base/healthz" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$data/server.log" >&2; exit 1; }
    sleep 0.01
  done
  account=$(curl -sf -X POST "$base/v1/accounts" -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
    -d '{"company_name": "Bench", "administrator": {"first_name": "Ben", "last_name": "Ch", "email": "ben@bench.test"}}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  "$loadgen" --seconds "$secs" --md --label "POST /v1/accounts/{id}/users ($label)" \
    --url "$base/v1/accounts/$account/users" --method POST --header "Authorization=Bearer $key" \
    --json '{"first_name": "Load", "last_name": "User {n}", "email": "load{n}@bench.test"}' \
    --rates 250,500,750 --max-p99-ms 20 >>"$out"
  # A sync of its own account: 10,000 users where there were none, then half of them new.
  account=$(curl -sf -X POST "$base/v1/accounts" -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
    -d '{"company_name": "Sync", "administrator": {"first_name": "Syd", "last_name": "Ync", "email": "syd@bench.test"}}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  read -r first added _ < <(sync_seconds "$base" "$key" "$account" 0)
  read -r second _ removed < <(sync_seconds "$base" "$key" "$account" 5000)
  echo "| PUT /v1/accounts/{id}/users, 10,000 users into an empty account ($label) | $first s | ${added} added |" >>"$out"
  echo "| PUT /v1/accounts/{id}/users, 10,000 users, half of them replaced ($label) | $second s | ${removed} removed, 5000 added |" >>"$out"
  # SCIM: the identity provider finds a user by userName among the account's 10,000, as it
  # does before every change (half the names asked for exist).
  local token
  token=$(with_env "$port" "$data" "$db" "$root/target/release/tally" scim-token --account "$account" 2>/dev/null)
  "$loadgen" --seconds "$secs" --md --label "GET /scim/v2/Users?filter=userName eq …, 10,000 users ($label)" \
    --url "$base/scim/v2/Users?filter=userName%20eq%20%22sync{n}%40bench.test%22" --method GET \
    --header "Authorization=Bearer $token" --rates 250,500,1000 --max-p99-ms 20 >>"$out"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

{
  echo ""
  echo "| Scenario | Rate (req/s) | p50 ms | p99 ms | max ms | requests | errors |"
  echo "|---|---|---|---|---|---|---|"
} >>"$out"
run SQLite 3211 "sqlite://$work/SQLite/tally.db?mode=rwc"
# shellcheck source=scripts/pg.sh
source "$root/scripts/pg.sh"
pg_start >/dev/null
run PostgreSQL 3212 "$PG_URL"
