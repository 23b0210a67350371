"""The store's cost, side by side in one run: `weekly send` of the seeds' issue to the same subscribers and
the same Postfix smtp-sink on 127.0.0.1, with

(a) weekly before the store (commit 9aa64a4, its SQLite ledger): the baseline the store must not fall behind;
(b) today's weekly on the SQLite store;
(c) today's weekly on a PostgreSQL store (a private server on 127.0.0.1, started here like the tests' one);

and the claims alone: one commit of a group of 16 claims (pending -> sending, with RETURNING) plus the 16
results of the group before, as the sender makes them, per backend.

Medians (min–max) of RUNS runs. Needs Debian's postfix and postgresql, and git (for the baseline).

    RUNS=5 SUBSCRIBERS=10000 python bench/store_backends.py
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, smtp_sink, subscriber_list

sys.path.insert(0, str(ROOT / "tests"))
from pg_server import Postgres
from smtp_server import free_port

from composer.config import StoreSettings
from composer.models import RecipientState, Subscriber
from composer.store import open_store
from composer.store.recipients import Change

RUNS = int(os.environ.get("RUNS", 5))
SUBSCRIBERS = int(os.environ.get("SUBSCRIBERS", 10000))
CONNECTIONS = int(os.environ.get("CONNECTIONS", 16))
BASELINE = "9aa64a4"
IDENTITY = {"WEEKLY_SMTP__SENDER": "DW Weekly <newsletter@dig.watch>",
            "WEEKLY_LIST__UNSUBSCRIBE_MAILTO": "unsubscribe@dig.watch"}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="weekly-store-bench-"))
    baseline = work / "baseline"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(baseline), BASELINE], check=True,
                   capture_output=True)
    postgres = Postgres()
    sink = None
    try:
        pg_url = postgres.start()
        if not pg_url:
            raise SystemExit("PostgreSQL is not installed (Debian's postgresql package)")
        subscribers = subscriber_list(work / "subscribers.csv", SUBSCRIBERS)
        port = free_port()
        sink = smtp_sink(port)
        smtp = {"WEEKLY_SIGNING_KEY": "bench-signing-key-0123456789-0123456789", "WEEKLY_SMTP__HOST": "127.0.0.1",
                "WEEKLY_SMTP__PORT": str(port), "WEEKLY_SMTP__SECURITY": "none",
                "WEEKLY_SMTP__CONNECTIONS": str(CONNECTIONS), **IDENTITY}
        rates: dict[str, list[float]] = {}
        for run in range(RUNS):
            for name, source, store_env in (
                    ("(a) before the store: SQLite ledger", baseline, {"WEEKLY_LEDGER__PATH": str(work / f"old-{run}.db")}),
                    ("(b) the store on SQLite", ROOT, {"WEEKLY_STORE__URL": str(work / f"store-{run}.sqlite3")}),
                    ("(c) the store on PostgreSQL", ROOT, {"WEEKLY_STORE__URL": postgres.schema_url(f"b{run}_{secrets.token_hex(3)}")})):
                env = {**os.environ, **smtp, **store_env, "PYTHONPATH": str(source),
                       "WEEKLY_OUTPUT__DIR": str(work / f"out-{run}-{name[1]}")}
                issue = work / f"issue-{run}-{name[1]}"
                _weekly(["build", str(ROOT / "seeds"), "-o", str(issue)], env, source)
                start = time.perf_counter()
                _weekly(["send", str(issue), "--list", str(subscribers), "--yes"], env, source)
                rates.setdefault(name, []).append(SUBSCRIBERS / (time.perf_counter() - start))
        claims = {"SQLite": _claims(str(work / "claims.sqlite3")),
                  "PostgreSQL": _claims(postgres.schema_url(f"claims_{secrets.token_hex(3)}"))}
    finally:
        if sink:
            sink.terminate()
        postgres.stop()
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline)], capture_output=True)
    print(f"{SUBSCRIBERS} messages, {CONNECTIONS} connections, smtp-sink on 127.0.0.1, median (min–max) of {RUNS} "
          "runs (each run: a fresh store, then the send, timed from start to exit)\n")
    print("| `weekly send` | msg/s | vs (a) |")
    print("| --- | ---: | ---: |")
    base = statistics.median(rates["(a) before the store: SQLite ledger"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} ({min(values):.0f}–{max(values):.0f}) | {median / base:.2f}× |")
    print("\n| claims: one commit of 16 claims + 16 results | µs per commit | µs per message |")
    print("| --- | ---: | ---: |")
    for name, values in claims.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} ({min(values):.0f}–{max(values):.0f}) | {median / 16:.1f} |")


def _weekly(args: list[str], env: dict, source: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "composer", *args], cwd=source, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"weekly {args[0]} failed ({source}): {done.stderr[-600:]}")


def _claims(url: str, group: int = 16, rounds: int = 300) -> list[float]:
    """Microseconds per commit, for RUNS batches of `rounds` commits, as the sender's group commit makes them."""
    timings = []
    with open_store(StoreSettings(url=url), "bench.example.org") as store:
        for run in range(RUNS):
            issue = 1000 + run
            store.recipients.add(issue, (Subscriber(email=f"r{n}@example.org") for n in range(group * rounds)))
            ids = [row.id for row in store.recipients.pending(issue)]
            previous: list[Change] = []
            start = time.perf_counter()
            for first in range(0, len(ids), group):
                batch = ids[first:first + group]
                store.recipients.commit(issue, previous, batch)
                previous = [Change(row_id, RecipientState.SENT, "250 ok") for row_id in batch]
            timings.append((time.perf_counter() - start) / rounds * 1e6)
    return timings


if __name__ == "__main__":
    main()
