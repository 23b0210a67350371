"""SMTP outcomes against misbehaving servers (issue 19, point 9): what went out decides pending or unknown,
an outage is backed off rather than hammered, a certificate problem is named, a test copy's failure says
nothing that cannot work. Real servers on 127.0.0.1 (a scripted one, aiosmtpd with TLS), real sends."""

from __future__ import annotations

import os
import re
import ssl
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import IDENTITY, KEY, SEEDS, run_weekly, write_list
from smtp_server import ScriptedServer, Server, self_signed_certificate

from composer.config import Settings
from composer.deliver.send import SendOptions, send_issue
from composer.issues import IssueFolder
from composer.pipeline import ComposeOptions, build
from composer.store import open_store


@pytest.fixture(scope="module")
def issue(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "210"
    build([SEEDS], folder, Settings(), ComposeOptions(), date(2026, 11, 22))
    return folder


def _settings(port: int, **smtp) -> Settings:
    return Settings(smtp={"host": "127.0.0.1", "port": port, "security": "none", "connections": 4,
                          "retry_base_seconds": 0.01, **smtp}, signing_key=KEY)


def _send(issue: Path, settings: Settings, readers: Path):
    with open_store(settings.store, settings.list.id) as store:
        return send_issue(IssueFolder(issue), store, settings.mail, SendOptions(list_file=readers), lambda plan: True)


def test_a_connection_dropped_at_data_before_354_leaves_everyone_pending(issue, tmp_path):
    """The server hangs up on DATA before its 354: nothing was sent, so nobody is unknown; all stay pending,
    the run pauses as for an outage, and the resume sends to everyone once."""
    readers = write_list(tmp_path / "list.csv", 12)
    with ScriptedServer(at_data="drop") as server:
        paused = _send(issue, _settings(server.port, outage_errors=3), readers)
    assert paused.counts["unknown"] == 0, "marked unknown though nothing was sent"
    assert paused.counts["pending"] == 12 and paused.stopped and "unavailable" in paused.stopped
    with ScriptedServer() as server:
        resumed = _send(issue, _settings(server.port), readers)
    assert resumed.counts["sent"] == 12 and sorted(server.accepted) == sorted(set(server.accepted))


def test_a_server_that_stalls_at_data_pauses_after_one_timeout_per_connection(issue, tmp_path):
    """A server silent after DATA (no 354): each connection's timeout counts, so the run pauses after the
    first round of timeouts with everybody pending, instead of marking dozens unknown round after round."""
    readers = write_list(tmp_path / "list.csv", 30)
    with ScriptedServer(at_data="stall") as server:
        settings = _settings(server.port, connections=3, outage_errors=3, timeout_seconds=1, retry_base_seconds=0.5)
        paused = _send(issue, settings, readers)
        data_commands = server.data_commands
    assert paused.stopped and "unavailable" in paused.stopped
    assert paused.counts["unknown"] == 0 and paused.counts["pending"] == 30
    assert data_commands <= 2 * 3, f"{data_commands} DATA commands before the pause: one round of timeouts should do"


def test_after_421_the_pool_backs_off_before_it_tries_again(issue, tmp_path):
    """421 to everyone from four connections: the four answers of one moment are one outage, and each
    next try waits a doubling backoff (0.2 s base: at least 0.15 + 0.3 + 0.6 s before the fourth), so the
    pause comes after a real wait, not in a fraction of a second."""
    readers = write_list(tmp_path / "list.csv", 8)
    with ScriptedServer(rcpt_reply="421 4.3.2 Service shutting down") as server:
        settings = _settings(server.port, outage_errors=4, retry_base_seconds=0.2)
        paused = _send(issue, settings, readers)
        tries = sorted(server.rcpt_times)
    assert paused.stopped and "unavailable" in paused.stopped and paused.counts["pending"] == 8
    assert tries[-1] - tries[0] >= 0.15 + 0.3 + 0.6, f"paused {tries[-1] - tries[0]:.2f} s after the first 421"
    assert len(tries) <= 4 * 4, f"{len(tries)} tries: the connections kept hammering the server"


def test_a_short_outage_is_waited_out(issue, tmp_path):
    """421 for half a second (a relay restarting), then service: the backoff outlasts it and everyone gets
    the issue once, with no pause."""
    readers = write_list(tmp_path / "list.csv", 10)
    with ScriptedServer(rcpt_reply="421 4.3.2 Restarting", until=time.monotonic() + 0.5) as server:
        report = _send(issue, _settings(server.port, outage_errors=5, retry_base_seconds=0.2), readers)
    assert report.stopped is None, report.stopped
    assert report.counts["sent"] == 10 and sorted(server.accepted) == sorted(set(server.accepted))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_untrusted_certificate_stops_at_once_and_names_ca_file(issue, tmp_path, security):
    """A relay with a certificate of a private CA: no outage and no retries, one stop naming the certificate
    problem and smtp.ca_file; with smtp.ca_file set to that certificate, the same send goes out."""
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    readers = write_list(tmp_path / "list.csv", 4)
    tls = {"tls_context": context} if security == "starttls" else {"implicit_tls": context}
    with Server(**tls) as server:
        refused = _send(issue, _settings(server.port, security=security), readers)
        assert refused.stopped and "certificate is not trusted" in refused.stopped, refused.stopped
        assert "self-signed certificate" in refused.stopped and "smtp.ca_file" in refused.stopped
        assert "unavailable" not in refused.stopped and refused.counts["pending"] == 4
        trusted = _send(issue, _settings(server.port, security=security, ca_file=str(cert)), readers)
    assert trusted.counts["sent"] == 4


def _env(port: int, tmp_path: Path) -> dict:
    return {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_LOG__FILE": str(tmp_path / "log"),
            "WEEKLY_SMTP__HOST": "127.0.0.1", "WEEKLY_SMTP__PORT": str(port), "WEEKLY_SMTP__SECURITY": "none",
            "WEEKLY_SMTP__RETRY_BASE_SECONDS": "0.01", "WEEKLY_SMTP__OUTAGE_ERRORS": "2"}


def test_a_failed_test_copy_never_prints_a_resume_that_cannot_work(issue, tmp_path):
    """`--test-to` refused by the server or with the server down: one error line; any command it offers
    to resume is the test copy again, and running it works (no "say who receives the issue")."""
    with Server() as server:
        server.recorder.permanent = {"editor@dig.watch"}
        refused = run_weekly("send", issue, "--test-to", "editor@dig.watch", "--yes", env=_env(server.port, tmp_path))
    down = run_weekly("send", issue, "--test-to", "editor@dig.watch", "--yes", env=_env(Server().port, tmp_path))
    for done in (refused, down):
        assert done.returncode == 1 and done.stderr.count("error:") == 1, done.stderr
    assert "550 5.1.1" in refused.stderr and "Resume" not in refused.stderr
    resume = re.search(r"Resume with: (.*)$", down.stderr, re.MULTILINE)
    assert resume and "--test-to editor@dig.watch" in resume[1], down.stderr
    with Server() as server:
        again = run_weekly(*resume[1].split()[1:], env=_env(server.port, tmp_path))
    assert again.returncode == 0, again.stderr
    assert server.recorder.received() == {"editor@dig.watch": 1}
