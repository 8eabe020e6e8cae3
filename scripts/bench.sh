#!/usr/bin/env bash
# The benchmark command: builds the release site (and the floor app to compare with), then
# measures what it serves and how the release server holds up, and writes docs/benchmarks.md.
#
#   scripts/bench.sh            everything (about 25 minutes once built; builds ~20 more cold)
#   BENCH_SECONDS=3 scripts/bench.sh   shorter load steps (a quick look, less steady figures)
#
# Sends traffic only to 127.0.0.1 (bench/loadgen refuses anything else), starts its own
# servers and PostgreSQL, and stops them all by itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh" --bench
export PATH="$HOME/.cargo/bin:$PATH"
secs=${BENCH_SECONDS:-10}
work=$(mktemp -d /tmp/tally-bench.XXXXXX)
md="$work/report.md"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ "$(type -t pg_stop)" = function ] && pg_stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }
out() { printf '%s\n' "$*" >>"$md"; }
br_size() { brotli -q 11 -c "$1" | wc -c; }

# --- Builds -----------------------------------------------------------------------------------
say "cargo leptos build --release --split --precompress"
cargo leptos build --release --split --precompress 2>&1 | tail -n 2 >&2
say "cargo build --release -p tally-loadgen"
cargo build --release -q -p tally-loadgen
loadgen="$root/target/release/loadgen"
say "building the floor app (bench/floor: a router and one server function)"
# The same crate versions as Tally, and the same build settings: the wasm profile, and the
# repository's .cargo/config.toml (erase_components for wasm32) applies to it too.
cp "$root/Cargo.lock" "$root/bench/floor/Cargo.lock"
(cd "$root/bench/floor" && cargo leptos build --release 2>&1 | tail -n 2 >&2)

# --- Served bytes -----------------------------------------------------------------------------
pkg="$root/target/site/pkg"
wasm=$(ls "$pkg"/tally*.wasm | grep -v '\.br$\|\.gz$' | head -1)
js=$(ls "$pkg"/tally*.js | head -1)
# With split wasm: the main part, then chunks of pages and dialogs only some roles open.
sum_sizes() { # files...; prints "raw brotli" (brotli from the precompressed copies served)
  local raw=0 br=0 f
  for f in "$@"; do raw=$((raw + $(stat -c %s "$f"))); br=$((br + $(stat -c %s "$f.br"))); done
  echo "$raw $br"
}
mapfile -t all_wasm < <(ls "$pkg"/*.wasm)
read -r all_wasm_raw all_wasm_br < <(sum_sizes "${all_wasm[@]}")
css=$(ls "$pkg"/tally*.css | head -1)
floor_pkg="$root/bench/floor/target/site/pkg"
floor_wasm_br=$(br_size "$floor_pkg/floor.wasm")
floor_js_br=$(br_size "$floor_pkg/floor.js")
floor_wasm_raw=$(stat -c %s "$floor_pkg/floor.wasm")

# --- The SQLite server: start-up, idle memory -------------------------------------------------
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
start_server() { # $1 port, $2 data dir, $3 database URL; prints the pid
  local port=$1 data=$2 db=$3
  TALLY_ADDR="127.0.0.1:$port" TALLY_DATA_DIR="$data" TALLY_PUBLIC_URL="http://127.0.0.1:$port" \
    DATABASE_URL="$db" LEPTOS_SITE_ROOT="$root/target/site" RUST_LOG=warn \
    TALLY_SIGN_IN_PER_IP_MINUTE=1000000 TALLY_BILLING_SCHEDULER=false \
    "$root/target/release/tally" >"$data/server.log" 2>&1 &
  echo $!
}
wait_healthy() { # $1 base, $2 pid
  until curl -sf "$1/healthz" >/dev/null; do
    kill -0 "$2" 2>/dev/null || { echo "server died:" >&2; cat "$work"/*/server.log >&2; exit 1; }
    sleep 0.005
  done
}
email=bench@tally.test
password="bench passphrase for loads"
sign_in() { # $1 base; prints the session cookie
  curl -sf -D - -o /dev/null -X POST -H "Origin: $1" "$1/api/account/sign-in" \
    --data-urlencode "email=$email" --data-urlencode "password=$password" |
    sed -n 's/^[Ss]et-[Cc]ookie: \(tally_session=[^;]*\).*/\1/p'
}
set_up_account() { # $1 base, $2 data dir (its setup-code file)
  python3 "$root/bench/first_account.py" "$1" "$2" "$email" "$password"
}

