#!/usr/bin/env bash
# The islands lever, measured (issue 20): what the signed-in pages would download if Tally were
# built in Leptos' islands mode with only the Overview's interactive parts as an island.
#
#   bench/islands_probe.sh
#
# A probe, not the product. In a throw-away worktree of HEAD, bench/islands/probe.patch turns on
# `leptos/islands`, hydrates with `hydrate_islands`, makes the email menu and the Billing &
# Payments modal one island (`AccountControls`; the modal's frame and content are split chunks
# fetched once the island is live) and routes every page without lazy chunks (islands mode
# hydrates no router). Every other form and button of the app is server-rendered and inert in
# it: it measures how low islands take the Overview, not a working app. The release site is
# built (`cargo leptos build --release --split --precompress`, from a copy of this checkout's
# target folder when there is one) and bench/pages.sh runs against it. Then the floor app
# (bench/floor) is built in islands mode too (bench/islands/floor.patch: its button and server
# function one island), for the framework's own share.
# Needs what bench/pages.sh needs (scripts/setup.sh --test and --bench). About 15 minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/tally-islands.XXXXXX)
tree="$work/tree"
trap 'git -C "$root" worktree remove --force "$tree" 2>/dev/null || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach --quiet "$tree" HEAD
git -C "$tree" apply "$root/bench/islands/probe.patch"
mkdir -p "$tree/target"
for d in release front wasm32-unknown-unknown; do
  [ -d "$root/target/$d" ] && cp -a "$root/target/$d" "$tree/target/"
done
ln -s "$root/bench/node_modules" "$tree/bench/node_modules"
ln -s "$root/end2end/node_modules" "$tree/end2end/node_modules"
(cd "$tree" && cargo leptos build --release --split --precompress >"$work/build.log" 2>&1) ||
  { tail -40 "$work/build.log" >&2; exit 1; }

# The floor app in islands mode, built beside the probe (it reuses the probe's compiled crates).
floor="$tree/bench/floor"
git -C "$tree" apply --directory=bench/floor "$root/bench/islands/floor.patch"
cp "$tree/Cargo.lock" "$floor/Cargo.lock"
mkdir -p "$floor/target" && cp -a "$tree/target/front" "$tree/target/release" "$floor/target/"
(cd "$floor" && cargo leptos build --release >"$work/floor.log" 2>&1) ||
  { tail -40 "$work/floor.log" >&2; exit 1; }
br() { brotli -q 11 -c "$1" | wc -c; }
floor_br=$(( $(br "$floor/target/site/pkg/floor.wasm") + $(br "$floor/target/site/pkg/floor.js") ))

echo "## Islands probe (issue 20)"
echo ""
echo "At \`$(git -C "$root" rev-parse --short HEAD)\` + bench/islands/probe.patch, by \`bench/islands_probe.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
echo "The floor app in islands mode (bench/islands/floor.patch): $(python3 -c "print(f'{$floor_br/1000:.1f} KB')") brotli (q11) of wasm + JS."
echo ""
bash "$tree/bench/pages.sh" "$floor_br" | sed '1,2d'
