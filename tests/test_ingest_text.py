"""Text dumps beyond the seeds: trailers' variants, titles without a trailer before them, captions."""

from __future__ import annotations

from conftest import DATA

from composer.ingest import load_items
from composer.ingest.text import parse_text


def test_article_ends_at_next_title_caption_dropped_tags_kept():
    """mixed.txt: a title without a trailer before it starts a new article; captions go, tags stay."""
    items = load_items([DATA / "mixed.txt"]).items
    assert [item.title for item in items] == [
        "First article with a title",
        "Second article starts here without a trailer before it",
        "Third article after the chatbot trailer",
    ]
    assert len(items[0].paragraphs) == 2
    assert "Two engineers" not in " ".join(items[0].paragraphs)
    assert items[0].tags == ("Datacentre", "Belgium", "Cloud computing")
    assert items[2].line == 16


def test_trailer_variants_all_end_an_article():
    """Each variant of the chatbot trailer and the other two trailers closes the article."""
    trailers = [
        "Would you like to learn more about AI, tech and digital diplomacy? If so, ask our Diplo chatbot!",
        "Would you like to learn more aboutAI, tech and digital diplomacy? If so, ask our Diplo chatbot!",
        "Would you like to learn more about AI, tech, and digital diplomacy? If so, ask our Diplo chatbot",
        "Would you like to learn more about\u00a0AI, tech and digital diplomacyIf so,\u00a0ask our Diplo chatbot!",
        "Track all key moments from the Internet Governance Forum 2025 on our dedicated IGF page.",
        "For more information on these topics, visit diplomacy.edu.",
    ]
    text = "".join(f"Sentence number {n} of a body, long enough to be text.\n{t}\n" for n, t in enumerate(trailers))
    items, _, _ = parse_text(text, "t.txt")
    assert len(items) == len(trailers)
    assert all(len(item.paragraphs) == 1 and "chatbot" not in item.paragraphs[0] for item in items)


def test_bullets_are_paragraphs_without_their_mark():
    """A bulleted list inside an article gives one paragraph per bullet."""
    text = "A title\n\nIntro sentence that leads to a list:\n  • First point of the list.\n  • Second point.\n"
    (item,), _, _ = parse_text(text, "t.txt")
    assert item.paragraphs == ("Intro sentence that leads to a list:", "First point of the list.", "Second point.")


def test_stray_short_line_is_dropped_and_lonely_title_reported():
    """A short line after the last body paragraph is a caption; a title with no body is a warning."""
    items, _, problems = parse_text("Real title\n\nA body sentence.\n\nStray heading\n", "t.txt")
    assert len(items) == 1
    assert [p.level for p in problems] == []  # a caption at the end of a body is silently dropped
    items, _, problems = parse_text("Lonely title\n", "t.txt")
    assert items == [] and problems[0].line == 1 and "no text" in problems[0].message