port=3200
base="http://127.0.0.1:$port"
mkdir -p "$work/sqlite"
say "start-up of the release server (SQLite)"
startups=()
for i in 1 2 3 4 5; do # the first start also creates and migrates the database
  t0=$(date +%s%N)
  pid=$(start_server $port "$work/sqlite" "sqlite://$work/sqlite/tally.db?mode=rwc")
  wait_healthy "$base" "$pid"
  t1=$(date +%s%N)
  startups+=($(( (t1 - t0) / 1000000 )))
  if [ $i -lt 5 ]; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
done
pids+=("$pid")
sleep 1
idle_rss=$(rss_kb "$pid")

set_up_account "$base" "$work/sqlite"
cookie=$(sign_in "$base")
[ -n "$cookie" ] || { echo "could not sign in" >&2; exit 1; }
say "creating 499 more administrators and 40 users through the server functions"
for i in $(seq 1 499); do
  printf 'first_name=Admin&last_name=Number%%20%d&email=admin%d%%40bench.test&role=read_only\n' "$i" "$i"
done | xargs -P 4 -I{} curl -sf -o /dev/null -X POST -H "Origin: $base" -H "Cookie: $cookie" "$base/api/admins/create" --data "{}"
for i in $(seq 1 40); do
  printf 'first_name=User&last_name=Number%%20%d&email=user%d%%40bench.test\n' "$i" "$i"
done | xargs -P 4 -I{} curl -sf -o /dev/null -X POST -H "Origin: $base" -H "Cookie: $cookie" "$base/api/users/create" --data "{}"

html_size() { # $1 path (signed in); prints "raw brotli"
  curl -sf -H "Cookie: $cookie" -H "Accept: text/html" "$base$1" >"$work/page.html"
  echo "$(stat -c %s "$work/page.html") $(br_size "$work/page.html")"
}
read -r login_raw login_br < <(curl -sf "$base/login" >"$work/login.html" && echo "$(stat -c %s "$work/login.html") $(br_size "$work/login.html")")
read -r billing_raw billing_br < <(html_size /billing)
read -r admins_raw admins_br < <(html_size /administrators)
admins_rows=$(grep -o '<tr' "$work/page.html" | wc -l)
say "what pages download of the app's code, in Chromium"
# The sign-in page is the server's plain HTML: it loads no JS or wasm (bench/pages.sh weighs it).
echo "signin 0 0 0" >"$work/pages.txt"
node "$root/bench/page_bytes.cjs" "$pkg" "$cookie" "overview=$base/" "admins=$base/administrators" \
  "billing=$base/billing" "modal=$base/billing/payment@#payments-title" >>"$work/pages.txt"
page() { awk -v k="$1" '$1 == k {print $2, $3, $4}' "$work/pages.txt"; }
read -r signin_raw signin_br signin_files < <(page signin)
read -r overview_raw overview_br overview_files < <(page overview)
read -r pageadmins_raw pageadmins_br pageadmins_files < <(page admins)
read -r pagebilling_raw pagebilling_br pagebilling_files < <(page billing)
read -r modal_raw modal_br modal_files < <(page modal)
wasm_raw=$(stat -c %s "$wasm"); wasm_br=$(br_size "$wasm")
js_raw=$(stat -c %s "$js"); js_br=$(br_size "$js")
css_raw=$(stat -c %s "$css"); css_br=$(br_size "$css")
served_wasm_enc=$(curl -sf -o /dev/null -D - -H "Accept-Encoding: br, gzip" "$base/pkg/$(basename "$wasm")" |
  tr -d '\r' | awk -F': ' 'tolower($1)=="content-encoding"{e=$2} tolower($1)=="cache-control"{c=$2} END{print (e?e:"none") "; cache-control: " (c?c:"none")}')

