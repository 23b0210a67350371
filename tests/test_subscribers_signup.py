"""Sign-up with double opt-in against a real uvicorn server, httpx and a real SMTP server: the confirmation
mail, the click, the welcome, the next issue; and what the form refuses or keeps to itself."""

from __future__ import annotations

import base64
import re
import time
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import KEY, SEEDS, open_test_store
from smtp_server import Server
from test_subscribers_care import PUBLIC, _local, _Web

from composer.config import Settings
from composer.deliver.send import SendOptions, send_issue
from composer.deliver.tokens import CONFIRM, sign_id
from composer.issues import IssueFolder
from composer.pipeline import ComposeOptions, build
from composer.store import open_store

pytestmark = pytest.mark.both_backends
READER = "Zoe.Reader@dw-readers.net"


@pytest.fixture(scope="module")
def issue(tmp_path_factory) -> Path:
    """The seeds' #210, built once, from the sender dig.watch."""
    folder = tmp_path_factory.mktemp("out") / "210"
    build([SEEDS], folder, _settings(tmp_path_factory.mktemp("unused"), 1), ComposeOptions(), date(2026, 11, 22))
    return folder


def _settings(tmp_path: Path, port: int, **extra) -> Settings:
    return Settings(
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "connections": 2, "retry_base_seconds": 0.01,
              "sender": "DW Weekly <newsletter@dig.watch>"},
        signing_key=KEY, output={"dir": str(tmp_path / "out")},
        brand={"unsubscribe_url": f"https://{PUBLIC}/newsletter/unsubscribe",
               "subscribe_url": f"https://{PUBLIC}/newsletter/subscribe",
               "web_url": f"https://{PUBLIC}/newsletter/{{number}}/"},
        serve={"allowed_hosts": [PUBLIC, "127.0.0.1"]}, **extra)


