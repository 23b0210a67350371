"""Send a rendered issue to a mailing list, exactly once per subscriber, resumably.

`send_issue` takes the built issue (its number, and the checked email and text part as they are on
disk), puts the list into the store's ledger (duplicates and suppressed addresses drop out there), asks
`confirm` with the plan, then hands the pending rows to the SMTP pool. Rows a killed run left half-done
are reported as unknown first. A second run of the same issue sends only what is still pending
(`retry_failed` adds the failed ones, `retry_unknown` those whose outcome is unknown: they may get a
second copy). The caller holds the issue's lock (store.lock), so one process sends an issue at a time;
each row is also claimed in the store before its DATA, so no row is sent twice even without it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from composer.config import MailSettings
from composer.deliver.message import MessageTemplate, Wire
from composer.deliver.smtp import Callbacks, Job, SendInterrupted, SendStopped, deliver
from composer.deliver.status import Verdict, reply_status, verdict
from composer.deliver.subscribers import read_subscribers, valid_address
from composer.deliver.tokens import COPY, copy_tag, keyed_hash, sign_id
from composer.errors import WeeklyError
from composer.issues import IssueFolder
from composer.models import Plan, Problem, SendReport, Subscriber, SubscriberStatus
from composer.models import RecipientState as State
from composer.store import Store, StoreError
from composer.store.recipients import Change

_SHOWN_INVALID = 100
_MAX_LOCAL_PART = 64  # RFC 5321: a VERP return path must still fit


class SendOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    list_file: Path | None = None
    columns: dict[str, str] = {}  # the list file's columns by field, where their names are not guessed (--column)
    to: str | None = None  # one list address (Mailman, Sympa) instead of a subscriber file
    dry_run: bool = False
    limit: int | None = None
    test_to: str | None = None
    retry_failed: bool = False
    retry_unknown: bool = False  # may send a second copy: the first may have arrived


def send_issue(built: IssueFolder, store: Store, mail: MailSettings, options: SendOptions,
               confirm: Callable[[Plan], bool],
               progress: Callable[[int, int], None] = lambda done, total: None) -> SendReport:
    """Send the built issue as `options` say, recording it in `store`; returns what happened."""
    issue = built.number
    subject = built.subject
    key = _signing_key(mail, needed=not options.dry_run)
    server = f"{mail.smtp.host}:{mail.smtp.port} ({mail.smtp.security})"
    if options.dry_run:
        return _dry_run(issue, store, options, key, mail, subject, server)
    template = MessageTemplate(built, mail, issue, one_click=not options.to)
    if options.test_to:
        # an editor who unsubscribed from the list still gets her test copy; a complaint or a bounce does not
        _one_address(options.test_to, "--test-to", store, key, mail.list.id, mailable=("unsubscribed",))
        return _send_test(options.test_to, template, key, mail, issue, subject, server, confirm)
    invalid = _Invalid()
    audience = _audience(options, invalid, store, key, mail.list.id)  # nobody to send to: the ledger stays as it is
    recovered = store.recipients.recover(issue)
    if options.retry_failed:
        store.recipients.requeue(issue, State.FAILED)
    if options.retry_unknown:
        store.recipients.requeue(issue, State.UNKNOWN)
    store.recipients.add(issue, audience)
    plan = _plan(store.recipients.counts(issue), issue, options, invalid, subject, server)
    shown_invalid = tuple(invalid.shown)
    if plan.to_send == 0 or not confirm(plan):
        return SendReport(plan=plan, counts=store.recipients.counts(issue), recovered_unknown=recovered,
                          invalid_rows=shown_invalid, cancelled=plan.to_send > 0)
    run = _run(store, issue, template, key, mail, plan.to_send, options.limit, progress)
    return SendReport(plan=plan, sent_now=run.sent, counts=store.recipients.counts(issue), recovered_unknown=recovered,
                      invalid_rows=shown_invalid, stopped=run.stopped, interrupted=run.interrupted)


def _dry_run(issue: int, store: Store, options: SendOptions, key: bytes, mail: MailSettings, subject: str,
             server: str) -> SendReport:
    """What the send would do, changing nothing: its counts are the ledger as it is; the plan says what the
    send would add to it and send, the rows --retry-failed and --retry-unknown would put back included."""
    invalid = _Invalid()
    held = store.recipients.counts(issue)
    would_hold = store.recipients.plan(issue, _audience(options, invalid, store, key, mail.list.id))
    adds = {state: would_hold[state] - held[state] for state in (State.PENDING, State.SKIPPED)
            if would_hold[state] > held[state]}
    found = dict(would_hold)
    # As the send would find them: a killed run's `sending` rows recovered as unknown, then requeued on request.
    found[State.UNKNOWN] += found.pop(State.SENDING)
    for state, asked in ((State.FAILED, options.retry_failed), (State.UNKNOWN, options.retry_unknown)):
        if asked:
            found[State.PENDING] += found.pop(state)
    plan = _plan(found, issue, options, invalid, subject, server).model_copy(update={"adds": adds})
    return SendReport(plan=plan, counts=held, invalid_rows=tuple(invalid.shown))


def _audience(options: SendOptions, invalid: _Invalid, store: Store, key: bytes, list_id: str) -> Iterator[Subscriber]:
    """--to's list address, the rows of --list's file (erased readers left out), or the store's readers."""
    if options.columns and not options.list_file:
        raise WeeklyError("--column names a column of the list file: use it with --list FILE")
    if options.to:
        if not valid_address(options.to):
            raise WeeklyError(f"--to {options.to!r} is not a valid address")
        _one_address(options.to, "--to", store, key, list_id, mailable=())
        return iter([Subscriber(email=options.to)])
    if options.list_file:
        rows = _valid_rows(options.list_file, options.columns, invalid)
        first = next(rows, None)  # an empty list is nobody to send to, as an empty store is
        if first is None:
            why = (f"{invalid.count} row(s) left out, the first: {invalid.shown[0]}" if invalid.shown
                   else "it lists nobody, only its first line")
            raise WeeklyError(f"nobody to send to: {options.list_file} has no reader to send to ({why})")
        return _not_erased(itertools.chain([first], rows), options.list_file, invalid, store, key, list_id)
    if not store.subscribers.counts()[SubscriberStatus.SUBSCRIBED]:
        raise WeeklyError("nobody to send to: the subscriber store has no subscribed reader; import your list "
                          "(`weekly subscribers import FILE`) or send to a file with --list FILE")
    return store.subscribers.audience()


