"""The draft file's bytes: whichever YAML emitter writes it (libyaml when it writes the same bytes, PyYAML's
own otherwise), it is what PyYAML's own emitter writes, and it reads back as the draft."""

from __future__ import annotations

import random
from datetime import date

import yaml

from composer.draft import read_draft, write_draft
from composer.models import Draft, Entry, LeftOut, Sections

# Pieces of text that steer a YAML emitter: indicators, quotes, things that read as numbers, booleans,
# dates or null, long words and long runs of short ones (line folding at width 100), non-ASCII letters,
# and the characters the two emitters write differently (emoji, line breaks, controls, U+2028, soft hyphen).
_PIECES = ["a", "word", "Word", " ", "  ", ":", ": ", "#", " #", "- ", "-", "?", "? ", ",", "[", "]", "{", "}", "&",
           "*", "!", "|", ">", "'", '"', "%", "@", "`", "\\", "1", "0.5", "1e3", "0x1F", "yes", "No", "null", "~",
           "true", "2025-05-02", "12:30", "=", "<<", "---", "...", "é", "’", "–", "…", "€", "ß", "中文", "\u00a0",
           "\ufffd", "https://example.org/a?b=c#d", "x" * 90, "averylongword" * 9, "a b " * 30, " lead", "trail ",
           "🍏", "\n", "\t", "\u2028", "\u0085", "\u00ad", "\ufeff", "\x07"]
_ODD = set("🍏\n\t\u2028\u0085\u00ad\ufeff\x07")


def _text(rng: random.Random, odd: bool) -> str:
    pieces = _PIECES if odd else [piece for piece in _PIECES if not _ODD & set(piece)]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))


def _draft(rng: random.Random, odd: bool) -> Draft:
    def text() -> str:
        return _text(rng, odd)

    def line() -> str:  # headline and preheader are one line
        return _text(rng, False)

    def entry() -> Entry:
        return Entry(title=text(), teaser=text(), url=rng.choice([None, text()]), topic=text(), item_id=text())

    return Draft(number=rng.randint(1, 999), headline=line(), week_start=date(2025, 4, 25), week_end=date(2025, 5, 2),
                 date_range=text(), preheader=line(), greeting=text(), editorial=tuple(text() for _ in range(3)),
                 signoff=text(), sections=Sections(radar=tuple(entry() for _ in range(rng.randint(0, 3))),
                                                   reading_corner=(entry(),)),
                 editorial_items={text(): text() for _ in range(2)},
                 left_out=tuple(LeftOut(item_id=text(), title=text(), reason=text()) for _ in range(rng.randint(0, 4))))


def test_the_draft_file_is_what_pyyaml_writes_whatever_the_text(tmp_path):
    """Random drafts, with and without emoji, line breaks and control characters: the same bytes as
    PyYAML's own emitter; without those characters, read back as the same draft (PyYAML reads a NEL as a
    space, and loses spaces where it folds some quoted lines: the draft file always did)."""
    rng = random.Random(24)
    path = tmp_path / "issue.yaml"
    for trial in range(600):
        odd = trial % 3 == 0
        draft = _draft(rng, odd)
        write_draft(draft, path)
        expected = yaml.safe_dump(draft.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)
        assert path.read_text(encoding="utf-8") == expected, trial
        assert odd or read_draft(path) == draft, trial


def test_the_draft_reads_as_pyyamls_own_parser_reads_it(tmp_path):
    """read_draft parses with libyaml when PyYAML has it; every random draft file, odd characters included,
    gives the same data as PyYAML's own parser with the same (date-less) resolvers."""
    from composer.draft import _DatesAsText

    class PythonParser(yaml.SafeLoader):
        yaml_implicit_resolvers = _DatesAsText.yaml_implicit_resolvers

    assert _DatesAsText.__mro__[1] is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    rng = random.Random(25)
    path = tmp_path / "issue.yaml"
    for trial in range(300):
        write_draft(_draft(rng, trial % 2 == 0), path)
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=_DatesAsText) == yaml.load(text, Loader=PythonParser), trial
