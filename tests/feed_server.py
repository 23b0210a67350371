"""A web server on 127.0.0.1 for the sources tests: real feeds, a fake WordPress REST API, and a bad week.

    with FeedServer() as server:
        server.url("/feeds/guardian-us-2018.rss")        a corpus feed (tests/data/corpus), with ETag,
                                                          Last-Modified, 304 and gzip as servers do
        server.url("/wp-json/wp/v2")                     the REST API's root: posts of the post type
                                                          "updates" by after/before, page by page
                                                          (X-WP-Total, X-WP-TotalPages), categories, tags
                                                          and media by `include`
        server.url("/undated.rss")                       five of those stories in a feed without dates
        server.url("/site/…")                            the site's home page, whatever the path
        server.url("/fail/500") …                        the failures: see FAILURES
        server.requests                                   every request: path, query, headers, status

A route can be broken (500) while a test runs: `server.broken.add("/wp-json/wp/v2/updates")`; its answers
cut off after N bytes, as `head -c N` leaves a file: `server.cut["/feeds/guardian-us-2018.rss"] = 3000`; or
given a body of the test's own: `server.bodies["/feeds/wire.rss"] = (body, content_type)`.
With `tls=(cert, key)` the server speaks HTTPS with that certificate.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import json
import math
import ssl
import threading
from datetime import UTC, datetime, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from conftest import DATA, SEEDS

from composer.ingest import load_items

CORPUS = DATA / "corpus"
MB = 1024 * 1024
LAST_MODIFIED = "Fri, 02 May 2025 06:00:00 GMT"

CATEGORIES = {3: "Cybersecurity", 4: "Legal &amp; regulatory", 5: "Infrastructure", 9: "Events"}
TAGS = {21: "AI", 22: "Data protection", 23: "Submarine cables"}


class Seen(NamedTuple):
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    status: int
    gzipped: bool  # the body went out gzip-compressed


class Post(NamedTuple):
    id: int
    date: datetime  # UTC
    title: str
    paragraphs: tuple[str, ...]
    categories: tuple[int, ...]
    tags: tuple[int, ...]
    featured_media: int


def seed_posts(newest: datetime, old: int = 3) -> list[Post]:
    """The seeds' 29 stories as dig.watch "updates" posts, one every 5 hours back from `newest`, and `old`
    more posts three weeks older, which a week's query must not return."""
    items = load_items([SEEDS]).items
    posts = []
    for index, item in enumerate(items):
        words = item.paragraphs[0].split()
        title = item.title or " ".join(words[:9]).rstrip(",.;:")
        posts.append(Post(id=1000 + index, date=newest - timedelta(hours=5 * index), title=title,
                          paragraphs=item.paragraphs, categories=(list(CATEGORIES)[index % 3],),
                          tags=(list(TAGS)[index % 3],) if index % 2 else (), featured_media=500 + index if index % 4
                          else 0))
    for index in range(old):
        posts.append(Post(id=900 + index, date=newest - timedelta(days=21 + index), title=f"An old post {index}",
                          paragraphs=("A post from three weeks before, outside the week asked for.",),
                          categories=(5,), tags=(), featured_media=0))
    return posts


class FeedServer:
    def __init__(self, posts: list[Post] | None = None, tls: tuple[Path, Path] | None = None) -> None:
        self.posts = posts if posts is not None else seed_posts(datetime(2025, 5, 1, 18, tzinfo=UTC))
        self.requests: list[Seen] = []
        self.broken: set[str] = set()
        self.cut: dict[str, int] = {}
        self.bodies: dict[str, tuple[bytes, str]] = {}
        self.counts: dict[str, int] = {}
        self.in_flight = 0
        self.most_in_flight = 0
        self.delay = 0.0  # seconds each answer waits first (to see concurrency)
        self.stop = threading.Event()  # releases the stalled answers
        self.lock = threading.Lock()
        self._tls = tls
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}{path}"

    def seen(self, path: str) -> list[Seen]:
        return [request for request in self.requests if request.path == path]

    def __enter__(self) -> FeedServer:
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()


