"""Send a rendered issue to a mailing list, exactly once per subscriber, resumably.

`send_issue` takes the built issue (its number, and the checked email and text part as they are on
disk), puts the list into the ledger (duplicates and suppressed addresses drop out
there), asks `confirm` with the plan, then hands the pending rows to the SMTP pool. Rows a killed run
left half-done are reported as unknown first. A second run of the same issue sends only what is still
pending (`retry_failed` adds the failed ones, `retry_unknown` those whose outcome is unknown: they may
get a second copy). Only one process sends an issue at a time (a lock next to the ledger).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import Callable, Iterator
from email.utils import parseaddr
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from composer.config import MailSettings
from composer.deliver.ledger import Change, Ledger, LedgerError
from composer.deliver.message import MessageTemplate
from composer.deliver.smtp import Callbacks, Job, SendStopped, deliver
from composer.deliver.subscribers import Subscriber, read_subscribers, valid_address
from composer.deliver.tokens import sign
from composer.errors import WeeklyError
from composer.issues import IssueFolder
from composer.locks import exclusive
from composer.models import Plan, Problem, SendReport
from composer.models import RecipientState as State

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
    retry_unknown: bool = False  # may send a second copy: the first may have arrived


def send_issue(built: IssueFolder, mail: MailSettings, options: SendOptions, confirm: Callable[[Plan], bool],
               progress: Callable[[int, int], None] = lambda done, total: None) -> SendReport:
    """Send the built issue as `options` say; returns what happened."""
    issue = str(built.number)
    subject = built.subject
    key = _signing_key(mail, needed=not options.dry_run)
    server = f"{mail.smtp.host}:{mail.smtp.port} ({mail.smtp.security})"
    if options.dry_run:
        return _dry_run(mail, issue, options, subject, server)
    template = MessageTemplate(built, mail, issue, one_click=not options.to)
    if options.test_to:
        return _send_test(options.test_to, template, key, mail, issue, subject, server, confirm)
    lock = mail.ledger.path.parent / f"send-{issue}.lock"
    refusal = (f"another `weekly send` of issue {issue} is running (pid {{pid}}); it sends to everyone pending, "
               f"so nothing was sent from here: follow it with `weekly status {built.path}`")
    with exclusive(lock, refusal):
        return _send_list(built, mail, options, issue, subject, server, template, key, confirm, progress)


def _send_list(built: IssueFolder, mail: MailSettings, options: SendOptions, issue: str, subject: str, server: str,
               template: MessageTemplate, key: bytes, confirm: Callable[[Plan], bool],
               progress: Callable[[int, int], None]) -> SendReport:
    """The send proper, under the issue's lock: no other process sends this issue meanwhile."""
    with Ledger.at(mail.ledger) as ledger:
        recovered = ledger.recover(issue)
        invalid = _Invalid()
        if options.retry_failed:
            ledger.requeue(issue, State.FAILED)
        if options.retry_unknown:
            ledger.requeue(issue, State.UNKNOWN)
        plan = _load(ledger, issue, options, invalid, subject, server)
        shown_invalid = tuple(invalid.shown)
        if plan.to_send == 0 or not confirm(plan):
            return SendReport(plan=plan, counts=ledger.counts(issue), recovered_unknown=recovered,
                              invalid_rows=shown_invalid, cancelled=plan.to_send > 0)
        run = _run(ledger, issue, template, key, mail, plan.to_send, options.limit, progress)
        return SendReport(plan=plan, sent_now=run.sent, counts=ledger.counts(issue), recovered_unknown=recovered,
                          invalid_rows=shown_invalid, stopped=run.stopped)


def _dry_run(mail: MailSettings, issue: str, options: SendOptions, subject: str, server: str) -> SendReport:
    """The plan, with the list loaded into the ledger inside a transaction that is rolled back."""
    with Ledger.at(mail.ledger) as ledger:
        invalid = _Invalid()
        with ledger.dry_run():
            plan = _load(ledger, issue, options, invalid, subject, server)
        return SendReport(plan=plan, counts=ledger.counts(issue), invalid_rows=tuple(invalid.shown))


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
    pending = counts[State.PENDING]
    to_send = pending if options.limit is None else min(pending, options.limit)
    already = {state: count for state, count in counts.items() if state is not State.PENDING and count}
    return Plan(issue=issue, subject=subject, server=server, to_send=to_send, already=already, invalid=invalid.count)


