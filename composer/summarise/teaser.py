"""A teaser: one or two complete sentences of the article, 80-220 characters, that add to its title.

Candidates are single sentences and pairs of neighbouring sentences from the first paragraphs. A
candidate that leans on context the reader lacks (summarise.context: "The group…", "he stressed") or
sells rather than reports (composer.promo: "Learn how…") is never taken while another exists; one that
mostly repeats the title ranks below one that adds to it; earlier sentences rank higher, and a length
near DW Weekly's median (about 140 characters) is preferred.
"""

from __future__ import annotations

from composer.language import content_words, ends_sentence, split_sentences
from composer.promo import promotional
from composer.summarise.context import leans

MIN_TEASER = 80
MAX_TEASER = 220
_TARGET = 150
_PARAGRAPHS_SEARCHED = 5
_REPEAT = 0.6


def teaser(paragraphs: tuple[str, ...], title: str) -> str:
    """The best teaser of an article; complete sentences only, never cut."""
    sentences = [s for p in paragraphs[:_PARAGRAPHS_SEARCHED] for s in split_sentences(p)]
    sentences = [s for s in sentences if ends_sentence(s)]
    article = " ".join(paragraphs)
    title_words = set(content_words(title))
    usable = [sound(sentence, "", title, article) for sentence in sentences]
    candidates = []
    for index, sentence in enumerate(sentences):
        if usable[index]:
            candidates.append((index, sentence))
            if index + 1 < len(sentences) and sound(sentences[index + 1], sentence, title, article):
                candidates.append((index, f"{sentence} {sentences[index + 1]}"))
    fitting = [(index, text) for index, text in candidates if MIN_TEASER <= len(text) <= MAX_TEASER]
    if not fitting:
        return _fallback([s for s, ok in zip(sentences, usable, strict=True) if ok] or sentences, paragraphs)
    return min(fitting, key=lambda candidate: _cost(candidate[0], candidate[1], title_words))[1]


def sound(sentence: str, before: str, title: str, article: str) -> bool:
    """A sentence a teaser may hold after `before`: it stands alone under the title and does not sell."""
    return leans(sentence, before=before, heading=title, article=article) is None and promotional(sentence) is None


def _cost(index: int, text: str, title_words: set[str]) -> tuple[float, int]:
    words = content_words(text)
    repeats = len(title_words & set(words)) / len(title_words) if title_words else 0.0
    cost = index * 1.0 + abs(len(text) - _TARGET) / 60
    cost += 4 if repeats >= _REPEAT else 0
    return cost, len(text)


def _fallback(sentences: list[str], paragraphs: tuple[str, ...]) -> str:
    """Where no sentence or pair fits: the shortest sentence over the limit, else the first one whole."""
    long = [s for s in sentences if len(s) > MAX_TEASER]
    if long:
        return min(long, key=len)
    return sentences[0] if sentences else paragraphs[0]
