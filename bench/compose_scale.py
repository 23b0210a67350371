"""Compose at scale: `weekly compose` of synthetic weeks (the seeds' sentences, fixed seed; 1,000, 10,000 and
50,000 items) as whole processes, each in a fresh folder with a fresh store: wall and CPU seconds and peak
RSS, median of RUNS runs. With --baseline DIR (a checkout of another commit, e.g.
`git archive COMMIT | tar -x -C DIR`), the same weeks are composed by that code as well, its runs
interleaved with these, and the ratios are of medians from the same run. --stages adds wall seconds per
stage in one process (ingest, curate, summarise, render).

    python bench/compose_scale.py [--baseline DIR] [--sizes 1000,10000,50000] [--runs 3] [--stages]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from _common import synthetic_week

from composer.config import Settings, load_taxonomy
from composer.curate import CurateRules, curate
from composer.ingest import load_items
from composer.pipeline import style_for
from composer.render import render
from composer.summarise import summarise

WEEKLY = str(Path(sys.executable).parent / "weekly")
ARGUMENTS = ["--offline", "--issue", "210", "--week", "2025-04-25", "--today", "2025-05-02"]


def composed(command: list[str], week: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in kB of one `weekly compose` of `week`."""
    with tempfile.TemporaryDirectory() as home:
        # 50,000 items are about 85 MB of JSON Lines, over the default 20 MB input limit: raised as stages() does
        env = {**os.environ, "WEEKLY_OUTPUT__DIR": f"{home}/out", "WEEKLY_STORE__URL": f"{home}/ledger.sqlite3",
               "WEEKLY_INGEST__MAX_FILE_MB": "200"}
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *command, "compose", str(week), *ARGUMENTS,
                               "-o", f"{home}/issue.yaml"], cwd=home, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} compose {week.name} failed: {done.stderr[-500:]}")
    peak, user, system = done.stderr.strip().splitlines()[-1].split()
    return wall, float(user) + float(system), int(peak)


def stages(path: Path) -> dict[str, float]:
    settings = Settings()
    taxonomy = load_taxonomy()
    times = {}
    start = time.perf_counter()
    ingested = load_items([path], max_file_mb=200)
    times["ingest"] = time.perf_counter() - start
    start = time.perf_counter()
    selection = curate(ingested, CurateRules(taxonomy=taxonomy, issue_number=210, week_start=date(2025, 4, 25)))
    times["curate"] = time.perf_counter() - start
    start = time.perf_counter()
    draft, _ = summarise(selection, style_for(settings.issue, taxonomy))
    times["summarise"] = time.perf_counter() - start
    start = time.perf_counter()
    render(draft, settings.brand)
    times["render"] = time.perf_counter() - start
    times["total"] = sum(times.values())
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare with")
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stages", action="store_true")
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    commands = {"this": [WEEKLY]}
    if arguments.baseline:
        baseline = str(arguments.baseline.resolve())
        commands["baseline"] = [sys.executable, "-c", f"import sys; sys.path.insert(0, {baseline!r}); "
                                "from composer.cli import main; raise SystemExit(main())"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            week = synthetic_week(Path(folder) / f"week-{size}.jsonl", size)
            runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
            for _ in range(arguments.runs):
                for name, command in commands.items():
                    runs[name].append(composed(command, week))
            for name, measured in runs.items():
                rows.append((size, name, *(statistics.median(run[part] for run in measured) for part in range(3)),
                             max(run[0] for run in measured)))
            if arguments.stages:
                print(f"{size} items, wall s per stage (one process):",
                      {stage: round(seconds, 2) for stage, seconds in stages(week).items()})
    load = os.getloadavg()
    print(f"`weekly compose`, median of {arguments.runs} runs (load average {load[0]:.1f} at the end)\n")
    print("| items | code | wall s | max wall s | CPU s | peak RSS MB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for size, name, wall, cpu, peak, worst in rows:
        print(f"| {size} | {name} | {wall:.2f} | {worst:.2f} | {cpu:.2f} | {peak / 1024:.0f} |")
    if arguments.baseline:
        print()
        for size in sizes:
            this, base = (next(row for row in rows if row[0] == size and row[1] == name) for name in ("this", "baseline"))
            print(f"{size} items: wall {this[2] / base[2]:.2f}x, CPU {this[3] / base[3]:.2f}x, "
                  f"peak RSS {this[4] / base[4]:.2f}x of the baseline")


if __name__ == "__main__":
    main()
