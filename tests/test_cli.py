"""The `weekly` command: help with examples, exit codes, one-line errors, and a build on the seeds."""

from __future__ import annotations

import json
from html import escape

import pytest
from conftest import DATA, SEEDS, run_weekly

from composer.cli import _parser
from composer.draft import read_draft

COMMANDS = sorted(_parser()._subparsers._group_actions[0].choices)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    """`weekly COMMAND --help` exits 0 and shows a runnable example."""
    done = run_weekly(command, "--help")
    assert done.returncode == 0
    assert "example:" in done.stdout and f"weekly {command}" in done.stdout.split("example:")[1]


def test_top_level_help_lists_commands():
    """`weekly --help` names every command."""
    done = run_weekly("--help")
    assert done.returncode == 0 and all(command in done.stdout for command in COMMANDS)


def test_usage_error_exits_2():
    """An unknown option is a usage error, exit 2."""
    assert run_weekly("items", "--no-such-option").returncode == 2
    assert run_weekly("frobnicate").returncode == 2


def test_items_on_seeds_exit_0_and_table():
    """`weekly items` on the default seeds/ prints the table and the past issue, exit 0."""
    done = run_weekly("items", env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "29 items" in done.stdout and "past issue DW Weekly #209" in done.stdout


@pytest.mark.parametrize("columns", ["", "80"])
def test_items_table_gives_each_item_one_readable_line(columns):
    """In a pipe (no COLUMNS) or an 80-column terminal, each item is one row with its title's first words
    whole, not a word a line."""
    env = {"PATH": "/usr/bin:/bin", **({"COLUMNS": columns} if columns else {})}
    done = run_weekly("items", env=env, process=True)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 29 and "CERN unveils AI strategy" in rows[0], done.stdout[:2000]
    assert max(map(len, done.stdout.splitlines())) <= (int(columns) if columns else 150)


def test_bad_inputs_exit_1_with_one_line_each_and_good_ones_printed():
    """Bad files give one `error:` line each, no traceback, exit 1, and the good items still print."""
    done = run_weekly("items", "--json", str(DATA / "garbage.rss"), str(DATA / "missing.txt"), str(SEEDS))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"error: {DATA / 'garbage.rss'}: not a valid RSS or Atom feed: <unknown>:2:0: syntax error",
        f"error: {DATA / 'missing.txt'}: no such file or folder",
    ]
    assert len(json.loads(done.stdout)) == 30


def test_warnings_alone_exit_0(tmp_path):
    """A warning (invalid UTF-8 decoded with replacement) is printed but is not a failure."""
    (tmp_path / "latin1.txt").write_bytes("Title\n\nCaf\xe9 society in Geneva is busy.\n".encode("latin-1"))
    done = run_weekly("items", str(tmp_path))
    assert done.returncode == 0
    assert done.stderr.startswith(f"warning: {tmp_path / 'latin1.txt'}:3: not valid UTF-8")


def test_build_on_seeds_writes_draft_and_compiled_html(tmp_path):
    """`weekly build -o DIR` on the seeds writes issue.yaml and index.html compiled from MJML, issue #210."""
    done = run_weekly("build", "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "DW Weekly #210 (25 April – 2 May 2025)" in done.stdout
    draft = read_draft(tmp_path / "out" / "issue.yaml")
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert html.lower().startswith("<!doctype html>") and "<mj-" not in html
    assert "DW Weekly #210" in html
    assert all(escape(entry.title, quote=False) in html for entry in draft.sections.radar)
    assert "fonts.googleapis.com" not in html


def test_build_with_no_articles_writes_nothing(tmp_path):
    """A build whose inputs all fail reports each, exits 1 and leaves the last issue in place."""
    out = tmp_path / "out"
    assert run_weekly("build", "-o", str(out)).returncode == 0
    before = (out / "index.html").read_bytes()
    done = run_weekly("build", str(tmp_path / "missing"), "-o", str(out))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: {tmp_path / 'missing'}: no such file or folder",
        f"error: no articles in {tmp_path / 'missing'}; nothing written",
    ]
    assert (out / "index.html").read_bytes() == before
