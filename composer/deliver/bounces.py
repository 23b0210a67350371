"""Bounces, complaints and mailed unsubscriptions, read from a mailbox and applied to the suppression list.

A relay accepts a message and reports its fate later, by mail: delivery status notifications (RFC 3464,
multipart/report; report-type=delivery-status, or RFC 6533's global-delivery-status) and feedback reports
(ARF, RFC 5965, report-type=feedback-report), and bounces that are no report (qmail, Exim and Sendmail
without DSNs: plain text from the mail system naming the failed addresses and their SMTP replies, the
message returned as text after a marker line). Such mail comes from anyone, so a report is applied only
when it proves it is about a copy we sent: it carries that copy's tag (tokens.copy_tag: the issue, the
ledger row and an HMAC over them and the row's address), in the quoted Message-ID or, with bounces.verp,
in the address the bounce was sent to. The tag names the ledger row, and the row the address; what the
report says about other addresses is never applied. Then, for that address:
- a permanent failure that says the mailbox is gone (status.verdict, the rule a live 5xx follows too)
  suppresses it ("hard bounce"); a full mailbox or a delay counts once per issue, and `soft_limit` issues
  suppress it ("soft bounce"); any other failure (5.7.1 spam, 5.2.0 a fault at the receiver) is listed;
- a complaint suppresses it ("complaint");
- a message to the List-Unsubscribe mailto ("unsubscribe TOKEN" in its subject) unsubscribes the
  token's address, the token verified as on the web.
A plain bounce is judged by the same rule as a DSN, from the lines about the copy's address (the enhanced
status, or the reply code's class: 451 is a delay, a bare 550 says nothing about the address).
Anything else is listed, not applied: a report with no genuine tag ("not applied"), a genuine one about a
reader erased on request since ("ignored", the address not shown), a message that cannot be read
("unreadable": one line each; the messages after it are still applied). Every message
read is remembered in the store (by a digest of its bytes), so a report is applied once, however often
the mailbox is read: an hourly run never undoes a resubscription.

Sources: an mbox file (or one saved message, .eml), a Maildir folder, or `imaps://USER@HOST[:PORT]/MAILBOX` (TLS always, `imap.ca_file`
for a private CA; the password from WEEKLY_IMAP__PASSWORD; opened read-only, fetched a hundred at a time).
composer.deliver.report_parts cuts the messages into parts (the standard library's header parser reads
their headers), and this module reads the report fields themselves (8-bit, folded or base64 encoded as
real MTAs send them): no DSN parser on PyPI is both maintained and small enough to earn a dependency
(flufl.bounce was last released in 2020 and guesses at non-standard bounces).

At scale (bench/bounces_scale.py): a report costs a primary-key read of its ledger row and of reports_seen,
its writes commit with a few hundred others, its outcome is counted and handed to the caller, never kept.
"""

from __future__ import annotations

import hashlib
import imaplib
import os
import re
import ssl
import time
from collections.abc import Callable, Iterator
from email.errors import HeaderParseError
from email.header import Header, decode_header, make_header
from email.message import Message
from functools import cached_property
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from composer.deliver import report_parts
from composer.deliver.readers import address_of
from composer.deliver.status import Verdict, enhanced_status, verdict
from composer.deliver.tokens import CopyTag, TokenError, copy_tag_is_genuine, copy_tags, keyed_hash
from composer.errors import WeeklyError
from composer.store import Store, StoreError
from composer.store.recipients import Row

APPLIED = ("hard bounce", "complaint", "soft bounce", "unsubscribed")
KINDS = (*APPLIED, "not applied", "ignored", "unreadable")
_UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+(\S+)", re.IGNORECASE)
# The report parts whose body is fields (the email package would parse them as header blocks and skip a
# base64-encoded one), and the parts that hold the headers of the message reported on.
_FIELDS = {"message/delivery-status", "message/global-delivery-status", "message/feedback-report"}
_QUOTED_HEADERS = {"text/rfc822-headers", "message/global-headers"}
# Where a bounce sent to a VERP return path shows the address it was sent to.
_DELIVERED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_MAX_DETAIL = 300
_ADDRESS = re.compile(r"[^\s;<>\"]+@[^\s;<>\"]+")
# A bounce that is no report (qmail, Exim and Sendmail without DSNs): plain text from the mail system
# (MAILER-DAEMON, postmaster, or a null return path), each failed address on a line of its own (qmail's
# "<dave@…>:", Exim's indented address, Sendmail's "<dave@…>") with what went wrong under it, then a line
# like "--- Below this line is a copy of the message." and the message it returns, as text.
_MAIL_SYSTEM = re.compile(r"mailer[-_]?daemon|postmaster|mail[-_]?daemon", re.IGNORECASE)
_QUOTE_MARKER = re.compile(r"^[ \t]*-{2,}.*\b(?:copy of the message|(?:original|unsent|returned|undelivered) message"
                           r"|message (?:headers? )?follows?)\b.*$", re.IGNORECASE | re.MULTILINE)
