"""Ingest on real feeds nobody here wrote (../shared/corpus) and on the shapes they showed to go wrong."""

from __future__ import annotations

import json
import os

import pytest
from conftest import run_weekly
from corpus_metrics import CORPUS, corpus_files, metrics

from composer.ingest import load_items
from composer.ingest._boilerplate import article_text
from composer.ingest._urls import clean_url

# The corpus lives in ../shared beside the checkout, as on the developers' machines and in CI.
pytestmark = pytest.mark.skipif(not CORPUS.is_dir() and not os.environ.get("CI"),
                                reason=f"the corpus is not beside the checkout ({CORPUS})")


EDITOR_ZEROS = ("boilerplate left", "captions as body", "teasers cut mid-word", "URLs with tracking")


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_every_corpus_feed_reads_clean(path):
    """Each real feed gives items, with no boilerplate, caption-as-body, mid-word teaser or tracking URL."""
    counts = metrics(path)
    assert counts["items"] > 0
    assert {name: counts[name] for name in EDITOR_ZEROS} == dict.fromkeys(EDITOR_ZEROS, 0)


def _feed(tmp_path, items_xml: str, name: str = "feed.rss", head: str = "", encoding: str = "utf-8"):
    text = (f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/" '
            'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">'
            f"<channel><title>T</title><link>https://news.example.org/</link>{head}{items_xml}</channel></rss>")
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_boilerplate_is_never_body_text():
    """The usual feed furniture goes; a sentence cut by the feed goes, and the text is marked truncated."""
    text = article_text([
        "The regulator fined the platform on Monday. It said the fine was the largest so far.",
        "Photo: Reuters / Jane Doe", "Share this:", "Read more »", "Related: Another story entirely",
        "The commission will publish its report in June. Its chair told reporters that the rules would...",
        "The post Big fine appeared first on Example News.",
    ])
    assert text.paragraphs == ["The regulator fined the platform on Monday. It said the fine was the largest so far.",
                               "The commission will publish its report in June."]
    assert text.truncated


def test_a_caption_in_the_description_does_not_become_the_article(tmp_path):
    """HuffPost's shape: the caption in one text, the article in another: the article wins, the caption
    becomes the image's alt text."""
    path = CORPUS / "huffpost-canada-2017.xml"
    first = load_items([path]).items[0]
    assert first.paragraphs[0].startswith("Winnipeg high school student Nusaybah Mohamed")
    assert first.image_alt and first.image_alt.startswith("About 50 female students")
    assert all(not text.startswith("About 50 female students") for text in first.paragraphs)


def test_short_real_text_is_kept(tmp_path):
    """An event's date line and a 150-character description without a final stop are body text."""
    path = _feed(tmp_path, (
        "<item><title>Webinar on AI governance</title><category>Events</category>"
        "<description>14 May 2025 | 13:00–14:00 CEST | Online</description></item>"
        "<item><title>Unit 42 finds a new loader</title><description>Researchers describe a loader spreading "
        "through fake browser updates that installs infostealers on Windows machines across sectors"
        "</description></item>"))
    event, news = load_items([path]).items
    assert event.kind == "event" and event.paragraphs == ("14 May 2025 | 13:00–14:00 CEST | Online",)
    assert news.paragraphs[0].endswith("across sectors.")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"])
def test_feeds_in_other_encodings_are_decoded(tmp_path, encoding):
    """UTF-16/32 with a BOM or only an XML declaration, and declared Latin-1 and cp1252, all read."""
    path = _feed(tmp_path, "<item><title>Zoë and the café</title><description>Zoë opened a café in "
                 "Genève on Monday.</description></item>", encoding=encoding)
    (item,) = load_items([path]).items
    assert item.title == "Zoë and the café" and item.paragraphs == ("Zoë opened a café in Genève on Monday.",)


