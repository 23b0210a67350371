"""Does a sentence lean on context its reader lacks? The one detector for teasers, the editorial and the
checks of LLM answers.

A sentence lifted out of its article often points back at what came before it: a connective ("However,
…"), a pronoun or a possessive as its subject ("He stressed…", "Its new model…"), a definite description
whose referent the reader never met ("The group…", "over $30 billion of the funding…"), a speech verb with
no named speaker ("…, he stressed."), a person by surname only ("Doria described…") or the article's own
voice ("we decided to test…"). `leans` says which, or None for a sentence that stands alone after what
the reader has already seen (`before`: the sentences just before it in the same text; `heading`: a title
shown above it). Nothing here is trained: a short list of function words, lemminflect's word lists to tell
a verb from a noun, and the article itself to tell a surname from a name.
"""

from __future__ import annotations

import re
from functools import lru_cache

from composer.language import STOPWORDS
from composer.summarise.lexicon import lemmas
from composer.summarise.names import PLACE_WORDS, is_proper

_PRONOUNS = frozenset("he she it they him them ones".split())
_FIRST_PERSON = frozenset("i we me us my our ours myself ourselves".split())
_POSSESSIVES = frozenset("his her its their".split())
_DEMONSTRATIVES = frozenset("this these that those such".split())
# Words that open a sentence continuing the one before it.
_CONNECTIVES = frozenset("however meanwhile but and also then instead moreover furthermore additionally yet still so "
                         "thus therefore nevertheless nonetheless besides likewise similarly otherwise again too "
                         "hence accordingly consequently indeed ultimately finally lastly overall eventually "
                         "afterwards subsequently conversely alternatively thereafter".split())
_CONNECTIVE_PHRASES = ("in contrast", "in addition", "as a result", "on the other hand", "at the same time",
                       "by contrast", "for its part", "for their part", "in response", "in turn", "even so",
                       "on top of that", "as such", "to that end", "in this case", "in that case", "the same",
                       "the latter", "the former", "other than that", "apart from that", "despite this",
                       "after that", "before that", "because of this", "as well as this", "not only", "not just")
# "This week, …" points at the calendar, not at an earlier sentence.
_TIME_WORDS = frozenset("week weekend month year morning afternoon evening day days time summer winter spring autumn "
                        "fall quarter season decade century".split())
# Nouns with one referent everybody knows: "the internet" needs no introduction.
_UNIQUE = frozenset("world internet web public planet future past press sun moon".split())
# Nouns that sum up what an earlier sentence said ("the move", "the decision"): anaphoric wherever they stand.
_SHELL_NOUNS = frozenset("move decision step plan issue problem case matter situation incident attack attacks breach "
                         "scale development announcement agreement deal report findings order initiative milestone "
                         "disagreement funding proposal measure measures change changes campaign effort efforts "
                         "project programme lawsuit ruling investigation probe approach strategy partnership "
                         "acquisition merger statement letter event conference summit meeting talks dispute shift "
                         "trend figure figures study survey document memo update version".split())
# Nouns for a thing a name in the same sentence can introduce ("TikTok said the app …").
_ENTITY_NOUNS = frozenset("platform app tool service company firm organisation organization agency body team group "
                          "bill law policy rule rules system model device feature startup regulator country "
                          "government ministry court".split())
_SPEECH = ("said|says|stressed|added|noted|argued|warned|explained|stated|told|wrote|insisted|emphasised|emphasized|"
           "claimed|remarked|observed|commented|concluded|highlighted|pointed out|underlined|underscored|asserted|"
           "acknowledged|admitted|announced|tweeted|posted|cautioned|urged|suggested|described")
_QUOTE_SPEAKER = re.compile(rf"(?:[,”’\"']\s*|^)(?:he|she|they|it)\s+(?:also\s+)?(?:{_SPEECH})\b", re.I)
_SPEAKER_AFTER = re.compile(rf"\b(?:{_SPEECH})\s+(?:he|she|they)\b(?!\s+\w+ed\b)", re.I)
_DEFINITE_SPEAKER = re.compile(rf"(?:[,”’\"']\s*)(?:{_SPEECH})\s+the\s+([a-z][\w-]*)\b|[,”’\"']\s*the\s+([a-z][\w-]*)"
                               rf"\s+(?:{_SPEECH})\b")
