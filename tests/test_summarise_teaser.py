"""Teasers, untitled items' headlines, the preheader and the draft's fixed words: the summariser's rules one
by one, and an edition in another language."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest
from conftest import ROOT, SEEDS

from composer.config import IssueSettings, Settings, load_taxonomy
from composer.errors import ConfigError
from composer.models import Entry, Item, Pick, Selection
from composer.pipeline import ComposeOptions, compose, style_for
from composer.render.strings import load_strings
from composer.summarise import _PREHEADER_LIMIT, _entry, _lead, _preheader, summarise
from composer.summarise.teaser import MAX_TEASER, MIN_TEASER, teaser

FRENCH = ROOT / "tests" / "data" / "strings" / "fr.toml"


def sentence(length: int, subject: str = "Regulators in Brussels") -> str:
    """A sentence that stands alone, of exactly `length` characters."""
    text = f"{subject} opened a formal review of cloud contracts"
    return f"{text}{' and more' * ((length - len(text) - 1) // 9)}".ljust(length - 1, "s")[: length - 1] + "."


@pytest.mark.parametrize("length", [MIN_TEASER, 150, MAX_TEASER])
def test_a_teaser_of_80_to_220_characters_is_taken_whole(length):
    """A single sentence within the bounds is the teaser as it is."""
    text = sentence(length)
    assert len(text) == length and teaser((text,), "Cloud contracts under review") == text


@pytest.mark.parametrize("length", [MIN_TEASER - 1, MAX_TEASER + 1])
def test_outside_the_bounds_a_fitting_candidate_wins(length):
    """A sentence one character too short or too long loses to one that fits, even a later one."""
    short, fitting = sentence(length), sentence(120, "Officials in Paris")
    assert teaser((f"{short} {fitting}",), "Cloud contracts under review") in (fitting, f"{short} {fitting}")
    assert teaser((short, fitting), "Cloud contracts under review") != short


def test_two_short_sentences_make_one_teaser():
    """Two neighbouring sentences under 80 characters each are taken together when they fit."""
    first = "Officials in Paris fined three cloud providers on Monday."
    second = "Officials in Paris also ordered them to change their contracts."
    assert teaser((f"{first} {second}",), "France fines cloud providers") == f"{first} {second}"


def test_no_candidate_fits_the_shortest_long_sentence_is_taken():
    """Every sentence over 220 characters: the shortest of them, whole, never cut."""
    long, longer = sentence(240), sentence(300, "Officials in Paris")
    assert teaser((f"{longer} {long}",), "Cloud review") == long


def test_no_sentence_ends_the_first_paragraph_is_kept():
    """No complete sentence at all: the first paragraph as it is."""
    assert teaser(("Cloud contracts under review in Brussels",), "Cloud") == "Cloud contracts under review in Brussels"


def test_a_teaser_never_leans_on_context_nor_sells():
    """The first sentence leans ("The group …") and the second sells ("Learn how …"): the third is the teaser."""
    leaning = "The group said it would appeal the decision in the coming weeks, according to its lawyers."
    selling = "Learn how our researchers uncovered the attack and what it means for your organisation today."
    sound = "Hackers linked to a criminal group stole the data of two million bank customers in Spain."
    assert teaser((f"{leaning} {selling} {sound}",), "Hackers leak data of a bank") == sound


def test_a_teaser_adds_to_the_title_rather_than_repeat_it():
    """A first sentence that mostly repeats the title ranks below a later one that adds to it."""
    repeat = "Hackers leak the data of a Spanish bank, the bank said on Monday in a short statement."
    adds = "Two million customers of the bank in Spain had their names and account numbers published online."
    assert teaser((f"{repeat} {adds}",), "Hackers leak data of a Spanish bank") == adds


def test_earlier_sentences_and_the_usual_length_are_preferred():
    """Among sound candidates the earlier one wins; at the same place, the one nearer 150 characters."""
    first, second = sentence(120, "Officials in Paris"), sentence(160)
    assert teaser((f"{first} {second}",), "Cloud review") == first


def test_only_the_first_five_paragraphs_are_searched():
    """A fitting sentence in the sixth paragraph is never the teaser."""
    long = sentence(300)
    paragraphs = (long, long, long, long, long, sentence(120, "Officials in Paris"))
    assert teaser(paragraphs, "Cloud review") == long


def test_an_untitled_items_headline_skips_a_lead_that_leans():
    """"The agreement will …" (the dump lost the sentence before): the headline comes from the next sentence,
    when that one stands alone; otherwise from the first."""
    leaning = "The agreement will combine innovations across Google Search, Gemini, and Google Cloud."
    sound = "AI tools from Google will assist Team USA with training analysis during the Games."
    assert _lead((f"{leaning} {sound}",)) == sound
    assert _lead((f"{sound} {leaning}",)) == sound
    assert _lead((f"{leaning} The deal was signed in June.",)) == leaning
    assert _lead((leaning,)) == leaning


def _pick(title: str | None, *paragraphs: str, number: int = 1) -> Pick:
    item = Item(id=f"{number:016x}", title=title, paragraphs=paragraphs, source="test", url="https://dig.watch/x")
    return Pick(item=item, topic="Economic", when=date(2025, 5, 13))


def test_an_entry_keeps_the_items_title_and_takes_its_teaser():
    """A titled item keeps its title; an untitled one gets a headline; the event's date is written out."""
    text = "IBM has announced a major investment plan worth $150 billion over the next five years in the US."
    titled, untitled = _entry(_pick("IBM commits $150 billion", text)), _entry(_pick(None, text))
    assert (titled.title, titled.teaser, titled.url, titled.when) == ("IBM commits $150 billion", text,
                                                                      "https://dig.watch/x", "13 May 2025")
    assert untitled.title == "IBM announces major investment plan worth $150 billion"