def _mail(smtp: Server, address: str, count: int = 1) -> list[EmailMessage]:
    """The messages `address` received, once there are `count` (sign-up mail goes out after the answer)."""
    deadline = time.monotonic() + 15
    while len(smtp.recorder.parsed(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return smtp.recorder.parsed(address)


def _form(web, email: str, name: str = "", website: str = ""):
    return web.post("/newsletter/subscribe", data={"email": email, "name": name, "website": website})


def _link(message: EmailMessage) -> str:
    return re.search(r"https://\S+token=\S+", message.get_body(("plain",)).get_content())[0]


def _status(address: str) -> str | None:
    with open_test_store() as store:
        reader = store.subscribers.get(address)
        return reader.status.value if reader else None


def _send(issue: Path, settings: Settings):
    with open_store(settings.store, settings.list.id) as store:
        return send_issue(IssueFolder(issue), store, settings.mail, SendOptions(), lambda plan: True)


def test_sign_up_confirm_and_the_next_issue_reaches_the_new_reader(issue, tmp_path):
    """The form, the confirmation mail, a GET that only asks, the POST that subscribes, the welcome mail;
    then `weekly send` with no list sends to the store's readers, the new one among them. Nobody's token
    shows their address."""
    with Server() as smtp:
        settings = _settings(tmp_path, smtp.port)
        with _Web(settings) as web:
            page = web.get("/newsletter/subscribe")
            assert page.status_code == 200 and 'autocomplete="email"' in page.text and '<label for="dw-email">' in page.text
            answer = _form(web, READER, "Zoe Reader")
            assert answer.status_code == 200 and "Check your inbox" in answer.text
            (confirmation,) = _mail(smtp, READER)
            assert confirmation["Subject"] == "Confirm your subscription to DW Weekly"
            link = _link(confirmation)
            assert link.startswith(f"https://{PUBLIC}/newsletter/confirm?token=")
            assert _status(READER) == "unconfirmed"
            asked = web.get(_local(link))
            assert asked.status_code == 200 and "<button" in asked.text and _status(READER) == "unconfirmed", \
                "a GET (a link scanner) confirmed"
            done = web.post(_local(link))
            assert done.status_code == 200 and "You are subscribed" in done.text
            assert _status(READER) == "subscribed"
            assert web.post(_local(link)).status_code == 400, "a confirmation link worked twice"
            _, welcome = _mail(smtp, READER, 2)
        assert welcome["Subject"] == "Welcome to DW Weekly" and welcome["List-Unsubscribe-Post"]
        report = _send(issue, settings)
    assert report.counts["sent"] == 1
    issue_copy = smtp.recorder.parsed(READER)[-1]
    assert issue_copy["Subject"].startswith("DW Weekly #210")
    tokens = [_link(confirmation).split("token=")[1], re.search(r"token=([^>]+)>", welcome["List-Unsubscribe"])[1],
              re.search(r"token=([^>]+)>", issue_copy["List-Unsubscribe"])[1]]
    for token in tokens:
        assert _shows_nothing_of(READER, token), token


def _shows_nothing_of(address: str, token: str) -> bool:
    """No part of `token`, as it is or base64-decoded, holds the address or its local part."""
    local = address.split("@")[0].lower()
    texts = [token.lower()]
    for part in re.split(r"[.~]", token):
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                texts.append(decode(part + "=" * (-len(part) % 4)).decode("latin-1").lower())
            except ValueError:
                continue
    return not any(local in text or "dw-readers" in text for text in texts)


def test_an_unconfirmed_sign_up_gets_no_issue_and_is_forgotten(issue, tmp_path):
    """A reader who never clicks gets the confirmation and nothing else; sign-ups unconfirmed after
    signup.confirm_hours are deleted."""
    with Server() as smtp:
        settings = _settings(tmp_path, smtp.port)
        with _Web(settings) as web:
            assert _form(web, READER).status_code == 200
            assert len(_mail(smtp, READER)) == 1
        with open_test_store() as store:
            store.subscribers.add("known@dw-readers.net", "", "added by hand")
        report = _send(issue, settings)
    assert report.counts["sent"] == 1 and smtp.recorder.received()[READER] == 1, "the unconfirmed reader got the issue"
    with open_test_store() as store:
        assert store.subscribers.forget_unconfirmed(lifetime=0) == 1
        assert store.subscribers.get(READER) is None and store.subscribers.get("known@dw-readers.net") is not None


def test_the_form_says_the_same_whoever_asks_and_refuses_abuse(issue, tmp_path):
    """A known reader and a new one get the same page, and only the new one a mail; a filled honeypot gets
    that page and nothing else; a bad address a 400 with an alert; a forged or expired confirmation a 400;
    more than signup.per_hour sign-ups from one client a 429."""
    with Server() as smtp:
        settings = _settings(tmp_path, smtp.port, signup={"per_hour": 3})
        with open_test_store() as store:
            store.subscribers.add("known@dw-readers.net", "", "added by hand")
        with _Web(settings) as web:
            known = _form(web, "known@dw-readers.net")
            new = _form(web, "new@dw-readers.net")
            assert known.status_code == new.status_code == 200
            assert known.text.replace("known@", "X@") == new.text.replace("new@", "X@")
            bot = _form(web, "bot@dw-readers.net", website="http://spam.example")
            assert bot.status_code == 200 and bot.text.replace("bot@", "X@") == new.text.replace("new@", "X@")
            bad = _form(web, "not an address")
            assert bad.status_code == 400 and 'role="alert"' in bad.text and 'aria-invalid="true"' in bad.text
            assert _form(web, "fifth@dw-readers.net").status_code == 429
            expired = sign_id(CONFIRM, "0" * 32, settings.list.id, KEY.encode(), expires=time.time() - 1)
            assert web.get(f"/newsletter/confirm?token={expired}").status_code == 400
            assert web.post(f"/newsletter/confirm?token={expired[:-3]}abc").status_code == 400
            assert len(_mail(smtp, "new@dw-readers.net")) == 1
    received = smtp.recorder.received()
    assert "known@dw-readers.net" not in received and "bot@dw-readers.net" not in received
    assert _status("bot@dw-readers.net") is None and _status("fifth@dw-readers.net") is None


def test_the_form_posted_as_multipart_signs_up_as_a_urlencoded_one_does(issue, tmp_path):
    """`curl -F email=…` (multipart/form-data, as a site's own copy of the form may post it): the same answer
    as the urlencoded form, the confirmation mail, and the reader subscribed once the link is posted to."""
    with Server() as smtp, _Web(_settings(tmp_path, smtp.port)) as web:
        answer = web.post("/newsletter/subscribe", files={"email": (None, READER), "name": (None, "Zoe Reader"),
                                                           "website": (None, "")})
        assert answer.request.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        (confirmation,) = _mail(smtp, READER)
        assert web.post(_local(_link(confirmation))).status_code == 200
    with open_test_store() as store:
        reader = store.subscribers.get(READER)
    assert (reader.status.value, reader.name) == ("subscribed", "Zoe Reader")


def test_an_over_long_name_gets_the_form_again_with_the_error_and_the_address(issue, tmp_path):
    """A name over 100 characters (refused by an import too: the To line must stay under SMTP's 998 bytes),
    typed or posted multipart: 400 with the form again, an alert on the name saying the limit, the address
    kept; nothing stored or mailed. A name of 100 goes through whole; a body over serve.max_body_bytes (64 KB,
    for every request) gets 413 unread."""
    with Server() as smtp, _Web(_settings(tmp_path, smtp.port)) as web:
        long = _form(web, READER, "N" * 5000)
        multipart = web.post("/newsletter/subscribe", files={"email": (None, READER), "name": (None, "é" * 101)})
        whole = _form(web, "hundred@dw-readers.net", "Ana " + "a" * 96)
        huge = _form(web, "huge@dw-readers.net", "N" * 70_000)
        assert len(_mail(smtp, "hundred@dw-readers.net")) == 1
    assert (long.status_code, multipart.status_code, whole.status_code) == (400, 400, 200)
    assert '<p id="dw-name-error" role="alert">This name has 5000 characters: please shorten it to 100 at most.</p>' \
        in long.text
    assert "This name has 101 characters" in multipart.text
    for page in (long, multipart):
        assert f'name="email" type="email" autocomplete="email" required maxlength="254" value="{READER}"' in page.text
        assert 'aria-invalid="true" aria-describedby="dw-name-error"' in page.text
        assert 'aria-describedby="dw-email-error"' not in page.text
    assert f'value="{"N" * 100}"' in long.text and f'value="{"N" * 101}' not in long.text
    assert huge.status_code == 413 and huge.text == "a request body may have at most 65536 bytes\n"
    assert _status(READER) is None and READER not in smtp.recorder.received()
    with open_test_store() as store:
        assert store.subscribers.get("hundred@dw-readers.net").name == "Ana " + "a" * 96