# --- Load -------------------------------------------------------------------------------------
rows="$work/rows.md"
: >"$rows"
load() { # loadgen arguments...; appends its Markdown rows
  "$loadgen" --seconds "$secs" --md "$@" >>"$rows"
}
ssr() { # $1 label, $2 path, $3 rates, [$4 p99 limit]
  local extra=()
  [ -n "${4:-}" ] && extra=(--max-p99-ms "$4")
  load --label "$1" --url "$base$2" --rates "$3" --header "Cookie=$cookie" --header "Accept=text/html" "${extra[@]}"
}
say "SSR render latency"
ssr "SSR Overview /" / 100
ssr "SSR Administrators (500 admins, 50 a page)" /administrators 100
ssr "SSR Billing" /billing 100
ssr "SSR Overview, rising rates" / 250,500,750,1000 10
db_load() { # $1 backend label, $2 base, $3 cookie
  say "server functions on $1"
  "$loadgen" --seconds "$secs" --md --label "read: users/list ($1)" --url "$2/api/users/list" --method POST \
    --header "Cookie=$3" --header "Origin=$2" --form page=1 --rates 500,1000,2000,3000 --max-p99-ms 5 >>"$rows"
  "$loadgen" --seconds "$secs" --md --label "write: account/update-name ($1)" --url "$2/api/account/update-name" --method POST \
    --header "Cookie=$3" --header "Origin=$2" --form first_name=Ben --form last_name=Bench \
    --rates 100,250,500,750,1000 --max-p99-ms 20 >>"$rows"
}
db_load SQLite "$base" "$cookie"
say "saving cards on SQLite (the set-up flow)"
cookie=$(sign_in "$base") # saving a card needs a sign-in from the last 10 minutes
address='"address": {"country": "US", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701"}'
curl -sf -o /dev/null -X POST -H "Origin: $base" -H "Cookie: $cookie" -H "Content-Type: application/json" "$base/api/billing/save-info" \
  --data "{\"info\": {\"company_name\": \"Bench\", \"contact_name\": \"Ben Ch\", \"contact_email\": \"$email\", \"contact_phone\": \"\", $address, \"tax_id\": \"\"}}"
# Beginning a set-up is the flow's one server function at a fixed rate; a whole save (begin,
# the sandbox's confirm, confirm-card-setup with its emails) is timed by bench/card_saves.py.
load --label "write: billing/begin-card-setup (SQLite)" --url "$base/api/billing/begin-card-setup" --method POST \
  --header "Cookie=$cookie" --header "Origin=$base" --rates 100,200 --max-p99-ms 20
python3 "$root/bench/card_saves.py" "$base" "$cookie" 400 4 >"$work/cards.md"
load --label "sign-in (argon2id by design, SQLite)" --url "$base/api/account/sign-in" --method POST \
  --header "Origin=$base" --form "email=$email" --form "password=$password" --rates 10,20
loaded_hwm=$(hwm_kb "$pid")
loaded_rss=$(rss_kb "$pid")

# --- The same server functions on PostgreSQL -------------------------------------------------
# shellcheck source=scripts/pg.sh
source "$root/scripts/pg.sh"
pg_start >/dev/null
pg_port=3201
pg_base="http://127.0.0.1:$pg_port"
mkdir -p "$work/pg"
pg_pid=$(start_server $pg_port "$work/pg" "$PG_URL")
pids+=("$pg_pid")
wait_healthy "$pg_base" "$pg_pid"
set_up_account "$pg_base" "$work/pg"
pg_cookie=$(sign_in "$pg_base")
for i in $(seq 1 40); do
  printf 'first_name=User&last_name=Number%%20%d&email=user%d%%40bench.test\n' "$i" "$i"
