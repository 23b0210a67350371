"""A polite HTTP client for feeds and APIs, behaving as feed readers are asked to:

- conditional GET: the ETag and Last-Modified of the last good answer go back to the server, and a 304
  answers with the body kept then (cache.py keeps both);
- gzip and deflate (httpx decodes them); the size cap counts decoded bytes, so a small gzip bomb is
  stopped like a large answer, and an announced Content-Length over the cap is refused unread;
- redirects followed up to `max_redirects`; a permanent one (301, 308) reported with the new URL;
- a time limit on each request (connecting, each wait for data, the whole answer); the caller holds
  another on the whole source;
- a User-Agent naming weekly, its version and a contact URL; at most `per_host` requests at once to a host;
- retries with exponential backoff and jitter after a 5xx, a timeout or a dropped connection, never a 4xx.

Every failure is a FetchFailed: a kind for code to decide on, a reason for the one line a user reads.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from enum import StrEnum
from itertools import pairwise
from typing import NamedTuple

import httpx

from composer import __version__
from composer.config import SourcesSettings
from composer.errors import WeeklyError
from composer.sources.cache import HttpCache, Kept

# The answer's headers worth keeping with its body: a 304 is answered with them too.
KEPT_HEADERS = ("content-type", "x-wp-total", "x-wp-totalpages")
_MB = 1024 * 1024


class Failure(StrEnum):
    DNS = "dns"
    TLS = "tls"
    CONNECT = "connect"
    TIMEOUT = "timeout"
    HTTP = "http"  # an error status
    TOO_LARGE = "too_large"
    NOT_A_FEED = "not_a_feed"  # an answer, but not what the source should give (an HTML page, bad JSON)
    REDIRECTS = "redirects"
    BROKEN = "broken"  # a dropped connection, a corrupt compressed body


class FetchFailed(WeeklyError):
    """A source could not be fetched: `kind` says how, the message why, for one line naming the source."""

    def __init__(self, kind: Failure, reason: str, retry: bool = False) -> None:
        super().__init__(reason)
        self.kind = kind
        self.retry = retry  # worth trying again: a 5xx, a timeout, a dropped connection

    def after(self, tries: int) -> FetchFailed:
        return FetchFailed(self.kind, f"{self} (after {tries} tries)") if tries > 1 else self


class Answer(NamedTuple):
    url: str
    body: bytes
    headers: dict[str, str]  # the KEPT_HEADERS the server sent (or, with a 304, sent last time)
    etag: str | None
    last_modified: str | None
    not_modified: bool  # a 304: `body` is the copy kept from before
    moved_to: str | None  # where a permanent redirect points: the URL to set instead


def user_agent(contact_url: str) -> str:
    return f"weekly/{__version__} (newsletter composer; +{contact_url})"


class Client:
    """One fetch's client: open it with `async with`, then `get` as many URLs as needed, concurrently."""

    def __init__(self, settings: SourcesSettings, contact_url: str, cache: HttpCache) -> None:
        self._settings = settings
        self._cache = cache
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._http = httpx.AsyncClient(
            headers={"User-Agent": user_agent(contact_url)}, timeout=httpx.Timeout(settings.timeout_seconds),
            follow_redirects=True, max_redirects=settings.max_redirects,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=16))

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def get(self, url: str, accept: str) -> Answer:
        """The body at `url` (the kept one when the server says 304), or FetchFailed after the retries."""
        kept = self._cache.get(url)
        headers = {"Accept": accept, **(kept.conditional() if kept else {})}
        attempt = 0
        while True:
            try:
                return await self._once(url, headers, kept)
            except FetchFailed as failed:
                attempt += 1
                if not failed.retry or attempt > self._settings.retries:
                    raise failed.after(attempt) from failed.__cause__
            await asyncio.sleep(self._settings.retry_base_seconds * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))

    async def _once(self, url: str, headers: dict[str, str], kept: Kept | None) -> Answer:
        host = httpx.URL(url).host
        limit = self._settings.timeout_seconds
        progress = _Progress()
        async with self._slot(host):
            try:
                async with asyncio.timeout(limit), self._http.stream("GET", url, headers=headers) as response:
                    progress.answered = True
                    return await self._answer(url, response, kept, progress)
            except (TimeoutError, httpx.ReadTimeout) as err:
                raise FetchFailed(Failure.TIMEOUT, progress.timed_out(limit), retry=True) from err
            except httpx.TooManyRedirects as err:
                raise FetchFailed(Failure.REDIRECTS, f"more than {self._settings.max_redirects} redirects "
                                  "(sources.max_redirects)") from err
            except httpx.ConnectTimeout as err:
                raise FetchFailed(Failure.TIMEOUT, f"no connection to {host} within {limit:g} s", retry=True) from err
            except httpx.TimeoutException as err:
                raise FetchFailed(Failure.TIMEOUT, f"timed out ({type(err).__name__})", retry=True) from err
            except httpx.ConnectError as err:
                raise _connect_failure(err, host) from err
            except httpx.DecodingError as err:
                raise FetchFailed(Failure.BROKEN, f"the compressed answer is corrupt ({_first_line(err)})") from err
            except httpx.TransportError as err:  # the connection dropped mid-answer, a protocol error
                raise FetchFailed(Failure.BROKEN, f"the connection broke: {_first_line(err)}", retry=True) from err

    async def _answer(self, url: str, response: httpx.Response, kept: Kept | None, progress: _Progress) -> Answer:
        status = response.status_code
        moved = _moved(response)
        if status == 304 and kept is not None:
            return Answer(url, kept.body(), kept.headers, kept.etag, kept.last_modified, True, moved)
        if status >= 500:
            raise FetchFailed(Failure.HTTP, f"HTTP {status} {response.reason_phrase}", retry=True)
        if not 200 <= status < 300:
            raise FetchFailed(Failure.HTTP, f"HTTP {status} {response.reason_phrase}")
        cap = int(self._settings.max_mb * _MB)
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > cap:
            raise FetchFailed(Failure.TOO_LARGE, f"the answer is {int(announced) / _MB:.1f} MB, over the "
                              f"{self._settings.max_mb:g} MB cap (sources.max_mb); not read")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            progress.received = len(body)
            if len(body) > cap:
                raise FetchFailed(Failure.TOO_LARGE, f"the answer is over the {self._settings.max_mb:g} MB cap "
                                  "(sources.max_mb); stopped reading")
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        return Answer(url, bytes(body), headers, response.headers.get("etag"), response.headers.get("last-modified"),
                      False, moved)

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self._settings.per_host))
        async with semaphore:
            yield