_QUOTED = re.compile(r"“[^”]*”|‘[^’‘]*[’‘](?!\w)|\"[^\"]*\"")
_TOKEN = re.compile(r"[€$£]?[\w][\w’'.&+-]*[\w%]|[\w%]|,|;|:|[–—]")
_AUXILIARIES = frozenset("is are was were has have had will would can could may might should must shall does do did "
                         "be been being".split())
_RELATIVES = frozenset("that which who whom whose".split())
# Words after a definite noun phrase that make it introduce itself: "the creation of …", "the bill that …".
_POSTMODIFIERS = frozenset("of for between over on in against from with to that which who whose behind at by about "
                           "under into across among within like near around beyond".split())
_FRONTED = frozenset("as in on at after before during following amid despite while when since with without "
                     "according by for from under over once although though if because until upon unlike like "
                     "given thanks through across among".split())
_NAME = re.compile(r"\b[A-Z][\w’'&.-]*[A-Za-z0-9](?:\s+(?:of\s+|de\s+|van\s+|von\s+)?[A-Z][\w’'&.-]*[A-Za-z0-9])*")


def leans(sentence: str, before: str = "", heading: str = "", article: str = "") -> str | None:
    """Why `sentence` cannot be read on its own after `before` (and under `heading`), or None.

    `article` is the text the sentence was taken from: it tells a surname used alone ("Doria") from a
    name, because the article gave the full name ("Avri Doria") earlier."""
    text = " ".join(sentence.split())
    seen = f"{heading} {before}".lower()
    unquoted = _QUOTED.sub(" ", text)
    tokens = _TOKEN.findall(text)
    if not tokens:
        return None
    lowered = [token.lower() for token in tokens]
    opening = " ".join(lowered[:5])
    if not before and (lowered[0] in _CONNECTIVES
                       or any(re.match(rf"{phrase}\b", opening) for phrase in _CONNECTIVE_PHRASES)):
        return f"opens with '{tokens[0]}', which continues an earlier sentence"
    clause = _main_clause(tokens)
    subject = _subject(clause)
    first = subject[0].lower() if subject else ""
    if not before:
        if first in _PRONOUNS:
            return f"its subject is the pronoun '{subject[0]}'"
        if first in _POSSESSIVES or (tokens[0].lower() in _POSSESSIVES):
            return f"opens with the possessive '{subject[0] if first in _POSSESSIVES else tokens[0]}'"
        if lowered[0] in _DEMONSTRATIVES and len(lowered) > 1 and (
                _auxiliary(lowered[1]) or _is_finite_verb(lowered[1], "it")):
            return f"its subject is '{tokens[0]}', which points back at an earlier sentence"
    if not before:
        pointing = _pointing_back(_TOKEN.findall(unquoted), seen)
        if pointing:
            return f"'{pointing}' points back at an earlier sentence"
    words = _TOKEN.findall(unquoted)
    first_person = next((word for index, word in enumerate(words) if word.lower() in _FIRST_PERSON and word != "US"
                         and (word != "I" or (index + 1 < len(words) and words[index + 1].islower()))), None)
    if first_person:
        return f"speaks in the article's own voice ('{first_person}')"
    definite = _bare_definite(subject, seen)
    if definite:
        return f"'the {definite}' was never introduced"
    shell = _shell_noun(tokens, len(tokens) - len(clause) + len(subject), seen)
    if shell:
        return f"'the {shell}' points back at something the reader has not read"
    if not before and (_QUOTE_SPEAKER.search(text) or _SPEAKER_AFTER.search(text)):
        return "a speech verb with no named speaker"
    speaker = _DEFINITE_SPEAKER.search(text)
    if speaker and (speaker[1] or speaker[2]) not in seen and (speaker[1] or speaker[2]) not in _UNIQUE:
        return f"a speech verb whose speaker, 'the {speaker[1] or speaker[2]}', was never introduced"
    surname = _surname_only(text, f"{heading} {before}", article)
    if surname:
        return f"names '{surname}' by surname only"
    if _fragment(lowered):
        return "is a fragment with no main verb"
    return None


