"""Summarise: turn a Selection into a Draft an editor can correct.

A first version: each teaser is the item's lead sentences up to 220 characters, an untitled
item's title is its lead sentence shortened at a word boundary, and the editorial lists the
Radar titles. The editorial engine replaces these with real summaries.
"""

from __future__ import annotations

import re
from datetime import date

from composer.config import IssueSettings
from composer.models import Draft, Entry, Item, Sections, Selection

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[A-Z‘“'\"])")
MAX_TEASER = 220
MAX_TITLE = 90


def summarise(selection: Selection, issue: IssueSettings) -> Draft:
    """The draft of the selected issue, with the greeting, pointer and sign-off from settings."""
    radar = tuple(_entry(item) for item in selection.radar)
    titles = "; ".join(entry.title for entry in radar[:4])
    editorial = (f"This week: {titles}.", issue.pointer) if radar else (issue.pointer,)
    return Draft(
        number=selection.number,
        headline=" · ".join(entry.title for entry in radar[:3]) or "This week in digital policy",
        week_start=selection.week_start,
        week_end=selection.week_end,
        date_range=date_range(selection.week_start, selection.week_end),
        preheader=radar[0].teaser if radar else "",
        greeting=issue.greeting,
        editorial=editorial,
        signoff=issue.signoff,
        sections=Sections(
            radar=radar,
            reading_corner=tuple(_entry(item) for item in selection.reading_corner),
            events=tuple(_entry(item) for item in selection.events),
        ),
    )


def date_range(start: date, end: date) -> str:
    """DW style: "18 – 25 April 2025", "25 April – 2 May 2025", "29 December 2025 – 5 January 2026"."""
    if start.year != end.year:
        return f"{start.day} {start:%B %Y} – {end.day} {end:%B %Y}"
    if start.month != end.month:
        return f"{start.day} {start:%B} – {end.day} {end:%B %Y}"
    return f"{start.day} – {end.day} {end:%B %Y}"


def _entry(item: Item) -> Entry:
    sentences = _SENTENCE_END.split(item.paragraphs[0])
    return Entry(
        title=item.title or _shorten(sentences[0].rstrip("."), MAX_TITLE),
        teaser=_lead(sentences),
        url=item.url,
        image=item.image_url,
        image_alt=item.image_alt,
        item_id=item.id,
    )


def _lead(sentences: list[str]) -> str:
    teaser = sentences[0]
    for sentence in sentences[1:]:
        if len(teaser) + 1 + len(sentence) > MAX_TEASER:
            break
        teaser = f"{teaser} {sentence}"
    return _shorten(teaser, MAX_TEASER)


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return f"{cut}…"