class _Progress:
    """How far a request got, for the words of its timeout."""

    answered = False
    received = 0

    def timed_out(self, limit: float) -> str:
        if not self.answered:
            return f"no answer within {limit:g} s (sources.timeout_seconds)"
        return (f"the answer stalled after {self.received / 1024:,.0f} KB: not whole within {limit:g} s "
                "(sources.timeout_seconds)")


def _moved(response: httpx.Response) -> str | None:
    """The URL a chain of permanent redirects (301, 308) from the asked one leads to, if it starts with one."""
    moved = None
    for hop, following in pairwise([*response.history, response]):
        if hop.status_code not in (301, 308):
            break
        moved = str(following.request.url)
    return moved


def _connect_failure(err: httpx.ConnectError, host: str) -> FetchFailed:
    """DNS and TLS failures do not mend in seconds; a refused connection may (a server restarting)."""
    for cause in _causes(err):
        if isinstance(cause, socket.gaierror):
            return FetchFailed(Failure.DNS, f"cannot resolve {host} (DNS: {cause.strerror or cause})")
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchFailed(Failure.TLS, f"TLS: the certificate of {host} is not trusted ({cause.verify_message})")
        if isinstance(cause, ssl.SSLError):
            return FetchFailed(Failure.TLS, f"TLS with {host} failed ({cause.reason or cause})")
    return FetchFailed(Failure.CONNECT, f"cannot connect to {host} ({_first_line(err)})", retry=True)


def _causes(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]
