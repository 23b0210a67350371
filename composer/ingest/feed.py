"""RSS 2.0 and Atom feeds, WordPress and FeedBurner ones included, parsed from bytes (never fetched).

For each entry: the article is the richest of its texts (content:encoded, Atom content, description),
never one that is only an image's caption (HuffPost puts the caption where the body should be); body
text is decided by the HTML's structure; boilerplate and a cut-off last sentence are removed; the URL
is the article's own (FeedBurner's origLink, a redirector's target), without tracking, and relative
links and images are resolved against the entry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from composer.ingest._boilerplate import article_text
from composer.ingest._html import Body, Image, read_html
from composer.ingest._lines import body, clean, with_final_stop
from composer.ingest._urls import clean_url
from composer.ingest._wellformed import MALFORMED, malformed
from composer.models import Item, ItemKind, Problem, content_id

# Category names WordPress sites use for posts that are not news.
_KIND_BY_CATEGORY: dict[str, ItemKind] = {"event": "event", "events": "event", "blog": "blog", "blogs": "blog"}


def parse_feed(data: bytes, source: str) -> tuple[list[Item], list[Problem]]:
    """The entries of one feed document as items."""
    import feedparser  # deferred: it costs a tenth of a second at start-up

    safe = _xml_safe(data)
    parsed = feedparser.parse(safe)
    if not parsed.entries:
        if parsed.bozo or not parsed.version:
            reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
            return [], [Problem(level="error", path=source, message=f"not a valid RSS or Atom feed: {reason}")]
        return [], [Problem(level="warning", path=source, message="feed has no entries")]
    feed_link = parsed.feed.get("link") or None
    items, problems = [], []
    for position, entry in enumerate(parsed.entries):
        item = _item(entry, position, source, feed_link)
        if item is None:
            label = clean(entry.get("title") or "") or entry.get("link") or f"entry {position + 1}"
            problems.append(Problem(level="warning", path=source, message=f"{label}: no text, skipped"))
        else:
            items.append(item)
    fault = malformed(safe, parsed.get("encoding"))
    if fault:
        # The entries before the fault are read all the same: a file on disk has nothing better to offer.
        problems.append(Problem(level="error", path=source, code=MALFORMED,
                                message=f"not well-formed XML: {fault} (cut off or damaged?)"))
    return items, problems


# Characters XML 1.0 forbids, raw or as references (&#xD800; &#1;): feedparser may crash on them, and they
# must never reach an email. Tab, line feed and carriage return are allowed.
_RAW_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CHAR_REFERENCE = re.compile(rb"&#(x[0-9a-fA-F]{1,8}|[0-9]{1,10});")


def _xml_safe(data: bytes) -> bytes:
    def allowed(match: re.Match) -> bytes:
        ref = match[1].decode()
        code = int(ref[1:], 16) if ref[0] in "xX" else int(ref)
        valid = code in (9, 10, 13) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
        return match[0] if valid else b""

    return _CHAR_REFERENCE.sub(allowed, _RAW_CONTROLS.sub(b"", data))


def _item(entry, position: int, source: str, feed_link: str | None) -> Item | None:
    link = entry.get("feedburner_origlink") or entry.get("link") or None
    base = link or feed_link
    text = _article(entry)
    kept = article_text(text.paragraphs)
    paragraphs, line_tags = body(kept.paragraphs)
    if not paragraphs:
        return None
    # article_text already dropped a sentence cut short before "Continue reading": what is left is whole.
    paragraphs = [with_final_stop(text) for text in paragraphs]
    title = clean(_plain(entry.get("title") or "")) or None
    categories = [clean(tag.get("term") or "") for tag in entry.get("tags") or []]
    categories = [name for name in categories if name]
    kind = next((_KIND_BY_CATEGORY[c.lower()] for c in categories if c.lower() in _KIND_BY_CATEGORY), "news")
    image = _image(entry, text.images, base)
    return Item(
        id=content_id(title, paragraphs),
        title=title,
        paragraphs=tuple(paragraphs),
        kind=kind,
        url=clean_url(link, feed_link),
        published=_published(entry),
        tags=tuple(dict.fromkeys([*categories, *line_tags])),
        image_url=image.src if image else None,
        image_alt=image.alt if image else None,
        source=source,
        position=position,
        truncated=kept.truncated,
    )


def _article(entry) -> Body:
    """The richest of the entry's texts that is not just a caption of its pictures."""
    texts = [read_html(content.get("value") or "") for content in entry.get("content") or []]
    texts.append(read_html(entry.get("summary") or ""))
    captions = {caption.casefold() for text in texts for caption in text.captions}
    captions |= {clean(media.get("description") or "").casefold() for media in entry.get("media_content") or []}
    articles = [text for text in texts if " ".join(text.paragraphs).casefold() not in captions] or texts
    richest = max(articles, key=lambda text: sum(map(len, text.paragraphs)))
    richest = richest._replace(paragraphs=[text for text in richest.paragraphs if text.casefold() not in captions])
    # The images may sit in another of the texts (HuffPost's caption text has none; its description has).
    return richest._replace(images=[image for text in (richest, *texts) for image in text.images])


def _plain(title: str) -> str:
    """A title without the markup some feeds leave in it (Google Alerts' <b>)."""
    return " ".join(read_html(title).paragraphs) if "<" in title else title


def _published(entry) -> datetime | None:
    moment = entry.get("published_parsed") or entry.get("updated_parsed")
    if not moment:
        return None
    year, month, day, hour, minute, second = moment[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _image(entry, inline: list[Image], base: str | None) -> Image | None:
    """The entry's picture: media:content, media:thumbnail, an image enclosure, else the first <img>;
    resolved against the entry's link, http(s) only."""
    candidates = [Image(media.get("url") or "", clean(media.get("description") or "") or None)
                  for media in [*(entry.get("media_content") or []), *(entry.get("media_thumbnail") or [])]
                  if media.get("medium", "image") == "image" and (media.get("type") or "image/").startswith("image/")]
    candidates += [Image(link.get("href") or "", None) for link in entry.get("links") or []
                   if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/")]
    candidates += inline
    for image in candidates:
        url = clean_url(image.src, base)
        if url:
            return Image(url, image.alt or _alt_of_same_picture(url, inline))
    return None


def _alt_of_same_picture(url: str, inline: list[Image]) -> str | None:
    """The alt text of an inline <img> showing the same picture as a media:content one, often through an
    image CDN that carries the original's address in its own (HuffPost)."""
    name = unquote(urlsplit(url).path).rsplit("/", 1)[-1]
    return next((image.alt for image in inline if image.alt and name and name in unquote(unquote(image.src))), None)