_FAILED_LINE = re.compile(r"^[ \t]*<?([^\s<>\"@]+@[^\s<>\"]+?)>?:?[ \t\r]*$", re.MULTILINE)
_REPLY_CODE = re.compile(r"(?<![\w.:-])([45])\d\d(?=[ -]|\r?$)", re.MULTILINE)  # 550, 451-… (no IP, port)
BATCH, BATCH_SECONDS = 500, 0.5  # messages per store transaction, at most, and its time
_IMAP_FETCH = 100  # messages per IMAP FETCH


class Outcome(NamedTuple):
    kind: str  # one of KINDS
    address: str | None
    detail: str


class BounceReport(NamedTuple):
    counts: dict[str, int]  # outcomes by kind (KINDS): counted, not kept, so a mailbox of any size fits
    read_before: int = 0  # messages already processed by an earlier run: skipped

    def count(self, kind: str) -> int:
        return self.counts.get(kind, 0)


def process_bounces(source: str, store: Store, key: bytes, list_id: str, soft_limit: int,
                    imap_password: str | None = None, imap_ca_file: Path | None = None,
                    told: Callable[[Outcome], None] = lambda outcome: None) -> BounceReport:
    """Read every message of `source` not processed before and apply what it proves to the suppression list;
    `told(outcome)` hears of each outcome as it comes. The store takes the messages in transactions of a
    few hundred (BATCH, or BATCH_SECONDS): each message's outcome and the record that it was read commit
    together, and a writer waiting for the store (an unsubscribe) waits a fraction of a second at most."""
    counts = dict.fromkeys(KINDS, 0)
    read_before = 0
    messages = iter(_messages(source, imap_password, imap_ca_file))
    while True:
        with store.transaction():
            started, taken = time.monotonic(), 0
            for raw in messages:
                taken += 1
                digest = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()  # IMAP says CRLF, a Maildir LF
                if store.reports.seen(digest):
                    read_before += 1
                else:
                    found = _read(raw, store, key, list_id, soft_limit)
                    for outcome in found:
                        counts[outcome.kind] += 1
                        told(outcome)
                    store.reports.remember(digest, "; ".join(outcome.kind for outcome in found))
                if taken >= BATCH or time.monotonic() - started > BATCH_SECONDS:
                    break
        if not taken:
            return BounceReport(counts, read_before)


def _read(raw: bytes, store: Store, key: bytes, list_id: str, soft_limit: int) -> list[Outcome]:
    """What one message says, applied. One that cannot be read is one `unreadable` outcome, never a stop."""
    headers = None
    try:
        headers, parts = report_parts.read(raw)
        return [_apply(store, found, soft_limit) for found in _reports(_Mail(headers, parts), store, key, list_id)]
    except StoreError:
        raise
    except Exception as err:  # noqa: BLE001 (a message nobody foresaw must not block the good ones after it)
        where = _header(headers, "Message-ID") if headers is not None else ""
        return [Outcome("unreadable", None, f"{where or 'a message'}: {type(err).__name__}: {err}"[:_MAX_DETAIL])]


