"""The archive's Atom feed (RFC 4287): one entry per issue, newest first, linking to its web version."""

from __future__ import annotations

from datetime import UTC, datetime, time
from xml.etree import ElementTree

from composer.config import BrandSettings
from composer.models import Draft
from composer.render import subject_line
from composer.render.strings import Strings
from composer.web.paths import FEED, archive_url

_ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(drafts: list[Draft], brand: BrandSettings, strings: Strings) -> str:
    """The feed of the issues `drafts` (newest first), each dated by the end of its week."""
    ElementTree.register_namespace("", _ATOM)
    home = archive_url(brand.web_url)
    feed = ElementTree.Element(f"{{{_ATOM}}}feed", {"xml:lang": strings.language})
    _text(feed, "id", home)
    _text(feed, "title", strings.email.archive.format(name=brand.name))
    _text(feed, "updated", _stamp(max((draft.week_end for draft in drafts), default=None)))
    _link(feed, "self", home + FEED, "application/atom+xml")
    _link(feed, "alternate", home, "text/html")
    _text(ElementTree.SubElement(feed, f"{{{_ATOM}}}author"), "name", brand.publisher)
    _text(feed, "icon", brand.logo_url)
    for draft in drafts:
        url = brand.web_url.replace("{number}", str(draft.number))
        entry = ElementTree.SubElement(feed, f"{{{_ATOM}}}entry")
        _text(entry, "id", url)
        _text(entry, "title", subject_line(draft, brand))
        _text(entry, "updated", _stamp(draft.week_end))
        _link(entry, "alternate", url, "text/html")
        _text(entry, "summary", f"{draft.date_range}: {draft.preheader}")
    return ElementTree.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"


def _text(parent: ElementTree.Element, name: str, text: str) -> None:
    ElementTree.SubElement(parent, f"{{{_ATOM}}}{name}").text = text


def _link(parent: ElementTree.Element, rel: str, href: str, kind: str) -> None:
    ElementTree.SubElement(parent, f"{{{_ATOM}}}link", {"rel": rel, "href": href, "type": kind})


def _stamp(day) -> str:
    """An RFC 3339 date-time: the day's midnight UTC (an empty archive: the epoch)."""
    moment = datetime.combine(day, time(), UTC) if day else datetime.fromtimestamp(0, UTC)
    return moment.isoformat().replace("+00:00", "Z")