def test_bad_characters_never_crash_and_never_reach_the_email(tmp_path):
    """No summary, a lone surrogate, control characters, U+FFFE, U+2028 and line breaks in a JSON title:
    cleaned per item with one warning naming the file; the rest is read."""
    feed = _feed(tmp_path, "<item><title>No summary at all</title></item>"
                           "<item><title>Lone &#xD800; surrogate</title><description>Text &#1; with a control "
                           "character and a lone &#xD800; surrogate.</description></item>")
    records = [{"title": "Line\r\nbreak\u2028title\u0007", "paragraphs": ["Body \ufffe text\u0085 here."]},
               {"title": "Fine", "paragraphs": ["A normal item."]}]
    data = tmp_path / "items.json"
    data.write_text(json.dumps(records), encoding="utf-8")
    ingested = load_items([feed, data])
    titles = [item.title for item in ingested.items]
    assert titles == ["Lone surrogate", "Line break title", "Fine"]
    text = " ".join(" ".join(item.paragraphs) for item in ingested.items)
    assert not any(ord(char) < 32 or 0xD800 <= ord(char) <= 0xDFFF or char in "\ufffe\u2028\u0085" for char in text)
    messages = [str(problem) for problem in ingested.problems]
    assert any("No summary at all: no text, skipped" in message for message in messages)
    assert any(message.startswith(f"{data}: 1 item(s) held control") for message in messages)


def test_urls_are_the_articles_own(tmp_path):
    """origLink over a feedproxy link, redirect targets, no tracking, relative links resolved, no javascript:."""
    assert clean_url("https://www.google.com/url?rct=j&sa=t&url=https://example.org/a%3Fid%3D1&ct=ga") == \
        "https://example.org/a?id=1"
    assert clean_url("http://redir.example.net/click*https://example.org/story") == "https://example.org/story"
    assert clean_url("https://example.org/s?utm_source=rss&id=7&wt_mc=rss.x&src=rss#tk.rss_all") == \
        "https://example.org/s?id=7"
    assert clean_url("img/photo.jpg", "https://example.org/news/story") == "https://example.org/news/img/photo.jpg"
    assert clean_url("javascript:alert(1)") is None and clean_url("data:text/html,hi") is None
    path = _feed(tmp_path, (
        "<item><title>Story</title><link>http://feedproxy.google.com/~r/x/~3/abc/story</link>"
        "<feedburner:origLink>https://example.org/story?utm_medium=feed</feedburner:origLink>"
        '<description>&lt;p&gt;&lt;img src="pics/a.png" alt="A chart"&gt;The text of the story, in full.&lt;/p&gt;'
        "</description></item>"))
    (item,) = load_items([path]).items
    assert item.url == "https://example.org/story"
    assert item.image_url == "https://example.org/pics/a.png" and item.image_alt == "A chart"


def test_json_feed_is_read_as_a_feed():
    """JSON Feed 1.0 and 1.1 files give items with titles, URLs, dates and text."""
    for name in ("jsonfeed-example.json", "daringfireball.jsonfeed.json"):
        items = load_items([CORPUS / name]).items
        assert items and all(item.url and item.url.startswith("http") and item.published for item in items)
        assert all(item.paragraphs for item in items)


def test_build_and_items_say_how_many_items_are_undated_or_outside_the_week(tmp_path):
    """One summary line each: an editor sees at once why an issue is thin."""
    feeds = [str(CORPUS / "guardian-us-2018.rss"), str(CORPUS / "uol-noticias-undated.rss")]
    composed = run_weekly("compose", *feeds, "--today", "2018-02-01", "--issue", "1", "-o", str(tmp_path / "issue.yaml"),
                          env={**os.environ, "WEEKLY_OUTPUT__DIR": str(tmp_path / "out")})
    assert composed.returncode == 0, composed.stderr
    (note,) = [line for line in composed.stderr.splitlines() if line.startswith("note: of ")]
    assert note == ("note: of 65 items, 10 undated (taken as this week's) and 1 dated outside "
                    "25 January – 1 February 2018 (left out)")
    listed = run_weekly("items", *feeds)
    assert "dates: 55 dated, from 8 December 2017 to 31 January 2018; 10 undated" in listed.stdout
