"""Sentences and words of English news text, with no downloaded models or data.

The sentence splitter is a single regular-expression pass: a boundary is sentence punctuation
followed by space and a capital, a digit or an opening quote, unless the word before the
period is a known abbreviation (Dr., U.S., e.g.) or an initial. Numbers such as €5.5 billion or
3.5% never split because no space follows their period.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import date
from itertools import repeat

# What ends a sentence, and what may close around its end (a quotation, a parenthesis): the one set
# that sentence splitting, teasers, headlines, the editorial and the checks of LLM answers share.
SENTENCE_END = ".!?…"
CLOSING = "\"'’”)]"


def ends_sentence(text: str) -> bool:
    """True when `text` ends like a sentence: a full stop, ! ? or …, perhaps inside a closing quote or
    followed by an emoji ("Good morning! 🍏")."""
    return _TRAILING_SYMBOLS.sub("", text).rstrip(CLOSING)[-1:] in tuple(SENTENCE_END)


# Emoji, flags and their joiners and variation selectors, with the spaces between them.
_TRAILING_SYMBOLS = re.compile(r"[\s\u200d\ufe0f\u2600-\u27bf\U0001f000-\U0001faff]*$")

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt vs etc e.g i.e cf al inc ltd co corp plc llc no nos vol gen gov sen "
    "rep col lt sgt capt cmdr adm pres amb dept est approx fig jan feb mar apr jun jul aug sep sept oct nov "
    "dec u.s u.k u.n e.u u.s.a a.m p.m ph.d b.a m.a".split()
)
_BOUNDARY = re.compile(rf"[{SENTENCE_END}]+[{re.escape(CLOSING)}]*\s+(?=[\"“‘'(\[]?[A-Z0-9À-Þ€$£])")
_LAST_WORD = re.compile(r"(\S+)$")
_POSSESSIVE = re.compile(r"['’]s$")
_WORD = re.compile(r"[A-Za-zÀ-ÿ0-9][A-Za-zÀ-ÿ0-9'’+\-.]*[A-Za-zÀ-ÿ0-9+]|[A-Za-zÀ-ÿ0-9]")

STOPWORDS = frozenset(
    "a about above after again against all also although am among an and any are as at be because been "
    "before being below between both but by can could did do does doing down during each even few for from "
    "further had has have having he her here hers herself him himself his how however i if in into is it its "
    "itself just may me might more most much must my myself new no nor not now of off on once only or other "
    "our ours ourselves out over own said same say says she should since so some such than that the their "
    "theirs them themselves then there these they this those through to too under until up upon us very "
    "via was we were what when where whether which while who whom why will with within without would yet "
    "you your yours also according including instead across amid still well like one two three many"
    .split()
)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, each stripped."""
    sentences = []
    start = 0
    for boundary in _BOUNDARY.finditer(text):
        before = _LAST_WORD.search(text, start, boundary.start() + 1)
        word = before[1].rstrip(".!?…\"”’')]").lower().lstrip("(\"“‘'") if before else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        sentences.append(text[start : boundary.end()].strip())
        start = boundary.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def words(text: str) -> list[str]:
    """The words of `text`, case kept, punctuation dropped (hyphens and inner apostrophes kept)."""
    return _WORD.findall(text)


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning: no stopwords (but acronyms such as US stay), no possessive 's."""
    return list(filter(None, map(_CONTENT_WORDS.__getitem__, words(text))))


def content_word_counts(text: str) -> Counter[str]:
    """`Counter(content_words(text))`: how often `text` names each content word, in the order it first
    names them."""
    return Counter(filter(None, map(_CONTENT_WORDS.__getitem__, words(text))))


class _ContentWordOf(dict[str, str]):
    """Each word's content word ("" for none), judged once: a week of 10,000 items has some 1.5 million
    words but few distinct ones."""

    def __missing__(self, word: str) -> str:
        if len(self) >= 1 << 17:  # a bound on the memory it holds; most words come back at once
            self.clear()
        lower = _POSSESSIVE.sub("", word.lower())
        self[word] = content = lower if len(lower) > 1 and (lower not in STOPWORDS or word.isupper()) else ""
        return content


_CONTENT_WORDS = _ContentWordOf()


MONTHS = {
    name: number
    for number, name in enumerate(
        "january february march april may june july august september october november december".split(), 1
    )
}
MONTH_PATTERN = "(" + "|".join(MONTHS) + ")"
_DATE = re.compile(rf"\b(\d{{1,2}})\s+{MONTH_PATTERN}\s+(\d{{4}})", re.I)


def first_date(text: str) -> date | None:
    """The first date written "29 April 2025" in `text`, or None."""
    match = _DATE.search(text)
    return safe_date(int(match[3]), MONTHS[match[2].lower()], int(match[1])) if match else None


