"""Bounces and complaints that must prove themselves (issue 19, points 2 and 3): forged reports suppress
nobody, VERP names the copy, real-world encodings never stop a run, each report is applied once, and the
rule for what suppresses is the same for a live reply and a DSN. Real sends (aiosmtpd), real mboxes and
Maildirs, the `weekly` command."""

from __future__ import annotations

import base64
import contextlib
import csv
import mailbox
import os
import re
import secrets
from pathlib import Path

import pytest
from conftest import DATA, KEY, SEEDS, open_test_store, run_weekly, write_list
from smtp_server import Server

from composer.config import Settings
from composer.deliver.send import SendOptions, send_issue
from composer.deliver.tokens import sign
from composer.issues import IssueFolder
from composer.pipeline import ComposeOptions, build
from composer.store import open_store

pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def issue(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "210"
    build([SEEDS], folder, Settings(), ComposeOptions(), __import__("datetime").date(2026, 11, 22))
    return folder


def _settings(port: int, **extra) -> Settings:
    return Settings(smtp={"host": "127.0.0.1", "port": port, "security": "none", "connections": 2,
                          "retry_base_seconds": 0.01, "sender": "DW Weekly <newsletter@dig.watch>"},
                    signing_key=KEY, **extra)


def _send(issue: Path, readers: int, tmp_path: Path, server: Server | None = None, **extra):
    """Send the issue to reader0 … reader{readers-1}; the messages each received, by address."""
    subscribers = write_list(tmp_path / "list.csv", readers)
    with contextlib.nullcontext(server) if server else Server() as running:
        settings = _settings(running.port, **extra)
        with open_store(settings.store, settings.list.id) as store:
            report = send_issue(IssueFolder(issue), store, settings.mail, SendOptions(list_file=subscribers),
                                lambda plan: True)
    return report, running.recorder


def _message_id(recorder, number: int) -> str:
    return recorder.parsed(f"reader{number}@example.org")[0]["Message-ID"]


def _raw(name: str, encoding: str = "utf-8", **values: str) -> bytes:
    return (DATA / "dsn" / name).read_text(encoding="utf-8").format(**values).encode(encoding)


def _failed(recipient: str, status: str = "5.1.1", diagnostic: str = "550 5.1.1 No such user", message_id: str = "",
            to: str = "bounces@dig.watch", action: str = "failed") -> bytes:
    """A DSN (tests/data/dsn/generic-failed.eml) about `recipient`, quoting `message_id` when given."""
    quoted = (f"\n--dsn-boundary\nContent-Type: text/rfc822-headers\n\nTo: {recipient}\nMessage-ID: {message_id}\n"
              if message_id else "")
    return _raw("generic-failed.eml", to=to, recipient=recipient, status=status, diagnostic=diagnostic,
                quoted=quoted, action=action, report_id=secrets.token_hex(6))


def _mbox(path: Path, messages: list[bytes]) -> Path:
    box = mailbox.mbox(path, create=True)
    for raw in messages:
        box.add(raw)
    box.flush()
    box.close()
    return path


def _bounces(source: Path | str, **env: str):
    return run_weekly("bounces", str(source), env={**os.environ, "WEEKLY_SIGNING_KEY": KEY, **env})


def _suppressed() -> dict[str, str]:
    with open_test_store() as store:
        return {row.email: row.reason for row in store.suppressions.all()}


def test_forged_bounces_and_complaints_suppress_nobody(issue, tmp_path):
    """A stranger's DSN naming a reader, a Message-ID of the old shape with row ids counted from 1, 100
    guessed ids, a forged ARF complaint, and a stranger's own test mail to a reader's address: all listed as
    not applied, nobody suppressed."""
    _, recorder = _send(issue, 5, tmp_path)
    domain = _message_id(recorder, 0).split("@")[1].strip(">")
    forged = [
        _failed("reader0@example.org"),
        _failed("reader1@example.org", message_id=f"<210.00000000.2.00000000@{domain}>"),
        *(_failed(f"reader{n % 5}@example.org", message_id=f"<210.{n}.{secrets.token_hex(8)}.{secrets.token_hex(4)}"
                  f"@{domain}>") for n in range(1, 101)),
        _raw("arf-complaint.eml", recipient="reader2@example.org", message_id=f"<210.3.{secrets.token_hex(8)}@x>"),
        _failed("reader3@example.org", message_id="<test-from-a-stranger@example.net>"),
    ]
    done = _bounces(_mbox(tmp_path / "forged.mbox", forged))
    assert done.returncode == 0, done.stderr
    assert _suppressed() == {}, "a report that proves nothing suppressed a reader"
    assert "0 hard bounce, 0 complaint, 0 soft bounce, 0 unsubscribed, 104 not applied" in done.stdout
    assert done.stderr.count("does not prove it is about mail we sent") == 104


def test_a_genuine_tag_counts_only_for_its_own_row(issue, tmp_path):
    """A reader's genuine tag with the row id changed to another reader's is not applied; the genuine DSN is."""
    _, recorder = _send(issue, 5, tmp_path)
    genuine = _message_id(recorder, 4)
    issue_number, row, mac, nonce = genuine.strip("<>").split("@")[0].split(".")
    moved = f"<{issue_number}.{int(row) - 1}.{mac}.{nonce}@dig.watch>"
    done = _bounces(_mbox(tmp_path / "moved.mbox", [_failed("reader3@example.org", message_id=moved)]))
    assert "1 not applied" in done.stdout and _suppressed() == {}
    real = _bounces(_mbox(tmp_path / "real.mbox", [_failed("reader4@example.org", message_id=genuine)]))
    assert "1 hard bounce" in real.stdout and set(_suppressed()) == {"reader4@example.org"}


def test_a_saved_message_is_read_and_a_file_that_is_no_mailbox_is_one_line(issue, tmp_path):
    """A report saved from a mail client (.eml, no From_ line) is one message and applied; a file that is
    neither mbox nor message (the README, random bytes) is one error line naming it, not "0 hard bounce"; an
    empty mbox is an empty mailbox."""
    _, recorder = _send(issue, 3, tmp_path)
    saved = tmp_path / "report.eml"
    saved.write_bytes(_failed("reader1@example.org", message_id=_message_id(recorder, 1)))
    done = _bounces(saved)
    assert done.returncode == 0 and "1 hard bounce" in done.stdout, (done.stdout, done.stderr)
    assert set(_suppressed()) == {"reader1@example.org"}
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(1, 256)) * 4)
    for wrong in (Path(__file__).parents[1] / "README.md", noise):
        refused = _bounces(wrong)
        assert refused.returncode == 1 and refused.stderr == (
            f"error: {wrong}: neither an mbox file (no 'From ' line) nor a saved message (no header first): "
            "give an mbox file, a Maildir folder or a message file (.eml)\n"), refused.stderr
    (tmp_path / "empty.mbox").write_bytes(b"")
    empty = _bounces(tmp_path / "empty.mbox")
    assert empty.returncode == 0 and "0 hard bounce" in empty.stdout, empty.stderr


