"""`weekly serve`: the one-click unsubscribe endpoint (RFC 8058) and the reader-facing pages, on Starlette and
uvicorn.

- `POST /newsletter/unsubscribe?token=…` (the path of brand.unsubscribe_url) with `List-Unsubscribe=One-Click`
  in the body, form-encoded or multipart/form-data (RFC 8058 §3.2 says SHOULD multipart), from a mail
  client or the page's button: the token is verified (signature, list id, in constant time; whose it is,
  composer.deliver.readers), the request written to the durable queue (composer.unsubscribe_queue) and
  200 answered with no redirect as soon as it is on disk; the store has it a moment later.
- `GET` of the same URL shows a page with the button: a GET never unsubscribes, because link scanners
  fetch every URL in a message. Once unsubscribed, the page offers to resubscribe: a form whose token of
  its own expires in a day, posted to `…/resubscribe`, refused from another site (Origin,
  Sec-Fetch-Site). Resubscribing undoes only the reader's own unsubscription, never a complaint, a bounce
  or an editor's suppression.
- A genuine link of a reader erased on request since (`weekly subscribers erase`) is an unsubscribe already
  done: 200 to a GET and to the one-click, and nothing recorded (the address is suppressed by its keyed
  hash; a token from before that names the address never brings it back in clear).
- Sign-up with double opt-in, the archive (index, web versions, Atom feed) and the page readers of a list
  address leave by: composer.web.routes, mounted here.
It listens on 127.0.0.1 by default, for a reverse proxy (nginx, Caddy) that terminates TLS; it answers
only the hosts it is told (`serve.allowed_hosts`). A valid token is never rate-limited (a mail provider
posts many one-clicks from a few addresses); everything else is, at `serve.rate_per_minute` per client.
Bodies, header time and connections are limited (composer.serve_limits). Every request is logged with
the address as a short hash, never in clear; refusals and errors at most so often a minute.

Speed (bench/serve_oneclick.py): the store connection is kept open and used by a thread of its own
(composer.web.store_thread), the middleware is plain ASGI, uvicorn runs httptools and uvloop when they
are installed (they are dependencies), and a burst of one-clicks reaches the disk and the store in groups.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html import escape
from urllib.parse import urlsplit

from composer.config import Settings
from composer.deliver.readers import Gone, address_of, addresses_of
from composer.deliver.tokens import RESUBSCRIBE as RESUBSCRIBE_FORM
from composer.deliver.tokens import TokenError, sign_id, verify_id
from composer.errors import WeeklyError
from composer.serve_limits import (
    ACCEPT_BURST,
    HEADER_BYTES,
    BodyLimit,
    LogRateLimit,
    RateLimit,
    connection_limit,
    guarded_protocol,
    quiet_accept_errors,
    register_issue_number,
)
from composer.store import Store, StoreError, open_store
from composer.unsubscribe_queue import RESUBSCRIBE, UNSUBSCRIBE, UnsubscribeQueue
from composer.web.forms import form_fields
from composer.web.routes import routes as web_routes
from composer.web.store_thread import StoreThread

log = logging.getLogger("weekly.serve")
RESUBSCRIBE_SECONDS = 24 * 3600  # how long the page's resubscribe form works
_REQUEST_LINE = "%s %s %s %s %.0fms%s%s"  # client, method, path, status, time, the address's digest, drops
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width, initial-scale=1"><title>{title}</title><style>body{{font-family:Helvetica,Arial,
sans-serif;max-width:34em;margin:3em auto;padding:0 1em;color:#1f2933;line-height:1.5}}button{{font-size:1em;
padding:.6em 1.2em;background:#0b3c5d;color:#fff;border:0;border-radius:4px;cursor:pointer}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def create_app(settings: Settings):
    """The ASGI application for `settings` (imported here: a web stack is not needed to build an issue)."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, Response
    from starlette.routing import Route

    register_issue_number()
    if not settings.signing_key:
        raise WeeklyError("no signing key: set WEEKLY_SIGNING_KEY to the key the issues were sent with")
    key = settings.signing_key.get_secret_value().encode()
    list_id = settings.list.id
    archive = settings.output.dir
    limiter = RateLimit(settings.serve.rate_per_minute)
    # The unsubscribe URL's own path, so the links in sent mail work through a proxy that passes paths on.
    unsubscribe_path = urlsplit(settings.brand.unsubscribe_url).path or "/unsubscribe"
    resubscribe_path = unsubscribe_path.rsplit("/", 1)[0] + "/resubscribe"

    def connect() -> Store:
        return open_store(settings.store, list_id, archive)

    store = StoreThread(connect())  # the server's connection for reads, kept open, off the event loop
    queue = UnsubscribeQueue(settings.serve.queue_file, connect,  # unsubscribes: connections of its own
                             lambda store, tokens: addresses_of(tokens, key, list_id, store))
    with_store, in_store = store.call, store.run

    def page(title: str, body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def refused(request: Request, response: Response) -> Response:
        """A failed request counts against its client's rate; over it, 429 instead."""
        if limiter.allow(_client(request)):
            return response
        return PlainTextResponse("too many requests", status_code=429, headers={"Retry-After": "60"})

    def resubscribe_form(link: str) -> str:
        """The Resubscribe button: the link's token, and a token for this form that expires (it names a
        digest of the link's token, never the address)."""
        form = sign_id(RESUBSCRIBE_FORM, _fingerprint(link), list_id, key, expires=time.time() + RESUBSCRIBE_SECONDS)
        return (f'<form method="post" action="{resubscribe_path}"><input type="hidden" name="token" '
                f'value="{escape(link, quote=True)}"><input type="hidden" name="form" '
                f'value="{escape(form, quote=True)}"><button>Resubscribe</button></form>')

    async def whose(token: str) -> str:
        """The address a link's token stands for (readers.address_of); TokenError if none."""
        return await in_store(lambda store: address_of(token, key, list_id, store))

    async def standing(email: str) -> str:
        """"subscribed", "unsubscribed" (by the reader) or "suppressed" (a bounce, a complaint, an editor)."""
        queued = queue.pending(email)
        if queued:
            return "unsubscribed" if queued == UNSUBSCRIBE else "subscribed"
        found = await in_store(lambda store: store.suppressions.get(email))
        if found is None:
            return "subscribed"
        return "unsubscribed" if found.reason.split(":")[0] == "unsubscribed" else "suppressed"

    async def unsubscribe(request: Request) -> Response:
        link = request.query_params.get("token", "")
        if not link:  # a test copy's link (it names no reader): nothing to do, and the page must not say it did
            return refused(request, page("Link not valid", "<p>This link names no reader (it came with a test copy):"
                                         " nothing was changed. Please use the link in an issue you received.</p>",
                                         status=400))
        try:
            if request.method == "POST":
                if (await form_fields(request)).get("List-Unsubscribe") != ["One-Click"]:
                    return refused(request, PlainTextResponse("expected List-Unsubscribe=One-Click", status_code=400))
                # The token's address is found by the queue's writer, on its own connection, with those of the
                # requests waiting beside this one, in one query: a burst costs the store one round trip a
                # group and the event loop one hand-over a request.
                request.state.who = await queue.add(UNSUBSCRIBE, token=link)
                return page("You are unsubscribed", "<p>You will receive no more issues. Changed your mind?</p>"
                            + resubscribe_form(link))
            email = await whose(link)
        except Gone:
            # The reader's own link, their data erased on request since: the address is suppressed by its keyed
            # hash, so the unsubscribe is done; a provider must see it so, and nothing is recorded to say it.
            log.info("a link of a reader erased on request: answered as unsubscribed, nothing recorded")
            return page("You are unsubscribed", "<p>You will receive no more issues: nothing is kept about the "
                        "reader of this link any more.</p>")
        except TokenError:
            return refused(request, page("Link not valid", "<p>This unsubscribe link is damaged or not ours. "
                                         "Please use the link in the newsletter you received.</p>", status=400))
        request.state.who = email
        state = await standing(email)
        if state == "unsubscribed":
            return page("You are unsubscribed", f"<p>{escape(email)} receives no more issues.</p>"
                        + resubscribe_form(link))
        if state == "suppressed":
            return page("Not receiving the issue", f"<p>{escape(email)} no longer receives the issue (after a "
                        "bounce, a complaint or at your request by other means). Write to us to receive it again.</p>")
        return page("Unsubscribe", f"<p>Stop sending {escape(settings.brand.name)} to {escape(email)}?</p>"
                    f'<form method="post" action="{unsubscribe_path}?token={escape(link, quote=True)}">'
                    '<input type="hidden" name="List-Unsubscribe" value="One-Click"><button>Unsubscribe</button></form>')

    async def resubscribe(request: Request) -> Response:
        if not _same_site(request):
            return refused(request, page("Not from here", "<p>Resubscribe from the page of the link in the "
                                         "newsletter.</p>", status=403))
        fields = await form_fields(request)
        link, form = fields.get("token", [""])[0], fields.get("form", [""])[0]
        try:
            if verify_id(form, key, list_id, (RESUBSCRIBE_FORM,)).ident != _fingerprint(link):
                raise TokenError("the form's token is for another link")
            email = await whose(link)
        except Gone:
            return page("Not resubscribed", "<p>Nothing is kept about the reader of this link any more, at their "
                        "request. Write to us to receive the issue again.</p>", status=403)
        except TokenError:
            return refused(request, page("Link not valid", "<p>This form has expired or is not ours: open the "
                                         "unsubscribe link in the newsletter again.</p>", status=400))
        request.state.who = email
        state = await standing(email)
        if state == "suppressed":
            return page("Not resubscribed", f"<p>{escape(email)} was suppressed after a bounce, a complaint or by "
                        "an editor, which only an editor can undo. Write to us to receive it again.</p>", status=403)
        if state == "unsubscribed":
            await queue.add(RESUBSCRIBE, email=email)
        return page("Welcome back", f"<p>{escape(email)} will receive the next issues again.</p>")

    # Answers the guard gives of its own (a response is an ASGI app, and these are the same every time).
    too_many = PlainTextResponse("too many requests", status_code=429, headers={"Retry-After": "60"})
    unavailable = page("Try again later", "<p>We cannot take your request just now; please try again in a few "
                       "minutes.</p>", status=503)
    app = Starlette(
        routes=[
            Route(unsubscribe_path, unsubscribe, methods=["GET", "POST"]),
            Route(resubscribe_path, resubscribe, methods=["POST"]),
            *web_routes(settings, key, with_store),  # sign-up, the archive and its feed, leaving a list
        ],
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.serve.allowed_hosts)),
                    Middleware(Guard, limiter=limiter, unlimited=(unsubscribe_path, resubscribe_path),
                               too_many=too_many, unavailable=unavailable)],
        lifespan=_lifespan(store, queue),
    )
    # Starlette would answer a path with or without a final slash by redirecting to a whole URL of the scheme
    # it sees (http behind a TLS proxy); the routes that need it redirect by path (web.routes.with_slash).
    app.router.redirect_slashes = False
    return BodyLimit(app, settings.serve.max_body_bytes)


