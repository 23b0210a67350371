"""RSS and Atom feeds, read from files with feedparser, never fetched."""

from __future__ import annotations

from datetime import UTC, datetime

from conftest import DATA
from corpus_metrics import corpus_files

from composer.ingest import MALFORMED, load_items
from composer.ingest.feed import parse_feed


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


# A whole feed of three entries, and what real feeds do to it: quirks that leave it whole, and faults.
WHOLE = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>' + "".join(
    f"<item><title>Story {n}</title><link>https://example.org/{n}</link><description>&lt;p&gt;Regulators fined "
    f"platform {n} for breaching the data protection rules.&lt;/p&gt;</description></item>" for n in range(3))
    + "</channel></rss>").encode()
QUIRKS = {
    "blank lines before the declaration": b"\n\n" + WHOLE,
    "an entity of HTML's": WHOLE.replace(b"<title>Story 1", b"<title>Story&nbsp;1"),
    "a bare ampersand": WHOLE.replace(b"<title>Story 1", b"<title>AT&T story 1"),
    "an undeclared prefix": WHOLE.replace(b"<title>Story 1", b"<media:credit>AP</media:credit><title>Story 1"),
    "a wrong declared encoding": WHOLE.replace(b"Story 1", "Störy 1".encode("latin-1")),
}
FAULTS = {
    "cut mid-description (head -c)": (WHOLE[:WHOLE.rindex(b"breaching")], "no element found at line 1"),
    "cut mid-tag": (WHOLE[:-3], "unclosed token at line 1"),
    "an entity of HTML's, then cut": (WHOLE.replace(b"Story 0", b"Story&nbsp;0")[:-40], "no element found"),
    "junk after the feed": (WHOLE + b"<b>Warning</b>: mysql_connect()", "junk after document element"),
    "a tag not closed": (WHOLE.replace(b"</title><link>https://example.org/1", b"<link>https://example.org/1"),
                         "mismatched tag"),
}


def test_real_feeds_and_their_quirks_are_whole():
    """No feed of the corpus (3 of 17 bozo to feedparser: two for a blank line before the XML declaration, one for
    its encoding) and none of the quirks real feeds carry is taken for a cut-off or damaged one."""
    corpus = [path for path in corpus_files() if path.suffix != ".json"]
    assert len(corpus) == 17
    ingested = load_items(corpus)
    assert [problem for problem in ingested.problems if problem.code == MALFORMED] == []
    for quirk, data in QUIRKS.items():
        items, problems = parse_feed(data, quirk)
        assert (len(items), [problem for problem in problems if problem.level == "error"]) == (3, []), quirk


def test_a_cut_off_or_damaged_feed_is_an_error_naming_the_fault():
    """A feed cut off or damaged is read up to the fault (a file on disk has nothing better), with an error of
    code MALFORMED saying where and what (a source's answer like that is refused: test_sources)."""
    for fault, (data, words) in FAULTS.items():
        items, problems = parse_feed(data, "wire.rss")
        errors = [problem for problem in problems if problem.level == "error"]
        assert [problem.code for problem in errors] == [MALFORMED], fault
        assert errors[0].message.startswith("not well-formed XML: " + words), (fault, errors[0].message)
        assert errors[0].message.endswith("(cut off or damaged?)")
        assert 1 <= len(items) <= 3