def _one_address(address: str, flag: str, store: Store, key: bytes, list_id: str, mailable: tuple[str, ...]) -> None:
    """--to and --test-to name one address: erased on request, or suppressed for a reason not in `mailable`,
    it is refused by name (a list file's such row is left out; one address left out is a send of nothing)."""
    erased = store.subscribers.erased()
    if erased and not key:
        raise WeeklyError("the suppression list holds erased readers, recognised only with the signing key: set "
                          "WEEKLY_SIGNING_KEY")
    if erased and keyed_hash(address, list_id, key) in erased:
        raise WeeklyError(f"{flag} {address}: erased on its owner's request, never mailed again; nothing sent")
    held = store.suppressions.get(address)
    if held and held.reason.split(":")[0] not in mailable:
        since = datetime.fromtimestamp(held.added, UTC)
        raise WeeklyError(f"{flag} {address}: suppressed since {since:%Y-%m-%d} ({held.reason}); nothing sent "
                          f"(`weekly suppressed` lists why; `weekly suppressed --remove {address}` if it may get "
                          "mail again)")


def _not_erased(rows: Iterator[Subscriber], path: Path, invalid: _Invalid, store: Store, key: bytes,
                list_id: str) -> Iterator[Subscriber]:
    """A list file may still hold readers erased on request: their keyed hash keeps them out, unrecorded."""
    erased = store.subscribers.erased()
    if erased and not key:
        raise WeeklyError("the suppression list holds erased readers, recognised only with the signing key: set "
                          "WEEKLY_SIGNING_KEY")
    for row in rows:
        if erased and keyed_hash(row.email, list_id, key) in erased:
            invalid.add(Problem(level="warning", path=str(path), message="a reader erased on request is left out"))
        else:
            yield row


def _plan(counts: dict[State, int], issue: int, options: SendOptions, invalid: _Invalid, subject: str,
          server: str) -> Plan:
    pending = counts[State.PENDING]
    to_send = pending if options.limit is None else min(pending, options.limit)
    already = {state: count for state, count in counts.items() if state is not State.PENDING and count}
    return Plan(issue=str(issue), subject=subject, server=server, to_send=to_send, already=already,
                invalid=invalid.count)