class _Mail:
    """A message as far as a report needs it: its headers and its leaf parts (report_parts); its report
    fields and the headers it quotes are read once, when first asked for."""

    def __init__(self, headers: Message, parts: list[report_parts.Part]) -> None:
        self.headers = headers
        self.parts = parts

    @cached_property
    def blocks(self) -> list[dict[str, str]]:
        """The blocks of fields of the report part (a blank line between blocks), names lower-cased, folded
        lines joined, each value's first occurrence kept. The part is read as text whatever its transfer
        encoding (8-bit, base64), as MTAs send it."""
        for part in self.parts:
            if part.kind in _FIELDS:
                return _parse_fields(part.text())
        return []

    @cached_property
    def original(self) -> Message:
        """The headers of the message the report is about (message/rfc822, message/global, or headers alone;
        in a bounce that is no report, the message returned as text after its marker line)."""
        for part in self.parts:
            if part.kind in ("message/rfc822", "message/global", *_QUOTED_HEADERS):
                return part.quoted_headers()
        quoted = self.said[1]
        return report_parts.headers_of(_quoted_head(quoted)) if quoted else Message()

    @cached_property
    def said(self) -> tuple[str, str]:
        """The first text/plain part (the mail itself when it is one) cut at the line that introduces the
        message it returns as text: what the mail system says, and that message ("" when there is none)."""
        text = next((part.text() for part in self.parts if part.kind == "text/plain"), "")
        marker = _QUOTE_MARKER.search(text)
        return (text[:marker.start()], text[marker.end():]) if marker else (text, "")

    @cached_property
    def named(self) -> list[str]:
        """Every address the report names as the one the copy went to (for a tag whose ledger row is gone)."""
        fields = [block.get(name) for block in self.blocks
                  for name in ("final-recipient", "original-recipient", "original-rcpt-to")]
        found = [_address(field) for field in [*fields, _header(self.original, "To")]]
        return [address for address in dict.fromkeys([*found, *(address for address, _ in _failures(self.said[0]))])
                if address]


class _Said(NamedTuple):
    """What a report says about an address (`issue`: the issue of the copy, for soft bounces)."""

    kind: str
    address: str | None
    issue: int | None
    detail: str


def _apply(store: Store, said: _Said, soft_limit: int) -> Outcome:
    kind, address, issue, detail = said
    if address is None or kind not in APPLIED:
        return Outcome(kind, address, detail)
    if kind == "soft bounce":
        issues = store.suppressions.soft_bounce(address, issue or 0)
        if issues >= soft_limit:
            store.suppressions.add(address, f"soft bounces in {issues} issues: {detail}")
            return Outcome(kind, address, f"{detail}; suppressed after {issues} issues")
        return Outcome(kind, address, f"{detail}; {issues} of {soft_limit} issues")
    store.suppressions.add(address, f"{kind}: {detail}" if detail else kind)
    return Outcome(kind, address, detail)


class _Erased(NamedTuple):
    """A genuine tag of a copy whose reader was erased on request: the ledger row went with them."""


def _reports(message: _Mail, store: Store, key: bytes, list_id: str) -> Iterator[_Said]:
    """What `message` says, for the copy of ours it proves it is about."""
    report_type = _report_type(message)
    if report_type in ("delivery-status", "global-delivery-status"):
        what = "delivery report"
    elif report_type == "feedback-report":
        what = "complaint"
    elif _is_plain_bounce(message):
        what = "bounce"
    else:
        yield _mailed_unsubscribe(message, store, key, list_id)
        return
    copy = _our_copy(message, store, key, list_id)
    if isinstance(copy, _Erased):  # nothing to apply, and the address it names is not to be shown again
        yield _Said("ignored", None, None, f"a {what} about a copy we sent (its tag is genuine) to a reader since "
                    "erased on request: nothing is kept of them to apply it to")
    elif what == "delivery report":
        yield _delivery_status(message, copy)
    elif what == "complaint":
        yield _complaint(message, copy)
    else:
        yield _plain_bounce(message, copy)


def _report_type(message: _Mail) -> str:
    if message.headers.get_content_type() == "multipart/report":
        return str(message.headers.get_param("report-type") or "").lower()
    for part in message.parts:  # a report without its report-type, as some MTAs send them
        if part.kind in _FIELDS:
            return "feedback-report" if part.kind == "message/feedback-report" else "delivery-status"
    return ""


def _delivery_status(message: _Mail, copy: Row | None) -> _Said:
    blocks = message.blocks
    recipients = [fields for fields in blocks if "final-recipient" in fields or "original-recipient" in fields]
    if not recipients:
        return _Said("ignored", None, None, "a delivery report naming no recipient")
    if copy is None:
        named = _address(recipients[0].get("final-recipient") or recipients[0].get("original-recipient"))
        return _Said("not applied", named, None, "a delivery report that does not prove it is about mail we sent "
                     "(no genuine tag in its Message-ID or return path)")
    fields = _about(recipients, copy.address)
    if fields is None:
        return _Said("ignored", copy.address, copy.issue, "the report names other recipients than the copy's")
    action = fields.get("action", "").lower()
    status = enhanced_status(fields.get("status", ""))
    detail = _clean(" ".join(filter(None, [status, fields.get("diagnostic-code", "")])))
    if action == "delayed":
        return _Said("soft bounce", copy.address, copy.issue, detail or "delayed")
    if action != "failed":
        return _Said("ignored", copy.address, copy.issue, f"action {action or 'none'}")
    return _failed(copy, status, detail)


