"""RSS and Atom feeds, read from files with feedparser, never fetched."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import DATA

from composer.ingest import load_items


def test_wordpress_rss_content_categories_images_and_trailer():
    """content:encoded becomes clean paragraphs cut at the trailer; categories, kind and image are kept."""
    result = load_items([DATA / "wordpress.rss"])
    google, event = result.items
    assert google.title == "Google invests €5 billion in Belgian AI and cloud infrastructure"
    assert google.paragraphs == (
        "The US tech giant, Google, has announced a €5 billion investment in Belgium.",
        "The plan includes major expansions of its Saint-Ghislain data centre campuses & 300 jobs.",
    )
    assert google.tags == ("Infrastructure", "AI")
    assert google.url == "https://dig.watch/updates/google-belgium"
    assert google.published == datetime(2025, 4, 29, 9, 30, tzinfo=UTC)
    assert (google.image_url, google.image_alt) == ("https://dig.watch/img/belgium.jpg", "Data centre in Belgium")
    assert event.kind == "event"
    assert event.image_url == "https://dig.watch/img/event.png"


def test_entry_with_only_a_trailer_is_reported_and_skipped():
    """A post whose whole body is a trailer is a warning naming the post."""
    result = load_items([DATA / "wordpress.rss"])
    assert [str(p) for p in result.problems] == [f"{DATA / 'wordpress.rss'}: Empty post: no text, skipped"]
    assert result.problems[0].level == "warning"


def test_atom_blog_entry_drops_headings_and_scripts():
    """An Atom entry in a Blog category is a blog item; headings and script text are not paragraphs."""
    (item,) = load_items([DATA / "blog.atom"]).items
    assert item.kind == "blog"
    assert item.url == "https://www.diplomacy.edu/blog/linguists-ai-era/"
    assert item.paragraphs == (
        "In the context of Geneva's multilingual landscape, the rise of AI has sparked both concern and opportunity.",
        "Linguists remain essential for nuance, culture and context.",
    )


def test_feed_that_is_not_xml_is_one_error_and_others_still_read():
    """A broken feed and an HTML page are errors naming the file; the good feed beside them is read."""
    result = load_items([DATA / "garbage.rss", DATA / "not_a_feed.xml", DATA / "blog.atom"])
    errors = [p for p in result.problems if p.level == "error"]
    assert [p.path for p in errors] == [str(DATA / "garbage.rss"), str(DATA / "not_a_feed.xml")]
    assert all("not a valid RSS or Atom feed" in p.message for p in errors)
    assert len(result.items) == 1
