"""Bounces, complaints and mailed unsubscriptions, read from a mailbox and applied to the suppression list.

A relay accepts a message and reports its fate later, by mail: delivery status notifications (RFC 3464,
multipart/report; report-type=delivery-status) and feedback reports (ARF, RFC 5965, report-type=
feedback-report). Each is matched to the store's ledger by the Message-ID of the copy it is about (ours name the
ledger row) or else by the recipient's address, then:
- a permanent failure (Action: failed, Status 5.x.x) suppresses the address ("hard bounce");
- a complaint suppresses it ("complaint");
- a temporary failure (Action: delayed, or Status 4.x.x) is counted once per issue, and suppresses the
  address after `soft_limit` issues ("soft bounces");
- a message to the List-Unsubscribe mailto ("unsubscribe TOKEN" in its subject) unsubscribes the
  token's address, the token verified as on the web.
Sources: an mbox file, a Maildir folder, or `imaps://USER@HOST[:PORT]/MAILBOX` (TLS always; the
password from WEEKLY_IMAP__PASSWORD). The standard library's email package reads the reports: no DSN
parser on PyPI is both maintained and small enough to earn a dependency (flufl.bounce was last released
in 2020 and guesses at non-standard bounces this project has no samples of).
"""

from __future__ import annotations

import imaplib
import mailbox
import re
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from composer.deliver.readers import address_of
from composer.deliver.tokens import TokenError
from composer.errors import WeeklyError
from composer.store import Store

# Our Message-IDs: <ISSUE.RANDOM.ROWID.RANDOM@domain> (send._message_for).
_OUR_MESSAGE_ID = re.compile(r"<?([^.<>\s]+)\.[0-9a-f]{8}\.(\d+)\.[0-9a-f]{8}@")
_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+(\S+)", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")


class Outcome(NamedTuple):
    kind: str  # "hard bounce", "complaint", "soft bounce", "unsubscribed", "unmatched", "ignored"
    address: str | None
    detail: str


class BounceReport(NamedTuple):
    outcomes: list[Outcome]

    def count(self, kind: str) -> int:
        return sum(outcome.kind == kind for outcome in self.outcomes)


def process_bounces(source: str, store: Store, key: bytes, list_id: str, soft_limit: int,
                    imap_password: str | None = None) -> BounceReport:
    """Read every message of `source` and apply what it reports to the store's suppression list."""
    outcomes = []
    for message in _messages(source, imap_password):
        for kind, address, issue, detail in _reports(message, store, key, list_id):
            outcomes.append(_apply(store, kind, address, issue, detail, soft_limit))
    return BounceReport(outcomes)


def _apply(store: Store, kind: str, address: str | None, issue: int | None, detail: str,
           soft_limit: int) -> Outcome:
    if address is None or kind in ("unmatched", "ignored"):
        return Outcome(kind, address, detail)
    if kind == "soft bounce":
        issues = store.suppressions.soft_bounce(address, issue or 0)
        if issues >= soft_limit:
            store.suppressions.add(address, f"soft bounces in {issues} issues: {detail}")
            return Outcome("soft bounce", address, f"{detail}; suppressed after {issues} issues")
        return Outcome(kind, address, f"{detail}; {issues} of {soft_limit} issues")
    store.suppressions.add(address, f"{kind}: {detail}" if detail else kind)
    return Outcome(kind, address, detail)


