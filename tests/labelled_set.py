"""The hand-labelled set (tests/data/labelled/labels.csv): every item of the seeds, of #209's Radar, editorial
and Reading Corner (tests/data/labelled/dw209.jsonl) and of the corpus copies in tests/data/corpus, labelled
by hand as on the DW Weekly beat or not and, when on it, with its basket. The README beside the labels says
how they were decided. Tests and bench/quality.py measure curate's relevance and baskets against it.

Run as a script for the figures of docs/benchmarks.md: `.venv/bin/python tests/labelled_set.py`.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
LABELS = DATA / "labelled" / "labels.csv"
sys.path.insert(0, str(ROOT))

from composer.config import load_taxonomy  # noqa: E402 (after the path, for the script form)
from composer.curate.classify import TaxonomyPatterns, classify, fit  # noqa: E402
from composer.ingest import load_items  # noqa: E402
from composer.models import Item  # noqa: E402


@dataclass(frozen=True)
class Labelled:
    item: Item
    on_beat: bool
    basket: str | None
    note: str


def sources() -> list[Path]:
    """The inputs the set is built on: the seeds, #209's entries, the corpus copies."""
    corpus = sorted(path for path in (DATA / "corpus").iterdir() if path.name != "README.md")
    return [ROOT / "seeds", DATA / "labelled" / "dw209.jsonl", *corpus]


def labelled_set() -> list[Labelled]:
    """Every labelled item, read from the inputs; a label without its item, or an item without a label, fails."""
    with LABELS.open(encoding="utf-8", newline="") as handle:
        labels = {row["id"]: row for row in csv.DictReader(handle)}
    items = {item.id: item for item in load_items(sources()).items}
    missing = labels.keys() - items.keys()
    unlabelled = items.keys() - labels.keys()
    if missing or unlabelled:
        raise AssertionError(f"labels without items: {sorted(missing)}; items without labels: {sorted(unlabelled)}")
    return [Labelled(items[id_], row["on_beat"] == "yes", row["basket"] or None, row["note"])
            for id_, row in labels.items()]


@dataclass(frozen=True)
class Figures:
    on_beat: int
    off_beat: int
    false_rejects: list[Labelled]
    false_accepts: list[Labelled]
    basket_right: int
    confusions: Counter  # (labelled basket, curate's basket) -> count

    @property
    def basket_accuracy(self) -> float:
        return self.basket_right / self.on_beat if self.on_beat else 1.0


def figures(labelled: list[Labelled], patterns: TaxonomyPatterns | None = None) -> Figures:
    """Relevance (false rejects, false accepts) and basket accuracy of curate's classifier on the set."""
    patterns = patterns or TaxonomyPatterns(load_taxonomy())
    rejects, accepts, right, confusions = [], [], 0, Counter()
    for entry in labelled:
        judged = fit(entry.item, patterns).on_beat
        if entry.on_beat and not judged:
            rejects.append(entry)
        if not entry.on_beat and judged:
            accepts.append(entry)
        if entry.on_beat:
            basket = classify(entry.item, patterns).basket
            right += basket == entry.basket
            if basket != entry.basket:
                confusions[(entry.basket, basket)] += 1
    on_beat = sum(entry.on_beat for entry in labelled)
    return Figures(on_beat, len(labelled) - on_beat, rejects, accepts, right, confusions)


def report(result: Figures) -> str:
    lines = [
        f"on the beat: {result.on_beat}, off it: {result.off_beat}",
        f"false rejects: {len(result.false_rejects)} of {result.on_beat}",
        *(f"  - {(entry.item.title or entry.item.paragraphs[0])[:80]}" for entry in result.false_rejects),
        f"false accepts: {len(result.false_accepts)} of {result.off_beat}",
        *(f"  - {(entry.item.title or entry.item.paragraphs[0])[:80]}" for entry in result.false_accepts),
        f"baskets right: {result.basket_right} of {result.on_beat} ({result.basket_accuracy:.0%})",
        *(f"  - {count} x {truth} filed as {guess}" for (truth, guess), count in result.confusions.most_common()),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(figures(labelled_set())))
