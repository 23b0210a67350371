"""Shared helpers: the repository's paths and a way to run the real `weekly` command."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from composer.ingest import load_items

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
KEY = "a-test-signing-key-that-is-long-enough"  # signs unsubscribe tokens in the mail tests


def run_weekly(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m composer ARGS` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "composer", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


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
