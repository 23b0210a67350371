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


def test_the_readme_crontab_lines_run_on_a_fresh_checkout(tmp_path):
    """Each crontab line of the README, as written, in a folder where nothing was made yet: it makes the log
    folder it writes to, and runs (the draft on Wednesday)."""
    import json
    import os
    import re
    import subprocess
    import sys

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if re.match(r"^[0-9*]+ [0-9*]+ [0-9*]+ [0-9*]+ [0-9*]+ +cd ", line)]
    assert len(lines) == 2 and all("seeds/" not in line for line in lines), "cron must not send the sample week"
    home = tmp_path / "srv" / "weekly"
    (home / "feeds").mkdir(parents=True)
    (home / "feeds" / "week.json").write_text(json.dumps([{
        "title": f"Regulator {n} fines a platform over data protection", "paragraphs": [
            f"The data protection regulator {n} fined a platform for breaking privacy rules online this week."],
        "published": "2025-05-01T09:00:00Z"} for n in range(8)]), encoding="utf-8")
    (home / "feeds" / "past.json").write_text(json.dumps([{
        "kind": "past_issue", "number": 209, "headline": "An earlier week", "week_start": "2025-04-18",
        "week_end": "2025-04-25"}]), encoding="utf-8")
    command = lines[0].split(None, 5)[5].replace("/srv/weekly", str(home))
    command = command.replace(".venv/bin/weekly run", f"{sys.executable} -m composer run --today 2025-05-02")
    env = {**os.environ, "WEEKLY_STORE__URL": str(home / "state" / "ledger.sqlite3"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(["sh", "-c", command], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, (done.stderr, (home / "state" / "cron.log").read_text(encoding="utf-8"))
    assert "DW Weekly #210" in (home / "state" / "cron.log").read_text(encoding="utf-8")
