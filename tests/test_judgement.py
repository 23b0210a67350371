"""Editorial judgement on real weeks: every corpus feed and the seeds, composed as a week each."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from conftest import SEEDS
from corpus_metrics import CORPUS, corpus_files
from editorial_metrics import findings, weeks

from composer.config import Settings, load_taxonomy
from composer.curate.classify import TaxonomyPatterns, fit
from composer.ingest import load_items
from composer.language import guess_language, split_sentences
from composer.pipeline import ComposeOptions, compose
from composer.render.strings import load_strings
from composer.summarise.editorial import Story, editorial
from composer.summarise.headline import defects, open_ending

# The corpus lives in ../shared beside the checkout, as on the developers' machines and in CI.
pytestmark = pytest.mark.skipif(not CORPUS.is_dir() and not os.environ.get("CI"),
                                reason=f"the corpus is not beside the checkout ({CORPUS})")


PATTERNS = TaxonomyPatterns(load_taxonomy())


def _week_of(path):
    """The week that ends on the newest date in the file (undated files: any day)."""
    items = load_items([path]).items
    dates = [item.published.date() for item in items if item.published]
    return max(dates) + timedelta(days=1) if dates else None


@pytest.mark.parametrize("path", [*corpus_files(), SEEDS], ids=lambda path: path.name)
def test_a_real_week_makes_an_issue_an_editor_could_sign(path, tmp_path):
    """Radar holds only English stories on the beat; no generated headline and no issue headline is a
    fragment; no editorial sentence repeats a teaser; a thin week does not pretend."""
    today = _week_of(path)
    settings = Settings(output={"dir": str(tmp_path / "out")}, issue={"first_number": 1})
    options = ComposeOptions(week_start=today - timedelta(days=7)) if today else ComposeOptions()
    composed = compose([path], settings, options, today or load_items([SEEDS]).past_issues[0].week_end)
    draft = composed.draft
    items = {item.id: item for item in load_items([path]).items}
    for entry in draft.sections.radar:
        item = items[entry.item_id]
        assert fit(item, PATTERNS).on_beat, entry.title
        assert guess_language(" ".join(item.paragraphs)) in ("en", None), entry.title
        if item.title is None:
            assert defects(entry.title) == [], entry.title
    topics = draft.headline.partition(": ")[2]
    assert len(draft.headline) <= 80 and not re.search(r"\d|\b[A-Z]\b", topics) and not open_ending(draft.headline)
    teasers = {s for e in (*draft.sections.radar, *draft.sections.reading_corner) for s in split_sentences(e.teaser)}
    assert not teasers & {s for p in draft.editorial for s in split_sentences(p)}
    if len(draft.sections.radar) <= 1:
        assert not any("gathers what mattered most" in p for p in draft.editorial)


def test_thin_weeks_say_so(tmp_path):
    """0 or 1 Radar entry: the editorial says it was a quiet week and keeps no pointer to an empty Radar."""
    words = load_strings().editorial
    assert editorial([], [], words, {}).paragraphs == (
        "It was a quiet week in digital policy, with no story for the Radar.",)
    draft = compose([SEEDS], Settings(output={"dir": str(tmp_path)}), ComposeOptions(), load_items([SEEDS])
                    .past_issues[0].week_end).draft
    one = [Story(draft.sections.radar[0], None)]
    (paragraph, pointer) = editorial(one, [], words, {}).paragraphs
    assert paragraph.startswith("It was a quiet week in digital policy, and one story stood out.")
    assert pointer == "For the main updates, consult the Radar below."


@pytest.fixture(scope="module")
def composed_weeks():
    return weeks()


def test_no_sentence_leans_on_context_nor_sells(composed_weeks):
    """On the seeds and every corpus week: no teaser or editorial sentence leans on context the reader lacks,
    no transition is false, no title stands in for a sentence, no capital is left after a transition, no
    promotional sentence; the opening's theme is shared by at least as many Radar stories as any basket."""
    for week in composed_weeks:
        found = findings(week)
        assert found.teaser_leaning == [] and found.editorial_leaning == [], week.name
        assert found.false_transitions == [] and found.titles_as_sentences == [], week.name
        assert found.false_capitals == [] and found.promotional == [], week.name
        theme, shared, largest = found.theme
        assert not theme or shared >= largest, (week.name, found.theme)
