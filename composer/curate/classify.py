"""File a story: its Digital Watch basket, the technologies it touches, its kind, and whether it is on
the DW Weekly beat at all. Cues match by word form (curate/cues.py); what a story is about is in its
title and lead, so only those count."""

from __future__ import annotations

from typing import NamedTuple

from composer.config import Taxonomy
from composer.curate.cues import Cues
from composer.models import Item, ItemKind

_TITLE_WEIGHT = 3
_STRONG_WEIGHT = 3
_LEAD_PARAGRAPHS = 3  # what a story is about is in its title and lead; a long review touches every word somewhere
_TOPIC_MENTIONS = 2  # a beat technology named twice in the lead (or once in the title) is what the story is about
_SECURITY_WEIGHT = 2  # a cyber incident named in the lead is what the story is about: it alone reaches min_score
_AT_SCALE = 2


class Filing(NamedTuple):
    """Where a story goes: its basket (with the cue hits of each basket, for the editor), technologies, kind."""

    basket: str
    technologies: tuple[str, ...]
    kind: ItemKind
    hits: dict[str, int]


def classify(item: Item, patterns: TaxonomyPatterns) -> Filing:
    """The basket, technologies and kind of `item` by the cue words of a compiled taxonomy."""
    title, lead = _title_and_lead(item, patterns)
    hits = {basket: sum(weight * (_TITLE_WEIGHT * len(cues.found(title)) + len(cues.found(lead)))
                        for cues, weight in weighted)
            for basket, weighted in patterns.baskets.items()}
    best = max(hits.values())
    basket = next(name for name, score in hits.items() if score == best) if best else patterns.default_basket
    text = f"{title} {' '.join(item.paragraphs).lower()}"
    technologies = tuple(name for name, cues in patterns.technologies.items() if cues.search(text))
    return Filing(basket, technologies, _kind(item, text, patterns), hits)


class Fit(NamedTuple):
    """How well a story fits the beat: the distinct digital and policy-or-economy cues in its title and lead
    (title ones count twice; security cues count on both sides; context cues add to the score only), the
    beat technology it is about, or the title phrase that shows it is no news story."""

    digital: tuple[str, ...]
    policy: tuple[str, ...]
    on_beat: bool
    margin: int  # points above the bar (min_score); negative below it
    score: int
    context: tuple[str, ...] = ()
    topic: str | None = None
    not_news: str | None = None

    def reason(self) -> str:
        if self.not_news:
            return f"not a news story ('{self.not_news}' in the title)"
        return f"off-topic ({len(self.digital)} digital and {len(self.policy)} policy cues)"


def fit(item: Item, patterns: TaxonomyPatterns) -> Fit:
    """Whether `item` is about the digital world and its policy (always True without a [relevance] table)."""
    rules = patterns.relevance
    if rules is None:
        return Fit((), (), True, 0, 0)
    title, lead = _title_and_lead(item, patterns)
    not_news = patterns.not_news.found((item.title or "").lower())

    security_title, security_lead = patterns.security.distinct(title), patterns.security.distinct(lead)
    security = security_title | security_lead

    def side(cues: Cues) -> tuple[set[str], int]:
        # A security cue counts once on each side, however many lists name it.
        in_title, in_lead = cues.distinct(title) - security, cues.distinct(lead) - security
        return in_title | in_lead, _points(in_title, in_lead)

    (digital, digital_weight), (policy, policy_weight) = side(patterns.digital), side(patterns.policy)
    (economy, economy_weight), (context, context_weight) = side(patterns.economy), side(patterns.context)
    score = (digital_weight + policy_weight + economy_weight + context_weight
             + 2 * _SECURITY_WEIGHT * _points(security_title, security_lead))
    # Money alone makes a story policy only at scale: two economy cues, or one in the title.
    policy_cues = len(policy | security) + (len(economy) if economy_weight >= _AT_SCALE else 0)
    topic = next((name for name, cues in patterns.topics.items()
                  if cues.found(title) or len(cues.found(lead)) >= _TOPIC_MENTIONS), None)
    on_beat = not not_news and (topic is not None or (
        len(digital | security) >= rules.min_digital and policy_cues >= rules.min_policy and score >= rules.min_score))
    return Fit(tuple(sorted(digital | security)), tuple(sorted(policy | security | economy)), on_beat,
               score - rules.min_score, score, tuple(sorted(context)), topic, not_news[0] if not_news else None)


def _points(in_title: set[str], in_lead: set[str]) -> int:
    return 2 * len(in_title) + len(in_lead - in_title)


def _title_and_lead(item: Item, patterns: TaxonomyPatterns) -> tuple[str, str]:
    title = (item.title or "").lower()
    lead = " ".join(item.paragraphs[:_LEAD_PARAGRAPHS]).lower()
    if patterns.ignore:
        title, lead = patterns.ignore.pattern.sub(" ", title), patterns.ignore.pattern.sub(" ", lead)
    return title, lead


def _kind(item: Item, text: str, patterns: TaxonomyPatterns) -> ItemKind:
    if item.kind != "news":
        return item.kind
    url = (item.url or "").lower()
    for kind, (cues, url_cues) in patterns.kinds.items():
        if (cues and cues.search(text)) or any(cue in url for cue in url_cues):
            return kind
    return "news"


class TaxonomyPatterns:
    """The cue words of a taxonomy compiled once per run into one pattern per basket, kind and cue list."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.default_basket = taxonomy.default_basket
        self.baskets = {name: ((Cues([cue for cue in (*basket.cues, *basket.related) if cue not in basket.strong]), 1),
                               (Cues(basket.strong), _STRONG_WEIGHT))
                        for name, basket in taxonomy.baskets.items()}
        self.technologies = {name: Cues(cues) for name, cues in taxonomy.technologies.items()}
        self.relevance = relevance = taxonomy.relevance
        technology_cues = tuple(cue for cues in taxonomy.technologies.values() for cue in cues)
        self.digital = Cues((*relevance.digital, *technology_cues) if relevance else ())
        self.policy = Cues(relevance.policy if relevance else ())
        self.economy = Cues(relevance.economy if relevance else ())
        self.security = Cues(relevance.security if relevance else ())
        self.context = Cues(relevance.context if relevance else ())
        self.topics = {name: self.technologies[name] for name in (relevance.topics if relevance else ())}
        self.not_news = Cues(relevance.not_news if relevance else ())
        self.ignore = Cues(relevance.ignore if relevance else ())
        self.kinds = {kind: (Cues(cues.cues), tuple(c.lower() for c in cues.url_cues))
                      for kind, cues in taxonomy.kinds.items()}
