"""Sending against a real SMTP server in the test process (aiosmtpd); no mocks of aiosmtplib."""

from __future__ import annotations

import re
import socket
import sqlite3
import ssl
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from conftest import KEY, SEEDS, open_test_store, write_list
from pydantic import ValidationError
from smtp_server import Server, password_is, self_signed_certificate

from composer.config import Settings, StoreSettings
from composer.deliver.message import build_message
from composer.deliver.readers import address_of
from composer.deliver.send import SendOptions, send_issue
from composer.deliver.tokens import TokenError, sign, verify
from composer.errors import WeeklyError
from composer.issues import IssueFolder
from composer.models import RenderedIssue
from composer.pipeline import ComposeOptions, build
from composer.store import open_store

pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def issue(tmp_path_factory) -> Path:
    """The seeds' issue, built once: out/210."""
    folder = tmp_path_factory.mktemp("out") / "210"
    build([SEEDS], folder, Settings(), ComposeOptions(), date(2026, 11, 22))
    return folder


def settings_for(server: Server, list_id: str = "dw-weekly.dig.watch", **smtp) -> Settings:
    """Settings for the test's server; the store is the test's own (WEEKLY_STORE__URL), rows kept per `list_id`."""
    return Settings(
        smtp={"host": "127.0.0.1", "port": server.port, "security": "none", "connections": 4,
              "retry_base_seconds": 0.01, "retries": 3, **smtp},
        signing_key=KEY, list={"id": list_id},
    )


def send(issue, settings, **options):
    with open_store(settings.store, settings.list.id) as store:
        return send_issue(IssueFolder(issue), store, settings.mail, SendOptions(**options), confirm=lambda plan: True)


def test_every_recipient_gets_exactly_one_message_with_every_header(issue, tmp_path):
    """40 readers (plus a duplicate in other case and an invalid row): 40 messages, one each, all headers."""
    subscribers = write_list(tmp_path / "list.csv", 40, [["READER3@example.org", "dup", ""], ["nope", "x", ""]])
    with Server() as server:
        report = send(issue, settings_for(server), list_file=subscribers)
    assert report.sent_now == 40 and report.counts["sent"] == 40
    assert [str(row) for row in report.invalid_rows] == [f"{subscribers}:43: 'nope' is not a valid address"]
    received = server.recorder.received()
    assert len(received) == 40 and set(received.values()) == {1}
    message_ids = set()
    for number in (0, 17, 39):
        address = f"reader{number}@example.org"
        (message,) = server.recorder.parsed(address)
        assert message["To"] == f"Reader {number} <{address}>"
        assert message["From"] == "DW Weekly <newsletter@example.org>"
        assert message["Subject"].startswith("DW Weekly #210 – ")
        assert message["Date"] and message["MIME-Version"] == "1.0"
        assert message["Message-ID"].endswith("@example.org>")
        message_ids.add(message["Message-ID"])
        assert message["List-Id"] == "DW Weekly <dw-weekly.dig.watch>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
        assert https.startswith("https://") and mailto.startswith("mailto:")
        token = https.split("token=")[1]
        assert "reader" not in token and "example" not in token, "the token shows the address"
        with open_test_store() as store:
            assert address_of(token, KEY.encode(), "dw-weekly.dig.watch", store) == address
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
        assert https in message.get_body(("plain",)).get_content()
        assert https in message.get_body(("html",)).get_content()
    assert len(message_ids) == 3


def test_second_send_of_the_same_issue_sends_nothing(issue, tmp_path):
    """The ledger remembers: a rerun finds nobody pending."""
    subscribers = write_list(tmp_path / "list.csv", 10)
    with Server() as server:
        send(issue, settings_for(server), list_file=subscribers)
        again = send(issue, settings_for(server), list_file=subscribers)
    assert again.sent_now == 0 and again.plan.to_send == 0
    assert len(server.recorder.messages) == 10


def test_451_is_retried_550_fails_without_retry(issue, tmp_path):
    """Greylisted readers arrive after retries; an unknown user fails once, with the server's reply."""
    subscribers = write_list(tmp_path / "list.csv", 12)
    with Server() as server:
        server.recorder.temporary = {"reader1@example.org": 2, "reader2@example.org": 1}
        server.recorder.permanent = {"reader5@example.org"}
        report = send(issue, settings_for(server), list_file=subscribers)
    received = server.recorder.received()
    assert received["reader1@example.org"] == 1 and received["reader2@example.org"] == 1
    assert server.recorder.rcpt_attempts["reader1@example.org"] == 3
    assert "reader5@example.org" not in received
    assert server.recorder.rcpt_attempts["reader5@example.org"] == 1
    assert report.counts["sent"] == 11 and report.counts["failed"] == 1
    with open_test_store() as store:
        assert store.recipients.problems(210) == [("reader5@example.org", "failed", "550 5.1.1 No such user here")]
        assert not store.suppressions.add("reader5@example.org", "again"), "a 5.1.1 bounce suppresses the address"