def _failed(copy: Row, status: str | None, detail: str) -> _Said:
    """A copy that failed, judged by its status as a live reply is (status.verdict)."""
    judged = verdict(status)
    if judged is Verdict.COPY_ONLY:
        return _Said("ignored", copy.address, copy.issue, f"failed, {judged.value}: {detail or 'no status'}")
    return _Said(judged.value, copy.address, copy.issue, detail)


def _about(recipients: list[dict[str, str]], address: str) -> dict[str, str] | None:
    """The recipient block about `address`, or the only one (a forward may have changed the final address)."""
    for fields in recipients:
        named = {_address(fields.get("final-recipient")), _address(fields.get("original-recipient"))}
        if address.lower() in named:
            return fields
    return recipients[0] if len(recipients) == 1 else None


def _is_plain_bounce(message: _Mail) -> bool:
    """A bounce that is no report: from the mail system, and it returns a message, names a failed address
    on a line of its own or gives a status."""
    null_path = "Return-Path" in message.headers and not _header(message.headers, "Return-Path").strip("<> ")
    sender = (_address(_header(message.headers, "From")) or "").split("@")[0]
    if not (null_path or _MAIL_SYSTEM.fullmatch(sender)):
        return False
    said, quoted = message.said
    return bool(quoted or _FAILED_LINE.search(said) or _status_of(said))


def _plain_bounce(message: _Mail, copy: Row | None) -> _Said:
    failures = _failures(message.said[0])
    if copy is None:
        return _Said("not applied", failures[0][0], None, "a bounce (plain text, no delivery report) that does not "
                     "prove it is about mail we sent (no genuine tag in the Message-ID it quotes or its return path)")
    about = [text for address, text in failures if address == copy.address.lower()]
    if not about and len(failures) > 1:
        return _Said("ignored", copy.address, copy.issue, "the bounce names other recipients than the copy's")
    text = (about or [failures[0][1]])[0]
    status = _status_of(text)
    what = text.split("\n", 1)[1] if failures[0][0] is not None and "\n" in text else text  # without the address line
    return _failed(copy, status, _clean(" ".join(filter(None, [status, what]))))


def _failures(said: str) -> list[tuple[str | None, str]]:
    """What a plain bounce says, address by address: each failed address on a line of its own and the lines
    up to the next one; the whole text, for no address, when it names none that way."""
    found = list(_FAILED_LINE.finditer(said))
    if not found:
        return [(None, said)]
    ends = [line.start() for line in found[1:]] + [len(said)]
    return [(line[1].lower(), said[line.start():end]) for line, end in zip(found, ends, strict=True)]


def _status_of(text: str) -> str | None:
    """The status a plain bounce gives: its first enhanced status code (5.1.1, qmail's #5.1.1) or, without
    one, its SMTP reply code as the class alone (451: 4.0.0, a transient failure; 550: 5.0.0, which says
    nothing about the address, as a live "550 rejected" does not)."""
    reply = _REPLY_CODE.search(text)
    return enhanced_status(text) or (f"{reply[1]}.0.0" if reply else None)


def _quoted_head(quoted: str) -> bytes:
    """The message a plain bounce returns, from its first header line (the blank lines and "------ notes"
    after the marker skipped)."""
    lines = quoted.split("\n")
    first = next((n for n, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("--")),
                 len(lines))
    return "\n".join(lines[first:]).encode("utf-8", "surrogateescape")


def _complaint(message: _Mail, copy: Row | None) -> _Said:
    fields = next(iter(message.blocks), {})
    feedback = fields.get("feedback-type", "abuse").lower() or "abuse"
    if copy is None:
        named = _address(fields.get("original-rcpt-to")) or _address(_header(message.original, "To"))
        return _Said("not applied", named, None, "a complaint that does not prove it is about mail we sent "
                     "(no genuine tag in the Message-ID it quotes)")
    if feedback == "not-spam":
        return _Said("ignored", copy.address, copy.issue, "a not-spam report")
    return _Said("complaint", copy.address, copy.issue, feedback)


