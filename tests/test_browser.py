"""Layout in a real browser: headless Chromium (Debian package `chromium`) measures the rendered email.

The email is loaded into an iframe of exactly the width under test (headless Chromium will not make its
window narrower than 500 px); its media queries see the iframe's width, as a phone's would.

At 375 px nothing scrolls sideways, a Radar entry's image column sits above its text and its image
takes the column's width (fluid under 480 px); at 600 px they sit side by side, the image 172 px. `.ci/run` installs Chromium, so in CI (CI=true) a missing browser fails instead of
skipping.
"""

from __future__ import annotations

import html
import json
import os
import re

import pytest
from conftest import BROWSER
from issue_fixtures import full_draft

from composer.config import BrandSettings
from composer.preview import run_chromium
from composer.render import render

MEASURE = """<script>
window.addEventListener('load', () => {
  const box = (selector) => { const r = document.querySelector(selector).getBoundingClientRect();
                              return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  window.parent.document.body.setAttribute('data-metrics', JSON.stringify({
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    image: box('.dw-entry-image'), text: box('.dw-entry-text'), picture: box('.dw-image'),
    hero: document.querySelector('img[alt="Delegates in Geneva"]') ? box('img[alt="Delegates in Geneva"]') : null}));
});
</script></body>"""


@pytest.fixture(scope="module")
def email():
    if BROWSER is None:
        message = "headless Chromium is not installed (apt-get install chromium)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return render(full_draft(), BrandSettings()).html.replace("</body>", MEASURE)


def _measure(email: str, width: int, tmp_path) -> dict:
    page = tmp_path / f"frame-{width}.html"
    page.write_text(
        f'<!doctype html><html><body style="margin:0"><iframe style="border:0;width:{width}px;height:900px" '
        f'srcdoc="{html.escape(email, quote=True)}"></iframe></body></html>', encoding="utf-8")
    dom = run_chromium(BROWSER, tmp_path / f"profile-{width}", 800, 1000,
                       ["--virtual-time-budget=5000", "--dump-dom", page.as_uri()])
    found = re.search(r'data-metrics="([^"]*)"', dom)
    assert found, "the measuring script did not run"
    return json.loads(html.unescape(found[1]))


def test_at_375_px_no_horizontal_scroll_and_entry_stacks(email, tmp_path):
    """On a phone the email fits the screen and the Radar entry's image sits above its text."""
    metrics = _measure(email, 375, tmp_path)
    assert metrics["innerWidth"] == 375
    assert metrics["scrollWidth"] <= metrics["innerWidth"]
    image, text = metrics["image"], metrics["text"]
    assert text["top"] >= image["bottom"] - 1
    assert abs(text["left"] - image["left"]) < 2
    picture = metrics["picture"]
    assert picture["right"] - picture["left"] == text["right"] - text["left"] - 24  # the column less its padding
    assert picture["right"] - picture["left"] > 300


def test_at_375_px_the_hero_image_fits_the_phone(tmp_path):
    """A hero image, 600 px on a desktop, shrinks to the phone's width: no sideways scroll."""
    hero = full_draft(radar=2, reading=0, events=0).model_copy(
        update={"hero_image": "https://dig.watch/wp-content/uploads/2025/05/hero.jpg", "hero_alt": "Delegates in Geneva"})
    email = render(hero, BrandSettings()).html.replace("</body>", MEASURE)
    metrics = _measure(email, 375, tmp_path)
    assert metrics["scrollWidth"] <= metrics["innerWidth"] == 375
    assert 0 < metrics["hero"]["right"] - metrics["hero"]["left"] <= 375


def test_at_600_px_entry_image_and_text_side_by_side(email, tmp_path):
    """On a desktop client the image column and the text column share a row."""
    metrics = _measure(email, 600, tmp_path)
    assert metrics["innerWidth"] == 600
    image, text = metrics["image"], metrics["text"]
    assert abs(text["top"] - image["top"]) < 2
    assert text["left"] >= image["right"] - 1
    assert metrics["scrollWidth"] <= metrics["innerWidth"]
    assert metrics["picture"]["right"] - metrics["picture"]["left"] == 172  # whole pixels, as the attribute says