class _Invalid:
    """Invalid rows: all counted, the first ones kept to show (a million bad rows must not fill memory)."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.shown) < _SHOWN_INVALID:
            self.shown.append(problem)


def _valid_rows(path: Path, columns: dict[str, str], invalid: _Invalid) -> Iterator[Subscriber]:
    for row in read_subscribers(path, columns):
        if isinstance(row, Problem):
            invalid.add(row)
        else:
            yield row


class _Run(BaseModel):
    model_config = ConfigDict(frozen=True)

    sent: int
    stopped: str | None = None
    interrupted: bool = False


def _run(store: Store, issue: int, template: MessageTemplate, key: bytes, mail: MailSettings, total: int,
         limit: int | None, progress: Callable[[int, int], None]) -> _Run:
    settled = {"count": 0, "sent": 0}
    commits = _GroupCommit(store, issue)

    def done(job: Job, state: State, reply: str) -> None:
        commits.add(Change(_rowid(job), state, reply))
        if state is State.FAILED:
            _judge(store, job.address, issue, reply, mail.bounces.soft_limit)
        settled["count"] += 1
        settled["sent"] += state is State.SENT
        progress(settled["count"], total)

    callbacks = Callbacks(
        sending=lambda job: commits.claim(_rowid(job)),
        retrying=lambda job, reply: commits.add(Change(_rowid(job), State.PENDING, reply)),
        done=done,
    )
    jobs = (Job(row.id, row.address, row.name) for row in itertools.islice(store.recipients.pending(issue), limit))
    stopped: Exception | None = None
    try:
        with _signers(template) as signers:
            asyncio.run(deliver(jobs, _message_for(template, key, mail, issue, signers), _envelope_for(mail, key, issue),
                                mail.smtp, _password(mail), callbacks))
    except (SendStopped, StoreError) as stop:
        stopped = stop
    finally:
        commits.flush()  # the results already in, even when Ctrl-C or SIGTERM ends the run
    failure = commits.failure or stopped
    return _Run(sent=settled["sent"], stopped=str(failure) if failure else None,
                interrupted=isinstance(failure, SendInterrupted))


def _judge(store: Store, address: str, issue: int, reply: str, soft_limit: int) -> None:
    """A 5xx reply, judged by the rule a DSN is judged by (status.verdict): a mailbox gone suppresses the
    address, a full one counts as a soft bounce; a policy or spam rejection only failed this copy."""
    status = reply_status(reply)
    judged = verdict(status) if status and status.startswith("5") else Verdict.COPY_ONLY
    if judged is Verdict.GONE:
        store.suppressions.add(address, f"hard bounce: {reply}")
    elif judged is Verdict.SOFT:
        issues = store.suppressions.soft_bounce(address, issue)
        if issues >= soft_limit:
            store.suppressions.add(address, f"soft bounces in {issues} issues: {reply}")


def _rowid(job: Job) -> int:
    assert job.rowid is not None, "only --test-to sends jobs outside the ledger, and it records nothing"
    return job.rowid


class _GroupCommit:
    """Ledger changes committed together: every claim (pending -> sending) asked for in one turn of the
    event loop shares a single commit, and each waits for it before its DATA goes out (a kill then leaves
    the row `sending`, so unknown, never resent). Results and retries ride along with the next commit."""

    def __init__(self, store: Store, issue: int) -> None:
        self.store = store
        self.issue = issue
        self.results: list[Change] = []
        self.claims: list[int] = []
        self.waiting: list[tuple[int, asyncio.Future]] = []
        self.failure: StoreError | None = None

    def add(self, change: Change) -> None:
        self.results.append(change)

    async def claim(self, row_id: int) -> bool:
        """True once the row is recorded as `sending` by us; False if another sender had it first."""
        if self.failure:
            raise self.failure
        loop = asyncio.get_running_loop()
        if not self.waiting:
            loop.call_soon(self.flush)
        committed = loop.create_future()
        self.waiting.append((row_id, committed))
        self.claims.append(row_id)
        return await committed

    def flush(self) -> None:
        """Commit what is waiting. A failed commit is kept in `failure` and given to every DATA waiting on
        it (so none goes out unrecorded); it is never raised here, where the event loop would swallow it."""
        results, claims, waiting = self.results, self.claims, self.waiting
        self.results, self.claims, self.waiting = [], [], []
        claimed: set[int] = set()
        try:
            if results or claims:
                claimed = self.store.recipients.commit(self.issue, results, claims)
        except StoreError as err:
            self.failure = self.failure or err
        for row_id, committed in waiting:
            if committed.done() or committed.get_loop().is_closed():
                continue  # after an interrupt: nobody waits any more
            if self.failure:
                committed.set_exception(self.failure)
            else:
                committed.set_result(row_id in claimed)


def _send_test(address: str, template: MessageTemplate, key: bytes, mail: MailSettings, issue: int, subject: str,
               server: str, confirm: Callable[[Plan], bool]) -> SendReport:
    """One copy to `address`, outside the ledger: for the editor's own inbox."""
    if not valid_address(address):
        raise WeeklyError(f"--test-to {address!r} is not a valid address")
    plan = Plan(issue=str(issue), subject=subject, server=server, to_send=1, already={}, invalid=0)
    if not confirm(plan):
        return SendReport(plan=plan, cancelled=True)
    outcome: dict[str, str] = {}
    callbacks = Callbacks(sending=_nothing, retrying=lambda job, reply: None,
                          done=lambda job, state, reply: outcome.update(state=state, reply=reply))
    try:
        asyncio.run(deliver([Job(None, address, "")], _message_for(template, key, mail, issue, None),
                            _envelope_for(mail, key, issue), mail.smtp, _password(mail), callbacks))
    except SendStopped as stop:
        return SendReport(plan=plan, stopped=str(stop))
    if outcome.get("state") != State.SENT:
        raise WeeklyError(f"test copy to {address} {outcome.get('state', 'not sent')}: {outcome.get('reply', '')}")
    return SendReport(plan=plan, sent_now=1)


