#!/usr/bin/env python3
"""The operator console at scale (issue 31): 100,000 customer accounts with a year of invoices.

Builds the database with bench/billing_fixture.py (the demo account copied 100,000 times),
writes 12 months of invoices for every account, puts some accounts past due, suspended,
closed or without a card, starts the release server on it, signs in as the demo's Owner
operator (setting up their authenticator app as a person would), and times the console's
server functions over real HTTP, one request at a time: the accounts list in every order,
filter and a search, the revenue page's figures, and an account's page. Prints a Markdown
table of p50 and p99 per query. With --postgres-url, the same database is then copied into a
new PostgreSQL database on that server (its schema made by the server's own migrations, every
row copied with psql's \\copy) and timed again. Talks only to 127.0.0.1.

    python3 bench/console.py --root . [--accounts 100000] [--requests 200] [--postgres-url URL]
"""
import argparse
import shutil
import base64
import glob
import datetime
import hashlib
import hmac
import http.cookiejar
import json
import os
import re
import sqlite3
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request


def totp(key, step):
    secret = base64.b32decode(key.replace(" ", "").upper() + "=" * (-len(key.replace(" ", "")) % 8))
    h = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[19] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def add_history(db):
    """A year of invoices per account (paid, a few past due), and some accounts in each state."""
    today = datetime.date.today().replace(day=1)
    # Copies of one account share its name: each gets its own, to search for.
    db.execute("UPDATE accounts SET name = 'Company ' || rowid")
    db.execute("DELETE FROM invoices")
    db.execute(
        "INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, "
        "amount_cents, status, company_name, created_at, paid_at) "
        "WITH RECURSIVE m(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM m WHERE k < 12) "
        "SELECT a.id || '-' || m.k, a.id, 'B-' || a.id || '-' || m.k, strftime('%Y-%m', date(?, '-' || m.k || ' months')), "
        "14, 10, 500, 2000, CASE WHEN abs(random()) % 100 = 0 THEN 'past_due' ELSE 'paid' END, a.name, 0, "
        "CAST(strftime('%s', date(?, '-' || m.k || ' months', '+1 day')) AS INTEGER) * 1000 "
        "FROM accounts a, m",
        (today.isoformat(), today.isoformat()))
    db.execute("UPDATE invoices SET paid_at = NULL WHERE status <> 'paid'")
    db.execute("UPDATE accounts SET past_due = 1 WHERE id IN (SELECT DISTINCT account_id FROM invoices WHERE status = 'past_due')")
    db.execute("UPDATE accounts SET status = 'suspended', status_reason = 'unpaid' WHERE abs(random()) % 100 = 0")
    db.execute("UPDATE accounts SET status = 'closed', status_reason = 'left', closed_at = 0 WHERE abs(random()) % 100 = 0")
    db.execute("DELETE FROM payment_methods WHERE abs(random()) % 20 = 0")
    db.commit()


