"""The email as readers get it: axe-core in headless Chromium, headings, links, dark mode, Outlook, images off.

axe-core comes from the npm package (`.ci/run` installs it into .cache/npm); like Chromium, it is required
in CI (CI=true) and skipped locally when missing.
"""

from __future__ import annotations

import html
import json
import os
import re
from itertools import pairwise

import pytest
from conftest import BROWSER, ROOT
from issue_fixtures import full_draft

from composer.config import BrandSettings
from composer.models import Sections
from composer.preview import DARK_FLAGS, run_chromium
from composer.render import render

AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


def _required(available: bool, message: str) -> None:
    if not available:
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)


@pytest.fixture(scope="module")
def rendered():
    """A big issue where half the entries have no URL and half no image."""
    draft = full_draft()
    radar = tuple(entry.model_copy(update={"url": None}) if number % 3 == 0 else entry
                  for number, entry in enumerate(draft.sections.radar))
    return render(draft.model_copy(update={"sections": draft.sections.model_copy(update={"radar": radar})}),
                  BrandSettings())


def _run_in_frame(email: str, script: str, width: int, tmp_path, flags: tuple[str, ...] = ()) -> dict:
    """Load the email into an iframe `width` px wide, run `script` (which sets window.result), read it back."""
    _required(BROWSER is not None, "headless Chromium is not installed (apt-get install chromium)")
    probe = f"<script>{script}</script></body>"
    page = tmp_path / f"frame-{width}.html"
    page.write_text(
        '<!doctype html><html lang="en"><head><title>frame</title></head><body style="margin:0">'
        f'<iframe title="email" style="border:0;width:{width}px;height:2400px" '
        f'srcdoc="{html.escape(email.replace("</body>", probe), quote=True)}"></iframe></body></html>', encoding="utf-8")
    dom = run_chromium(BROWSER, tmp_path / f"profile-{width}", 800, 1000,
                       ["--virtual-time-budget=20000", *flags, "--dump-dom", page.as_uri()])
    found = re.search(r'data-result="([^"]*)"', dom)
    assert found, "the script in the page did not report"
    return json.loads(html.unescape(found[1]))


REPORT = "window.parent.document.body.setAttribute('data-result', JSON.stringify(%s));"


def test_axe_finds_no_serious_or_critical_violation(rendered, tmp_path):
    """axe-core 4 over the email at 600 px: no violation of serious or critical impact."""
    _required(AXE.is_file(), f"axe-core is not installed ({AXE}); npm install --prefix .cache/npm axe-core@4")
    script = AXE.read_text(encoding="utf-8") + """
    window.addEventListener('load', async () => {
      const results = await axe.run(document, {resultTypes: ['violations']});
      """ + REPORT % "results.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ') + ' ' + (n.any[0] || {message: ''}).message)}))" + """
    });"""
    violations = _run_in_frame(rendered.html, script, 600, tmp_path)
    serious = [violation for violation in violations if violation["impact"] in ("serious", "critical")]
    assert serious == [], serious


def test_headings_give_the_issue_its_structure(rendered):
    """One h1 (the issue), an h2 for the contents and each section in order, an h3 per entry, nothing
    skipped; an imageless entry's topic kicker is inside its own h3, so heading navigation reads it there."""
    levels = re.findall(r"<h([1-6])\b[^>]*>(.*?)</h\1>", rendered.html, re.DOTALL)
    assert [level for level, _ in levels].count("1") == 1 and levels[0][0] == "1"
    sections = [re.sub(r"<[^>]+>", "", text) for level, text in levels if level == "2"]
    assert sections == ["In this issue", "RADAR", "READING CORNER", "UPCOMING EVENTS"]
    draft = full_draft()
    entries = draft.sections.entries()
    titles = [text for level, text in levels if level == "3"]
    assert len(titles) == len(entries)
    assert all(int(b) - int(a) <= 1 for (a, _), (b, _) in pairwise(levels))
    for title, entry in zip(titles, entries, strict=True):
        assert ('class="dw-kicker"' in title) == (entry.image is None)
        assert re.sub(r"<[^>]+>", " ", title).split()[-1] == entry.title.split()[-1]
    assert 'class="dw-kicker"' not in re.sub(r"<h3\b.*?</h3>", "", rendered.html, flags=re.DOTALL)


