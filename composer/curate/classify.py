"""File a story: its Digital Watch basket, the technologies it touches, and its kind."""

from __future__ import annotations

import re

from composer.config import Taxonomy
from composer.models import Item, ItemKind

_TITLE_WEIGHT = 3


def classify(item: Item, patterns: TaxonomyPatterns) -> tuple[str, tuple[str, ...], ItemKind]:
    """(basket, technologies, kind) of `item` by the cue words of a compiled taxonomy."""
    title = (item.title or "").lower()
    body = " ".join(item.paragraphs).lower()
    scores = {
        basket: _TITLE_WEIGHT * len(pattern.findall(title)) + len(pattern.findall(body))
        for basket, pattern in patterns.baskets.items()
    }
    best = max(scores.values())
    basket = next(name for name, score in scores.items() if score == best) if best else patterns.default_basket
    text = f"{title} {body}"
    technologies = tuple(name for name, pattern in patterns.technologies.items() if pattern.search(text))
    return basket, technologies, _kind(item, text, patterns)


def _kind(item: Item, text: str, patterns) -> ItemKind:
    if item.kind != "news":
        return item.kind
    url = (item.url or "").lower()
    for kind, (text_pattern, url_cues) in patterns.kinds.items():
        if (text_pattern and text_pattern.search(text)) or any(cue in url for cue in url_cues):
            return kind
    return "news"


class TaxonomyPatterns:
    """The cue words of a taxonomy compiled once per run into one pattern per basket and kind."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.default_basket = taxonomy.default_basket
        self.baskets = {name: _alternation(basket.cues) for name, basket in taxonomy.baskets.items()}
        self.technologies = {name: _alternation(cues) for name, cues in taxonomy.technologies.items()}
        self.kinds = {
            kind: (_alternation(cues.cues) if cues.cues else None, tuple(c.lower() for c in cues.url_cues))
            for kind, cues in taxonomy.kinds.items()
        }


def _alternation(cues: tuple[str, ...]) -> re.Pattern:
    """One pattern matching any cue as a whole word or phrase, longest first."""
    ordered = sorted({cue.lower() for cue in cues}, key=lambda cue: (-len(cue), cue))
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(cue) for cue in ordered) + r")(?![\w-])")
