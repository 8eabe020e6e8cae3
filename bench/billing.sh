#!/usr/bin/env bash
# The billing-run benchmark (issue 7): `tally bill` over generated SQLite databases, run twice.
#
#   bench/billing.sh [report.md]     (scripts/bench.sh runs it too; it needs the release build)
#
# Scenarios: 10,000 accounts with 1,000,000 user-count changes; 100,000 accounts with the demo's
# history (14 changes each). Each: the first run of the previous month (invoices, charges,
# emails delivered to the outbox folder), then the same run again. Wall time and peak resident
# memory come from GNU time. Nothing but 127.0.0.1 is contacted (the fixture's demo server).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
report=${1:-/dev/stdout}
tally="$root/target/release/tally"
[ -x "$tally" ] || { echo "bench/billing.sh: build first: cargo leptos build --release" >&2; exit 1; }
work=$(mktemp -d /tmp/tally-bill.XXXXXX)
trap 'rm -rf "$work"' EXIT
say() { printf '\033[1m[bench]\033[0m %s\n' "$*" >&2; }

rows=()
scenario() { # $1 label, $2 accounts, $3 changes (0: the demo's)
  local dir="$work/$2" fixture
  mkdir -p "$dir"
  say "billing run: $1 (building the database)"
  local t0 t1
  t0=$(date +%s%N)
  read -r month accounts changes < <(python3 "$root/bench/billing_fixture.py" --root "$root" --dir "$dir" \
    --accounts "$2" --changes "$3")
  t1=$(date +%s%N)
  fixture=$(( (t1 - t0) / 1000000000 ))
  sync # the fixture's writes reach the disk before the clock starts, not during the run
  local env=(DATABASE_URL="sqlite://$dir/tally.db" TALLY_DATA_DIR="$dir" TALLY_PUBLIC_URL=http://127.0.0.1:3202 RUST_LOG=warn)
  local runs=()
  for n in 1 2; do
    say "billing run: $1, run $n"
    env "${env[@]}" /usr/bin/time -f "%e %M" -o "$dir/time$n" "$tally" bill --month "$month" >"$dir/out$n"
    runs+=("$(cat "$dir/time$n")")
    say "  $(cat "$dir/out$n") in $(cut -d' ' -f1 "$dir/time$n") s"
  done
  read -r first_s first_kb <<<"${runs[0]}"
  read -r again_s again_kb <<<"${runs[1]}"
  local counts
  counts=$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); q=lambda s,*a: c.execute(s,a).fetchone()[0]; \
print(q('select count(*) from invoices where month=?', sys.argv[2]), q('select count(*) from sandbox_charges'), \
q('select count(*) from mail_outbox where sent_at is not null'), q('select count(*) from (select account_id from invoices group by account_id, month having count(*) > 1)'))" \
    "$dir/tally.db" "$month")
  read -r invoices charges mails doubles <<<"$counts"
  local eml
  eml=$(find "$dir/outbox" -name '*.eml' | wc -l)
  rows+=("| $1 | $accounts | $changes | **$first_s s** | $(( first_kb / 1024 )) MiB | **$again_s s** ($(python3 -c "print(f'{100*$again_s/$first_s:.0f}')") %) | $(( again_kb / 1024 )) MiB | $invoices / $charges / $mails ($eml files) | $doubles |")
  # Kept until the end. On ext4 without a journal (these machines), creating a file skips free
  # inodes deleted in the last 60 s, or 360 s while their inode table block is still dirty
  # (recently_deleted() in fs/ext4/ialloc.c), so a run right after a mass deletion (this
  # script's own cleanup in a back-to-back rerun, say) spends seconds of system time finding
  # inodes for its emails. Rerun after a few quiet minutes.
}

scenario "10,000 accounts, 1,000,000 user changes" 10000 1000000
scenario "100,000 accounts, the demo's history" 100000 0

{
  echo "## Billing run"
  echo ""
  echo "\`tally bill --month <previous month>\` on SQLite (\`bench/billing.sh\`, databases from"
  echo "bench/billing_fixture.py: the demo account copied, each with a sandbox card, billing contact"
  echo "and administrators). A run invoices every account, charges each invoice through the"
  echo "sandbox gateway and delivers every email to the outbox folder; the second run of the same"
  echo "month finds everything done. Wall time and peak resident memory from GNU time."
  echo ""
  echo "| Scenario | Accounts | User changes | First run | Peak memory | Same month again | Peak memory | Invoices / charges / emails sent | Accounts invoiced twice |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
  printf '%s\n' "${rows[@]}"
} >>"$report"