# The links a screen reader or the keyboard meets, in reading order, and the same with every aria-* and
# tabindex attribute stripped (what Yahoo and AOL do to aria-label and its kind).
LINKS = """window.addEventListener('load', () => {
  const name = (a) => (a.textContent.trim() || [...a.querySelectorAll('img')].map(i => i.alt).join(' ')).replace(/\\s+/g, ' ');
  const story = (a) => a.closest('.dw-card') && !a.getAttribute('href').startsWith('#');
  const reachable = [...document.querySelectorAll('a[href]')].filter(a => story(a) && a.tabIndex >= 0 &&
      !a.closest('[aria-hidden="true"]')).map(a => ({href: a.href, name: name(a), heading: !!a.closest('h3')}));
  document.querySelectorAll('*').forEach(e => [...e.attributes].forEach(attribute => {
      if (attribute.name.startsWith('aria-') || attribute.name === 'tabindex') e.removeAttribute(attribute.name); }));
  const stripped = [...document.querySelectorAll('a[href]')].filter(story).map(a => ({href: a.href, name: name(a)}));
  """ + REPORT % "{reachable, stripped}" + """;
});"""


def test_one_link_per_story_in_reading_order(rendered, tmp_path):
    """Screen readers and the keyboard meet each story once: its title, a link inside its h3, in the issue's
    order; the image's link is hidden from them. No "Read more" links, and with ARIA stripped no two links
    share a name but not a page: every link says where it goes without aria-label."""
    links = _run_in_frame(rendered.html, LINKS, 600, tmp_path)
    entries = full_draft().sections.entries()
    assert [link["name"] for link in links["reachable"]] == [entry.title for entry in entries]
    assert all(link["heading"] for link in links["reachable"])
    assert len({link["href"] for link in links["reachable"]}) == len(entries)
    assert "Read more" not in rendered.html
    pages_by_name: dict[str, set[str]] = {}
    for link in links["stripped"]:
        pages_by_name.setdefault(link["name"], set()).add(link["href"])
    assert all(len(pages) == 1 for pages in pages_by_name.values()), pages_by_name
    assert "https://dig.watch/?s=Radar+story+1%3A" in rendered.html  # entries 1, 4, 7, 10 have no URL
    assert "https://dig.watch/?s=Radar+story+1%3A" in rendered.text


def test_in_this_issue_lists_the_radar_and_links_down_to_each_story(rendered, tmp_path):
    """Before the editorial, "In this issue" lists the Radar titles in order, each a link to its entry's
    heading; on a phone the list starts within the first screen."""
    script = """window.addEventListener('load', () => {
      const links = [...document.querySelectorAll('.dw-toc a')];
      const targets = links.map(a => document.getElementById(a.getAttribute('href').slice(1)));
      const editorial = [...document.querySelectorAll('div')].find(d => d.textContent.trim() === 'Dear readers,');
      """ + REPORT % """{titles: links.map(a => a.textContent.trim()),
        targets: targets.map(t => t ? t.tagName + ' ' + t.textContent.trim() : null),
        top: links[0].getBoundingClientRect().top, editorial: editorial.getBoundingClientRect().top}""" + """;
    });"""
    found = _run_in_frame(rendered.html, script, 375, tmp_path)
    radar = [entry.title for entry in full_draft().sections.radar]
    assert found["titles"] == radar
    assert all(target and target.startswith("H3 ") and target.endswith(title)
               for target, title in zip(found["targets"], radar, strict=True)), found["targets"]
    assert found["top"] < found["editorial"] and found["top"] < 640


def test_titles_stand_out_from_the_text(rendered, tmp_path):
    """A clear scale: the issue's h1 over the section h2s over the story h3s, which are at least 1.2 times
    the body text (16 px against 15 px was too close)."""
    script = """window.addEventListener('load', () => {
      const size = (element) => parseFloat(getComputedStyle(element).fontSize);
      const h3 = document.querySelector('h3.dw-title');
      """ + REPORT % """{h1: size(document.querySelector('h1')), h2: size(document.querySelector('h2.dw-section')),
        h3: size(h3), body: size(h3.closest('td').parentElement.nextElementSibling.querySelector('div'))}""" + """;
    });"""
    sizes = _run_in_frame(rendered.html, script, 600, tmp_path)
    assert sizes["h1"] > sizes["h2"] > sizes["h3"] >= 1.2 * sizes["body"], sizes
    assert sizes["body"] == 15


