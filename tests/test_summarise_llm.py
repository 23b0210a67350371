"""The checks an LLM's answers pass before they replace the offline text, one by one, with a backend that
answers what each test needs (the ChatBackend protocol; tests/test_llm.py runs the real HTTP client
against a server)."""

from __future__ import annotations

import json

import pytest

from composer.models import Entry, Item
from composer.summarise.llm import LLMError, improve_editorial, improve_entry

ARTICLE = ("IBM has announced a major investment plan worth $150 billion over the next five years to solidify its "
           "role as a global leader in advanced computing and quantum technologies. Over $30 billion will go to "
           "research and development, helping IBM advance in mainframe and quantum computer production.")
ITEM = Item(id="ibm0000000000001", title=None, paragraphs=(ARTICLE,), source="test")
ENTRY = Entry(title="IBM announces major investment plan worth $150 billion", teaser="Offline teaser of the entry.",
              item_id=ITEM.id, topic="Economic")
TEASER = "IBM will spend over $30 billion of its $150 billion plan on research in mainframe and quantum computers."
HEADLINE = "IBM plans $150 billion investment in advanced computing"


class Backend:
    """Answers every call with `answer` (or raises it), and keeps the prompts."""

    def __init__(self, answer: str | Exception) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def complete(self, system: str, user: str) -> str:
        self.prompts.append(user)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def entry_with(answer: dict | str, needs_headline: bool = True) -> tuple[Entry, str | None]:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return improve_entry(Backend(text), ITEM, ENTRY, needs_headline=needs_headline)


def test_a_sound_answer_replaces_the_teaser_and_the_headline():
    """A grounded teaser of whole sentences and a sound headline are used, with no note."""
    improved, note = entry_with({"headline": HEADLINE, "teaser": TEASER})
    assert (improved.title, improved.teaser, note) == (HEADLINE, TEASER, None)
    kept_title, note = entry_with({"headline": "ignored", "teaser": TEASER}, needs_headline=False)
    assert (kept_title.title, kept_title.teaser, note) == (ENTRY.title, TEASER, None)


def test_the_prompt_asks_for_the_limits_the_answer_is_held_to():
    """The prompt names the teaser's 80-220 characters, the headline's 90 and the article."""
    backend = Backend(json.dumps({"headline": HEADLINE, "teaser": TEASER}))
    improve_entry(backend, ITEM, ENTRY, needs_headline=True)
    assert "80 to 220 characters" in backend.prompts[0] and "at most 90 characters" in backend.prompts[0]
    assert backend.prompts[0].endswith(ARTICLE)
    improve_entry(backend, ITEM, ENTRY, needs_headline=False)
    assert f"The title is: {ENTRY.title}" in backend.prompts[1] and "at most 90" not in backend.prompts[1]


@pytest.mark.parametrize(("answer", "reason"), [
    ({"headline": HEADLINE, "teaser": "IBM invests."}, "an answer had 12 characters, not 80 to 220"),
    ({"headline": HEADLINE, "teaser": " ".join([TEASER] * 3)}, "characters, not 80 to 220"),
    ({"headline": HEADLINE, "teaser": TEASER[:-1] + " and"}, "did not end a sentence"),
    ({"headline": HEADLINE, "teaser": TEASER + "\nSecond line."}, "missing or not one line"),
    ({"headline": HEADLINE}, "missing or not one line"),
    ({"headline": HEADLINE, "teaser": TEASER + " Ask our Diplo chatbot!"}, "repeated a trailer"),
    ({"headline": "IBM", "teaser": TEASER}, "an answer had 3 characters, not 10 to 90"),
    ({"headline": "IBM has announced a major investment plan worth $150", "teaser": TEASER}, "is broken"),
    ({"headline": "Learn how IBM plans its $150 billion investment", "teaser": TEASER}, "call to action"),
    ({"headline": HEADLINE, "teaser": "However, " + TEASER[:1].lower() + TEASER[1:]}, "opens with 'However'"),
    ({"headline": HEADLINE, "teaser": TEASER + " Learn more about quantum computers."}, "call to action"),
    ({"headline": HEADLINE, "teaser": "The weather in Paris was sunny and warm all week, with light winds and clear "
                                      "skies over the river."}, "not about the story"),
    ("I cannot answer that.", "held no JSON object"),
    ('{"headline": "x", "teaser": ', "held no JSON object"),
    ('["a list"]', "held no JSON object"),
])
def test_an_answer_that_breaks_a_rule_keeps_the_offline_entry(answer, reason):
    """Each rule the offline text keeps, broken once: the entry stays as it was, the note says why."""
    improved, note = entry_with(answer)
    assert improved == ENTRY
    assert note is not None and note.startswith(f"LLM kept the offline text for {ITEM.id}: ") and reason in note


