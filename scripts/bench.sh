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

# --- What core costs in wasm ------------------------------------------------------------------
# Two throw-away cdylibs built like the site's wasm (opt-level z, LTO, wasm-opt -Oz): one empty,
# one calling core's parsers, role matrix and billing arithmetic. The difference is core's cost.
probe="$root/target/core-probe"
rm -rf "$probe" && mkdir -p "$probe/src"
cat >"$probe/Cargo.toml" <<TOML
[package]
name = "core-probe"
version = "0.0.0"
edition = "2021"
publish = false
[lib]
crate-type = ["cdylib"]
[features]
with-core = ["dep:tally-core"]
[dependencies]
tally-core = { path = "$root/core", optional = true }
[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"
[workspace]
TOML
cat >"$probe/src/lib.rs" <<'RS'
#[no_mangle]
pub extern "C" fn probe(p: *const u8, n: usize) -> u32 {
    let s = unsafe { core::str::from_utf8_unchecked(core::slice::from_raw_parts(p, n)) };
    #[allow(unused_mut)]
    let mut x = s.len() as u32;
    #[cfg(feature = "with-core")]
    {
        use tally_core::*;
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let card = forms::CardInput { number: s.into(), expiry: s.into(), cvc: s.into() };
        x += card.parse(&card::AcceptedBrands::default(), today).map(|_| 1).unwrap_or(2);
        x += card::format_for_typing(s, n).1 as u32;
        let billing = forms::BillingInfoInput { company_name: s.into(), contact_email: s.into(), ..Default::default() };
        x += billing.parse().map(|_| 1).unwrap_or(3);
        x += forms::NewAdminInput { email: s.into(), ..Default::default() }.parse().map(|_| 1).unwrap_or(4);
        x += roles::allows(roles::Role::from_code(s).unwrap_or(roles::Role::ReadOnly), roles::Action::ViewBilling) as u32;
        x += billing::Plan::per_user(money::Money::from_cents(n as i64)).invoice_amount(n as u64).map(|m| m.to_string().len() as u32).unwrap_or(0);
        x += password::check_length(s).is_ok() as u32;
    }
    x
}
RS
core_size() { # $1: cargo feature flags
  (cd "$probe" && cargo build --release --target wasm32-unknown-unknown --target-dir "$probe/target" $1 -q)
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$probe/target/wasm32-unknown-unknown/release/core_probe.wasm" -o "$probe/out.wasm"
  echo "$(stat -c %s "$probe/out.wasm") $(brotli -q 11 -c "$probe/out.wasm" | wc -c)"
}
read -r empty_raw empty_br < <(core_size "")
read -r core_raw core_br < <(core_size "--features with-core")
printf '\ncore in wasm (parsers, matrix, billing; no zxcvbn): %d bytes raw, %d bytes brotli\n' \
  $((core_raw - empty_raw)) $((core_br - empty_br))

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

# --- SSR: the Administrators page with 500 administrators -----------------------------------
# 499 more administrators are created through the server function the page's dialog uses, then
# the page is fetched signed in, at a fixed rate; the latency is the whole server render
# (session, two queries, SSR of 500 rows and their hydration data) plus loopback HTTP.
cookie=$(curl -sf -D - -o /dev/null -X POST -H "Origin: $base" "$base/api/account/sign-in" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" |
  sed -n 's/^[Ss]et-[Cc]ookie: \(tally_session=[^;]*\).*/\1/p')
[ -n "$cookie" ] || { echo "could not sign in for the SSR benchmark"; exit 1; }
for i in $(seq 1 499); do
  printf 'first_name=Admin&last_name=Number%%20%d&email=admin%d%%40bench.test&role=read_only\n' "$i" "$i"
done | while read -r form; do
  curl -sf -o /dev/null -X POST -H "Origin: $base" -H "Cookie: $cookie" "$base/api/admins/create" --data "$form"
done
rows=$(curl -sf -H "Cookie: $cookie" "$base/administrators" | grep -o '<tr>' | wc -l)
bytes=$(curl -sf -H "Cookie: $cookie" "$base/administrators" | wc -c)
echo "Administrators page: $((rows - 1)) rows, $bytes bytes of HTML"
for rate in 20 50; do
  python3 "$root/bench/load.py" --method GET --url "$base/administrators" --rate $rate --seconds 15 \
    --header "Cookie=$cookie" --header "Accept=text/html" \
    --label "SSR /administrators (500 admins, SQLite) at $rate/s"
done
