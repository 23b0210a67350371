"""Cue lists matched by word form: a cue stands for its lemma, so "vulnerability" finds "vulnerabilities"
and "attackers" finds "attacker".

Each cue's last word is expanded once, when a taxonomy is compiled, into the forms of its lemma
(lemminflect's tables, no downloaded model): a noun cue into its singular and plural, a cue written as a
verb form ("banned", "exploited") into that verb's past and -ing forms. A bare base form that is also a verb
("state", "act", "court") keeps to its noun forms, so "stated", "acting" and "courting" stay out: a cue
list means what it says, and says "banned" when it means the verb. A noun form that is also an adjective
is never added ("fines" does not bring "fine"). The text is then scanned with one
regular expression per list, and each match is counted as the cue it stands for, so "court" and "courts"
in one story are one distinct cue.
"""

from __future__ import annotations

import re
from functools import cache

_NOUN_TAGS = ("NN", "NNS")
_VERB_TAGS = ("VBD", "VBG", "VBN")  # not the base or -s forms: "sentenced" must not find "sentences"


class Cues:
    """One cue list compiled: a pattern for every form of every cue, and the cue each form stands for."""

    def __init__(self, cues: tuple[str, ...] | list[str]) -> None:
        self.cue_of: dict[str, str] = {}
        for cue in cues:
            for form in sorted(forms(cue.lower())):
                self.cue_of.setdefault(form, cue.lower())
        ordered = sorted(self.cue_of, key=lambda form: (-len(form), form))
        # A cue may open a compound ("AI-powered", "cyber-attack") but not close one ("e-commerce" is no
        # "commerce"); a one-letter cue ("x") opens none ("X-ray").
        alternation = "|".join(re.escape(form) + (r"(?![\w-])" if len(form) == 1 else r"(?!\w)") for form in ordered)
        self.pattern = re.compile(r"(?<![\w-])(?:" + (alternation or "(?!)") + ")")

    def __bool__(self) -> bool:
        return bool(self.cue_of)

    def found(self, text: str) -> list[str]:
        """The cue of each match in lower-cased `text`, in order, repeats included."""
        return [self.cue_of[match] for match in self.pattern.findall(text)]

    def distinct(self, text: str) -> set[str]:
        return set(self.found(text))

    def search(self, text: str) -> bool:
        return self.pattern.search(text) is not None


@cache
def forms(cue: str) -> frozenset[str]:
    """`cue` and the other forms of its last word's lemma ("data breach" -> "data breaches")."""
    head, space, last = cue.rpartition(" ")
    if not last.isalpha():
        return frozenset({cue})
    return frozenset(f"{head}{space}{form}" for form in {last, *_word_forms(last)})


def _word_forms(word: str) -> set[str]:
    # The inflection table alone (no lemma table, 0.2 s more to load): a lemma is a regular stem of the
    # word whose own forms include the word.
    from lemminflect import getAllInflections  # loaded once per run, when a taxonomy compiles

    kinds: list[tuple[str, tuple[str, ...]]] = [("NOUN", _NOUN_TAGS)]
    if word.endswith(("ed", "ing")):  # written as a past or -ing form: the cue means the verb
        kinds.append(("VERB", _VERB_TAGS))
    found = set()
    for upos, tags in kinds:
        for lemma in _stems(word):
            table = getAllInflections(lemma, upos=upos)
            if any(word in forms for forms in table.values()):
                found |= {form for tag in tags for form in table.get(tag, ()) if _regular(lemma, form)
                          # A noun form that is also an adjective ("fines" -> "fine") would match in its other sense.
                          and (upos == "VERB" or form == word or not _also_modifier(form, getAllInflections))}
    return found


def _stems(word: str) -> list[str]:
    """The word and the lemmas a regular ending could have been added to (courts -> court, banned -> ban)."""
    stems = [word]
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            stem = word[: -len(ending)]
            stems += [stem + "y" if ending in ("ies", "ied") else stem, stem + "e"]
            if stem[-1] == stem[-2:-1]:
                stems.append(stem[:-1])  # banned -> ban
    return list(dict.fromkeys(stems))


def _also_modifier(form: str, inflections) -> bool:
    return any(tag.startswith(("JJ", "RB")) and form in forms for tag, forms in inflections(form).items())


_ENDINGS = ("s", "es", "ies", "d", "ed", "ied", "ing")  # regular inflections, "ies" before "es"


def _regular(lemma: str, form: str) -> bool:
    """`form` is `lemma` with a regular ending (court/courts, authority/authorities, ban/banned, fine/fining)."""
    short, long = sorted((lemma, form), key=len)
    stems = {short, short[:-1]} if short[-1:] in "eys" else {short}
    return any(long == stem + ending or long == stem + stem[-1:] + ending
               for stem in stems for ending in ("", *_ENDINGS))
