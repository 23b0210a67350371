"""What an editor checks in a composed issue, counted on real weeks (the seeds and each ../shared/corpus feed
composed as a week): sentences that lean on context the reader lacks, transitions that are not true of
both stories, titles pasted in as sentences, capitals left after a transition, promotional sentences, and
whether the opening's theme is what the plurality of the Radar shares.

The transition and theme checks here are written apart from the editorial's own rules: they read the
finished text, find each sentence's article and check the claim against the two sentences a reader sees.
Used by tests/test_judgement.py and bench/quality.py.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from composer.config import Settings, load_taxonomy  # noqa: E402
from composer.ingest import load_items  # noqa: E402
from composer.language import split_sentences  # noqa: E402
from composer.models import Draft, Item  # noqa: E402
from composer.pipeline import ComposeOptions, compose  # noqa: E402
from composer.summarise.context import leans  # noqa: E402

SEEDS = ROOT / "seeds"
CORPUS = ROOT.parent / "shared" / "corpus" / "feeds"
_TRANSITION = re.compile(r"^(?P<opener>[A-Z][^,:]{2,60}?)(?:,|:) (?P<rest>.+)$")
_EUROPE = ("the EU", "the UK", "France", "Germany", "the Netherlands", "Belgium", "Italy", "Spain", "Europe")
_AMERICA = ("the US", "Canada", "America")
_PLACE_CUES = {
    "the EU": "eu|european union|european commission|brussels|europe|european",
    "the US": "us|u\\.s\\.|united states|american|washington|americans|america",
    "the UK": "uk|united kingdom|britain|british|london", "China": "china|chinese|beijing",
    "France": "france|french|paris", "Germany": "germany|german|berlin", "the Netherlands": "netherlands|dutch",
    "Belgium": "belgium|belgian", "Canada": "canada|canadian", "Japan": "japan|japanese", "India": "india|indian",
    "Norway": "norway|norwegian", "Italy": "italy|italian", "Spain": "spain|spanish", "Europe": "europe|european",
    "America": "america|american",
}


def _mentions(text: str, place: str) -> bool:
    return _position(text, place) is not None


def _position(text: str, place: str) -> int | None:
    cues = _PLACE_CUES.get(place, re.escape(place.lower()))
    found = re.search(rf"(?<![\w-])(?:{cues})(?![\w-])", text.lower())
    return found.start() if found else None


def _elsewhere_first(text: str, place: str) -> str | None:
    """Another place `text` names before `place`: the sentence is about there ("Washington has long pushed …
    its Chinese parent" is a US story that names China)."""
    here = _position(text, place)
    for other in _PLACE_CUES:
        there = _position(text, other)
        if here is not None and there is not None and there < here:
            return other
    return None


class Week(NamedTuple):
    name: str
    draft: Draft
    items: dict[str, Item]


class Findings(NamedTuple):
    teaser_leaning: list[str]
    editorial_leaning: list[str]
    false_transitions: list[str]
    titles_as_sentences: list[str]
    false_capitals: list[str]
    promotional: list[str]
    theme: tuple[str, int, int]  # (theme, Radar stories sharing it, most Radar stories any one basket shares)


def weeks() -> list[Week]:
    """The seeds and each corpus feed, composed as a week of their own (the week ending on the newest date)."""
    paths = [*(sorted(p for p in CORPUS.iterdir() if p.is_file() and p.name != "README.md")
               if CORPUS.is_dir() else []), SEEDS]
    result = []
    for path in paths:
        items = load_items([path]).items
        dates = [item.published.date() for item in items if item.published]
        today = max(dates) + timedelta(days=1) if dates else load_items([SEEDS]).past_issues[0].week_end
        options = ComposeOptions(week_start=today - timedelta(days=7)) if dates else ComposeOptions()
        settings = Settings(output={"dir": tempfile.mkdtemp(prefix="weekly-metrics-")}, issue={"first_number": 1})
        draft = compose([path], settings, options, today).draft
        result.append(Week(path.name, draft, {item.id: item for item in items}))
    return result


def findings(week: Week) -> Findings:
    """Everything an editor would correct in `week`'s editorial and teasers, one line per finding."""
    draft, items = week.draft, week.items
    teaser_leaning, promotional = [], []
    for entry in draft.sections.entries():
        item = items.get(entry.item_id or "")
        article = " ".join(item.paragraphs) if item else ""
        sentences = split_sentences(entry.teaser)
        for index, sentence in enumerate(sentences):
            reason = leans(sentence, before=" ".join(sentences[:index]), heading=entry.title, article=article)
            if reason:
                teaser_leaning.append(f"{entry.title[:40]}: {sentence[:70]} ({reason})")
            if _promotional(sentence):
                promotional.append(f"teaser: {sentence[:80]}")
    editorial_leaning, false_transitions, titles, capitals = [], [], [], []
    articles = [" ".join(item.paragraphs) for item in items.values()]
    previous = ""  # the told sentence before, across paragraphs
    for paragraph in draft.editorial[1:-1] if draft.editorial else ():
        told_before: list[str] = []
        place = None
        for sentence in split_sentences(paragraph):
            opener, told = _split(sentence, articles)
            if told is None:
                if not sentence.startswith("To finish"):
                    titles.append(sentence[:80])
                continue
            article = next(text for text in articles if _in_article(told, [text]))
            reason = leans(told, before=" ".join(told_before), article=article)
            if reason:
                editorial_leaning.append(f"{told[:70]} ({reason})")
            if _promotional(told):
                promotional.append(f"editorial: {told[:80]}")
            if opener:
                word = sentence[len(opener) + 2 :].split(" ", 1)[0]
                if word[:1].isupper() and not _proper(word, article):
                    capitals.append(sentence[:80])
                problem = _false(opener, previous, told)
                if problem:
                    false_transitions.append(f"{opener}: {problem}")
                place = opener.removeprefix("Staying in ") if opener.startswith("Staying in ") else place
            elif place and any(_mentions(told, other) for other in _PLACE_CUES) and not _mentions(told, place):
                false_transitions.append(f"a story elsewhere than {place} told after 'Staying in {place}'")
            told_before.append(told)
            previous = told
    return Findings(teaser_leaning, editorial_leaning, false_transitions, titles, capitals, promotional,
                    _theme(draft, items))


def _split(sentence: str, articles: list[str]) -> tuple[str, str | None]:
    """(transition, the article's own sentence); the sentence is None when no article has it (a title)."""
    if _in_article(sentence, articles):
        return "", sentence
    match = _TRANSITION.match(sentence)
    if match:
        rest = match["rest"]
        for candidate in (rest, rest[:1].upper() + rest[1:]):
            if _in_article(candidate, articles):
                return match["opener"], candidate
    return "", None


def _in_article(sentence: str, articles: list[str]) -> bool:
    """A sentence of an article, or the main clause of one ("IBM has announced … $150 billion." of "… $150
    billion over the next five years …")."""
    clause = sentence[:-1] if sentence.endswith(".") else None
    return any(sentence in text or (clause and re.search(rf"{re.escape(clause)}[ ,;]", text)) for text in articles)


def _false(opener: str, previous: str, told: str) -> str | None:
    """Why the transition `opener` is not true of the sentence before and this one, or None."""
    if opener.startswith("Staying with "):
        actor = opener.removeprefix("Staying with ")
        return None if actor in previous and actor in told else f"'{actor}' is not in both sentences"
    if opener.startswith("Staying in "):
        place = opener.removeprefix("Staying in ")
        if not (_mentions(previous, place) and _mentions(told, place)):
            return f"not both in {place}"
        elsewhere = _elsewhere_first(previous, place)
        if elsewhere:
            return f"a story first about {elsewhere}, not {place}"
        other = next((name for name in _PLACE_CUES if name != place and _mentions(told, name)
                      and not (name in ("Europe", "America") or place in ("Europe", "America"))), None)
        return f"the story also happens in {other}" if other else None
    if opener == "On the other side of the Atlantic":
        europe_first = any(_mentions(previous, p) for p in _EUROPE) and any(_mentions(told, p) for p in _AMERICA)
        america_first = any(_mentions(previous, p) for p in _AMERICA) and any(_mentions(told, p) for p in _EUROPE)
        return None if europe_first or america_first else "the two stories are not on either side of the Atlantic"
    if opener.startswith("Speaking of "):
        topic = opener.removeprefix("Speaking of ").lower()
        cues = _technology_cues(topic)
        said = [bool(re.search(rf"(?<![\w-])(?:{cues})(?![\w-])", text.lower())) for text in (previous, told)]
        return None if all(said) else f"'{topic}' is not in both sentences"
    basket = _OPENER_BASKETS.get(opener)
    if basket:
        return None if _basket_cue(basket, told) else f"the sentence carries no {basket} cue"
    return None


_OPENER_BASKETS = {
    "On the infrastructure front": "Infrastructure", "In cybersecurity": "Cybersecurity",
    "Turning to human rights": "Human rights", "On the legal and regulatory side": "Legal and regulatory",
    "In the digital economy": "Economic", "On development and digital cooperation": "Development",
    "On the sociocultural front": "Sociocultural",
}
_TAXONOMY = load_taxonomy()


def _technology_cues(name: str) -> str:
    cues = next((cues for tech, cues in _TAXONOMY.technologies.items() if tech.lower() == name), (name,))
    return "|".join(re.escape(cue.lower()) for cue in (*cues, name))


def _basket_cue(basket: str, text: str) -> bool:
    cues = _TAXONOMY.baskets[basket].cues
    return any(re.search(rf"(?<![\w-]){re.escape(cue.lower())}(?![\w-])", text.lower()) for cue in cues)


def _proper(word: str, article: str) -> bool:
    """A word the article writes capitalised inside a sentence (a name), or all in capitals."""
    bare = word.strip("‘’“”\"'(),.")
    return (bare.isupper() or any(ch.isupper() for ch in bare[1:])
            or re.search(rf"(?<=[a-z,] ){re.escape(bare)}\b", article) is not None)


def _promotional(sentence: str) -> bool:
    try:
        from composer.promo import promotional  # issue 21's detector, where it has landed
    except ImportError:
        return bool(re.match(r"(?:Learn|Discover|Explore|Register|Download|Sign up|Find out)\b", sentence))
    return promotional(sentence) is not None


def _theme(draft: Draft, items: dict[str, Item]) -> tuple[str, int, int]:
    """The opening's theme, how many Radar stories name it or are filed under it, and the largest basket's
    count: a theme is the plurality's when its count is at least the largest basket's."""
    radar = draft.sections.radar
    baskets = Counter(entry.topic for entry in radar)
    largest = max(baskets.values(), default=0)
    if len(radar) <= 1 or not draft.editorial:
        return "", 0, largest
    opening = split_sentences(draft.editorial[0])[0]
    for name, basket in _TAXONOMY.baskets.items():
        if opening.startswith(basket.theme):
            return basket.theme, baskets[name], largest
    named = re.sub(r"^(?:Much of the week's news came from |All eyes were on )", "", opening)
    named = re.split(r" (?:was|were|set|ran|made|took|dominated)\b", named)[0].strip(" .")
    if named.lower().startswith("the "):
        named = named[4:]
    shared = 0
    for entry in radar:
        item = items.get(entry.item_id or "")
        text = f"{entry.title} {entry.teaser} {item.paragraphs[0] if item else ''}"
        shared += _mentions(text, f"the {named}" if f"the {named}" in _PLACE_CUES else named) or (
            named.lower() in text.lower())
    return named, shared, largest
