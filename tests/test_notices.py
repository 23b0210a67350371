"""The sign-up mails (confirmation, welcome) as the SMTP server gets them: every header that carries a URL or an
address is plain ASCII, folded at whitespace only (RFC 2369, RFC 8058), never RFC 2047-encoded."""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from conftest import KEY
from smtp_server import Server
from test_subscribers_care import _local, _Web

from composer.config import Settings

pytestmark = pytest.mark.both_backends

PUBLIC = "news.example.org"
READER = "zoe.reader@dw-readers.net"
# Long enough that `List-Unsubscribe: <URL?token=…>` cannot fit a 78-character line: the email package then
# folds it into encoded words unless told otherwise.
LONG_PATH = "/newsletter/digital-watch-weekly/subscription-management/unsubscribe"
# Headers whose value a machine reads as it is: addresses, URLs, identifiers.
MACHINE_READ = ("From", "To", "Reply-To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id")


def _settings(tmp_path: Path, port: int) -> Settings:
    return Settings(
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "connections": 1, "retry_base_seconds": 0.01,
              "sender": "DW Weekly <newsletter@dig.watch>", "reply_to": "DW Team <editors@dig.watch>"},
        signing_key=KEY, output={"dir": str(tmp_path / "out")},
        brand={"unsubscribe_url": f"https://{PUBLIC}{LONG_PATH}",
               "subscribe_url": f"https://{PUBLIC}/newsletter/subscribe",
               "web_url": f"https://{PUBLIC}/newsletter/{{number}}/"},
        serve={"allowed_hosts": [PUBLIC, "127.0.0.1"], "queue_file": str(tmp_path / "queue.jsonl")})


def raw_headers(raw: bytes) -> dict[str, list[bytes]]:
    """Each header of `raw` as its lines came on the wire (continuation lines included), by name."""
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]
    headers: dict[str, list[bytes]] = {}
    current: list[bytes] = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t"):
            current.append(line)
        else:
            current = [line]
            headers.setdefault(line.split(b":", 1)[0].decode("ascii").lower(), current)
    return headers


def plain_value(lines: list[bytes]) -> str:
    """The header's value with its folds undone, asserting they were made at whitespace in plain ASCII."""
    assert all(line.isascii() for line in lines), lines
    unfolded = b"".join(lines).split(b":", 1)[1].strip().decode("ascii")
    assert "=?" not in unfolded, f"RFC 2047-encoded: {lines}"
    assert all(len(line) <= 998 for line in lines)
    return unfolded


def _wait_for(smtp: Server, count: int) -> list[bytes]:
    deadline = time.monotonic() + 15
    while len(smtp.recorder.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [raw for _, _, raw in smtp.recorder.messages]


def _link(raw: bytes, page: str) -> str:
    """The link to `page` in the message's text, as the reader sees it."""
    text = message_from_bytes(raw, policy=default).get_body(("plain",)).get_content()
    return re.search(rf"https://\S+/{page}\?token=\S+", text)[0]


def test_sign_up_mails_carry_urls_and_addresses_as_plain_ascii(tmp_path):
    """A sign-up through the real form: the confirmation and the welcome as received, with a long unsubscribe
    URL: List-Unsubscribe is `<URL>` exactly as the body shows it, and no URL or address header is encoded."""
    with Server() as smtp:
        settings = _settings(tmp_path, smtp.port)
        with _Web(settings) as web:
            assert web.post("/newsletter/subscribe", data={"email": READER, "name": "Zoe Reader"}).status_code == 200
            (confirmation,) = _wait_for(smtp, 1)
            link = _link(confirmation, "confirm")
            assert web.post(_local(link)).status_code == 200
            welcome = _wait_for(smtp, 2)[1]
    for raw in (confirmation, welcome):
        headers = raw_headers(raw)
        values = {name: plain_value(headers[name.lower()]) for name in MACHINE_READ if name.lower() in headers}
        assert values["From"] == "DW Weekly <newsletter@dig.watch>"
        assert values["To"] == f"Zoe Reader <{READER}>"
        assert values["Reply-To"] == "DW Team <editors@dig.watch>"
        assert re.fullmatch(r"<[^<>\s]+@dig\.watch>", values["Message-ID"])
    assert "list-unsubscribe" not in raw_headers(confirmation), "no reader yet to unsubscribe"
    headers = raw_headers(welcome)
    unsubscribe = _link(welcome, "unsubscribe")
    assert unsubscribe.startswith(f"https://{PUBLIC}{LONG_PATH}?token=")
    assert plain_value(headers["list-unsubscribe"]) == f"<{unsubscribe}>"
    assert plain_value(headers["list-unsubscribe-post"]) == "List-Unsubscribe=One-Click"
