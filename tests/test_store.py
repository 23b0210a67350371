"""The store: a versioned schema and its migrations, rows kept per list, and the two-machine setup on
PostgreSQL (the sender and `weekly serve` on different hosts, sharing nothing but the database)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import DATA, IDENTITY, KEY, SEEDS, open_test_store, run_weekly, write_list
from smtp_server import Server, free_port

from composer.config import Settings
from composer.deliver.tokens import sign
from composer.models import Subscriber
from composer.store import StoreError, open_store
from composer.store.schema import VERSION

LEGACY = DATA / "store"


def _env(server: Server | None, **extra: str) -> dict:
    env = {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_ISSUE__APPROVAL": "auto", **extra}
    if server:
        env.update(WEEKLY_SMTP__HOST="127.0.0.1", WEEKLY_SMTP__PORT=str(server.port), WEEKLY_SMTP__SECURITY="none",
                   WEEKLY_SMTP__RETRY_BASE_SECONDS="0.01")
    return env


def test_a_ledger_from_before_versions_is_migrated_and_the_next_issue_sent_from_it(tmp_path, store_backend):
    """Today's weekly opens the ledger main wrote (backing it up first): #210 is known as sent with its
    stories, the suppressions and the soft bounce stay, and the next issue is #211, sent once to the two
    readers still subscribed."""
    if store_backend != "sqlite":
        pytest.skip("the ledger before versions was an SQLite file")
    work = tmp_path / "work"
    shutil.copytree(LEGACY / "issues", work / "out")
    store = work / "state" / "ledger.sqlite3"
    store.parent.mkdir()
    shutil.copy(LEGACY / "ledger-before-versions.sqlite3", store)
    readers = work / "list.csv"
    readers.write_text("email,name\n" + "".join(f"{name}@dw-readers.net,{name.title()}\n"
                                                for name in ("ana", "ben", "cleo", "dan")), encoding="utf-8")
    with Server() as server:
        env = _env(server, WEEKLY_STORE__URL=str(store), WEEKLY_OUTPUT__DIR=str(work / "out"),
                   WEEKLY_LIST__SUBSCRIBERS=str(readers))
        issues = run_weekly("issues", env=env)
        assert issues.returncode == 0, issues.stderr
        assert (work / "state" / "ledger.sqlite3.v0.bak").is_file(), "no backup before the migration"
        assert "   210  25 Apr – 02 May 2025      sent" in issues.stdout and "sent 2, failed 1, skipped 1" in issues.stdout
        built = run_weekly("run", "--send", str(SEEDS), "--today", "2025-05-09", env=env)
        assert built.returncode == 0, built.stderr
    assert "DW Weekly #211 (2 – 9 May 2025)" in built.stdout
    assert sorted(server.recorder.received()) == ["ana@dw-readers.net", "ben@dw-readers.net"]
    with open_store(Settings(store={"url": str(store)}).store, "dw-weekly.dig.watch") as opened:
        assert opened.db.scalar("SELECT value FROM meta WHERE key='schema_version'") == str(VERSION)
        reasons = {row.email: row.reason for row in opened.suppressions.all()}
        assert reasons == {"cleo@dw-readers.net": "manual: asked by phone",
                           "dan@dw-readers.net": "hard bounce: 550 5.1.1 No such user here"}
        assert opened.suppressions.soft_bounce("ana@dw-readers.net", 211) == 2, "the soft bounce of #210 was lost"
        published = opened.issues.items_of([210])
    draft_211 = (work / "out" / "211" / "issue.yaml").read_text(encoding="utf-8")
    assert published and not any(item in draft_211.split("left_out:")[0] for item in published), \
        "#211 retells a story #210 carried"


def test_a_store_newer_than_this_weekly_is_refused_by_name(tmp_path, store_backend):
    """A schema version this weekly does not know: one line naming it, nothing read or changed."""
    with open_test_store() as store:
        store.db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    done = run_weekly("issues")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "the store has schema version 99, newer than this weekly knows" in done.stderr
    with pytest.raises(StoreError, match="schema version 99"):
        open_test_store()


def test_two_newsletters_share_a_store_without_sharing_rows(store_backend):
    """Suppressions, ledger rows and issue records are the list's own."""
    with open_test_store("first.example.org") as first, open_test_store("second.example.org") as second:
        first.suppressions.add("reader@example.org", "unsubscribed")
        first.recipients.add(210, [Subscriber(email="reader@example.org")])
        assert "reader@example.org" not in second.suppressions
        assert sum(second.recipients.counts(210).values()) == 0
        second.recipients.add(210, [Subscriber(email="reader@example.org")])
        assert second.recipients.counts(210)["pending"] == 1 and first.recipients.counts(210)["skipped"] == 1


def test_a_migration_that_fails_leaves_the_store_as_it_was(tmp_path, store_backend, monkeypatch):
    """A migration step that fails rolls back: the old tables and rows stay, the version stays 0."""
    if store_backend != "sqlite":
        pytest.skip("the ledger before versions was an SQLite file")
    from composer.store import schema

    path = tmp_path / "old.sqlite3"
    shutil.copy(LEGACY / "ledger-before-versions.sqlite3", path)

    def broken(db, context):
        schema._v1(db, context)
        raise StoreError("disk full, say")

    monkeypatch.setattr("composer.store.MIGRATIONS", [broken])
    with pytest.raises(StoreError, match="disk full"):
        open_store(Settings(store={"url": str(path)}).store, "dw-weekly.dig.watch")
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"recipients", "suppression", "soft_bounces"}
        assert db.execute("SELECT count(*) FROM recipients").fetchone()[0] == 4


