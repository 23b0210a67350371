"""Cold start: `weekly --help` and `weekly build` on the seeds as whole processes, against `python -c pass`.

    python bench/cold_start.py            (from the venv where weekly is installed)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _common import summary, timed_process

RUNS = 9


def main() -> None:
    weekly = str(Path(sys.executable).parent / "weekly")
    with tempfile.TemporaryDirectory() as out:
        cases = {
            "python -c pass (interpreter floor)": [sys.executable, "-c", "pass"],
            "weekly --help": [weekly, "--help"],
            "weekly build (seeds, to a temp dir)": [weekly, "build", "-o", f"{out}/210"],
        }
        print(f"median (min–max) seconds of {RUNS} runs\n")
        print("| command | wall s | peak RSS MB | target |")
        print("| --- | ---: | ---: | --- |")
        targets = {"weekly --help": "≤ 0.3 s", "weekly build (seeds, to a temp dir)": "≤ 1.5 s"}
        for name, command in cases.items():
            times, peak = timed_process(command, RUNS)
            print(f"| {name} | {summary(times)} | {peak / 1024:.0f} | {targets.get(name, '')} |")


if __name__ == "__main__":
    main()