def _pointing_back(tokens: list[str], seen: str) -> str | None:
    """'this way', 'these rules', 'such content': a demonstrative with a noun that is not the calendar."""
    for index, token in enumerate(tokens[:-1]):
        word, following = token.lower(), tokens[index + 1].lower()
        if word in ("this", "these") and index and (_auxiliary(following) or following in (",", ";", ":")
                                                    or following in _POSTMODIFIERS):
            return token  # "the egregiousness of this is …": a pronoun for what came before
        if (word in ("this", "these", "those", "such") and following.isalpha() and following not in _TIME_WORDS
                and following not in _AUXILIARIES and following not in _RELATIVES and following not in STOPWORDS
                and following != "as" and not _introduced(following, seen)):
            return f"{token} {tokens[index + 1]}"
    return None


def _main_clause(tokens: list[str]) -> list[str]:
    """The tokens after a fronted phrase ("As Cyber Smart Week begins, the agency …" -> "the agency …")."""
    if tokens and tokens[0].lower() in _FRONTED and "," in tokens[:20]:
        comma = tokens.index(",")
        if not any(token.lower() in _AUXILIARIES for token in tokens[:comma]):
            return tokens[comma + 1 :]
    if tokens and tokens[0].lower().endswith(("ing", "ed")) and "," in tokens[:16] and _is_verb_form(tokens[0]):
        return tokens[tokens.index(",") + 1 :]  # "Speaking at the summit, he …", "Founded in 2010, the firm …"
    if len(tokens) > 2 and tokens[1] == "," and "ADV" in _lemmas(tokens[0].lower()):
        return tokens[2:]  # "Recently, the agency …": the subject comes after the adverb
    return tokens


def _subject(clause: list[str]) -> list[str]:
    """The words before the main clause's first verb (at most 10)."""
    for index, token in enumerate(clause[:10]):
        lower = token.lower()
        if index and (_auxiliary(lower) or _is_finite_verb(lower, clause[index - 1].lower())):
            return clause[:index]
        if token in (",", ";", ":", "–", "—") and index:
            return clause[:index]
    return clause[:10]


def _bare_definite(subject: list[str], seen: str) -> str | None:
    """The head noun of a definite subject with nothing after it to say which one ("The group", "of the
    funding"), unless the reader has met that noun already."""
    lowered = [word.lower() for word in subject]
    for index, word in enumerate(lowered):
        if word != "the" or index + 1 >= len(subject):
            continue
        phrase = subject[index + 1 :]
        if any(token[:1].isupper() or token[:1].isdigit() or token[:1] in "€$£" for token in phrase):
            return None  # "The White House", "The 2025 Internet Governance Forum": a name
        if any(token.lower() in _POSTMODIFIERS or token.lower() in _RELATIVES for token in phrase):
            return None  # "the creation of the robotics unit": it says which
        nouns = [token.lower() for token in phrase]
        while nouns and (nouns[-1] in STOPWORDS or nouns[-1].endswith("ly")):
            nouns.pop()  # "the move also aims": the head is 'move'
        if not nouns:
            return None
        phrase, head = phrase[: len(nouns)], nouns[-1]
        if head in _UNIQUE or head in STOPWORDS or _introduced(head, seen):
            return None
        return " ".join(token.lower() for token in phrase)
    return None


def _shell_noun(tokens: list[str], start: int, seen: str) -> str | None:
    """'the scale', 'the move' after the subject, with nothing after it to say which one."""
    for index in range(start, len(tokens) - 1):
        if tokens[index].lower() != "the":
            continue
        noun = tokens[index + 1].lower()
        following = tokens[index + 2].lower() if index + 2 < len(tokens) else "."
        if (noun not in _SHELL_NOUNS and noun not in _ENTITY_NOUNS) or following in _POSTMODIFIERS \
                or following in _RELATIVES or following[:1].isupper() or _introduced(noun, seen):
            continue
        named_before = any(token[:1].isupper() and (position or is_proper(token, ""))
                           for position, token in enumerate(tokens[:index]))  # "TikTok said the app …"
        if noun in _SHELL_NOUNS or not named_before:
            return noun
    return None


