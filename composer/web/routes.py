"""The reader-facing pages of `weekly serve`, as Starlette routes that composer.serve mounts.

- Sign-up with double opt-in at brand.subscribe_url's path: GET the form, POST it (urlencoded or multipart,
  forms.py; a name over MAX_NAME characters, as an import refuses it, gets the form again with the error and
  the address; only a POST acts, a HEAD answers as the GET). The answer is the same
  whether or not the address is known, and comes before any work is done (the store and the mail happen
  in a background task, so its time says nothing either); a filled-in honeypot field gets that answer and
  nothing else; `signup.per_hour` sign-ups per client and per address, then 429. A new reader is stored as
  unconfirmed and mailed a link that works for `signup.confirm_hours`; unconfirmed sign-ups are forgotten
  after that. The link (…/confirm?token=…) shows a page with a button, since link scanners fetch every
  URL in a mail; its POST subscribes, and a welcome mail follows (`signup.welcome`).
- The archive at brand.web_url's paths: the index (…/newsletter/), each issue (…/newsletter/210/, and
  …/210/web.html as in the output folder) and the Atom feed (…/newsletter/feed.xml); at `/` too.
- …/leave, beside the unsubscribe page: how readers of an issue sent to a list address (--to) leave it.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from composer.config import Settings
from composer.deliver.notices import send_notice
from composer.deliver.subscribers import CONTROL, MAX_ADDRESS, MAX_NAME, valid_address
from composer.deliver.tokens import CONFIRM, READER, TokenError, keyed_hash, sign_id, verify_id
from composer.issues import ARCHIVE_FEED, ARCHIVE_INDEX, WEB
from composer.render import page
from composer.render.strings import strings_for
from composer.serve_limits import register_issue_number
from composer.store import Store
from composer.web.forms import form_fields
from composer.web.paths import FEED, archive_url, confirm_url, leave_url, path_of

_RESEND_AFTER = 600  # seconds before a second confirmation mail may go to one address
_SOURCE = "sign-up form"

WithStore = Callable[[Callable[[Store], Any]], Any]


def routes(settings: Settings, key: bytes, with_store: WithStore) -> list:
    """The routes for `settings`; `with_store(work)` runs `work(store)` on the server's store connection."""
    from starlette.background import BackgroundTask
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route

    register_issue_number()  # {number:issue}
    brand, list_id, mail = settings.brand, settings.list.id, settings.mail
    strings = strings_for(settings.issue)
    web = strings.web
    lifetime = settings.signup.confirm_hours * 3600
    hours = f"{settings.signup.confirm_hours:g}"
    subscribe_path, confirm_path = path_of(brand.subscribe_url), path_of(confirm_url(brand.subscribe_url))
    per_client = _Throttle(settings.signup.per_hour, 3600)
    per_address = _Throttle(settings.signup.per_hour, 3600)

    def html(title: str, paragraphs: tuple[str, ...] = (), status: int = 200, background=None, **extra) -> HTMLResponse:
        context = {"form": None, "action": "", "link": None, "email": "", "reader_name": "", "error": None,
                   "name_error": None, **extra}
        return HTMLResponse(page("page.html.j2", strings, brand=brand, title=title, paragraphs=paragraphs, **context),
                            status_code=status, background=background,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    def form(status: int = 200, **extra) -> HTMLResponse:
        return html(web.subscribe_title.format(name=brand.name),
                    (web.subscribe_intro.format(name=brand.name, publisher=brand.publisher),), status,
                    form="subscribe", action=subscribe_path, **extra)

    def not_valid() -> HTMLResponse:
        return html(web.link_not_valid_title, (web.link_not_valid,), 400,
                    link={"url": brand.subscribe_url, "text": web.subscribe_title.format(name=brand.name)})

    async def subscribe(request: Request) -> Response:
        if request.method != "POST":  # GET, and HEAD as its GET
            return form()
        fields = await form_fields(request)
        email, name, trap = ((fields.get(field) or [""])[0].strip() for field in ("email", "name", "website"))
        name = " ".join(CONTROL.sub(" ", name).split())  # a line break typed or pasted: never a header
        # The fields as typed go back into the form, within the sizes the form's inputs take.
        kept = {"email": email[:MAX_ADDRESS], "reader_name": name[:MAX_NAME]}
        if not valid_address(email):
            return form(400, error=web.invalid_address, **kept)
        if len(name) > MAX_NAME:  # as an import refuses it: the To line must stay under SMTP's 998 bytes
            return form(400, name_error=web.name_too_long.format(count=len(name), limit=MAX_NAME), **kept)
        client = request.client.host if request.client else "unknown"
        if not (per_client.allow(client) and per_address.allow(email.lower())):
            return html(web.too_many, status=429)
        request.state.who = email
        return html(web.check_inbox_title, (web.check_inbox.format(address=email, name=brand.name, hours=hours),),
                    background=None if trap else BackgroundTask(start, email, name))

    def start(address: str, name: str) -> None:
        """Store the sign-up and mail its confirmation, unless no mail should go (see begin_signup)."""
        digest = keyed_hash(address, list_id, key)

        def begin(store: Store) -> str | None:
            store.subscribers.forget_unconfirmed(lifetime)
            if store.suppressions.get(digest) is not None:
                return None  # erased on request: never mailed again
            return store.subscribers.begin_signup(address, name, _SOURCE, _RESEND_AFTER)

        pending = with_store(begin)
        if pending is None:
            return
        token = sign_id(CONFIRM, pending, list_id, key, expires=time.time() + lifetime)
        text = "\n\n".join([web.confirm_mail.format(name=brand.name, hours=hours),
                            f"{confirm_url(brand.subscribe_url)}?token={token}", web.confirm_mail_ignore,
                            f"{brand.publisher}, {brand.postal_address}"])
        send_notice(mail, address, name, web.confirm_subject.format(name=brand.name), text + "\n")

    async def confirm(request: Request) -> Response:
        token = request.query_params.get("token", "")
        try:
            pending = verify_id(token, key, list_id, (CONFIRM,)).ident
        except TokenError:
            return not_valid()
        if request.method != "POST":  # GET and HEAD only ask: link scanners fetch every URL in a mail
            return html(web.confirm_title, (web.confirm_question.format(name=brand.name),), form="confirm",
                        action=f"{confirm_path}?token={token}")
        reader = await run_in_threadpool(with_store, lambda store: store.subscribers.confirm(pending, lifetime))
        if reader is None:
            return not_valid()
        request.state.who = reader.address
        return html(web.confirmed_title, (web.confirmed.format(name=brand.name),),
                    background=BackgroundTask(welcome, reader.address, reader.name, reader.sid)
                    if settings.signup.welcome else None)

    def welcome(address: str, name: str, sid: str) -> None:
        joiner = "&" if "?" in brand.unsubscribe_url else "?"
        unsubscribe = f"{brand.unsubscribe_url}{joiner}token={sign_id(READER, sid, list_id, key)}"
        text = "\n\n".join([web.welcome_mail.format(name=brand.name), archive_url(brand.web_url),
                            web.welcome_unsubscribe, unsubscribe, f"{brand.publisher}, {brand.postal_address}"])
        send_notice(mail, address, name, web.welcome_subject.format(name=brand.name), text + "\n", unsubscribe)

    async def leave(request: Request) -> Response:
        manager = settings.list.manager
        if not manager:
            return html(web.leave_title.format(name=brand.name), (web.leave_no_manager.format(name=brand.name),))
        url = manager if "://" in manager or manager.startswith("mailto:") else f"mailto:{manager}"
        return html(web.leave_title.format(name=brand.name), (web.leave_list.format(name=brand.name),),
                    link={"url": url, "text": manager.removeprefix("mailto:")})

    def served(path: Path, media_type: str) -> Response:
        if not path.is_file():
            return html(web.not_found, status=404)
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=300"})

    archive = settings.output.dir

    async def index(request: Request) -> Response:
        return served(archive / ARCHIVE_INDEX, "text/html; charset=utf-8")

    async def issue(request: Request) -> Response:
        number = request.path_params["number"]  # a few digits only (the route's convertor): no path traversal
        return served(archive / str(number) / WEB, "text/html; charset=utf-8")

    async def feed(request: Request) -> Response:
        return served(archive / ARCHIVE_FEED, "application/atom+xml; charset=utf-8")

    async def with_slash(request: Request) -> Response:
        # A path, not a whole URL: behind the README's proxy (no X-Forwarded-Proto) the server sees http and
        # Starlette's own slash redirect would send https readers to http://. The index's links are relative.
        return RedirectResponse(request.url.path + "/", status_code=301)

    found: dict[str, Route] = {}
    for base in dict.fromkeys((path_of(archive_url(brand.web_url)), "/")):
        found[base] = Route(base, index)
        if base != "/":
            found[base.rstrip("/")] = Route(base.rstrip("/"), with_slash)
        for pattern in ("{number:issue}/", "{number:issue}/" + WEB):
            found[base + pattern] = Route(base + pattern, issue)
        found[base + "{number:issue}"] = Route(base + "{number:issue}", with_slash)
        found[base + FEED] = Route(base + FEED, feed)
    issue_path = path_of(brand.web_url).replace("{number}", "{number:issue}")
    found.setdefault(issue_path, Route(issue_path, issue))
    if issue_path.endswith("/"):
        found.setdefault(issue_path.rstrip("/"), Route(issue_path.rstrip("/"), with_slash))
    return [Route(subscribe_path, subscribe, methods=["GET", "POST"]),
            Route(confirm_path, confirm, methods=["GET", "POST"]),
            Route(path_of(leave_url(brand.unsubscribe_url)), leave),
            *found.values()]


class _Throttle:
    """At most `limit` events per key in any `seconds` (a sliding window in memory)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if len(self.seen) > 10_000:  # forget the clients whose window has passed
            for stale in [k for k, times in self.seen.items() if not times or now - times[-1] > self.seconds]:
                del self.seen[stale]
        window = self.seen[key]
        while window and now - window[0] > self.seconds:
            window.popleft()
        if len(window) >= self.limit:
            return False
        window.append(now)
        return True
