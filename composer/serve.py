"""`weekly serve`: the one-click unsubscribe endpoint (RFC 8058) and the archive, on Starlette and uvicorn.

- `POST /newsletter/unsubscribe?token=…` (the path of brand.unsubscribe_url; the body `List-Unsubscribe=One-Click` from a mail client, or the button of
  the page below): the token is verified (signature, list id; compared in constant time), the address
  suppressed, and 200 answered with no redirect, as RFC 8058 asks.
- `GET` of the same URL shows a page with the button: a GET never unsubscribes, because link
  scanners fetch every URL in a message. Once unsubscribed, the page offers to resubscribe
  (`POST …/resubscribe?token=…`, beside it).
- Sign-up with double opt-in, the archive (index, web versions, Atom feed) and the page readers of a list
  address leave by: composer.web.routes, mounted here.
It listens on 127.0.0.1 by default, for a reverse proxy (nginx, Caddy) that terminates TLS; it answers
only the hosts it is told (`serve.allowed_hosts`), at most `serve.rate_per_minute` requests a minute per
client, and logs every request with the address as a short hash, never in clear.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from composer.config import Settings
from composer.deliver.readers import address_of
from composer.deliver.tokens import TokenError
from composer.errors import WeeklyError
from composer.store import Store, open_store
from composer.web.routes import routes as web_routes

log = logging.getLogger("weekly.serve")
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width, initial-scale=1"><title>{title}</title><style>body{{font-family:Helvetica,Arial,
sans-serif;max-width:34em;margin:3em auto;padding:0 1em;color:#1f2933;line-height:1.5}}button{{font-size:1em;
padding:.6em 1.2em;background:#0b3c5d;color:#fff;border:0;border-radius:4px;cursor:pointer}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def create_app(settings: Settings):
    """The ASGI application for `settings` (imported here: a web stack is not needed to build an issue)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.base import BaseHTTPMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response
    from starlette.routing import Route

    if not settings.signing_key:
        raise WeeklyError("no signing key: set WEEKLY_SIGNING_KEY to the key the issues were sent with")
    key = settings.signing_key.get_secret_value().encode()
    list_id = settings.list.id
    archive = settings.output.dir
    limiter = _RateLimit(settings.serve.rate_per_minute)
    # The unsubscribe URL's own path, so the links in sent mail work through a proxy that passes paths on.
    unsubscribe_path = urlsplit(settings.brand.unsubscribe_url).path or "/unsubscribe"
    resubscribe_path = unsubscribe_path.rsplit("/", 1)[0] + "/resubscribe"
    store = open_store(settings.store, list_id, archive)  # one connection for the server's life
    store_lock = threading.Lock()

    def with_store(work: Callable[[Store], Any]) -> Any:
        """Store work one call at a time on the server's connection (from a worker thread)."""
        with store_lock:
            return work(store)

    async def in_store(work: Callable[[Store], Any]):
        """Store work off the event loop."""
        return await run_in_threadpool(with_store, work)

    def page(title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    async def checked(request: Request) -> str | None:
        """The address the link's token stands for (readers.address_of), or None for a link not valid."""
        token = request.query_params.get("token", "")
        try:
            return await in_store(lambda store: address_of(token, key, list_id, store))
        except TokenError:
            return None

    async def unsubscribe(request: Request) -> Response:
        email = await checked(request)
        if email is None:
            return page("Link not valid", "<p>This unsubscribe link is damaged or not ours. Please use the link in "
                        "the newsletter you received.</p>", status=400)
        token = escape(request.query_params["token"], quote=True)
        if request.method == "POST":
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            if form.get("List-Unsubscribe") != ["One-Click"]:
                return PlainTextResponse("expected List-Unsubscribe=One-Click", status_code=400)
            await in_store(lambda store: store.suppressions.add(email, "unsubscribed"))
            request.state.who = email
            return page("You are unsubscribed", "<p>You will receive no more issues. Changed your mind?</p>"
                        f'<form method="post" action="{resubscribe_path}?token={token}"><button>Resubscribe</button>'
                        "</form>")
        gone = await in_store(lambda store: email in store.suppressions)
        request.state.who = email
        if gone:
            return page("You are unsubscribed", f"<p>{escape(email)} receives no more issues.</p>"
                        f'<form method="post" action="{resubscribe_path}?token={token}"><button>Resubscribe</button>'
                        "</form>")
        return page("Unsubscribe", f"<p>Stop sending {escape(settings.brand.name)} to {escape(email)}?</p>"
                    f'<form method="post" action="{unsubscribe_path}?token={token}"><input type="hidden" '
                    'name="List-Unsubscribe" value="One-Click"><button>Unsubscribe</button></form>')

    async def resubscribe(request: Request) -> Response:
        email = await checked(request)
        if email is None:
            return page("Link not valid", "<p>This link is damaged or not ours.</p>", status=400)
        await in_store(lambda store: store.suppressions.remove(email))
        request.state.who = email
        return page("Welcome back", f"<p>{escape(email)} will receive the next issues again.</p>")

    async def guard_and_log(request: Request, call_next) -> Response:
        started = time.monotonic()
        client = request.client.host if request.client else "unknown"
        if not limiter.allow(client):
            response: Response = PlainTextResponse("too many requests", status_code=429,
                                                   headers={"Retry-After": "60"})
        else:
            response = await call_next(request)
        who = getattr(request.state, "who", None)
        log.info("%s %s %s %s %.0fms%s", client, request.method, request.url.path, response.status_code,
                 (time.monotonic() - started) * 1000, f" address {_digest(who)}" if who else "")
        return response

    app = Starlette(
        routes=[
            Route(unsubscribe_path, unsubscribe, methods=["GET", "POST"]),
            Route(resubscribe_path, resubscribe, methods=["POST"]),
            *web_routes(settings, key, with_store),  # sign-up, the archive and its feed, leaving a list
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.serve.allowed_hosts)),
                    Middleware(BaseHTTPMiddleware, dispatch=guard_and_log)],
        lifespan=_closing(store),
    )
    return app


def _closing(store: Store):
    """The app's lifespan: the store's connection closes when the server stops."""

    @asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    return lifespan


def serve(app, host: str, port: int) -> None:
    """Run `app` (create_app's) with uvicorn until interrupted."""
    import uvicorn

    handler = logging.StreamHandler()  # to stderr: systemd's journal, or the terminal
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, proxy_headers=True,
                    forwarded_allow_ips="127.0.0.1")
    except OSError as err:
        raise WeeklyError(f"{host}:{port}: cannot listen: {err.strerror or err}") from err


def _digest(email: str) -> str:
    """An address as it appears in logs: enough to follow one reader, nothing to read."""
    return hashlib.sha256(email.lower().encode()).hexdigest()[:12]


class _RateLimit:
    """At most `per_minute` requests in any 60 seconds per client (a sliding window in memory)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        window = self.seen[client]
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True
