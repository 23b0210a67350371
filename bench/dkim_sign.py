"""What DKIM signing costs: messages per second with and without it, measured side by side in one run.

(a) MessageTemplate.on_the_wire alone, in this process: the CPU cost of one reader's copy as sent, unsigned,
    signed rsa-sha256 (2048-bit key), ed25519-sha256, and both (the dual signature RFC 8463 suggests);
(b) `weekly send` of the seeds' issue to SUBSCRIBERS generated readers over CONNECTIONS connections to
    Postfix's smtp-sink on 127.0.0.1, with its store, unsigned and signed the same ways;
(c) with BASELINE=COMMIT, (b) as that commit had it (a git worktree), for before/after in one run.

Keys are made by openssl for the run. Median (min–max) of RUNS runs. Needs Debian's postfix (smtp-sink).

    BASELINE=8573a18 .venv/bin/python bench/dkim_sign.py
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import ROOT, baseline, load, weekly_at
from send_throughput import WEEKLY, free_port, run_timed

from composer.config import Settings
from composer.deliver.message import MessageTemplate
from composer.issues import IssueFolder

RUNS = int(os.environ.get("RUNS", 5))
SUBSCRIBERS = int(os.environ.get("SUBSCRIBERS", 3000))
COPIES = int(os.environ.get("COPIES", 2000))
CONNECTIONS = int(os.environ.get("CONNECTIONS", 16))
IDENTITY = {"WEEKLY_SMTP__SENDER": "DW Weekly <newsletter@dig.watch>", "WEEKLY_LIST__UNSUBSCRIBE_MAILTO": "unsubscribe@dig.watch"}


def main() -> None:
    with baseline(os.environ.get("BASELINE")) as before:
        _measure(before)


def _measure(before: Path | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="weekly-dkim-bench-"))
    rsa, ed25519 = work / "rsa.pem", work / "ed25519.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(rsa), "2048"], check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(ed25519)], check=True, capture_output=True)
    variants = {
        "unsigned": [],
        "rsa-sha256": [{"selector": "r", "key_file": str(rsa)}],
        "ed25519-sha256": [{"selector": "e", "key_file": str(ed25519)}],
        "rsa + ed25519": [{"selector": "r", "key_file": str(rsa)}, {"selector": "e", "key_file": str(ed25519)}],
    }
    issue = work / "210"
    env = {**os.environ, **IDENTITY, "WEEKLY_STORE__URL": str(work / "build.sqlite3")}
    subprocess.run([WEEKLY, "build", "-o", str(issue)], cwd=ROOT, check=True, capture_output=True, env=env)
    subscribers = work / "subscribers.csv"
    with subscribers.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name"])
        writer.writerows([f"reader{n}@dig.watch", f"Reader {n}"] for n in range(SUBSCRIBERS))
    copies: dict[str, list[float]] = {}
    sends: dict[str, list[float]] = {}
    old: dict[str, list[float]] = {}
    loads = [load()]
    port = free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        for run in range(RUNS):
            for name, keys in variants.items():
                copies.setdefault(name, []).append(_copies_per_second(issue, keys))
                sends.setdefault(name, []).append(_send_rate(issue, keys, subscribers, port, work / f"{run}-{len(keys)}-{name[:3]}"))
                if before:
                    old.setdefault(name, []).append(_send_rate(issue, keys, subscribers, port,
                                                               work / f"{run}-{len(keys)}-{name[:3]}-before", before))
            loads.append(load())
    finally:
        sink.terminate()
    size = len((issue / "issue.eml").read_bytes()) / 1024
    print(f"The seeds' issue ({size:.0f} KB a copy); (a) {COPIES} copies in process, (b) `weekly send` to {SUBSCRIBERS} "
          f"readers over {CONNECTIONS} connections to smtp-sink on 127.0.0.1; median (min–max) of {RUNS} runs; load "
          f"average (1, 5, 15 min) before and after each run: {' | '.join(loads)}\n")
    then = f" (c) msg/s at {os.environ.get('BASELINE')} | (b) / (c) |" if before else ""
    print(f"| signing | (a) copies/s, on_the_wire only | (b) msg/s, weekly send | (b) against unsigned |{then}")
    print("| --- | ---: | ---: | ---: |" + (" ---: | ---: |" if before else ""))
    base = statistics.median(sends["unsigned"])
    for name in variants:
        row = f"| {name} | {_summary(copies[name])} | {_summary(sends[name])} | {statistics.median(sends[name]) / base:.0%} |"
        if before:
            row += f" {_summary(old[name])} | {statistics.median(sends[name]) / statistics.median(old[name]):.1f}× |"
        print(row)


def _copies_per_second(issue: Path, keys: list[dict]) -> float:
    settings = Settings(dkim={"domain": "dig.watch", "keys": keys} if keys else {}, smtp={"sender": IDENTITY["WEEKLY_SMTP__SENDER"]})
    template = MessageTemplate(IssueFolder(issue), settings.mail, 210)
    start = time.perf_counter()
    for number in range(COPIES):
        template.on_the_wire(f"reader{number}@dig.watch", f"Reader {number}", "T" * 60, f"210.{number}")
    return COPIES / (time.perf_counter() - start)


def _send_rate(issue: Path, keys: list[dict], subscribers: Path, port: int, work: Path,
               source: Path | None = None) -> float:
    """A fresh copy of the issue and a fresh store per run: a sent issue is never sent again. `source`: the
    checkout whose code sends (None: this one)."""
    folder = work / "210"
    shutil.copytree(issue, folder)
    env = {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": "bench-signing-key-0123456789-0123456789",
           "WEEKLY_SMTP__HOST": "127.0.0.1", "WEEKLY_SMTP__PORT": str(port), "WEEKLY_SMTP__SECURITY": "none",
           "WEEKLY_SMTP__CONNECTIONS": str(CONNECTIONS), "WEEKLY_STORE__URL": str(work / "store.sqlite3"),
           "WEEKLY_LOG__FILE": str(work / "weekly.log")}
    if keys:
        env.update(WEEKLY_DKIM__DOMAIN="dig.watch", WEEKLY_DKIM__KEYS=json.dumps(keys))
    command, cwd = [WEEKLY], ROOT
    if source:
        command, env = weekly_at(source, env)
        cwd = source
    elapsed, _ = run_timed([*command, "send", str(folder), "--list", str(subscribers), "--yes"], env=env, cwd=cwd)
    return SUBSCRIBERS / elapsed


def _summary(rates: list[float]) -> str:
    return f"{statistics.median(rates):.0f} ({min(rates):.0f}–{max(rates):.0f})"


if __name__ == "__main__":
    main()