def _reports(message: Message, store: Store, key: bytes, list_id: str
             ) -> Iterator[tuple[str, str | None, int | None, str]]:
    """(kind, address, issue, detail) for each recipient a message reports on."""
    report_type = str(message.get_param("report-type") or "").lower() if message.get_content_type() == \
        "multipart/report" else ""
    original = _original_headers(message)
    issue, address = _ours(original, store)
    if report_type == "delivery-status":
        for fields in _status_blocks(message):
            if not (fields.get("Final-Recipient") or fields.get("Original-Recipient")):
                continue  # the per-message block (Reporting-MTA …); recipients follow it
            recipient = _address(fields.get("Final-Recipient") or fields.get("Original-Recipient"))
            action = (fields.get("Action") or "").strip().lower()
            status = _STATUS.search(fields.get("Status") or "")
            code = status[0] if status else ""
            detail = " ".join(filter(None, [code, (fields.get("Diagnostic-Code") or "").strip()]))[:300]
            who = address or recipient
            issue_for = issue or (store.recipients.latest_issue_of(who) if who else None)
            if who is None or issue_for is None:
                yield "unmatched", recipient, None, f"a report on {recipient or 'an unknown recipient'}"
            elif action == "failed" and code.startswith("5"):
                yield "hard bounce", who, issue_for, detail
            elif action in ("delayed", "failed") and (code.startswith("4") or action == "delayed"):
                yield "soft bounce", who, issue_for, detail
            else:
                yield "ignored", who, issue_for, f"action {action or 'none'}"
        return
    if report_type == "feedback-report":
        fields = next(_status_blocks(message), Message())
        recipient = _address(fields.get("Original-Rcpt-To")) or _address(original.get("To"))
        who = address or recipient
        if who is None or (issue or store.recipients.latest_issue_of(who)) is None:
            yield "unmatched", recipient, None, "a complaint about mail we cannot match"
        else:
            yield "complaint", who, issue, (fields.get("Feedback-Type") or "abuse").strip()
        return
    wanted = _UNSUBSCRIBE_SUBJECT.search(str(message.get("Subject") or ""))
    if wanted:
        try:
            yield "unsubscribed", address_of(unquote(wanted[1]), key, list_id, store), None, "by mail"
        except TokenError as err:
            yield "ignored", None, None, f"an unsubscribe request with a bad token ({err})"


def _status_blocks(message: Message) -> Iterator[Message]:
    """The field blocks of the report part (message/delivery-status or message/feedback-report)."""
    for part in message.walk():
        if part.get_content_type() in ("message/delivery-status", "message/feedback-report"):
            payload = part.get_payload()
            if isinstance(payload, list):  # the email package parses each block as a Message
                yield from (block for block in payload if isinstance(block, Message))
            else:
                for block in str(payload).split("\n\n"):
                    yield HeaderParser(policy=compat32).parsestr(block)


def _original_headers(message: Message) -> Message:
    """The headers of the message the report is about (message/rfc822 or text/rfc822-headers)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(part.get_payload())
            return HeaderParser(policy=compat32).parsestr(text)
    return Message()


def _ours(original: Message, store: Store) -> tuple[int | None, str | None]:
    """(issue, address) of the ledger row a Message-ID of ours names, else (None, None)."""
    match = _OUR_MESSAGE_ID.search(str(original.get("Message-ID") or ""))
    if not match:
        return None, None
    row = store.recipients.row(int(match[2]))
    return (row.issue, row.address) if row and str(row.issue) == match[1] else (None, None)


def _address(field: str | None) -> str | None:
    """The address of a DSN field ("rfc822; user@example.org") or a header."""
    if not field:
        return None
    found = re.search(r"[^\s;<>\"]+@[^\s;<>\"]+", str(field))
    return found[0].lower() if found else None


def _messages(source: str, password: str | None) -> Iterator[Message]:
    if source.startswith("imaps://"):
        yield from _imap(source, password)
        return
    path = Path(source)
    if path.is_dir():
        box: mailbox.Mailbox = mailbox.Maildir(path, factory=None, create=False)
    elif path.is_file():
        box = mailbox.mbox(path, create=False)
    else:
        raise WeeklyError(f"{source}: no such mbox file or Maildir folder (or give imaps://USER@HOST/MAILBOX)")
    try:
        for key in box.iterkeys():
            yield message_from_bytes(box.get_bytes(key))
    finally:
        box.close()


def _imap(source: str, password: str | None) -> Iterator[Message]:
    """Every message of an IMAP mailbox over TLS (imaps://USER@HOST[:PORT]/MAILBOX)."""
    parts = urlsplit(source)
    if not parts.hostname or not parts.username:
        raise WeeklyError(f"{source}: give imaps://USER@HOST[:PORT]/MAILBOX")
    if not password:
        raise WeeklyError("no IMAP password: set WEEKLY_IMAP__PASSWORD (or the secret file imap__password)")
    try:
        client = imaplib.IMAP4_SSL(parts.hostname, parts.port or 993, ssl_context=ssl.create_default_context(),
                                   timeout=60)
        client.login(unquote(parts.username), password)
        client.select(parts.path.strip("/") or "INBOX", readonly=True)
        _, found = client.search(None, "ALL")
        for number in found[0].split():
            _, data = client.fetch(number, "(RFC822)")
            fetched = data[0]
            if isinstance(fetched, tuple):
                yield message_from_bytes(fetched[1])
        client.logout()
    except (OSError, imaplib.IMAP4.error) as err:
        raise WeeklyError(f"{parts.hostname}: IMAP failed: {err}") from err
