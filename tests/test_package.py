"""The package as users get it: a wheel installed outside the checkout builds the seeds' issue, and the
code passes the linters the project keeps (ruff, mypy)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import IDENTITY, ROOT, SEEDS

_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "venv", "out", "state", "build", "dist", "*.egg-info",
                                     "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache")


def _run(command: list, cwd: Path, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env=env)
    assert done.returncode == 0, f"{command}: {done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    return done


def test_wheel_installed_outside_the_checkout_builds_the_seeds_issue(tmp_path):
    """pip wheel, a fresh venv, then `weekly build` in an empty folder: the templates and topics come with it."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", source], tmp_path)
    (wheel,) = (tmp_path / "dist").glob("weekly-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    _run([tmp_path / "venv" / "bin" / "python", "-m", "pip", "install", "-q", wheel], tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _run([tmp_path / "venv" / "bin" / "weekly", "build", SEEDS], elsewhere)
    assert (elsewhere / "out" / "210" / "index.html").is_file()
    _run([tmp_path / "venv" / "bin" / "weekly", "check", "out/210"], elsewhere, env={**os.environ, **IDENTITY})


@pytest.mark.parametrize("command", [["ruff", "check", "composer", "tests", "bench"], ["mypy"]])
def test_linters_are_clean(command):
    """ruff (the rules in pyproject.toml) and mypy (with the pydantic plugin) report nothing."""
    tool = Path(sys.executable).parent / command[0]
    if not tool.exists():
        pytest.skip(f"{command[0]} is not installed (it comes with the test extra)")
    _run([tool, *command[1:]], ROOT)
