"""Render: Draft -> MJML (Jinja2, autoescaped) -> HTML (mjml-python) -> CSS inlined (premailer); text part.

mjml-python gets fonts={} and our own social icon origin so the HTML links nothing we did not choose.
premailer's defaults are wrong for MJML output: it would fetch linked
stylesheets, strip the `!important` that MJML's `min-width:480px` media query needs (desktop columns
would collapse) and flood the log with cssutils warnings about mso-* properties. All three are set.
"""

from __future__ import annotations

import logging
import re
import textwrap
from functools import lru_cache
from urllib.parse import quote_plus

from composer.config import BrandSettings, bundled
from composer.errors import RenderError
from composer.models import Draft, Entry, RenderedIssue
from composer.render.strings import Strings, load_strings
from composer.web.paths import FEED, archive_url

TEMPLATES = bundled("templates")
_TEXT_WIDTH = 72
MAX_SUBJECT = 78


def render(draft: Draft, brand: BrandSettings, strings: Strings | None = None) -> RenderedIssue:
    """The email (HTML and text) and the web version of `draft`, its fixed words from `strings` (English
    unless given: see strings.strings_for)."""
    strings = strings or load_strings()
    subject = subject_line(draft, brand)
    email = strings.email
    context = {
        "draft": draft,
        "brand": brand,
        "strings": strings,
        "subject": subject,
        "title_line": subject,
        "link_for": _links(brand),
        "anchor": _anchor,
        "web_url": brand.web_url.replace("{number}", str(draft.number)),
        "archive_url": archive_url(brand.web_url),
        "feed_url": archive_url(brand.web_url) + FEED,
        "unsubscribe_url": brand.unsubscribe_url,
        "footer_text": brand.footer_text or email.footer.format(name=brand.name, publisher=brand.publisher),
        "sections": [
            (email.radar, email.radar_subtitle.format(date_range=draft.date_range), draft.sections.radar),
            (email.reading_corner, None, draft.sections.reading_corner),
            (email.events, None, draft.sections.events),
        ],
    }
    mjml = _template("issue.mjml.j2", context, web=False)
    html, text = _inline(_compile(mjml, brand)), _template("issue.txt.j2", context, web=False)
    _fits_in_mail(draft, html, text)
    return RenderedIssue(
        subject=subject,
        mjml=mjml,
        html=html,
        text=text,
        web_html=_inline(_compile(_template("issue.mjml.j2", context, web=True), brand)),
    )


def _fits_in_mail(draft: Draft, html: str, text: str) -> None:
    """RenderError naming what in the draft holds a word or link too long for any line of the email (SMTP:
    998 bytes): the HTML part breaks at any space (deliver.message.fit_line_length), the text part at 72
    columns, but neither can break a word. The web version and the MJML are never mailed."""
    from composer.deliver.message import MAX_LINE, LineTooLong, fit_line_length

    try:
        fit_line_length(html)
    except LineTooLong as err:
        raise _too_long(draft, err.fragment, "HTML") from err
    long_line = next((line for line in text.splitlines() if len(line.encode()) > MAX_LINE), None)
    if long_line is not None:
        raise _too_long(draft, long_line, "text")


class LongWord(RenderError):
    """A word or link of the draft too long for a line of the email; the message names where it is."""


def _too_long(draft: Draft, fragment: str, part: str) -> LongWord:
    from html import unescape

    words = re.findall(r"""[^\s"'<>]+""", unescape(re.sub(r"<[^>]*>", " ", fragment)) or fragment)
    word = max(words, key=len, default=fragment).removeprefix("href=").removeprefix("src=")
    places = [(f"editorial paragraph {number}", paragraph) for number, paragraph in enumerate(draft.editorial, 1)]
    places += [(name, getattr(draft, name)) for name in ("headline", "preheader", "greeting", "signoff", "hero_image")]
    for section, entries in (("Radar", draft.sections.radar), ("Reading Corner", draft.sections.reading_corner),
                             ("Events", draft.sections.events)):
        places += [(f"the {field} of {section} entry {number} ({entry.title[:50]!r})", getattr(entry, field))
                   for number, entry in enumerate(entries, 1) for field in ("title", "teaser", "url", "image")]
    holder = next((name for name, value in places if value and word[:200] in value), "a setting or template")
    return LongWord(f"{holder} has a word or link of {len(word.encode())} bytes ({word[:40]!r}…), too long for "
                       f"a line of the email's {part} part (SMTP allows 998 bytes a line): shorten it or add spaces")


