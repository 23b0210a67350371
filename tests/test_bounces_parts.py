"""Reading reports without the email package's full parser (issue 24, target 3): composer.deliver.report_parts
finds the same leaf parts, bodies and headers as the standard library on every report in tests/data/dsn and
on generated multiparts (nested, CRLF, preambles, a missing close, base64 and quoted-printable, boundaries
that begin like others); the mbox reader gives the same messages as mailbox.mbox."""

from __future__ import annotations

import base64
import mailbox
import quopri
import random
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import pytest
from conftest import DATA

from composer.deliver.bounces import _mbox
from composer.deliver.report_parts import headers_of, read


def _standard_leaves(message: Message) -> list[tuple[str, bytes | None]]:
    """The leaf parts as the email package parses them: a message/* part is a leaf (its body not compared)."""
    if message.get_content_maintype() == "multipart" and message.is_multipart():
        return [leaf for part in message.get_payload() for leaf in _standard_leaves(part)]
    kind = message.get_content_type()
    return [(kind, None if kind.startswith("message/") else message.get_payload(decode=True) or b"")]


def _our_leaves(raw: bytes) -> list[tuple[str, bytes | None]]:
    return [(part.kind, None if part.kind.startswith("message/") else part.decoded()) for part in read(raw)[1]]


def _same(raw: bytes) -> bool:
    def plain(leaves):  # line ends aside: CRLF or LF, a last line break or not
        return [(kind, None if body is None else body.replace(b"\r\n", b"\n").rstrip(b"\n")) for kind, body in leaves]
    return plain(_standard_leaves(message_from_bytes(raw))) == plain(_our_leaves(raw))


@pytest.mark.parametrize("name", sorted(path.name for path in (DATA / "dsn").glob("*.eml")))
def test_every_sample_report_has_the_standard_librarys_parts(name):
    """Each sample report (Postfix, Exim 8-bit, Sendmail Latin-1, Gmail, Outlook, Yahoo, ARF…), with LF and
    with CRLF line ends: the same leaf parts with the same decoded bodies, and the quoted headers."""
    raw = (DATA / "dsn" / name).read_bytes()
    for variant in (raw, raw.replace(b"\n", b"\r\n")):
        assert _same(variant)
        quoted = [part.quoted_headers() for part in read(variant)[1]
                  if part.kind in ("message/rfc822", "text/rfc822-headers")]
        for headers in quoted:
            assert headers.get("To") is not None


def _leaf(rng: random.Random) -> bytes:
    kind = rng.choice(["text/plain", "text/html", "message/delivery-status", "text/rfc822-headers",
                       "application/octet-stream"])
    data = bytes(rng.choice(b"ab yz\n=\xe9-") for _ in range(rng.randint(0, 300)))
    encoding = rng.choice(["", "base64", "quoted-printable", "8bit"])
    body = {"base64": base64.encodebytes, "quoted-printable": quopri.encodestring}.get(encoding, bytes)(data)
    return (f"Content-Type: {kind}\n" + (f"Content-Transfer-Encoding: {encoding}\n" if encoding else "")).encode() \
        + b"\n" + body


def _multipart(rng: random.Random, depth: int = 0) -> bytes:
    boundary = rng.choice(["b", "----=_Part_1", "----=_Part_1_2"]) + f"_{depth}_{rng.randint(0, 9)}"
    parts = [_multipart(rng, depth + 1) if depth < 2 and rng.random() < 0.3 else _leaf(rng)
             for _ in range(rng.randint(1, 4))]
    quoted = f'"{boundary}"' if rng.random() < 0.5 else boundary
    out = f"Content-Type: multipart/{rng.choice(['report', 'mixed'])}; boundary={quoted}\n\n".encode()
    out += b"a preamble\n" if rng.random() < 0.5 else b""
    for part in parts:
        out += f"--{boundary}{rng.choice(['', '  '])}\n".encode() + part + b"\n"
    out += f"--{boundary}--\n".encode() if rng.random() < 0.8 else b""
    return out + (b"an epilogue\n" if rng.random() < 0.5 else b"")


def test_generated_multiparts_have_the_standard_librarys_parts():
    """600 generated reports: nested multiparts, boundaries that begin like an outer one, CRLF or LF,
    preamble and epilogue, a missing closing delimiter, encoded bodies: the same leaves every time."""
    rng = random.Random(24)
    for _ in range(600):
        raw = b"From: MAILER-DAEMON@example.net\nSubject: x\n" + _multipart(rng)
        raw = raw.replace(b"\n", b"\r\n") if rng.random() < 0.5 else raw
        assert _same(raw), raw[:400]


def test_header_blocks_are_read_as_the_standard_header_parser_reads_them():
    """Folded, 8-bit, a Unix From_ line, a line with no name, a line that ends the headers, CR, LF or CRLF:
    the same headers (compat32) and the same unixfrom, on 3,000 generated blocks."""
    lines = [b"Subject: hello", b"To: a@example.org", b"X-8bit: caf\xc3\xa9 \xe9", b" folded", b"\tfolded",
             b"From MAILER-DAEMON Mon", b"From: x@example.net", b": no name", b"no colon", b"X-Empty:",
             b"Content-Type: text/plain;\n charset=utf-8", b"X-Odd: \x0b\x0c", b"K\x85ey: v"]
    standard = BytesHeaderParser(policy=compat32)
    rng = random.Random(24)
    for _ in range(3000):
        end = rng.choice([b"\n", b"\r\n", b"\r"])
        block = end.join(rng.choice(lines) for _ in range(rng.randint(0, 8))) + (end if rng.random() < 0.8 else b"")
        theirs, ours = standard.parsebytes(block), headers_of(block)
        assert (ours.items(), ours.get_unixfrom()) == (theirs.items(), theirs.get_unixfrom()), block


def test_the_mbox_reader_gives_mailbox_mboxs_messages(tmp_path: Path):
    """Text before the first From_ line, a message with no blank line before the next, a quoted >From, blank
    lines at the end, an empty last message: as mailbox.mbox gives them, read as the file goes."""
    path = tmp_path / "box.mbox"
    path.write_bytes(b"stray text\nFrom a Mon\nSubject: 1\n\nbody\n\nFrom b Tue\nSubject: 2\n\nno blank line\n"
                     b"From c\nSubject: 3\n\n>From quoted\nend\n\n\nFrom d\n\n")
    box = mailbox.mbox(path, create=False)
    assert list(_mbox(path)) == [box.get_bytes(key) for key in box.iterkeys()]
