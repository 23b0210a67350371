"""Each copy goes on the wire from bytes prepared once per issue (CRLF, dot-stuffed, the final dot), written
straight to the SMTP connection: what aiosmtpd and Postfix's smtp-sink receive is the copy, byte for byte.
Signed, its body hash comes from the body canonicalised once, and dkimpy verifies every copy."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import dkim
import pytest
from smtp_server import Server, free_port

from composer.config import Settings, SmtpSettings
from composer.deliver.dkim import BodyHashes
from composer.deliver.message import _PLACEHOLDER, MessageTemplate, Wire, _fill, _Prepared, on_the_wire
from composer.deliver.smtp import Callbacks, Job, deliver
from composer.models import RecipientState as State

UNSUBSCRIBE = "https://dig.watch/unsubscribe"


class Content(NamedTuple):
    subject: str
    html: str
    text: str


# A text part that trips every rule of DATA: lines that start with a dot (alone, doubled, after a bare CR or a
# bare LF), the unsubscribe link starting a line, and the last line without its line end.
TEXT = (".\n..two dots\r\nbare cr\r.after a bare cr\nbare lf\n.after a bare lf\n"
        f"{UNSUBSCRIBE}\n.\r\n. a dot and a space\nno line end.")
HTML = f'<p>.a paragraph</p>\n.<a href="{UNSUBSCRIBE}">Unsubscribe</a>\n'


def _template(dkim_keys=None) -> MessageTemplate:
    settings = Settings(brand={"unsubscribe_url": UNSUBSCRIBE}, smtp={"sender": "DW Weekly <newsletter@dig.watch>"},
                        dkim=dkim_keys.settings() if dkim_keys else {})
    return MessageTemplate(Content("DW Weekly #210", HTML, TEXT), settings.mail, 210)


def _readers(count: int) -> list[Job]:
    names = ["", "Reader", ".Dotted Name", "Zoë Ünal", "O'Brien, Pat"]
    return [Job(number + 1, f"reader{number}@example.org", names[number % len(names)]) for number in range(count)]


def _copy(template: MessageTemplate, job: Job, wire: bool) -> bytes:
    make = template.on_the_wire if wire else template.personalise
    return make(job.address, job.name, f"token{job.rowid}", f"210.{job.rowid}.ab")


def test_a_prepared_copy_is_the_copy_put_on_the_wire():
    """For every reader, the copy from the prepared bytes equals the copy normalised and dot-stuffed whole."""
    template = _template()
    for job in _readers(10):
        assert _copy(template, job, wire=True) == on_the_wire(_copy(template, job, wire=False))


@pytest.mark.parametrize(("values", "why"), [
    ({b"__WEEKLY_A__": b"x", b"__WEEKLY_B__": b".starts a line"}, "a value starting a line with a dot"),
    ({b"__WEEKLY_A__": b"", b"__WEEKLY_B__": b"y"}, "an empty value starting a line before a dot"),
    ({b"__WEEKLY_A__": b"a\r\n.b", b"__WEEKLY_B__": b"y"}, "a value with a line break and a dot line"),
    ({b"__WEEKLY_A__": b"a\rb", b"__WEEKLY_B__": b"y\n"}, "values with bare line ends"),
    ({b"__WEEKLY_A__": b".", b"__WEEKLY_B__": b"."}, "values that are one dot"),
])
def test_any_value_lands_on_the_wire_as_a_whole_copy_would(values, why):
    """Values the prepared bytes cannot take as they are still give the copy exactly as DATA carries it."""
    message = (b"__WEEKLY_A__.text after A\r\n__WEEKLY_B__ and\n.dot line\r\n__WEEKLY_A__\r\n"
               b"__WEEKLY_UNKNOWN__ stays\r\n.__WEEKLY_B__")
    prepared = _Prepared(message)
    assert prepared.fill(values) == on_the_wire(_fill(prepared.message, values)), why


def test_every_copy_arrives_byte_for_byte_at_aiosmtpd():
    """aiosmtpd, undoing the dot-stuffing, receives each reader's copy exactly as personalise makes it."""
    jobs = _readers(12)
    with Server() as server:
        template, outcomes = _send(jobs, server.port)
    assert outcomes == {job.rowid: State.SENT for job in jobs}
    received = {rcpts[0]: content for _, rcpts, content in server.recorder.messages}
    assert received == {job.address: _copy(template, job, wire=False) for job in jobs}


def _sink_missing() -> str | None:
    if shutil.which("smtp-sink", path="/usr/sbin:/usr/bin") is None:
        return "Postfix's smtp-sink is not installed (Debian's postfix)"
    return None


