"""`weekly compose` on the seeds: the draft of #210 an editor would sign, and the draft file's round trip."""

from __future__ import annotations

import os
import re

import pytest
import yaml
from conftest import SEEDS, run_weekly

from composer.curate.similarity import cosine, tfidf
from composer.draft import read_draft
from composer.ingest import load_items
from composer.language import split_sentences
from composer.render.strings import load_strings

POINTER = "For the main updates and reflections, consult the Radar and Reading Corner below."
NOT_CONTENT = re.compile(
    r"Diplo chatbot|Would you like to learn more|on our dedicated|visit diplomacy\.edu"
    r"|A man and woman sitting in chairs|IGF 2025, Norway, Language inclusion, Diversity"
)


@pytest.fixture(scope="module")
def composed(tmp_path_factory):
    """The seeds' draft, composed twice by the real command."""
    folder = tmp_path_factory.mktemp("compose")
    for name in ("first.yaml", "second.yaml"):
        done = run_weekly("compose", str(SEEDS), "-o", str(folder / name))
        assert done.returncode == 0, done.stderr
    return folder / "first.yaml", folder / "second.yaml"


@pytest.fixture(scope="module")
def draft(composed):
    return read_draft(composed[0])


@pytest.fixture(scope="module")
def items_by_id():
    return {item.id: item for item in load_items([SEEDS]).items}


def _entries(draft):
    sections = draft.sections
    return [*sections.radar, *sections.reading_corner, *sections.events]


def test_composing_twice_gives_byte_identical_files(composed):
    """The same inputs give the same draft, byte for byte."""
    first, second = composed
    assert first.read_bytes() == second.read_bytes()


def test_issue_210_follows_209_for_the_next_week(draft):
    """Numbering and week continue from the past issue #209 (18 – 25 April 2025)."""
    assert draft.number == 210
    assert (draft.week_start.isoformat(), draft.week_end.isoformat()) == ("2025-04-25", "2025-05-02")
    assert draft.date_range == "25 April – 2 May 2025"


def test_radar_has_8_to_12_entries_across_at_least_4_baskets(draft):
    """Radar is full and diverse: no basket holds more than 3 while others had stories."""
    radar = draft.sections.radar
    assert 8 <= len(radar) <= 12
    topics = [entry.topic for entry in radar]
    assert len(set(topics)) >= 4
    assert max(topics.count(topic) for topic in topics) <= 3


def test_trump_blog_is_in_reading_corner(draft):
    """The "Trump's first 100 days" blog summary is a Reading Corner piece, not Radar news."""
    assert [entry.title for entry in draft.sections.reading_corner] == ["Trump’s first 100 days show steady tech policy"]
    assert all("Trump’s first 100 days" not in entry.title for entry in draft.sections.radar)


def test_story_covered_by_209_is_not_repeated(draft):
    """#209 already covered the DOJ asking Google to sell Chrome."""
    assert all("Chrome" not in entry.title for entry in _entries(draft))


def test_no_two_entries_tell_the_same_story(draft, items_by_id):
    """Entries come from different items whose texts are far from duplicates."""
    ids = [entry.item_id for entry in _entries(draft)]
    assert len(set(ids)) == len(ids)
    vectors = tfidf([" ".join(items_by_id[i].paragraphs) for i in ids])
    assert max(cosine(a, b) for n, a in enumerate(vectors) for b in vectors[n + 1 :]) < 0.5


def test_teasers_are_whole_sentences_of_their_item_within_limits(draft, items_by_id):
    """80-220 characters, whole sentences taken from the item, not its title, never a trailer."""
    for entry in _entries(draft):
        assert 80 <= len(entry.teaser) <= 220, entry.teaser
        assert entry.teaser != entry.title
        item_sentences = {s for p in items_by_id[entry.item_id].paragraphs for s in split_sentences(p)}
        assert all(sentence in item_sentences for sentence in split_sentences(entry.teaser)), entry.teaser


def test_untitled_items_get_headlines_not_chopped_sentences(draft, items_by_id):
    """Every selected item of seed 001 (no titles) has a headline of at most 90 characters."""
    untitled = [e for e in _entries(draft) if items_by_id[e.item_id].title is None]
    assert untitled
    for entry in untitled:
        lead = split_sentences(items_by_id[entry.item_id].paragraphs[0])[0]
        assert 0 < len(entry.title) <= 90
        assert not lead.startswith(entry.title), "a headline, not the lead sentence cut short"


