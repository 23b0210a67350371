"""Send a rendered issue to a mailing list, exactly once per subscriber, resumably.

`send_issue` reads the issue folder (issue.yaml for its number and subject, the checked index.html and
issue.txt as they are), puts the list into the ledger (duplicates and suppressed addresses drop out
there), asks `confirm` with the plan, then hands the pending rows to the SMTP pool. Rows a killed run
left half-done are reported as unknown first. A second run of the same issue sends only what is still
pending (`retry_failed` adds the failed ones).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from composer.config import Settings
from composer.deliver.ledger import Ledger
from composer.deliver.message import MessageTemplate
from composer.deliver.smtp import Callbacks, Job, SendStopped, deliver
from composer.deliver.subscribers import Subscriber, read_subscribers, valid_address
from composer.deliver.tokens import sign
from composer.draft import read_draft
from composer.errors import WeeklyError
from composer.models import RenderedIssue

_SHOWN_INVALID = 100
# A 5xx reply with an enhanced status 5.1.x: the mailbox does not exist or is unusable, for good.
# A plain 550 may be policy (spam filtering), so only these suppress the address for later issues.
_MAILBOX_GONE = re.compile(r"^5\d\d 5\.1\.\d")


class SendOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    list_file: Path | None = None
    to: str | None = None  # one list address (Mailman, Sympa) instead of a subscriber file
    dry_run: bool = False
    limit: int | None = None
    test_to: str | None = None
    retry_failed: bool = False


class Plan(BaseModel):
    """What a send is about to do, for the user to confirm."""

    model_config = ConfigDict(frozen=True)

    issue: str
    subject: str
    server: str
    to_send: int
    already: dict[str, int]
    invalid: int


class SendReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan: Plan | None = None
    sent_now: int = 0
    counts: dict[str, int] = {}
    recovered_unknown: int = 0
    invalid_rows: tuple[str, ...] = ()
    stopped: str | None = None
    cancelled: bool = False


def send_issue(folder: Path, settings: Settings, options: SendOptions, confirm: Callable[[Plan], bool],
               progress: Callable[[int, int], None] = lambda done, total: None) -> SendReport:
    """Send the issue in `folder` as `options` say; returns what happened."""
    draft = read_draft(folder / "issue.yaml")
    issue = str(draft.number)
    rendered = _rendered(folder, f"{settings.brand.name} #{draft.number} – {draft.headline}")
    key = _signing_key(settings, needed=not options.dry_run)
    template = None if options.dry_run else MessageTemplate(
        rendered, settings.smtp.sender, settings.brand.unsubscribe_url, settings.list.id, settings.list.name,
        settings.list.unsubscribe_mailto)
    server = f"{settings.smtp.host}:{settings.smtp.port} ({settings.smtp.security})"
    if options.test_to:
        return _send_test(options.test_to, template, key, settings, issue, rendered.subject, server, confirm)
    ledger = Ledger(settings.ledger.path)
    try:
        recovered = 0 if options.dry_run else ledger.recover(issue)
        invalid = _Invalid()
        if options.dry_run:
            with ledger.dry_run():
                plan = _load(ledger, issue, options, invalid, rendered.subject, server)
            return SendReport(plan=plan, counts=ledger.counts(issue), invalid_rows=tuple(invalid.shown))
        if options.retry_failed:
            ledger.retry_failed(issue)
        plan = _load(ledger, issue, options, invalid, rendered.subject, server)
        shown_invalid = tuple(invalid.shown)
        if plan.to_send == 0 or not confirm(plan):
            return SendReport(plan=plan, counts=ledger.counts(issue), recovered_unknown=recovered,
                              invalid_rows=shown_invalid, cancelled=plan.to_send > 0)
        sent, stopped = _run(ledger, issue, template, key, settings, plan.to_send, options.limit, progress)
        return SendReport(plan=plan, sent_now=sent, counts=ledger.counts(issue), recovered_unknown=recovered,
                          invalid_rows=shown_invalid, stopped=stopped)
    finally:
        ledger.close()


def _load(ledger: Ledger, issue: str, options: SendOptions, invalid: _Invalid, subject: str, server: str) -> Plan:
    if options.to:
        if not valid_address(options.to):
            raise WeeklyError(f"--to {options.to!r} is not a valid address")
        subscribers = iter([Subscriber(email=options.to)])
    elif options.list_file:
        subscribers = _valid_rows(options.list_file, invalid)
    else:
        raise WeeklyError("say who receives the issue: --list FILE (a CSV with an email column) or --to ADDRESS")
    ledger.add(issue, subscribers)
    counts = ledger.counts(issue)
    to_send = counts["pending"] if options.limit is None else min(counts["pending"], options.limit)
    already = {state: count for state, count in counts.items() if state != "pending" and count}
    return Plan(issue=issue, subject=subject, server=server, to_send=to_send, already=already, invalid=invalid.count)


class _Invalid:
    """Invalid rows: all counted, the first ones kept to show (a million bad rows must not fill memory)."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[str] = []

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.shown) < _SHOWN_INVALID:
            self.shown.append(message)


