"""The MIME message of an issue: multipart/alternative, plain text first and HTML last (RFC 2046).

The message is serialised once per issue (MessageTemplate); each reader's copy is made by substituting
their address, Message-ID and unsubscribe link in its bytes, then DKIM-signed when keys are set, so the
signature covers exactly what that reader gets, List-Unsubscribe and List-Unsubscribe-Post included
(RFC 8058 one-click is honoured only then). `sample_message` is that copy for one reader: issue.eml.

The bytes SMTP's DATA carries (CRLF line ends, a leading dot doubled, the final dot: `on_the_wire`) are
prepared once per issue too: a reader's values go into the prepared bytes, so a copy of 50 KB costs a
join, not two regular expressions over it (they were most of a send's CPU).
"""

from __future__ import annotations

import re
import secrets
from email.charset import Charset
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy, Policy
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from html import escape as html_escape
from typing import Any, NamedTuple, NewType, Protocol

from composer.config import MailSettings
from composer.deliver.dkim import BodyHashes, Signer
from composer.deliver.subscribers import CONTROL, MAX_NAME
from composer.deliver.tokens import COPY, sign_id
from composer.errors import WeeklyError
from composer.web.paths import leave_url

PLACEHOLDER_TO = "Subscriber <subscriber@example.invalid>"
# A message as SMTP's DATA carries it (on_the_wire): what the pool writes as it is, so never plain bytes.
Wire = NewType("Wire", bytes)


# Headers a machine reads as they are: URLs (RFC 2369, RFC 8058) and identifiers in angle brackets (RFC 2919).
# Addresses (From, To, Reply-To) and Message-ID have structured header classes that fold them correctly.
_MACHINE_READ = ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "List-Help", "List-Subscribe", "List-Post",
                 "List-Owner", "List-Archive", "Archived-At")
_FOLD_AT = 78  # RFC 5322's recommended line length; a longer word stays whole on its own line
_MAX_HEADER_LINE = 998


class _PlainHeader(BaseHeader):
    """A header written as it is: plain ASCII, folded only at the whitespace it holds. The email package
    folds an unstructured header holding a word longer than a line into RFC 2047 encoded words, which no
    provider reads back as a URL (and which would hide a copy's placeholders from substitution)."""

    max_count = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["parse_tree"] = UnstructuredHeader.value_parser(value)  # BaseHeader keeps one; `fold` never uses it
        kwds["decoded"] = value

    def fold(self, *, policy: Policy) -> str:
        return fold_plain(self.name, str(self), policy.linesep)


def fold_plain(name: str, value: str, linesep: str = "\r\n") -> str:
    """`name: value` and its line end, folded only at whitespace; WeeklyError if the value is not ASCII or a
    word of it would not fit SMTP's line."""
    if not value.isascii():
        raise WeeklyError(f"the {name} header must be plain ASCII (a URL or an address as it is): {value!r}")
    lines = [f"{name}:"]
    for word in value.split():
        if len(lines[-1]) + 1 + len(word) > _FOLD_AT and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += " " + word
    if any(len(line) > _MAX_HEADER_LINE for line in lines):
        raise WeeklyError(f"the {name} header has a word too long for one line of mail ({_MAX_HEADER_LINE} bytes): "
                          f"{value[:80]}…")
    return linesep.join(lines) + linesep


def _policy() -> EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    for name in _MACHINE_READ:
        registry.map_to_type(name, _PlainHeader)
    return SMTP.clone(header_factory=registry)


# The policy every message weekly writes is made with: SMTP's, with the machine-read headers kept plain.
MAIL_POLICY = _policy()


