"""The README's promises: its two set-up commands are the ones CI and users run."""

from __future__ import annotations

from conftest import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("python3 -m venv .venv && ")]


def test_readme_has_the_two_fresh_machine_commands():
    """One command installs and builds the seeds' issue; one installs test dependencies and runs pytest."""
    install_and_build, test = _readme_commands()
    assert install_and_build.endswith("weekly build")
    assert "'.[test]'" in test and test.endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command():
    """.ci/run's last line is the README's test command, character for character."""
    ci_last_line = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci_last_line == _readme_commands()[1]
