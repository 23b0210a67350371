"""Shared helpers: the repository's paths and a way to run the real `weekly` command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from composer.ingest import load_items

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"


def run_weekly(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m composer ARGS` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "composer", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="session")
def seeds():
    """The bundled sample week, ingested once."""
    return load_items([SEEDS])
