"""`weekly bounces` over a big mailbox (issue 24, target 3): 10k and 100k DSNs, time and peak memory.

    python bench/bounces_scale.py                       # SQLite store, 10k and 100k
    COUNTS=10000 STORE=postgresql python bench/bounces_scale.py
    BEFORE=8573a18 python bench/bounces_scale.py        # also weekly at that commit (a git worktree)

An issue (#210) was sent to N readers: the store holds its ledger of N rows. The mbox holds N reports
about those copies, as real MTAs write them, each with a boundary of its own: 70 % hard bounces (Postfix:
5.1.1, the original message quoted as message/rfc822), 15 % delays (Yahoo-style 4.2.2, text/rfc822-headers),
10 % ARF complaints, 5 % forged (a stranger's Message-ID: not applied). Every genuine report quotes its
copy's Message-ID with its tag (tokens.copy_tag), as weekly sends it. Each run is `weekly bounces MBOX` in a
process of its own against a fresh copy of the store, timed from start to exit, with its peak RSS (GNU
time); medians (min–max) of RUNS runs.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, timed_process

sys.path.insert(0, str(ROOT / "tests"))
from pg_server import Postgres

from composer.config import StoreSettings
from composer.deliver.tokens import copy_tag
from composer.models import Subscriber
from composer.store import open_store

RUNS = int(os.environ.get("RUNS", 3))
COUNTS = [int(n) for n in os.environ.get("COUNTS", "10000,100000").split(",")]
STORE = os.environ.get("STORE", "sqlite")
BEFORE = os.environ.get("BEFORE")
KEY = "a-bench-signing-key-that-is-long-enough"
LIST_ID = "dw-weekly.dig.watch"
BODY = ("<p>Dear readers, this week the Radar follows AI rules, cyber incidents and the digital economy. "
        * 30)  # the quoted copy's first kilobytes, as MTAs return them

HARD = """From: MAILER-DAEMON@mx{n}.example.net (Mail Delivery System)
To: bounces@dig.watch
Subject: Undelivered Mail Returned to Sender
Date: Mon, 5 May 2025 14:{minute:02d}:00 +0000
Message-ID: <{boundary}@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="{boundary}"

This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx{n}.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{address}>: host mail.example.org[192.0.2.{n}] said: 550 5.1.1
    <{address}>: Recipient address rejected: User unknown in virtual mailbox table

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx{n}.example.net
X-Postfix-Queue-ID: {queue_id}
Arrival-Date: Mon,  5 May 2025 14:00:03 +0000

Final-Recipient: rfc822; {address}
Original-Recipient: rfc822;{address}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User
    unknown in virtual mailbox table

--{boundary}
Content-Description: Undelivered Message
Content-Type: message/rfc822

From: DW Weekly <newsletter@dig.watch>
To: {address}
Subject: DW Weekly #210
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

{body}

--{boundary}--
"""

DELAYED = """From: MAILER-DAEMON@yahoo.com
To: bounces@dig.watch
Subject: Delayed Mail (still being retried)
Date: Mon, 5 May 2025 18:{minute:02d}:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain

This is an automatically generated message. Delivery to {address} is delayed: the mailbox is full.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; mta{n}.mail.ir2.yahoo.com

Final-Recipient: rfc822; {address}
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full
Will-Retry-Until: Thu, 8 May 2025 14:00:00 +0000

--{boundary}
Content-Type: text/rfc822-headers

Message-ID: {message_id}
To: {address}
Subject: DW Weekly #210

--{boundary}--
"""

COMPLAINT = """From: Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>
To: fbl@dig.watch
Subject: FW: DW Weekly #210
Date: Mon, 5 May 2025 20:{minute:02d}:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.25 on Mon, 5 May 2025.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <bounces@dig.watch>
Original-Rcpt-To: <{address}>
Arrival-Date: Mon, 5 May 2025 14:00:03 +0000
Reported-Domain: dig.watch

--{boundary}
Content-Type: message/rfc822

From: DW Weekly <newsletter@dig.watch>
To: {address}
Subject: DW Weekly #210
Message-ID: {message_id}

