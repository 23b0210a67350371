"""RSS 2.0 and Atom feeds, WordPress ones included (content:encoded, categories, media images)."""

from __future__ import annotations

from datetime import UTC, datetime

from composer.ingest._html import html_paragraphs
from composer.ingest._lines import body, clean
from composer.models import Item, ItemKind, Problem, content_id

# Category names WordPress sites use for posts that are not news.
_KIND_BY_CATEGORY: dict[str, ItemKind] = {"event": "event", "events": "event", "blog": "blog", "blogs": "blog"}


def parse_feed(data: bytes, source: str) -> tuple[list[Item], list[Problem]]:
    """The entries of one feed document as items; it is parsed from bytes, never fetched."""
    import feedparser  # deferred: it costs a tenth of a second at start-up

    parsed = feedparser.parse(data)
    if not parsed.entries:
        if parsed.bozo or not parsed.version:
            reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
            return [], [Problem(level="error", path=source, message=f"not a valid RSS or Atom feed: {reason}")]
        return [], [Problem(level="warning", path=source, message="feed has no entries")]
    items, problems = [], []
    for position, entry in enumerate(parsed.entries):
        item = _item(entry, position, source)
        if item is None:
            label = entry.get("title") or entry.get("link") or f"entry {position + 1}"
            problems.append(Problem(level="warning", path=source, message=f"{label}: no text, skipped"))
        else:
            items.append(item)
    return items, problems


def _item(entry, position: int, source: str) -> Item | None:
    contents = entry.get("content") or []
    html = contents[0].get("value", "") if contents else entry.get("summary", "")
    raw_paragraphs, inline_image = html_paragraphs(html)
    paragraphs, line_tags = body(raw_paragraphs)
    if not paragraphs:
        return None
    title = clean(entry.get("title", "")) or None
    categories = [clean(tag.get("term") or "") for tag in entry.get("tags", [])]
    categories = [name for name in categories if name]
    kind = next((_KIND_BY_CATEGORY[c.lower()] for c in categories if c.lower() in _KIND_BY_CATEGORY), "news")
    image_url, image_alt = _image(entry, inline_image)
    return Item(
        id=content_id(title, paragraphs),
        title=title,
        paragraphs=tuple(paragraphs),
        kind=kind,
        url=entry.get("link") or None,
        published=_published(entry),
        tags=tuple(dict.fromkeys([*categories, *line_tags])),
        image_url=image_url,
        image_alt=image_alt,
        source=source,
        position=position,
    )


def _published(entry) -> datetime | None:
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    if not moment:
        return None
    year, month, day, hour, minute, second = moment[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _image(entry, inline_image: tuple[str, str | None] | None) -> tuple[str | None, str | None]:
    """The entry's picture: media:content, media:thumbnail, an image enclosure, else the first <img>."""
    for media in [*entry.get("media_content", []), *entry.get("media_thumbnail", [])]:
        if media.get("url") and media.get("medium", "image") == "image":
            return media["url"], None
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and link.get("type", "").startswith("image/") and link.get("href"):
            return link["href"], None
    if inline_image:
        return inline_image
    return None, None
