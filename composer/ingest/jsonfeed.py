"""JSON Feed 1.0 and 1.1 (jsonfeed.org), the third common feed format, read into the records of the
`weekly items --json` schema. A JSON Feed is told apart by its top-level `version` URL."""

from __future__ import annotations

from typing import Any

from composer.ingest._html import read_html
from composer.ingest._urls import clean_url


def is_json_feed(data: Any) -> bool:
    return (isinstance(data, dict) and str(data.get("version", "")).startswith("https://jsonfeed.org/version/")
            and isinstance(data.get("items"), list))


def json_feed_records(feed: dict) -> list[Any]:
    """One record per feed item (items that are not objects are passed on, to be reported as such)."""
    base = feed.get("home_page_url") or feed.get("feed_url")
    return [_record(item, base) if isinstance(item, dict) else item for item in feed["items"]]


def _record(item: dict, base: str | None) -> dict:
    html = item.get("content_html") or ""
    body = read_html(html) if isinstance(html, str) and html else None
    text = item.get("content_text") or item.get("summary") or ""
    paragraphs = body.paragraphs if body and body.paragraphs else read_html(str(text)).paragraphs
    image = item.get("image") or item.get("banner_image")
    inline = body.images[0] if body and body.images else None
    url = clean_url(item.get("url") or item.get("external_url") or (item.get("id") if _is_url(item.get("id")) else None),
                    base)
    record: dict[str, Any] = {"title": item.get("title") or None, "paragraphs": paragraphs, "url": url,
                              "published": item.get("date_published") or item.get("date_modified") or None,
                              "tags": [tag for tag in item.get("tags") or [] if isinstance(tag, str)]}
    image_url = clean_url(image, url or base) if isinstance(image, str) else None
    if not image_url and inline:
        image_url = clean_url(inline.src, url or base)
        record["image_alt"] = inline.alt
    record["image_url"] = image_url
    return record


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))
