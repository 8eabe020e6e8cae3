#!/usr/bin/env python3
"""Open-loop load at a fixed rate against a Tally server on loopback; prints latency percentiles.

Each request is scheduled at start + i/rate and its latency is measured from that scheduled
instant, so a slow server cannot hide queueing delay (no coordinated omission). Only
127.0.0.0/8 and ::1 are accepted as targets; the run stops by itself after --seconds.

  load.py --url http://127.0.0.1:3200/api/account/sign-in --rate 20 --seconds 20 \
          --form email=a@b.test --form password=... --header Origin=http://127.0.0.1:3200
"""
import argparse
import concurrent.futures
import http.client
import ipaddress
import socket
import threading
import time
import urllib.parse


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * (len(sorted_values) - 1))))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--rate", type=float, required=True, help="requests per second")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--method", default="POST")
    ap.add_argument("--form", action="append", default=[], help="key=value (form body)")
    ap.add_argument("--header", action="append", default=[], help="Name=value")
    ap.add_argument("--workers", type=int, default=64)
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    url = urllib.parse.urlsplit(args.url)
    addr = ipaddress.ip_address(socket.gethostbyname(url.hostname))
    if not addr.is_loopback:
        raise SystemExit(f"refusing to load a non-loopback address: {addr}")
    body = urllib.parse.urlencode([tuple(kv.split("=", 1)) for kv in args.form]) if args.form else None
    headers = dict(h.split("=", 1) for h in args.header)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    path = url.path + (("?" + url.query) if url.query else "")

    local = threading.local()

    def conn():
        c = getattr(local, "c", None)
        if c is None:
            c = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            local.c = c
        return c

    def one(scheduled):
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            c = conn()
            c.request(args.method, path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            status = r.status
        except Exception:
            local.c = None
            status = 0
        return time.perf_counter() - scheduled, status

    n = int(args.rate * args.seconds)
    start = time.perf_counter() + 0.2
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.workers) as pool:
        results = list(pool.map(one, [start + i / args.rate for i in range(n)]))
    elapsed = time.perf_counter() - start
    lat = sorted(r[0] * 1000 for r in results)
    ok = sum(1 for r in results if 200 <= r[1] < 400)
    statuses = {}
    for _, s in results:
        statuses[s] = statuses.get(s, 0) + 1
    print(
        f"{args.label or args.url}: {n} requests at {args.rate:g}/s in {elapsed:.1f}s; "
        f"ok {ok}, statuses {dict(sorted(statuses.items()))}; latency ms p50 {percentile(lat, 50):.1f} "
        f"p90 {percentile(lat, 90):.1f} p99 {percentile(lat, 99):.1f} max {lat[-1]:.1f}"
    )


if __name__ == "__main__":
    main()