async def _nothing(job: Job) -> bool:
    """--test-to keeps no ledger: nothing to claim."""
    return True


def _message_for(template: MessageTemplate, key: bytes, mail: MailSettings, issue: int,
                 signers: Executor | None) -> Callable[[Job], Awaitable[Wire]]:
    """Each copy's bytes as DATA carries them; its Message-ID carries the copy's tag (tokens.copy_tag), which
    `weekly bounces` checks, and a random part that keeps it unique when a copy is sent again. A signed copy
    is made by one of `signers` (OpenSSL lets go of the GIL while it signs), an unsigned one at once."""

    def message_for(job: Job) -> Awaitable[Wire]:
        # The copy's ledger row, never the address (a test copy has none: its link is the bare page).
        token = sign_id(COPY, str(job.rowid), mail.list.id, key) if template.one_click and job.rowid is not None \
            else None
        tag = copy_tag(key, mail.list.id, issue, job.rowid, job.address) if job.rowid is not None else f"{issue}.test"
        loop = asyncio.get_running_loop()
        args = (job.address, job.name, token, f"{tag}.{secrets.token_hex(4)}")
        if signers:
            return loop.run_in_executor(signers, template.on_the_wire, *args)
        made = loop.create_future()
        made.set_result(template.on_the_wire(*args))
        return made

    return message_for


@contextmanager
def _signers(template: MessageTemplate) -> Iterator[Executor | None]:
    """Threads that make signed copies while the event loop talks SMTP; None when copies are not signed."""
    if not template.signs:
        yield None
        return
    threads = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="weekly-dkim")
    try:
        yield threads
    finally:
        threads.shutdown(wait=True, cancel_futures=True)


def _signing_key(mail: MailSettings, needed: bool) -> bytes:
    if mail.signing_key:
        return mail.signing_key.get_secret_value().encode()
    if needed:
        raise WeeklyError("no signing key for unsubscribe links: set WEEKLY_SIGNING_KEY to a long random string "
                          "(e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return b""


def _envelope_for(mail: MailSettings, key: bytes, issue: int) -> Callable[[Job], str]:
    """Each copy's MAIL FROM: bounces.address (else the sender's), as LOCAL+TAG@DOMAIN with bounces.verp."""
    address = mail.bounces.address or parseaddr(mail.smtp.sender)[1]
    local, _, domain = address.rpartition("@")
    if not mail.bounces.verp:
        return lambda job: address
    longest = len(local) + 1 + len(copy_tag(key, mail.list.id, issue, 10**15 - 1, address))
    if longest > _MAX_LOCAL_PART:
        raise WeeklyError(f"bounces.address {address!r}: its part before @ is too long for VERP (a tag takes "
                          f"{longest - len(local)} of the {_MAX_LOCAL_PART} characters allowed): shorten it")

    def envelope_for(job: Job) -> str:
        if job.rowid is None:
            return address  # a test copy: outside the ledger, nothing to name
        return f"{local}+{copy_tag(key, mail.list.id, issue, job.rowid, job.address)}@{domain}"

    return envelope_for


def _password(mail: MailSettings) -> str | None:
    return mail.smtp.password.get_secret_value() if mail.smtp.password else None
