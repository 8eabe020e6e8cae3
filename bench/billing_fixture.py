#!/usr/bin/env python3
"""A SQLite database with N accounts to bill, for the billing-run benchmark.

Starts the release server once with --demo on an empty database in --dir (the demo account:
administrators of every role, 14 users, billing information and a sandbox card, all dated four
months back), stops it, then copies that account N-1 times under new ids and emails (in SQL,
so 100,000 accounts take seconds), and clears every invoice, charge and mail the start made.
With --changes M, the user-count history is replaced by M changes spread over the accounts and
the 12 months up to the end of the month to bill (about a twelfth fall in that month), each
account starting with 10-20 users and moving by one user at a time, never below zero.
Prints "<previous month> <accounts> <changes>" for `tally bill --month`. Talks only to
127.0.0.1.
"""
import argparse
import calendar
import datetime
import os
import random
import sqlite3
import subprocess
import time
import urllib.request

# The tables that hold one account's data, and the columns that must differ per copy.
PER_ACCOUNT = ["accounts", "admins", "users", "user_count_changes", "billing_info", "payment_methods"]
UNIQUE_TEXT = {"id", "email", "email_key", "contact_email"}
CLEARED = ["invoices", "charge_attempts", "sandbox_charges", "mail_attachments", "mail_outbox", "audit_events", "sessions"]


def seed_demo(root, folder, port):
    env = dict(os.environ,
               TALLY_ADDR=f"127.0.0.1:{port}", TALLY_DATA_DIR=folder,
               DATABASE_URL=f"sqlite://{folder}/tally.db?mode=rwc",
               TALLY_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LEPTOS_SITE_ROOT=os.path.join(root, "target/site"),
               TALLY_BILLING_SCHEDULER="false", RUST_LOG="warn")
    # What the demo prints (its sign-ins and their password) is kept beside the database.
    printed = open(os.path.join(folder, "demo.txt"), "w")
    server = subprocess.Popen([os.path.join(root, "target/release/tally"), "--demo"], env=env,
                              stdout=printed, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("the demo server did not start")
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=30)
        printed.close()


def copy_expr(table, column):
    """The SQL for a column of copy number n.n."""
    if column == "account_id" or (table == "accounts" and column == "id"):
        return f"{column} || '-' || n.n"
    if column in UNIQUE_TEXT:
        # local+n@domain for addresses, value-n otherwise
        return (f"CASE WHEN instr({column}, '@') > 0 THEN substr({column}, 1, instr({column}, '@') - 1) "
                f"|| '+' || n.n || substr({column}, instr({column}, '@')) ELSE {column} || '-' || n.n END")
    return column


def month_bounds_ms(first_day):
    last = calendar.monthrange(first_day.year, first_day.month)[1]
    start = datetime.datetime(first_day.year, first_day.month, 1, tzinfo=datetime.timezone.utc)
    end = start + datetime.timedelta(days=last)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def synthetic_history(db, changes, month_first_day):
    """M count changes over every account and the 12 months ending with the billed month."""
    rng = random.Random(7)
    accounts = [a for (a,) in db.execute("SELECT id FROM accounts ORDER BY id")]
    _, end = month_bounds_ms(month_first_day)
    begin = end - 365 * 86_400_000
    per_account, extra = divmod(changes, len(accounts))
    db.execute("DELETE FROM user_count_changes")
    rows = []
    n = 0
    for i, account in enumerate(accounts):
        k = per_account + (1 if i < extra else 0)
        if k == 0:
            continue
        times = sorted(rng.randrange(begin, end) for _ in range(k - 1))
        count = rng.randint(10, 20)
        rows.append((f"syn{n}", account, begin, count))
        n += 1
        for at in times:
            delta = -1 if count > 0 and rng.random() < 0.5 else 1
            count += delta
            rows.append((f"syn{n}", account, at, delta))
            n += 1
        if len(rows) >= 100_000:
            db.executemany("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES (?, ?, ?, ?)", rows)
            rows = []
    db.executemany("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES (?, ?, ?, ?)", rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=0, help="replace the history with this many changes")
    ap.add_argument("--port", type=int, default=3203)
    args = ap.parse_args()
    seed_demo(args.root, args.dir, args.port)
    db = sqlite3.connect(os.path.join(args.dir, "tally.db"))
    (account,) = db.execute("SELECT id FROM accounts WHERE name = 'Demo Company'").fetchone()
    # The demo's other customer accounts go: the copies are all of this one.
    for table in PER_ACCOUNT + ["account_plans"]:
        key = "id" if table == "accounts" else "account_id"
        db.execute(f"DELETE FROM {table} WHERE {key} <> ?", (account,))
    for table in PER_ACCOUNT:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        key = "id" if table == "accounts" else "account_id"
        exprs = ", ".join(copy_expr(table, c) for c in columns)
        db.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < ?) "
            f"SELECT {exprs} FROM {table}, n WHERE {table}.{key} = ?",
            (args.accounts - 1, account))
    for table in CLEARED:
        db.execute(f"DELETE FROM {table}")
    db.execute("UPDATE accounts SET past_due = 0")
    today = datetime.date.today().replace(day=1)
    previous = (today - datetime.timedelta(days=1)).replace(day=1)
    if args.changes:
        synthetic_history(db, args.changes, previous)
    db.commit()
    count = db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]
    changes = db.execute("SELECT COUNT(*) FROM user_count_changes").fetchone()[0]
    print(f"{previous:%Y-%m} {count} {changes}")


if __name__ == "__main__":
    main()
