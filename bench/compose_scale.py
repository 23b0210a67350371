"""Compose at scale: synthetic weeks of 100, 1,000 and 10,000 items (the seeds' sentences, fixed seed),
wall time per stage: ingest, curate, summarise, render. Median of RUNS runs per size.

    python bench/compose_scale.py
"""

from __future__ import annotations

import statistics
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

SIZES = (100, 1000, 10000)
RUNS = 3


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
    medians = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in SIZES:
            week = synthetic_week(Path(folder) / f"week-{size}.jsonl", size)
            runs = [stages(week) for _ in range(RUNS)]
            medians[size] = {stage: statistics.median(run[stage] for run in runs) for stage in runs[0]}
            medians[size]["max total"] = max(run["total"] for run in runs)
    print(f"median seconds of {RUNS} runs per size\n")
    print("| items | ingest | curate | summarise | render | total | max total |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size, row in medians.items():
        print(f"| {size} | " + " | ".join(f"{row[k]:.2f}" for k in ("ingest", "curate", "summarise", "render", "total",
                                                                    "max total")) + " |")
    print(f"\nratio total 10k / 1k: {medians[10000]['total'] / medians[1000]['total']:.1f}x (items: 10x)")


if __name__ == "__main__":
    main()