class Guard:
    """ASGI middleware around every request: the rate limit (on every path but `unlimited`, where the
    handlers count only failures), a 503 page when the store or the queue cannot take a request, and one
    log line per request with the address as a short hash. Plain ASGI, so a request costs a function call
    and no task or stream of its own (Starlette's BaseHTTPMiddleware costs both)."""

    def __init__(self, app, limiter: RateLimit, unlimited: tuple[str, ...], too_many, unavailable) -> None:
        self.app = app
        self.limiter = limiter
        self.unlimited = unlimited
        self.too_many = too_many
        self.unavailable = unavailable
        self.lines = LogRateLimit()  # the request lines a minute, counted before any is made

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        client = scope["client"][0] if scope.get("client") else "unknown"
        status = 0

        async def watched(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if scope["path"] not in self.unlimited and not self.limiter.allow(client):
            await self.too_many(scope, receive, watched)
        else:
            try:
                await self.app(scope, receive, watched)
            except (StoreError, WeeklyError) as err:
                log.error("%s %s: %s", scope["method"], scope["path"], err)
                if status:
                    raise  # the answer had begun: the server closes the connection
                await self.unavailable(scope, receive, watched)
        passes, dropped = self.lines.admit((log.name, _REQUEST_LINE), grave=False)
        if passes:
            who = scope.get("state", {}).get("who")
            log.log(logging.INFO if status < 400 else logging.WARNING, _REQUEST_LINE, client, scope["method"],
                    scope["path"], status, (time.monotonic() - started) * 1000,
                    f" address {_digest(who)}" if who else "",
                    f" ({dropped} request lines dropped in the last minute)" if dropped else "")


def _client(request) -> str:
    return request.client.host if request.client else "unknown"


def _same_site(request) -> bool:
    """Whether a form post comes from our own page: its Origin (or Sec-Fetch-Site) says so when the
    browser sends one; the form's signed token is checked besides."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()
    return request.headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def _lifespan(store: StoreThread, queue: UnsubscribeQueue):
    """The app's lifespan: the queue applied while it runs; the store's connections closed when it stops."""

    @asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        quiet_accept_errors(asyncio.get_running_loop())
        queue.start()
        try:
            yield
        finally:
            queue.stop()
            store.close()

    return lifespan


def serve(app, host: str, port: int, settings: Settings, ready: Callable[[str], None] = print) -> None:
    """Run `app` (create_app's) with uvicorn until interrupted, within `settings.serve`'s limits. The socket
    is bound here first, so a port in use is one WeeklyError before anything says it serves; `ready` gets
    the URL served (the port the system gave, for port 0)."""
    import uvicorn

    listening = _listening(host, port)
    handler = logging.StreamHandler()  # to stderr: systemd's journal, or the terminal
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    handler.addFilter(LogRateLimit())
    root = logging.getLogger()
    root.addHandler(handler)  # ours, uvicorn's and asyncio's records, each flood cut short
    log.setLevel(logging.INFO)
    limits = settings.serve
    connections = connection_limit(limits.max_connections)
    if connections < limits.max_connections:
        log.warning("serve.max_connections lowered to %s: the process may open only so many files", connections)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning", access_log=False,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                            http=guarded_protocol(limits.header_timeout_seconds, connections), loop="auto",
                            timeout_keep_alive=5, h11_max_incomplete_event_size=HEADER_BYTES, backlog=ACCEPT_BURST)
    shown = f"[{host}]" if ":" in host else host
    ready(f"http://{shown}:{listening.getsockname()[1]}/")
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        listening.close()
        root.removeHandler(handler)


def _listening(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port, as uvicorn binds one (SO_REUSEADDR: a restart does not wait out the
    last connections' TIME_WAIT); WeeklyError when the address is in use or not this machine's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise WeeklyError(f"{host}:{port}: cannot listen: {err.strerror or err}") from err
    sock.set_inheritable(True)
    return sock


def _fingerprint(token: str) -> str:
    """What the resubscribe form's token names of the link's token: a digest, so it carries no address."""
    return hashlib.sha256(token.encode()).hexdigest()[:24]


def _digest(email: str) -> str:
    """An address as it appears in logs: enough to follow one reader, nothing to read."""
    return hashlib.sha256(email.lower().encode()).hexdigest()[:12]
