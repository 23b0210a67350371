"""What keeps `weekly serve` standing: limits on what one client, or many, can make it hold.

- the request body: at most `serve.max_body_bytes`, refused with 413 from its Content-Length or as soon as
  more arrives, never read whole into memory (BodyLimit, an ASGI middleware);
- the request headers: complete within `serve.header_timeout_seconds` of the connection (or of the
  previous response), or the connection is closed: slow-header clients cannot hold connections open;
- connections: at most `serve.max_connections` open (kept below the process's file-descriptor limit), the
  ones beyond closed at once (guarded_protocol, uvicorn's h11 protocol with both checks);
- the rate limiter: requests per client per minute in fixed windows, at most `MAX_CLIENTS` clients
  remembered (RateLimit);
- the log: the same message at most `LOG_BURST` times a minute, then one line saying how many were
  dropped (LogRateLimit), so a flood never fills the disk.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections import OrderedDict

MAX_CLIENTS = 10_000
LOG_BURST = 5
HEADER_BYTES = 16 * 1024  # a request line and headers longer than this get 400
ACCEPT_BURST = 64  # the listen backlog, which is also how many sockets asyncio accepts in one go
_SPARE_DESCRIPTORS = 64  # the store, the log, the queue, Python's own files


def connection_limit(wanted: int) -> int:
    """`wanted`, or fewer if the process may not open that many files: besides its connections it needs
    a few files of its own and room for a burst of ACCEPT_BURST sockets accepted before any is closed."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - _SPARE_DESCRIPTORS - ACCEPT_BURST))


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Out of file descriptors, asyncio logs a traceback for every accept() it retries: say it in one
    line instead (and LogRateLimit keeps that to a few a minute). asyncio waits a second and goes on."""
    def handler(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
            logging.getLogger("weekly.serve").error("no file descriptors left (%s): new connections wait; lower "
                                                    "serve.max_connections or raise the process's file limit",
                                                    error.strerror)
            return
        loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


def guarded_protocol(header_timeout: float, max_connections: int, fast: bool = True):
    """uvicorn's HTTP protocol class, with a deadline for each request's headers, a cap on their size
    (HEADER_BYTES) and a connection cap: httptools' (a C parser, several times h11's speed) when `fast` and
    it is installed, h11's otherwise."""
    if fast:
        try:
            return _httptools_guarded(header_timeout, max_connections)
        except ImportError:
            pass
    return _h11_guarded(header_timeout, max_connections)


class _Deadline:
    """The header deadline and the connection cap, shared by both protocol classes (a mixin before them)."""

    header_timeout: float
    max_connections: int
    connections: set
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def _admit(self, transport: asyncio.Transport) -> bool:
        self._deadline: asyncio.TimerHandle | None = None
        if len(self.connections) > self.max_connections:
            transport.abort()  # before reading a byte: the descriptors stay below the limit
            return False
        self._start_deadline()
        return True

    def _start_deadline(self) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.header_timeout, self.transport.abort)

    def _cancel_deadline(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()  # type: ignore[union-attr]
            self._deadline = None

    # Both protocols end a response and lose a connection the same way; the mixin stands before them.
    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._start_deadline()  # a kept-alive connection's next request gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)  # type: ignore[misc]


def _h11_guarded(header_timeout: float, max_connections: int):
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Guarded(_Deadline, H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._answered = self.cycle
            self._admit(transport)

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not self._answered:  # a new request's headers are complete
                self._answered = self.cycle
                self._cancel_deadline()

    Guarded.header_timeout, Guarded.max_connections = header_timeout, max_connections
    return Guarded


class _HeadersTooLarge(Exception):
    pass


def _httptools_guarded(header_timeout: float, max_connections: int):
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Guarded(_Deadline, HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_bytes = 0
            self._admit(transport)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._header_bytes = 0

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value))
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._cancel_deadline()
            super().on_headers_complete()

        def _count(self, size: int) -> None:
            """The parser turns this exception into uvicorn's 400 and a closed connection, as h11 does
            past its h11_max_incomplete_event_size."""
            self._header_bytes += size
            if self._header_bytes > HEADER_BYTES:
                raise _HeadersTooLarge

    Guarded.header_timeout, Guarded.max_connections = header_timeout, max_connections
    return Guarded


def register_issue_number() -> None:
    """The `{number:issue}` path convertor: a few digits only. Starlette's `int` takes any run of digits and
    int() refuses more than 4,300 of them with a ValueError (a 500); no path traversal either way."""
    from starlette.convertors import Convertor, register_url_convertor

    class IssueNumber(Convertor):
        regex = "[0-9]{1,9}"

        def convert(self, value: str) -> int:
            return int(value)

        def to_string(self, value: int) -> str:
            return str(value)

    register_url_convertor("issue", IssueNumber())


class _TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a request body over `limit` bytes gets 413 and is never read further."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = b"0", False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value.strip()
            elif name == b"transfer-encoding":
                chunked = True
        if not declared.isdigit() or len(declared) > 15 or int(declared) > self.limit:
            await _refuse(send, self.limit)
            return
        if not chunked:  # the server reads no more than the length declared: nothing to count
            await self.app(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge
            return message

        async def watched_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except _TooLarge:
            if not started:
                await _refuse(send, self.limit)


async def _refuse(send, limit: int) -> None:
    body = f"a request body may have at most {limit} bytes\n".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RateLimit:
    """At most `per_minute` requests per client in each minute (fixed windows), for at most MAX_CLIENTS
    clients at once: beyond that the oldest are forgotten, so memory stays bounded whatever the traffic."""

    def __init__(self, per_minute: int, max_clients: int = MAX_CLIENTS) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self.seen: OrderedDict[str, tuple[float, int]] = OrderedDict()  # client -> (window start, count)

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        start, count = self.seen.pop(client, (now, 0))
        if now - start >= 60:
            start, count = now, 0
        self.seen[client] = (start, count + 1)  # the most recent last
        while len(self.seen) > self.max_clients:
            self.seen.popitem(last=False)
        return count < self.per_minute


class LogRateLimit(logging.Filter):
    """The same message (logger and format) at most LOG_BURST times a minute if it is an error or carries a
    traceback, 20 times that otherwise (a request line); the next one that passes says how many were
    dropped."""

    def __init__(self, burst: int = LOG_BURST) -> None:
        super().__init__()
        self.burst = burst
        self.windows: dict[tuple[str, str], list[float]] = {}  # key -> [window start, passed, dropped]

    def filter(self, record: logging.LogRecord) -> bool:
        passes, dropped = self.admit((record.name, str(record.msg)),
                                     record.levelno >= logging.ERROR or bool(record.exc_info))
        if passes and dropped:
            record.msg = f"{record.msg} ({dropped} like this dropped in the last minute)"
        return passes

    def admit(self, key: tuple[str, str], grave: bool) -> tuple[bool, int]:
        """Whether a message of `key` may pass now, and how many like it were dropped in the minute before
        (non-zero once, for the first to pass after them). A caller may ask before making the record: a
        request line costs a few microseconds to make, and a burst drops nearly all of them."""
        now = time.monotonic()
        window = self.windows.setdefault(key, [now, 0, 0])
        dropped = 0
        if now - window[0] >= 60:
            dropped = int(window[2])
            window[:] = [now, 0, 0]
        if window[1] >= (self.burst if grave else self.burst * 20):
            window[2] += 1
            return False, 0
        window[1] += 1
        if len(self.windows) > MAX_CLIENTS:  # many different messages: forget the windows, not the limit
            self.windows = {key: window}
        return True, dropped
