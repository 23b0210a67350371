"""Where the web pages are: each public URL from the settings, and the path `weekly serve` answers it at.

`weekly serve` answers every page at the path of its public URL, so a proxy that passes paths on as they
are (the README's nginx and Caddy blocks) needs no rewriting: brand.web_url's path gives the archive
(`/newsletter/210/`, the index at `/newsletter/`, the feed at `/newsletter/feed.xml`), brand.subscribe_url's
the sign-up form, brand.unsubscribe_url's the unsubscribe page; pages of their own sit beside them.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

NUMBER = "{number}"
FEED = "feed.xml"


def path_of(url: str) -> str:
    return urlsplit(url).path or "/"


def beside(url: str, name: str) -> str:
    """The URL of the page `name` next to `url` (…/newsletter/unsubscribe -> …/newsletter/leave)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rsplit("/", 1)[0] + "/" + name, query="", fragment=""))


def leave_url(unsubscribe_url: str) -> str:
    """The page that tells readers of a list address (--to) how to leave: their footer's link."""
    return beside(unsubscribe_url, "leave")


def confirm_url(subscribe_url: str) -> str:
    return beside(subscribe_url, "confirm")


def archive_url(web_url: str) -> str:
    """The archive's index: brand.web_url up to the segment with {number} (https://dig.watch/newsletter/)."""
    parts = urlsplit(web_url)
    head = parts.path.split(NUMBER, 1)[0]
    return urlunsplit(parts._replace(path=head[: head.rfind("/") + 1] or "/", query="", fragment=""))


def issue_link(web_url: str, number: int) -> str:
    """Issue `number`'s web version relative to the archive index ("210/"), so the index works wherever
    it is served from."""
    path = path_of(web_url)
    base = path_of(archive_url(web_url))
    return path[len(base):].replace(NUMBER, str(number)) if path.startswith(base) else \
        web_url.replace(NUMBER, str(number))
