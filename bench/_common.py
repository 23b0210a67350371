"""Helpers shared by the benchmarks: timing with medians, peak memory, synthetic inputs from the seeds."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer.ingest import load_items  # noqa: E402
from composer.language import split_sentences  # noqa: E402


def summary(times: list[float]) -> str:
    """'median (min–max)' in seconds."""
    return f"{statistics.median(times):.3f} ({min(times):.3f}–{max(times):.3f})"


def timed_process(command: list[str], runs: int, cwd: Path = ROOT, env: dict | None = None) -> tuple[list[float], int]:
    """Wall times of `runs` runs of `command` and the largest peak RSS in kB (GNU time)."""
    times, peak = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], cwd=cwd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-500:]}")
        peak = max(peak, int(done.stderr.strip().splitlines()[-1]))
    return times, peak


def subscriber_list(path: Path, count: int) -> Path:
    """A subscriber CSV of `count` generated readers (reader0@example.org …)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name"])
        writer.writerows([f"reader{n}@example.org", f"Reader {n}"] for n in range(count))
    return path


def smtp_sink(port: int) -> subprocess.Popen:
    """Postfix's smtp-sink on 127.0.0.1:`port`, accepting everything (Debian's postfix package); terminate it."""
    sink = subprocess.Popen(["smtp-sink", "-u", "postfix", f"127.0.0.1:{port}", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return sink


def synthetic_week(path: Path, items: int, seed: int = 2025) -> Path:
    """A JSON Lines week of `items` articles made of the seeds' sentences, with a fixed random seed."""
    seeds = load_items([ROOT / "seeds"]).items
    sentences = [s for item in seeds for p in item.paragraphs for s in split_sentences(p) if len(s) > 40]
    titles = [item.title for item in seeds if item.title]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for number in range(items):
            paragraphs = [" ".join(rng.sample(sentences, rng.randint(1, 3))) for _ in range(rng.randint(3, 8))]
            title = f"{rng.choice(titles)} ({number})" if rng.random() < 0.7 else None
            handle.write(json.dumps({"title": title, "paragraphs": paragraphs}, ensure_ascii=False) + "\n")
    return path


@contextlib.contextmanager
def baseline(commit: str | None) -> Iterator[Path | None]:
    """A checkout of `commit` (a git worktree, removed afterwards) to run beside today's code; None for none."""
    if not commit:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="weekly-baseline-")) / "checkout"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), commit], check=True,
                   capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], capture_output=True)


def weekly_at(source: Path, env: dict) -> tuple[list[str], dict]:
    """The `weekly` command and environment that run the code of the checkout `source` (this venv's packages)."""
    return [sys.executable, "-m", "composer"], {**env, "PYTHONPATH": str(source)}


def load() -> str:
    """The load averages (1, 5, 15 minutes): other work on the machine, for the record beside a figure."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())