def test_editorial_tells_the_week_without_repeating_the_radar(draft):
    """Greeting, an opening that names the theme, 3-12 paragraphs telling the Radar stories in sentences that
    are not their teasers or titles, the blog, then the pointer; DW Team signs."""
    assert draft.greeting == "Dear readers,"
    assert draft.signoff == "DW Team"
    *paragraphs, pointer = draft.editorial
    assert pointer == POINTER
    assert 3 <= len(paragraphs) <= 12
    openings = load_strings().editorial.openings.model_dump().values()
    assert paragraphs[0].split(". ")[0] + "." in [opening.format(theme=theme) for opening in openings
                                                  for theme in ("AI", draft.headline.partition(": ")[0])]
    assert paragraphs[-1].startswith("To finish, the blog: ")
    teaser_sentences = {s for e in _entries(draft) for s in split_sentences(e.teaser)}
    editorial_sentences = {s for p in draft.editorial for s in split_sentences(p)}
    assert not editorial_sentences & teaser_sentences, "an editorial sentence repeats a teaser"
    assert not any(entry.title in paragraph for entry in _entries(draft) for paragraph in paragraphs)
    ids = {entry.item_id for entry in _entries(draft)}
    assert len(draft.editorial_items) >= 5 and set(draft.editorial_items) <= ids
    assert any(p.startswith(("On ", "In ", "Turning to", "Staying")) for p in paragraphs[1:])


def test_issue_headline_in_dw_style(draft):
    """A theme, a colon, then 2-4 topic phrases joined with commas and 'and'; at most 80 characters, no
    number and no lone capital."""
    theme, _, topics = draft.headline.partition(": ")
    assert theme and topics and " and " in topics and len(draft.headline) <= 80
    assert not re.search(r"\d|\b[A-Z]\b", topics)


def test_no_trailer_caption_or_tag_text_anywhere_in_the_draft(composed):
    """The draft file holds none of the dumps' trailers, captions or tag lines."""
    assert not NOT_CONTENT.search(composed[0].read_text(encoding="utf-8"))


def test_issue_and_week_options(tmp_path):
    """--issue and --week override the numbering and the week."""
    out = tmp_path / "d.yaml"
    done = run_weekly("compose", "--issue", "300", "--week", "2025-04-01", "-o", str(out))
    assert done.returncode == 0, done.stderr
    draft = read_draft(out)
    assert (draft.number, draft.date_range) == (300, "1 – 8 April 2025")


def test_hand_edited_draft_renders(tmp_path, composed):
    """An editor's change to the YAML shows in the rendered email."""
    data = yaml.safe_load(composed[0].read_text(encoding="utf-8"))
    data["sections"]["radar"][0]["title"] = "Edited by the editor"
    edited = tmp_path / "issue.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    done = run_weekly("render", str(edited), "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "Edited by the editor" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("headline"), "missing key 'headline'"),
        (lambda d: d.__setitem__("headlin", d.pop("headline")), "unknown key 'headlin' (misspelt?)"),
        (lambda d: d["sections"]["radar"][1].pop("teaser"), "missing key 'sections.radar.1.teaser'"),
        (lambda d: d.__setitem__("number", "two hundred"), "key 'number': Input should be a valid integer"),
    ],
)
def test_bad_draft_is_refused_with_the_key_named(tmp_path, composed, change, message):
    """A missing, misspelt or wrong-typed key is one error line naming it, exit 1."""
    data = yaml.safe_load(composed[0].read_text(encoding="utf-8"))
    change(data)
    bad = tmp_path / "issue.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    done = run_weekly("render", str(bad), "-o", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: {bad}: {message}") and done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_feed_only_weeks_number_from_a_setting_and_only_a_sent_issue_moves_on(tmp_path):
    """With no past issue in the inputs or the store: refused in one line, or #issue.first_number; a rebuild
    that week or the next keeps #1 (unsent: its stories are not published), byte for byte the same draft."""
    week = tmp_path / "week.jsonl"
    week.write_text("".join(
        f'{{"title": "Story {n} about a regulator and a platform", "paragraphs": ["A regulator acted on platform {n} '
        f'this week, and the platform said it would appeal the decision in court."]}}\n' for n in range(12)),
        encoding="utf-8")
    env = {**os.environ, "WEEKLY_OUTPUT__DIR": str(tmp_path / "out")}
    refused = run_weekly("build", str(week), "--today", "2026-11-20", env=env)
    assert refused.returncode == 1 and refused.stderr.startswith("error: no past issue to number this one from")
    assert refused.stderr.count("\n") == 1 and not (tmp_path / "out").exists()
    env["WEEKLY_ISSUE__FIRST_NUMBER"] = "1"

    def built(today: str):
        done = run_weekly("build", str(week), "--today", today, env=env)
        assert done.returncode == 0, done.stderr
        return sorted(path.parent.name for path in (tmp_path / "out").glob("*/issue.yaml"))

    assert built("2026-11-20") == ["1"]
    first = (tmp_path / "out" / "1" / "issue.yaml").read_bytes()
    assert built("2026-11-20") == ["1"]
    assert (tmp_path / "out" / "1" / "issue.yaml").read_bytes() == first
    assert built("2026-11-27") == ["1"]
    assert (tmp_path / "out" / "1" / "issue.yaml").read_bytes() == first