class Console:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, endpoint, **fields):
        body = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(f"{self.base}/api/{endpoint}", data=body, headers={
            "Origin": self.base, "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded"})
        with self.opener.open(req, timeout=30) as res:
            return json.loads(res.read() or b"null")

    def sign_in(self, email, password):
        self.call("operator/sign-in", email=email, password=password)
        key = self.call("operator/two-step/start-app")["key"]
        self.call("operator/two-step/confirm-app", code=totp(key, int(time.time()) // 30))


def psql_path():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    return found[-1] if found else "psql"


def psql(url, sql):
    subprocess.run([psql_path(), url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def csv_field(v):
    """A value as PostgreSQL's CSV reads it: NULL unquoted and empty, text always quoted."""
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return str(v)
    return '"' + str(v).replace('"', '""') + '"'


def copy_to_postgres(sqlite_path, url, work):
    """Every row of the SQLite database into the PostgreSQL one (whose schema exists), foreign
    keys unchecked while loading, then ANALYZE."""
    db = sqlite3.connect(sqlite_path)
    tables = [t for (t,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> '_sqlx_migrations' ORDER BY name")]
    script = ["SET session_replication_role = replica;",
              "TRUNCATE " + ", ".join(tables) + ";"]
    for table in tables:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        path = os.path.join(work, f"{table}.csv")
        with open(path, "w") as out:
            for row in db.execute(f"SELECT {', '.join(columns)} FROM {table}"):
                out.write(",".join(csv_field(v) for v in row) + "\n")
        script.append(f"\\copy {table} ({', '.join(columns)}) FROM '{path}' WITH (FORMAT csv)")
    db.close()
    script.append("SET session_replication_role = DEFAULT;")
    # What autovacuum does soon after a load: statistics, and the visibility map that lets an
    # index answer alone.
    script.append("VACUUM ANALYZE;")
    path = os.path.join(work, "load.sql")
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    subprocess.run([psql_path(), url, "-v", "ON_ERROR_STOP=1", "-q", "-f", path], check=True,
                   stdout=subprocess.DEVNULL)


def start_server(root, work, database_url, port):
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, TALLY_ADDR=f"127.0.0.1:{port}", TALLY_DATA_DIR=work,
               DATABASE_URL=database_url, TALLY_PUBLIC_URL=base,
               LEPTOS_SITE_ROOT=os.path.join(root, "target/site"), TALLY_BILLING_SCHEDULER="false",
               RUST_LOG="warn")
    server = subprocess.Popen([os.path.join(root, "target/release/tally")], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            return server, base
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the server did not start")
            time.sleep(0.05)


def stop(server):
    server.terminate()
    server.wait(timeout=30)


def measure(root, work, database_url, port, password, some, requests, label):
    server, base = start_server(root, work, database_url, port)
    try:
        console = Console(base)
        console.sign_in("owner@seller.demo.tally.test", password)
        queries = [
            ("the list, by name, page 1", "operator/accounts/list", {}),
            ("the list, by name, page 1,000", "operator/accounts/list", {"page": "1000"}),
            ("the list, newest first", "operator/accounts/list", {"order": "Newest"}),
            ("the list, past due only", "operator/accounts/list", {"past_due_only": "true"}),
            ("the list, no card on file only", "operator/accounts/list", {"no_card_only": "true"}),
            ("the list, suspended only", "operator/accounts/list", {"status": "suspended"}),
            ("the list, searched by company", "operator/accounts/list", {"search": "company 4242"}),
            ("the list, searched by an administrator's email", "operator/accounts/list", {"search": "admin-billing+4242@"}),
            ("the revenue page", "operator/revenue", {}),
            ("an account's page", "operator/accounts/get", {"id": some}),
        ]
        print(f"\n{label}; {requests} requests each, one at a time.\n")
        print("| Query | p50 | p99 |")
        print("|---|---|---|")
        for name, endpoint, fields in queries:
            console.call(endpoint, **fields)  # warm
            times = []
            for _ in range(requests):
                t0 = time.perf_counter()
                console.call(endpoint, **fields)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"| {name} | {percentile(times, 50):.1f} ms | {percentile(times, 99):.1f} ms |", flush=True)
    finally:
        stop(server)


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--port", type=int, default=3204)
    ap.add_argument("--postgres-url", help="also time the same data on this PostgreSQL server")
    ap.add_argument("--keep", action="store_true",
                    help="keep the SQLite folder and the PostgreSQL database, to look at plans")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    work = tempfile.mkdtemp(prefix="tally-console.")
    subprocess.run(["python3", os.path.join(root, "bench/billing_fixture.py"), "--root", root, "--dir", work,
                    "--accounts", str(args.accounts)], check=True, stdout=subprocess.DEVNULL)
    printed = open(os.path.join(work, "demo.txt")).read()
    password = re.search(r"Password for all of them: (.+)", printed).group(1).strip()
    db = sqlite3.connect(os.path.join(work, "tally.db"))
    add_history(db)
    invoices = db.execute("SELECT COUNT(*) FROM invoices").fetchone()[0]
    some = db.execute("SELECT id FROM accounts ORDER BY id LIMIT 1 OFFSET ?", (args.accounts // 2,)).fetchone()[0]
    db.close()
    label = f"{args.accounts:,} accounts, {invoices:,} invoices"
    url = None
    if args.postgres_url:
        # A database of its own on that server, its schema made by the server's migrations,
        # then the same rows (before any sign-in changes them).
        base_url, _, _ = args.postgres_url.rpartition("/")
        psql(args.postgres_url, "DROP DATABASE IF EXISTS tally_console")
        psql(args.postgres_url, "CREATE DATABASE tally_console")
        url = f"{base_url}/tally_console"
        stop(start_server(root, work, url, args.port)[0])
        t0 = time.time()
        copy_to_postgres(os.path.join(work, "tally.db"), url, work)
        print(f"(the same rows copied into PostgreSQL in {time.time() - t0:.0f} s)")
    measure(root, work, f"sqlite://{work}/tally.db", args.port, password, some, args.requests,
            f"SQLite: {label}")
    if url:
        measure(root, work, url, args.port, password, some, args.requests, f"PostgreSQL: {label}")
        if not args.keep:
            psql(args.postgres_url, "DROP DATABASE tally_console")
    if args.keep:
        print(f"(kept: {work}/tally.db" + (f" and {url}" if url else "") + ")")
    else:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
