"""Render: Jinja -> MJML -> HTML -> inlined CSS; escaping, layout rules, size budget, text part, snapshot."""

from __future__ import annotations

import os
import re
from datetime import date
from email import message_from_bytes
from email.policy import default

import pytest
from conftest import DATA, IDENTITY, run_weekly
from issue_fixtures import IMAGE, full_draft

from composer.config import BrandSettings, IssueSettings
from composer.draft import write_draft
from composer.errors import ConfigError
from composer.models import Draft, Entry, Sections
from composer.render import render
from composer.render.strings import load_strings, strings_for
from composer.summarise import date_range

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
    assert all(link.startswith(("https://", "mailto:", "#dw-radar-")) for link in re.findall(r'(?:href|src)="([^"]*)"', html))
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
    """Two builds into the output folder: out/index.html links both, #211 before #210, at their web_url
    (relative to the index, which is served at brand.web_url's folder)."""
    env = {**os.environ, "WEEKLY_OUTPUT__DIR": str(tmp_path / "out")}
    assert run_weekly("build", env=env).returncode == 0
    assert run_weekly("build", "--issue", "211", env=env).returncode == 0
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert index.index('href="211/"') < index.index('href="210/"')


def test_hero_image_shows_when_the_draft_has_one():
    """A hero_image in the draft appears under the header with its alt text; without one there is none."""
    hero = "https://dig.watch/wp-content/uploads/2025/05/hero.jpg"
    with_hero = render(full_draft().model_copy(update={"hero_image": hero, "hero_alt": "Delegates in Geneva"}),
                       BrandSettings())
    assert re.search(rf'<img[^>]*alt="Delegates in Geneva"[^>]*src="{re.escape(hero)}"', with_hero.html)
    assert hero not in render(full_draft(), BrandSettings()).html


def _over_72(text: str) -> list[str]:
    """Lines wider than 72 columns, other than a URL alone on its line (indented or not)."""
    return [line for line in text.splitlines() if len(line) > 72 and not re.fullmatch(r" *https?://\S+", line)]


def test_text_part_keeps_to_72_columns_bullets_and_indents_counted(rendered, tmp_path):
    """No line over 72 columns but lone URLs: the fixture issue, a long title and address, and the seeds'
    issue as a reader gets it (issue.eml, its unsubscribe link grown by a token)."""
    assert _over_72(rendered.text) == []
    long = full_draft(radar=1, reading=0, events=1)
    entry = long.sections.radar[0].model_copy(update={"title": "W" * 5 + " a headline" * 12, "teaser": "x " * 120})
    brand = BrandSettings(postal_address="DiploFoundation, 7bis Avenue de la Paix, 1202 Geneva, Switzerland, "
                                         "and a second line of address that goes on")
    text = render(long.model_copy(update={"sections": Sections(radar=(entry,))}), brand).text
    assert _over_72(text) == [] and "\n* WWWWW a headline a" in text and "\n  headline a headline" in text
    env = {**os.environ, "WEEKLY_SIGNING_KEY": "k" * 40}
    assert run_weekly("build", "-o", str(tmp_path / "210"), env=env).returncode == 0
    sent = message_from_bytes((tmp_path / "210" / "issue.eml").read_bytes(), policy=default)
    text = sent.get_body(("plain",)).get_content()
    assert "?token=" in text and _over_72(text) == []


def test_image_widths_are_whole_pixels(rendered):
    """Outlook reads the width attribute and the Outlook table cells: no 171.84, anywhere."""
    widths = re.findall(r'\bwidth="([^"]*)"', rendered.html) + re.findall(r"width:\s*([\d.]+)px", rendered.html)
    assert widths and all(re.fullmatch(r"\d+(px|%)?", width) for width in widths), sorted(set(widths))
    assert re.findall(r'<img class="dw-image"[^>]*width="(\d+)"', rendered.html)[0] == "172"


FRENCH = DATA / "strings" / "fr.toml"