def _auxiliary(word: str) -> bool:
    """'is', 'has', and the negative contractions ("didn’t", "won't")."""
    return word in _AUXILIARIES or word.endswith(("n’t", "n't"))


def _introduced(noun: str, seen: str) -> bool:
    stem = noun[:-1] if noun.endswith("s") and len(noun) > 3 else noun
    return re.search(rf"(?<![\w-]){re.escape(stem)}", seen) is not None


def _surname_only(text: str, seen: str, article: str) -> str | None:
    """A capitalised word the article uses as the last part of a full name ("Avri Doria") that the
    sentence and what the reader saw use alone ("Doria described …")."""
    if not article:
        return None
    full_names = _full_names(article)
    for match in _NAME.finditer(text):
        name = match[0]
        words = name.split()
        if len(words) != 1 or words[0] not in full_names:
            continue
        full = full_names[words[0]]
        if not any(candidate in text or candidate in seen for candidate in full):
            return words[0]
    return None


@lru_cache(maxsize=64)
def _full_names(article: str) -> dict[str, tuple[str, ...]]:
    """Surname: full names, for each name in `article` written as a first name and a surname ("Avri Doria",
    "President Emmanuel Macron"): a first name is a capitalised word no dictionary knows (not "Global
    South", "Supreme Court", "Google Cloud")."""
    names: dict[str, set[str]] = {}
    for match in _NAME.finditer(article):
        words = [word.removesuffix("’s").removesuffix("'s") for word in match[0].split()]
        if len(words) < 2 or not words[-1].isalpha() or not words[-2].isalpha():
            continue
        first, last = words[-2], words[-1]
        if (first in _NOT_FIRST_NAMES or not (first.istitle() and last.istitle()) or first.lower() in STOPWORDS
                or _lemmas(first.lower()) or last.lower() in PLACE_WORDS):
            continue
        names.setdefault(last, set()).add(f"{first} {last}")
    return {last: tuple(full) for last, full in names.items()}


# Capitalised words that come before a surname without being a first name: titles and roles.
_NOT_FIRST_NAMES = frozenset("President Prime Minister Chancellor Senator Secretary Chair Chairman Director Dr Mr Mrs "
                             "Ms Professor Judge Justice King Queen Pope General Commissioner Governor Mayor Lord "
                             "Lady Sir CEO Founder Representative Rep Sen Gov".split())


def _fragment(lowered: list[str]) -> bool:
    """'A plan that includes major expansions of …': a noun phrase and a relative clause, no main verb."""
    if len(lowered) < 4 or lowered[0] not in ("a", "an", "the"):
        return False
    relative = next((index for index, word in enumerate(lowered[:6]) if word in _RELATIVES), None)
    if relative is None:
        return False

    def verbs(start: int, end: int) -> list[str]:
        return [word for index, word in enumerate(lowered[start:end], start) if word in _AUXILIARIES
                or (_is_finite_verb(word, lowered[index - 1]) and "NOUN" not in _lemmas(word))]

    # "The White House has revealed that …": the main verb comes before the relative.
    return not verbs(1, relative) and len(verbs(relative + 1, len(lowered))) <= 1


def _is_finite_verb(word: str, previous: str) -> bool:
    """A verb in -s or -ed (or an irregular past) that is not also a noun after a determiner."""
    if not word.isalpha() or not word.islower() or previous in ("a", "an", "the", "its", "their", "his", "her"):
        return False
    lemmas = _lemmas(word)
    if "VERB" not in lemmas:
        return False
    if "NOUN" in lemmas and word.endswith("s") and not previous.endswith("s"):
        return previous not in STOPWORDS or previous in ("it", "he", "she", "this", "that", "also")
    return word not in lemmas["VERB"] or word in _IRREGULAR_PASTS


_IRREGULAR_PASTS = frozenset("said told made took gave found brought thought began saw came went held led left met "
                             "paid put ran set sent sold spent stood won wrote".split())


def _is_verb_form(word: str) -> bool:
    return "VERB" in _lemmas(word.lower())


def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    return lemmas(word.lower())