done | xargs -P 4 -I{} curl -sf -o /dev/null -X POST -H "Origin: $pg_base" -H "Cookie: $pg_cookie" "$pg_base/api/users/create" --data "{}"
db_load PostgreSQL "$pg_base" "$pg_cookie"
pg_hwm=$(hwm_kb "$pg_pid")

# --- Reads while passwords hash, then the billing run ------------------------------------------
kill "$pid"; wait "$pid" 2>/dev/null || true
"$root/bench/reads_while_hashing.sh" "$work/hashing.md"
"$root/bench/billing.sh" "$work/billing.md"
say "the operator console at 100,000 accounts (bench/console.py)"
{
  echo ""
  echo "## The operator console at scale (issue 31)"
  echo ""
  echo "bench/console.py: the console's server functions over HTTP, one request at a time,"
  echo "signed in as an Owner. Targets: the list ≤ 50 ms p99 in any order, filter or search;"
  echo "the revenue figures ≤ 200 ms; an account's page ≤ 50 ms. The same rows on SQLite and"
  echo "on PostgreSQL."
  echo ""
  python3 "$root/bench/console.py" --root "$root" --postgres-url "$PG_URL"
} >"$work/console.md"
say "the REST API: users added one by one, and 10,000-user syncs (bench/api.sh)"
{
  echo ""
  echo "## The REST API (issue 32)"
  echo ""
  echo "bench/api.sh: POST /v1/accounts/{id}/users at fixed rates (open loop; target p99 ≤ 20 ms"
  echo "at 500 a second), and PUT /v1/accounts/{id}/users with 10,000 users (target ≤ 2 s)."
  "$root/bench/api.sh"
} >"$work/api.md"
{
  echo ""
  echo "## The password rule's costliest inputs (core/examples/password_cost.rs)"
  echo ""
  echo '```'
  cargo run --quiet --release -p tally-core --features strength --example password_cost
  echo '```'
} >"$work/password_cost.md"

