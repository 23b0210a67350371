"""The issue headline and the editorial, written from the chosen entries, deterministically.

The editorial walks through the week by basket, in the order of each basket's best story: an
opening paragraph on the week's lead story and its teaser, one paragraph per leading basket that
names its Radar entries by their headlines, then the Reading Corner blog. The
pointer to the Radar and the sign-off come from settings.
"""

from __future__ import annotations

import re
from collections import Counter

from composer.language import STOPWORDS, ends_sentence, words
from composer.models import Entry

_MAX_THEME_PARAGRAPHS = 4
_ENTRIES_PER_PARAGRAPH = 3
_OPENERS = {
    "Infrastructure": "On the infrastructure front",
    "Cybersecurity": "In cybersecurity",
    "Human rights": "Turning to human rights",
    "Legal and regulatory": "On the legal and regulatory side",
    "Economic": "In the digital economy",
    "Development": "On development and digital governance",
    "Sociocultural": "On the sociocultural front",
}
_TRANSITIONS = ("", "Meanwhile, ", "Elsewhere, ", "Last but not least, ")
_GENERIC = frozenset({"AI", "US", "USA", "UK", "EU", "UN", "CEO", "IT", "Act", "The"})
# Capitalised phrases that do not open a sentence: names of companies, places, institutions.
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w’'&.+-]*(?:\s+(?:of\s+)?[A-Z][\w’'&.+-]*)*)")


def issue_headline(radar: tuple[Entry, ...], themes: dict[str, str]) -> str:
    """DW style: a theme, a colon, then the week's three or four main names ("…: Google, TikTok and IBM")."""
    if not radar:
        return "The week in digital policy"
    leading = Counter(entry.topic for entry in radar).most_common(1)[0][0]
    theme = themes.get(leading or "", "The week in digital policy")
    names = _main_names(radar)
    return f"{theme}: {_join(names)}" if names else theme


def editorial(radar: tuple[Entry, ...], reading_corner: tuple[Entry, ...], pointer: str) -> tuple[str, ...]:
    """The editorial paragraphs: 3 to 6 of them, then the pointer to Radar and Reading Corner."""
    paragraphs = []
    if radar:
        lead = radar[0]
        paragraphs.append(f"Leading this week's Radar: {_sentence(lead.title)} {lead.teaser}")
    groups: dict[str, list[Entry]] = {}
    for entry in radar[1:]:
        groups.setdefault(entry.topic or "", []).append(entry)
    for number, (topic, entries) in enumerate(list(groups.items())[:_MAX_THEME_PARAGRAPHS]):
        opener = _OPENERS.get(topic, "Also this week")
        headlines = " ".join(_sentence(entry.title) for entry in entries[:_ENTRIES_PER_PARAGRAPH])
        transition = _TRANSITIONS[min(number, len(_TRANSITIONS) - 1)]
        opener = opener if not transition else opener[:1].lower() + opener[1:]
        paragraphs.append(f"{transition}{opener}: {headlines}")
    if reading_corner:
        blog = reading_corner[0]
        paragraphs.append(f"To finish, the blog: {_sentence(blog.title)} {blog.teaser}")
    while len(paragraphs) < 3:
        paragraphs.append("It was a quieter week, and the Radar below gathers what mattered most.")
    return (*paragraphs[:6], pointer)


def _main_names(radar: tuple[Entry, ...]) -> list[str]:
    """One specific name per leading story (its first name that is not a generic acronym), four at most.

    A headline's first word is capitalised anyway, so it counts as a name only when it is written
    so mid-sentence too, is an acronym or CamelCase (IBM, TikTok), or is no common word of the week.
    """
    texts = [text for entry in radar for text in (entry.title, entry.teaser)]
    known = {match for text in texts for match in _NAME.findall(text)}
    common = {word.lower() for text in texts for word in words(text) if word.islower()} | STOPWORDS
    names: list[str] = []
    for entry in radar:
        first_word = entry.title.split(" ", 1)[0]
        candidates = _NAME.findall(entry.title)
        if (any(name == first_word or name.startswith(first_word + " ") for name in known)
                or first_word.isupper() or any(ch.isupper() for ch in first_word[1:])
                or (first_word.lower() not in common and not first_word.endswith("ing"))):
            candidates.insert(0, _leading_name(entry.title))
        name = next((c for c in candidates if c not in _GENERIC and not any(c in n or n in c for n in names)), None)
        if name:
            names.append(name)
        if len(names) == 4:
            break
    return names


def _leading_name(title: str) -> str:
    """The run of capitalised words a title starts with: 'Internet Governance Forum marks …'."""
    match = re.match(r"[A-Z][\w’'&.+-]*(?:\s+(?:of\s+)?[A-Z][\w’'&.+-]*)*", title)
    return match[0] if match else title.split(" ", 1)[0]


def _sentence(headline: str) -> str:
    """A headline used as a sentence of the editorial (headlines have no final stop)."""
    return headline if ends_sentence(headline) else f"{headline}."


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