def test_verp_names_the_copy_when_the_bounce_quotes_nothing(issue, tmp_path):
    """bounces.address and bounces.verp: each copy's MAIL FROM is bounces+TAG@dig.watch (From stays the
    sender); a bounce that quotes nothing of the message but was delivered to that address is applied to
    its copy's reader, one delivered to a tag with a wrong MAC is not."""
    report, recorder = _send(issue, 3, tmp_path, bounces={"address": "bounces@dig.watch", "verp": True})
    assert report.counts["sent"] == 3
    senders = {rcpts[0]: mail_from for mail_from, rcpts, _ in recorder.messages}
    assert all(re.fullmatch(r"bounces\+210\.\d+\.[0-9a-f]{16}@dig\.watch", sender) for sender in senders.values())
    assert len(set(senders.values())) == 3
    assert recorder.parsed("reader1@example.org")[0]["From"] == "DW Weekly <newsletter@dig.watch>"
    verp = senders["reader1@example.org"]
    wrong = re.sub(r"[0-9a-f]{16}@", "0123456789abcdef@", senders["reader2@example.org"])
    source = _mbox(tmp_path / "verp.mbox", [_failed("reader1@example.org", to=verp),
                                            _failed("reader2@example.org", to=wrong)])
    done = _bounces(source)
    assert "1 hard bounce" in done.stdout and "1 not applied" in done.stdout, done.stdout
    assert set(_suppressed()) == {"reader1@example.org"}