def safe_date(year: int, month: int, day: int) -> date | None:
    """The date, or None where the numbers name no real day (31 April)."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


# The commonest function words of the languages the corpus and real weeks bring; enough to tell a text's
# language from a few sentences without a model or downloaded data.
_FUNCTION_WORDS = {
    "en": "the and of to in is that for on with as was are by this be from at it has have which will its an "
          "their they said were not",
    "de": "der die das und ist nicht mit sich auf für ein eine dem den des von zu im auch wird werden bei nach "
          "aus noch wie über oder sind",
    "fr": "le la les et des du un une est dans pour que qui sur pas par au avec ce sont plus été aux ses leur "
          "mais cette",
    "es": "el la los las y de que en un una es por con para del se al lo como más pero sus su fue ha este está",
    "pt": "o a os as e de que em um uma é do da dos das no na para com não por se mais ao foi pelo pela são",
    "it": "il lo la gli le e di che in un una è per con del della non si al sono da come anche più nel alla",
    "nl": "de het een en van is dat op te in voor met niet zijn aan er ook als bij door om naar maar worden",
    "sk": "a v na je sa že do s z o pre ako to aj by sú sme ktorý ktorá ktoré ale tak už od po",
}
_LANGUAGE_SETS = {language: frozenset(listed.split()) for language, listed in _FUNCTION_WORDS.items()}
_ANY_FUNCTION_WORD = frozenset().union(*_LANGUAGE_SETS.values())
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_ASCII_TOKEN = re.compile(r"[a-z]+")
_BEYOND_ASCII = re.compile(r"[^\x00-\x7f]")


def guess_language(text: str) -> str | None:
    """The language of `text` (an ISO 639-1 code) by its function words, or None when too little tells."""
    text = text[:4000]
    # Lower-casing the text keeps its tokens but for two letters: İ becomes two characters, and Σ becomes
    # ς or σ by what follows it; without them the text is lower-cased at once, not token by token.
    if "İ" in text or "Σ" in text:
        tokens = [token.lower() for token in _TOKEN.findall(text)]
    else:
        lowered = text.lower()
        # Where no letter is beyond ASCII (most English text; curly quotes and dashes are no letters), the
        # letters are a-z: the same tokens, found by a plain class, twice as fast as by Unicode categories.
        plain = all(_TOKEN.match(character) is None for character in set(_BEYOND_ASCII.findall(lowered)))
        tokens = (_ASCII_TOKEN if plain else _TOKEN).findall(lowered)
    if len(tokens) < 8:
        return None
    # Only the function words counted, then each language's few looked up: a text repeats its function words.
    counts = Counter(filter(_ANY_FUNCTION_WORD.__contains__, tokens))
    scores = {language: sum(map(counts.get, listed, repeat(0))) for language, listed in _LANGUAGE_SETS.items()}
    best = max(scores, key=lambda language: (scores[language], language == "en"))
    return best if scores[best] >= max(3, len(tokens) // 20) else None


# re.IGNORECASE folds İ and ı to i and ſ to s; str.lower() keeps ı and ſ, and makes İ two characters. In a
# text without them, lower-casing keeps every character in its place and folds case as re.IGNORECASE
# does: a pattern written in lower case finds in the lower-cased text, case-sensitively, what it finds in
# the text with re.IGNORECASE, at the same places, two to three times faster.
_FOLDED_APART = re.compile("[İıſ]")


def folded(text: str) -> str | None:
    """`text` lower-cased for `Caseless` patterns, or None when lower-casing would not do."""
    return None if _FOLDED_APART.search(text) else text.lower()


class Caseless:
    """A pattern written in lower case, matched as with re.IGNORECASE: case-sensitively in a text's
    `folded` form when it has one (`fast`, the same pattern or one written for a faster search)."""

    def __init__(self, pattern: str, fast: str | None = None) -> None:
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.fast = re.compile(fast or pattern)

    def search(self, text: str, folded_text: str | None) -> re.Match[str] | None:
        return self.pattern.search(text) if folded_text is None else self.fast.search(folded_text)

    def finditer(self, text: str, folded_text: str | None) -> Iterator[re.Match[str]]:
        return self.pattern.finditer(text) if folded_text is None else self.fast.finditer(folded_text)


def word_start(alternatives: list[str]) -> str:
    """`\\b(?:a|b|…)` for alternatives that each open with a letter, written so that a search skips at
    once to where one can start: each alternative opens with its letter, and the test that no letter,
    digit or _ is before it comes after that letter."""
    return "(?:" + "|".join(f"{word[0]}(?<!\\w{word[0]}){word[1:]}" for word in alternatives) + ")"
