"""The parts of a mail, read only as far as a bounce or a complaint needs, for composer.deliver.bounces.

The standard library's parser reads every part of every nested message and compiles a regular expression
for each multipart boundary it meets (email.feedparser); MTAs give every report a boundary of its own, so
reading 100,000 reports compiled 100,000 patterns, and parsed in full each newsletter copy they quote.
Here a multipart body is cut at its delimiter lines with bytes.find; each part's header block is read
into the standard library's Message (compat32) as its own header parser would, line by line, without its
feed machinery; a quoted message (message/rfc822) is kept as bytes, and only its headers are read, when
asked for. Each part's content type is worked out once.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import NamedTuple

_MAX_DEPTH = 4  # multiparts inside multiparts: deeper ones are not reports
_MAX_PARTS = 100
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")  # lines with their ends, as email.feedparser cuts them
_HEADER_LINE = re.compile(r"(From |[\041-\071\073-\176]*:|[\t ])")  # email.feedparser.headerRE


class Part(NamedTuple):
    """One leaf part: its headers, its content type, and its body as sent (still transfer-encoded)."""

    headers: Message
    kind: str
    body: bytes

    def decoded(self) -> bytes:
        """The body with its Content-Transfer-Encoding undone as the email package undoes it (lenient with
        base64 padding; the body as sent when it cannot be undone)."""
        self.headers.set_payload(self.body.decode("ascii", "surrogateescape"))
        decoded = self.headers.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else self.body

    def text(self) -> str:
        """The decoded body as text; bytes that are not UTF-8 replaced."""
        return self.decoded().decode("utf-8", "replace")

    def quoted_headers(self) -> Message:
        """The headers of the message this part quotes: a whole message (message/rfc822, message/global)
        or its headers alone (text/rfc822-headers, message/global-headers)."""
        raw = self.decoded()
        if self.kind in ("message/rfc822", "message/global"):
            raw = _split(raw)[0]
        return headers_of(raw)


def read(raw: bytes) -> tuple[Message, list[Part]]:
    """A message's headers and its leaf parts, depth first (the message itself when it is not multipart)."""
    head, body = _split(raw)
    headers = headers_of(head)
    parts: list[Part] = []
    _leaves(headers, body, 0, parts)
    return headers, parts


def headers_of(block: bytes) -> Message:
    """A header block as email.parser.BytesHeaderParser(policy=compat32) reads it: 8-bit bytes kept as
    surrogates, folded values kept folded, a Unix From_ line as the unixfrom, malformed lines dropped, the
    headers ending at the first line that is none."""
    message = Message()
    value: list[str] = []
    for number, line in enumerate(_LINES.findall(block.decode("ascii", "surrogateescape"))):
        if not _HEADER_LINE.match(line):
            break
        if line[0] in " \t":
            if value:  # a continuation of nothing is dropped
                value.append(line)
            continue
        if value:
            message.set_raw(*_name_and_value(value))
            value = []
        if line.startswith("From "):
            if number == 0:
                message.set_unixfrom(line.rstrip("\r\n"))
            continue
        if line.find(":") > 0:
            value = [line]
    if value:
        message.set_raw(*_name_and_value(value))
    return message


def _name_and_value(lines: list[str]) -> tuple[str, str]:
    """email.policy.compat32.header_source_parse."""
    name, value = lines[0].split(":", 1)
    return name, (value.lstrip(" \t") + "".join(lines[1:])).rstrip("\r\n")


def _leaves(headers: Message, body: bytes, depth: int, found: list[Part]) -> None:
    kind = headers.get_content_type()
    boundary = headers.get_param("boundary") if kind.startswith("multipart/") else None
    if not isinstance(boundary, str) or not boundary or depth >= _MAX_DEPTH:
        if len(found) < _MAX_PARTS:
            found.append(Part(headers, kind, body))
        return
    for inner in _cut(body, boundary.encode("utf-8", "surrogateescape")):
        head, rest = _split(inner)
        _leaves(headers_of(head), rest, depth + 1, found)


def _cut(body: bytes, boundary: bytes) -> list[bytes]:
    """The parts of a multipart body: what lies between its delimiter lines ("--boundary" alone on a line,
    spaces allowed after it), up to the closing one ("--boundary--") or the end; the preamble and the
    epilogue dropped, and the line break before each delimiter, which belongs to it (RFC 2046 §5.1.1)."""
    delimiter = b"--" + boundary
    lines: list[tuple[int, int, bool]] = []  # each delimiter line: where it starts, where the next line starts,
    at = -1                                   # and whether it closes the multipart
    while len(lines) <= _MAX_PARTS:
        at = body.find(delimiter, at + 1)
        if at == -1:
            break
        if at and body[at - 1] != 0x0A:
            continue  # not at the start of a line
        after = at + len(delimiter)
        closing = body.startswith(b"--", after)
        end = body.find(b"\n", after)
        end = len(body) if end == -1 else end + 1
        if body[after + 2 * closing:end].strip(b" \t\r\n"):
            continue  # a longer line that only begins like the delimiter
        lines.append((at, end, closing))
        if closing:
            break
    parts = []
    for (_, begin, closing), (following, _, _) in zip(lines, [*lines[1:], (len(body) + 1, 0, True)], strict=True):
        if closing:
            break
        end = following - 1
        parts.append(body[begin:max(begin, end - 1 if body[end - 1:end] == b"\r" else end)])
    return parts


def _split(raw: bytes) -> tuple[bytes, bytes]:
    """A message's header block and its body, at the first empty line."""
    if raw.startswith((b"\n", b"\r\n")):
        return b"", raw[1 if raw.startswith(b"\n") else 2:]
    ends = [(at, len(gap)) for gap in (b"\n\n", b"\n\r\n") if (at := raw.find(gap)) != -1]
    if not ends:
        return raw, b""
    at, gap = min(ends)
    return raw[:at + 1], raw[at + gap:]