def test_without_verp_the_bounce_address_is_the_envelope_sender(issue, tmp_path):
    """bounces.address alone: every copy's MAIL FROM is that address, apart from the visible From."""
    _, recorder = _send(issue, 2, tmp_path, bounces={"address": "bounces@dig.watch"})
    assert {mail_from for mail_from, _, _ in recorder.messages} == {"bounces@dig.watch"}


def _base64_status(raw: bytes) -> bytes:
    """`raw` with its message/delivery-status part sent base64-encoded, as some MTAs do."""
    head, rest = raw.split(b"Content-Type: message/delivery-status\n\n", 1)
    fields, tail = rest.split(b"\n--", 1)
    encoded = base64.encodebytes(fields + b"\n")
    return head + b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n" + encoded + \
        b"\n--" + tail


def test_real_world_encodings_never_stop_a_run(issue, tmp_path):
    """8-bit UTF-8 in a folded Diagnostic-Code, 8-bit Latin-1 in a Status, a base64 delivery-status part:
    each applied; the good reports after them too; every reason one line (also in the CSV export)."""
    _, recorder = _send(issue, 5, tmp_path)
    ids = {n: _message_id(recorder, n) for n in range(5)}
    reports = [
        _raw("exim-8bit-diagnostic.eml", recipient="reader0@example.org", message_id=ids[0]),
        _raw("sendmail-8bit-status.eml", "latin-1", recipient="reader1@example.org", message_id=ids[1]),
        _base64_status(_raw("gmail-hard.eml", recipient="reader2@example.org", message_id=ids[2])),
        _raw("gmail-hard.eml", recipient="reader3@example.org", message_id=ids[3]),
        _raw("outlook-hard.eml", recipient="reader4@example.org", message_id=ids[4]),
    ]
    done = _bounces(_mbox(tmp_path / "bounces.mbox", reports))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "5 hard bounce" in done.stdout, done.stdout + done.stderr
    reasons = _suppressed()
    assert set(reasons) == {f"reader{n}@example.org" for n in range(5)}
    assert "Empfänger unbekannt – das Postfach wurde gelöscht; bitte prüfen" in reasons["reader0@example.org"]
    assert all("\n" not in reason and "  " not in reason for reason in reasons.values()), reasons
    export = tmp_path / "suppressed.csv"
    assert run_weekly("suppressed", "--export", str(export)).returncode == 0
    rows = list(csv.reader(export.open(encoding="utf-8")))
    assert len(rows) == 6 and len(export.read_text(encoding="utf-8").splitlines()) == 6


def test_each_report_is_applied_once_so_a_resubscription_holds(issue, tmp_path):
    """A Maildir read every hour: the bounce applied on the first run; an editor's `suppressed --remove`
    afterwards is not undone by the next run, which reads the report as already processed."""
    _, recorder = _send(issue, 2, tmp_path)
    folder = mailbox.Maildir(tmp_path / "Maildir", create=True)
    folder.add(_raw("gmail-hard.eml", recipient="reader0@example.org", message_id=_message_id(recorder, 0)))
    folder.close()
    first = _bounces(tmp_path / "Maildir")
    assert "1 hard bounce" in first.stdout and "reader0@example.org" in _suppressed()
    assert run_weekly("suppressed", "--remove", "reader0@example.org", "--force").returncode == 0
    second = _bounces(tmp_path / "Maildir")
    assert second.returncode == 0 and "0 hard bounce" in second.stdout and "1 read before, skipped" in second.stdout
    assert "reader0@example.org" not in _suppressed(), "an old bounce undid the editor's correction"


STATUSES = [("554 5.7.1 Message rejected as spam", "5.7.1"), ("550 5.1.1 No such user", "5.1.1"),
            ("550 5.2.0 Local delivery fault", "5.2.0"), ("552 5.2.2 Mailbox full", "5.2.2")]