def test_connection_lost_after_the_dot_is_unknown_and_never_resent(issue, tmp_path):
    """The server hangs up after receiving one message: that reader is unknown, not resent on the next run."""
    subscribers = write_list(tmp_path / "list.csv", 8)
    with Server() as server:
        server.recorder.drop_after_dot = {"reader4@example.org"}
        first = send(issue, settings_for(server), list_file=subscribers)
        second = send(issue, settings_for(server), list_file=subscribers)
    assert first.counts["unknown"] == 1 and first.counts["sent"] == 7
    assert second.sent_now == 0
    assert server.recorder.rcpt_attempts["reader4@example.org"] == 1


def test_too_many_errors_in_a_row_pause_and_resume(issue, tmp_path):
    """A server refusing everyone pauses the run; the readers stay pending and a resume sends them."""
    subscribers = write_list(tmp_path / "list.csv", 30)
    with Server() as server:
        server.recorder.always = "451 4.3.2 System not accepting network messages"
        paused = send(issue, settings_for(server, pause_after_errors=5, retries=10), list_file=subscribers)
        assert paused.stopped and "errors in a row" in paused.stopped
        assert paused.counts["pending"] == 30 and paused.counts["sent"] == 0
        server.recorder.always = ""
        resumed = send(issue, settings_for(server), list_file=subscribers)
    assert resumed.counts["sent"] == 30
    assert set(server.recorder.received().values()) == {1}


def test_dry_run_sends_and_records_nothing(issue, tmp_path):
    """--dry-run counts what would go out and leaves the ledger empty."""
    subscribers = write_list(tmp_path / "list.csv", 5)
    with Server() as server:
        report = send(issue, settings_for(server), list_file=subscribers, dry_run=True)
    assert report.plan.to_send == 5 and server.recorder.messages == []
    with open_test_store() as store:
        assert sum(store.recipients.counts(210).values()) == 0


def test_limit_test_to_and_list_address(issue, tmp_path):
    """--limit sends N; --test-to sends one copy outside the ledger; --to sends one message to a list."""
    subscribers = write_list(tmp_path / "list.csv", 6)
    with Server() as server:
        limited = send(issue, settings_for(server), list_file=subscribers, limit=2)
        test = send(issue, settings_for(server), test_to="editor@example.org")
        listed = send(issue, settings_for(server, "other.example.org"), to="dw-weekly@lists.example.org")
    assert limited.sent_now == 2 and limited.counts["pending"] == 4
    assert test.sent_now == 1 and not test.counts
    assert listed.counts["sent"] == 1
    assert server.recorder.received()["editor@example.org"] == 1
    assert server.recorder.received()["dw-weekly@lists.example.org"] == 1


def tls_server(tmp_path: Path) -> tuple[Server, Path]:
    """A server that requires STARTTLS with a self-signed certificate and AUTH as news/s3cret."""
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return Server(tls_context=context, require_starttls=True, authenticator=password_is("news", "s3cret")), cert


def test_starttls_with_a_self_signed_certificate_and_auth(issue, tmp_path):
    """STARTTLS to a server whose certificate we trust through smtp.ca_file, then AUTH; all delivered."""
    server, cert = tls_server(tmp_path)
    subscribers = write_list(tmp_path / "list.csv", 5)
    with server:
        settings = settings_for(server, security="starttls", ca_file=str(cert), username="news",
                                password="s3cret")
        report = send(issue, settings, list_file=subscribers)
    assert report.counts["sent"] == 5 and report.stopped is None


def test_wrong_password_stops_the_run(issue, tmp_path):
    """An authentication failure stops at once; nobody is marked failed, all stay pending."""
    server, cert = tls_server(tmp_path)
    subscribers = write_list(tmp_path / "list.csv", 5)
    with server:
        settings = settings_for(server, security="starttls", ca_file=str(cert), username="news",
                                password="wrong")
        report = send(issue, settings, list_file=subscribers)
    assert report.stopped and "authentication failed for news" in report.stopped
    assert report.counts["pending"] == 5 and server.recorder.messages == []


