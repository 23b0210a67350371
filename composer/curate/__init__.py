"""Curate: of the week's items, pick the stories for Radar, Reading Corner and Upcoming Events.

The steps, all pure:
1. The issue: its number and first day come in the rules (issues.next_issue decides them); its week
   is 7 days, as DW Weekly's "18 – 25 April 2025".
2. The week's items: dated ones inside the week, and every undated one.
3. Stories: near-duplicates (the same event told by several sources) become one story that keeps
   its richest version and counts its sources; stories a past issue already covered are dropped.
4. Filing: a basket, technologies and a kind (news, blog, event) by the cue words of topics.toml.
5. Ranking: centrality in the week, number of sources, recency and length; an editor's pins come
   first and blocks never appear. Radar takes the best news with at most `max_per_basket` from one
   basket while other baskets have stories to offer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from composer.config import Taxonomy
from composer.curate.classify import TaxonomyPatterns, classify, fit
from composer.curate.similarity import Vector, centrality, cosine, duplicate_groups, tfidf
from composer.errors import WeeklyError
from composer.language import STOPWORDS, first_date, guess_language
from composer.models import Contract, Ingested, Item, LeftOut, PastIssue, Pick, Selection, content_id

WEEK = timedelta(days=7)
_BASKET_DISCOUNT = 0.12
# An undated story ranks below every dated story of the week of equal merit: it may be old.
_UNDATED_PENALTY = 0.35
_TOP_TERMS, _SHARED_TERMS = 12, 4


class CurateRules(Contract):
    """What the editor decides: the issue and its week, sizes, thresholds, pins and blocks."""

    taxonomy: Taxonomy
    radar_size: int = Field(10, ge=1, le=12)
    reading_size: int = Field(4, ge=1, le=4)
    events_size: int = Field(4, ge=0, le=8)
    max_per_basket: int = Field(3, ge=1)
    duplicate_threshold: float = Field(0.5, gt=0, le=1, description="Cosine at which two items are one story.")
    covered_threshold: float = Field(0.18, gt=0, le=1, description="Cosine with a past issue's text that means covered.")
    pins: tuple[str, ...] = Field((), description="Item ids (or their first characters) or title words to include first.")
    blocks: tuple[str, ...] = Field((), description="Item ids (or their first characters) or title words to leave out.")
    published: dict[str, int] = Field(default_factory=dict,
                                      description="Ids of items earlier issues published, with the issue number.")
    seen_before: dict[str, int] = Field(default_factory=dict, description="Undated items first seen for an earlier "
                                        "issue, with its number: news of that week, not of this one.")
    languages: tuple[str, ...] = Field(("en",), description="Languages the issue takes; other ones are left out.")
    undated: Literal["rank_below", "leave_out"] = Field("rank_below", description="What to do with undated items.")
    issue_number: int = Field(ge=1)
    week_start: date


@dataclass
class _Story:
    item: Item
    topic: str
    technologies: tuple[str, ...]
    kind: str
    sources: int
    score: float = 0.0
    pinned: bool = False


class CurateError(WeeklyError):
    """What the editor asked for cannot be done (a pin that names no item)."""


def curate(ingested: Ingested, rules: CurateRules) -> Selection:
    """The selection for the issue the rules name, with what was left out and why."""
    for pin in rules.pins:
        if not any(_matches(item, (pin,)) for item in ingested.items):
            raise CurateError(f"--pin {pin!r} matches no item of the inputs (give an item id prefix from "
                              "`weekly items --json`, or words of its title)")
    week_start = rules.week_start
    week_end = week_start + WEEK
    left_out: list[LeftOut] = []
    patterns = TaxonomyPatterns(rules.taxonomy)
    candidates = []
    for item in ingested.items:
        reason = _reason_to_leave(item, rules, patterns, week_start, week_end)
        if reason and not _matches(item, rules.pins):  # an editor's pin overrides every reason
            left_out.append(_left(item, reason))
        else:
            candidates.append(item)
    stories = _stories(candidates, ingested.past_issues, rules, week_end, patterns, left_out)
    picked = []
    for story in stories:
        if _matches(story.item, rules.blocks):
            left_out.append(_left(story.item, "blocked by the editor (--block)"))
        else:
            picked.append(story)
    for story in picked:
        story.pinned = _matches(story.item, rules.pins)
    picked.sort(key=lambda story: (not story.pinned, -story.score, story.item.id))
    events = [_event_pick(story, week_end) for story in picked if story.kind == "event"]
    events += _past_events(ingested.past_issues, rules.taxonomy, week_end)
    upcoming = sorted((pick for pick in events if pick.when), key=lambda pick: (pick.when, pick.item.id))
    return Selection(
        number=rules.issue_number,
        week_start=week_start,
        week_end=week_end,
        radar=tuple(_diverse([s for s in picked if s.kind == "news"], rules.radar_size, rules.max_per_basket)),
        reading_corner=tuple(_pick(s) for s in picked if s.kind == "blog")[: rules.reading_size],
        events=tuple(upcoming[: rules.events_size]),
        undated=sum(item.published is None and item.id not in rules.seen_before for item in ingested.items),
        outside_week=sum(reason.reason.startswith("outside the week") for reason in left_out),
        left_out=tuple(left_out),
    )


def _reason_to_leave(item: Item, rules: CurateRules, patterns: TaxonomyPatterns, start: date, end: date) -> str | None:
    """Why `item` cannot be in this issue, before stories are formed (None: it may)."""
    if item.id in rules.published:
        return f"published in #{rules.published[item.id]}"
    if item.published is None and item.id in rules.seen_before:
        return f"undated, first seen for #{rules.seen_before[item.id]}"
    if not _in_week(item, start, end):
        return f"outside the week (dated {item.published:%Y-%m-%d})" if item.published else "outside the week"
    if item.published is None and item.kind != "event" and rules.undated == "leave_out":
        return "undated (issue.undated is leave_out)"
    language = guess_language(" ".join(item.paragraphs)) or guess_language(f"{item.title or ''} {item.paragraphs[0]}")
    if language and language not in rules.languages:
        return f"other language ({language})"
    fitness = fit(item, patterns)
    if not fitness.on_beat:
        return fitness.reason()
    return None


def _left(item: Item, reason: str) -> LeftOut:
    return LeftOut(item_id=item.id, title=(item.title or item.paragraphs[0])[:120], reason=reason)


def _in_week(item: Item, start: date, end: date) -> bool:
    return item.published is None or item.kind == "event" or start <= item.published.date() <= end


def _stories(items: list[Item], past_issues: tuple[PastIssue, ...], rules: CurateRules, week_end: date,
             patterns: TaxonomyPatterns, left_out: list[LeftOut]) -> list[_Story]:
    """The week's stories (each the richest version of its duplicates), ranked; the duplicates and the
    stories a past issue covered go to `left_out`."""
    past_texts = [text for issue in past_issues for text in _past_texts(issue)]
    texts = [_text(item) for item in items]
    lengths = [len(text) for text in texts]
    vectors = tfidf(texts + past_texts)
    item_vectors, past_vectors = vectors[: len(items)], vectors[len(items) :]
    past_numbers = [issue.number for issue in past_issues for _ in _past_texts(issue)]
    central = centrality(item_vectors)
    top_central = max(central, default=0.0) or 1.0
    stories = []
    for group in duplicate_groups(item_vectors, rules.duplicate_threshold):
        richest = max(group, key=lambda index: (lengths[index], -index))
        item = items[richest]
        left_out.extend(_left(items[index], f"duplicate of {item.id[:8]} ({(item.title or '')[:60]})")
                        for index in group if index != richest)
        names = _names(item.title or item.paragraphs[0])
        covered = next((number for past, text, number in zip(past_vectors, past_texts, past_numbers, strict=True)
                        if _same_story(item_vectors[richest], past, rules.covered_threshold)
                        and (not names or any(_mentions(text, name) for name in names))), None)
        if covered is not None and not _matches(item, rules.pins):
            left_out.append(_left(item, f"covered by #{covered}"))
            continue
        topic, technologies, kind = classify(item, patterns)
        sources = len({items[index].url or items[index].source for index in group})
        story = _Story(item, topic, technologies, kind, sources)
        story.score = (
            0.55 * central[richest] / top_central
            + 0.2 * min(1.0, (sources - 1) / 3)
            + 0.15 * _recency(item, week_end)
            + 0.1 * min(1.0, math.log1p(lengths[richest]) / math.log1p(4000))
            - (_UNDATED_PENALTY if item.published is None and item.kind != "event" else 0.0)
        )
        stories.append(story)
    return stories


# Capitalised words that name no particular actor: they cannot tell two stories apart.
_GENERIC_NAMES = frozenset({"EU", "US", "UK", "UN", "AI", "The", "A", "An", "New", "Global", "Digital", "Internet"})
_CAPITALISED = re.compile(r"\b[A-Z][\w’'&.+-]*[A-Za-z0-9]")


def _names(title: str) -> set[str]:
    """The names in a title (Google, Chrome, Norway): a story is another issue's only if it names one of them."""
    return {word for word in _CAPITALISED.findall(title)
            if word not in _GENERIC_NAMES and word.lower() not in STOPWORDS}


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def _same_story(item: Vector, past: Vector, threshold: float) -> bool:
    """Covered: similar overall, and sharing several of the story's most distinctive terms (a shared
    "EU" and "fines" alone made an unrelated story look covered at cosine 0.21)."""
    if cosine(item, past) < threshold:
        return False
    top = sorted(item, key=item.__getitem__, reverse=True)[:_TOP_TERMS]
    return sum(term in past for term in top) >= _SHARED_TERMS


