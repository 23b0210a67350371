"""File a story: its Digital Watch basket, the technologies it touches, its kind, and whether it is on
the DW Weekly beat at all."""

from __future__ import annotations

import re
from typing import NamedTuple

from composer.config import Taxonomy
from composer.models import Item, ItemKind

_TITLE_WEIGHT = 3
_LEAD_PARAGRAPHS = 3  # what a story is about is in its title and lead


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


class Fit(NamedTuple):
    """How well a story fits the beat: distinct digital and policy-or-economy cues (title ones twice)."""

    digital: int
    policy: int
    on_beat: bool

    def reason(self) -> str:
        return f"off-topic ({self.digital} digital and {self.policy} policy cues)"


def fit(item: Item, patterns: TaxonomyPatterns) -> Fit:
    """Whether `item` is about the digital world and its policy (always True without a [relevance] table)."""
    if patterns.relevance is None or patterns.digital is None or patterns.policy is None:
        return Fit(0, 0, True)
    title = (item.title or "").lower()
    body = " ".join(item.paragraphs[:_LEAD_PARAGRAPHS]).lower()
    if patterns.ignore:
        title, body = patterns.ignore.sub(" ", title), patterns.ignore.sub(" ", body)
    digital = _distinct(patterns.digital, title, body)
    policy = _distinct(patterns.policy, title, body)
    rules = patterns.relevance
    on_beat = digital >= rules.min_digital and policy >= rules.min_policy and digital + policy >= rules.min_score
    return Fit(digital, policy, on_beat)


def _distinct(pattern: re.Pattern, title: str, body: str) -> int:
    in_title = set(pattern.findall(title))
    return 2 * len(in_title) + len(set(pattern.findall(body)) - in_title)


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
        self.relevance = taxonomy.relevance
        technology_cues = tuple(cue for cues in taxonomy.technologies.values() for cue in cues)
        relevance = taxonomy.relevance
        self.digital = _alternation((*relevance.digital, *technology_cues)) if relevance else None
        self.policy = _alternation((*relevance.policy, *relevance.economy)) if relevance else None
        self.ignore = _alternation(relevance.ignore) if relevance and relevance.ignore else None
        self.kinds = {
            kind: (_alternation(cues.cues) if cues.cues else None, tuple(c.lower() for c in cues.url_cues))
            for kind, cues in taxonomy.kinds.items()
        }


def _alternation(cues: tuple[str, ...]) -> re.Pattern:
    """One pattern matching any cue as a whole word or phrase, longest first."""
    ordered = sorted({cue.lower() for cue in cues}, key=lambda cue: (-len(cue), cue))
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(cue) for cue in ordered) + r")(?![\w-])")