def test_a_failing_backend_keeps_the_offline_entry():
    """The backend's own error becomes the note."""
    improved, note = improve_entry(Backend(LLMError("http://llm answered HTTP 500")), ITEM, ENTRY, True)
    assert improved == ENTRY and note == f"LLM kept the offline text for {ITEM.id}: http://llm answered HTTP 500"


RADAR = (ENTRY.model_copy(update={"teaser": TEASER}),
         Entry(title="EU launches Apply AI Strategy", teaser="The European Commission launched the Apply AI Strategy "
                                                             "to speed up AI adoption by small firms.", topic="Economic"))
OFFLINE = ("Offline opening.", "Offline story.", "For the main updates, consult the Radar below.")
GOOD = [f"This week IBM announced a $150 billion plan for advanced computing and quantum research, number {n}."
        for n in range(1, 7)]


@pytest.mark.parametrize("count", [3, 6])
def test_an_editorial_of_three_to_six_sound_paragraphs_is_used(count):
    """3 to 6 grounded paragraphs replace the offline ones; the offline pointer stays last."""
    paragraphs, note = improve_editorial(Backend("\n\n".join(GOOD[:count])), RADAR, OFFLINE)
    assert (paragraphs, note) == ((*GOOD[:count], OFFLINE[-1]), None)


@pytest.mark.parametrize(("answer", "reason"), [
    ("\n\n".join(GOOD[:2]), "the editorial had 2 paragraphs, not 3 to 6"),
    ("\n\n".join([*GOOD, GOOD[0]]), "the editorial had 7 paragraphs, not 3 to 6"),
    ("\n\n".join([*GOOD[:2], "Short one."]), "an answer had 10 characters, not 40 to 900"),
    ("\n\n".join(["He stressed that IBM announced a $150 billion plan for advanced computing.", *GOOD[:2]]),
     "its subject is the pronoun 'He'"),
    ("\n\n".join([*GOOD[:2], "Learn how IBM will spend $150 billion on advanced computing and quantum research."]),
     "call to action"),
    ("\n\n".join([*GOOD[:2], "The weather in Paris was sunny and warm all week, with light winds over the river."]),
     "not about the story"),
])
def test_an_editorial_that_breaks_a_rule_is_not_used(answer, reason):
    """Too few or too many paragraphs, one too short, one leaning on context or selling, one about something
    else: the offline editorial stays, the note says why."""
    paragraphs, note = improve_editorial(Backend(answer), RADAR, OFFLINE)
    assert paragraphs == OFFLINE
    assert note is not None and note.startswith("LLM kept the offline editorial: ") and reason in note


def test_an_editorial_may_share_fewer_words_with_its_sources_than_a_teaser():
    """An editorial links stories in words of its own: 30 % of its words from the Radar suffice, where a
    teaser needs half."""
    linking = ("The European Commission and IBM both spoke of AI adoption and computing this week, while partners on "
               "several continents weighed what it could mean.")
    paragraphs, note = improve_editorial(Backend("\n\n".join([GOOD[0], GOOD[1], linking])), RADAR, OFFLINE)
    assert note is None and paragraphs[2] == linking
    improved, note = entry_with({"headline": HEADLINE, "teaser": linking})
    assert improved == ENTRY and "not about the story" in note