def test_no_password_over_plain_text(issue, tmp_path):
    """AUTH without TLS is refused before anything is sent."""
    subscribers = write_list(tmp_path / "list.csv", 3)
    with Server() as server:
        report = send(issue, settings_for(server, username="news"), list_file=subscribers)
    assert report.stopped and "refusing to send the SMTP password without TLS" in report.stopped
    assert server.recorder.messages == []


def test_header_injection_is_refused(issue, tmp_path):
    """A line break in a subscriber's name skips that row; one in the subject refuses the message."""
    subscribers = write_list(tmp_path / "list.csv", 2, [["evil@example.org", "Eve\r\nBcc: victim@example.org", ""]])
    with Server() as server:
        report = send(issue, settings_for(server), list_file=subscribers)
    assert report.counts["sent"] == 2
    assert any("control character" in row.message for row in report.invalid_rows)
    assert "evil@example.org" not in server.recorder.received()
    rendered = RenderedIssue(subject="Hi\r\nBcc: victim@example.org", mjml="", html="<p>x</p>", text="x", web_html="")
    with pytest.raises(WeeklyError, match="may not contain a line break"):
        build_message(rendered, "DW <news@example.org>")


def test_suppressed_address_is_never_sent_to(issue, tmp_path):
    """An unsubscribed address in the list is skipped."""
    subscribers = write_list(tmp_path / "list.csv", 4)
    with open_test_store() as store:
        store.suppressions.add("Reader2@example.org", "unsubscribed")
    with Server() as server:
        report = send(issue, settings_for(server), list_file=subscribers)
    assert report.counts["skipped"] == 1 and report.counts["sent"] == 3
    assert "reader2@example.org" not in server.recorder.received()


def test_missing_signing_key_is_a_clear_error(issue, tmp_path):
    """Sending without WEEKLY_SIGNING_KEY explains how to make one."""
    settings = Settings()
    with pytest.raises(WeeklyError, match="WEEKLY_SIGNING_KEY"):
        send(issue, settings, list_file=write_list(tmp_path / "list.csv", 1))


def test_rate_per_second_spaces_the_messages(issue, tmp_path):
    """rate_per_second=20 over 4 connections: 9 gaps of at least 1/20 s between 10 messages."""
    subscribers = write_list(tmp_path / "list.csv", 10)
    with Server() as server:
        report = send(issue, settings_for(server, rate_per_second=20), list_file=subscribers)
    arrivals = server.recorder.arrivals
    assert report.counts["sent"] == 10
    assert arrivals[-1] - arrivals[0] >= 9 / 20 * 0.9  # a little slack for the server's own clock reading


def test_max_messages_per_connection_opens_a_new_connection(issue, tmp_path):
    """One connection allowed 2 messages: 6 recipients arrive over 3 connections, 2 on each."""
    subscribers = write_list(tmp_path / "list.csv", 6)
    with Server() as server:
        report = send(issue, settings_for(server, connections=1, max_messages_per_connection=2),
                      list_file=subscribers)
    assert report.counts["sent"] == 6
    assert sorted(Counter(server.recorder.peers).values()) == [2, 2, 2]


def test_retry_failed_sends_again_to_the_failed_only(issue, tmp_path):
    """A 550 fails one reader; once the server takes it, --retry-failed sends to that reader alone."""
    subscribers = write_list(tmp_path / "list.csv", 4)
    with Server() as server:
        server.recorder.permanent.add("reader1@example.org")
        server.recorder.refusal = "550 5.7.1 Rejected by policy"  # not 5.1.x: the address is not suppressed
        first = send(issue, settings_for(server), list_file=subscribers)
        server.recorder.permanent.clear()
        plain = send(issue, settings_for(server), list_file=subscribers)
        retried = send(issue, settings_for(server), list_file=subscribers, retry_failed=True)
    assert first.counts["failed"] == 1 and first.counts["sent"] == 3
    assert plain.sent_now == 0 and plain.counts["failed"] == 1
    assert retried.sent_now == 1 and retried.counts["sent"] == 4 and retried.counts["failed"] == 0
    assert set(server.recorder.received().values()) == {1}


def test_implicit_tls_with_security_ssl(issue, tmp_path):
    """security=ssl talks TLS from the first byte (SMTPS), trusting the server through smtp.ca_file."""
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    subscribers = write_list(tmp_path / "list.csv", 3)
    with Server(implicit_tls=context) as server:
        report = send(issue, settings_for(server, security="ssl", ca_file=str(cert)), list_file=subscribers)
        plain = send(issue, settings_for(server, "plain.example.org", security="none", connect_timeout_seconds=0.5),
                     list_file=subscribers)
    assert report.counts["sent"] == 3 and report.stopped is None
    assert plain.counts["sent"] == 0, "a plain-text client must not get through to an SMTPS server"