def _handler(server: FeedServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def handle(self) -> None:
            # A client that refused our certificate, or hung up on a stalled or huge answer.
            with contextlib.suppress(ssl.SSLError, ConnectionError, OSError):
                super().handle()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
            with server.lock:
                server.counts[parts.path] = server.counts.get(parts.path, 0) + 1
                server.in_flight += 1
                server.most_in_flight = max(server.most_in_flight, server.in_flight)
            status = 0
            self.gzipped = False
            try:
                if server.delay:
                    server.stop.wait(server.delay)
                status = self._route(parts.path, query)
            finally:
                with server.lock:
                    server.in_flight -= 1
                    server.requests.append(Seen(parts.path, query, {k.lower(): v for k, v in self.headers.items()},
                                                status, self.gzipped))

        def _route(self, path: str, query: dict[str, str]) -> int:
            if path in server.broken:
                return self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
            if path in server.bodies:
                return self._cached(*server.bodies[path])
            if path.startswith("/feeds/"):
                file = CORPUS / path.removeprefix("/feeds/")
                if not file.is_file():
                    file = DATA / path.removeprefix("/feeds/")
                if not file.is_file():
                    return self._send(404, b"not found", "text/plain")
                kind = "application/feed+json" if file.suffix == ".json" else "application/rss+xml; charset=UTF-8"
                return self._cached(file.read_bytes(), kind)
            if path.startswith("/wp-json/wp/v2/"):
                return self._wordpress(path.removeprefix("/wp-json/wp/v2/"), query)
            if path == "/undated.rss":
                return _undated(self, server)
            if path.startswith("/site/"):
                return _html_page(self, server)
            if path.removeprefix("/fail/") in FAILURES:
                return FAILURES[path.removeprefix("/fail/")](self, server)
            return self._send(404, b'{"code":"rest_no_route"}', "application/json")

        def _cached(self, body: bytes, kind: str, extra: dict[str, str] | None = None) -> int:
            """`body` as a careful server sends it: a strong ETag, Last-Modified, 304 to a matching
            conditional request, gzip when the client accepts it (cut off first if the test says so)."""
            body = body[:server.cut.get(urlsplit(self.path).path)]
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", None, {"ETag": etag, "Last-Modified": LAST_MODIFIED})
            headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, **(extra or {})}
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                headers["Content-Encoding"] = "gzip"
                body = gzip.compress(body)
                self.gzipped = True
            return self._send(200, body, kind, headers)

        def _wordpress(self, route: str, query: dict[str, str]) -> int:
            if route in ("categories", "tags", "media"):
                wanted = [int(part) for part in query.get("include", "").split(",") if part]
                return self._cached(json.dumps([_term(route, id) for id in wanted if _term(route, id)]).encode(),
                                    "application/json; charset=UTF-8")
            if route != "updates":
                return self._send(404, b'{"code":"rest_no_route","message":"No route was found"}', "application/json")
            after = _moment(query.get("after"))
            before = _moment(query.get("before"))
            posts = sorted((post for post in server.posts if (after is None or post.date > after)
                            and (before is None or post.date < before)), key=lambda post: post.date, reverse=True)
            per_page = min(int(query.get("per_page", "10")), 100)
            page = int(query.get("page", "1"))
            pages = max(1, math.ceil(len(posts) / per_page))
            if page > pages:
                return self._send(400, b'{"code":"rest_post_invalid_page_number"}', "application/json")
            shown = posts[(page - 1) * per_page:page * per_page]
            return self._cached(json.dumps([_post(post) for post in shown]).encode(), "application/json; charset=UTF-8",
                                {"X-WP-Total": str(len(posts)), "X-WP-TotalPages": str(pages)})

        def _send(self, status: int, body: bytes, kind: str | None, headers: dict[str, str] | None = None) -> int:
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return status

    return Handler


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _post(post: Post) -> dict:
    return {
        "id": post.id, "date": post.date.strftime("%Y-%m-%dT%H:%M:%S"),
        "date_gmt": post.date.strftime("%Y-%m-%dT%H:%M:%S"),
        "link": f"https://dig.watch/updates/post-{post.id}/", "guid": {"rendered": f"https://dig.watch/?p={post.id}"},
        "title": {"rendered": escape(post.title).replace("'", "&#8217;")},
        "content": {"rendered": "".join(f"<p>{escape(text)}</p>\n" for text in post.paragraphs)},
        "excerpt": {"rendered": f"<p>{escape(post.paragraphs[0][:120])} [&hellip;]</p>"},
        "categories": list(post.categories), "tags": list(post.tags), "featured_media": post.featured_media,
    }


