#!/usr/bin/env python3
"""Saves sandbox cards through the whole flow the card window takes, and times each save.

    bench/card_saves.py BASE COOKIE [SAVES] [WORKERS]

One save is three requests, as in the browser: `billing/begin-card-setup` (the server begins
a set-up), the sandbox's `/sandbox/v1/setup_intents/{id}/confirm` (the card goes to the
processor), then `billing/confirm-card-setup` (the server saves what the processor
confirmed, with its audit event and emails). WORKERS save at once (closed loop). Prints one
Markdown row: saves, workers, saves a second, and p50/p99 of a whole save in ms.
Loopback only, like bench/loadgen.
"""

import json
import sys
import threading
import time
import urllib.parse
import urllib.request

base, cookie = sys.argv[1], sys.argv[2]
saves = int(sys.argv[3]) if len(sys.argv) > 3 else 400
workers = int(sys.argv[4]) if len(sys.argv) > 4 else 4
host = urllib.parse.urlparse(base).hostname
if host not in ("127.0.0.1", "localhost", "::1"):
    sys.exit(f"refusing a target that is not this machine: {base}")

PAYMENT = {
    "cardholder_name": "Ben Ch",
    "same_as_billing": True,
    "address": {"country": "US", "line1": "1 Main St", "line2": "", "city": "Springfield",
                "region": "IL", "postal_code": "62701"},
}
CARD = {"brand": "Visa", "last4": "4242", "exp_month": 12, "exp_year": 2030}


def post(path, data, json_body=False, signed_in=True):
    headers = {"Origin": base}
    if signed_in:
        headers["Cookie"] = cookie
    if json_body:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    else:
        body = urllib.parse.urlencode(data).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def save_one(n):
    secret = post("/api/billing/begin-card-setup", {})
    setup = secret.split("_secret_")[0]
    confirmed = post(f"/sandbox/v1/setup_intents/{setup}/confirm", {
        "key": "pk_sandbox",
        "client_secret": secret,
        "payment_method_data[type]": "card",
        "payment_method_data[card][number]": "4242424242424242",  # sandbox test number
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2030",
        "payment_method_data[card][cvc]": "123",
    }, signed_in=False)
    if confirmed.get("status") != "succeeded":
        raise RuntimeError(f"the sandbox refused the card: {confirmed}")
    post("/api/billing/confirm-card-setup", {
        "payment": PAYMENT, "setup_intent": setup, "card": CARD,
        "idempotency_key": f"bench-{time.time_ns()}-{n}",
    }, json_body=True)


times, errors, lock = [], [], threading.Lock()
next_n = iter(range(saves))


def worker():
    while True:
        with lock:
            n = next(next_n, None)
        if n is None:
            return
        t0 = time.perf_counter()
        try:
            save_one(n)
        except Exception as e:  # counted and reported, never hidden
            with lock:
                errors.append(str(e))
            continue
        with lock:
            times.append((time.perf_counter() - t0) * 1000)


started = time.perf_counter()
threads = [threading.Thread(target=worker) for _ in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - started
if errors:
    sys.exit(f"{len(errors)} saves failed, the first: {errors[0]}")
times.sort()
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"| save a card: begin → sandbox → confirm (SQLite) | {saves} saves, {workers} at once "
      f"| {saves / elapsed:.0f}/s | {p(0.5):.2f} | {p(0.99):.2f} |")