def _french_draft() -> Draft:
    """An edition written in French, as a French summariser (or editor) would leave it."""
    def entry(number: int, **extra) -> Entry:
        return Entry(title=f"Le régulateur européen sanctionne une plateforme, épisode {number}",
                     teaser=f"Une décision qui change la donne pour les données des utilisateurs, selon l'autorité ({number}).",
                     url=f"https://dig.watch/fr/mises-a-jour/{number}", image=IMAGE if number % 2 else None,
                     image_alt="Photo d'illustration" if number % 2 else None, topic=None, item_id=f"fr{number:014d}",
                     **extra)

    return Draft(number=211, headline="Marchés et régulation : Google, TikTok et l'UE", week_start=date(2025, 5, 2),
                 week_end=date(2025, 5, 9), date_range="2 – 9 mai 2025",
                 preheader="Google, TikTok et l'UE au cœur d'une semaine chargée.", greeting="Chers lecteurs,",
                 editorial=("La régulation a donné le ton cette semaine.", "Pour l'essentiel, consultez le Radar ci-dessous."),
                 signoff="L'équipe DW",
                 sections=Sections(radar=tuple(entry(n) for n in range(1, 4)), reading_corner=(entry(4),),
                                   events=(entry(5, when="13 mai 2025", where="En ligne"),)))


def test_a_french_edition_has_no_english_left():
    """With the French catalogue (and brand words in French), neither the email, its web version nor its
    text part has an English word: every fixed word came from the catalogue."""
    strings = strings_for(IssueSettings(language="fr", strings=FRENCH))
    brand = BrandSettings(name="DW Hebdo", publisher="Observatoire genevois du numérique",
                          postal_address="DiploFoundation, 7bis avenue de la Paix, 1202 Genève, Suisse")
    result = render(_french_draft(), brand, strings)
    english = load_strings()
    fixed = [value for table in (english.email, english.text) for value in table.model_dump().values()]
    words = {"the", "of", "and", "in", "this", "your", "you", "view", "read", "more", "week", "highlights",
             "issue", "browser", "unsubscribe", "online", "upcoming", "events", "reading", "corner", "receive",
             "because", "subscribed", "updates", "digital", "policy"}
    assert '<html lang="fr"' in result.html and '<html lang="fr"' in result.web_html
    for name, content in (("html", result.html), ("web", result.web_html), ("text", result.text)):
        visible = re.sub(r"<style.*?</style>|<!--.*?-->|<[^>]*?(?:alt|title|aria-label)=\"([^\"]*)\"[^>]*>|<[^>]+>",
                         lambda match: f" {match[1] or ''} ", content, flags=re.DOTALL)
        visible = re.sub(r"https?://\S+", " ", visible)
        found = {word for word in re.findall(r"[A-Za-zÀ-ÿ']+", visible) if word.lower() in words}
        assert found == set(), (name, found)
        assert not [value for value in fixed if "{" not in value and value in visible], name
    assert "Dans ce numéro" in result.html and "À LA UNE" in result.html and "Se désabonner" in result.text


