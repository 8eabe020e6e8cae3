#!/usr/bin/env python3
"""A fresh server made ready the way a real one is, for the benchmarks that need a signed-in
customer administrator: first start makes the seller and its Owner operator (with the set-up
code from the data folder), the Owner sets up an authenticator app, creates the customer
account "Bench" from the console, and its first administrator (an Administrator With
Billing) accepts the emailed invitation with the given password. Talks only to the server.

    python3 bench/first_account.py BASE DATA_DIR EMAIL PASSWORD
"""
import base64
import hashlib
import hmac
import http.cookiejar
import json
import os
import re
import struct
import sys
import time
import urllib.parse
import urllib.request


def totp(key, step):
    secret = base64.b32decode(key.replace(" ", "").upper() + "=" * (-len(key.replace(" ", "")) % 8))
    h = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[19] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000)


class Client:
    """One browser's cookies, calling server functions as the pages do."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirect())

    def call(self, endpoint, form):
        req = urllib.request.Request(
            f"{self.base}/api/{endpoint}", data=urllib.parse.urlencode(form).encode(),
            headers={"Origin": self.base, "Accept": "application/json"}, method="POST")
        try:
            with self.opener.open(req) as res:
                body = res.read()
        except urllib.error.HTTPError as e:
            if e.code in (302, 303):
                return None
            raise SystemExit(f"{endpoint}: {e.code} {e.read()[:300]!r}")
        return json.loads(body) if body else None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def newest_link(outbox, to, pattern):
    """The link matching `pattern` in the newest message to `to`, waiting for the mail worker."""
    for _ in range(400):
        names = sorted(os.listdir(outbox), reverse=True) if os.path.isdir(outbox) else []
        for name in names:
            text = open(os.path.join(outbox, name), encoding="utf-8", errors="replace").read()
            text = text.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
            if f"To: {to}" in text:
                found = re.search(pattern, text)
                if found:
                    return found.group(0)
        time.sleep(0.05)
    raise SystemExit(f"no message to {to} in {outbox}")


def main():
    base, data_dir, email, password = sys.argv[1:5]
    code = open(os.path.join(data_dir, "setup-code")).read().strip()
    owner = Client(base)
    owner.call("setup/create", {
        "setup_code": code, "legal_name": "Bench Seller Ltd", "contact_email": "billing@seller.bench.test",
        "country": "GB", "line1": "1 Bench St", "city": "London", "postal_code": "SW1A 2AA",
        "price_per_user": "5.00", "free_users": "10", "first_name": "Olive", "last_name": "Bench",
        "email": "owner@seller.bench.test", "password": password,
    })
    key = owner.call("operator/two-step/start-app", {})["key"]
    owner.call("operator/two-step/confirm-app", {"code": totp(key, int(time.time()) // 30)})
    owner.call("operator/accounts/create", {
        "company_name": "Bench", "first_name": "Ben", "last_name": "Ch", "email": email,
    })
    link = newest_link(os.path.join(data_dir, "outbox"), email, r"/invitation/[A-Za-z0-9_-]+")
    Client(base).call("account/set-password", {
        "kind": "Invitation", "token": link.rsplit("/", 1)[1], "password": password,
    })


if __name__ == "__main__":
    main()