def _diverse(stories: list[_Story], size: int, max_per_basket: int) -> list[Pick]:
    """The best `size` stories, at most `max_per_basket` per basket unless too few baskets remain.

    Each story already taken from a basket lowers the next one's claim by `_BASKET_DISCOUNT`, so a
    strong story from a new basket beats a third one from a busy basket (maximal marginal relevance).
    Pinned stories (sorted first) are taken as they come.
    """
    chosen: list[_Story] = []
    per_basket: dict[str, int] = {}
    remaining = list(stories)
    while remaining and len(chosen) < size:
        allowed = [story for story in remaining if per_basket.get(story.topic, 0) < max_per_basket] or remaining
        best = max(allowed, key=lambda story: (story.pinned, story.score - _BASKET_DISCOUNT * per_basket.get(story.topic, 0)))
        chosen.append(best)
        remaining.remove(best)
        per_basket[best.topic] = per_basket.get(best.topic, 0) + 1
    chosen.sort(key=stories.index)
    return [_pick(story) for story in chosen]


def _pick(story: _Story) -> Pick:
    return Pick(item=story.item, topic=story.topic, technologies=story.technologies, sources=story.sources)


def _event_pick(story: _Story, week_end: date) -> Pick:
    when = next((d for d in map(first_date, story.item.paragraphs) if d and d >= week_end), None)
    return _pick(story).model_copy(update={"when": when})