def _mailed_unsubscribe(message: _Mail, store: Store, key: bytes, list_id: str) -> _Said:
    wanted = _UNSUBSCRIBE_SUBJECT.search(_header(message.headers, "Subject"))
    if not wanted:
        return _Said("ignored", None, None, f"{_header(message.headers, 'Message-ID') or 'a message'}: not read as a "
                     "bounce, a complaint or an unsubscription (no delivery or feedback report, no failure from a mail "
                     "server, no 'unsubscribe TOKEN' subject): left for a person to read")
    try:
        return _Said("unsubscribed", address_of(unquote(wanted[1]), key, list_id, store), None, "by mail")
    except TokenError as err:
        return _Said("ignored", None, None, f"an unsubscribe request with a bad token ({err})")


def _our_copy(message: _Mail, store: Store, key: bytes, list_id: str) -> Row | _Erased | None:
    """The ledger row of the copy the report is about, if it carries that copy's genuine tag: in the
    quoted Message-ID, or in the address the bounce was delivered to (VERP). _Erased when the tag is
    genuine for an address the report names, erased on request since (its row deleted with it)."""
    erased = False
    for place in _places(message):  # in order, each read only if the ones before named no copy of ours
        for tag in copy_tags(place):
            row = store.recipients.row(tag.row_id)
            if row is None:
                erased = erased or _of_an_erased_reader(tag, message, store, key, list_id)
            elif row.issue == tag.issue and copy_tag_is_genuine(tag, key, list_id, row.address):
                return row
    return _Erased() if erased else None


def _of_an_erased_reader(tag: CopyTag, message: _Mail, store: Store, key: bytes, list_id: str) -> bool:
    genuine = [address for address in message.named if copy_tag_is_genuine(tag, key, list_id, address)]
    return bool(genuine) and bool({keyed_hash(address, list_id, key) for address in genuine} & store.subscribers.erased())


def _places(message: _Mail) -> Iterator[str]:
    yield _header(message.original, "Message-ID")
    yield from (_header(message.headers, name) for name in _DELIVERED_TO)
    yield from (fields.get("x-original-message-id", "") for fields in message.blocks[:1])


