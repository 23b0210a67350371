"""Places and names in news text, without a trained model: the one table of places the editorial and the
context detector share, and the capitalised phrases of a text that its article shows to be names."""

from __future__ import annotations

import re
from functools import lru_cache

from composer.language import STOPWORDS
from composer.summarise.lexicon import lemmas

# Places and the words that point to them, for "Staying in …", "On the other side of the Atlantic" and the
# week's theme.
PLACES = {
    "the EU": ("eu", "european union", "european commission", "brussels", "europe", "european"),
    "the US": ("us", "u.s.", "united states", "american", "washington", "americans"),
    "China": ("china", "chinese", "beijing"), "the UK": ("uk", "united kingdom", "britain", "british", "london"),
    "India": ("india", "indian"), "Japan": ("japan", "japanese"), "the Netherlands": ("netherlands", "dutch"),
    "Belgium": ("belgium", "belgian"), "Germany": ("germany", "german"), "France": ("france", "french"),
    "Russia": ("russia", "russian"), "Ukraine": ("ukraine", "ukrainian"), "Africa": ("africa", "african"),
    "Brazil": ("brazil", "brazilian"), "Canada": ("canada", "canadian"), "Australia": ("australia", "australian"),
    "South Korea": ("south korea", "korean"), "Switzerland": ("switzerland", "swiss", "geneva"),
    "Norway": ("norway", "norwegian"), "Italy": ("italy", "italian"), "Spain": ("spain", "spanish"),
    "New Zealand": ("new zealand",), "Iran": ("iran", "iranian"), "Israel": ("israel", "israeli"),
    "Singapore": ("singapore",), "Ireland": ("ireland", "irish"), "Mexico": ("mexico", "mexican"),
}
EUROPE = frozenset({"the EU", "the UK", "France", "Germany", "the Netherlands", "Belgium", "Italy", "Spain", "Norway",
                    "Ireland", "Switzerland"})
AMERICA = frozenset({"the US", "Canada", "Mexico"})
_PLACE_PATTERNS = {place: re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(cue) for cue in cues) + r")(?![\w-])")
                   for place, cues in PLACES.items()}
PLACE_WORDS = frozenset(word for cues in PLACES.values() for cue in cues for word in cue.split())

NAME = re.compile(r"\b[A-Z][\w’'&.+-]*[A-Za-z0-9](?:\s+(?:of\s+|de\s+|for\s+|and\s+)?[A-Z][\w’'&.+-]*[A-Za-z0-9])*")
# Capitalised words that open a phrase without being part of a name.
_NOT_NAMES = frozenset({"The", "A", "An", "This", "That", "These", "Those", "In", "On", "At", "As", "For", "With",
                        "By", "From", "After", "Before", "Over", "Under", "New", "It", "Its", "He", "She", "They",
                        "But", "And", "Or", "If", "When", "While", "Why", "How", "What", "Who", "Meanwhile", "However"})


def places(text: str) -> set[str]:
    """The places of PLACES that `text` names."""
    lowered = text.lower()
    return {place for place, pattern in _PLACE_PATTERNS.items() if pattern.search(lowered)}


def first_place(text: str) -> str | None:
    """The place of PLACES that `text` names first: where its story happens ("Washington has long pushed
    TikTok's Chinese parent …" is about the US, though it names China too)."""
    lowered = text.lower()
    found = [(match.start(), place) for place, pattern in _PLACE_PATTERNS.items()
             if (match := pattern.search(lowered))]
    return min(found)[1] if found else None


def names(text: str, article: str = "") -> list[str]:
    """The names in `text`, in order: capitalised phrases, less a first word that only starts the sentence
    ("Global AI adoption" -> "AI"): a word counts as a name where the article (or the text) writes it
    capitalised inside a sentence, or it has capitals inside ("TikTok", "IBM")."""
    evidence = article or text
    found = []
    for match in NAME.finditer(text):
        if re.fullmatch(r"\S+ and \S+", match[0]):  # "Apple and Meta", "EU and AI": two names, not one
            found += [name for part in match[0].split(" and ") for name in names(part, evidence)]
            continue
        words = match[0].split()
        possessive = next((index for index, word in enumerate(words[:-1]) if word.endswith(("’s", "'s"))), None)
        if possessive is not None:  # "TikTok’s US deal": a possessive ends a name
            found += names(" ".join(words[: possessive + 1]), evidence)
            found += names(" ".join(words[possessive + 1 :]), evidence)
            continue
        inner = next((index for index, word in enumerate(words[1:-1], 1) if word.lower() in STOPWORDS
                      and word[:1].isupper()), None)
        if inner is not None:
            words = words[:inner]  # Title Case: "Greylock And First Round" -> "Greylock"
        words = [word for word in words if not re.match(r"^I(?:[’'].*)?$", word)]
        while words and words[0] in _NOT_NAMES:
            words.pop(0)
        if not _written_inside(" ".join(words), evidence):
            # At a sentence's start or in a title in Title Case, a capital proves nothing: keep the words
            # the article writes as names ("Global AI adoption" -> "AI"; "We Will Be Launching" -> none).
            while words and not _written_as_name(words[0], evidence):
                words.pop(0)
            while words and not _written_as_name(words[-1], evidence):
                words.pop()
        while words and words[-1].lower() in ("of", "de", "for", "and"):
            words.pop()
        if words:
            found.append(" ".join(words).removesuffix("’s").removesuffix("'s"))
    return found


def _written_inside(phrase: str, evidence: str) -> bool:
    """The phrase of several words appears inside a sentence of the evidence ("the Internet Governance Forum")."""
    return " " in phrase and re.search(rf"(?<=[a-z,;] ){re.escape(phrase)}\b", evidence) is not None


def _written_as_name(word: str, evidence: str) -> bool:
    bare = word.removesuffix("’s").removesuffix("'s")
    if bare.isupper() or any(ch.isupper() for ch in bare[1:]) or any(ch.isdigit() for ch in bare):
        return True
    return re.search(rf"(?<=[a-z,;] ){re.escape(bare)}\b", evidence) is not None and not re.search(
        rf"(?<=[a-z,;] ){re.escape(bare.lower())}\b", evidence)


def is_proper(word: str, article: str) -> bool:
    """Whether `word`, met at a sentence's start, is a name to keep capitalised after a transition."""
    bare = word.strip("‘’“”\"'(),.:;")
    if len(bare) > 1 and (bare.isupper() or any(ch.isupper() for ch in bare[1:]) or any(ch.isdigit() for ch in bare)):
        return True  # "US", "IBM", "TikTok", "5G": never "uS has …"
    if not bare or bare.lower() in STOPWORDS:
        return False
    if re.search(rf"(?<=[a-z,;] ){re.escape(bare)}\b", article):
        return True  # the article writes it capitalised inside a sentence
    if re.search(rf"(?<=[a-z,;] ){re.escape(bare.lower())}\b", article):
        return False
    # A word the dictionary lists with its capital ("Amazon", "Brussels") or does not list at all is a name.
    return bool(lemmas(bare)) or not _known_word(bare.lower())


@lru_cache(maxsize=4096)
def _known_word(word: str) -> bool:
    stem = word.removesuffix("’s").removesuffix("'s")
    return bool(lemmas(stem)) or stem in ("app", "apps")
