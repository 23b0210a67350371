"""The issue headline and the editorial, written from the chosen stories, offline and deterministically.

The editorial tells the week as #209's does (seed 002): an opening that names the week's theme with its
lead story, then paragraphs that group related stories by basket, each story told in a sentence of its
own article that is not its Radar teaser, joined by transitions chosen from how a story relates to the
one before it (the same actor: "Staying with Google"; the same place: "Staying in the Netherlands";
across the Atlantic; the same technology: "Speaking of AI"; a new basket: its own opener), then the blog
and the pointer to the Radar. A thin week says so instead of pretending.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import NamedTuple

from composer.language import STOPWORDS, content_words, ends_sentence, split_sentences
from composer.models import Entry, Item
from composer.summarise.teaser import NEEDS_CONTEXT

MAX_ISSUE_HEADLINE = 60  # "DW Weekly #210 – " and this fit the 78 characters of a Subject
_MAX_STORY_PARAGRAPHS = 4
_STORIES_PER_PARAGRAPH = 3
_SEARCHED_PARAGRAPHS = 8
_RETELLING = (50, 230)
_OPENERS = {
    "Infrastructure": "On the infrastructure front",
    "Cybersecurity": "In cybersecurity",
    "Human rights": "Turning to human rights",
    "Legal and regulatory": "On the legal and regulatory side",
    "Economic": "In the digital economy",
    "Development": "On development and digital cooperation",
    "Sociocultural": "On the sociocultural front",
}
# Places and the words that point to them, for "Staying in …" and "On the other side of the Atlantic".
_PLACES = {
    "the EU": ("eu", "european union", "european commission", "brussels", "europe", "european"),
    "the US": ("us", "u.s.", "united states", "american", "washington", "americans"),
    "China": ("china", "chinese", "beijing"), "the UK": ("uk", "united kingdom", "britain", "british", "london"),
    "India": ("india", "indian"), "Japan": ("japan", "japanese"), "the Netherlands": ("netherlands", "dutch"),
    "Belgium": ("belgium", "belgian"), "Germany": ("germany", "german"), "France": ("france", "french"),
    "Russia": ("russia", "russian"), "Ukraine": ("ukraine", "ukrainian"), "Africa": ("africa", "african"),
    "Brazil": ("brazil", "brazilian"), "Canada": ("canada", "canadian"), "Australia": ("australia", "australian"),
    "South Korea": ("south korea", "korean"), "Switzerland": ("switzerland", "swiss", "geneva"),
    "Norway": ("norway", "norwegian"), "Italy": ("italy", "italian"), "Spain": ("spain", "spanish"),
}
_ATLANTIC = ({"the EU", "the UK", "France", "Germany", "the Netherlands", "Belgium", "Italy", "Spain"}, {"the US",
                                                                                                       "Canada"})
_PLACE_PATTERNS = {place: re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(cue) for cue in cues) + r")(?![\w-])")
                   for place, cues in _PLACES.items()}
_CAPITALISED = re.compile(r"\b[A-Z][\w’'&.+-]*[A-Za-z0-9](?:\s+[A-Z][\w’'&.+-]*[A-Za-z0-9])*")
# Cues that file a story well but say nothing as a topic of the week.
_WEAK_PHRASES = frozenset("billion deal deals exposed stolen price priced market markets shares jobs fine fines law "
                          "laws bill rights content platform platforms media network networks space energy cloud "
                          "adoption investment invest invests funding revenue budget trade economy economic "
                          "national security threat governance resolution skills training capacity culture "
                          "cultural health youth education language languages public services".split())
_NOT_ACTORS = frozenset({"AI", "The", "A", "An", "New", "US", "EU", "UK", "UN", "CEO"})


class Story(NamedTuple):
    """A chosen entry with the article it came from and the technologies curate found in it."""

    entry: Entry
    item: Item | None
    technologies: tuple[str, ...] = ()


class Editorial(NamedTuple):
    paragraphs: tuple[str, ...]
    told: dict[str, str]  # item_id: title of each story the editorial tells


def issue_headline(radar: tuple[Entry, ...], themes: dict[str, str], phrases: tuple[str, ...]) -> str:
    """DW style: the leading basket's theme, a colon, then 2-4 topic phrases of the week's stories
    ("Rules and reckonings: antitrust, data centres and stablecoins"), at most 60
    characters; a phrase is a cue of topics.toml as the story writes it, never a number or a name cut short."""
    if not radar:
        return "A quiet week in digital policy"
    leading = Counter(entry.topic for entry in radar).most_common(1)[0][0]
    theme = themes.get(leading or "", "The week in digital policy")
    found: list[str] = []
    for entry in radar:
        phrase = _topic_phrase(entry, phrases)
        if (phrase and len(found) < 4 and phrase.lower() not in theme.lower()
                and all(phrase.lower() not in known.lower() and known.lower() not in phrase.lower() for known in found)
                and len(f"{theme}: {_join([*found, phrase])}") <= MAX_ISSUE_HEADLINE):
            found.append(phrase)
    return f"{theme}: {_join(found)}" if len(found) >= 2 else theme


def editorial(radar: list[Story], reading_corner: list[Story], pointer: str, themes: dict[str, str]) -> Editorial:
    """The editorial paragraphs, the pointer last, and which stories they tell."""
    told: dict[str, str] = {}
    paragraphs: list[str] = []
    used: set[str] = set()
    if len(radar) <= 1:
        paragraphs.append("It was a quiet week in digital policy" + (
            f", and one story stood out. {_retelling(radar[0])}" if radar else ", with no story for the Radar."))
    else:
        leading = Counter(story.entry.topic for story in radar).most_common(1)[0][0]
        theme = themes.get(leading or "", "Digital policy")
        paragraphs.append(f"{theme} set the tone this week. {_retelling(radar[0])}")
    told.update(_told(radar[:1]))
    previous = radar[0] if radar else None
    groups: dict[str, list[Story]] = {}
    for story in radar[1:]:
        groups.setdefault(story.entry.topic or "", []).append(story)
    for topic, stories in list(groups.items())[:_MAX_STORY_PARAGRAPHS]:
        sentences = []
        for index, story in enumerate(stories[:_STORIES_PER_PARAGRAPH]):
            opener = _transition(previous, story)
            if opener in used:
                opener = ""  # a transition said twice stops being one
            if not opener and index == 0:
                opener = _OPENERS.get(topic, "Also this week")
            used.add(opener)
            sentences.append(_joined(opener, _retelling(story)))
            previous = story
        told.update(_told(stories[:_STORIES_PER_PARAGRAPH]))
        paragraphs.append(" ".join(sentences))
    if reading_corner:
        paragraphs.append(f"To finish, the blog: {_retelling(reading_corner[0])}")
        told.update(_told(reading_corner[:1]))
    if radar:
        paragraphs.append(pointer)
    return Editorial(tuple(paragraphs), told)


def _retelling(story: Story) -> str:
    """The story in one sentence of its own article that its Radar teaser does not already say; the
    headline as a sentence when the article offers none."""
    entry, item = story.entry, story.item
    title_words = set(content_words(entry.title))
    actors = _actors(story)
    teaser = " ".join(entry.teaser.split())
    candidates = []
    paragraphs = item.paragraphs[:_SEARCHED_PARAGRAPHS] if item else ()
    for position, sentence in enumerate(s for paragraph in paragraphs for s in split_sentences(paragraph)):
        text = " ".join(sentence.split())
        first = text.split(" ", 1)[0].strip(",")
        if (text in teaser or not ends_sentence(text) or first.lower() in NEEDS_CONTEXT
                or not _RETELLING[0] <= len(text) <= _RETELLING[1]):
            continue
        overlap = len(title_words & set(content_words(text)))
        names_actor = any(actor in text for actor in actors)
        # A sentence that opens with its subject reads well after a transition; one that opens with a
        # phrase ("As the AI race…", "Moderated by…") or leans on the one before ("the app") does not.
        named_first = first[:1].isupper() and first.lower() not in STOPWORDS and not first.endswith(("ed", "ing"))
        phrase_first = (first.lower() in STOPWORDS and first not in ("The", "A", "An")) or first.endswith(("ed", "ing"))
        candidates.append((overlap + 3 * names_actor + named_first - 2 * phrase_first - 0.5 * position, text))
    if candidates:
        return max(candidates)[1]
    headline = entry.title if ends_sentence(entry.title) else f"{entry.title}."
    return headline if headline not in teaser else f"The week also brought this: {headline[:1].lower()}{headline[1:]}"


def _transition(previous: Story | None, story: Story) -> str:
    """A transition from how `story` relates to the one before it; empty when they are unrelated."""
    if previous is None:
        return ""
    actor = next(iter(sorted(_actors(previous) & _actors(story))), None)
    if actor:
        return f"Staying with {actor}"
    before, now = _places_of(previous), _places_of(story)
    if before & now:
        return f"Staying in {sorted(before & now)[0]}"
    europe, america = _ATLANTIC
    if (before & europe and now & america) or (before & america and now & europe):
        return "On the other side of the Atlantic"
    shared = sorted(set(previous.technologies) & set(story.technologies))
    if shared:
        return f"Speaking of {shared[0] if shared[0].isupper() else shared[0].lower()}"
    return ""


def _actors(story: Story) -> set[str]:
    """The organisations and people a story's headline names (capitalised phrases, not its first word)."""
    title = story.entry.title
    names = {match for match in _CAPITALISED.findall(title) if not title.startswith(match)}
    first = _CAPITALISED.match(title)
    if first and (first[0].isupper() or any(ch.isupper() for ch in first[0][1:])):
        names.add(first[0])  # IBM, TikTok: names even at the start
    return {name for name in names if name not in _NOT_ACTORS and len(name) > 2}