def test_the_preheader_holds_the_first_headlines_that_fit_in_150_characters():
    """Headlines joined by '; ' while they fit: never cut mid-headline."""
    entries = tuple(Entry(title=f"Headline number {n} of the week, told in a few words", teaser="t") for n in range(5))
    preheader = _preheader(entries)
    assert len(preheader) <= _PREHEADER_LIMIT and preheader.count("; ") == 1
    assert preheader == f"{entries[0].title}; {entries[1].title}"
    assert _preheader(()) == ""
    exact = (Entry(title="x" * 150, teaser="t"), Entry(title="y", teaser="t"))
    assert _preheader(exact) == "x" * 150


def test_the_greeting_pointer_and_signoff_come_from_the_catalogue_unless_set():
    """Unset, the catalogue of issue.language speaks; set, the setting wins; an English leftover in a French
    edition is refused by name."""
    taxonomy = load_taxonomy()
    english = load_strings().editorial
    style = style_for(IssueSettings(), taxonomy)
    assert (style.words.greeting, style.words.pointer, style.words.signoff) == (english.greeting, english.pointer,
                                                                               english.signoff)
    own = style_for(IssueSettings(greeting="Hello all,", signoff="The editors"), taxonomy)
    assert (own.words.greeting, own.words.signoff, own.words.pointer) == ("Hello all,", "The editors", english.pointer)
    french = style_for(IssueSettings(language="fr", strings=FRENCH), taxonomy)
    assert french.words.greeting == "Chers lecteurs," and french.sections["reading_corner"] != "READING CORNER"
    with pytest.raises(ConfigError, match=r"issue.greeting: 'Dear readers,' is English, but issue.language is 'fr'"):
        style_for(IssueSettings(language="fr", strings=FRENCH, greeting="Dear readers,"), taxonomy)
    assert style_for(IssueSettings(language="fr", strings=FRENCH, signoff="L'équipe"), taxonomy).words.signoff == (
        "L'équipe")


def test_a_french_edition_has_no_english_fixed_phrase(tmp_path):
    """The seeds composed as a French edition: greeting, every transition, the openings, the blog's lead-in,
    the pointer and the sign-off are the French catalogue's; no phrase of the English one is left."""
    settings = Settings(issue={"language": "fr", "strings": str(FRENCH)}, output={"dir": str(tmp_path)})
    draft = compose([SEEDS], settings, ComposeOptions(), date(2025, 5, 2)).draft
    english, french = load_strings().editorial, load_strings(FRENCH).editorial
    text = "\n".join((draft.headline, draft.greeting, *draft.editorial, draft.signoff))
    phrases = [*english.model_dump(exclude={"openings", "headlines", "openers"}).values(),
               *english.openings.model_dump().values(), *english.headlines.model_dump().values(),
               *english.openers.values()]
    fixed = [part.strip(" .,:") for phrase in phrases for part in phrase.split("{") if len(part.strip(" .,:}")) > 8]
    fixed = [part.split("}", 1)[-1].strip(" .,:") for part in fixed]
    assert [part for part in fixed if len(part) > 8 and part in text] == []
    assert draft.greeting == french.greeting and draft.signoff == french.signoff
    assert draft.editorial[-1] == french.pointer
    assert draft.headline.startswith("AI partout: ") and " et " in draft.headline and " and " not in draft.headline
    assert any(paragraph.startswith("Pour finir, le blog : ") for paragraph in draft.editorial)


