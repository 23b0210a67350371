"""How a story ranks: the parts of its score, each a number an editor can read with `weekly why`.

The week's news comes first. Centrality in the week, number of sources, recency and length say how much
a story matters this week; an undated story may be old, so it ranks below dated news of equal merit.
Three signs say whether it is this week's *news* at all:

- **stale**: it is about something that happened weeks before the week (every date it names lies more
  than `STALE_DAYS` before the week: the story about a February summit in a May week);
- **anniversary or explainer**: it marks years of something, or explains instead of reporting;
- **action**: an authority acted this week (fined, sued, charged, banned, ordered, warned, opened
  proceedings, issued an advisory): enforcement and advisories are news, and rank as such.

Stories more strongly on the beat (more cues, or a beat technology) rank a little higher.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import NamedTuple

from composer.curate.classify import Fit
from composer.curate.dates import mentions
from composer.language import Caseless, folded
from composer.models import Contract, Item

WEIGHTS = {"centrality": 0.55, "sources": 0.2, "recency": 0.15, "length": 0.1}
UNDATED_PENALTY = 0.35  # an undated story ranks below every dated story of the week of equal merit: it may be old
STALE_PENALTY = 0.3
NOT_NEWS_PENALTY = 0.3  # anniversaries and explainers
ACTION_BONUS = 0.15
BEAT_BONUS = 0.1  # at most, for a story far above the relevance bar
STALE_DAYS = 14
_BEAT_SPAN = 8  # relevance points above the bar that earn the whole bonus
_LONG = 4000  # characters: longer earns no more

# Written in lower case, matched as with re.IGNORECASE (language.Caseless: in the lower-cased text, faster).
_ANNIVERSARY = Caseless(
    r"\b(?:anniversary|anniversaries|\d+(?:st|nd|rd|th)\s+birthday|marks?\s+(?:\d+|ten|twenty|thirty|fifty)\s+years"
    r"|(?:\d+|ten|twenty|thirty|fifty)\s+years\s+(?:of|since|on)|turns\s+\d+|celebrates?\s+\d+\s+years)\b")
_EXPLAINER = Caseless(
    r"(?:^(?:what|why|how|who|when)\b.*\?$|\bexplained\b|\bexplainer\b|what you need to know|everything you need to know"
    r"|questions answered|\ba guide to\b|\bfaq\b|\bq&a\b)")
_ACTION = Caseless(
    r"\b(?:fine[sd]|fining|sue[sd]|suing|charge[sd]|arrest(?:s|ed)|indict(?:s|ed)|convict(?:s|ed)|sentence[sd]|"
    r"ban(?:s|ned)|block(?:s|ed)|order(?:s|ed)|rul(?:es|ed) against|warn(?:s|ed)|urg(?:es|ed)|"
    r"advisor(?:y|ies)|(?:open(?:s|ed)?|launch(?:es|ed)?)\s+(?:an?\s+)?(?:formal\s+)?(?:investigation|probe|proceedings|inquiry)|"
    r"settle[sd]|settlement|raid(?:s|ed)|seize[sd]|dismantle[sd]|takedown|take down|patch(?:es|ed) (?:an? )?(?:actively )?exploited)\b")
_ACTOR = Caseless(
    r"\b(?:commission|authority|authorities|regulator|regulators|watchdog|court|judge|tribunal|police|prosecutors?|"
    r"government|ministry|agency|agencies|fbi|cisa|ncsc|enisa|europol|interpol|ftc|fcc|sec|doj|justice department|"
    r"department|parliament|congress|senate|council|eu|state)\b")


class ScoreParts(Contract):
    """A story's score, part by part (weighted), and the signs that moved it."""

    centrality: float
    sources: float
    recency: float
    length: float
    beat: float
    action: float
    undated: float
    stale: float
    not_news: float
    signs: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return (self.centrality + self.sources + self.recency + self.length + self.beat + self.action
                - self.undated - self.stale - self.not_news)


class Signs(NamedTuple):
    """What a story's own text says of it (`signs`): each the words that show it, or None."""

    stale: str | None
    not_news: str | None
    explainer: bool
    action: str | None


def signs(item: Item, week_start: date) -> Signs:
    """The signs of `item` in a week from `week_start`: stale, an anniversary or explainer, an authority's act."""
    title = item.title or ""
    stale = _stale(f"{title} {' '.join(item.paragraphs[:2])}", item, week_start)
    opening = item.paragraphs[0][:200]
    title_folded = folded(title)
    explainer = _found(_EXPLAINER, title, title_folded)
    not_news = _found(_ANNIVERSARY, title, title_folded) or _found(_ANNIVERSARY, opening, folded(opening)) or explainer
    return Signs(stale, not_news, bool(explainer), _action(title, item.paragraphs[0]))


def score_parts(item: Item, centrality: float, sources: int, length: int, fit: Fit, week_start: date,
                week_end: date, found: Signs | None = None) -> ScoreParts:
    """The parts of a story's score in the week `week_start`..`week_end`; `centrality` is in [0, 1]. `found`:
    its `signs`, when already known."""
    stale, not_news, explainer, action = found or signs(item, week_start)
    signs_seen = []
    if stale:
        signs_seen.append(stale)
    if not_news:
        signs_seen.append(f"{'an explainer' if explainer else 'an anniversary'} ('{not_news}')")
    if action:
        signs_seen.append(f"an authority acted ('{action}')")
    undated = item.published is None and item.kind != "event"
    beat = 1.0 if fit.topic else min(1.0, max(0, fit.margin) / _BEAT_SPAN)
    return ScoreParts(
        centrality=WEIGHTS["centrality"] * centrality,
        sources=WEIGHTS["sources"] * min(1.0, (sources - 1) / 3),
        recency=WEIGHTS["recency"] * _recency(item, week_end),
        length=WEIGHTS["length"] * min(1.0, math.log1p(length) / math.log1p(_LONG)),
        beat=BEAT_BONUS * beat,
        action=ACTION_BONUS if action else 0.0,
        undated=UNDATED_PENALTY if undated else 0.0,
        stale=STALE_PENALTY if stale else 0.0,
        not_news=NOT_NEWS_PENALTY if not_news else 0.0,
        signs=tuple(signs_seen),
    )


def _recency(item: Item, week_end: date) -> float:
    if item.published is None:
        return 0.5
    return max(0.0, 1.0 - (week_end - item.published.date()).days / 7)


def _stale(text: str, item: Item, week_start: date) -> str | None:
    """'about 12 February 2025' when every date the title and lead name lies weeks before the week."""
    named = mentions(text, week_start)
    if not named or item.kind == "event":
        return None
    latest = max(named, key=lambda mention: mention.end)
    if latest.end >= week_start - timedelta(days=STALE_DAYS):
        return None
    when = f"{latest.start.day} {latest.start:%B %Y}" if latest.day_given else f"{latest.start:%B %Y}"
    return f"about {when}, weeks before the week"


def _action(title: str, first_paragraph: str) -> str | None:
    """The act of an authority in the title or the first sentence, if the same text names an authority."""
    for text in (title, first_paragraph[:300]):
        lowered = folded(text)
        act = _found(_ACTION, text, lowered)
        if act and _ACTOR.search(text, lowered):
            return act
    return None


def _found(pattern: Caseless, text: str, lowered: str | None) -> str | None:
    """The text of `pattern`'s first match in `text`, as `text` writes it."""
    match = pattern.search(text, lowered)
    return text[match.start():match.end()] if match else None