def _valid_rows(path: Path, invalid: _Invalid):
    for line, row in read_subscribers(path):
        if isinstance(row, str):
            invalid.add(f"{path}:{line}: {row}")
        else:
            yield row


def _run(ledger: Ledger, issue: str, template: MessageTemplate, key: bytes, settings: Settings, total: int,
         limit: int | None, progress) -> tuple[int, str | None]:
    settled = {"count": 0, "sent": 0}
    commits = _GroupCommit(ledger)

    def done(job: Job, state: str, reply: str) -> None:
        commits.add((job.rowid, state, reply))
        if state == "failed" and _MAILBOX_GONE.match(reply):
            ledger.suppress(job.address, f"permanent bounce: {reply}")
        settled["count"] += 1
        settled["sent"] += state == "sent"
        progress(settled["count"], total)

    callbacks = Callbacks(
        sending=lambda job: commits.durable((job.rowid, "sending", None)),
        retrying=lambda job, reply: commits.add((job.rowid, "pending", reply)),
        done=done,
    )
    rows = ledger.pending(issue)
    jobs = (Job(rowid, address, name) for rowid, address, name in itertools.islice(rows, limit))
    try:
        asyncio.run(deliver(jobs, _message_for(template, key, settings, issue), _envelope(settings), settings.smtp,
                            _password(settings), callbacks))
    except SendStopped as stop:
        return settled["sent"], str(stop)
    finally:
        commits.flush()
    return settled["sent"], None


class _GroupCommit:
    """Ledger changes committed together: every `sending` mark asked for in one turn of the event loop
    shares a single commit, and each waits for it before its DATA goes out (a kill then leaves the row
    `sending`, so unknown, never resent). Results and retries ride along with the next commit."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.changes: list[tuple[int, str, str | None]] = []
        self.waiting: list[asyncio.Future] = []

    def add(self, change: tuple[int, str, str | None]) -> None:
        self.changes.append(change)

    async def durable(self, change: tuple[int, str, str | None]) -> None:
        loop = asyncio.get_running_loop()
        if not self.waiting:
            loop.call_soon(self.flush)
        committed = loop.create_future()
        self.waiting.append(committed)
        self.changes.append(change)
        await committed

    def flush(self) -> None:
        changes, waiting = self.changes, self.waiting
        self.changes, self.waiting = [], []
        if changes:
            self.ledger.apply(changes)
        for committed in waiting:
            if not committed.done():
                committed.set_result(None)


def _send_test(address: str, template: MessageTemplate, key: bytes, settings: Settings, issue: str, subject: str,
               server: str, confirm) -> SendReport:
    """One copy to `address`, outside the ledger: for the editor's own inbox."""
    if not valid_address(address):
        raise WeeklyError(f"--test-to {address!r} is not a valid address")
    plan = Plan(issue=issue, subject=subject, server=server, to_send=1, already={}, invalid=0)
    if not confirm(plan):
        return SendReport(plan=plan, cancelled=True)
    outcome: dict[str, str] = {}
    callbacks = Callbacks(sending=_nothing, retrying=lambda job, reply: None,
                          done=lambda job, state, reply: outcome.update(state=state, reply=reply))
    try:
        asyncio.run(deliver([Job(None, address, "")], _message_for(template, key, settings, issue),
                            _envelope(settings), settings.smtp, _password(settings), callbacks))
    except SendStopped as stop:
        return SendReport(plan=plan, stopped=str(stop))
    if outcome.get("state") != "sent":
        raise WeeklyError(f"test copy to {address} {outcome.get('state', 'not sent')}: {outcome.get('reply', '')}")
    return SendReport(plan=plan, sent_now=1)


async def _nothing(job: Job) -> None:
    """--test-to keeps no ledger."""


def _message_for(template: MessageTemplate, key: bytes, settings: Settings, issue: str):
    domain_free_prefix = f"{issue}.{secrets.token_hex(4)}"

    def message_for(job: Job) -> bytes:
        token = sign(job.address, settings.list.id, key)
        message_id = f"{domain_free_prefix}.{job.rowid if job.rowid is not None else 'test'}.{secrets.token_hex(4)}"
        return template.personalise(job.address, job.name, token, message_id)

    return message_for


def _rendered(folder: Path, subject: str) -> RenderedIssue:
    try:
        html = (folder / "index.html").read_text(encoding="utf-8")
        text = (folder / "issue.txt").read_text(encoding="utf-8")
    except OSError as err:
        raise WeeklyError(f"{folder}: the rendered issue is incomplete ({err.strerror or err}); run `weekly render "
                          f"{folder}/issue.yaml -o {folder}`") from err
    return RenderedIssue(subject=subject, mjml="", html=html, text=text, web_html="")


def _signing_key(settings: Settings, needed: bool) -> bytes:
    if settings.signing_key:
        return settings.signing_key.get_secret_value().encode()
    if needed:
        raise WeeklyError("no signing key for unsubscribe links: set WEEKLY_SIGNING_KEY to a long random string "
                          "(e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return b""


def _envelope(settings: Settings) -> str:
    return parseaddr(settings.smtp.sender)[1]


def _password(settings: Settings) -> str | None:
    return settings.smtp.password.get_secret_value() if settings.smtp.password else None
