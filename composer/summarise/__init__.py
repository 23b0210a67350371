"""Summarise: turn a Selection into a Draft an editor can correct, offline and deterministically.

Each entry gets a title (its own, or a headline written from its lead sentence) and a teaser of
complete sentences; the issue gets a DW-style headline, a preheader and an editorial. Every fixed
phrase (greeting, transitions, pointer, sign-off) comes from the strings catalogue of the edition's
language, the basket themes from topics.toml. An optional LLM
backend (summarise/llm.py) may rewrite teasers, headlines and the editorial; its answers are checked
and the offline text is kept, with a note, wherever it fails.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from pydantic import Field

from composer.language import split_sentences
from composer.models import Contract, Draft, Entry, Pick, Sections, Selection
from composer.render.strings import EditorialStrings
from composer.summarise.context import leans
from composer.summarise.editorial import Story, editorial, issue_headline
from composer.summarise.headline import headline
from composer.summarise.llm import ChatBackend, improve_editorial, improve_entry
from composer.summarise.teaser import teaser

_PREHEADER_LIMIT = 150


class Style(Contract):
    """The fixed words of an issue: the strings catalogue's [editorial] table (with the [issue] settings
    that replace its greeting, pointer or sign-off) and topics.toml (basket themes and cue words)."""

    words: EditorialStrings
    sections: dict[str, str] = Field(default_factory=dict, description="The sections' names in the edition "
                                     "('radar': 'Radar', …): the pointer names only those the issue has.")
    themes: dict[str, str] = Field(default_factory=dict)
    generic: tuple[str, ...] = Field((), description="The cue words of topics.toml: never a topic of the issue headline.")
    cues: dict[str, tuple[str, ...]] = Field(default_factory=dict, description="Cue words by basket and technology "
                                             "(topics.toml): a basket opener or 'Speaking of AI' needs them.")


class Summarised(NamedTuple):
    draft: Draft
    notes: tuple[str, ...]  # where an LLM backend was not used after all, and why


def summarise(selection: Selection, style: Style, backend: ChatBackend | None = None) -> Summarised:
    """The draft of the selected issue, and notes on where an LLM `backend` was not used after all."""
    notes: list[str] = []

    def entries(picks: tuple[Pick, ...]) -> tuple[Entry, ...]:
        result = []
        for pick in picks:
            entry = _entry(pick)
            if backend is not None:
                entry, note = improve_entry(backend, pick.item, entry, needs_headline=pick.item.title is None)
                notes.extend([note] if note else [])
            result.append(entry)
        return tuple(result)

    radar, reading_corner, events = entries(selection.radar), entries(selection.reading_corner), entries(selection.events)
    radar_stories = _stories(radar, selection.radar)
    written = editorial(radar_stories, _stories(reading_corner, selection.reading_corner),
                        style.words, style.themes, style.cues, style.sections, events=bool(events))
    paragraphs, told = written.paragraphs, written.told
    if backend is not None and radar:
        paragraphs, note = improve_editorial(backend, radar, paragraphs)
        notes.extend([note] if note else [])
    draft = Draft(
        number=selection.number,
        headline=issue_headline(radar_stories, style.words, style.themes, style.generic),
        week_start=selection.week_start,
        week_end=selection.week_end,
        date_range=date_range(selection.week_start, selection.week_end),
        preheader=_preheader(radar),
        greeting=style.words.greeting,
        editorial=paragraphs,
        signoff=style.words.signoff,
        sections=Sections(radar=radar, reading_corner=reading_corner, events=events),
        editorial_items=told,
        left_out=selection.left_out,  # every item not in the issue, grouped by why (curate): never cut short
        notes=tuple(notes),
    )
    return Summarised(draft, tuple(notes))


def _stories(entries: tuple[Entry, ...], picks: tuple[Pick, ...]) -> list[Story]:
    return [Story(entry, pick.item, pick.technologies) for entry, pick in zip(entries, picks, strict=True)]


def date_range(start: date, end: date) -> str:
    """DW style: "18 – 25 April 2025", "25 April – 2 May 2025", "29 December 2025 – 5 January 2026"."""
    if start.year != end.year:
        return f"{start.day} {start:%B %Y} – {end.day} {end:%B %Y}"
    if start.month != end.month:
        return f"{start.day} {start:%B} – {end.day} {end:%B %Y}"
    return f"{start.day} – {end.day} {end:%B %Y}"


def _entry(pick: Pick) -> Entry:
    item = pick.item
    title = item.title or headline(_lead(item.paragraphs))
    return Entry(
        title=title,
        teaser=teaser(item.paragraphs, title),
        url=item.url,
        image=item.image_url,
        image_alt=item.image_alt,
        topic=pick.topic,
        item_id=item.id,
        when=f"{pick.when.day} {pick.when:%B %Y}" if pick.when else None,
        where=pick.where,
    )


def _lead(paragraphs: tuple[str, ...]) -> str:
    """The sentence an untitled item's headline is written from: its first, unless that one leans on
    context the reader lacks ("The agreement will combine …", the dump having lost the sentence before)
    and the next one of the paragraph stands alone."""
    sentences = split_sentences(paragraphs[0])
    article = " ".join(paragraphs)
    if len(sentences) > 1 and leans(sentences[0], article=article) and not leans(sentences[1], article=article):
        return sentences[1]
    return sentences[0]


def _preheader(radar: tuple[Entry, ...]) -> str:
    """The inbox preview line: the week's first headlines, as many as fit."""
    text = ""
    for entry in radar:
        candidate = f"{text}; {entry.title}" if text else entry.title
        if len(candidate) > _PREHEADER_LIMIT:
            break
        text = candidate
    return text
