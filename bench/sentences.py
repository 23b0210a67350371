"""Sentence splitting speed on a synthetic week of 1,000 items made from the seeds' paragraphs.

Compared in the same run with the simplest possible splitter (one `re.split` on punctuation and
space), which is wrong on abbreviations but shows the floor for a regex pass over the same text.

    python bench/sentences.py
"""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer.ingest import load_items  # noqa: E402
from composer.language import split_sentences  # noqa: E402

RUNS = 7
ITEMS = 1000
_NAIVE = re.compile(r"(?<=[.!?])\s+")


def week(items: int, seed: int = 7) -> list[list[str]]:
    """`items` articles of 4-12 paragraphs drawn from the seeds with a fixed random seed."""
    paragraphs = [p for item in load_items([ROOT / "seeds"]).items for p in item.paragraphs]
    rng = random.Random(seed)
    return [rng.sample(paragraphs, rng.randint(4, 12)) for _ in range(items)]


def _time(split, articles: list[list[str]]) -> tuple[float, int]:
    start = time.perf_counter()
    count = sum(len(split(paragraph)) for article in articles for paragraph in article)
    return time.perf_counter() - start, count


def main() -> None:
    articles = week(ITEMS)
    characters = sum(len(p) for article in articles for p in article)
    results = {}
    for name, split in (("weekly split_sentences", split_sentences), ("naive re.split baseline", _NAIVE.split)):
        timings = [_time(split, articles) for _ in range(RUNS)]
        results[name] = ([t for t, _ in timings], timings[0][1])
    print(f"{ITEMS} items, {characters / 1e6:.1f} M characters, median of {RUNS} runs\n")
    print("| splitter | median ms | min ms | max ms | sentences |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, (times, sentences) in results.items():
        print(f"| {name} | {statistics.median(times) * 1e3:.1f} | {min(times) * 1e3:.1f} | {max(times) * 1e3:.1f} | {sentences} |")
    ratio = statistics.median(results["weekly split_sentences"][0]) / statistics.median(results["naive re.split baseline"][0])
    print(f"\nratio weekly / naive: {ratio:.1f}x")


if __name__ == "__main__":
    main()