def _parse_fields(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    fields: dict[str, str] = {}
    name = None
    for line in text.split("\n"):  # never splitlines(): U+2028 or U+0085 in a diagnostic are no line ends
        line = line.rstrip("\r")
        if not line.strip():
            if fields:
                blocks.append(fields)
            fields, name = {}, None
        elif line[0] in " \t":
            if name is not None:
                fields[name] = f"{fields[name]} {line.strip()}"
        elif ":" in line:
            field, value = line.split(":", 1)
            name = field.strip().lower()
            if name in fields:
                name = None  # a repeated field: the first one counts, its continuation lines are dropped
            else:
                fields[name] = value.strip()
    if fields:
        blocks.append(fields)
    return blocks


def _header(message: Message | None, name: str) -> str:
    """A header as text: encoded words decoded, 8-bit bytes replaced, folding undone; "" when absent."""
    value = message.get(name) if message is not None else None
    if value is None:
        return ""
    if isinstance(value, str) and value.isascii() and "=?" not in value:
        return _clean(value)  # what the decoding below gives for it, at a fraction of its cost
    try:
        text = str(make_header(decode_header(value))) if not isinstance(value, Header) else str(value)
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        text = str(value)
    return _clean(text)


def _clean(text: str) -> str:
    """One line: folded lines joined, runs of spaces one, at most a few hundred characters."""
    return " ".join(text.split())[:_MAX_DETAIL]


def _address(field: str | None) -> str | None:
    """The address of a DSN field ("rfc822; user@example.org") or a header."""
    if not field:
        return None
    found = _ADDRESS.search(str(field))
    return found[0].lower() if found else None


def _messages(source: str, password: str | None, ca_file: Path | None) -> Iterator[bytes]:
    if source.startswith("imaps://"):
        yield from _imap(source, password, ca_file)
        return
    if source.startswith("imap://"):
        raise WeeklyError(f"{source}: IMAP without TLS would send the password in clear; use imaps://")
    path = Path(source)
    if not path.exists():
        raise WeeklyError(f"{source}: no such mbox file or Maildir folder (or give imaps://USER@HOST/MAILBOX)")
    try:
        yield from _maildir(path) if path.is_dir() else _mbox(path)
    except OSError as err:
        raise WeeklyError(f"{source}: cannot read the mailbox: {err.strerror or err}") from err


def _mbox(path: Path) -> Iterator[bytes]:
    """The messages of an mbox file, read as they come (mailbox.mbox first indexes the whole file): each
    starts after a line beginning "From ", the blank line before the next one is the separator; text before
    the first is skipped, as mailbox.mbox skips it. A file that opens with a header field instead is one
    message (a report saved from a mail client, .eml); a file with neither is no mailbox, said in one line
    rather than read as zero reports."""
    with path.open("rb") as handle:
        first = next((line for line in handle if line.strip()), b"")
        if first and not first.startswith(b"From ") and _HEADER_LINE.match(first):
            yield first + handle.read()
            return
        lines: list[bytes] | None = [] if first.startswith(b"From ") else None  # None: before the first From_
        for line in handle:
            if line.startswith(b"From "):
                if lines is not None:
                    yield _message(lines)
                lines = []
            elif lines is not None:
                lines.append(line)
        if lines is not None:
            yield _message(lines)
        elif first:
            raise WeeklyError(f"{path}: neither an mbox file (no 'From ' line) nor a saved message (no header "
                              "first): give an mbox file, a Maildir folder or a message file (.eml)")


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")  # a field name (RFC 5322 3.6.8: printable, no colon) and its colon


def _message(lines: list[bytes]) -> bytes:
    return b"".join(lines[:-1] if lines and lines[-1] in (b"\n", b"\r\n") else lines)


def _maildir(path: Path) -> Iterator[bytes]:
    """The messages of a Maildir folder (new/ and cur/), one file at a time."""
    if not (path / "cur").is_dir():
        raise WeeklyError(f"{path}: a folder, but not a Maildir (no cur/): give an mbox file or a Maildir folder")
    for folder in ("new", "cur"):
        if (path / folder).is_dir():
            with os.scandir(path / folder) as entries:
                for entry in entries:
                    if not entry.name.startswith(".") and entry.is_file():
                        yield Path(entry.path).read_bytes()


def _imap(source: str, password: str | None, ca_file: Path | None) -> Iterator[bytes]:
    """Every message of an IMAP mailbox over TLS (imaps://USER@HOST[:PORT]/MAILBOX), read-only."""
    parts = urlsplit(source)
    if not parts.hostname or not parts.username:
        raise WeeklyError(f"{source}: give imaps://USER@HOST[:PORT]/MAILBOX")
    if not password:
        raise WeeklyError("no IMAP password: set WEEKLY_IMAP__PASSWORD (or the secret file imap__password)")
    host, user, name = parts.hostname, unquote(parts.username), unquote(parts.path.strip("/")) or "INBOX"
    try:
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except OSError as err:
        raise WeeklyError(f"imap.ca_file {ca_file}: cannot read the certificates: {err.strerror or err}") from err
    except ssl.SSLError as err:
        raise WeeklyError(f"imap.ca_file {ca_file}: not PEM certificates ({err.reason or err})") from err
    try:
        client = imaplib.IMAP4_SSL(host, parts.port or 993, ssl_context=context, timeout=60)
    except ssl.SSLCertVerificationError as err:
        raise WeeklyError(f"{host}: the IMAP server's TLS certificate is not trusted ({err.verify_message}); if a "
                          "private CA signed it, set imap.ca_file to that CA's certificate (PEM)") from err
    except OSError as err:
        raise WeeklyError(f"{host}: cannot reach the IMAP server: {err.strerror or err}") from err
    try:
        try:
            client.login(user, password)
        except imaplib.IMAP4.error as err:
            raise WeeklyError(f"{host}: IMAP login refused for {user}: {_said(err)}") from err
        status, said = client.select(_quoted(name), readonly=True)
        if status != "OK":
            raise WeeklyError(f"{host}: no mailbox {name!r} for {user} ({_said(said)}); name one that exists in "
                              f"imaps://{user}@{host}/MAILBOX")
        _, found = client.search(None, "ALL")
        numbers = found[0].split()
        for first in range(0, len(numbers), _IMAP_FETCH):  # a round trip per hundred messages, not per message
            _, data = client.fetch(b",".join(numbers[first:first + _IMAP_FETCH]).decode(), "(BODY.PEEK[])")
            yield from (fetched[1] for fetched in data if isinstance(fetched, tuple))
        client.logout()
    except (OSError, imaplib.IMAP4.error) as err:
        raise WeeklyError(f"{host}: IMAP failed: {_said(err)}") from err


def _quoted(name: str) -> str:
    """A mailbox name as an IMAP quoted string (a name may hold spaces)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(what: object) -> str:
    """What an IMAP server said, as one line of text."""
    if isinstance(what, list):
        what = b" ".join(part if isinstance(part, bytes) else str(part).encode() for part in what)
    text = what.decode("utf-8", "replace") if isinstance(what, bytes) else str(what)
    return _clean(text)