# --- Report -----------------------------------------------------------------------------------
cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
first_br=$overview_br
ratio=$(python3 -c "print(f'{$all_wasm_br/$floor_wasm_br:.2f}')")
say "page weights, the first visit and Lighthouse (bench/pages.sh)"
"$root/bench/pages.sh" $((floor_wasm_br + floor_js_br)) >"$work/pages.md"
ratio_first=$(python3 -c "print(f'{$overview_br/($floor_wasm_br+$floor_js_br):.2f}')")
startup_sorted=$(printf '%s\n' "${startups[@]}" | sort -n | tr '\n' ' ')
{
  out "# Benchmarks"
  out ""
  out "Written by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit \`$(git rev-parse --short HEAD)\`."
  out "Machine: $(nproc) cores ($cpu), $mem, $(uname -sr). Load steps: $secs s each, open loop"
  out "(each request is due at a fixed instant and timed from it), on the same 2 cores as the server."
  out ""
  out "Rerun: \`./scripts/bench.sh\` (\`BENCH_SECONDS=3\` for a quick look). Only 127.0.0.1 is contacted."
  out ""
  out "## Served bytes (release build)"
  out ""
  out "| What | Raw bytes | Brotli bytes |"
  out "|---|---:|---:|"
  out "| Sign-in page HTML | $login_raw | $login_br |"
  out "| Billing page HTML (signed in) | $billing_raw | $billing_br |"
  out "| Administrators page HTML (500 admins, $((admins_rows - 1)) rows shown) | $admins_raw | $admins_br |"
  out "| wasm, main part (every page needs it) | $wasm_raw | $wasm_br |"
  out "| wasm, all of it: main part and ${#all_wasm[@]} files in all with the split chunks | $all_wasm_raw | $all_wasm_br |"
  out "| JS (the app's glue) | $js_raw | $js_br |"
  out "| CSS | $css_raw | $css_br |"
  out "| First page, the sign-in page: JS + wasm it downloads (none: plain HTML) | $signin_raw | $signin_br |"
  out "| **Overview, signed in: JS + wasm** ($overview_files files, with the payments modal fetched when idle) | $overview_raw | **$overview_br** |"
  out "| Administrators page: JS + wasm ($pageadmins_files files) | $pageadmins_raw | $pageadmins_br |"
  out "| Billing page: JS + wasm ($pagebilling_files files) | $pagebilling_raw | $pagebilling_br |"
  out "| Billing & Payments modal open (its URL): JS + wasm ($modal_files files) | $modal_raw | $modal_br |"
  out "| Floor app (bench/floor): wasm | $floor_wasm_raw | $floor_wasm_br |"
  out "| Floor app: JS | $(stat -c %s "$floor_pkg/floor.js") | $floor_js_br |"
  out ""
  out "Page figures are what Chromium fetched from /pkg/ until the page had hydrated and the network was idle (bench/page_bytes.cjs),"
  out "counted at the sizes served (brotli). The wasm is split (\`cargo leptos build --split\`): the pages"
  out "only some roles open and the payments modal are chunks loaded when first shown (the modal's is"
  out "fetched while the browser is idle, for billing roles)."
  out ""
  out "All our wasm is **${ratio}×** the floor app's (brotli); the Overview's JS + wasm (the first page that has any) **${ratio_first}×** the floor's."
  out "Assets are served precompressed: the wasm goes out with content-encoding $served_wasm_enc."
  out ""
  out "## Server"
  out ""
  out "| What | Figure |"
  out "|---|---:|"
  out "| Start-up to first 200 on /healthz (5 starts, ms, sorted) | $startup_sorted |"
  out "| Resident memory, idle after start (SQLite) | $((idle_rss / 1024)) MiB |"
  out "| Resident memory after the SQLite load (now / peak) | $((loaded_rss / 1024)) / $((loaded_hwm / 1024)) MiB |"
  out "| Resident memory peak, PostgreSQL server after its load | $((pg_hwm / 1024)) MiB |"
  out ""
  out "## Latency under load (ms, loopback)"
  out ""
  out "\"Sustainable\" is the highest rate tried that kept p99 within the target (10 ms for pages,"
  out "5 ms reads, 20 ms writes) with no errors and was delivered in full; a run that falls behind"
  out "ends its series."
  out ""
  out "| Endpoint | Rate /s | p50 | p99 | max | Requests | Errors + shed |"
  out "|---|---:|---:|---:|---:|---:|---:|"
  cat "$rows" >>"$md"
  out ""
  out "## Saving a card (SQLite, sandbox)"
  out ""
  out "A whole save as the card window makes it: \`begin-card-setup\`, the sandbox's"
  out "\`setup_intents/{id}/confirm\`, then \`confirm-card-setup\` (with its audit event and emails),"
  out "four saves at once (\`bench/card_saves.py\`)."
  out ""
  out "| Flow | Saves | Throughput | p50 ms | p99 ms |"
  out "|---|---|---:|---:|---:|"
  cat "$work/cards.md" >>"$md"
  out ""
  out "## Targets (issue 9)"
  out ""
  python3 "$root/bench/targets.py" --rows "$rows" --first-br "$first_br" --ratio "$ratio" \
    --peak-mib "$(( (loaded_hwm > pg_hwm ? loaded_hwm : pg_hwm) / 1024 ))" \
    --startup-ms "$(printf '%s\n' "${startups[@]}" | sort -n | tail -1)" >>"$md"
  out ""
  cat "$work/pages.md" >>"$md"
  out ""
  cat "$work/hashing.md" >>"$md"
  cat "$work/billing.md" >>"$md"
  cat "$work/console.md" >>"$md"
  cat "$work/api.md" >>"$md"
  cat "$work/password_cost.md" >>"$md"
} 
mkdir -p "$root/docs"
cp "$md" "$root/docs/benchmarks.md"
cat "$md"
say "report written to docs/benchmarks.md"