def test_a_catalogue_must_be_complete(tmp_path):
    """A catalogue that lacks a key, misspells one, or says another language is refused by name."""
    lacking = tmp_path / "de.toml"
    lacking.write_text(FRENCH.read_text(encoding="utf-8").replace("in_this_issue", "in_this_isue", 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"de.toml: email.in_this_isue: unknown key"):
        load_strings(lacking)
    with pytest.raises(ConfigError, match=r"its language is 'fr' but issue.language is 'de'"):
        strings_for(IssueSettings(language="de", strings=FRENCH))
    with pytest.raises(ConfigError, match=r"no strings catalogue there \(bundled: en\)"):
        strings_for(IssueSettings(language="xx"))


@pytest.mark.parametrize(("start", "end"), [(date(2025, 4, 18), date(2025, 4, 25)), (date(2025, 4, 25), date(2025, 5, 2)),
                                            (date(2025, 12, 29), date(2026, 1, 5))])
def test_the_catalogue_dates_are_the_summarisers(start, end):
    """The English catalogue writes the week as the summariser does today; French in its own words."""
    assert load_strings().date_range(start, end) == date_range(start, end)
    french = load_strings(FRENCH)
    assert french.date_range(date(2025, 4, 25), date(2025, 5, 2)) == "25 avril – 2 mai 2025"
    assert french.day(date(2025, 5, 13)) == "13 mai 2025"


LONG_PARAGRAPH = " ".join([
    "The European Commission opened a consultation on the rules for data spaces in the single market this week.",
    "Member states are asked to say how public bodies should share the data they hold with firms and researchers.",
    "Several governments argued that the rules must protect personal data while letting research go ahead.",
    "Industry groups welcomed the move but asked for clear timelines and one set of forms across the union.",
    "Civil society organisations warned that weak oversight could let large platforms gather more data.",
    "The consultation will run until the end of February, after which the Commission will publish a summary.",
    "A draft regulation is expected in the second half of next year, with a vote in Parliament later on.",
    "Observers noted that similar efforts in health data took several years to agree on among capitals.",
    "Some experts said the new rules should be tested in pilot projects before they apply to every sector.",
    "Others pointed out that small firms often lack the staff to follow long and complex procedures.",
    "The Commission promised guidance and a help desk for smaller companies taking part in data spaces.",
    "National data protection authorities will be consulted on the privacy aspects of the proposal.",
    "The debate is likely to continue at the Internet Governance Forum later this year in Geneva.",
    "Readers can follow the process on the Digital Watch observatory, which tracks every step.",
])


def _long_draft(paragraph: str = LONG_PARAGRAPH, teaser: str = LONG_PARAGRAPH[:1000].rsplit(" ", 1)[0] + ".",
                url: str | None = None) -> Draft:
    draft = full_draft()
    radar = list(draft.sections.radar)
    radar[1] = radar[1].model_copy(update={"teaser": teaser, **({"url": url} if url else {})})
    return draft.model_copy(update={"editorial": (*draft.editorial[:2], paragraph, *draft.editorial[2:]),
                                    "sections": draft.sections.model_copy(update={"radar": tuple(radar)})})


def _tree(html: str) -> list:
    """What a browser makes of `html`: each element's tag and attributes, its text and tail with runs of
    whitespace as one space (HTML's collapsing, outside <pre>) and none between tags (a break between block
    tags adds such text, which is not shown; so in Outlook's conditional comments)."""
    from lxml import html as lxml_html

    def fold(text: str | None) -> str:
        folded = re.sub(r"\s+", " ", text or "")
        return "" if folded == " " else folded

    return [(element.tag, sorted(element.attrib.items()),
             fold(re.sub(r">\s+<", "><", element.text or "") if callable(element.tag) else element.text),
             fold(element.tail))
            for element in lxml_html.document_fromstring(html).iter()]


def test_a_long_paragraph_and_teaser_render_within_smtp_lines(tmp_path, dkim_keys):
    """An editorial paragraph of 14 sentences (about 1,400 bytes) and a teaser of 1,000 bytes: `weekly render`
    succeeds, every line of the .eml is within 998 bytes, `weekly check` passes, and the email's HTML part
    reads in a browser exactly as index.html does."""
    assert len(LONG_PARAGRAPH) > 1000
    write_draft(_long_draft(), tmp_path / "t.yaml")
    env = {**os.environ, **IDENTITY, **dkim_keys.env()}
    done = run_weekly("render", str(tmp_path / "t.yaml"), "-o", str(tmp_path / "out"), env=env)
    assert done.returncode == 0, done.stderr
    eml = (tmp_path / "out" / "issue.eml").read_bytes()
    assert max(len(line.rstrip(b"\r")) for line in eml.split(b"\n")) <= 998
    checked = run_weekly("check", str(tmp_path / "out"), env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    index = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert any(len(line.encode()) > 998 for line in index.splitlines())  # the case this test is about
    sent = message_from_bytes(eml, policy=default).get_body(("html",)).get_content()
    unsubscribe = re.search(r'href="([^"]*unsubscribe[^"]*)"', sent)[1]  # the sample reader's own link
    assert _tree(sent) == _tree(index.replace("https://dig.watch/newsletter/unsubscribe", unsubscribe))
    assert all(" ".join(text.split()) in " ".join(sent.split()) for text in (LONG_PARAGRAPH, _long_draft()
                                                                              .sections.radar[1].teaser))


@pytest.mark.parametrize(("change", "holder"), [
    ({"paragraph": "See " + "x" * 1100 + " for more."}, "editorial paragraph 3 has a word or link of 1100 bytes"),
    ({"url": "https://dig.watch/" + "a" * 1100}, "the url of Radar entry 2 ('Radar story 2: a regulator"),
])
def test_a_word_too_long_for_any_line_is_named(tmp_path, change, holder):
    """A 1,100-byte word or link cannot be broken: render exits 1 with one line naming the draft file and
    what holds it, and writes nothing."""
    write_draft(_long_draft(**change), tmp_path / "t.yaml")
    done = run_weekly("render", str(tmp_path / "t.yaml"), "-o", str(tmp_path / "out"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"error: {tmp_path / 't.yaml'}: {holder}") and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "out" / "index.html").exists()