def test_the_same_rule_suppresses_at_send_time_and_in_a_dsn(issue, tmp_path):
    """The same four failures live (5xx to RCPT) and by DSN: in both, only 5.1.1 (the mailbox is gone)
    suppresses; the full mailbox counts a soft bounce; the spam rejection and the local fault suppress
    nobody."""
    with Server() as server:
        for number, (reply, _) in enumerate(STATUSES):
            server.recorder.replies[f"reader{number}@example.org"] = reply
        report, recorder = _send(issue, 8, tmp_path, server=server)
    assert report.counts["failed"] == 4 and report.counts["sent"] == 4
    live = set(_suppressed())
    reports = [_failed(f"reader{n + 4}@example.org", status=status, diagnostic=reply,
                       message_id=_message_id(recorder, n + 4)) for n, (reply, status) in enumerate(STATUSES)]
    done = _bounces(_mbox(tmp_path / "dsn.mbox", reports))
    assert "1 hard bounce, 0 complaint, 1 soft bounce" in done.stdout and "2 ignored" in done.stdout, done.stdout
    by_dsn = set(_suppressed()) - live
    assert live == {"reader1@example.org"} and by_dsn == {"reader5@example.org"}
    with open_test_store() as store:
        assert store.suppressions.soft_bounce("reader3@example.org", 999) == 2  # 210 (live) and now 999
        assert store.suppressions.soft_bounce("reader7@example.org", 999) == 2  # 210 (DSN) and now 999


def test_a_mailed_unsubscribe_with_a_token_still_works_and_others_are_listed(issue, tmp_path):
    """Mail to the List-Unsubscribe mailto with a genuine token unsubscribes; a forged token and a plain
    message are listed, never applied, the plain one as mail not read as any of them."""
    token = sign("reader0@example.org", "dw-weekly.dig.watch", KEY.encode())
    forged = sign("reader1@example.org", "dw-weekly.dig.watch", b"another key that is long enough, 32+")
    plain = b"From: someone@example.net\nTo: bounces@dig.watch\nSubject: hello\nMessage-ID: <hi@example.net>\n\nhi\n"
    source = _mbox(tmp_path / "mail.mbox", [
        _raw("mailto-unsubscribe.eml", recipient="reader0@example.org", token=token),
        _raw("mailto-unsubscribe.eml", recipient="reader1@example.org", token=forged), plain])
    done = _bounces(source)
    assert "1 unsubscribed, 0 not applied, 2 ignored" in done.stdout, done.stdout
    assert "<hi@example.net>: not read as a bounce, a complaint or an unsubscription" in done.stderr, done.stderr
    assert set(_suppressed()) == {"reader0@example.org"}


def test_plain_text_bounces_suppress_exactly_the_failed_address_of_the_tagged_row(issue, tmp_path):
    """Bounces that are no DSN (qmail, Exim, Sendmail's transcript), quoting the copy as text after their
    marker line: each suppresses its tagged row's address, with the status of that address's lines; the
    other address qmail names (a full mailbox) is neither suppressed nor counted."""
    _, recorder = _send(issue, 5, tmp_path)
    ids = {n: _message_id(recorder, n) for n in range(5)}
    reports = [
        _raw("qmail-hard.eml", recipient="reader0@example.org", other="reader1@example.org", message_id=ids[0],
             to="bounces@dig.watch"),
        _raw("exim-plain-failed.eml", recipient="reader2@example.org", message_id=ids[2]),
        _raw("sendmail-plain-transcript.eml", recipient="reader3@example.org", message_id=ids[3]),
    ]
    done = _bounces(_mbox(tmp_path / "plain.mbox", reports))
    assert done.returncode == 0, done.stderr
    assert "3 hard bounce, 0 complaint, 0 soft bounce, 0 unsubscribed, 0 not applied, 0 ignored" in done.stdout, \
        done.stdout + done.stderr
    reasons = _suppressed()
    assert set(reasons) == {"reader0@example.org", "reader2@example.org", "reader3@example.org"}
    assert "5.1.1 Sorry, no mailbox here by that name. (#5.1.1)" in reasons["reader0@example.org"]
    assert "Recipient address rejected" in reasons["reader2@example.org"]
    assert all("\n" not in reason for reason in reasons.values())
    with open_test_store() as store:
        assert store.suppressions.soft_bounce("reader1@example.org", 999) == 1, "another address's line counted"


