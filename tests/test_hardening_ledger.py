"""A lost, new or other store never mails anybody twice (issue 19, point 1), with real `weekly` processes:
relative paths resolve from the project folder, not the working folder; two senders of one folder with
two stores exclude each other; a store deleted mid-send, or before a cron run, makes the printed resume
and the next run refuse instead of sending again."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import IDENTITY, KEY, ROOT, run_weekly, write_list
from smtp_server import Server

CONFIG = """[store]
url = "state/ledger.sqlite3"
[output]
dir = "out"
[log]
file = "state/weekly.log"
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "210"
    assert run_weekly("build", "-o", str(folder), process=True).returncode == 0
    return folder


def _project(tmp_path: Path, built: Path) -> Path:
    """A project folder as README sets one up: config/weekly.toml with relative paths, the issue in out/210."""
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    (project / "config" / "weekly.toml").write_text(CONFIG)
    shutil.copytree(built, project / "out" / "210")
    return project


def _env(server: Server | None, **extra: str) -> dict:
    env = {name: value for name, value in os.environ.items() if name != "WEEKLY_STORE__URL"}  # the config's own
    env.update(IDENTITY, WEEKLY_SIGNING_KEY=KEY, **extra)
    if server:
        env.update(WEEKLY_SMTP__HOST="127.0.0.1", WEEKLY_SMTP__PORT=str(server.port), WEEKLY_SMTP__SECURITY="none",
                   WEEKLY_SMTP__CONNECTIONS="4", WEEKLY_SMTP__RETRY_BASE_SECONDS="0.01")
    return env


def _weekly(*args: str, cwd: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "composer", *args], cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _sqlite_only(store_backend: str) -> None:
    if store_backend != "sqlite":
        pytest.skip("relative paths and a deleted file are the SQLite store's (a lost PostgreSQL store: the cron test)")


def test_relative_paths_resolve_from_the_project_folder(built, tmp_path, store_backend):
    """From a subfolder of the project, or from anywhere with WEEKLY_HOME, `weekly` uses the project's
    store, issues and log; a folder with no project above it keeps its own."""
    _sqlite_only(store_backend)
    project = _project(tmp_path, built)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    expected = f'url = "{project}/state/ledger.sqlite3"'
    below = run_weekly("config", cwd=project / "out" / "210", env=_env(None), process=True)
    home = run_weekly("config", cwd=elsewhere, env=_env(None, WEEKLY_HOME=str(project)), process=True)
    alone = run_weekly("config", cwd=elsewhere, env=_env(None), process=True)
    assert expected in below.stdout and expected in home.stdout, below.stdout
    assert f'url = "{elsewhere}/state/ledger.sqlite3"' in alone.stdout
    assert f'dir = "{project}/out"' in below.stdout and f'file = "{project}/state/weekly.log"' in home.stdout


def test_two_senders_of_one_folder_with_two_stores_send_each_copy_once(built, tmp_path, store_backend):
    """`weekly send` from the project folder and, at the same moment, `cd elsewhere && weekly send
    /project/out/210` (another store: elsewhere/state/), each loading a list of 20,000 (which keeps both
    busy before the first copy) and sending 300: one refuses, naming the other; nobody gets two copies."""
    _sqlite_only(store_backend)
    project = _project(tmp_path, built)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    readers = write_list(tmp_path / "list.csv", 20_000)
    issue = project / "out" / "210"
    with Server() as server:
        server.recorder.delay = 0.01
        env = _env(server)
        senders = [_weekly("send", str(issue), "--list", str(readers), "--limit", "300", "--yes", cwd=cwd, env=env)
                   for cwd in (project, elsewhere)]
        outputs = [sender.communicate(timeout=180) for sender in senders]
    received = server.recorder.received()
    assert set(received.values()) == {1}, f"{sum(n > 1 for n in received.values())} readers got it twice"
    assert len(received) == 300
    codes = sorted(sender.returncode for sender in senders)
    assert codes == [0, 1], outputs
    refusal = next(err for sender, (_, err) in zip(senders, outputs, strict=True) if sender.returncode == 1)
    assert "Traceback" not in refusal and ("is being sent by pid" in refusal or "has no record of it" in refusal)


