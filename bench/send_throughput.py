"""Send throughput, side by side in one run, all to Postfix's smtp-sink on 127.0.0.1:

(a) Postfix's smtp-source, same message size and connections: the machine's limit for this sink;
(b) bench/send_floor.py: aiosmtplib sending pre-serialised bytes, no ledger (it re-normalises each copy);
(b') bench/send_floor.py raw: asyncio streams, the body CRLF-normalised and dot-stuffed once, no ledger:
     the floor for one Python process;
(c) mailmerge 2.3 (its own venv, MAILMERGE=/path/to/mailmerge), same list, one connection a message;
(d) `weekly send` with its ledger, the seeds' issue, to the same 10,000 generated subscribers;
(e) with BASELINE=COMMIT, the same `weekly send` as that commit had it (a git worktree), for before/after;
(f) with DKIM=1, (d) again with each copy signed rsa-sha256 (a 2048-bit key openssl makes for the run), and (e)
    signed too when BASELINE is set.

Messages per second and peak RSS, median (min–max) of RUNS runs. Needs Debian's postfix installed.

    MAILMERGE=/tmp/mmvenv/bin/mailmerge BASELINE=8573a18 DKIM=1 python bench/send_throughput.py
"""

from __future__ import annotations

import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, baseline, load, smtp_sink, subscriber_list, weekly_at

from composer.config import Settings
from composer.deliver.message import MessageTemplate
from composer.issues import IssueFolder

RUNS = int(os.environ.get("RUNS", 5))
SUBSCRIBERS = int(os.environ.get("SUBSCRIBERS", 10000))
MAILMERGE_SUBSCRIBERS = int(os.environ.get("MAILMERGE_SUBSCRIBERS", SUBSCRIBERS))
CONNECTIONS = int(os.environ.get("CONNECTIONS", 16))
DKIM = os.environ.get("DKIM") == "1"
WEEKLY = str(Path(sys.executable).parent / "weekly")
RAW_FLOOR = "(b') raw asyncio floor, body prepared once"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_timed(command: list[str], env: dict | None = None, cwd: Path = ROOT) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stdout[-400:]} {done.stderr[-800:]}")
    return elapsed, int(done.stderr.strip().splitlines()[-1])


def main() -> None:
    with baseline(os.environ.get("BASELINE")) as before:
        _measure(before)