class MailContent(Protocol):
    """What a message is made of: a rendered issue (models.RenderedIssue) or a built one (issues.IssueFolder)."""

    @property
    def subject(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str: ...


class _Content(NamedTuple):
    subject: str
    html: str
    text: str


def build_message(content: MailContent, sender: str, to: str = PLACEHOLDER_TO, cte: str | None = None) -> EmailMessage:
    """A complete message from `sender` to `to`, with a fresh Message-ID on the sender's domain.

    `cte` forces the parts' transfer encoding (None lets the email package choose).
    """
    for name, value in (("From", sender), ("To", to), ("Subject", content.subject)):
        if "\r" in value or "\n" in value:
            raise WeeklyError(f"the {name} header may not contain a line break: {value!r}")
    domain = parseaddr(sender)[1].rpartition("@")[2]
    if not domain:
        raise WeeklyError(f"smtp.sender {sender!r} has no address with a domain")
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = content.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(content.text, cte=cte)
    message.add_alternative(content.html, subtype="html", cte=cte)
    return message


# Per-recipient parts of the message, substituted in its bytes (never re-rendered or re-serialised).
_TO, _MESSAGE_ID = "__WEEKLY_TO__", "__WEEKLY_MESSAGE_ID__"
_UNSUBSCRIBE, _UNSUBSCRIBE_HTML, _TOKEN = "__WEEKLY_UNSUBSCRIBE__", "__WEEKLY_UNSUBSCRIBE_HTML__", "__WEEKLY_TOKEN__"
_PLACEHOLDER = re.compile(rb"(__WEEKLY_[A-Z_]+__)")
# SMTP allows 998 bytes a line; an 8bit body must respect it, so long HTML lines break between blocks.
MAX_LINE = 990
_BLOCK_BOUNDARY = re.compile(r"(?<=>)(?=<(?:/?(?:table|tbody|tr|td|div|p|style|meta|head|body)\b|!--))")


class MessageTemplate:
    """The issue's message serialised once; `personalise` makes each recipient's copy from its bytes.

    Both parts are sent 8bit (every server we target advertises 8BITMIME), so placeholders stay whole:
    quoted-printable or base64 would split them across encoded lines.
    With `one_click` False (one message to a Mailman or Sympa list), the list manager handles
    unsubscription: no List-Unsubscribe headers and no token, whose address would be the whole list's.
    """

    def __init__(self, content: MailContent, mail: MailSettings, issue: int | str, one_click: bool = True) -> None:
        unsubscribe_url, sender = mail.unsubscribe_url, mail.smtp.sender
        html = content.html.replace(html_escape(unsubscribe_url), _UNSUBSCRIBE_HTML)
        text = content.text.replace(unsubscribe_url, _UNSUBSCRIBE)
        if _UNSUBSCRIBE_HTML not in html or _UNSUBSCRIBE not in text:
            raise WeeklyError(f"the issue has no visible unsubscribe link to {unsubscribe_url}; render it again "
                              "with the current brand.unsubscribe_url")
        message = build_message(_Content(content.subject, fit_line_length(html), text), sender, to=_TO, cte="8bit")
        domain = parseaddr(sender)[1].rpartition("@")[2]
        message.replace_header("Message-ID", f"<{_MESSAGE_ID}@{domain}>")
        if mail.smtp.reply_to:
            message["Reply-To"] = mail.smtp.reply_to
        message["List-Id"] = formataddr((mail.list.name, mail.list.id))  # a name not in ASCII encoded, the id never
        if one_click:
            message["List-Unsubscribe"] = (f"<{_UNSUBSCRIBE}>, "
                                           f"<mailto:{mail.list.unsubscribe_mailto}?subject=unsubscribe%20{_TOKEN}>")
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        if mail.list.feedback_id:
            message["Feedback-ID"] = ":".join(part.replace("{issue}", str(issue)) for part in mail.list.feedback_id)
        # Vacation replies and out-of-office notices would land in the sender's (bounce) mailbox.
        message["Precedence"] = "bulk"
        message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
        self.unsubscribe_url = unsubscribe_url
        # Readers of a list address leave through the list manager: their footer links to a page saying how.
        self.bare_url = unsubscribe_url if one_click else leave_url(unsubscribe_url)
        self.one_click = one_click
        self._signer = Signer(mail.dkim) if mail.dkim.keys else None
        serialised = message.as_bytes()
        self._parts = _PLACEHOLDER.split(serialised)
        self._wire = _Prepared(serialised)
        self._body_hashes = BodyHashes(serialised, _PLACEHOLDER) if self._signer else None

    @property
    def signs(self) -> bool:
        """Whether each copy gets DKIM signatures (dkim.keys are set)."""
        return self._signer is not None

    def personalise(self, address: str, name: str, token: str | None, message_id: str) -> bytes:
        """The bytes of one recipient's copy, DKIM-signed when keys are set; with no `token`, the unsubscribe
        link is the page itself."""
        values = self._values(address, name, token, message_id)
        copy = _fill(self._parts, values)
        return self._signatures(copy, values) + copy

    def on_the_wire(self, address: str, name: str, token: str | None, message_id: str) -> Wire:
        """The same copy as DATA carries it (`on_the_wire(personalise(…))`), made from the prepared bytes."""
        values = self._values(address, name, token, message_id)
        wire = self._wire.fill(values)
        if not self._signer:
            return wire
        # The signature is made over the copy as the reader gets it, never over its dot-stuffed form.
        return Wire(on_the_wire(self._signatures(_fill(self._parts, values), values), end=False) + wire)

    def _signatures(self, copy: bytes, values: dict[bytes, bytes]) -> bytes:
        """The copy's DKIM-Signature headers, or nothing without keys."""
        if not self._signer or not self._body_hashes:
            return b""
        return self._signer.headers(copy, self._body_hashes.of(values))

    def _values(self, address: str, name: str, token: str | None, message_id: str) -> dict[bytes, bytes]:
        joiner = "&" if "?" in self.unsubscribe_url else "?"
        url = f"{self.unsubscribe_url}{joiner}token={token}" if token else self.bare_url
        return {
            _TO_KEY: to_field(name, address).encode(),
            _MESSAGE_ID_KEY: message_id.encode(),
            _UNSUBSCRIBE_KEY: url.encode(),
            _UNSUBSCRIBE_HTML_KEY: html_escape(url).encode(),
            _TOKEN_KEY: (token or "").encode(),
        }


_WORD_BYTES = 45  # of UTF-8 text in one encoded word: its base64 with =?utf-8?b?…?= is 72 characters (≤ 75)
_UTF8 = Charset("utf-8")


def one_line_name(name: str) -> str:
    """A reader's name as a To line carries it: control characters (a line break would start a header of
    its own) as spaces, at most MAX_NAME characters. Names are checked where they come in (list files,
    imports, `subscribers add`, the sign-up form); this holds for whatever a store already holds."""
    return " ".join(CONTROL.sub(" ", name).split())[:MAX_NAME]


def to_field(name: str, address: str) -> str:
    """One copy's To value, on one line: formataddr's, with a long non-ASCII name in several encoded words
    of at most 75 characters each (RFC 2047 section 2) instead of one of hundreds."""
    name = one_line_name(name)
    if name.isascii():
        return formataddr((name, address))
    pieces, piece = [], ""
    for char in name:
        if len((piece + char).encode()) > _WORD_BYTES:
            pieces.append(piece)
            piece = ""
        piece += char
    pieces.append(piece)
    return f"{' '.join(_UTF8.header_encode(piece) for piece in pieces)} <{address}>"


_TO_KEY, _MESSAGE_ID_KEY, _TOKEN_KEY = _TO.encode(), _MESSAGE_ID.encode(), _TOKEN.encode()
_UNSUBSCRIBE_KEY, _UNSUBSCRIBE_HTML_KEY = _UNSUBSCRIBE.encode(), _UNSUBSCRIBE_HTML.encode()


def _fill(parts: list[bytes], values: dict[bytes, bytes]) -> bytes:
    """`parts` (split on the placeholders, which sit at the odd indexes) with each placeholder's value; text
    that only looks like a placeholder stays as it is."""
    return b"".join([values.get(part, part) if index % 2 else part for index, part in enumerate(parts)])


_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def on_the_wire(message: bytes, end: bool = True) -> Wire:
    """`message` as DATA carries it (RFC 5321 4.5.2): CRLF line ends, a leading dot doubled, and with `end`
    the final dot."""
    wire = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", message))
    if not wire.endswith(b"\r\n"):
        wire += b"\r\n"
    return Wire(wire + b".\r\n" if end else wire)


class _Prepared:
    """A message with placeholders, on the wire once; `fill` puts one copy's values in. What lies between the
    placeholders is already CRLF and dot-stuffed; a value is put in as it is when that stays true: it holds
    no line break, and one starting a line either is not empty (the text after it would start the line) or
    gets its leading dot doubled. Any other value (none that `personalise` makes) takes the slow road."""

    def __init__(self, message: bytes) -> None:
        self.message = _PLACEHOLDER.split(message)
        self.parts = _PLACEHOLDER.split(on_the_wire(message))
        # Placeholders hold no dot and no line break, so the split falls at the same places.
        assert len(self.parts) == len(self.message)
        self.line_starts = {index for index in range(1, len(self.parts), 2)
                            if self.parts[index - 1].endswith(b"\n") or (index == 1 and not self.parts[0])}

    def fill(self, values: dict[bytes, bytes]) -> Wire:
        parts = self.parts[:]
        for index in range(1, len(parts), 2):
            value = values.get(parts[index], parts[index])
            if b"\n" in value or b"\r" in value or (index in self.line_starts and not value):
                return on_the_wire(_fill(self.message, values))
            parts[index] = b"." + value if value[:1] == b"." and index in self.line_starts else value
        return Wire(b"".join(parts))


def sample_message(content: MailContent, issue: int, mail: MailSettings) -> bytes:
    """issue.eml: the copy one reader would get, every header as sent and 8bit, signed as sent. The reader
    is the sender's own mailbox; its unsubscribe token has a reader's length (naming no ledger row) when the
    signing key is set."""
    address = parseaddr(mail.smtp.sender)[1]
    key = mail.signing_key.get_secret_value().encode() if mail.signing_key else None
    token = sign_id(COPY, "0", mail.list.id, key) if key else None
    message_id = f"{issue}.sample.{secrets.token_hex(4)}"
    return MessageTemplate(content, mail, issue).personalise(address, "", token, message_id)


def fit_line_length(html: str) -> str:
    """`html` with lines over SMTP's limit broken between block tags, else at whitespace where a line break
    means what the space did: between words of text and between a tag's attributes, never inside an
    attribute value, a comment or <pre>, <textarea>, <script> or <style>. LineTooLong if one cannot be."""
    if all(len(line.encode()) <= MAX_LINE for line in html.splitlines()):
        return html
    lines: list[str] = []
    raw: str | None = None  # the raw-text element (pre, style …) the scan is in, across lines
    for line in html.splitlines():
        for part in _BLOCK_BOUNDARY.sub("\n", line).splitlines() if len(line.encode()) > MAX_LINE else [line]:
            breaks, raw = _breaks(part, raw)
            lines.extend(_broken(part, breaks) if len(part.encode()) > MAX_LINE else [part])
    return "\n".join(lines)


class LineTooLong(WeeklyError):
    """A line of the email over SMTP's limit with no safe place to break it; `fragment` is the stretch
    (a long word or link) that holds it."""

    def __init__(self, size: int, fragment: str) -> None:
        super().__init__(f"the email has a line of {size} bytes that cannot be broken safely: "
                         f"{fragment[:60]!r}… runs {len(fragment.encode())} bytes without a space")
        self.fragment = fragment


# A piece of HTML: a conditional comment's markers, a comment, a doctype, a tag (quoted values whole), or text.
_PIECE = re.compile(r"""<!--\[if[^\]]*\]>|<!-->|<!--.*?-->|<![^>]*>|</?[A-Za-z][^\s/>]*(?:[^>"']|"[^"]*"|'[^']*')*>"""
                    r"""|[^<]+|<""", re.DOTALL)
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_RAW_TEXT = {"pre", "textarea", "script", "style"}
_UNQUOTED_SPACE = re.compile(r"""("[^"]*"|'[^']*')|[ \t]""")


def _breaks(line: str, raw: str | None) -> tuple[list[int], str | None]:
    """Where `line` may break (indexes of spaces and tabs a line break can stand for), and the raw-text
    element open at its end (`raw` at its start)."""
    breaks: list[int] = []
    for piece in _PIECE.finditer(line):
        text, start = piece[0], piece.start()
        tag = _TAG_NAME.match(text) if text.endswith(">") and text[1:2] != "!" else None
        if tag:
            closing, name = tag[1] == "/", tag[2].lower()
            if raw is None or (closing and name == raw):
                breaks += [start + space.start() for space in _UNQUOTED_SPACE.finditer(text) if not space[1]]
            if raw is None and not closing and name in _RAW_TEXT:
                raw = name
            elif closing and name == raw:
                raw = None
        elif raw is None and not text.startswith("<"):
            breaks += [start + index for index, char in enumerate(text) if char in " \t"]
    return breaks, raw


def _broken(line: str, breaks: list[int]) -> list[str]:
    """`line` broken at the fewest of `breaks` that keep each line within the limit."""
    offsets = [0]
    for char in line:
        offsets.append(offsets[-1] + len(char.encode()))
    lines, start = [], 0
    while offsets[-1] - offsets[start] > MAX_LINE:
        fitting = [index for index in breaks if start < index and offsets[index] - offsets[start] <= MAX_LINE]
        if not fitting:
            end = next((index for index in breaks if index > start), len(line))
            raise LineTooLong(offsets[-1] - offsets[start], line[start:end])
        lines.append(line[start : fitting[-1]])
        start = fitting[-1] + 1
    return [*lines, line[start:]]
