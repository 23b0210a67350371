"""Render: Jinja -> MJML -> HTML, with every value from the draft escaped."""

from __future__ import annotations

from datetime import date

from composer.config import BrandSettings
from composer.models import Draft, Entry, Sections
from composer.render import render


def _draft(title: str) -> Draft:
    return Draft(
        number=7, headline="Tests & more", week_start=date(2025, 4, 25), week_end=date(2025, 5, 2),
        date_range="25 April – 2 May 2025", preheader="Preview", greeting="Dear readers,",
        editorial=("One paragraph.",), signoff="DW Team",
        sections=Sections(radar=(Entry(title=title, teaser="A teaser.", url="https://dig.watch/x"),)),
    )


def test_markup_in_draft_renders_as_text():
    """A title with <script> and & is escaped in the MJML and the HTML, never executed."""
    rendered = render(_draft("<script>alert(1)</script> R&D"), BrandSettings())
    assert "<script>alert(1)" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D" in rendered.html
    assert rendered.subject == "DW Weekly #7 – Tests & more"


def test_empty_sections_are_left_out():
    """A draft without Reading Corner or events shows neither heading."""
    html = render(_draft("Title"), BrandSettings()).html
    assert "RADAR" in html and "READING CORNER" not in html and "UPCOMING EVENTS" not in html