def test_with_images_off_the_alt_text_is_styled(rendered, tmp_path):
    """Images blocked (as many clients do by default): every image's alt text is in the email's sans-serif
    font and a set colour, not the browser's default serif."""
    script = """window.addEventListener('load', () => {
      """ + REPORT % """[...document.querySelectorAll('img')].map(img => ({alt: img.alt, loaded: img.naturalWidth,
        font: getComputedStyle(img).fontFamily, colour: getComputedStyle(img).color}))""" + """;
    });"""
    images = _run_in_frame(rendered.html, script, 600, tmp_path, ("--blink-settings=imagesEnabled=false",))
    assert images and all(image["loaded"] == 0 for image in images)
    assert all(image["font"].startswith("Helvetica") for image in images), images
    assert {image["colour"] for image in images} == {"rgb(82, 96, 109)", "rgb(255, 255, 255)"}


def test_without_an_image_the_topic_is_a_kicker_and_the_text_takes_the_width(rendered):
    """No block badge beside imageless entries: a small kicker above the title in a full-width column."""
    assert "dw-badge" not in rendered.html and "dw-kicker" in rendered.html
    assert rendered.mjml.count('css-class="dw-entry-image"') == sum(
        1 for entry in full_draft().sections.radar if entry.image) + sum(
        1 for entry in (*full_draft().sections.reading_corner, *full_draft().sections.events) if entry.image)


def test_outlook_tables_fit_the_content_width(rendered):
    """The divider's Outlook table is 552 px (600 less its 24 px sides), never the full 600 px."""
    dividers = re.findall(r'<table[^>]*style="border-top:solid 3px[^"]*width:(\d+)px', rendered.html)
    assert dividers and set(dividers) == {"552"}


def test_the_logo_alt_text_is_readable_with_images_off(rendered):
    """The header's links are white on the header's colour, not the body's link colour (1:1 contrast)."""
    header = re.search(r'class="dw-header.*?</table>\s*</div>', rendered.html, re.DOTALL)[0]
    links = re.findall(r"<a\b[^>]*>", header)
    assert links and all(re.search(r"color:#fff(?:fff)?\b", link.replace(" ", "")) for link in links)


def test_preheader_hides_without_a_low_contrast_colour(rendered):
    """The preheader is hidden by display and size, with no colour or tiny font a spam filter scores."""
    preheader = re.search(r'<div class="dw-preheader"[^>]*>', rendered.html)[0]
    assert "display:none" in preheader and "color" not in preheader and "font-size" not in preheader


def test_subject_stays_under_78_characters():
    """A long issue headline gives way in the Subject and the h1: topics go first, then the theme is cut."""
    draft = full_draft().model_copy(update={"headline": "Rules and reckonings: antitrust, data centres, "
                                                        "stablecoins and online safety of children"})
    rendered = render(draft, BrandSettings())
    assert len(rendered.subject) <= 78 and rendered.subject.startswith("DW Weekly #211 – Rules and reckonings: ")
    assert f">{rendered.subject}</h1>" in rendered.html


def test_dark_mode_keeps_accents_and_darkens_the_footer(rendered, tmp_path):
    """With prefers-color-scheme dark, section heads keep an accent colour, the kicker is not wiped, the
    footer is dark, and the text is light on dark."""
    script = """window.addEventListener('load', () => {
      const style = (selector, property) => getComputedStyle(document.querySelector(selector))[property];
      """ + REPORT % """{dark: matchMedia('(prefers-color-scheme: dark)').matches,
        section: style('h2.dw-section', 'color'), kicker: style('.dw-kicker', 'color'),
        footer: style('.dw-footer', 'background-color'), text: style('.dw-entry-text h3', 'color'),
        card: style('.dw-card', 'background-color')}""" + """;
    });"""
    colours = _run_in_frame(rendered.html, script, 600, tmp_path, DARK_FLAGS)
    assert colours["dark"]
    assert colours["section"] == colours["kicker"] == "rgb(255, 155, 122)"
    assert colours["footer"] == colours["card"] == "rgb(21, 32, 43)"
    assert colours["text"] == "rgb(230, 237, 243)"


def test_the_date_line_fits_one_line_on_a_phone(tmp_path):
    """At 375 px the longest date range and "View online" sit on one line."""
    draft = full_draft(radar=2, reading=0, events=0).model_copy(update={"date_range": "29 December 2025 – 5 January 2026"})
    email = render(draft.model_copy(update={"sections": Sections(radar=draft.sections.radar)}), BrandSettings()).html
    script = """window.addEventListener('load', () => {
      const link = [...document.querySelectorAll('.dw-header a')].find(a => a.textContent.includes('View online'));
      const date = link.previousElementSibling;
      """ + REPORT % "{date: date.getBoundingClientRect().top, link: link.getBoundingClientRect().top}" + """;
    });"""
    lines = _run_in_frame(email, script, 375, tmp_path)
    assert abs(lines["date"] - lines["link"]) < 2
