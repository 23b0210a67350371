"""Render: Jinja -> MJML -> HTML -> inlined CSS; escaping, layout rules, size budget, text part, snapshot."""

from __future__ import annotations

import os
import re
from email import message_from_bytes
from email.policy import default

import pytest
from conftest import DATA, run_weekly
from issue_fixtures import full_draft

from composer.config import BrandSettings
from composer.models import Sections
from composer.render import render

SNAPSHOT = DATA / "render_snapshot.html"


@pytest.fixture(scope="module")
def rendered():
    return render(full_draft(), BrandSettings())


def test_html_matches_the_snapshot(rendered):
    """The email for a fixed draft is exactly the reviewed snapshot (UPDATE_SNAPSHOTS=1 rewrites it)."""
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(rendered.html, encoding="utf-8")
    assert rendered.html == SNAPSHOT.read_text(encoding="utf-8")


def test_markup_in_draft_renders_as_text():
    """A title with <script> and & is escaped in the email, the text part keeps it readable."""
    draft = full_draft(radar=1, reading=0, events=0)
    entry = draft.sections.radar[0].model_copy(update={"title": "<script>alert(1)</script> R&D"})
    draft = draft.model_copy(update={"sections": Sections(radar=(entry,))})
    result = render(draft, BrandSettings())
    assert "<script>alert(1)" not in result.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D" in result.html
    assert "<script>alert(1)</script> R&D" in result.text


def test_big_issue_fits_the_gmail_budget(rendered):
    """12 Radar, 4 Reading Corner and 4 events entries stay under 100 KB of HTML."""
    assert len(rendered.html.encode()) <= 100 * 1024


def test_email_fitness(rendered):
    """lang, a doctype, presentation tables, alt on every image, a preheader, dark-mode rules, absolute links."""
    html = rendered.html
    assert html.lower().startswith("<!doctype html>")
    assert '<html lang="en"' in html
    assert all('role="presentation"' in table for table in re.findall(r"<table[^>]*>", html))
    assert all(re.search(r'alt="[^"]+"', image) for image in re.findall(r"<img[^>]*>", html))
    assert "Google, TikTok, IBM and the EU lead a busy week" in html.split("<body")[1][:3000]
    assert 'name="color-scheme" content="light dark"' in html and "prefers-color-scheme: dark" in html
    assert all(link.startswith(("https://", "mailto:")) for link in re.findall(r'(?:href|src)="([^"]*)"', html))
    assert "fonts.googleapis.com" not in html and "mailjet" not in html


def test_media_query_keeps_important(rendered):
    """premailer must keep MJML's desktop media query and its !important, or columns collapse."""
    query = re.search(r"@media[^{]*min-width:\s*480px[^{]*\{(.*?\})\s*\}", rendered.html, re.S)
    assert query and "!important" in query[1]


def test_empty_sections_are_left_out():
    """A draft without Reading Corner or events shows neither heading, in HTML or text."""
    result = render(full_draft(reading=0, events=0), BrandSettings())
    assert "RADAR" in result.html and "READING CORNER" not in result.html and "UPCOMING EVENTS" not in result.html
    assert "READING CORNER" not in result.text


def test_text_part_is_a_complete_newsletter(rendered):
    """Headline, date range, editorial, every entry's title, teaser and URL, web and unsubscribe links."""
    flat = " ".join(rendered.text.split())
    draft = full_draft()
    assert flat.startswith("DW Weekly #211 – Money and markets: Google, TikTok, IBM and the EU 2 – 9 May 2025 Dear readers,")
    for entry in (*draft.sections.radar, *draft.sections.reading_corner, *draft.sections.events):
        assert entry.title in flat and entry.teaser in flat and entry.url in flat
    assert "13 May 2025 · Online" in flat
    assert "View this issue in your browser: https://dig.watch/newsletter/211/" in flat
    assert "Unsubscribe: https://dig.watch/newsletter/unsubscribe" in flat
    assert "DW Team" in flat and "RADAR" in flat and "UPCOMING EVENTS" in flat


def test_web_version_has_no_subscriber_links(rendered):
    """The archive page leaves out the unsubscribe and view-in-browser links."""
    assert "Unsubscribe" in rendered.html and "Unsubscribe" not in rendered.web_html
    assert "View in your browser" not in rendered.web_html


def test_render_writes_every_file_and_a_valid_eml(tmp_path):
    """`weekly render` writes index.html, issue.txt, web.html, issue.mjml and a multipart/alternative .eml."""
    done = run_weekly("build", "-o", str(tmp_path / "issue"))
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "issue"
    assert {p.name for p in folder.iterdir()} == {"issue.yaml", "index.html", "issue.txt", "web.html", "issue.mjml", "issue.eml"}
    message = message_from_bytes((folder / "issue.eml").read_bytes(), policy=default)
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    for header in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        assert message[header], header
    assert message["Subject"].startswith("DW Weekly #210 – ")
    assert message["Message-ID"].endswith("@example.org>")


def test_build_keeps_an_archive_index_newest_first(tmp_path):
    """Two builds into the output folder: out/index.html links both, #211 before #210."""
    env = {**os.environ, "WEEKLY_OUTPUT__DIR": str(tmp_path / "out")}
    assert run_weekly("build", env=env).returncode == 0
    assert run_weekly("build", "--issue", "211", env=env).returncode == 0
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert index.index('href="211/web.html"') < index.index('href="210/web.html"')


def test_hero_image_shows_when_the_draft_has_one():
    """A hero_image in the draft appears under the header with its alt text; without one there is none."""
    hero = "https://dig.watch/wp-content/uploads/2025/05/hero.jpg"
    with_hero = render(full_draft().model_copy(update={"hero_image": hero, "hero_alt": "Delegates in Geneva"}),
                       BrandSettings())
    assert re.search(rf'<img[^>]*alt="Delegates in Geneva"[^>]*src="{re.escape(hero)}"', with_hero.html)
    assert hero not in render(full_draft(), BrandSettings()).html