def test_every_copy_arrives_as_made_at_postfix_smtp_sink():
    """Postfix's smtp-sink, which dumps each message it takes, receives each reader's copy as made."""
    reason = _sink_missing()
    if reason:
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)
    dumps = Path(tempfile.mkdtemp(prefix="weekly-sink-"))
    dumps.chmod(0o777)  # smtp-sink writes as the postfix user when started by root
    port = free_port()
    user = ["-u", "postfix"] if os.geteuid() == 0 else []
    sink = subprocess.Popen(["smtp-sink", *user, "-d", f"{dumps}/%H%M%S.", f"127.0.0.1:{port}", "64"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        jobs = _readers(6)
        template, outcomes = _send(jobs, port)
        assert outcomes == {job.rowid: State.SENT for job in jobs}
        time.sleep(0.3)
        received = dict(_dumped(path) for path in dumps.iterdir())
    finally:
        sink.terminate()
        sink.wait(10)
        shutil.rmtree(dumps, ignore_errors=True)
    # smtp-sink keeps lines with a bare newline and adds an empty line after the message.
    assert received == {f"<{job.address}>": _copy(template, job, wire=False).replace(b"\r\n", b"\n") + b"\n"
                        for job in jobs}


def _dumped(path: Path) -> tuple[str, bytes]:
    """(the RCPT argument, the message) of one smtp-sink dump: its own headers end with a three-line Received."""
    lines = path.read_bytes().splitlines(keepends=True)
    rcpt = next(line for line in lines if line.startswith(b"X-Rcpt-Args: "))
    received = next(index for index, line in enumerate(lines) if line.startswith(b"Received: "))
    return rcpt.split(b": ", 1)[1].strip().decode(), b"".join(lines[received + 3:])


def _send(jobs: list[Job], port: int) -> tuple[MessageTemplate, dict[int | None, State]]:
    """Send `jobs` through the pool to 127.0.0.1:`port`; the template and each job's outcome."""
    template = _template()
    outcomes: dict[int | None, State] = {}

    async def sending(job: Job) -> bool:
        return True

    callbacks = Callbacks(sending=sending, retrying=lambda job, reply: None,
                          done=lambda job, state, reply: outcomes.update({job.rowid: state}))
    async def message_for(job: Job) -> Wire:
        return template.on_the_wire(job.address, job.name, f"token{job.rowid}", f"210.{job.rowid}.ab")

    smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", connections=3, timeout_seconds=10)
    asyncio.run(deliver(jobs, message_for, lambda job: "bounces@dig.watch", smtp, None, callbacks))
    return template, outcomes


def test_signed_copies_on_the_wire_verify_with_both_keys(dkim_keys):
    """A signed copy on the wire, its dot-stuffing undone, carries an RSA and an Ed25519 signature that dkimpy
    verifies, for readers of every kind of name."""
    template = _template(dkim_keys)
    for job in _readers(5):
        wire = _copy(template, job, wire=True)
        assert wire.endswith(b"\r\n.\r\n")
        received = wire[:-3].replace(b"\r\n..", b"\r\n.")
        checker = dkim.DKIM(received)
        assert [checker.verify(idx=index, dnsfunc=dkim_keys.dns) for index in (0, 1)] == [True, True], job


@pytest.mark.parametrize(("value", "prepared"), [
    (b"https://dig.watch/u?token=abc", True),
    (b"a value with spaces", False),
    (b"a\ttab", False),
    (b"", False),
])
def test_a_body_hash_from_the_prepared_pieces_is_the_whole_bodys(value, prepared):
    """Where a value leaves the canonical body as it is, the hash from the pieces canonicalised once is the one
    dkimpy computes over the whole copy; any other value asks for the whole copy (None), and so does a line
    break in a header value, which could move where the body starts."""
    message = (b"From: a@dig.watch\r\nTo: __WEEKLY_TO__\r\n\r\nline  with   spaces \r\n__WEEKLY_UNSUBSCRIBE__\r\n"
               b"\t<a href=\"__WEEKLY_UNSUBSCRIBE_HTML__\">x</a>  \r\n\r\n\r\n")
    values = {b"__WEEKLY_TO__": b"r@dig.watch", b"__WEEKLY_UNSUBSCRIBE__": value, b"__WEEKLY_UNSUBSCRIBE_HTML__": value}
    hashes = BodyHashes(message, _PLACEHOLDER)
    whole = _fill(_PLACEHOLDER.split(message), values)
    tags = dkim.DKIM(whole).sign(b"s", b"dig.watch", _rsa_pem(), canonicalize=(b"relaxed", b"relaxed"))
    dkimpy_hash = base64.b64decode(re.search(rb"bh=([^;]+);", b"".join(tags.split()))[1])
    assert hashes.of(values) == (dkimpy_hash if prepared else None)
    assert hashes.of({**values, b"__WEEKLY_TO__": b"r@dig.watch\r\n\r\nnew body"}) is None


def _rsa_pem() -> bytes:
    return subprocess.run(["openssl", "genrsa", "-traditional", "2048"], check=True, capture_output=True).stdout