class _Invalid:
    """Invalid rows: all counted, the first ones kept to show (a million bad rows must not fill memory)."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.shown) < _SHOWN_INVALID:
            self.shown.append(problem)


def _valid_rows(path: Path, invalid: _Invalid) -> Iterator[Subscriber]:
    for row in read_subscribers(path):
        if isinstance(row, Problem):
            invalid.add(row)
        else:
            yield row


class _Run(BaseModel):
    model_config = ConfigDict(frozen=True)

    sent: int
    stopped: str | None = None


def _run(ledger: Ledger, issue: str, template: MessageTemplate, key: bytes, mail: MailSettings, total: int,
         limit: int | None, progress: Callable[[int, int], None]) -> _Run:
    settled = {"count": 0, "sent": 0}
    commits = _GroupCommit(ledger)

    def done(job: Job, state: State, reply: str) -> None:
        commits.add(Change(_rowid(job), state, reply))
        if state is State.FAILED and _MAILBOX_GONE.match(reply):
            ledger.suppress(job.address, f"hard bounce: {reply}")
        settled["count"] += 1
        settled["sent"] += state is State.SENT
        progress(settled["count"], total)

    callbacks = Callbacks(
        sending=lambda job: commits.durable(Change(_rowid(job), State.SENDING, None)),
        retrying=lambda job, reply: commits.add(Change(_rowid(job), State.PENDING, reply)),
        done=done,
    )
    jobs = (Job(row.rowid, row.address, row.name) for row in itertools.islice(ledger.pending(issue), limit))
    stopped: Exception | None = None
    try:
        asyncio.run(deliver(jobs, _message_for(template, key, mail, issue), _envelope(mail), mail.smtp,
                            _password(mail), callbacks))
    except (SendStopped, LedgerError) as stop:
        stopped = stop
    finally:
        commits.flush()  # the results already in, even when Ctrl-C or SIGTERM ends the run
    failure = commits.failure or stopped
    return _Run(sent=settled["sent"], stopped=str(failure) if failure else None)


def _rowid(job: Job) -> int:
    assert job.rowid is not None, "only --test-to sends jobs outside the ledger, and it records nothing"
    return job.rowid


class _GroupCommit:
    """Ledger changes committed together: every `sending` mark asked for in one turn of the event loop
    shares a single commit, and each waits for it before its DATA goes out (a kill then leaves the row
    `sending`, so unknown, never resent). Results and retries ride along with the next commit."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.changes: list[Change] = []
        self.waiting: list[asyncio.Future] = []
        self.failure: LedgerError | None = None

    def add(self, change: Change) -> None:
        self.changes.append(change)

    async def durable(self, change: Change) -> None:
        if self.failure:
            raise self.failure
        loop = asyncio.get_running_loop()
        if not self.waiting:
            loop.call_soon(self.flush)
        committed = loop.create_future()
        self.waiting.append(committed)
        self.changes.append(change)
        await committed

    def flush(self) -> None:
        """Commit what is waiting. A failed commit is kept in `failure` and given to every DATA waiting on
        it (so none goes out unrecorded); it is never raised here, where the event loop would swallow it."""
        changes, waiting = self.changes, self.waiting
        self.changes, self.waiting = [], []
        try:
            if changes:
                self.ledger.apply(changes)
        except LedgerError as err:
            self.failure = self.failure or err
        for committed in waiting:
            if committed.done() or committed.get_loop().is_closed():
                continue  # after an interrupt: nobody waits any more
            if self.failure:
                committed.set_exception(self.failure)
            else:
                committed.set_result(None)


def _send_test(address: str, template: MessageTemplate, key: bytes, mail: MailSettings, issue: str, subject: str,
               server: str, confirm: Callable[[Plan], bool]) -> SendReport:
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
        asyncio.run(deliver([Job(None, address, "")], _message_for(template, key, mail, issue),
                            _envelope(mail), mail.smtp, _password(mail), callbacks))
    except SendStopped as stop:
        return SendReport(plan=plan, stopped=str(stop))
    if outcome.get("state") != State.SENT:
        raise WeeklyError(f"test copy to {address} {outcome.get('state', 'not sent')}: {outcome.get('reply', '')}")
    return SendReport(plan=plan, sent_now=1)


async def _nothing(job: Job) -> None:
    """--test-to keeps no ledger."""


def _message_for(template: MessageTemplate, key: bytes, mail: MailSettings, issue: str) -> Callable[[Job], bytes]:
    domain_free_prefix = f"{issue}.{secrets.token_hex(4)}"

    def message_for(job: Job) -> bytes:
        token = sign(job.address, mail.list.id, key) if template.one_click else None
        message_id = f"{domain_free_prefix}.{job.rowid if job.rowid is not None else 'test'}.{secrets.token_hex(4)}"
        return template.personalise(job.address, job.name, token, message_id)

    return message_for


def _signing_key(mail: MailSettings, needed: bool) -> bytes:
    if mail.signing_key:
        return mail.signing_key.get_secret_value().encode()
    if needed:
        raise WeeklyError("no signing key for unsubscribe links: set WEEKLY_SIGNING_KEY to a long random string "
                          "(e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return b""


def _envelope(mail: MailSettings) -> str:
    return parseaddr(mail.smtp.sender)[1]


def _password(mail: MailSettings) -> str | None:
    return mail.smtp.password.get_secret_value() if mail.smtp.password else None
