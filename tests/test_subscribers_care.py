"""What subscribers do after a send: one-click unsubscribe against a real uvicorn server, bounces and
complaints read from a real mbox and Maildir, and the suppression list by hand."""

from __future__ import annotations

import mailbox
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from conftest import DATA, KEY, SEEDS, open_test_store, run_weekly, write_list
from issue_fixtures import full_draft
from smtp_server import Server

from composer.config import Settings
from composer.deliver.send import SendOptions, send_issue
from composer.deliver.tokens import sign
from composer.issues import IssueFolder
from composer.pipeline import ComposeOptions, build, render_draft
from composer.serve import create_app
from composer.store import open_store

pytestmark = pytest.mark.both_backends

PUBLIC = "news.example.org"


@pytest.fixture(scope="module")
def issue(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "210"
    build([SEEDS], folder, _settings(tmp_path_factory.mktemp("unused"), 1), ComposeOptions(),
          __import__("datetime").date(2026, 11, 22))
    return folder


def _settings(tmp_path: Path, port: int, **extra) -> Settings:
    return Settings(
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "connections": 2, "retry_base_seconds": 0.01},
        signing_key=KEY, output={"dir": str(tmp_path / "out")},
        brand={"unsubscribe_url": f"https://{PUBLIC}/newsletter/unsubscribe"},
        serve={"allowed_hosts": [PUBLIC, "127.0.0.1"], "queue_file": str(tmp_path / "queue.jsonl"),
               **extra.pop("serve", {})}, **extra)


def _send(folder: Path, settings: Settings, subscribers: Path):
    with open_store(settings.store, settings.list.id) as store:
        return send_issue(IssueFolder(folder), store, settings.mail, SendOptions(list_file=subscribers),
                          lambda plan: True)


def _suppressed() -> set[str]:
    with open_test_store() as store:
        return {row.email for row in store.suppressions.all()}


class _Web:
    """A real uvicorn server with the app, on 127.0.0.1, in a thread."""

    def __init__(self, settings: Settings) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", headers={"Host": PUBLIC},
                                   follow_redirects=False, timeout=10)
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)