def _past_events(past_issues: tuple[PastIssue, ...], taxonomy: Taxonomy, week_end: date) -> list[Pick]:
    """A past issue's events that are still ahead of this issue's end."""
    picks = []
    for issue in past_issues:
        for entry in issue.events:
            if entry.event_date and entry.event_date >= week_end:
                item = Item(
                    id=content_id(entry.image_alt, (entry.teaser,)), title=entry.image_alt, paragraphs=(entry.teaser,),
                    kind="event", url=f"https://{entry.site}" if entry.site else None, source=issue.source,
                )
                picks.append(Pick(item=item, topic=taxonomy.default_basket, when=entry.event_date))
    return picks


def _past_texts(issue: PastIssue) -> list[str]:
    return [*issue.editorial, *(entry.teaser for entry in (*issue.radar, *issue.reading_corner, *issue.events))]


def _text(item: Item) -> str:
    # The title counts twice: it names the story.
    return f"{item.title or ''} {item.title or ''} {' '.join(item.paragraphs)}"


def _recency(item: Item, week_end: date) -> float:
    if item.published is None:
        return 0.5
    return max(0.0, 1.0 - (week_end - item.published.date()).days / 7)


def _matches(item: Item, needles: tuple[str, ...]) -> bool:
    title = (item.title or item.paragraphs[0]).lower()
    return any(item.id.startswith(needle) or needle.lower() in title for needle in needles if needle)
