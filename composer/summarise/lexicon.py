"""Which parts of speech an English word form can be, and their lemmas: lemminflect's lemma table.

lemminflect reads that table (80,000 lines) line by line into dictionaries on its first use, about 0.15 s
of every `weekly build`. The table is sorted, so here it is decompressed in one piece and searched by
bisection: about 0.02 s, and the same answers as lemminflect's getAllLemmas for a word in lower case
(tests/test_summarise_rules.py compares them).
"""

from __future__ import annotations

import gzip
from bisect import bisect_left
from functools import cache, lru_cache


@cache
def _table() -> list[str]:
    """The lines of lemminflect's lemma table, "word,category,lemma/lemma", in sorted order."""
    from lemminflect import config

    with open(config.lemma_lu_fn, "rb") as handle:
        return gzip.decompress(handle.read()).decode("utf-8").splitlines()


@cache
def _overrides() -> dict[str, dict[str, tuple[str, ...]]]:
    """lemminflect's own corrections to its table ("all,NOUN,all"), which getAllLemmas applies too."""
    from lemminflect import config

    found: dict[str, dict[str, tuple[str, ...]]] = {}
    with open(config.lemma_overrides_fn, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#"):
                word, upos, lemma = line.split(",")
                found.setdefault(word, {})[upos] = (lemma,)
    return found


@lru_cache(maxsize=8192)
def lemmas(word: str) -> dict[str, tuple[str, ...]]:
    """The lemmas of `word` (in lower case) by part of speech: lemmas("began") == {"VERB": ("begin",)};
    {} for a word the table does not know. The dictionary is shared: read it, never change it."""
    table, key = _table(), f"{word},"
    found: dict[str, tuple[str, ...]] = {}
    index = bisect_left(table, word, key=_word)  # sorted by word: "book" < "book shelf", though "book," > "book "
    while index < len(table) and table[index].startswith(key):
        _, category, forms = table[index].split(",")
        # In the case of the word asked, as getAllLemmas gives them ("cyclopes" -> "cyclops", not "Cyclops").
        found["AUX" if category == "modal" else category.upper()] = tuple(forms.lower().split("/"))
        index += 1
    found.update(_overrides().get(word, {}))
    return found


def _word(line: str) -> str:
    return line[: line.index(",")]