def _eventually(condition, seconds: float = 15) -> bool:
    """Whether `condition()` holds within `seconds` (the unsubscribe queue reaches the store in the background)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _local(url: str) -> str:
    """The path and query of a List-Unsubscribe URL, to send to the local server as the proxy would."""
    return re.sub(r"^https://[^/]+", "", url)


def test_one_click_unsubscribe_from_a_received_message_stops_the_next_send(issue, tmp_path, caplog):
    """The List-Unsubscribe URL of a message the SMTP server received, POSTed with List-Unsubscribe=One-Click:
    200 with no redirect, the address suppressed (once the queue reached the store), and the next issue
    skips it. A GET only asks."""
    subscribers = write_list(tmp_path / "list.csv", 3)
    with Server() as smtp:
        settings = _settings(tmp_path, smtp.port)
        assert _send(issue, settings, subscribers).counts["sent"] == 3
        (message,) = smtp.recorder.parsed("reader1@example.org")
        url = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])[0]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        with caplog.at_level("INFO", logger="weekly.serve"), _Web(settings) as web:
            asked = web.get(_local(url))
            assert asked.status_code == 200 and "<button>Unsubscribe</button>" in asked.text
            assert "reader1@example.org" not in _suppressed(), "a GET unsubscribed"
            done = web.post(_local(url), content="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert done.status_code == 200 and "You are unsubscribed" in done.text
            assert _eventually(lambda: "reader1@example.org" in _suppressed())
        assert "reader1@example.org" not in caplog.text and "address " in caplog.text
        next_issue = tmp_path / "out" / "211"
        render_draft(full_draft(), next_issue, settings)
        report = _send(next_issue, settings, subscribers)
    assert report.counts["sent"] == 2 and report.counts["skipped"] == 1
    assert smtp.recorder.received()["reader1@example.org"] == 1, "the next issue went to the unsubscribed reader"


def test_the_endpoint_refuses_what_it_should(issue, tmp_path):
    """Forged or other-list tokens, a wrong Host, path traversal, a body without One-Click, too many
    requests; the page's resubscribe form undoes an unsubscription; the archive is served."""
    settings = _settings(tmp_path, 1, serve={"rate_per_minute": 12})
    render_draft(full_draft(), tmp_path / "out" / "211", settings)
    token = sign("reader@example.org", settings.list.id, KEY.encode())
    other = sign("reader@example.org", "another-list.example.org", KEY.encode())
    path = "/newsletter/unsubscribe?token="
    one_click = {"content": "List-Unsubscribe=One-Click",
                 "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
    with _Web(settings) as web:
        assert web.post(path + token[:-2] + "xx", **one_click).status_code == 400
        assert web.post(path + other, **one_click).status_code == 400
        assert web.post(path + token, content="nothing", headers=one_click["headers"]).status_code == 400
        for tokenless in ("/newsletter/unsubscribe", path):  # a test copy's List-Unsubscribe names no reader
            answer = web.post(tokenless, **one_click)
            assert answer.status_code == 400 and "nothing was changed" in answer.text, answer.text
        assert web.get(path + token, headers={"Host": "evil.example.com"}).status_code == 400
        assert web.get("/../../etc/passwd").status_code == 404 and web.get("/211/../../x").status_code == 404
        done = web.post(path + token, **one_click)
        assert done.status_code == 200
        assert _eventually(lambda: "reader@example.org" in _suppressed())
        fields = dict(re.findall(r'name="(token|form)" value="([^"]+)"', done.text))
        back = web.post("/newsletter/resubscribe", data=fields, headers={"Origin": f"https://{PUBLIC}"})
        assert back.status_code == 200 and "Welcome back" in back.text
        assert _eventually(lambda: "reader@example.org" not in _suppressed())
        assert "<html" in web.get("/").text and web.get("/211/").status_code == 200
        codes = [web.get("/").status_code for _ in range(12)]
    assert codes[-1] == 429 and 200 in codes


def _mailbox_of(samples: list[tuple[str, dict]], target: Path, maildir: bool = False) -> Path:
    box = mailbox.Maildir(target, create=True) if maildir else mailbox.mbox(target, create=True)
    for name, values in samples:
        box.add((DATA / "dsn" / name).read_text(encoding="utf-8").format(**values).encode())
    box.flush()
    box.close()
    return target


def test_a_dsn_mbox_suppresses_exactly_the_hard_bounced(issue, tmp_path):
    """Gmail and Outlook hard bounces, a Yahoo soft bounce, an ARF complaint, a mailed unsubscribe and a
    bounce for a stranger: the two hard-bounced, the complainer and the unsubscriber are suppressed, the
    soft bounce is counted, the stranger is listed as not applied."""
    subscribers = write_list(tmp_path / "list.csv", 6)
    with Server() as smtp:
        settings = _settings(tmp_path, smtp.port)
        _send(issue, settings, subscribers)
    ids = {n: smtp.recorder.parsed(f"reader{n}@example.org")[0]["Message-ID"] for n in range(6)}
    samples = [
        ("gmail-hard.eml", {"recipient": "reader0@example.org", "message_id": ids[0]}),
        ("outlook-hard.eml", {"recipient": "reader1@example.org", "message_id": ids[1]}),
        ("yahoo-soft.eml", {"recipient": "reader2@example.org", "message_id": ids[2]}),
        ("arf-complaint.eml", {"recipient": "reader3@example.org", "message_id": ids[3]}),
        ("mailto-unsubscribe.eml", {"recipient": "reader4@example.org",
                                    "token": sign("reader4@example.org", settings.list.id, KEY.encode())}),
        ("unknown-hard.eml", {}),
    ]
    source = _mailbox_of(samples, tmp_path / "bounces.mbox")
    env = {**__import__("os").environ, "WEEKLY_SIGNING_KEY": KEY}
    done = run_weekly("bounces", str(source), env=env)
    assert done.returncode == 0, done.stderr
    assert "2 hard bounce, 1 complaint, 1 soft bounce, 1 unsubscribed, 1 not applied" in done.stdout
    with open_test_store() as store:
        reasons = {row.email: row.reason for row in store.suppressions.all()}
    assert {email for email, reason in reasons.items() if reason.startswith("hard bounce")} == {
        "reader0@example.org", "reader1@example.org"}
    assert reasons["reader3@example.org"] == "complaint: abuse" and reasons["reader4@example.org"] == "unsubscribed: by mail"
    assert "reader2@example.org" not in reasons and "stranger@example.net" not in reasons


def test_soft_bounces_in_enough_issues_suppress_and_a_maildir_is_read(issue, tmp_path):
    """A reader soft-bounces in three issues (bounces.soft_limit): suppressed after the third; read from a Maildir."""
    subscribers = write_list(tmp_path / "list.csv", 1)
    with Server() as smtp:
        settings = _settings(tmp_path, smtp.port, bounces={"soft_limit": 3})
        _send(issue, settings, subscribers)
        message_id = smtp.recorder.parsed("reader0@example.org")[0]["Message-ID"]
    with open_test_store() as store:
        for issue_number in (208, 209):
            store.suppressions.soft_bounce("reader0@example.org", issue_number)
    source = _mailbox_of([("yahoo-soft.eml", {"recipient": "reader0@example.org", "message_id": message_id})],
                         tmp_path / "Maildir", maildir=True)
    env = {**__import__("os").environ, "WEEKLY_SIGNING_KEY": KEY}
    done = run_weekly("bounces", str(source), env=env)
    assert done.returncode == 0 and "suppressed after 3 issues" in done.stdout


def test_the_suppression_list_by_hand(tmp_path):
    """Add, list, export and remove suppressed addresses, each with its reason and date."""
    env = dict(__import__("os").environ)
    assert run_weekly("suppressed", "--add", "a@example.org", "--reason", "asked by phone", env=env).returncode == 0
    assert run_weekly("suppressed", "--add", "b@example.org", env=env).returncode == 0
    listed = run_weekly("suppressed", env=env)
    assert "a@example.org  manual: asked by phone" in listed.stdout and "b@example.org  manual" in listed.stdout
    assert run_weekly("suppressed", "--export", str(tmp_path / "s.csv"), env=env).returncode == 0
    rows = (tmp_path / "s.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "email,reason,added" and len(rows) == 3
    assert run_weekly("suppressed", "--remove", "a@example.org", env=env).stdout.strip() == \
        "a@example.org no longer suppressed"
    bad = run_weekly("suppressed", "--add", "not an address", env=env)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
