"""Shared helpers: the repository's paths and a way to run the real `weekly` command."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from composer.cli import main
from composer.ingest import load_items

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
KEY = "a-test-signing-key-that-is-long-enough"  # signs unsubscribe tokens in the mail tests


def run_weekly(*args: str, cwd: Path = ROOT, env: dict | None = None, process: bool = False
               ) -> subprocess.CompletedProcess:
    """The `weekly` command with ARGS: in this process (composer.cli.main, with `env` as the whole
    environment and `cwd` as the working folder), or with `process` as `python -m composer` in its own
    process, for what only a process shows (signals, locks held by another process, a real start-up)."""
    if process:
        return subprocess.run([sys.executable, "-m", "composer", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_environ, saved_cwd = dict(os.environ), Path.cwd()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main([str(arg) for arg in args])
            except SystemExit as exit_:  # argparse: --help, --version and usage errors
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
    return subprocess.CompletedProcess(["weekly", *args], code, stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="session")
def seeds():
    """The bundled sample week, ingested once."""
    return load_items([SEEDS])


def write_list(path: Path, count: int, extra_rows: list[list[str]] = ()) -> Path:
    """A subscriber CSV of `count` readers (reader0@example.org …), then `extra_rows` as they are."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "country"])
        for number in range(count):
            writer.writerow([f"reader{number}@example.org", f"Reader {number}", "CH"])
        writer.writerows(extra_rows)
    return path
