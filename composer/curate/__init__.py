"""Curate: of the week's items, pick the stories for Radar, Reading Corner and Upcoming Events, and account
for every other item with the reason it is not in the issue.

The steps, all pure:
1. The issue: its number and first day come in the rules (issues.next_issue decides them); its week
   is 7 days, as DW Weekly's "18 – 25 April 2025".
2. What cannot be in this issue, and why: published before, outside the week (events and undated items
   excepted), another language, promotional copy, not news, off the beat (classify.fit).
3. Stories: near-duplicates (the same event told by several sources) become one story that keeps its
   richest version and counts its sources; stories a past issue already told are covered. An upcoming
   event is never covered: a past issue that announced it did not tell it.
4. Filing: a basket, technologies and a kind (news, blog, event) by the cue words of topics.toml.
5. Ranking (rank.py): centrality in the week, sources, recency, length, how strongly on the beat, an
   authority's act, less for undated, stale, anniversary and explainer stories. An editor's pins come
   first and blocks never appear. Radar takes the best news with at most `max_per_basket` from one basket
   while other baskets have stories to offer; Reading Corner the best blog posts; Upcoming Events the
   events dated after the week, soonest first.
6. Accounting: every item is in the issue or in `left_out`, grouped by reason, the stories on the beat
   that were not chosen first ("ranked below the Radar (14th of 23 on the beat)"), never cut short; and
   every item's outcome and score parts are in `explanations` for `weekly why`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal, NamedTuple

from pydantic import Field

from composer.config import Taxonomy
from composer.curate import events
from composer.curate.classify import Filing, Fit, TaxonomyPatterns, classify, fit
from composer.curate.rank import ScoreParts, Signs, score_parts, signs
from composer.curate.similarity import Counted, Vector, Vectors, centrality, cosine, counted, duplicate_groups, tfidf
from composer.errors import WeeklyError
from composer.forked import MANY, split_map
from composer.language import STOPWORDS, guess_language
from composer.models import (
    LEFT_OUT_GROUPS,
    Contract,
    Explanation,
    Ingested,
    Item,
    LeftOut,
    LeftOutGroup,
    PastIssue,
    Pick,
    Selection,
    content_id,
)
from composer.promo import promotional

WEEK = timedelta(days=7)
_BASKET_DISCOUNT = 0.12
_TOP_TERMS, _SHARED_TERMS = 12, 4
_LEAD_PARAGRAPHS = 3


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
    filing: Filing
    kind: str
    sources: int
    fit: Fit
    parts: ScoreParts
    pinned: bool

    @property
    def score(self) -> float:
        return self.parts.total


@dataclass
class _Ledger:
    """Where every item went: left out (with its group and reason) or picked, with what curate learnt."""

    left_out: list[LeftOut] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    fits: dict[str, Fit] = field(default_factory=dict)
    events: dict[int, bool] = field(default_factory=dict)  # by id() of an item: is it an event (judged once)
    filings: dict[int, Filing] = field(default_factory=dict)  # by id() of an item, where filed before its story
    signs: dict[int, Signs] = field(default_factory=dict)  # by id() of an item, where found before its story
    words: dict[int, Counted] = field(default_factory=dict)  # by id() of an item, where counted before tfidf
    stories: dict[str, _Story] = field(default_factory=dict)

    def leave(self, item: Item, group: LeftOutGroup, reason: str) -> None:
        self.left_out.append(LeftOut(item_id=item.id, title=_title(item), reason=reason, group=group))
        self.outcomes.setdefault(item.id, f"left out: {reason}")

    def sorted_left_out(self) -> tuple[LeftOut, ...]:
        """Grouped in LEFT_OUT_GROUPS order; within a group, as curate met them (the unchosen stories by rank)."""
        return tuple(sorted(self.left_out, key=lambda left: LEFT_OUT_GROUPS.index(left.group)))


class CurateError(WeeklyError):
    """What the editor asked for cannot be done (a pin that names no item)."""


def curate(ingested: Ingested, rules: CurateRules) -> Selection:
    """The selection for the issue the rules name, with every other item and why it was left out."""
    for pin in rules.pins:
        if not any(_matches(item, (pin,)) for item in ingested.items):
            raise CurateError(f"--pin {pin!r} matches no item of the inputs (give an item id prefix from "
                              "`weekly items --json`, or words of its title)")
    week_start = rules.week_start
    week_end = week_start + WEEK
    patterns = TaxonomyPatterns(rules.taxonomy)
    ledger = _Ledger()
    candidates = []
    # Each item is judged on its own (a pure function), so a big week is judged on two cores; its filing too,
    # which a small week leaves until its stories are known.
    forked = len(ingested.items) >= MANY
    judged = split_map(lambda item: _judge(item, rules, patterns, week_start, week_end, forked), ingested.items,
                       MANY)
    for item, (reason, event, fitness, filing, found, words) in zip(ingested.items, judged, strict=True):
        if event is not None:
            ledger.events[id(item)] = event
        if fitness is not None:
            ledger.fits[item.id] = fitness
        if filing is not None:
            ledger.filings[id(item)] = filing
        if found is not None:
            ledger.signs[id(item)] = found
        if words is not None:
            ledger.words[id(item)] = words
        if reason and not _matches(item, rules.pins):  # an editor's pin overrides every reason
            ledger.leave(item, *reason)
        else:
            candidates.append(item)
    stories = _stories(candidates, ingested.past_issues, rules, patterns, ledger)
    picked = []
    for story in stories:
        if _matches(story.item, rules.blocks):
            ledger.leave(story.item, "blocked", "blocked by the editor (--block)")
        else:
            picked.append(story)
    picked.sort(key=lambda story: (not story.pinned, -story.score, story.item.id))
    radar = _radar([s for s in picked if s.kind == "news"], rules, ledger)
    reading = _reading_corner([s for s in picked if s.kind == "blog"], rules.reading_size, ledger)
    upcoming = _events([s for s in picked if s.kind == "event"], ingested.past_issues, rules, week_end, ledger)
    return Selection(
        number=rules.issue_number,
        week_start=week_start,
        week_end=week_end,
        radar=radar,
        reading_corner=reading,
        events=upcoming,
        undated=sum(item.published is None and item.id not in rules.seen_before for item in ingested.items),
        outside_week=sum(left.group == "outside_week" for left in ledger.left_out),
        left_out=ledger.sorted_left_out(),
        explanations=tuple(_explain(item, ledger) for item in _unique(ingested.items)),
    )


class _Judged(NamedTuple):
    """What curate learns of one item before stories are formed; None where it did not look."""

    reason: tuple[LeftOutGroup, str] | None  # why it cannot be in this issue (None: it may)
    event: bool | None = None
    fit: Fit | None = None
    filing: Filing | None = None
    signs: Signs | None = None
    words: Counted | None = None  # the content words of its text (_text)


def _judge(item: Item, rules: CurateRules, patterns: TaxonomyPatterns, start: date, end: date,
           file_now: bool) -> _Judged:
    """`_judged`, and with `file_now` the filing and signs of an item that may be in the issue (or is pinned)."""
    judged = _judged(item, rules, patterns, start, end)
    if file_now and (judged.reason is None or _matches(item, rules.pins)):
        return judged._replace(filing=classify(item, patterns), signs=signs(item, start),
                               words=counted(_text(item)))
    return judged


def _judged(item: Item, rules: CurateRules, patterns: TaxonomyPatterns, start: date, end: date) -> _Judged:
    """Why `item` cannot be in this issue, before stories are formed (reason None: it may)."""
    if item.id in rules.published:
        return _Judged(("published", f"published in #{rules.published[item.id]}"))
    if item.published is None and item.id in rules.seen_before:
        return _Judged(("outside_week", f"undated, first seen for #{rules.seen_before[item.id]}"))
    event = events.is_event(item, end)
    if not (item.published is None or event or start <= item.published.date() <= end):
        return _Judged(("outside_week", f"outside the week (dated {item.published:%Y-%m-%d})"), event)
    if item.published is None and not event and rules.undated == "leave_out":
        return _Judged(("undated", "undated (issue.undated is leave_out)"), event)
    language = guess_language(" ".join(item.paragraphs)) or guess_language(f"{item.title or ''} {item.paragraphs[0]}")
    if language and language not in rules.languages:
        return _Judged(("language", f"other language ({language})"), event)
    # Title and paragraphs on lines of their own: a call to action opens a sentence.
    selling = None if event else promotional("\n".join((item.title or "", *item.paragraphs[:_LEAD_PARAGRAPHS])))
    if selling:
        return _Judged(("promotional", f"promotional ({selling})"), event)
    fitness = fit(item, patterns)
    return _Judged(None if fitness.on_beat else ("off_topic", fitness.reason()), event, fitness)


def _stories(items: list[Item], past_issues: tuple[PastIssue, ...], rules: CurateRules,
             patterns: TaxonomyPatterns, ledger: _Ledger) -> list[_Story]:
    """The week's stories (each the richest version of its duplicates), scored; the duplicates and the
    stories a past issue told go to the ledger."""
    week_end = rules.week_start + WEEK
    past = [(issue.number, text) for issue in past_issues for text in _past_texts(issue)]
    lengths: list[int] = []  # of each item's text: the texts themselves are made one at a time for tfidf

    def texts() -> Iterator[str | Counted]:
        for item in items:
            text = _text(item)
            lengths.append(len(text))
            words = ledger.words.pop(id(item), None)
            yield words or text
        yield from (text for _, text in past)

    vectors = tfidf(texts())
    item_vectors, past_vectors = vectors[: len(items)], vectors[len(items):]
    central = centrality(item_vectors)
    top_central = max(central, default=0.0) or 1.0
    stories = []
    for group in duplicate_groups(item_vectors, rules.duplicate_threshold):
        richest = max(group, key=lambda index: (lengths[index], -index))
        item = items[richest]
        for index in group:
            if index != richest:
                ledger.leave(items[index], "duplicate", f"duplicate of {item.id[:8]} ({_title(item)[:60]})")
        event = ledger.events[id(item)] if id(item) in ledger.events else events.is_event(item, week_end)
        covered = None if event or _matches(item, rules.pins) else _covered_by(item, item_vectors, richest, past,
                                                                              past_vectors, rules.covered_threshold)
        if covered is not None:
            ledger.leave(item, "covered", f"covered by #{covered}")
            continue
        filing = ledger.filings.get(id(item)) or classify(item, patterns)
        fitness = ledger.fits.get(item.id) or fit(item, patterns)
        sources = len({items[index].url or items[index].source for index in group})
        parts = score_parts(item, central[richest] / top_central, sources, lengths[richest], fitness,
                            rules.week_start, week_end, ledger.signs.get(id(item)))
        story = _Story(item, filing, "event" if event else filing.kind, sources, fitness, parts,
                       _matches(item, rules.pins))
        ledger.stories[item.id] = story
        stories.append(story)
    return stories


def _covered_by(item: Item, vectors: Vectors, index: int, past: list[tuple[int, str]], past_vectors: Vectors,
                threshold: float) -> int | None:
    """The past issue that told this story (its vector `vectors[index]`): similar overall, sharing its
    distinctive terms and a name. Past texts surely below the threshold are not looked at closely."""
    near = [position for position, close in enumerate(vectors.might_reach(index, past_vectors, threshold)) if close]
    if not near:
        return None
    vector = vectors[index]
    names = _names(item.title or item.paragraphs[0])
    return next((past[position][0] for position in near
                 if _same_story(vector, past_vectors[position], threshold)
                 and (not names or any(_mentions(past[position][1], name) for name in names))), None)


def _radar(news: list[_Story], rules: CurateRules, ledger: _Ledger) -> tuple[Pick, ...]:
    """The best `radar_size` news stories, basket cap applied; every other one is accounted for by rank."""
    chosen = _diverse(news, rules.radar_size, rules.max_per_basket)
    taken = {id(story) for story in chosen}
    last_taken = max((rank for rank, story in enumerate(news, 1) if id(story) in taken), default=0)
    in_radar: dict[str, int] = {}
    for story in chosen:
        in_radar[story.filing.basket] = in_radar.get(story.filing.basket, 0) + 1
    for rank, story in enumerate(news, 1):
        where = f"{_ordinal(rank)} of {len(news)} on the beat"
        basket = story.filing.basket
        if id(story) in taken:
            ledger.outcomes[story.item.id] = f"Radar ({where})"
        elif in_radar.get(basket, 0) >= rules.max_per_basket and rank <= last_taken:
            ledger.leave(story.item, "below", f"held back by the basket cap ({in_radar[basket]} {basket} stories "
                                              f"in the Radar; {where})")
        elif rank < last_taken:
            ledger.leave(story.item, "below", f"gave way to other baskets ({in_radar.get(basket, 0)} {basket} "
                                              f"stories in the Radar; {where})")
        else:
            ledger.leave(story.item, "below", f"ranked below the Radar ({where})")
    return tuple(_pick(story) for story in chosen)


def _reading_corner(blogs: list[_Story], size: int, ledger: _Ledger) -> tuple[Pick, ...]:
    for rank, story in enumerate(blogs, 1):
        where = f"{_ordinal(rank)} of {len(blogs)} blog posts"
        if rank <= size:
            ledger.outcomes[story.item.id] = f"Reading Corner ({where})"
        else:
            ledger.leave(story.item, "below", f"ranked below the Reading Corner ({where})")
    return tuple(_pick(story) for story in blogs[:size])


def _events(stories: list[_Story], past_issues: tuple[PastIssue, ...], rules: CurateRules, week_end: date,
            ledger: _Ledger) -> tuple[Pick, ...]:
    """The events dated after the week, soonest first: the week's event items and the past issues' events
    still ahead (unless an item announces the same event)."""
    dated = []
    for story in stories:
        starts = events.start(story.item, week_end)
        if starts is None:
            ledger.leave(story.item, "outside_week", "an event with no date after the week")
            continue
        dated.append(_pick(story).model_copy(update={"when": starts.start, "where": events.place(story.item)}))
    dated += [pick for pick in _past_events(past_issues, rules.taxonomy, week_end)
              if not any(_same_event(pick, other) for other in dated)]
    upcoming = sorted(dated, key=lambda pick: (pick.when or week_end, pick.item.id))
    for rank, pick in enumerate(upcoming, 1):
        where = f"{_ordinal(rank)} of {len(upcoming)} upcoming events"
        if rank <= rules.events_size:
            ledger.outcomes[pick.item.id] = f"Upcoming Events ({where})"
        else:
            ledger.leave(pick.item, "below", f"after the first {rules.events_size} upcoming events ({where})")
    return tuple(upcoming[: rules.events_size])


def _same_event(past: Pick, item: Pick) -> bool:
    names = _names(f"{past.item.title or ''} {past.item.paragraphs[0]}")
    return past.when == item.when and any(_mentions(_text(item.item), name) for name in names)


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


def _diverse(stories: list[_Story], size: int, max_per_basket: int) -> list[_Story]:
    """The best `size` stories, at most `max_per_basket` per basket unless too few baskets remain.

    Each story already taken from a basket lowers the next one's claim by `_BASKET_DISCOUNT`, so a
    strong story from a new basket beats a third one from a busy basket (maximal marginal relevance).
    Pinned stories (sorted first) are taken as they come.
    """
    chosen: list[_Story] = []
    per_basket: dict[str, int] = {}
    remaining = list(stories)
    scores = {id(story): story.score for story in stories}  # a sum of nine parts: added once, not each round
    while remaining and len(chosen) < size:
        allowed = [story for story in remaining if per_basket.get(story.filing.basket, 0) < max_per_basket] or remaining
        best = max(allowed, key=lambda story: (story.pinned, scores[id(story)]
                                               - _BASKET_DISCOUNT * per_basket.get(story.filing.basket, 0)))
        chosen.append(best)
        remaining.remove(best)
        per_basket[best.filing.basket] = per_basket.get(best.filing.basket, 0) + 1
    chosen.sort(key=stories.index)
    return chosen


def _pick(story: _Story) -> Pick:
    return Pick(item=story.item, topic=story.filing.basket, technologies=story.filing.technologies,
                sources=story.sources)


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
                picks.append(Pick(item=item, topic=taxonomy.default_basket, when=entry.event_date,
                                  where=events.place(item)))
    return picks


def _past_texts(issue: PastIssue) -> list[str]:
    # Not its events: announcing an event does not tell it, so an upcoming event is never "covered".
    return [*issue.editorial, *(entry.teaser for entry in (*issue.radar, *issue.reading_corner))]


def _text(item: Item) -> str:
    # The title counts twice: it names the story.
    return f"{item.title or ''} {item.title or ''} {' '.join(item.paragraphs)}"


def _title(item: Item) -> str:
    return (item.title or item.paragraphs[0])[:120]


def _matches(item: Item, needles: tuple[str, ...]) -> bool:
    title = (item.title or item.paragraphs[0]).lower()
    return any(item.id.startswith(needle) or needle.lower() in title for needle in needles if needle)


def _unique(items: tuple[Item, ...]) -> list[Item]:
    return list({item.id: item for item in items}.values())


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _explain(item: Item, ledger: _Ledger) -> Explanation:
    """An item's outcome, and what curate weighed to decide it."""
    story = ledger.stories.get(item.id)
    fitness = story.fit if story else ledger.fits.get(item.id)
    explanation = Explanation(item_id=item.id, title=_title(item), outcome=ledger.outcomes.get(item.id, "not judged"))
    update: dict[str, object] = {}
    if fitness:
        update |= {"digital_cues": fitness.digital, "policy_cues": fitness.policy, "relevance": fitness.score}
    if story:
        parts = story.parts
        update |= {
            "parts": {**{name: round(getattr(parts, name), 3) for name in ScoreParts.model_fields if name != "signs"},
                      "total": round(parts.total, 3)},
            "signs": parts.signs, "basket": story.filing.basket, "basket_hits": dict(story.filing.hits),
            "technologies": story.filing.technologies}
    return explanation.model_copy(update=update) if update else explanation
