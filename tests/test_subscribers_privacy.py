"""Privacy: everything held about one person, exported and erased; an erased address is never mailed again;
lifting a complaint, a hard bounce or an erasure from the suppression list needs --force."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import IDENTITY, KEY, SEEDS, open_test_store, run_weekly
from issue_fixtures import full_draft
from smtp_server import Server

from composer.draft import write_draft
from composer.store.subscribers import PERSONAL

pytestmark = pytest.mark.both_backends
GONE = "Gone.Reader@dw-readers.net"


def _env(server: Server | None = None, **extra: str) -> dict:
    env = {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_ISSUE__APPROVAL": "auto", **extra}
    if server:
        env.update(WEEKLY_SMTP__HOST="127.0.0.1", WEEKLY_SMTP__PORT=str(server.port), WEEKLY_SMTP__SECURITY="none",
                   WEEKLY_SMTP__RETRY_BASE_SECONDS="0.01")
    return env


def _every_value_in_the_store() -> str:
    """Every value of every table of the store, as text: what a dump would show."""
    with open_test_store() as store:
        if store.db.dialect.name == "sqlite":
            tables = [row[0] for row in store.db.all("SELECT name FROM sqlite_master WHERE type='table'")]
        else:
            tables = [row[0] for row in store.db.all("SELECT tablename FROM pg_tables WHERE schemaname=current_schema()")]
        return "\n".join(repr(row) for table in tables for row in store.db.all(f"SELECT * FROM {table}"))


def test_export_then_erase_leaves_no_address_and_the_reader_is_never_mailed_again(tmp_path):
    """A reader with a store row, an issue in the ledger, a soft bounce: `export ADDRESS` shows all of it;
    `erase` deletes it from every table, keeping only a keyed hash; a list file naming the address again,
    `subscribers add` and the sign-up all leave it unmailed."""
    out = tmp_path / "out"
    readers = tmp_path / "readers.csv"
    readers.write_text(f"email,name\n{GONE},Gone Reader\nstays@dw-readers.net,Stays\n", encoding="utf-8")
    with Server() as server:
        env = _env(server, WEEKLY_OUTPUT__DIR=str(out))
        for address in (GONE, "stays@dw-readers.net"):
            assert run_weekly("subscribers", "add", address, env=env).returncode == 0
        sent = run_weekly("run", "--send", str(SEEDS), "--today", "2025-05-09", env=env)
        assert sent.returncode == 0, sent.stderr
        assert sorted(server.recorder.received()) == [GONE, "stays@dw-readers.net"]
        gone_copy = next(raw for _, to, raw in server.recorder.messages if to == [GONE])
        gone_link = re.search(rb"List-Unsubscribe: <(https?://[^>]+)>", gone_copy)[1].decode()
        with open_test_store() as store:
            store.suppressions.soft_bounce(GONE, 210)
        held = json.loads(run_weekly("subscribers", "export", GONE, env=env).stdout)
        assert held["held"]["subscribers"][0]["address"] == GONE and held["held"]["soft_bounces"][0]["issue"] == 210
        assert [row["state"] for row in held["held"]["recipients"]] == ["sent"]
        assert set(held["held"]) == set(PERSONAL)
        assert run_weekly("subscribers", "erase", GONE, env=env).returncode == 1, "erased without asking"
        erased = run_weekly("subscribers", "erase", GONE, "--yes", env=env)
        assert erased.returncode == 0 and "1 row(s) of recipients" in erased.stdout
        dump = _every_value_in_the_store().lower()
        assert "gone.reader" not in dump and "stays@dw-readers.net" in dump
        listed = run_weekly("suppressed", env=env)
        assert "erased:" in listed.stdout and "erased on request" in listed.stdout
        # The reader's own link, handed to the operator by a forwarded mail: an unsubscribe already done
        done = run_weekly("unsubscribe", gone_link, env=env)
        assert done.returncode == 0 and "erased on request" in done.stdout, done
        assert "gone.reader" not in _every_value_in_the_store().lower()
        server.recorder.messages.clear()
        write_draft(full_draft(), tmp_path / "211.yaml")
        assert run_weekly("render", tmp_path / "211.yaml", "-o", out / "211", env=env).returncode == 0
        again = run_weekly("send", out / "211", "--list", readers, "--yes", env=env)
        assert again.returncode == 0, again.stderr
        assert "a reader erased on request is left out" in again.stderr
        assert GONE not in server.recorder.received() and "stays@dw-readers.net" in server.recorder.received()
        refused = run_weekly("subscribers", "add", GONE, env=env)
        assert refused.returncode == 1 and "erased on its owner's request" in refused.stderr
        imported = tmp_path / "import.csv"
        imported.write_text(f"email\n{GONE}\n", encoding="utf-8")
        assert "1 erased here on request" in run_weekly("subscribers", "import", imported, env=env).stdout
    assert "gone.reader" not in _every_value_in_the_store().lower()


def test_every_table_naming_a_reader_is_covered_by_export_and_erase():
    """A table with an `email` column that export and erase do not know would keep an erased address."""
    with open_test_store() as store:
        if store.db.dialect.name == "sqlite":
            tables = {row[0] for row in store.db.all("SELECT name FROM sqlite_master WHERE type='table'")
                      if any(column[1] == "email" for column in store.db.all(f"PRAGMA table_info({row[0]})"))}
        else:
            tables = {row[0] for row in store.db.all(
                "SELECT table_name FROM information_schema.columns WHERE column_name='email' "
                "AND table_schema=current_schema()")}
    assert tables == set(PERSONAL)


@pytest.mark.parametrize(("reason", "needs_force"), [("complaint: abuse", True),
                                                      ("hard bounce: 550 5.1.1 No such user", True),
                                                      ("unsubscribed", False)])
def test_removing_a_complaint_or_a_hard_bounce_needs_force(reason, needs_force):
    """`suppressed --remove` of a complaint or a hard bounce refuses, saying why; --force does it with a warning."""
    with open_test_store() as store:
        store.suppressions.add("reader@dw-readers.net", reason)
    plain = run_weekly("suppressed", "--remove", "reader@dw-readers.net", env=_env())
    if not needs_force:
        assert plain.returncode == 0 and "no longer suppressed" in plain.stdout
        return
    assert plain.returncode == 1 and "add --force" in plain.stderr and plain.stderr.count("\n") == 1
    forced = run_weekly("suppressed", "--remove", "reader@dw-readers.net", "--force", env=_env())
    assert forced.returncode == 0 and "no longer suppressed" in forced.stdout
    assert forced.stderr.startswith("warning: reader@dw-readers.net ") and "(--force)" in forced.stderr


def test_an_erasure_is_lifted_only_with_force():
    """An erased reader who asks to come back: --remove needs --force, then they can be added again."""
    env = _env()
    assert run_weekly("subscribers", "add", GONE, env=env).returncode == 0
    assert run_weekly("subscribers", "erase", GONE, "--yes", env=env).returncode == 0
    refused = run_weekly("suppressed", "--remove", GONE, env=env)
    assert refused.returncode == 1 and "erased on its owner's request" in refused.stderr
    assert run_weekly("suppressed", "--remove", GONE, "--force", env=env).returncode == 0
    assert run_weekly("subscribers", "add", GONE, env=env).returncode == 0


def test_one_named_address_never_reaches_an_erased_or_suppressed_reader(tmp_path):
    """`send --to` and `--test-to` name one address: an erased one is refused by name, as are a complaint and
    a hard bounce (with --to, any suppression: it would be a send of nothing); an editor who unsubscribed
    from the list still gets her test copy. Nothing reaches the refused ones, and the ledger keeps no row."""
    out = tmp_path / "out"
    with Server() as server:
        env = _env(server, WEEKLY_OUTPUT__DIR=str(out))
        assert run_weekly("subscribers", "add", GONE, env=env).returncode == 0
        assert run_weekly("subscribers", "erase", GONE, "--yes", env=env).returncode == 0
        with open_test_store() as store:
            store.suppressions.add("spam@dw-readers.net", "complaint: abuse")
            store.suppressions.add("editor@dw-readers.net", "unsubscribed: removed by hand")
        write_draft(full_draft(), tmp_path / "211.yaml")
        assert run_weekly("render", tmp_path / "211.yaml", "-o", out / "211", env=env).returncode == 0
        for flag, address, why in (("--to", GONE, "erased on its owner's request"),
                                   ("--test-to", GONE, "erased on its owner's request"),
                                   ("--to", "spam@dw-readers.net", "(complaint: abuse)"),
                                   ("--test-to", "spam@dw-readers.net", "(complaint: abuse)"),
                                   ("--to", "editor@dw-readers.net", "(unsubscribed: removed by hand)")):
            refused = run_weekly("send", out / "211", flag, address, "--yes", env=env)
            assert refused.returncode == 1 and why in refused.stderr and "nothing sent" in refused.stderr, refused
            assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
        assert server.recorder.received() == {}
        test_copy = run_weekly("send", out / "211", "--test-to", "editor@dw-readers.net", "--yes", env=env)
        assert test_copy.returncode == 0, test_copy.stderr
        assert server.recorder.received() == {"editor@dw-readers.net": 1}
    with open_test_store() as store:
        assert sum(store.recipients.counts(211).values()) == 0  # refused before the ledger; a test copy keeps none
    assert "gone.reader" not in _every_value_in_the_store().lower()


def test_removing_an_address_the_store_does_not_hold_changes_nothing():
    """`subscribers remove` of an unknown address says so (exit 1) and suppresses nothing behind that error."""
    env = _env()
    refused = run_weekly("subscribers", "remove", "ghost@dw-readers.net", env=env)
    assert refused.returncode == 1 and "not in the subscriber store" in refused.stderr
    with open_test_store() as store:
        assert store.suppressions.get("ghost@dw-readers.net") is None


def test_a_readers_name_never_adds_a_header(tmp_path):
    """`subscribers add --name` refuses a line break and a name over 100 characters, as imports do; and a
    name a store already holds (written by an older weekly, or by hand) still gives each copy one To line:
    no header of its own, encoded words of at most 75 characters (RFC 2047), the line under 998 bytes."""
    from email.parser import BytesParser

    out = tmp_path / "out"
    with Server() as server:
        env = _env(server, WEEKLY_OUTPUT__DIR=str(out))
        forged = run_weekly("subscribers", "add", "nl@dw-readers.net", "--name", "Evil\r\nBcc: victim@dw-readers.net",
                            env=env)
        assert forged.returncode == 1 and "control character" in forged.stderr and forged.stderr.count("\n") == 1
        long = run_weekly("subscribers", "add", "nl@dw-readers.net", "--name", "N" * 300, env=env)
        assert long.returncode == 1 and "more than 100" in long.stderr
        with open_test_store() as store:
            store.subscribers.add("nl@dw-readers.net", "Evil\r\nBcc: victim@dw-readers.net", "by hand, unchecked")
            store.subscribers.add("long@dw-readers.net", "Жанна " * 60, "by hand, unchecked")
        write_draft(full_draft(), tmp_path / "211.yaml")
        assert run_weekly("render", tmp_path / "211.yaml", "-o", out / "211", env=env).returncode == 0
        sent = run_weekly("send", out / "211", "--yes", env=env)
        assert sent.returncode == 0, sent.stderr
        assert sorted(server.recorder.received()) == ["long@dw-readers.net", "nl@dw-readers.net"]
        for _, _, raw in server.recorder.messages:
            head = raw.split(b"\r\n\r\n", 1)[0]
            message = BytesParser().parsebytes(raw, headersonly=True)
            assert message.get_all("Bcc") is None and len(message.get_all("To")) == 1
            to_line = next(line for line in head.split(b"\r\n") if line.startswith(b"To:"))
            assert len(to_line) < 998 and all(len(word) <= 75 for word in re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=",
                                                                                       to_line)), to_line
