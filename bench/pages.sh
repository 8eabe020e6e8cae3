#!/usr/bin/env bash
# What pages weigh and how they score, on the release build (issue 20):
#
#   bench/pages.sh [floor wasm+JS brotli bytes]
#
# Starts its own release server on 127.0.0.1:3290 with a fresh SQLite database, sets up an
# account, then measures in Chromium (bench/page_weight.cjs): everything the visitor's pages
# load, the app's JS + wasm each signed-in page fetches until hydrated and while idle after,
# and every byte of the article's first visit (sign-in → Overview → Payments → card saved);
# and runs Lighthouse (mobile preset, its default) for sign-in, Overview and Billing. Prints
# a Markdown section. scripts/bench.sh runs it with the floor app's size; it also runs alone
# after `cargo leptos build --release --split --precompress` and `scripts/setup.sh --bench`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
floor=${1:-}
port=3290
base="http://127.0.0.1:$port"
email=bench@tally.test
password="bench passphrase for loads"
work=$(mktemp -d /tmp/tally-pages.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

TALLY_ADDR="127.0.0.1:$port" TALLY_DATA_DIR="$work" TALLY_PUBLIC_URL="$base" \
  DATABASE_URL="sqlite://$work/tally.db?mode=rwc" LEPTOS_SITE_ROOT="$root/target/site" RUST_LOG=warn \
  TALLY_SIGN_IN_PER_IP_MINUTE=1000000 TALLY_BILLING_SCHEDULER=false \
  "$root/target/release/tally" >"$work/server.log" 2>&1 &
pid=$!
until curl -sf "$base/healthz" >/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.05
done
python3 "$root/bench/first_account.py" "$base" "$work" "$email" "$password"

node "$root/bench/page_weight.cjs" "$root/target/site/pkg" "$base" "$email" "$password" >"$work/weight.txt"
w() { awk -v k="$1" -v f="$2" '$1 == k {print $f}' "$work/weight.txt"; }
kb() { python3 -c "print(f'{$1/1000:.1f} KB')"; }

cookie=$(curl -sf -D - -o /dev/null -X POST -H "Origin: $base" "$base/api/account/sign-in" \
  --data-urlencode "email=$email" --data-urlencode "password=$password" |
  sed -n 's/^[Ss]et-[Cc]ookie: \(tally_session=[^;]*\).*/\1/p')
lighthouse() { # $1 path, $2 cookie or empty; prints "performance accessibility lcp tbt"
  local headers=()
  [ -n "$2" ] && headers=(--extra-headers="{\"Cookie\":\"$2\"}")
  CHROME_PATH=${CHROMIUM_PATH:-/usr/bin/chromium} "$root/bench/node_modules/.bin/lighthouse" "$base$1" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" --only-categories=performance,accessibility \
    "${headers[@]}" --output=json --output-path="$work/lh.json" --quiet >/dev/null 2>&1
  python3 - "$work/lh.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c, a = d["categories"], d["audits"]
print(round(c["performance"]["score"] * 100), round(c["accessibility"]["score"] * 100),
      a["largest-contentful-paint"]["displayValue"].replace("\u00a0", " ").replace(" ", "&nbsp;"),
      a["total-blocking-time"]["displayValue"].replace("\u00a0", " ").replace(" ", "&nbsp;"))
PY
}
read -r lh_signin_p lh_signin_a lh_signin_lcp lh_signin_tbt < <(lighthouse /login "")
read -r lh_over_p lh_over_a lh_over_lcp lh_over_tbt < <(lighthouse / "$cookie")
read -r lh_bill_p lh_bill_a lh_bill_lcp lh_bill_tbt < <(lighthouse /billing "$cookie")

ratio() { [ -n "$floor" ] && python3 -c "print(f'{$1/$floor:.2f}×')" || echo "n/a"; }
met() { [ "$1" -le "$2" ] && echo yes || echo "**no**"; }
atleast() { [ "$1" -ge "$2" ] && echo yes || echo "**no**"; }
echo "## Pages (issue 20)"
echo ""
echo "Measured by \`bench/pages.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit \`$(git -C "$root" rev-parse --short HEAD)\`,"
echo "release build, Chromium on loopback, nothing cached. Brotli sizes: the precompressed copies served for"
echo "/pkg/, brotli quality 5 (the server's compression default) for HTML and server function answers."
echo ""
echo "| Page | What is counted | Brotli | Files | Scripts or wasm | × floor app |"
echo "|---|---|---:|---:|---:|---:|"
for p in signin:Sign-in forgot:"Forgot password" reset:"Reset link's page"; do
  k=${p%%:*}; label=${p#*:}
  echo "| $label | everything: HTML, CSS, any script | $(kb "$(w "$k" 2)") | $(w "$k" 3) | $(w "$k-scripts" 2) | |"
done
for p in overview:Overview billing:Billing admins:Administrators; do
  k=${p%%:*}; label=${p#*:}
  echo "| $label (signed in) | the app's JS + wasm until hydrated | $(kb "$(w "$k" 2)") | $(w "$k" 3) | $(w "$k" 3) | $(ratio "$(w "$k" 2)") |"
  echo "| $label, then idle | JS + wasm fetched after (the payments modal, billing roles) | $(kb "$(w "$k+idle" 2)") | $(w "$k+idle" 3) | $(w "$k+idle" 3) | |"
done
echo "| First visit: sign-in → Overview → Payments → card saved | every byte | $(kb "$(w first-visit 2)") | $(w first-visit 3) | | |"
echo ""
echo "Lighthouse $("$root/bench/node_modules/.bin/lighthouse" --version) (mobile preset: simulated slow 4G and a 4× slower CPU), one run each:"
echo ""
echo "| Page | Performance | Accessibility | Largest contentful paint | Total blocking time |"
echo "|---|---:|---:|---:|---:|"
echo "| Sign-in | $lh_signin_p | $lh_signin_a | $lh_signin_lcp | $lh_signin_tbt |"
echo "| Overview (signed in) | $lh_over_p | $lh_over_a | $lh_over_lcp | $lh_over_tbt |"
echo "| Billing (signed in) | $lh_bill_p | $lh_bill_a | $lh_bill_lcp | $lh_bill_tbt |"
echo ""
echo "| Target (issue 20) | This run | Met |"
echo "|---|---|---|"
for k in signin forgot reset; do
  echo "| $k page ≤ 15 KB brotli in all, no script | $(kb "$(w "$k" 2)"), $(w "$k-scripts" 2) scripts | $( [ "$(w "$k-scripts" 2)" = 0 ] && met "$(w "$k" 2)" 15000 || echo "**no**") |"
done
echo "| Overview signed in ≤ 150 KB brotli JS + wasm | $(kb "$(w overview 2)") | $(met "$(w overview 2)" 150000) |"
for p in signin:"Sign-in":$lh_signin_p:$lh_signin_a over:"Overview":$lh_over_p:$lh_over_a bill:"Billing":$lh_bill_p:$lh_bill_a; do
  IFS=: read -r _ label perf acc <<<"$p"
  echo "| Lighthouse $label: performance ≥ 95, accessibility 100 | $perf / $acc | $( [ "$perf" -ge 95 ] && [ "$acc" -ge 100 ] && echo yes || echo "**no**") |"
done