def _places_of(story: Story) -> set[str]:
    text = f"{story.entry.title} {story.entry.teaser}".lower()
    return {place for place, pattern in _PLACE_PATTERNS.items() if pattern.search(text)}


def _joined(opener: str, sentence: str) -> str:
    if not opener:
        return sentence
    first, _, rest = sentence.partition(" ")
    if first.lower() in STOPWORDS and not (first.isupper() and len(first) > 1):
        first = first.lower()  # "The Dutch regulator …" -> "Staying in the Netherlands, the Dutch regulator …"
    return f"{opener}, {first} {rest}".rstrip()


def _told(stories: list[Story]) -> dict[str, str]:
    return {story.entry.item_id: story.entry.title for story in stories if story.entry.item_id}


def _topic_phrase(entry: Entry, phrases: tuple[str, ...]) -> str | None:
    """The longest topic phrase of topics.toml in the entry's title (else its teaser), as written there."""
    for text in (entry.title, entry.teaser):
        lowered = text.lower()
        found = [phrase for phrase in phrases if len(phrase) > 3 and phrase not in _WEAK_PHRASES
                 and not any(ch.isdigit() for ch in phrase)
                 and re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", lowered)]
        if found:
            phrase = max(found, key=len)
            start = lowered.index(phrase)
            written = text[start:start + len(phrase)]
            proper = written.isupper() or (start > 0 and written[:1].isupper()) or (
                " " in written and all(word[:1].isupper() for word in written.split() if len(word) > 3))
            return written if proper else written.lower()
    return None


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
