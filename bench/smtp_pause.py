"""Time to pause against a failing SMTP server, at the default settings (issue 19, point 9).

    python bench/smtp_pause.py [READERS] [SCENARIO...]

Scenarios: `stall` (the server says nothing after DATA), `drop` (it hangs up at DATA, before its 354),
`421` (it answers 421 to every RCPT). For each: the wall time from the start of the send until it pauses,
and where the readers were left (pending: nothing went out; unknown: never resent automatically). The
`stall` scenario waits out real 60-second timeouts: it takes minutes. The server is tests/smtp_server.py's
ScriptedServer; the store a temporary SQLite file.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _common import ROOT

sys.path.insert(0, str(ROOT / "tests"))

from smtp_server import ScriptedServer

from composer.config import Settings
from composer.deliver.send import SendOptions, send_issue
from composer.issues import IssueFolder
from composer.pipeline import ComposeOptions, build
from composer.store import open_store

SCENARIOS = {"stall": {"at_data": "stall"}, "drop": {"at_data": "drop"},
             "421": {"rcpt_reply": "421 4.3.2 Service shutting down"}}


def main(readers: int, names: list[str]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="weekly-bench-pause-"))
    os.environ["WEEKLY_STORE__URL"] = str(folder / "store.sqlite3")
    os.environ["WEEKLY_SIGNING_KEY"] = "a-bench-signing-key-that-is-long-enough"
    issue = folder / "out" / "210"
    build([ROOT / "seeds"], issue, Settings(), ComposeOptions(), date(2026, 11, 22))
    subscribers = folder / "list.csv"
    subscribers.write_text("email\n" + "".join(f"reader{n}@example.org\n" for n in range(readers)))
    print(f"| scenario ({readers} readers, default timeouts) | time to pause (s) | pending | unknown | sent |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for number, name in enumerate(names):
        with ScriptedServer(**SCENARIOS[name]) as server:
            settings = Settings(smtp={"host": "127.0.0.1", "port": server.port, "security": "none"},
                                list={"id": f"bench-{number}.example.org"})
            started = time.monotonic()
            with open_store(settings.store, settings.list.id) as store:
                report = send_issue(IssueFolder(issue), store, settings.mail, SendOptions(list_file=subscribers),
                                    lambda plan: True)
            took = time.monotonic() - started
        counts = report.counts
        print(f"| {name} | {took:.1f} | {counts['pending']} | {counts['unknown']} | {counts['sent']} |", flush=True)


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    main(count, sys.argv[2:] or list(SCENARIOS))