def finishes(seconds: float, work):
    """Run `work` in a thread; its result, or a failure if it is still running after `seconds` (a hang)."""
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.update(value=work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: the send hangs"
    return outcome["value"]


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word (no greeting)."""

    def __enter__(self) -> SilentServer:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()


class _WriteLock:
    """Another process's write lock on the store: SQLite's BEGIN IMMEDIATE, PostgreSQL's LOCK TABLE."""

    def __init__(self, url: str) -> None:
        self.postgres = url.startswith("postgresql://")
        if self.postgres:
            import psycopg

            self.connection = psycopg.connect(url, autocommit=True)
        else:
            self.connection = sqlite3.connect(url, isolation_level=None, check_same_thread=False)

    def take(self) -> None:
        self.connection.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        if self.postgres:
            self.connection.execute("LOCK TABLE recipients IN EXCLUSIVE MODE")

    def release(self) -> None:
        self.connection.execute("ROLLBACK")
        self.connection.close()


def test_a_locked_store_stops_the_send_and_nothing_unrecorded_goes_out(issue, tmp_path, store_url):
    """Another process holds the store's write lock mid-send: the run stops with the reason, no hang; the
    resume sends the rest, and nobody gets two copies."""
    subscribers = write_list(tmp_path / "list.csv", 120)
    with Server() as server:
        server.recorder.delay = 0.01
        settings = settings_for(server)
        with open_test_store():
            pass  # the store exists before another process locks it
        holder = _WriteLock(store_url)
        settings = settings.model_copy(update={"store": StoreSettings(url=store_url, busy_timeout_seconds=0.3)})

        def lock_after_20() -> None:
            while len(server.recorder.messages) < 20:
                time.sleep(0.005)
            holder.take()

        locker = threading.Thread(target=lock_after_20)
        locker.start()
        stopped = finishes(60, lambda: send(issue, settings, list_file=subscribers))
        locker.join()
        delivered_while_locked = server.recorder.received()
        holder.release()
        resumed = send(issue, settings, list_file=subscribers)
    assert stopped.stopped and "cannot be read or written" in stopped.stopped and "lock" in stopped.stopped
    assert len(delivered_while_locked) < 120
    received = server.recorder.received()
    assert set(received.values()) == {1}, "somebody got the issue twice"
    counts = resumed.counts
    assert counts["sent"] + counts["unknown"] == 120 and counts["pending"] == 0, counts
    with open_test_store() as store:
        unknown = {trouble.address for trouble in store.recipients.problems(210)}
    # Every reader got it, except perhaps those left unknown (caught between DATA and the lock).
    assert {f"reader{n}@example.org" for n in range(120)} - set(received) <= unknown


def test_starttls_asked_of_a_server_without_it_stops_at_once(issue, tmp_path):
    """security=starttls against a server that offers no STARTTLS: one line why, everybody pending, no hang."""
    subscribers = write_list(tmp_path / "list.csv", 5)
    with Server() as server:
        report = finishes(30, lambda: send(issue, settings_for(server, security="starttls"),
                                           list_file=subscribers))
    assert report.stopped and "STARTTLS" in report.stopped and "smtp.security is starttls" in report.stopped
    assert report.counts["pending"] == 5 and server.recorder.messages == []


def test_a_username_for_a_server_without_auth_stops_at_once(issue, tmp_path):
    """smtp.username set, but the server offers no AUTH: one line why, everybody pending, no hang."""
    subscribers = write_list(tmp_path / "list.csv", 5)
    with Server() as server:
        settings = settings_for(server, username="news", password="s3cret", allow_auth_without_tls=True)
        report = finishes(30, lambda: send(issue, settings, list_file=subscribers))
    assert report.stopped and "offers no AUTH" in report.stopped
    assert report.counts["pending"] == 5 and server.recorder.messages == []


def test_a_silent_server_pauses_the_run_with_everybody_pending(issue, tmp_path):
    """A server that never greets: a few connection timeouts, then a pause; nobody failed, all pending."""
    subscribers = write_list(tmp_path / "list.csv", 30)
    with SilentServer() as silent:
        settings = settings_for(silent, connect_timeout_seconds=0.3, outage_errors=3)
        report = finishes(60, lambda: send(issue, settings, list_file=subscribers))
    assert report.stopped and "unavailable" in report.stopped and "paused" in report.stopped
    assert report.counts["pending"] == 30 and report.counts["failed"] == 0


def test_an_unreachable_server_is_an_outage_and_the_resume_sends_everyone(issue, tmp_path):
    """Connection refused: the run pauses with all pending (none failed); once the server is up, the printed
    resume (the same send) delivers to everyone, once."""
    subscribers = write_list(tmp_path / "list.csv", 12)
    server = Server()  # not started yet: its port refuses connections
    paused = send(issue, settings_for(server, outage_errors=3), list_file=subscribers)
    assert paused.stopped and "unavailable" in paused.stopped
    assert paused.counts["pending"] == 12 and paused.counts["failed"] == 0
    with server:
        resumed = send(issue, settings_for(server), list_file=subscribers)
    assert resumed.counts["sent"] == 12 and set(server.recorder.received().values()) == {1}


def test_421_to_everyone_is_an_outage_not_a_failure(issue, tmp_path):
    """A server that answers 421 (closing) to every recipient: paused, all pending, none failed."""
    subscribers = write_list(tmp_path / "list.csv", 8)
    with Server() as server:
        server.recorder.always = "421 4.3.2 Service shutting down"
        report = send(issue, settings_for(server, outage_errors=3), list_file=subscribers)
    assert report.stopped and "421" in report.stopped
    assert report.counts["pending"] == 8 and report.counts["failed"] == 0


def test_retry_unknown_sends_again_to_the_unknown(issue, tmp_path):
    """A connection dropped after the dot leaves one unknown; retry_unknown sends to it again (a second copy)."""
    subscribers = write_list(tmp_path / "list.csv", 4)
    with Server() as server:
        server.recorder.drop_after_dot.add("reader2@example.org")
        first = send(issue, settings_for(server), list_file=subscribers)
        again = send(issue, settings_for(server), list_file=subscribers, retry_unknown=True)
    assert first.counts["unknown"] == 1
    assert again.sent_now == 1 and again.counts["sent"] == 4 and again.counts["unknown"] == 0
    assert server.recorder.received()["reader2@example.org"] == 1  # the dropped one never counted as received


def test_a_list_address_gets_no_token_that_would_unsubscribe_the_whole_list(issue, tmp_path):
    """--to LIST: no List-Unsubscribe headers and no token in the body; the footer links to the page that
    says how to leave through the list manager."""
    with Server() as server:
        report = send(issue, settings_for(server), to="dw-weekly@lists.example.org")
    assert report.counts["sent"] == 1
    (message,) = server.recorder.parsed("dw-weekly@lists.example.org")
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert message["List-Id"] == "DW Weekly <dw-weekly.dig.watch>"
    for kind in ("plain", "html"):
        body = message.get_body((kind,)).get_content()
        assert "token=" not in body and "https://dig.watch/newsletter/leave" in body
        assert "https://dig.watch/newsletter/unsubscribe" not in body


def test_a_token_names_its_list_and_another_list_refuses_it():
    """A genuine token for another list is refused; so is a forged one."""
    token = sign("reader@example.org", "other-list.example.org", KEY.encode())
    with pytest.raises(TokenError, match=r"for the list 'other-list\.example\.org'"):
        verify(token, KEY.encode(), "dw-weekly.dig.watch")
    assert verify(token, KEY.encode(), "other-list.example.org") == "reader@example.org"
    with pytest.raises(TokenError, match="forged"):
        verify(token, b"another key, also at least 32 bytes long", "other-list.example.org")


def test_a_short_signing_key_is_refused(tmp_path):
    """A signing key under 32 bytes is a settings error that says how to make a good one."""
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(signing_key="short-key")


def test_a_store_deleted_mid_send_stops_it_with_a_warning(issue, tmp_path, store_url, store_backend):
    """The SQLite store's file removed while sending: the run stops at the next commit and says its records are
    lost. (A PostgreSQL store has no file to delete.)"""
    if store_backend != "sqlite":
        pytest.skip("a file of SQLite's")
    subscribers = write_list(tmp_path / "list.csv", 100)
    ledger_path = Path(store_url)
    with Server() as server:
        server.recorder.delay = 0.01

        def delete_after_10() -> None:
            while len(server.recorder.messages) < 10:
                time.sleep(0.005)
            ledger_path.unlink()

        deleter = threading.Thread(target=delete_after_10)
        deleter.start()
        report = finishes(60, lambda: send(issue, settings_for(server), list_file=subscribers))
        deleter.join()
    assert report.stopped and "deleted or replaced while sending" in report.stopped
    assert len(server.recorder.messages) < 100