def test_summarise_without_a_radar_writes_a_quiet_issue():
    """An empty selection: the quiet headline and sentence, no pointer, greeting and sign-off."""
    selection = Selection(number=7, week_start=date(2025, 4, 25), week_end=date(2025, 5, 2))
    draft = summarise(selection, style_for(IssueSettings(), load_taxonomy())).draft
    words = load_strings().editorial
    assert (draft.headline, draft.editorial, draft.date_range) == (words.quiet_headline, (words.quiet_week,),
                                                                   "25 April – 2 May 2025")
    assert (draft.greeting, draft.signoff, draft.notes) == (words.greeting, words.signoff, ())


def test_the_draft_is_the_same_whatever_the_hash_seed(tmp_path):
    """Two processes with different PYTHONHASHSEED compose the same draft from the seeds: no set's order
    decides a headline or a transition."""
    drafts = []
    for seed in ("1", "2"):
        out = tmp_path / f"{seed}.yaml"
        env = {**os.environ, "PYTHONHASHSEED": seed, "WEEKLY_STORE__URL": str(tmp_path / f"{seed}.sqlite3")}
        done = subprocess.run([sys.executable, "-m", "composer", "compose", str(SEEDS), "-o", str(out)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        drafts.append(out.read_text(encoding="utf-8"))
    assert drafts[0] == drafts[1]


@pytest.mark.parametrize("length", [MIN_TEASER, MAX_TEASER])
def test_a_sentence_at_either_bound_beats_the_fallback(length):
    """A sentence of exactly 80 or 220 characters is a teaser; the long one after it is only the fallback."""
    fitting, long = sentence(length), sentence(300, "Officials in Paris")
    assert teaser((f"{fitting} {long}",), "Cloud review") == fitting


def test_a_pair_is_taken_only_when_its_second_sentence_stands_after_the_first():
    """A short sentence, then one that leans, then a sound one: the pair of the first two is never a teaser."""
    short = "Officials in Paris fined three cloud providers this week."
    leaning = "The group said it would appeal within a month."
    sound = "Regulators in Brussels opened their own review of the same cloud contracts, which run until 2030."
    assert teaser((f"{short} {leaning} {sound}",), "France fines cloud providers") == sound


def test_the_fallback_never_takes_a_sentence_that_leans():
    """Every sentence over 220 characters: the shortest one that stands alone, not a shorter one that leans."""
    leaning = "However, " + sentence(240)[0].lower() + sentence(240)[1:]
    sound = sentence(280, "Officials in Paris")
    assert teaser((f"{leaning} {sound}",), "Cloud review") == sound


def test_with_only_short_sentences_the_first_is_kept():
    """Two sentences too short even together: the first one."""
    assert teaser(("Officials in Paris acted. Brussels waits.",), "Cloud review") == "Officials in Paris acted."


def test_the_cost_of_a_candidate():
    """One point per sentence later in the article, one per 60 characters away from 150, four for repeating
    most of the title (60 % of its words), nothing to repeat without a title; the shorter one on a tie."""
    from composer.summarise.teaser import _cost

    text = "x" * 150
    assert _cost(0, text, set()) == (0.0, 150)
    assert _cost(2, "y" * 90, set()) == (3.0, 90)
    assert _cost(0, "cloud review in paris " * 6, {"cloud", "review", "paris", "fine", "eu"}) == (4 + 18 / 60, 132)
    assert _cost(0, "cloud review " * 10, {"cloud", "review", "paris", "fine", "eu"}) == (20 / 60, 130)  # 40 %


def test_a_headline_longer_than_150_characters_leaves_the_preheader_empty():
    """The preheader never cuts a headline: one that does not fit alone leaves it empty."""
    assert _preheader((Entry(title="x" * 151, teaser="t"),)) == ""
