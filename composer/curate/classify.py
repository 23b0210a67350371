"""File a story: its Digital Watch basket, the technologies it touches, its kind, and whether it is on
the DW Weekly beat at all. Cues match by word form (curate/cues.py); what a story is about is in its
title and lead, so only those count."""

from __future__ import annotations

from typing import NamedTuple

from composer.config import Taxonomy
from composer.curate.cues import Cues, Scan, Scanner, forms
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
    hits = patterns.basket_hits(item)
    best = max(hits.values())
    basket = next(name for name, score in hits.items() if score == best) if best else patterns.default_basket
    text = patterns.whole_scan(item)
    technologies = tuple(name for name, cues in patterns.technologies.items() if text.search(cues))
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
    title, lead = patterns.read(item)
    not_news = patterns.title_scan(item).found(patterns.not_news)

    security_title, security_lead = title.distinct(patterns.security), lead.distinct(patterns.security)
    security = security_title | security_lead

    def side(cues: Cues) -> tuple[set[str], int]:
        # A security cue counts once on each side, however many lists name it.
        in_title, in_lead = title.distinct(cues) - security, lead.distinct(cues) - security
        return in_title | in_lead, _points(in_title, in_lead)

    (digital, digital_weight), (policy, policy_weight) = side(patterns.digital), side(patterns.policy)
    (economy, economy_weight), (context, context_weight) = side(patterns.economy), side(patterns.context)
    score = (digital_weight + policy_weight + economy_weight + context_weight
             + 2 * _SECURITY_WEIGHT * _points(security_title, security_lead))
    # Money alone makes a story policy only at scale: two economy cues, or one in the title.
    policy_cues = len(policy | security) + (len(economy) if economy_weight >= _AT_SCALE else 0)
    topic = next((name for name, cues in patterns.topics.items()
                  if title.found(cues) or len(lead.found(cues)) >= _TOPIC_MENTIONS), None)
    on_beat = not not_news and (topic is not None or (
        len(digital | security) >= rules.min_digital and policy_cues >= rules.min_policy and score >= rules.min_score))
    return Fit(tuple(sorted(digital | security)), tuple(sorted(policy | security | economy)), on_beat,
               score - rules.min_score, score, tuple(sorted(context)), topic, not_news[0] if not_news else None)


def _weak(cues: tuple[str, ...], related: tuple[str, ...], strong: tuple[str, ...]) -> list[str]:
    """A basket's cues that count once: not a strong cue, nor a form of one ("payments" when "payment" is
    strong), so that a word is not counted at both weights."""
    strong_forms = {form for cue in strong for form in forms(cue.lower())}
    return [cue for cue in (*cues, *related) if not forms(cue.lower()) & strong_forms]


def _points(in_title: set[str], in_lead: set[str]) -> int:
    return 2 * len(in_title) + len(in_lead - in_title)


def _kind(item: Item, text: Scan, patterns: TaxonomyPatterns) -> ItemKind:
    if item.kind != "news":
        return item.kind
    url = (item.url or "").lower()
    for kind, (cues, url_cues) in patterns.kinds.items():
        if (cues and text.search(cues)) or any(cue in url for cue in url_cues):
            return kind
    return "news"


class TaxonomyPatterns:
    """The cue words of a taxonomy compiled once per run into one pattern per basket, kind and cue list."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.default_basket = taxonomy.default_basket
        self.baskets = {name: ((Cues(_weak(basket.cues, basket.related, basket.strong)), 1),
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
        # Title and lead are matched against every list at once, the whole text only against the lists
        # that look at it; "ignore" first, since its phrases are blanked out before the others match.
        self.heads = Scanner([*(cues for weighted in self.baskets.values() for cues, _ in weighted),
                              *self.topics.values(), self.digital, self.policy, self.economy, self.security,
                              self.context, self.not_news])
        self.whole = Scanner([*self.technologies.values(), *(cues for cues, _ in self.kinds.values())])
        self._ignored = Scanner([self.ignore])
        self._last: _Read | None = None
        self._hits: dict[int, tuple[Item, dict[str, int]]] = {}

    def read(self, item: Item) -> tuple[Scan, Scan]:
        """The matches in `item`'s title and lead (lower-cased, "ignore" phrases blanked)."""
        read = self._reading(item)
        return read.title, read.lead

    def basket_hits(self, item: Item) -> dict[str, int]:
        """Each basket's cue hits in `item`'s title (three times) and lead, strong cues three times more."""
        if id(item) not in self._hits:
            self._reading(item)
        return self._hits[id(item)][1]

    def title_scan(self, item: Item) -> Scan:
        """The matches in `item`'s title as written (lower-cased), "ignore" phrases included."""
        read = self._reading(item)
        title = (item.title or "").lower()
        return read.title if title == read.title_text else self.heads.scan(title)

    def whole_scan(self, item: Item) -> Scan:
        """The matches in `item`'s title ("ignore" phrases blanked) and all its paragraphs, lower-cased."""
        return self.whole.scan(f"{self._blanked((item.title or '').lower())} {' '.join(item.paragraphs).lower()}")

    def _reading(self, item: Item) -> _Read:
        # Read once per item: fit reads an item, classify reads it much later, so only the basket hits are kept
        # (with the item, so that its id stays its own); the matches, for the item last read.
        if self._last is None or self._last.item is not item:
            title = self._blanked((item.title or "").lower())
            lead = self._blanked(" ".join(item.paragraphs[:_LEAD_PARAGRAPHS]).lower())
            self._last = read = _Read(item, title, self.heads.scan(title), self.heads.scan(lead))
            self._hits[id(item)] = (item, {basket: sum(weight * (_TITLE_WEIGHT * len(read.title.found(cues))
                                                                 + len(read.lead.found(cues)))
                                                       for cues, weight in weighted)
                                           for basket, weighted in self.baskets.items()})
        return self._last

    def _blanked(self, text: str) -> str:
        """`text` with each "ignore" phrase replaced by a space."""
        # Most texts hold none of the few phrases: a plain look for each form first.
        spans = self._ignored.scan(text).spans(self.ignore) if any(form in text for form in self.ignore.cue_of) else []
        pieces, last = [], 0
        for start, end, _ in spans:
            pieces += [text[last:start], " "]
            last = end
        return "".join(pieces) + text[last:] if spans else text


class _Read(NamedTuple):
    item: Item
    title_text: str
    title: Scan
    lead: Scan
