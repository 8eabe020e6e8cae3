#!/usr/bin/env bash
# What a range of commits added to the release wasm: builds the browser bundle at each commit
# given, in throw-away worktrees sharing one target folder, with the same steps and settings
# (this checkout's .cargo/config.toml, the wasm-release profile, wasm-bindgen, wasm-opt -Oz),
# and prints raw and brotli sizes and the differences.
#
#   bench/wasm_delta.sh d1d2d58 7d5e229        # e.g. what issue 6 (the payments modal) added
#
# About 10 minutes for the first commit on 2 cores, a few for each further one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: bench/wasm_delta.sh COMMIT COMMIT [COMMIT...]" >&2; exit 2; }
work=$(mktemp -d /tmp/tally-wasm-delta.XXXXXX)
target="$work/target"
trap 'for t in "$work"/tree-*; do git -C "$root" worktree remove --force "$t" 2>/dev/null || true; done; rm -rf "$work"' EXIT
prev_raw="" prev_br=""
printf '| Commit | wasm raw | wasm brotli | raw change | brotli change |\n|---|---:|---:|---:|---:|\n'
for commit in "$@"; do
  tree="$work/tree-$commit"
  git -C "$root" worktree add --detach --quiet "$tree" "$commit"
  mkdir -p "$tree/.cargo" && cp "$root/.cargo/config.toml" "$tree/.cargo/config.toml"
  (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --quiet --package=tally-app --lib \
    --target=wasm32-unknown-unknown --no-default-features --features=hydrate --profile=wasm-release)
  wasm-bindgen --target web --no-typescript --out-dir "$work/out-$commit" --out-name app \
    "$target/wasm32-unknown-unknown/wasm-release/tally_app.wasm"
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$work/out-$commit/app_bg.wasm" -o "$work/out-$commit/opt.wasm"
  raw=$(stat -c %s "$work/out-$commit/opt.wasm")
  br=$(brotli -q 11 -c "$work/out-$commit/opt.wasm" | wc -c)
  if [ -n "$prev_raw" ]; then
    printf '| `%s` | %d | %d | %+d | %+d |\n' "$commit" "$raw" "$br" $((raw - prev_raw)) $((br - prev_br))
  else
    printf '| `%s` | %d | %d | | |\n' "$commit" "$raw" "$br"
  fi
  prev_raw=$raw prev_br=$br
  git -C "$root" worktree remove --force "$tree"
done