# ---- two machines, one PostgreSQL -------------------------------------------------------------------------


def _machine(tmp_path: Path, name: str, built: Path) -> Path:
    """A working folder of its own, with its own copy of the issue and of the list: no file is shared."""
    home = tmp_path / name
    home.mkdir()
    shutil.copytree(built, home / "210")
    write_list(home / "list.csv", 200)
    return home


def test_two_senders_on_two_machines_send_each_copy_once(tmp_path, store_backend):
    """Two `weekly send` of one issue from two working folders that share nothing but the PostgreSQL store:
    every reader gets one copy; the second sender refuses, naming the first."""
    if store_backend != "postgresql":
        pytest.skip("two machines share a PostgreSQL store, not an SQLite file")
    built = tmp_path / "built" / "210"
    assert run_weekly("build", "-o", str(built)).returncode == 0
    homes = [_machine(tmp_path, name, built) for name in ("alpha", "beta")]
    with Server() as server:
        server.recorder.delay = 0.01
        command = [sys.executable, "-m", "composer", "send", "210", "--list", "list.csv", "--yes"]
        senders = [subprocess.Popen(command, cwd=home, env=_env(server, WEEKLY_LOG__FILE=str(home / "log")),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for home in homes]
        outputs = [sender.communicate(timeout=120) for sender in senders]
    received = server.recorder.received()
    assert len(received) == 200 and set(received.values()) == {1}, outputs
    refusals = [err for _, err in outputs if "another `weekly` is sending or building issue 210 (pid " in err]
    finished = [sender for sender in senders if sender.returncode == 0]
    assert len(finished) >= 1 and len(refusals) + len(finished) == 2, outputs


def test_an_unsubscribe_on_the_web_host_is_honoured_by_the_sender_on_another(tmp_path, store_backend):
    """`weekly serve` on one host, `weekly run --send` on another, one PostgreSQL: the one-click POST on the
    first keeps the reader out of the next issue sent by the second."""
    if store_backend != "postgresql":
        pytest.skip("two machines share a PostgreSQL store, not an SQLite file")
    web, sender = tmp_path / "web", tmp_path / "sender"
    web.mkdir()
    sender.mkdir()
    subscribers = write_list(sender / "list.csv", 3)
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "composer", "serve", "--port", str(port)], cwd=web,
                             env=_env(None, WEEKLY_SERVE__ALLOWED_HOSTS='["127.0.0.1"]'),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(port)
        token = sign("reader1@example.org", "dw-weekly.dig.watch", KEY.encode())
        answer = httpx.post(f"http://127.0.0.1:{port}/newsletter/unsubscribe?token={token}",
                            data={"List-Unsubscribe": "One-Click"}, timeout=10)
        assert answer.status_code == 200
    finally:
        serve.terminate()
        serve.wait(timeout=10)
    with Server() as server:
        done = subprocess.run([sys.executable, "-m", "composer", "run", "--send", str(SEEDS)], cwd=sender,
                              env=_env(server, WEEKLY_LIST__SUBSCRIBERS=str(subscribers)),
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(server.recorder.received()) == ["reader0@example.org", "reader2@example.org"]
    assert not (web / "state" / "ledger.sqlite3").exists() and not (sender / "state" / "ledger.sqlite3").exists(), \
        "a host kept a store of its own"  # the web host keeps only its unsubscribe queue (serve.queue_file)


def _wait_for(port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("weekly serve did not start")



def test_processes_opening_a_new_store_at_once_create_it_once(tmp_path, store_backend):
    """Four processes open a store that does not exist yet: one creates the schema, none fails (found when
    two senders started together on a fresh PostgreSQL schema: "relation meta already exists")."""
    command = [sys.executable, "-m", "composer", "issues"]
    openers = [subprocess.Popen(command, cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [opener.communicate(timeout=60) for opener in openers]
    assert [opener.returncode for opener in openers] == [0, 0, 0, 0], outputs
    with open_test_store() as store:
        assert store.db.scalar("SELECT count(*) FROM meta WHERE key='store_id'") == 1


def test_a_lock_whose_holder_is_gone_a_moment_later_is_taken_not_refused(store_backend):
    """On PostgreSQL a lock is a session's: a process that has just ended holds it until the server sees
    the connection closed, a moment later on a busy machine. The next run waits that moment out instead of
    refusing as if another sender were at work (cron's next Friday, a resume, the suite's next process);
    one still held after the grace is refused, naming the holder as before."""
    if store_backend != "postgresql":
        pytest.skip("an flock goes with its process at once")
    import hashlib
    import threading

    import psycopg

    with open_test_store() as store:
        locks = store._locks
        full = f"{locks.scope}:issue:210"
        key = int.from_bytes(hashlib.sha256(full.encode()).digest()[:8], "big", signed=True)
        going = psycopg.connect(locks.url, autocommit=True, password=locks.password)
        going.execute("SELECT pg_advisory_lock(%s)", (key,))
        threading.Timer(0.5, going.close).start()
        with store.lock("issue:210", "issue 210 is being sent by {holder}"):
            pass
        staying = psycopg.connect(locks.url, autocommit=True, password=locks.password)
        try:
            staying.execute("SELECT pg_advisory_lock(%s)", (key,))
            with pytest.raises(StoreError, match="issue 210 is being sent by another process"), \
                    store.lock("issue:210", "issue 210 is being sent by {holder}"):
                pass
        finally:
            staying.close()
