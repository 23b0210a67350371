"""What a line of article text is: body, a trailer that ends the article, or a stray short line.

Shared by every parser: dig.watch puts the same trailers in its feeds as in its text dumps.
"""

from __future__ import annotations

import re

from composer.language import CLOSING, SENTENCE_END

# Non-breaking and other odd spaces appear inside trailers ("If so,\u00a0ask"); fold them so the
# patterns below see one ordinary space.
_ODD_SPACES = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")

# The chatbot trailer comes in variants: "aboutAI", "tech, and", "diplomacyIf so", with or without "!".
_TRAILERS = (
    re.compile(r"^would you like to learn more about.{0,80}diplo chatbot[!.]?$", re.I),
    re.compile(r"^track all key .{1,160} on our dedicated .{0,80}page\.?$", re.I),
    re.compile(r"^for more information on these topics,? visit diplomacy\.edu\.?$", re.I),
)

# A body paragraph ends like a sentence; titles, image captions and tag lines do not.
_SENTENCE_END = SENTENCE_END + CLOSING + ":;"
_BULLET = re.compile(r"^[•\-–*·]\s")
_MAX_SHORT_LINE = 150


def clean(line: str) -> str:
    """The line with odd spaces folded to one space and the ends trimmed."""
    if "\u200b" in line or "\ufeff" in line:
        return _ODD_SPACES.sub(" ", line).strip()
    # The other odd spaces are what str.split() splits at (\s): the same, without a regular expression.
    return " ".join(line.split())


def is_trailer(line: str) -> bool:
    """True for the promotional lines that end an article and are never content."""
    return any(pattern.match(line) for pattern in _TRAILERS)


def is_short_line(line: str) -> bool:
    """True for a line shaped like a title, caption or tag line rather than a sentence."""
    return (
        0 < len(line) <= _MAX_SHORT_LINE
        and line[-1] not in _SENTENCE_END
        and not _BULLET.match(line)
    )


def tag_line_tags(line: str) -> list[str] | None:
    """The tags of a tag line ("IGF 2025, Norway, Language inclusion"), or None for any other line."""
    parts = [part.strip() for part in line.split(",")]
    if len(parts) < 3 or not is_short_line(line):
        return None
    if all(part and len(part.split()) <= 4 for part in parts):
        return parts
    return None


def body(paragraphs: list[str]) -> tuple[list[str], list[str]]:
    """The body paragraphs of one article, cut at its first trailer, and the tags of its tag lines.

    For sources whose structure already says what is a paragraph (feeds, JSON): every paragraph is kept,
    short or without a final stop; only trailers and tag lines go.
    """
    kept: list[str] = []
    tags: list[str] = []
    for raw in paragraphs:
        line = clean(raw)
        if not line:
            continue
        if is_trailer(line):
            break
        line_tags = tag_line_tags(line)
        if line_tags:
            tags.extend(line_tags)
        else:
            kept.append(line)
    return kept, tags


def with_final_stop(paragraph: str) -> str:
    """A description that stops without punctuation ("…across sectors") ended with a full stop, so it
    reads, and is taken, as a sentence. Only prose: six words or more, mostly in lower case, and no
    separators (a date line "14 May 2025 | 13:00 | Online" stays as it is)."""
    words = paragraph.split()
    prose = len(words) >= 6 and sum(word[:1].islower() for word in words) * 2 >= len(words)
    return f"{paragraph}." if prose and paragraph[-1:].isalnum() and not re.search(r"\s[|·•]\s", paragraph) \
        else paragraph
