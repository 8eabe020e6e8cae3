#!/usr/bin/env python3
"""The issue 9 targets against this run's figures, as a Markdown table (scripts/bench.sh)."""
import argparse


def rows(path):
    """(label, rate) -> (p50, p99) from loadgen's Markdown rows."""
    out = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1].replace(".", "").isdigit():
            out[(cells[0], float(cells[1]))] = (float(cells[2]), float(cells[3]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", required=True)
    ap.add_argument("--first-br", type=int, required=True)
    ap.add_argument("--ratio", type=float, required=True)
    ap.add_argument("--peak-mib", type=int, required=True)
    ap.add_argument("--startup-ms", type=int, required=True)
    a = ap.parse_args()
    r = rows(a.rows)

    def p99(label, rate):
        v = r.get((label, float(rate)))
        return v[1] if v else None

    def check(value, limit):
        return "n/a" if value is None else ("yes" if value <= limit else "**no**")

    def ms(v):
        return "not reached" if v is None else f"{v:.2f} ms"

    read = p99("read: users/list (SQLite)", 2000)
    write = p99("write: account/update-name (SQLite)", 500)
    ssr = p99("SSR Overview, rising rates", 500)
    admins = p99("SSR Administrators (500 admins, 50 a page)", 100)
    table = [
        ("wasm + JS for the Overview, the first page with any, ≤ 150 KB brotli", f"{a.first_br / 1000:.1f} KB", check(a.first_br, 150_000)),
        ("whole app's wasm ≤ 1.5 × the floor app's", f"{a.ratio:.2f} ×", check(a.ratio, 1.5)),
        ("read p99 ≤ 5 ms at 2,000/s (SQLite)", ms(read), check(read, 5.0)),
        ("write p99 ≤ 20 ms at 500/s (SQLite)", ms(write), check(write, 20.0)),
        ("SSR page p99 ≤ 10 ms at 500/s", ms(ssr), check(ssr, 10.0)),
        ("Administrators page (500 admins) p99 < 10 ms (issue 5), at 100/s", ms(admins), check(admins, 9.999)),
        ("resident memory under load ≤ 150 MB", f"{a.peak_mib} MiB peak", check(a.peak_mib * 1.048576, 150)),
        ("start-up to first 200 ≤ 300 ms", f"{a.startup_ms} ms (slowest of 5)", check(a.startup_ms, 300)),
    ]
    print("| Target | This run | Met |")
    print("|---|---|---|")
    for name, value, met in table:
        print(f"| {name} | {value} | {met} |")


if __name__ == "__main__":
    main()