def subject_line(draft: Draft, brand: BrandSettings) -> str:
    """"DW Weekly #210 – theme: topics", within the 78 characters a Subject should keep to (RFC 5322):
    topic phrases are dropped from the end, then the theme alone is used."""
    start = f"{brand.name} #{draft.number} – "
    headline = draft.headline
    while len(start + headline) > MAX_SUBJECT and (", " in headline or " and " in headline):
        head, _, topics = headline.partition(": ")
        parts = [part for chunk in topics.split(", ") for part in chunk.split(" and ")]
        headline = f"{head}: {', '.join(parts[:-2])} and {parts[-2]}" if len(parts) > 2 else head
    if len(start + headline) > MAX_SUBJECT:
        headline = headline.partition(": ")[0][: MAX_SUBJECT - len(start)].rsplit(" ", 1)[0]
    return start + headline


def page(name: str, strings: Strings | None = None, **context) -> str:
    """A plain HTML page from templates/ (the archive index), autoescaped."""
    return _template(name, {**context, "strings": strings or load_strings()}, web=True)


def _template(name: str, context: dict, web: bool) -> str:
    import jinja2

    try:
        return _environment().get_template(name).render(**context, web=web)
    except jinja2.TemplateSyntaxError as err:
        raise RenderError(f"{TEMPLATES / (err.filename or name)}:{err.lineno}: {err}") from err
    except jinja2.TemplateError as err:
        raise RenderError(f"{TEMPLATES / name}: {err}") from err


def _compile(mjml: str, brand: BrandSettings) -> str:
    from mjml import mjml2html

    try:
        return mjml2html(mjml, disable_comments=True, fonts={}, social_icon_origin=brand.site_url)
    except Exception as err:  # MRML raises its own error types; all mean the same to the user
        raise RenderError(f"MJML did not compile: {err}") from err


# Marks the <mj-style inline="inline"> block in issue.mjml.j2: the only CSS premailer inlines.
INLINE_MARKER = "/* weekly:inline */"
_STYLE_TAG = re.compile(r"<style(?=[\s>])([^>]*)>(.*?)</style>", re.DOTALL)


def _inline(html: str) -> str:
    """Inline our own inline="inline" rules; MJML's reset and media-query blocks stay in <head>.

    Inlining MJML's resets (`table, td {…}`, `img {…}`) onto every element would add about 15 KB to a
    20-entry issue for nothing: clients that honour those rules read them from <head> as MJML intends.
    """
    from premailer import Premailer

    def keep_unless_ours(match: re.Match) -> str:
        if INLINE_MARKER in match[2]:
            return match[0]
        return f'<style data-premailer="ignore"{match[1]}>{match[2]}</style>'

    inlined = Premailer(
        _STYLE_TAG.sub(keep_unless_ours, html),
        allow_network=False,
        strip_important=False,
        keep_style_tags=False,  # rules that cannot be inlined (@media) are kept in a <style> block
        remove_classes=False,  # the dark-mode and layout media queries select by class
        disable_validation=True,
        # premailer would copy an inlined img rule's width:100% into width="100%" over our whole-pixel width
        # attribute, which is what Outlook for Windows sizes images by.
        disable_basic_attributes=["width", "height"],
        cssutils_logging_level=logging.CRITICAL,
    ).transform().replace(' data-premailer="ignore"', "")
    # lxml drops the doctype MJML wrote; without it clients render in quirks mode.
    doctype = html[: html.index(">") + 1] if html.lower().startswith("<!doctype") else ""
    return inlined if inlined.lower().startswith("<!doctype") else doctype + "\n" + inlined


def _links(brand: BrandSettings):
    def link_for(entry: Entry) -> str | None:
        """The entry's own URL, else the brand's page for entries without one (a search), else None."""
        if entry.url:
            return entry.url
        return brand.fallback_url.replace("{query}", quote_plus(entry.title)) if brand.fallback_url else None

    return link_for


def _anchor(number: int) -> str:
    """The id of the Radar entry `number` (from 1), which "In this issue" links to."""
    return f"dw-radar-{number}"


def _wrap(text: str, first: str = "", indent: str = "") -> str:
    """`text` in lines of at most 72 columns, the first starting with `first` (a bullet), the others with
    `indent`, both counted; a word longer than a line (a URL) stands alone on its line, unbroken."""
    return textwrap.fill(" ".join(text.split()), width=_TEXT_WIDTH, initial_indent=first, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["wrap"] = _wrap
    return environment
