#!/usr/bin/env python3
"""A SQLite database with N accounts to bill, for the billing-run benchmark.

Starts the release server once with --demo on an empty database in --dir (the demo account:
administrators of every role, 14 users, billing information and a sandbox card, all dated four
months back), stops it, then copies that account N-1 times under new ids and emails, and clears
every invoice, charge and mail the start made. Prints "<previous month> <accounts>" for
`tally bill --month`. Talks only to 127.0.0.1.
"""
import argparse
import datetime
import os
import sqlite3
import subprocess
import time
import urllib.request

# The tables that hold one account's data, and the columns that must differ per copy.
PER_ACCOUNT = ["accounts", "admins", "users", "user_count_changes", "billing_info", "payment_methods"]
UNIQUE_TEXT = {"id", "email", "email_key", "contact_email"}
CLEARED = ["invoices", "charge_attempts", "sandbox_charges", "mail_outbox", "audit_events", "sessions"]


def seed_demo(root, folder, port):
    env = dict(os.environ,
               TALLY_ADDR=f"127.0.0.1:{port}", TALLY_DATA_DIR=folder,
               DATABASE_URL=f"sqlite://{folder}/tally.db?mode=rwc",
               TALLY_PUBLIC_URL=f"http://127.0.0.1:{port}",
               LEPTOS_SITE_ROOT=os.path.join(root, "target/site"),
               TALLY_BILLING_SCHEDULER="false", RUST_LOG="warn")
    server = subprocess.Popen([os.path.join(root, "target/release/tally"), "--demo"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def copy_value(column, value, n):
    if column == "account_id":
        return f"{value}-{n}"
    if column in UNIQUE_TEXT and isinstance(value, str):
        if "@" in value:
            local, domain = value.split("@", 1)
            return f"{local}+{n}@{domain}"
        return f"{value}-{n}"
    return value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--port", type=int, default=3203)
    args = ap.parse_args()
    seed_demo(args.root, args.dir, args.port)
    db = sqlite3.connect(os.path.join(args.dir, "tally.db"))
    (account,) = db.execute("SELECT id FROM accounts").fetchone()
    for table in PER_ACCOUNT:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        key = "id" if table == "accounts" else "account_id"
        rows = db.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {key} = ?", (account,)).fetchall()
        marks = ", ".join("?" for _ in columns)
        for n in range(1, args.accounts):
            copies = []
            for row in rows:
                values = []
                for column, value in zip(columns, row):
                    if table == "accounts" and column == "id":
                        values.append(f"{value}-{n}")
                    else:
                        values.append(copy_value(column, value, n))
                copies.append(values)
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", copies)
    for table in CLEARED:
        db.execute(f"DELETE FROM {table}")
    db.execute("UPDATE accounts SET past_due = 0")
    db.commit()
    count = db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]
    today = datetime.date.today().replace(day=1)
    previous = today - datetime.timedelta(days=1)
    print(f"{previous:%Y-%m} {count}")


if __name__ == "__main__":
    main()
