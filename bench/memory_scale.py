"""Memory at scale: a generated list of 1,000,000 subscribers through `weekly send --dry-run` and through a
real send to Postfix's smtp-sink on 127.0.0.1. Peak RSS (target < 250 MB) and the ledger's insert rate.

The real send stops after LIMIT messages (default 100,000, about three minutes here): every one of the
million rows is still read, validated and inserted into the ledger first, and memory does not grow with
the number sent (rows are streamed from the ledger in batches of 500), so the peak is that of the
whole list. Set LIMIT=1000000 to send them all (about half an hour).

    python bench/memory_scale.py
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, timed_process

SUBSCRIBERS = int(os.environ.get("SUBSCRIBERS", 1_000_000))
LIMIT = int(os.environ.get("LIMIT", 100_000))
WEEKLY = str(Path(sys.executable).parent / "weekly")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="weekly-memory-"))
    issue = work / "210"
    subprocess.run([WEEKLY, "build", "-o", str(issue)], cwd=ROOT, check=True, capture_output=True)
    listing = work / "subscribers.csv"
    with listing.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "country"])
        writer.writerows([f"reader{n}@example.org", f"Reader {n}", "CH"] for n in range(SUBSCRIBERS))
    port = 2700 + os.getpid() % 200
    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    env = {**os.environ, "WEEKLY_SIGNING_KEY": "bench-signing-key-0123456789", "WEEKLY_SMTP__HOST": "127.0.0.1",
           "WEEKLY_SMTP__PORT": str(port), "WEEKLY_SMTP__SECURITY": "none", "WEEKLY_SMTP__CONNECTIONS": "16",
           "WEEKLY_LEDGER__PATH": str(work / "ledger.sqlite3")}
    rows = []
    try:
        times, peak = _timed([WEEKLY, "send", str(issue), "--list", str(listing), "--dry-run"], env)
        rows.append(("`send --dry-run` (read, validate, insert, roll back)", times, peak, SUBSCRIBERS / times))
        times, peak = _timed([WEEKLY, "send", str(issue), "--list", str(listing), "--yes", "--limit", str(LIMIT)], env)
        rows.append((f"`send --yes --limit {LIMIT}` (insert all, send {LIMIT})", times, peak, None))
    finally:
        sink.terminate()
    sent = sqlite3.connect(work / "ledger.sqlite3").execute(
        "SELECT count(*) FROM recipients WHERE state='sent'").fetchone()[0]
    print(f"{SUBSCRIBERS} subscribers ({listing.stat().st_size / 1e6:.0f} MB CSV), smtp-sink on 127.0.0.1\n")
    print("| run | wall s | peak RSS MB | list rows/s |")
    print("| --- | ---: | ---: | ---: |")
    for name, wall, peak, rate in rows:
        print(f"| {name} | {wall:.1f} | {peak / 1024:.0f} | {f'{rate:,.0f}' if rate else ''} |")
    print(f"\nsent {sent} (ledger), ledger file {(work / 'ledger.sqlite3').stat().st_size / 1e6:.0f} MB")


def _timed(command: list[str], env: dict) -> tuple[float, int]:
    times, peak = timed_process(command, 1, env=env)
    return times[0], peak


if __name__ == "__main__":
    main()
