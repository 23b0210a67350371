"""Cue lists matched by word form: a cue stands for its lemma, so "vulnerability" finds "vulnerabilities"
and "attackers" finds "attacker".

Each cue's last word is expanded once, when a taxonomy is compiled, into the forms of its lemma
(lemminflect's tables, no downloaded model): a noun cue into its singular and plural, a cue written as a
verb form ("banned", "exploited") into that verb's past and -ing forms. A bare base form that is also a verb
("state", "act", "court") keeps to its noun forms, so "stated", "acting" and "courting" stay out: a cue
list means what it says, and says "banned" when it means the verb. A noun form that is also an adjective
is never added ("fines" does not bring "fine"). Each match is counted as the cue it stands for, so "court"
and "courts" in one story are one distinct cue.

A form matches where it is not inside a word or a compound's tail (no letter, digit, _ or - before it) and
ends a word (no letter, digit or _ after it; a one-letter form no - either); at one place the longest form
wins, and a list's next match starts after it (a regular expression's findall). A story is matched
against some thirty lists: a `Scanner` matches them all in one pass over the text (one expression over
every form, shaped as a trie, with a lookahead so forms of different lists may overlap), then works out
each list's own matches from where the forms start; one pattern per list cost fifteen times as much.
"""

from __future__ import annotations

import re
from functools import cache

_NOUN_TAGS = ("NN", "NNS")
_VERB_TAGS = ("VBD", "VBG", "VBN")  # not the base or -s forms: "sentenced" must not find "sentences"


class Cues:
    """One cue list: every form of every cue, and the cue each form stands for."""

    def __init__(self, cues: tuple[str, ...] | list[str]) -> None:
        self.cue_of: dict[str, str] = {}
        for cue in cues:
            for form in sorted(forms(cue.lower())):
                self.cue_of.setdefault(form, cue.lower())
        self._alone: Scanner | None = None

    def __bool__(self) -> bool:
        return bool(self.cue_of)

    def found(self, text: str) -> list[str]:
        """The cue of each match in lower-cased `text`, in order, repeats included."""
        if self._alone is None:
            self._alone = Scanner([self])
        return self._alone.scan(text).found(self)

    def distinct(self, text: str) -> set[str]:
        return set(self.found(text))

    def search(self, text: str) -> bool:
        return bool(self.found(text))


class Scan:
    """The matches of each of a scanner's lists in one text."""

    def __init__(self, index: dict[int, int], matches: dict[int, list[tuple[int, int, str]]]) -> None:
        self._index = index
        self._matches = matches

    def spans(self, cues: Cues) -> list[tuple[int, int, str]]:
        """(start, end, cue) of each match of `cues`, in order."""
        return self._matches.get(self._index[id(cues)], [])

    def found(self, cues: Cues) -> list[str]:
        return [cue for _, _, cue in self.spans(cues)]

    def distinct(self, cues: Cues) -> set[str]:
        return {cue for _, _, cue in self.spans(cues)}

    def search(self, cues: Cues) -> bool:
        return bool(self.spans(cues))


class Scanner:
    """Cue lists matched together, in one pass over a text, each as if it were matched alone."""

    def __init__(self, lists: list[Cues]) -> None:
        self._lists = list({id(cues): cues for cues in lists}.values())
        self._index = {id(cues): number for number, cues in enumerate(self._lists)}
        self._forms = {form for cues in self._lists for form in cues.cue_of}
        # Not after a letter, digit, _ or -; the lookahead takes the longest form that ends a word there, and
        # consumes nothing of it, so the next search starts inside it: forms of other lists may start there.
        self._pattern = re.compile(r"[^\w-](?=(" + _trie(self._forms) + "))") if self._forms else None
        self._hits: dict[str, tuple[tuple[int, str, int], ...]] = {}

    def scan(self, text: str) -> Scan:
        matches: dict[int, list[tuple[int, int, str]]] = {}
        if self._pattern is None:
            return Scan(self._index, matches)
        free = [0] * len(self._lists)  # where each list's next match may start: its matches do not overlap
        hits_of = self._hits
        # The space stands for the start of the text: nothing is before it.
        for match in self._pattern.finditer(" " + text):
            found = match[1]
            start = match.start(1) - 1
            for number, cue, length in hits_of.get(found) or self._hits_of(found):
                if start >= free[number]:
                    free[number] = end = start + length
                    if number in matches:
                        matches[number].append((start, end, cue))
                    else:
                        matches[number] = [(start, end, cue)]
        return Scan(self._index, matches)

    def _hits_of(self, longest: str) -> tuple[tuple[int, str, int], ...]:
        """(list, cue, length) of each list's longest form where `longest` was found: every form that
        matches there is `longest` or a beginning of it that ends a word."""
        lengths = [*(size for size in range(1, len(longest)) if longest[:size] in self._forms
                     and _ends_word(longest[:size], longest[size])), len(longest)]
        hits = []
        for number, cues in enumerate(self._lists):
            size = next((size for size in reversed(lengths) if longest[:size] in cues.cue_of), 0)
            if size:
                hits.append((number, cues.cue_of[longest[:size]], size))
        self._hits[longest] = found = tuple(hits)
        return found


_WORD = re.compile(r"\w")
_WORD_OR_HYPHEN = re.compile(r"[\w-]")


def _ends_word(form: str, after: str) -> bool:
    # A cue may open a compound ("AI-powered", "cyber-attack") but not close one ("e-commerce" is no
    # "commerce"); a one-letter cue ("x") opens none ("X-ray").
    return (_WORD_OR_HYPHEN if len(form) == 1 else _WORD).match(after) is None


def _trie(forms: set[str]) -> str:
    """An expression matching the longest of `forms` that ends a word: a trie, so each character is
    tested once, longer continuations tried before a form ends."""
    root: dict = {}
    for form in forms:
        node = root
        for character in form:
            node = node.setdefault(character, {})
        node[""] = form
    return _branches(root)


def _branches(node: dict) -> str:
    branches = [re.escape(character) + _branches(child) for character, child in sorted(node.items()) if character]
    if "" in node:
        branches.append(r"(?![\w-])" if len(node[""]) == 1 else r"(?!\w)")
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


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