def _term(route: str, id: int) -> dict | None:
    if route == "media":
        return {"id": id, "source_url": f"https://dig.watch/wp-content/uploads/2025/05/picture-{id}.jpg",
                "alt_text": f"Picture {id} of the story", "caption": {"rendered": ""}} if 500 <= id < 600 else None
    names = CATEGORIES if route == "categories" else TAGS
    return {"id": id, "name": names[id]} if id in names else None


# ---- the bad week: each failure a source may meet -----------------------------------------------------


def _status(status: int):
    def answer(handler, server: FeedServer) -> int:
        return handler._send(status, b"<html><body>Error</body></html>", "text/html")
    return answer


def _html_page(handler, server: FeedServer) -> int:
    """A 200 with the site's home page where the feed should be (a moved feed, a login wall)."""
    page = b"<!DOCTYPE html><html><head><title>Digital Watch</title></head><body><p>Welcome</p></body></html>"
    return handler._send(200, page, "text/html; charset=UTF-8")


def _huge(handler, server: FeedServer) -> int:
    """50 MB of feed, sent as it is produced (no Content-Length): the client must stop reading."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>big</title>')
    chunk = b"<item><title>x</title><description>" + b"y" * 65000 + b"</description></item>"
    for _ in range(50 * MB // len(chunk)):
        if server.stop.is_set():
            break
        handler.wfile.write(chunk)
    return 200


def _huge_announced(handler, server: FeedServer) -> int:
    """A Content-Length of 50 MB: refused before the body is read."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(50 * MB))
    handler.end_headers()
    handler.wfile.write(b"<rss>")
    server.stop.wait(30)
    return 200


@functools.cache
def _bomb() -> bytes:
    return gzip.compress(b'<?xml version="1.0"?><rss version="2.0"><channel>' + b" " * (50 * MB), 6)


def _gzip_bomb(handler, server: FeedServer) -> int:
    """50 MB of feed gzipped into about 50 KB: small on the wire, huge once decoded."""
    return handler._send(200, _bomb(), "application/rss+xml", {"Content-Encoding": "gzip"})


def _stalled(handler, server: FeedServer) -> int:
    """Headers and the start of a body, then nothing more: a server that hangs mid-answer."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel><title>stalled</title>')
    handler.wfile.flush()
    server.stop.wait(60)
    return 200


def _moved(handler, server: FeedServer) -> int:
    """The feed moved for good (301) to its new address."""
    return handler._send(301, b"", "text/plain", {"Location": "/feeds/wordpress.rss"})


def _found(handler, server: FeedServer) -> int:
    """A temporary redirect (302): followed, not reported."""
    return handler._send(302, b"", "text/plain", {"Location": "/feeds/wordpress.rss"})


def _loop(handler, server: FeedServer) -> int:
    return handler._send(302, b"", "text/plain", {"Location": "/fail/loop"})


def _flaky(handler, server: FeedServer) -> int:
    """503 twice, then the feed: a server restarting."""
    if server.counts["/fail/flaky"] <= 2:
        return handler._send(503, b"busy", "text/plain")
    return handler._cached((DATA / "wordpress.rss").read_bytes(), "application/rss+xml")


def _undated(handler, server: FeedServer) -> int:
    """The seeds' stories in an RSS feed without dates (as some sites publish)."""
    items = "".join(f"<item><title>{escape(post.title)}</title><link>https://example.org/undated/{post.id}</link>"
                    f"<description>{escape(''.join(f'<p>{text}</p>' for text in post.paragraphs))}</description></item>"
                    for post in server.posts[:5])
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Undated</title>{items}</channel></rss>'
    return handler._cached(body.encode(), "application/rss+xml")


FAILURES = {"500": _status(500), "404": _status(404), "html": _html_page, "huge": _huge,
            "huge-announced": _huge_announced, "gzip-bomb": _gzip_bomb, "stalled": _stalled, "moved": _moved,
            "found": _found, "loop": _loop, "flaky": _flaky}