def _measure(before: Path | None) -> None:
    work = Path(tempfile.mkdtemp(prefix="weekly-bench-"))
    issue = work / "210"
    subprocess.run([WEEKLY, "build", "-o", str(issue)], cwd=ROOT, check=True, capture_output=True)
    settings = Settings()
    template = MessageTemplate(IssueFolder(issue), settings.mail, 210)
    raw = template.personalise("reader0@example.org", "Reader 0", "T" * 60, "id.0")
    (work / "message.eml").write_bytes(raw)
    size = len(raw)
    subscribers = subscriber_list(work / "subscribers.csv", SUBSCRIBERS)
    port = free_port()
    sink = smtp_sink(port)
    mailmerge = _mailmerge_files(work, port, size)
    signed = {}
    if DKIM:
        subprocess.run(["openssl", "genrsa", "-out", str(work / "rsa.pem"), "2048"], check=True, capture_output=True)
        signed = {"WEEKLY_DKIM__DOMAIN": "dig.watch",
                  "WEEKLY_DKIM__KEYS": f'[{{"selector": "r", "key_file": "{work / "rsa.pem"}"}}]'}
    results: dict[str, list[tuple[float, int]]] = {}
    loads = [load()]
    try:
        for run in range(RUNS):
            results.setdefault("(a) smtp-source", []).append(_rate(SUBSCRIBERS, run_timed(
                ["smtp-source", "-d", "-s", str(CONNECTIONS), "-m", str(SUBSCRIBERS), "-l", str(size),
                 "-f", "newsletter@example.org", "-t", "reader@example.org", f"127.0.0.1:{port}"])))
            results.setdefault("(b) aiosmtplib floor, no ledger", []).append(_rate(SUBSCRIBERS, run_timed(
                [sys.executable, str(ROOT / "bench" / "send_floor.py"), "127.0.0.1", str(port), str(CONNECTIONS),
                 str(SUBSCRIBERS), str(work / "message.eml")])))
            results.setdefault(RAW_FLOOR, []).append(_rate(SUBSCRIBERS, run_timed(
                [sys.executable, str(ROOT / "bench" / "send_floor.py"), "127.0.0.1", str(port), str(CONNECTIONS),
                 str(SUBSCRIBERS), str(work / "message.eml"), "raw"])))
            env = {**os.environ, "WEEKLY_SIGNING_KEY": "bench-signing-key-0123456789-long-enough",
                   "WEEKLY_SMTP__HOST": "127.0.0.1", "WEEKLY_SMTP__PORT": str(port), "WEEKLY_SMTP__SECURITY": "none",
                   "WEEKLY_SMTP__SENDER": "DW Weekly <newsletter@dig.watch>",
                   "WEEKLY_LIST__UNSUBSCRIBE_MAILTO": "unsubscribe@dig.watch",
                   "WEEKLY_SMTP__CONNECTIONS": str(CONNECTIONS), "WEEKLY_STORE__URL": str(work / f"store-{run}.db")}
            (issue / "delivery.json").unlink(missing_ok=True)  # each run has a store of its own
            results.setdefault("(d) weekly send, ledger on", []).append(_rate(SUBSCRIBERS, run_timed(
                [WEEKLY, "send", str(issue), "--list", str(subscribers), "--yes"], env=env)))
            if before:
                (issue / "delivery.json").unlink(missing_ok=True)
                command, old_env = weekly_at(before, {**env, "WEEKLY_STORE__URL": str(work / f"before-{run}.db")})
                results.setdefault(f"(e) weekly send at {os.environ['BASELINE']}", []).append(_rate(SUBSCRIBERS, run_timed(
                    [*command, "send", str(issue), "--list", str(subscribers), "--yes"], env=old_env, cwd=before)))
            if signed:
                (issue / "delivery.json").unlink(missing_ok=True)
                results.setdefault("(f) weekly send, DKIM rsa-sha256", []).append(_rate(SUBSCRIBERS, run_timed(
                    [WEEKLY, "send", str(issue), "--list", str(subscribers), "--yes"],
                    env={**env, **signed, "WEEKLY_STORE__URL": str(work / f"signed-{run}.db")})))
            if signed and before:
                (issue / "delivery.json").unlink(missing_ok=True)
                command, old_env = weekly_at(before, {**env, **signed, "WEEKLY_STORE__URL": str(work / f"signed-before-{run}.db")})
                results.setdefault(f"(f) weekly send at {os.environ['BASELINE']}, DKIM rsa-sha256", []).append(_rate(
                    SUBSCRIBERS, run_timed([*command, "send", str(issue), "--list", str(subscribers), "--yes"],
                                           env=old_env, cwd=before)))
            if mailmerge:
                results.setdefault("(c) mailmerge 2.3", []).append(_rate(MAILMERGE_SUBSCRIBERS, run_timed(mailmerge, cwd=work)))
            loads.append(load())
    finally:
        sink.terminate()
    medians = {name: statistics.median(rate for rate, _ in rows) for name, rows in results.items()}
    print(f"{SUBSCRIBERS} messages of {size / 1024:.0f} KB (mailmerge: {MAILMERGE_SUBSCRIBERS}), {CONNECTIONS} "
          f"connections, smtp-sink on 127.0.0.1, median (min–max) of {RUNS} runs; load average (1, 5, 15 min) "
          f"before and after each run: {' | '.join(loads)}\n")
    print("| sender | msg/s | peak RSS MB |")
    print("| --- | ---: | ---: |")
    for name in sorted(results):
        rates = [rate for rate, _ in results[name]]
        peak = max(rss for _, rss in results[name]) / 1024
        print(f"| {name} | {medians[name]:.0f} ({min(rates):.0f}–{max(rates):.0f}) | {peak:.0f} |")
    weekly = medians["(d) weekly send, ledger on"]
    print(f"\nweekly / smtp-source (a): {weekly / medians['(a) smtp-source']:.2f}× (target ≥ 0.5×)")
    print(f"weekly / raw floor (b'): {weekly / medians[RAW_FLOOR]:.2f}×")
    print(f"weekly / aiosmtplib floor (b): {weekly / medians['(b) aiosmtplib floor, no ledger']:.2f}×")
    for name in results:
        if name.startswith("(e)"):
            print(f"weekly / {name[4:]}: {weekly / medians[name]:.2f}×; then / smtp-source (a): "
                  f"{medians[name] / medians['(a) smtp-source']:.2f}×, / raw floor (b'): {medians[name] / medians[RAW_FLOOR]:.2f}×")
    for name in results:
        if name.startswith("(f)"):
            print(f"{name[4:]} / smtp-source (a): {medians[name] / medians['(a) smtp-source']:.2f}×; "
                  f"/ unsigned (d): {medians[name] / weekly:.2f}×")
    if mailmerge:
        print(f"weekly / mailmerge (c): {weekly / medians['(c) mailmerge 2.3']:.1f}x (target ≥ 6x)")


def _rate(messages: int, timed: tuple[float, int]) -> tuple[float, int]:
    elapsed, rss = timed
    return messages / elapsed, rss


def _mailmerge_files(work: Path, port: int, size: int) -> list[str] | None:
    """mailmerge's template, database and server config for the same list and about the same size."""
    binary = os.environ.get("MAILMERGE")
    if not binary:
        return None
    body = ("DW Weekly, the week in digital policy. " * (size // 40 + 1))[:size]
    (work / "mailmerge_template.txt").write_text(
        "TO: {{email}}\nSUBJECT: DW Weekly #210\nFROM: newsletter@example.org\n\n" + body + "\n", encoding="utf-8")
    with (work / "mailmerge_database.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email"])
        writer.writerows([f"reader{n}@example.org"] for n in range(MAILMERGE_SUBSCRIBERS))
    (work / "mailmerge_server.conf").write_text(
        f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\nsecurity = Never\nusername = None\nratelimit = 0\n",
        encoding="utf-8")
    return [binary, "--no-dry-run", "--no-limit", "--template", "mailmerge_template.txt",
            "--database", "mailmerge_database.csv", "--config", "mailmerge_server.conf"]


if __name__ == "__main__":
    main()