def test_a_store_deleted_mid_send_then_the_printed_resume_sends_nobody_twice(built, tmp_path, store_backend):
    """The store's file deleted two seconds into a send of 600: the send stops and prints a resume; running
    that resume (which finds a new, empty store) refuses with the way to override, and sends nothing."""
    _sqlite_only(store_backend)
    project = _project(tmp_path, built)
    readers = write_list(tmp_path / "list.csv", 600)
    store = project / "state" / "ledger.sqlite3"
    with Server() as server:
        server.recorder.delay = 0.05  # 4 connections: about 80 a second, so the send lasts several seconds
        env = _env(server)
        sender = _weekly("send", "out/210", "--list", str(readers), "--yes", cwd=project, env=env)
        deadline = time.monotonic() + 60
        while not server.recorder.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(2)
        for file in store.parent.glob("ledger.sqlite3*"):
            if file.is_file():
                file.unlink()
        _, stderr = sender.communicate(timeout=120)
        first = len(server.recorder.messages)
        resume = re.search(r"Resume with: (weekly send .*)$", stderr, re.MULTILINE)
        assert sender.returncode == 1 and resume, stderr
        resumed = _weekly(*resume[1].split()[1:], cwd=project, env=env)
        _, again = resumed.communicate(timeout=120)
    assert "deleted or replaced while sending" in stderr
    assert resumed.returncode == 1 and "has no record of it" in again and "delivery.json" in again, again
    assert len(server.recorder.messages) == first < 600, "the resume sent again"
    assert set(server.recorder.received().values()) == {1}


def test_a_store_lost_before_the_next_cron_run_sends_nothing_again(tmp_path, store_backend, request):
    """`weekly run --send` sends #210; the store is then lost (its file deleted, or a new PostgreSQL schema);
    the next run, same week, neither rebuilds nor sends #210 again: exit 1 with the way to override."""
    readers = write_list(tmp_path / "list.csv", 5)
    with Server() as server:
        env = _env(server, WEEKLY_OUTPUT__DIR=str(tmp_path / "out"), WEEKLY_LIST__SUBSCRIBERS=str(readers),
                   WEEKLY_ISSUE__APPROVAL="auto", WEEKLY_LOG__FILE=str(tmp_path / "weekly.log"),
                   WEEKLY_STORE__URL=os.environ["WEEKLY_STORE__URL"])
        first = run_weekly("run", "--send", "--today", "2025-05-02", cwd=ROOT, env=env, process=True)
        assert first.returncode == 0, first.stderr
        if store_backend == "sqlite":
            for file in Path(env["WEEKLY_STORE__URL"]).parent.glob("store.sqlite3*"):
                if file.is_file():
                    file.unlink()
        else:
            env["WEEKLY_STORE__URL"] = request.getfixturevalue("postgres").schema_url(f"lost_{os.getpid()}_{id(env)}")
        second = run_weekly("run", "--send", "--today", "2025-05-02", cwd=ROOT, env=env, process=True)
    assert second.returncode == 1 and "has no record of it" in second.stderr, second.stderr
    assert second.stderr.count("error:") == 1 and "Traceback" not in second.stderr
    assert len(server.recorder.messages) == 5, "the issue went out again"


def test_a_sender_refused_the_moment_the_other_took_the_lock_still_names_it(built, tmp_path, store_backend):
    """The holder writes its name just after it takes the folder's lock; a second sender refused in between
    waits for the name instead of saying "another process" (a race two real senders hit under load)."""
    _sqlite_only(store_backend)
    from composer.errors import WeeklyError
    from composer.issues import SENDING, IssueFolder

    folder = tmp_path / "210"
    shutil.copytree(built, folder)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"handle = open({str(folder / SENDING)!r}, 'a+')\n"
        "fcntl.flock(handle, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(0.4)\n"
        "handle.write('pid 4242 on the other host'); handle.flush()\n"
        "time.sleep(5)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(WeeklyError, match="is being sent by pid 4242 on the other host"), \
                IssueFolder(folder).sending():
            pass
    finally:
        holder.kill()
        holder.wait()
