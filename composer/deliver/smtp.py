"""SMTP delivery with aiosmtplib: a pool of connections reused with RSET, rate limits, retries.

Per recipient, in the words of RFC 5321:
- 2xx after the final dot: sent.
- 5xx (to MAIL, RCPT or after the dot): failed with the server's reply, never retried.
- 4xx to MAIL, RCPT or DATA: deferred; retried with exponential backoff and jitter up to `retries`
  times, then left pending (with the reply) for the next run. A 4xx never marks anybody failed.
- the connection lost once the message is on its way (after the server's 354 to DATA): unknown. It
  may have been delivered, so it is never resent automatically.
The server as a whole (connection refused or timed out, a silent server, 421, a connection lost or a
server silent before its 354) is not the recipient's fault: nothing went out, the job goes back to the
queue without counting an attempt, and no new attempt starts before a pool-wide backoff
(`retry_base_seconds`, doubling) has passed. `outage_errors` such failures in a row stop the run with
everybody not yet sent still pending. Several connections failing at once on a fast error (421, a
refused connection) count as one failure; each timeout counts on its own, since it cost a whole
`timeout_seconds` (so a server that stalls costs one timeout, not `pause_after_errors` of them). A copy
lost after its 354 is unknown and counts towards the pause too.
An untrusted TLS certificate, a refused login, a server without STARTTLS or AUTH when the settings need
them, `pause_after_errors` recipient errors in a row, and any unexpected error inside the pool stop the
run at once; it never hangs. Jobs not yet started when a run stops stay pending and go out with the next run.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import ssl
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import NamedTuple

import aiosmtplib
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import SMTPProtocol

from composer.config import SmtpSettings
from composer.deliver.message import Wire
from composer.errors import WeeklyError
from composer.models import RecipientState as State

_MAX_BACKOFF = 300.0  # seconds: the longest wait between two tries at a failing server
_NETWORK_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError,
                   ConnectionError, OSError, asyncio.TimeoutError)


class SendStopped(WeeklyError):
    """The run cannot go on (the server unavailable or unsuitable, authentication refused, too many errors
    in a row, the ledger not writable); everybody not yet sent stays pending."""


class SendInterrupted(SendStopped):
    """Ctrl-C or SIGTERM stopped the run (the command exits 130, as for any interrupt)."""


@dataclass
class Job:
    """One message to send: a ledger row (rowid None outside the ledger, as for --test-to)."""

    rowid: int | None
    address: str
    name: str
    attempts: int = 0  # 4xx replies so far
    fresh: bool = True  # not yet taken from the queue once
    claimed: bool = False  # recorded as `sending` by this attempt: a retry must record it pending again


@dataclass
class Callbacks:
    """How the pool reports: `sending` just before DATA (awaited: DATA waits until it is recorded; False
    means another sender claimed the recipient first, so this message is not sent), `retrying` when a job
    will be tried again, `done` with (state, reply) once settled as sent, failed or unknown."""

    sending: Callable[[Job], Awaitable[bool]]
    retrying: Callable[[Job, str], None]
    done: Callable[[Job, State, str], None]


class _Attempt(NamedTuple):
    """One try at a job: the connection if still usable, the job's state after it, the server's reply.
    PENDING means try again later: the recipient deferred, or (`outage`) the server failed."""

    client: aiosmtplib.SMTP | None
    state: State
    reply: str
    outage: bool = False
    slow: bool = False  # the outage was a timeout


async def deliver(jobs: Iterable[Job], message_for: Callable[[Job], Awaitable[Wire]], envelope_for: Callable[[Job], str],
                  settings: SmtpSettings, password: str | None, callbacks: Callbacks) -> None:
    """Send every job over a pool of `settings.connections` connections, each from `envelope_for(job)` (the
    MAIL FROM: where its bounces go) with `message_for(job)` as DATA carries it (message.on_the_wire: CRLF,
    dot-stuffed, the final dot); raises SendStopped to stop early. `message_for` starts with the transaction
    and is awaited just before DATA, so a copy signed in a thread is made while MAIL, RCPT and the claim go on.

    Ctrl-C and SIGTERM stop it the same way, from the event loop rather than wherever the signal lands:
    no new message starts (a wait for the rate limit or a backoff ends at once, and a transaction not yet at
    its DATA is reset), those on their way finish and are recorded, then SendStopped says so.
    """
    pool = _Pool(message_for, envelope_for, settings, password, callbacks)
    with _signals_stop(pool):
        await pool.run(jobs)


@contextmanager
def _signals_stop(pool: _Pool) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    installed = []
    for sig in previous:
        try:
            loop.add_signal_handler(sig, pool.interrupt, sig)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests): the caller's handling stays
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous[sig])


class _Pool:
    def __init__(self, message_for: Callable[[Job], Awaitable[Wire]], envelope_for: Callable[[Job], str], settings: SmtpSettings,
                 password: str | None, callbacks: Callbacks) -> None:
        self.message_for = message_for
        self.envelope_for = envelope_for
        self.settings = settings
        self.password = password
        self.callbacks = callbacks
        # Unbounded, so the None that ends each worker always fits; `slots` keeps the producer a little ahead.
        self.queue: asyncio.Queue[Job | None] = asyncio.Queue()
        self.slots = asyncio.Semaphore(settings.connections * 4)
        self.outstanding = 0  # jobs queued or being retried, not yet settled
        self.in_flight = 0  # jobs between MAIL FROM and the server's last reply
        self.producing = True
        self.idle = asyncio.Event()
        self.stopped: SendStopped | None = None
        self.stopping = asyncio.Event()  # set with `stopped`: wakes whoever waits out a backoff
        self.consecutive_errors = 0  # recipients settled other than sent, in a row
        self.outages = 0  # server-level errors in a row
        self.calm_at = 0.0  # no attempt starts before this (loop time): the backoff after an outage
        intervals = [1 / settings.rate_per_second if settings.rate_per_second else 0,
                     3600 / settings.rate_per_hour if settings.rate_per_hour else 0]
        self.interval = max(intervals)
        self.next_slot = 0.0

    async def run(self, jobs: Iterable[Job]) -> None:
        workers = [asyncio.create_task(self._worker()) for _ in range(self.settings.connections)]
        try:
            for job in jobs:
                await self.slots.acquire()
                if self.stopped:
                    break
                self.outstanding += 1
                self.queue.put_nowait(job)
            self.producing = False
            self._check_idle()
            await self.idle.wait()
        finally:
            # Workers end on a None each, after closing their connection politely. Cancelling them is only
            # the fallback: aiosmtplib can swallow a cancellation while it closes a connection.
            self.producing = False
            for _ in workers:
                self.queue.put_nowait(None)
            _, late = await asyncio.wait(workers, timeout=self.settings.timeout_seconds + 5)
            for worker in late:
                worker.cancel()
        if self.stopped:
            raise self.stopped

    def interrupt(self, sig: int) -> None:
        self._stop(SendInterrupted(f"stopped by {signal.Signals(sig).name}; the messages on their way were "
                                   "finished and recorded"))

    def _stop(self, reason: SendStopped) -> None:
        """No new message starts; those on their way finish, then the run ends."""
        self.stopped = self.stopped or reason
        self.stopping.set()
        self._check_idle()

    def _check_idle(self) -> None:
        if (not self.producing and self.outstanding == 0) or (self.stopped and self.in_flight == 0):
            self.idle.set()

    def _settle(self, job: Job, state: State, reply: str, server_failed: bool = False) -> None:
        """The job is done with for this run: sent, failed, unknown, or deferred (left pending). Unless the
        server failed on it (`server_failed`), the server answered: the outages in a row are over."""
        self.callbacks.done(job, state, reply)
        if not server_failed:
            self.outages = 0
        self.consecutive_errors = 0 if state is State.SENT else self.consecutive_errors + 1
        self._finish_one()
        self._pause_after_errors(reply)

    def _finish_one(self) -> None:
        self.outstanding -= 1
        self._check_idle()

    def _defer(self, job: Job, reply: str) -> None:
        """A 4xx for this recipient: try again after a backoff, or leave it pending for the next run."""
        job.attempts += 1
        if job.attempts > self.settings.retries:
            self._settle(job, State.PENDING, f"deferred {job.attempts} times, left for the next run: {reply}")
            return
        self.callbacks.retrying(job, reply)
        self.consecutive_errors += 1
        if self._pause_after_errors(reply):
            self._finish_one()  # the job stays pending in the ledger
            return
        self._later(job, job.attempts)

    def _pause_after_errors(self, reply: str) -> bool:
        """Stop once `pause_after_errors` recipient errors came in a row; True if the run is stopping now."""
        if self.consecutive_errors < self.settings.pause_after_errors:
            return False
        self._stop(SendStopped(f"{self.consecutive_errors} recipient errors in a row (last: {reply}); paused"))
        return True

    def _outage(self, job: Job | None, reason: str, started: float, slow: bool) -> None:
        """The server, not the recipient, failed: requeue `job` uncounted (None: it is settled already);
        no attempt starts before a backoff; stop after `outage_errors` failures in a row. A fast failure
        seen by an attempt that started before the last counted one ended its backoff is that same failure,
        seen by another connection."""
        loop = asyncio.get_running_loop()
        if slow or started >= self.calm_at:
            self.outages += 1
            delay = self.settings.retry_base_seconds * 2 ** (self.outages - 1) * random.uniform(0.75, 1.25)
            self.calm_at = loop.time() + min(delay, _MAX_BACKOFF)
        if self.outages >= self.settings.outage_errors:
            if job is not None:
                self._finish_one()  # the job stays pending in the ledger
            self._stop(SendStopped(f"{self.settings.host}:{self.settings.port} unavailable ({self.outages} errors "
                                   f"in a row, last: {reason}); paused"))
        elif job is not None:
            self.queue.put_nowait(job)  # it waits for the backoff in _handle, like every other attempt

    def _later(self, job: Job, tries: int) -> None:
        delay = self.settings.retry_base_seconds * 2 ** (tries - 1) * random.uniform(0.5, 1.5)
        asyncio.get_running_loop().call_later(delay, self._requeue, job)

    def _requeue(self, job: Job) -> None:
        if self.stopped:
            self._finish_one()
        else:
            self.queue.put_nowait(job)

    async def _pace(self) -> None:
        """Wait for this attempt's slot under the rate limits (each worker holds the next free one)."""
        if not self.interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        await self._until(slot)

    async def _until(self, moment: float) -> None:
        """Wait until `moment` (loop time); a stop ends the wait at once, so Ctrl-C or SIGTERM never waits
        out a backoff or a rate limit."""
        delay = moment - asyncio.get_running_loop().time()
        if delay > 0 and not self.stopped:
            with suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)

    async def _worker(self) -> None:
        client: aiosmtplib.SMTP | None = None
        on_connection = 0
        try:
            while True:
                job = await self.queue.get()
                if job is None:
                    return
                if job.fresh:
                    job.fresh = False
                    self.slots.release()  # the producer took a slot for each new job, not for retries
                if self.stopped:
                    self._finish_one()
                    continue
                try:
                    client, on_connection = await self._handle(job, client, on_connection)
                except Exception as err:  # noqa: BLE001 (the ledger, a callback, anything: stop, never hang)
                    client = _discard(client)
                    self._finish_one()  # if the job was settled already, the stop below ends the run anyway
                    self._stop(err if isinstance(err, SendStopped) else SendStopped(_describe(err)))
        finally:
            await _close(client)

    async def _handle(self, job: Job, client: aiosmtplib.SMTP | None, on_connection: int
                      ) -> tuple[aiosmtplib.SMTP | None, int]:
        """One try at `job`; returns the connection to go on with and how many messages it carried."""
        loop = asyncio.get_running_loop()
        await self._until(self.calm_at)  # after an outage, nobody hammers the server
        await self._pace()
        if self.stopped:  # during either wait: this job stays pending, no new message starts
            self._finish_one()
            return client, on_connection
        started = loop.time()
        if client is None or on_connection >= self.settings.max_messages_per_connection:
            await _close(client)
            client, on_connection = None, 0
            try:
                client = await self._connect()
            except SendStopped as stop:
                self._finish_one()
                self._stop(stop)
                return None, 0
            except (*_NETWORK_ERRORS, aiosmtplib.SMTPResponseException) as err:
                self._outage(job, f"cannot connect: {_describe(err)}", started, slow=_timed_out(err))
                return None, 0
        self.in_flight += 1
        try:
            attempt = await self._send(client, job)
        finally:
            self.in_flight -= 1
            self._check_idle()  # a stop waits for the messages on their way, this one included
        if attempt.state in (State.PENDING, State.SKIPPED) and job.claimed:
            self.callbacks.retrying(job, attempt.reply)  # recorded as sending: nothing went out, so pending
        job.claimed = False
        if attempt.state is State.SKIPPED:
            self._finish_one()  # another sender's now, or the run stopped before DATA: nothing to record here
        elif attempt.outage and attempt.state is State.PENDING:
            self._outage(job, attempt.reply, started, attempt.slow)
        elif attempt.state is State.PENDING:
            self._defer(job, attempt.reply)
        elif attempt.outage:  # lost after the message went out: unknown, and the server failing
            self._settle(job, attempt.state, attempt.reply, server_failed=True)
            self._outage(None, attempt.reply, started, attempt.slow)
        else:
            self._settle(job, attempt.state, attempt.reply)
        return attempt.client, on_connection + 1

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self.settings
        context = None if settings.validate_certs else _unverified_context()
        client = aiosmtplib.SMTP(
            hostname=settings.host, port=settings.port, timeout=settings.timeout_seconds,
            use_tls=settings.security == "ssl", start_tls=settings.security == "starttls",
            validate_certs=settings.validate_certs, tls_context=context,
            cert_bundle=str(settings.ca_file) if settings.ca_file and context is None else None,
        )
        try:
            await client.connect(timeout=settings.connect_timeout_seconds)
        except aiosmtplib.SMTPConnectResponseError as err:
            if err.code >= 500:
                raise SendStopped(f"{settings.host}:{settings.port} refuses service: {err.code} {err.message}") from err
            raise
        except (aiosmtplib.SMTPException, OSError) as err:
            untrusted = _certificate_problem(err)
            if untrusted is not None:  # no outage: trying again changes nothing, the settings must
                _discard(client)
                raise SendStopped(f"{settings.host}:{settings.port}: the server's TLS certificate is not trusted "
                                  f"({untrusted}); if a private CA signed it, set smtp.ca_file to that CA's "
                                  f"certificate (PEM)" + (f"; it is {settings.ca_file} now" if settings.ca_file
                                                          else "")) from err
            if isinstance(err, (*_NETWORK_ERRORS, aiosmtplib.SMTPConnectError)):
                raise
            _discard(client)  # STARTTLS asked for but not offered, and the like
            raise SendStopped(f"{settings.host}:{settings.port}: {_describe(err)} (smtp.security is "
                              f"{settings.security})") from err
        if not client.esmtp_extensions:
            await client.ehlo()  # connect() says EHLO only when it needs to for TLS or AUTH
        if not client.supports_extension("8bitmime"):
            await _close(client)
            raise SendStopped(f"{settings.host}:{settings.port} does not accept 8-bit messages (no 8BITMIME)")
        if settings.username:
            if settings.security == "none" and not settings.allow_auth_without_tls:
                await _close(client)
                raise SendStopped("refusing to send the SMTP password without TLS; set smtp.security to ssl or "
                                  "starttls (or smtp.allow_auth_without_tls = true for a trusted local relay)")
            if not client.supports_extension("auth"):
                await _close(client)
                raise SendStopped(f"{settings.host}:{settings.port} offers no AUTH, but smtp.username is set; "
                                  "unset it for a relay that needs no login")
            try:
                await client.login(settings.username, self.password or "")
            except aiosmtplib.SMTPAuthenticationError as err:
                await _close(client)
                raise SendStopped(f"{settings.host}: authentication failed for {settings.username}: "
                                  f"{err.code} {err.message}") from err
            except aiosmtplib.SMTPException as err:
                await _close(client)
                raise SendStopped(f"{settings.host}: cannot log in as {settings.username}: {_describe(err)}") from err
        return client

    async def _send(self, client: aiosmtplib.SMTP, job: Job) -> _Attempt:
        """One transaction, written straight to aiosmtplib's protocol (the connection is this worker's
        alone): MAIL, RCPT, the claim, DATA, then the prepared copy. aiosmtplib's mail(), rcpt() and data()
        would parse both addresses again and normalise and dot-stuff every 50 KB copy again."""
        message = asyncio.ensure_future(self.message_for(job))
        try:
            return await self._transaction(client, job, message)
        finally:
            message.cancel()  # unless it was needed: a transaction that ended before DATA needs no copy

    async def _transaction(self, client: aiosmtplib.SMTP, job: Job, message: Awaitable[Wire]) -> _Attempt:
        protocol, timeout = client.protocol, self.settings.timeout_seconds
        try:
            if protocol is None:
                raise aiosmtplib.SMTPServerDisconnected("Connection lost")
            reply = await _command(protocol, b"MAIL FROM:%s BODY=8BITMIME" % _path(self.envelope_for(job)), timeout)
            if reply.code != 250:
                return await _refused(client, aiosmtplib.SMTPSenderRefused(reply.code, reply.message, ""))
            reply = await _command(protocol, b"RCPT TO:%s" % _path(job.address), timeout)
            if reply.code not in (250, 251):
                return await _refused(client, aiosmtplib.SMTPRecipientRefused(reply.code, reply.message, ""))
        except _NETWORK_ERRORS as err:
            return _lost_before(client, err)
        if not await self.callbacks.sending(job):
            return _Attempt(await _reset(client), State.SKIPPED, "claimed by another sender")
        job.claimed = True
        wire = await message
        if self.stopped:  # during MAIL, RCPT or the claim: no new message starts, the row goes back to pending
            return _Attempt(await _reset(client), State.SKIPPED, "the run stopped before its DATA")
        # DATA in its two steps: until the server's 354 nothing went out, so a connection lost or a server
        # silent before it leaves the recipient pending; after it, unknown.
        try:
            start = await _command(protocol, b"DATA", timeout)
        except _NETWORK_ERRORS as err:
            return _lost_before(client, err)
        if start.code != 354:
            return await _refused(client, aiosmtplib.SMTPDataError(start.code, start.message))
        try:
            response = await _command(protocol, wire, timeout, line=False)
        except _NETWORK_ERRORS as err:
            return _Attempt(_discard(client), State.UNKNOWN, "connection lost while the message was being "
                            f"delivered: {_describe(err)}", outage=True, slow=_timed_out(err))
        if response.code != 250:
            return await _refused(client, aiosmtplib.SMTPDataError(response.code, response.message))
        return _Attempt(client, State.SENT, f"{response.code} {response.message}")


