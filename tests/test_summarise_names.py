"""Names and places in news text, and the word table they stand on: what the editorial's transitions and
the issue headline decide from."""

from __future__ import annotations

import pytest

from composer.summarise.lexicon import _table, lemmas
from composer.summarise.names import first_place, is_proper, names, places


@pytest.mark.parametrize(("text", "article", "found"), [
    ("Global AI adoption rises quickly", "Global AI adoption rises. Microsoft said AI spreads.", ["AI"]),
    ("Apple and Meta fined under the Digital Markets Act", "The EU fined Apple and Meta under the Digital Markets Act.",
     ["Apple", "Meta", "Digital Markets Act"]),
    ("The UN Economic and Social Council adopted it", "on Monday the UN Economic and Social Council adopted it",
     ["UN Economic and Social Council"]),
    ("Email Security Startup Agari Raises $2.5M From Alloy, Battery, Greylock And First Round",
     "Funds for Agari came from Alloy Ventures, Battery Ventures and Greylock.",
     ["Agari", "Alloy", "Battery", "Greylock"]),
    ("Apple’s App Store Chief resigns", "Staff at Apple said the App Store Chief resigned.", ["Apple", "App Store Chief"]),
    ("We Will Be Launching Soon", "we will be launching soon, the team said.", []),
    ("TikTok’s US deal", "", ["TikTok", "US"]),
    ("Officials of the Bank of England met", "a meeting at the Bank of England", ["Bank of England"]),
    ("I think Google is right", "I think Google is right, said Ada.", ["Google"]),
    ("In Europe, Mistral grows", "", ["Europe", "Mistral"]),
])
def test_names_are_what_the_article_writes_as_names(text, article, found):
    """A capital at a sentence's start or in a Title Case title proves nothing; the article's own writing
    does; "X and Y" is two names, an official name with 'and' inside stays one."""
    assert names(text, article) == found


def test_places_and_the_first_place_a_sentence_is_about():
    """Places by their names and adjectives; the first one named is where the story happens."""
    text = "Washington has long pushed TikTok’s Chinese parent to sell its American business."
    assert places(text) == {"the US", "China"} and first_place(text) == "the US"
    assert first_place("In China, Alibaba unveiled a model aimed at US rivals.") == "China"
    assert first_place("Nothing here names a country.") is None
    assert places("The Dutch regulator and the European Commission") == {"the Netherlands", "the EU"}
    assert places("a usb stick, museums, the eurozone") == set()


@pytest.mark.parametrize(("word", "article", "proper"), [
    ("Google", "", True),  # the dictionary lists it with its capital
    ("Amazon", "", True),
    ("Microsoft", "", True),  # no dictionary knows it
    ("Hackers", "", False),
    ("The", "", False),
    ("Apple", "analysts at Apple said", True),  # the article writes it capitalised inside a sentence
    ("Research", "the research shows", False),  # the article writes it in small letters
    ("IBM", "", True),
    ("US", "", True),  # an acronym, though 'us' is a word
    ("A", "", False),
    ("iPhone", "", True),
    ("", "", False),
])
def test_a_first_word_keeps_its_capital_only_when_it_is_a_name(word, article, proper):
    """After "Staying with …" the next word keeps its capital if it is a name."""
    assert is_proper(word, article) is proper


def test_the_word_table_answers_as_lemminflect_does():
    """Every 50th lower-case word of lemminflect's table, and irregular and unknown words, answer as
    lemminflect's getAllLemmas does (the table is read faster, not differently)."""
    from lemminflect import getAllLemmas

    words = [line.split(",", 1)[0] for line in _table()[::50]]
    words = [word for word in words if word.islower()]
    words += ["brought", "children", "women", "began", "said", "all", "another", "xyzzy", "book shelf", "cave", "a"]
    assert len(words) > 1000
    assert [word for word in words if lemmas(word) != getAllLemmas(word)] == []
    assert lemmas("brought") == {"VERB": ("bring",)} and lemmas("xyzzy") == {}