def test_forged_plain_text_bounces_suppress_nobody(issue, tmp_path):
    """A qmail bounce quoting a stranger's Message-ID, one quoting a reader's genuine tag moved to another
    row, one quoting nothing: listed as bounces that prove nothing (not as unread mail), nobody suppressed."""
    _, recorder = _send(issue, 3, tmp_path)
    issue_number, row, mac, nonce = _message_id(recorder, 2).strip("<>").split("@")[0].split(".")
    moved = f"<{issue_number}.{int(row) - 1}.{mac}.{nonce}@dig.watch>"
    quoting_nothing = _raw("qmail-hard.eml", recipient="reader0@example.org", other="reader0@example.org",
                           message_id="", to="bounces@dig.watch").split(b"--- Below this line")[0]
    forged = [_raw("exim-plain-failed.eml", recipient="reader0@example.org", message_id="<test@example.net>"),
              _raw("sendmail-plain-transcript.eml", recipient="reader1@example.org", message_id=moved),
              quoting_nothing]
    done = _bounces(_mbox(tmp_path / "forged.mbox", forged))
    assert done.returncode == 0, done.stderr
    assert "0 hard bounce, 0 complaint, 0 soft bounce, 0 unsubscribed, 3 not applied, 0 ignored" in done.stdout, \
        done.stdout + done.stderr
    assert done.stderr.count("a bounce (plain text, no delivery report) that does not prove") == 3, done.stderr
    assert _suppressed() == {}


def test_a_temporary_plain_text_bounce_counts_as_soft(issue, tmp_path):
    """qmail giving up on a 451 (a reply code, no enhanced status) after its queue lifetime: a soft bounce,
    counted for the issue, the address not suppressed."""
    _, recorder = _send(issue, 2, tmp_path)
    report = _raw("qmail-queue-expired.eml", recipient="reader1@example.org", message_id=_message_id(recorder, 1))
    done = _bounces(_mbox(tmp_path / "soft.mbox", [report]))
    assert "0 hard bounce, 0 complaint, 1 soft bounce" in done.stdout, done.stdout + done.stderr
    assert "4.0.0" in done.stdout and "451 Temporary local problem" in done.stdout
    assert _suppressed() == {}
    with open_test_store() as store:
        assert store.suppressions.soft_bounce("reader1@example.org", 999) == 2  # 210 (this bounce) and now 999


def test_a_genuine_report_about_an_erased_reader_says_so_without_the_address(issue, tmp_path):
    """A genuine DSN, and a genuine plain bounce, about a reader erased on request since: each listed as a
    genuine report about an erased reader, never as one that proves nothing, and the address not shown."""
    _, recorder = _send(issue, 2, tmp_path)
    env = {**os.environ, "WEEKLY_SIGNING_KEY": KEY}
    assert run_weekly("subscribers", "erase", "reader0@example.org", "--yes", env=env).returncode == 0
    reports = [_raw("gmail-hard.eml", recipient="reader0@example.org", message_id=_message_id(recorder, 0)),
               _raw("exim-plain-failed.eml", recipient="reader0@example.org", message_id=_message_id(recorder, 0))]
    done = _bounces(_mbox(tmp_path / "erased.mbox", reports))
    assert done.returncode == 0, done.stderr
    assert "0 hard bounce, 0 complaint, 0 soft bounce, 0 unsubscribed, 0 not applied, 2 ignored" in done.stdout
    assert done.stderr.count("(its tag is genuine) to a reader since erased on request") == 2, done.stderr
    assert "does not prove" not in done.stderr and "reader0" not in done.stdout + done.stderr
    assert set(_suppressed()) == {s for s in _suppressed() if s.startswith("erased:")}