async def _command(protocol: SMTPProtocol, data: bytes, timeout: float, line: bool = True) -> aiosmtplib.SMTPResponse:
    """Write a command line (or with `line` False, a message as DATA carries it) and read the reply."""
    protocol.write(data + b"\r\n" if line else data)
    return await protocol.read_response(timeout=timeout)


_PLAIN_PATH = re.compile(r"[!#-'*+\-./0-9=?A-Z^-~]+@[A-Za-z0-9.\-]+")


def _path(address: str) -> bytes:
    """`<address>` for MAIL FROM or RCPT TO. Addresses pass valid_address before they get here; any other
    goes through aiosmtplib's own quoting, which refuses what could smuggle a command onto the line."""
    if _PLAIN_PATH.fullmatch(address):
        return b"<%s>" % address.encode()
    return quote_address(address).encode("ascii")


def _lost_before(client: aiosmtplib.SMTP, err: BaseException) -> _Attempt:
    return _Attempt(_discard(client), State.PENDING, f"connection lost before the message was sent: "
                    f"{_describe(err)}", outage=True, slow=_timed_out(err))


def _timed_out(err: BaseException) -> bool:
    return isinstance(err, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError))


def _certificate_problem(err: BaseException) -> str | None:
    """Why the server's certificate was refused, if that is what `err` (or what caused it) says."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


async def _refused(client: aiosmtplib.SMTP, err: aiosmtplib.SMTPResponseException) -> _Attempt:
    """The server said no and did not take the message: 421 (the server is going away) is an outage,
    another 4xx defers the recipient, 5xx fails it."""
    reply = f"{err.code} {err.message}"
    if err.code == 421:
        return _Attempt(_discard(client), State.PENDING, reply, outage=True)
    return _Attempt(await _reset(client), State.FAILED if err.code >= 500 else State.PENDING, reply)


async def _reset(client: aiosmtplib.SMTP) -> aiosmtplib.SMTP | None:
    try:
        await client.rset()
        return client
    except (aiosmtplib.SMTPException, *_NETWORK_ERRORS):
        await _close(client)
        return None


async def _close(client: aiosmtplib.SMTP | None) -> None:
    """QUIT politely, within the command timeout; drop the connection if that fails."""
    if client is None:
        return
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, *_NETWORK_ERRORS):
        client.close()


def _discard(client: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP | None:
    """Drop a connection that can no longer be trusted, without a word to the server; None to go on with."""
    if client is not None:
        client.close()
    return None


def _describe(err: BaseException) -> str:
    """An exception in a few words: its message, or its type when it has none (a timeout often has none)."""
    return str(err).strip() or type(err).__name__


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
