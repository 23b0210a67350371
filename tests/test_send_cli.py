"""`weekly send`, `status`, `unsubscribe` and `run` as processes: kill and resume, tokens, confirmation, cron."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import IDENTITY, KEY, ROOT, open_test_store, run_weekly, write_list
from smtp_server import Server

from composer.deliver.tokens import sign

pytestmark = pytest.mark.both_backends


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "210"
    assert run_weekly("build", "-o", str(folder), process=True).returncode == 0
    return folder


@pytest.fixture
def issue(built, tmp_path) -> Path:
    """The seeds' issue, a copy of its own for each test: a send leaves its mark in the folder."""
    return Path(shutil.copytree(built, tmp_path / "210"))


def env_for(server: Server | None, tmp_path: Path, **extra: str) -> dict:
    env = {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_LOG__FILE": str(tmp_path / "weekly.log"), **extra}
    if server:
        env.update(WEEKLY_SMTP__HOST="127.0.0.1", WEEKLY_SMTP__PORT=str(server.port), WEEKLY_SMTP__SECURITY="none",
                   WEEKLY_SMTP__CONNECTIONS="4", WEEKLY_SMTP__RETRY_BASE_SECONDS="0.01")
    return env


def test_killed_mid_run_and_resumed_nobody_lost_nobody_twice(issue, tmp_path):
    """SIGKILL while sending 300, then resume: each reader got at most one copy, all are sent or unknown."""
    subscribers = write_list(tmp_path / "list.csv", 300)
    with Server() as server:
        server.recorder.delay = 0.01
        env = env_for(server, tmp_path)
        command = [sys.executable, "-m", "composer", "send", str(issue), "--list", str(subscribers), "--yes"]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(server.recorder.messages) < 60 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        assert process.poll() is None, "the send finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        first_run = len(server.recorder.messages)
        assert first_run < 300
        resumed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    received = server.recorder.received()
    assert set(received.values()) == {1}, "somebody got the issue twice"
    with open_test_store() as store:
        counts = store.recipients.counts(210)
        unknown = {address for address, state, _ in store.recipients.problems(210) if state == "unknown"}
    assert counts["sent"] + counts["unknown"] == 300 and counts["pending"] == 0, counts
    assert len(received) >= counts["sent"]
    assert all(f"reader{n}@example.org" in received or f"reader{n}@example.org" in unknown for n in range(300))
    # The resume exits 1 exactly when the kill left recipients whose outcome is unknown, and says so.
    assert resumed.returncode == (1 if unknown else 0), resumed.stderr
    assert ("outcome is unknown" in resumed.stderr) == bool(unknown), resumed.stderr


def test_send_asks_and_refuses_without_a_terminal(issue, tmp_path):
    """Without --yes and without a terminal to ask on, nothing is sent and the error says what to add."""
    subscribers = write_list(tmp_path / "list.csv", 3)
    with Server() as server:
        done = run_weekly("send", str(issue), "--list", str(subscribers), env=env_for(server, tmp_path), process=True)
    assert done.returncode == 1
    assert "About to send 3 message(s)" in done.stdout
    assert done.stderr.strip() == "error: not asking on a non-interactive input: add --yes to send"
    assert server.recorder.messages == []


def test_status_lists_counts_and_failures(issue, tmp_path):
    """`weekly status DIR` shows the ledger counts and each failed recipient with the server's reply."""
    subscribers = write_list(tmp_path / "list.csv", 4)
    with Server() as server:
        server.recorder.permanent = {"reader1@example.org"}
        sent = run_weekly("send", str(issue), "--list", str(subscribers), "--yes", env=env_for(server, tmp_path), process=True)
    assert sent.returncode == 1 and "1 failed" in sent.stderr
    status = run_weekly("status", str(issue), env=env_for(None, tmp_path), process=True)
    assert status.returncode == 0
    assert "sent 3" in status.stdout and "failed 1" in status.stdout
    assert re.search(r"failed\s+reader1@example.org\s+550 5.1.1 No such user here", status.stdout)


def test_unsubscribe_genuine_token_suppresses_forged_refused(issue, tmp_path):
    """A genuine token unsubscribes its address (then never sent to); a forged one is refused."""
    env = env_for(None, tmp_path)
    token = sign("reader2@example.org", "dw-weekly.dig.watch", KEY.encode())
    done = run_weekly("unsubscribe", token, env=env, process=True)
    assert done.returncode == 0 and "reader2@example.org unsubscribed" in done.stdout
    forged = sign("reader3@example.org", "dw-weekly.dig.watch", b"another key")
    refused = run_weekly("unsubscribe", forged, env=env, process=True)
    assert refused.returncode == 1 and "forged" in refused.stderr and "Traceback" not in refused.stderr
    with Server() as server:
        run_weekly("send", str(issue), "--list", str(write_list(tmp_path / "l.csv", 5)), "--yes", env=env_for(server, tmp_path))
    assert "reader2@example.org" not in server.recorder.received()
    assert len(server.recorder.received()) == 4


def test_unsubscribe_takes_the_tokens_and_links_copies_carry(issue, tmp_path):
    """The tokens a sent copy carries (a copy's row, not the address) unsubscribe by `weekly unsubscribe`,
    given alone or as the whole List-Unsubscribe link; a token of another list's key is refused in one line."""
    with Server() as server:
        env = env_for(server, tmp_path)
        sent = run_weekly("send", str(issue), "--list", str(write_list(tmp_path / "l.csv", 3)), "--yes", env=env)
        assert sent.returncode == 0, sent.stderr
        links = {address: re.search(r"<(https?://[^>]+)>", message["List-Unsubscribe"]).group(1)
                 for address in ("reader0@example.org", "reader1@example.org")
                 for message in server.recorder.parsed(address)}
    token = links["reader0@example.org"].split("token=")[1]
    assert "@" not in token and token.count(".") == 2, "copies carry a row's token, not the address"
    by_token = run_weekly("unsubscribe", token, env=env, process=True)
    assert by_token.returncode == 0 and "reader0@example.org unsubscribed" in by_token.stdout, by_token.stderr
    by_link = run_weekly("unsubscribe", links["reader1@example.org"], env=env, process=True)
    assert by_link.returncode == 0 and "reader1@example.org unsubscribed" in by_link.stdout, by_link.stderr
    with open_test_store() as store:
        assert "reader0@example.org" in store.suppressions and "reader1@example.org" in store.suppressions
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    refused = run_weekly("unsubscribe", forged, env=env, process=True)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr


def test_run_for_cron_is_idempotent_and_locked(tmp_path):
    """`weekly run --send` twice sends once, the second run exiting 1 with "already sent"; a run while
    another holds the lock exits with a message."""
    subscribers = write_list(tmp_path / "list.csv", 5)
    with Server() as server:
        env = env_for(server, tmp_path, WEEKLY_OUTPUT__DIR=str(tmp_path / "out"),
                      WEEKLY_LIST__SUBSCRIBERS=str(subscribers), WEEKLY_ISSUE__APPROVAL="auto")
        first = run_weekly("run", "--send", env=env, process=True)
        second = run_weekly("run", "--send", env=env, process=True)
        assert first.returncode == 0, first.stderr
        assert second.returncode == 1 and second.stderr.startswith("error: #210 was already sent (5 sent"), second
        assert second.stderr.count("\n") == 1
        assert len(server.recorder.messages) == 5
        with open_test_store() as store, store.lock("run", "held by the test"):
            blocked = run_weekly("run", "--send", env=env, process=True)
    assert blocked.returncode == 1 and "another weekly run is in progress" in blocked.stderr
    log = (tmp_path / "weekly.log").read_text(encoding="utf-8")
    assert "built #210" in log and "sent #210: 5 now" in log and "#210 was already sent" in log


def test_two_senders_of_one_issue_send_each_copy_once(issue, tmp_path):
    """A second `weekly send` of the same issue started while the first is sending, 320 readers: nobody gets
    two copies; the second refuses with one line naming the first, which sends to all."""
    subscribers = write_list(tmp_path / "list.csv", 320)
    with Server() as server:
        server.recorder.delay = 0.05  # 320 copies over 4 connections take 4 s: the second surely comes in time
        command = [sys.executable, "-m", "composer", "send", str(issue), "--list", str(subscribers), "--yes"]
        first = subprocess.Popen(command, cwd=ROOT, env=env_for(server, tmp_path), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(server.recorder.messages) < 10 and time.monotonic() < deadline:  # surely under way
            time.sleep(0.01)
        second = subprocess.Popen(command, cwd=ROOT, env=env_for(server, tmp_path), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        senders = [first, second]
        outputs = [sender.communicate(timeout=120) for sender in senders]
    codes = sorted(sender.returncode for sender in senders)
    refusals = [err for _, err in outputs if "another `weekly` is sending or building issue 210 (pid " in err]
    assert codes == [0, 1] and len(refusals) == 1, outputs
    assert refusals[0].count("\n") == 1 and "Traceback" not in refusals[0]
    received = server.recorder.received()
    assert len(received) == 320 and set(received.values()) == {1}, "somebody got the issue twice"


def test_send_refuses_an_issue_that_fails_the_gate_unless_forced(issue, tmp_path):
    """A broken issue (no lang) is refused with the problem and nothing sent; --force sends it, warns and logs."""
    broken = tmp_path / "broken"
    shutil.copytree(issue, broken)
    html = broken / "index.html"
    html.write_text(html.read_text(encoding="utf-8").replace('<html lang="en"', "<html", 1), encoding="utf-8")
    subscribers = write_list(tmp_path / "list.csv", 3)
    with Server() as server:
        env = env_for(server, tmp_path)
        refused = run_weekly("send", str(broken), "--list", str(subscribers), "--yes", env=env)
        assert refused.returncode == 1 and server.recorder.messages == []
        assert refused.stderr.splitlines() == [
            f"error: {broken}/index.html: the <html> element has no lang attribute",
            f"error: {broken} fails `weekly check` (1 problem(s)); nothing sent: fix it and render it again, or "
            "send it anyway with --force",
        ]
        rehearsed = run_weekly("send", str(broken), "--list", str(subscribers), "--dry-run", "--force", env=env)
        assert "warning: would be sent despite" in rehearsed.stderr and server.recorder.messages == []
        assert "warning: sent despite" not in rehearsed.stderr
        forced = run_weekly("send", str(broken), "--list", str(subscribers), "--yes", "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert "warning: sent despite" in forced.stderr and len(server.recorder.messages) == 3
    assert "despite 1 problem(s) (--force)" in (tmp_path / "weekly.log").read_text(encoding="utf-8")


@pytest.mark.parametrize(("content", "expected"), [
    ("email,name\nreader@example.org,Zoë\n".encode("utf-16"), "the list is UTF-16, not UTF-8: save it as UTF-8"),
    ("email,name\nreader@example.org,Zoë\n".encode("cp1252"), "list.csv:2: the list is not UTF-8 (it looks like Latin-1"),
    (b"email;name\nreader@example.org;Zoe\n", "its columns seem to be separated by semicolons"),
])
def test_a_list_in_another_shape_is_one_clear_error(issue, tmp_path, content, expected):
    """UTF-16, Latin-1 and semicolon lists: one line naming the file and what to do, exit 1, nothing sent."""
    subscribers = tmp_path / "list.csv"
    subscribers.write_bytes(content)
    with Server() as server:
        done = run_weekly("send", str(issue), "--list", str(subscribers), "--yes", env=env_for(server, tmp_path))
    assert done.returncode == 1 and expected in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert server.recorder.messages == []


@pytest.mark.parametrize(("args", "expected"), [
    (["send", "{issue}", "--limit", "-1"], "--limit must be 1 or more, not -1"),
])
def test_out_of_range_options_are_one_clear_error(issue, tmp_path, args, expected):
    """Numbers that parse but make no sense: one line, exit 1, no traceback."""
    done = run_weekly(*[arg.format(issue=issue) for arg in args], env=env_for(None, tmp_path))
    assert done.returncode == 1 and done.stderr == f"error: {expected}" + done.stderr.split(expected, 1)[1]
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["preview", "{issue}", "--port", "70000"], ["serve", "--port", "99999"],
                                  ["serve", "--port", "http"], ["subscribers", "list", "--status", "nonsense"]])
def test_a_wrong_option_value_is_a_usage_error(issue, tmp_path, args):
    """A port out of range or a status that does not exist is a usage error as the README's exit codes say:
    exit 2, argparse's usage line and one error naming the option, no traceback."""
    done = run_weekly(*[arg.format(issue=issue) for arg in args], env=env_for(None, tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("usage: weekly ") and "Traceback" not in done.stderr
    assert re.search(r"error: argument --(port|status): ", done.stderr), done.stderr


def test_settings_errors_are_one_line(tmp_path):
    """RADAR_SIZE=13 and a secret file that is not UTF-8: one line naming the setting or file, exit 1."""
    too_big = run_weekly("build", env={**os.environ, "WEEKLY_ISSUE__RADAR_SIZE": "13"})
    assert too_big.returncode == 1 and too_big.stderr.startswith("error: setting issue.radar_size")
    assert too_big.stderr.count("\n") == 1
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "smtp__password").write_bytes(b"\xff\xfe\x00broken")
    bad_secret = run_weekly("--secrets-dir", str(secrets), "config")
    assert bad_secret.returncode == 1 and bad_secret.stderr.startswith(f"error: {secrets / 'smtp__password'}: ")
    assert bad_secret.stderr.count("\n") == 1


def test_sigterm_mid_send_prints_the_resume_command_and_the_resume_sends_once(issue, tmp_path):
    """SIGTERM while sending 200: the messages on their way finish, then exit 130 (as README says, as for
    Ctrl-C) with the reason and the resume command in one line; resuming finishes the list and nobody gets
    two copies."""
    subscribers = write_list(tmp_path / "list.csv", 200)
    with Server() as server:
        server.recorder.delay = 0.01
        env = env_for(server, tmp_path)
        command = [sys.executable, "-m", "composer", "send", str(issue), "--list", str(subscribers), "--yes"]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(server.recorder.messages) < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 130, stderr
        assert stderr.strip().splitlines()[-1] == (
            "error: stopped by SIGTERM; the messages on their way were finished and recorded. Resume with: weekly "
            f"send {issue} --list {subscribers} --yes")
        assert "Traceback" not in stderr and "Exception" not in stderr
        resumed = run_weekly("send", str(issue), "--list", str(subscribers), "--yes", env=env)
    received = server.recorder.received()
    assert set(received.values()) == {1}, "somebody got the issue twice"
    with open_test_store() as store:
        counts = store.recipients.counts(210)
    assert counts["sent"] + counts["unknown"] == 200 and counts["pending"] == 0
    assert resumed.returncode == (1 if counts["unknown"] else 0), resumed.stderr  # unknowns are reported


def test_sigterm_ends_a_rate_limited_wait_at_once_and_starts_nothing_after(issue, tmp_path):
    """smtp.rate_per_hour 360 (one message every 10 s): SIGTERM just after the first message ends the run
    within 3 s (not when the rate limiter's waits are over), exit 130, with no transaction started after
    the signal; the rest stays pending, nobody left `sending`."""
    subscribers = write_list(tmp_path / "list.csv", 20)
    with Server() as server:
        env = env_for(server, tmp_path, WEEKLY_SMTP__RATE_PER_HOUR="360")
        command = [sys.executable, "-m", "composer", "send", str(issue), "--list", str(subscribers), "--yes"]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not server.recorder.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # every connection is now waiting for its slot, seconds away
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        took = time.monotonic() - signalled
        started_after = [at for at in server.recorder.rcpt_times if at > signalled]
    assert process.returncode == 130, stderr
    assert took < 3, f"exited {took:.1f} s after SIGTERM"
    assert started_after == [], f"{len(started_after)} transaction(s) started after SIGTERM"
    assert len(server.recorder.messages) == 1
    assert stderr.strip().splitlines()[-1].startswith("error: stopped by SIGTERM")
    with open_test_store() as store:
        counts = store.recipients.counts(210)
    assert (counts["sent"], counts["pending"], counts["sending"], counts["unknown"]) == (1, 19, 0, 0), counts


def _counts(line: str) -> dict[str, int]:
    """`pending 0, sent 3, …` as a dict, the zeros left out."""
    pairs = (part.split() for part in line.split(", "))
    return {state: int(count) for state, count in pairs if int(count)}


def test_dry_run_reports_the_ledger_as_it_was_and_what_the_send_would_add(issue, tmp_path):
    """3 readers sent, then a dry run with a list of 6 (one of the new ones suppressed): it says the ledger
    holds sent 3, exactly what `weekly status` shows after it, and that the send would add 2 readers to send
    to and 1 suppressed one; a dry run with --retry-failed counts the failed reader among those it would send."""
    with Server() as server:
        server.recorder.permanent = {"reader2@example.org"}
        env = env_for(server, tmp_path)
        first = run_weekly("send", str(issue), "--list", str(write_list(tmp_path / "3.csv", 3)), "--yes", env=env,
                           process=True)
        assert first.returncode == 1 and "1 failed" in first.stderr
        assert run_weekly("suppressed", "--add", "reader5@example.org", env=env, process=True).returncode == 0
        six = str(write_list(tmp_path / "6.csv", 6))
        dry = run_weekly("send", str(issue), "--list", six, "--dry-run", env=env, process=True)
        status = run_weekly("status", str(issue), env=env, process=True)
        retry = run_weekly("send", str(issue), "--list", six, "--dry-run", "--retry-failed", env=env, process=True)
    assert dry.returncode == 0 and status.returncode == 0, dry.stderr + status.stderr
    lines = dry.stdout.splitlines()
    assert lines[0].startswith("dry run: would send 2 message(s) of "), dry.stdout
    held = next(line for line in lines if line.startswith("  the ledger holds: "))
    assert _counts(held.split(": ", 1)[1]) == {"sent": 2, "failed": 1}
    assert _counts(status.stdout.splitlines()[0].split(": ", 1)[1]) == {"sent": 2, "failed": 1}
    assert "  the send would add: pending 2, skipped 1" in lines, dry.stdout
    assert retry.stdout.startswith("dry run: would send 3 message(s) of "), retry.stdout
    with open_test_store() as store:
        assert sum(store.recipients.counts(210).values()) == 3
    assert len(server.recorder.messages) == 2


def test_a_list_without_an_email_column_gets_advice_that_works(issue, tmp_path):
    """A CSV whose address column has another name: the error's advice (--column email=COLUMN), followed as
    it says, makes the same send work: a dry run, then the send, whose resume command keeps the option."""
    listed = tmp_path / "foo_bar.csv"
    listed.write_text("Adresse courriel,name\nreader1@example.org,Ana\nreader2@example.org,Ben\n", encoding="utf-8")
    with Server() as server:
        env = env_for(server, tmp_path)
        command = ["send", str(issue), "--list", str(listed), "--dry-run"]
        refused = run_weekly(*command, env=env, process=True)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        advice = re.search(r"--column email=COLUMN", refused.stderr)
        assert advice, refused.stderr
        followed = run_weekly(*command, "--column", "email=Adresse courriel", env=env, process=True)
        assert followed.returncode == 0, followed.stderr
        assert followed.stdout.startswith("dry run: would send 2 message(s)"), followed.stdout
        server.recorder.temporary = {"reader2@example.org": 100}  # deferred: the send says how to resume
        sent = run_weekly("send", str(issue), "--list", str(listed), "--column", "email=Adresse courriel", "--yes",
                          env=env, process=True)
        assert sent.returncode == 1 and "still pending" in sent.stderr, sent.stderr
        server.recorder.temporary = {}
        resume = shlex.split(sent.stderr.split("resume later with: ", 1)[1])
        assert resume[:2] == ["weekly", "send"], resume
        resumed = run_weekly(*resume[1:], env=env, process=True)
        assert resumed.returncode == 0, resumed.stderr
    assert server.recorder.received() == {"reader1@example.org": 1, "reader2@example.org": 1}
    assert run_weekly("send", str(issue), "--column", "email=x", "--dry-run", env=env, process=True).stderr == (
        "error: --column names a column of the list file: use it with --list FILE\n")


@pytest.mark.parametrize("rows, why", [
    ("", "it lists nobody, only its first line"),
    ("not-an-address,Ana\nreader1@example.org,Ben,unsubscribed\n", "2 row(s) left out, the first: {path}:2: "
                                                                    "'not-an-address' is not a valid address"),
])
def test_a_list_with_nobody_to_send_to_is_an_error_naming_it(issue, tmp_path, rows, why):
    """A list file with only its header, or with no row to send to, fails as an empty subscriber store does:
    `nobody to send to`, naming the file, exit 1, nothing sent or recorded (the dry run too)."""
    listed = tmp_path / "empty.csv"
    listed.write_text("email,name,status\n" + rows, encoding="utf-8")
    with Server() as server:
        env = env_for(server, tmp_path)
        store_empty = run_weekly("send", str(issue), "--yes", env=env, process=True)
        runs = [run_weekly("send", str(issue), "--list", str(listed), *extra, env=env, process=True)
                for extra in (["--yes"], ["--dry-run"])]
    assert store_empty.returncode == 1 and store_empty.stderr.startswith("error: nobody to send to: ")
    for done in runs:
        assert done.returncode == 1, done.stdout
        assert done.stderr == f"error: nobody to send to: {listed} has no reader to send to ({why.format(path=listed)})\n"
    assert server.recorder.messages == []
    with open_test_store() as store:
        assert sum(store.recipients.counts(210).values()) == 0