(body removed)
--{boundary}--
"""


def mbox(path: Path, rows: list[tuple[int, str]]) -> dict[str, int]:
    """Write one report per ledger row (see the module's docstring); how many of each kind."""
    kinds = {"hard bounce": 0, "soft bounce": 0, "complaint": 0, "not applied": 0}
    with path.open("w", encoding="utf-8") as handle:
        for n, (row, address) in enumerate(rows):
            tag = copy_tag(KEY.encode(), LIST_ID, 210, row, address)
            message_id = f"<{tag}.{secrets.token_hex(4)}@dig.watch>"
            share = n % 20
            if share < 14:
                template, kind = HARD, "hard bounce"
            elif share < 17:
                template, kind = DELAYED, "soft bounce"
            elif share < 19:
                template, kind = COMPLAINT, "complaint"
            else:
                template, kind = HARD, "not applied"
                message_id = f"<{secrets.token_hex(8)}@mail.example.net>"  # a stranger's message
            queue_id = secrets.token_hex(5).upper()
            boundary = f"{queue_id}.{1746453600 + n}/mx{n % 50}.example.net"
            text = template.format(n=n % 50, minute=n % 60, boundary=boundary, queue_id=queue_id, address=address,
                                   message_id=message_id, body=BODY)
            handle.write("From MAILER-DAEMON Mon May  5 14:00:00 2025\n")
            handle.write(re.sub(r"^From ", ">From ", text, flags=re.MULTILINE) + "\n")
            kinds[kind] += 1
    return kinds


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="weekly-bench-bounces-"))
    postgres = Postgres() if STORE == "postgresql" else None
    before = work / "before" if BEFORE else None
    if before:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BEFORE], check=True,
                       capture_output=True)
    contenders = ([(f"weekly at {BEFORE}", before)] if before else []) + [("weekly (this checkout)", ROOT)]
    results: list[tuple[int, str, list[float], int, str]] = []
    try:
        if postgres and not postgres.start():
            raise SystemExit("PostgreSQL is not installed (Debian's postgresql package)")
        for count in COUNTS:
            ledger = work / f"ledger-{count}.sqlite3"
            with open_store(StoreSettings(url=str(ledger)), LIST_ID) as store:
                store.recipients.add(210, (Subscriber(email=f"reader{n}@example.org") for n in range(count)))
                rows = [(row.id, row.address) for row in store.recipients.pending(210, batch=10_000)]
            source = work / f"reports-{count}.mbox"
            kinds = mbox(source, rows)
            expected = ", ".join(f"{number} {kind}" for kind, number in kinds.items())
            print(f"{count} reports ({source.stat().st_size / 1e6:.0f} MB): {expected}", file=sys.stderr, flush=True)
            for name, checkout in contenders:
                times, peak, said = [], 0, ""
                for run in range(RUNS):
                    url = _fresh_store(work, ledger, rows, postgres, f"{count}-{run}")
                    env = {**os.environ, "PYTHONPATH": str(checkout), "WEEKLY_SIGNING_KEY": KEY,
                           "WEEKLY_STORE__URL": url, "WEEKLY_OUTPUT__DIR": str(work / "out")}
                    took, kilobytes = timed_process([sys.executable, "-m", "composer", "bounces", str(source)], 1,
                                                    cwd=checkout, env=env)
                    times += took
                    peak = max(peak, kilobytes)
                    with open_store(StoreSettings(url=url), LIST_ID) as store:
                        said = f"{len(store.suppressions.all())} suppressed"
                print(f"  {name}: {statistics.median(times):.1f} s, {peak / 1024:.0f} MB, {said}", file=sys.stderr,
                      flush=True)
                results.append((count, name, times, peak, said))
    finally:
        if postgres:
            postgres.stop()
        if before:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], capture_output=True)
    print(f"`weekly bounces MBOX`, store {STORE}, median (min–max) of {RUNS} runs; load average at the end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)\n")
    print("| reports | weekly | seconds | reports/s | peak MB | store after |")
    print("| ---: | --- | ---: | ---: | ---: | --- |")
    for count, name, times, peak, said in results:
        median = statistics.median(times)
        print(f"| {count:,} | {name} | {median:.1f} ({min(times):.1f}–{max(times):.1f}) | {count / median:,.0f} | "
              f"{peak / 1024:.0f} | {said} |")


def _fresh_store(work: Path, ledger: Path, rows: list[tuple[int, str]], postgres: Postgres | None,
                 name: str) -> str:
    """A store holding the sent issue's ledger and nothing else (the same row ids as the reports name)."""
    if postgres is None:
        copy = work / f"store-{name}.sqlite3"
        shutil.copyfile(ledger, copy)
        return str(copy)
    url = postgres.schema_url(f"b{name.replace('-', '_')}_{secrets.token_hex(3)}")
    with open_store(StoreSettings(url=url), LIST_ID) as store:
        store.recipients.add(210, (Subscriber(email=address) for _, address in rows))
    return url


if __name__ == "__main__":
    main()
