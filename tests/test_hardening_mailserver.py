"""Bounces end to end through a real Postfix and a real Dovecot (issue 19, points 2 and 3): `weekly send`
hands the issue to Postfix with a VERP return path, the receiving server refuses two readers, Postfix
writes its own DSNs to the bounce mailbox, and `weekly bounces` reads them over IMAPS from Dovecot, whose
certificate a private CA signed (tests/mail_servers.py). Skipped without root or the Debian packages
locally; CI installs them and runs it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import IDENTITY, KEY, open_test_store, run_weekly, write_list
from mail_servers import Dovecot, Postfix, missing, private_ca
from smtp_server import Server


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "210"
    assert run_weekly("build", "-o", str(folder)).returncode == 0
    return folder


@pytest.fixture
def issue(built, tmp_path) -> Path:
    """A copy of the built issue for each test: a send leaves its mark (delivery.json) in the folder."""
    return Path(shutil.copytree(built, tmp_path / "210"))


@pytest.fixture
def mail_servers():
    reason = missing()
    if reason:
        pytest.fail(reason) if os.environ.get("CI") else pytest.skip(reason)


def test_postfix_bounces_read_from_dovecot_are_applied_once(issue, tmp_path, mail_servers):
    """Five readers through Postfix; the receiving server answers 550 5.1.1 to one and 554 5.7.1 (spam) to
    another. Postfix's two DSNs, read over IMAPS with imap.ca_file: the gone mailbox is suppressed, the spam
    rejection is not (as at send time). An editor's `suppressed --remove` survives the next hourly run.
    Without the CA the run stops naming imap.ca_file; a mailbox that does not exist is named."""
    readers = write_list(tmp_path / "list.csv", 5)
    ca, cert, key = private_ca(tmp_path)
    with Server() as receiving, Postfix(receiving.port) as postfix:
        receiving.recorder.replies = {"reader1@example.org": "550 5.1.1 <reader1@example.org>: no such user",
                                      "reader2@example.org": "554 5.7.1 Message rejected as spam"}
        env = {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_LOG__FILE": str(tmp_path / "log"),
               "WEEKLY_SMTP__HOST": "127.0.0.1", "WEEKLY_SMTP__PORT": str(postfix.port),
               "WEEKLY_SMTP__SECURITY": "none", "WEEKLY_BOUNCES__ADDRESS": "bounces@dig.watch",
               "WEEKLY_BOUNCES__VERP": "true"}
        sent = run_weekly("send", str(issue), "--list", str(readers), "--yes", env=env, process=True)
        assert sent.returncode == 0, sent.stderr  # Postfix took all five; the refusals come later, by mail
        postfix.bounces(2)
        imap = {**env, "WEEKLY_IMAP__PASSWORD": "s3cret", "WEEKLY_IMAP__CA_FILE": str(ca)}
        with Dovecot(postfix.mail_root, "bounces", "s3cret", cert, key) as dovecot:
            inbox = f"imaps://bounces@127.0.0.1:{dovecot.port}/INBOX"
            untrusted = run_weekly("bounces", inbox, env={**env, "WEEKLY_IMAP__PASSWORD": "s3cret"}, process=True)
            first = run_weekly("bounces", inbox, env=imap, process=True)
            suppressed_first = _suppressed()
            assert run_weekly("suppressed", "--remove", "reader1@example.org", "--force", env=env).returncode == 0
            again = run_weekly("bounces", inbox, env=imap, process=True)
            nowhere = run_weekly("bounces", inbox.replace("INBOX", "Nope"), env=imap, process=True)
    assert sorted(receiving.recorder.received()) == ["reader0@example.org", "reader3@example.org",
                                                     "reader4@example.org"]
    assert untrusted.returncode == 1 and "imap.ca_file" in untrusted.stderr and "not trusted" in untrusted.stderr
    assert untrusted.stderr.count("\n") == 1 and "Traceback" not in untrusted.stderr
    assert first.returncode == 0, first.stderr
    assert "1 hard bounce, 0 complaint, 0 soft bounce, 0 unsubscribed, 0 not applied, 1 ignored" in first.stdout
    assert set(suppressed_first) == {"reader1@example.org"}
    assert "\n" not in suppressed_first["reader1@example.org"]
    assert "0 hard bounce" in again.stdout and "2 read before, skipped" in again.stdout, again.stdout
    assert _suppressed() == {}, "the hourly run undid the editor's correction"
    assert nowhere.returncode == 1 and "no mailbox 'Nope'" in nowhere.stderr and nowhere.stderr.count("\n") == 1


def _suppressed() -> dict[str, str]:
    with open_test_store() as store:
        return {row.email: row.reason for row in store.suppressions.all()}
