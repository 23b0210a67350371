"""Drafts before and after a change that must not change them (a speed-up): `weekly compose` writes the draft
of each week below into DIR, each in a fresh folder with a fresh store; `--compare OTHER` then says which
drafts differ from the ones in OTHER, byte for byte.

The weeks: the seeds; the tests' corpus copies composed together with the seeds; each corpus feed as its own
week (the seven days up to its newest item); synthetic weeks of 1,000 and 10,000 items (bench/_common.py's
synthetic_week, kept in DIR so both runs read the same files).

    python bench/same_drafts.py /tmp/before            (on the commit before the change)
    python bench/same_drafts.py /tmp/after --compare /tmp/before
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from _common import ROOT, synthetic_week

from composer.ingest import load_items

CORPUS = ROOT / "tests" / "data" / "corpus"
WEEKLY = str(Path(sys.executable).parent / "weekly")
SYNTHETIC = (1000, 10000)


def weeks(folder: Path) -> dict[str, list[str]]:
    """Name -> the `weekly compose` arguments of each week."""
    fixed = ["--today", "2025-05-02"]
    chosen = {"seeds": [str(ROOT / "seeds"), *fixed],
              "corpus+seeds": [str(CORPUS), str(ROOT / "seeds"), *fixed]}
    for feed in sorted(p for p in CORPUS.iterdir() if p.name != "README.md"):
        dates = [item.published.date() for item in load_items([feed]).items if item.published]
        week = ["--week", str(max(dates) - timedelta(days=6))] if dates else []
        chosen[f"corpus-{feed.name}"] = [str(feed), "--issue", "210", *week, *fixed]
    for size in SYNTHETIC:
        week_file = folder / f"synthetic-{size}.jsonl"
        if not week_file.exists():
            synthetic_week(week_file, size)
        chosen[f"synthetic-{size}"] = [str(week_file), "--issue", "210", "--week", "2025-04-25", *fixed]
    return chosen


def write_drafts(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, arguments in weeks(folder).items():
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "WEEKLY_OUTPUT__DIR": f"{home}/out", "WEEKLY_STORE__URL": f"{home}/ledger.sqlite3"}
            done = subprocess.run([WEEKLY, "compose", *arguments, "--offline", "-o", f"{home}/issue.yaml"],
                                  cwd=home, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{name}: {done.stderr.strip()[-500:]}")
            shutil.copy(f"{home}/issue.yaml", folder / f"{name}.yaml")
        print(f"wrote {name}.yaml")


def compare(folder: Path, other: Path) -> int:
    names = sorted(path.name for path in other.glob("*.yaml"))
    differ = [name for name in names if (folder / name).read_bytes() != (other / name).read_bytes()]
    print(f"{len(names) - len(differ)} of {len(names)} drafts byte-identical" +
          (f"; differ: {', '.join(differ)}" if differ else ""))
    return 1 if differ else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--compare", type=Path, help="a folder of drafts written before")
    arguments = parser.parse_args()
    if arguments.compare:
        for week_file in arguments.compare.glob("synthetic-*.jsonl"):  # the same synthetic weeks, by construction
            arguments.dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(week_file, arguments.dir / week_file.name)
    write_drafts(arguments.dir)
    if arguments.compare:
        raise SystemExit(compare(arguments.dir, arguments.compare))


if __name__ == "__main__":
    main()
