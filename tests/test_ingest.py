"""Ingest of the bundled seeds: exact articles, titles, bodies and the pasted past issue."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from conftest import SEEDS

from composer.ingest import load_items

NOT_BODY = re.compile(
    r"Diplo chatbot|on our dedicated .*page|visit diplomacy\.edu|A man and woman sitting in chairs"
    r"|IGF 2025, Norway, Language inclusion, Diversity"
)


def test_seeds_hold_29_articles_10_10_9(seeds):
    """The three seed files give 10, 10 and 9 articles and no problems."""
    by_file = {}
    for item in seeds.items:
        by_file[Path(item.source).name[:3]] = by_file.get(Path(item.source).name[:3], 0) + 1
    assert by_file == {"000": 10, "001": 10, "002": 9}
    assert seeds.problems == ()


def test_titles_are_exact_lines_of_the_files(seeds):
    """The 19 titled articles carry their title exactly as a line of their file; the 10 of 001 have none."""
    titled = [item for item in seeds.items if item.title]
    assert len(titled) == 19
    for item in titled:
        lines = Path(item.source).read_text(encoding="utf-8").splitlines()
        assert lines[item.line - 1] == item.title
    assert all(item.title is None for item in seeds.items if "001_" in item.source)


def test_no_trailer_caption_or_tag_line_in_any_paragraph(seeds):
    """Trailers, image captions and tag lines never reach an article's paragraphs."""
    offending = [p for item in seeds.items for p in item.paragraphs if NOT_BODY.search(p)]
    assert offending == []


def test_every_article_keeps_its_body_up_to_the_trailer(seeds):
    """The last paragraph of each article is the one just before its trailer in the file."""
    first = seeds.items[0]
    assert first.paragraphs[-1].startswith("AI is now central to CERN")
    untitled = next(item for item in seeds.items if "001_" in item.source)
    assert untitled.paragraphs[0].startswith("The US tech giant, Google, has announced a €5 billion")
    assert untitled.paragraphs[-1].startswith("By deepening its presence in Belgium")
    last_of_000 = [item for item in seeds.items if "000_" in item.source][-1]
    assert last_of_000.title == "China looks to build consensus on AI at Global Summit"
    assert len(last_of_000.paragraphs) == 3


def test_tag_line_becomes_tags(seeds):
    """The tag line inside the language-inclusion article becomes its tags."""
    item = next(item for item in seeds.items if item.title == "Bridging the digital divide through language inclusion")
    assert item.tags == ("IGF 2025", "Norway", "Language inclusion", "Diversity")


def test_past_issue_209_is_recognised_not_news(seeds):
    """Seed 002 holds DW Weekly #209 with its date range, editorial and 11/4/4 entries."""
    (issue,) = seeds.past_issues
    assert issue.number == 209
    assert issue.headline.startswith("Big Tech on global trial")
    assert issue.date_range == "18 – 25 April 2025"
    assert (issue.week_start, issue.week_end) == (date(2025, 4, 18), date(2025, 4, 25))
    assert (len(issue.radar), len(issue.reading_corner), len(issue.events)) == (11, 4, 4)
    assert issue.editorial[0].startswith("The past week has delivered")
    assert issue.editorial[-1].startswith("To finish, the blog")
    assert issue.radar[0].image_alt == "eu flags in front of european commission"
    assert issue.events[0].site == "www.diplomacy.edu"
    assert issue.events[0].event_date == date(2025, 4, 29)
    assert [event.event_date for event in issue.events][2] is None
    assert not any("DW Weekly #209" in (item.title or "") for item in seeds.items)


def test_ids_are_stable_and_content_based(tmp_path, seeds):
    """The same article read from another file keeps its id; different articles differ."""
    copy = tmp_path / "copy.txt"
    copy.write_text((SEEDS / "000_fc15076d264b8389.txt").read_text(encoding="utf-8"), encoding="utf-8")
    again = load_items([copy])
    assert again.items[0].id == seeds.items[0].id
    assert len({item.id for item in seeds.items}) == 29


def test_same_file_twice_is_read_once(seeds):
    """Naming a folder and a file inside it does not double the file's articles."""
    twice = load_items([SEEDS, SEEDS / "000_fc15076d264b8389.txt"])
    assert len(twice.items) == 29
