"""One line, never a traceback (issue 19, point 10), from real `weekly` processes: a full disk, a draft
nested 20,000 deep, a 5,000-digit issue number, a headline with U+2028, a 5,000-character name, a CSV
field over 128 KB, JSON nested too deep."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IDENTITY, KEY, ROOT, SEEDS, run_weekly, write_list


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("out") / "210"
    assert run_weekly("build", "-o", str(folder), process=True).returncode == 0
    return folder


def _draft_edited(built: Path, tmp_path: Path, edit) -> Path:
    folder = Path(shutil.copytree(built, tmp_path / "210"))
    draft = folder / "issue.yaml"
    draft.write_text(edit(draft.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def _one_line(done: subprocess.CompletedProcess, *expected: str) -> None:
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert done.returncode == 1 and len(errors) == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    for text in expected:
        assert text in errors[0], errors[0]


@pytest.mark.parametrize(("name", "edit", "expected"), [
    ("deep", lambda text: text.replace("headline:", "extra: " + "[" * 20000 + "]" * 20000 + "\nheadline:", 1),
     "nested too deeply"),
    ("5000 digits", lambda text: re.sub(r"^number: 210", "number: " + "9" * 5000, text, flags=re.M),
     "a number too long to be read"),
    ("40 digits", lambda text: re.sub(r"^number: 210", "number: " + "9" * 40, text, flags=re.M),
     "key 'number': Input should be less than or equal to 999999"),
    ("impossible date", lambda text: re.sub(r"^week_start: .*$", "week_start: 2025-13-45", text, flags=re.M),
     "key 'week_start': Input should be a valid date"),
    ("U+2028", lambda text: re.sub(r"^headline: '", "headline: 'A\u2028B ", text, flags=re.M),
     "key 'headline': holds a line break (U+2028)"),
    ("U+2029", lambda text: re.sub(r"^headline: '", "headline: 'A\u2029B ", text, flags=re.M),
     "key 'headline': holds a line break (U+2029)"),
])
def test_a_hand_edited_draft_that_breaks_is_one_line(built, tmp_path, name, edit, expected):
    """`weekly render` of a draft an editor broke: one error line naming the file and the reason."""
    folder = _draft_edited(built, tmp_path, edit)
    done = run_weekly("render", str(folder / "issue.yaml"), "-o", str(folder), process=True)
    _one_line(done, str(folder / "issue.yaml"), expected)


def _env(**extra: str) -> dict:
    return {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, **extra}


def test_a_long_name_and_a_huge_csv_field_cost_their_row_only(built, tmp_path):
    """A 5,000-character name (a 5,021-byte To line) and a 140 KB field (over the csv module's 128 KB): each
    row refused with its own line number, the other readers planned."""
    subscribers = write_list(tmp_path / "list.csv", 2, [["long@example.org", "x" * 5000, ""],
                                                         ["big@example.org", "Big", "y" * 140_000],
                                                         ["last@example.org", "Last", ""]])
    done = run_weekly("send", str(built), "--list", str(subscribers), "--dry-run", env=_env(), process=True)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"warning: {subscribers}:4: the name has 5000 characters, more than 100" in done.stderr
    assert f"warning: {subscribers}:5: not readable as CSV: field larger than field limit" in done.stderr
    assert "would send 3 message(s)" in done.stdout


def test_json_nested_too_deep_is_one_problem_and_the_rest_is_read(tmp_path):
    """An input file of 20,000 nested arrays: one error naming it; the seeds beside it are still read."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 20000 + "]" * 20000)
    done = run_weekly("items", str(deep), str(SEEDS), process=True)
    assert f"error: {deep}: nested too deeply to read" in done.stderr and "Traceback" not in done.stderr
    assert "29 items" in done.stdout


def _full_disk(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """`weekly ARGS` in a process that may write no byte to any file (RLIMIT_FSIZE 0), as on a full disk."""
    def no_room() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails with EFBIG instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    return subprocess.run([sys.executable, "-m", "composer", *args], cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120, preexec_fn=no_room, check=False)


def test_a_full_disk_is_one_line(built, tmp_path, store_url):
    """Nothing can be written: `weekly send` (before its lock, its store or its log are written), `weekly
    build` and `weekly bounces` (an SQLite store) each end with one error line, exit 1."""
    subscribers = write_list(tmp_path / "list.csv", 3)
    env = _env(WEEKLY_LOG__FILE=str(tmp_path / "state" / "weekly.log"), WEEKLY_OUTPUT__DIR=str(tmp_path / "out"))
    if not store_url.startswith("postgresql"):
        env["WEEKLY_STORE__URL"] = str(tmp_path / "state" / "store.sqlite3")  # a new store, on the full disk
    issue = Path(shutil.copytree(built, tmp_path / "210"))
    mbox = tmp_path / "bounces.mbox"
    mbox.write_text("From x\nSubject: hello\n\nhi\n")
    commands = [["send", str(issue), "--list", str(subscribers), "--yes"], ["build", str(SEEDS)]]
    if not store_url.startswith("postgresql"):
        commands.append(["bounces", str(mbox)])  # it writes nothing but the store: on PostgreSQL it just works
    for args in commands:
        _one_line(_full_disk(*args, cwd=tmp_path, env=env))
