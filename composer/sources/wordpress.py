"""A WordPress REST API (`/wp-json/wp/v2/…`) read as a feed: the week's posts of one post type.

The posts come by `after`/`before`, every page (`page`, `per_page`, `X-WP-TotalPages`); their category
and tag names, and their featured image with its alt text, come from the API's `categories`, `tags`
and `media` routes. They are written as the RSS 2.0 WordPress itself publishes (title, link, date,
categories, the excerpt as description, the content as content:encoded), so ingest reads them as it
reads the site's feed, and the same post read from both is one item. The featured image leads the
content as a figure with its alt text, where ingest takes an article's picture from.

A post route that fails fails the source; a category, tag or media route that fails (some sites close
`media`) leaves the names or pictures out, with a note.
"""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

from composer.config import SourceSettings
from composer.sources.http import Answer, Failure, FetchFailed

JSON = "application/json"
MAX_PAGES = 50  # a runaway API (a total that grows as we read) stops here, with a note
_CONTENT = "http://purl.org/rss/1.0/modules/content/"
_POST_FIELDS = "id,date,date_gmt,link,guid,title,content,excerpt,categories,tags,featured_media"

Get = Callable[[str, str], Awaitable[Answer]]


class Window(NamedTuple):
    """Posts published from `after` up to `before` (UTC)."""

    after: datetime
    before: datetime


class Posts(NamedTuple):
    feed: bytes  # the posts as an RSS 2.0 document
    answers: list[Answer]  # every answer read, for the conditional-GET cache
    notes: list[str]


async def wordpress_feed(get: Get, source: SourceSettings, window: Window) -> Posts:
    """The posts of `source.post_type` published in `window`, as RSS; FetchFailed when the posts cannot be read."""
    root = source.url.rstrip("/")
    answers: list[Answer] = []
    notes: list[str] = []
    posts: list[dict] = []
    query = {"after": _iso(window.after), "before": _iso(window.before), "per_page": source.per_page,
             "orderby": "date", "order": "desc", "_fields": _POST_FIELDS}
    for page in range(1, MAX_PAGES + 1):
        answer = await get(f"{root}/{source.post_type}?{urlencode({**query, 'page': page})}", JSON)
        answers.append(answer)
        found = _objects(answer, "posts")
        posts.extend(found)
        pages = answer.headers.get("x-wp-totalpages", "")
        last = page >= int(pages) if pages.isdigit() else len(found) < source.per_page
        if last:
            break
    else:
        notes.append(f"stopped after {MAX_PAGES} pages of posts")
    categories = await _lookup(get, root, "categories", _ids(posts, "categories"), "id,name", answers, notes)
    tags = await _lookup(get, root, "tags", _ids(posts, "tags"), "id,name", answers, notes)
    media = await _lookup(get, root, "media", _ids(posts, "featured_media"), "id,source_url,alt_text,caption",
                          answers, notes)
    return Posts(_rss(source, root, posts, categories, tags, media), answers, notes)


async def _lookup(get: Get, root: str, route: str, ids: list[int], fields: str, answers: list[Answer],
                  notes: list[str]) -> dict[int, dict]:
    """The objects of `route` with these ids, by id (100 at a time, the API's most per page)."""
    found: dict[int, dict] = {}
    for start in range(0, len(ids), 100):
        chunk = ids[start:start + 100]
        url = f"{root}/{route}?{urlencode({'include': ','.join(map(str, chunk)), 'per_page': 100, '_fields': fields})}"
        try:
            answer = await get(url, JSON)
            objects = _objects(answer, route)
        except FetchFailed as failed:
            notes.append(f"{route} not read ({failed}): the posts are kept without them")
            return found
        answers.append(answer)
        found.update({item["id"]: item for item in objects if isinstance(item.get("id"), int)})
    return found


def _objects(answer: Answer, what: str) -> list[dict]:
    """The JSON list of objects the API answered, or FetchFailed saying what came instead."""
    content_type = answer.headers.get("content-type", "").split(";")[0].strip() or "no Content-Type"
    try:
        data = json.loads(answer.body)
    except ValueError as err:
        if answer.body.lstrip()[:1] in (b"[", b"{"):  # the API's answer, cut off: the root is right
            raise FetchFailed(Failure.NOT_A_FEED, f"the WordPress REST API's {what} are not valid JSON ({err}): cut "
                              "off or damaged?") from err
        shape = "an HTML page" if answer.body.lstrip()[:1] == b"<" else "not JSON"
        raise FetchFailed(Failure.NOT_A_FEED, f"{shape} ({content_type}), not the WordPress REST API's {what}: is "
                          "the URL the API's root (https://SITE/wp-json/wp/v2)?") from err
    if not isinstance(data, list):
        detail = f"{data.get('code')}: {data.get('message')}" if isinstance(data, dict) else type(data).__name__
        raise FetchFailed(Failure.NOT_A_FEED, f"the WordPress REST API answered no list of {what} ({detail})")
    return [item for item in data if isinstance(item, dict)]


def _ids(posts: Iterable[dict], field: str) -> list[int]:
    ids: dict[int, None] = {}
    for post in posts:
        value = post.get(field)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and item > 0:
                ids[item] = None
    return sorted(ids)


def _rss(source: SourceSettings, root: str, posts: list[dict], categories: dict[int, dict], tags: dict[int, dict],
         media: dict[int, dict]) -> bytes:
    ET.register_namespace("content", _CONTENT)
    rss = ET.Element("rss", version="2.0")
    channel = ET.SubElement(rss, "channel")
    parts = urlsplit(root)
    ET.SubElement(channel, "title").text = source.name
    ET.SubElement(channel, "link").text = f"{parts.scheme}://{parts.netloc}"
    ET.SubElement(channel, "description").text = f"{source.post_type} from {root}"
    for post in posts:
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = html.unescape(_rendered(post, "title"))
        if isinstance(post.get("link"), str):
            ET.SubElement(item, "link").text = post["link"]
        guid = _rendered(post, "guid") or str(post.get("id", ""))
        ET.SubElement(item, "guid", isPermaLink="false").text = guid
        published = _published(post)
        if published:
            ET.SubElement(item, "pubDate").text = format_datetime(published, usegmt=True)
        for taxonomy, names in (("categories", categories), ("tags", tags)):
            for term in _ids([post], taxonomy):
                if term in names and isinstance(names[term].get("name"), str):
                    ET.SubElement(item, "category").text = html.unescape(names[term]["name"])
        excerpt = _rendered(post, "excerpt")
        if excerpt:
            ET.SubElement(item, "description").text = excerpt
        picture = media.get(post.get("featured_media") or 0)
        ET.SubElement(item, f"{{{_CONTENT}}}encoded").text = _figure(picture) + _rendered(post, "content")
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


def _rendered(post: dict, field: str) -> str:
    value = post.get(field)
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else ""


def _published(post: dict) -> datetime | None:
    """The post's date in UTC: `date_gmt` (WordPress gives it without a zone), else `date` taken as UTC."""
    for field in ("date_gmt", "date"):
        value = post.get(field)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _figure(picture: dict[str, Any] | None) -> str:
    if not picture or not isinstance(picture.get("source_url"), str):
        return ""
    alt = picture.get("alt_text")
    alt = alt if isinstance(alt, str) else ""
    caption = _rendered(picture, "caption")
    return (f'<figure><img src="{html.escape(picture["source_url"])}" alt="{html.escape(alt)}"/>'
            + (f"<figcaption>{caption}</figcaption>" if caption and not alt else "") + "</figure>")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
