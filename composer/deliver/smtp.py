"""SMTP delivery with aiosmtplib: a pool of connections reused with RSET, rate limits, retries.

Per recipient, in the words of RFC 5321:
- 2xx after the final dot: sent.
- 5xx (to MAIL, RCPT or after the dot): failed with the server's reply, never retried.
- 4xx or a network error before the message went out: retried with exponential backoff and jitter,
  up to `retries` times; a 421 also reconnects.
- the connection lost once the message is on its way (after DATA): unknown. It may have been
  delivered, so it is never resent automatically.
- an authentication failure stops the run; so do `pause_after_errors` consecutive errors.
Jobs not yet started when a run stops stay pending and go out with the next run.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

import aiosmtplib

from composer.config import SmtpSettings
from composer.errors import WeeklyError
from composer.models import RecipientState as State

_NETWORK_ERRORS = (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError,
                   ConnectionError, OSError, asyncio.TimeoutError)


class SendStopped(WeeklyError):
    """The run cannot go on (authentication refused, too many errors in a row, no TLS for a password)."""


@dataclass
class Job:
    """One message to send: a ledger row (rowid None outside the ledger, as for --test-to)."""

    rowid: int | None
    address: str
    name: str
    attempts: int = 0


@dataclass
class Callbacks:
    """How the pool reports: `sending` just before DATA (awaited: DATA waits until it is recorded),
    `retrying` when a job will be tried again, `done` with (state, reply) once settled as sent, failed
    or unknown."""

    sending: Callable[[Job], Awaitable[None]]
    retrying: Callable[[Job, str], None]
    done: Callable[[Job, State, str], None]


class _Attempt(NamedTuple):
    """One try at a job: the connection if still usable, the job's state after it, the server's reply.
    PENDING means try again later."""

    client: aiosmtplib.SMTP | None
    state: State
    reply: str


async def deliver(jobs: Iterable[Job], message_for: Callable[[Job], bytes], envelope_sender: str,
                  settings: SmtpSettings, password: str | None, callbacks: Callbacks) -> None:
    """Send every job over a pool of `settings.connections` connections; raises SendStopped to stop early."""
    pool = _Pool(message_for, envelope_sender, settings, password, callbacks)
    await pool.run(jobs)


class _Pool:
    def __init__(self, message_for, envelope_sender: str, settings: SmtpSettings, password: str | None,
                 callbacks: Callbacks) -> None:
        self.message_for = message_for
        self.sender = envelope_sender
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
        self.consecutive_errors = 0
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

    def _stop(self, reason: SendStopped) -> None:
        """No new message starts; those on their way finish, then the run ends."""
        self.stopped = self.stopped or reason
        self._check_idle()

    def _check_idle(self) -> None:
        if (not self.producing and self.outstanding == 0) or (self.stopped and self.in_flight == 0):
            self.idle.set()

    def _settle(self, job: Job, state: State, reply: str) -> None:
        self.callbacks.done(job, state, reply)
        self.consecutive_errors = 0 if state is State.SENT else self.consecutive_errors + 1
        self._finish_one()
        if self.consecutive_errors >= self.settings.pause_after_errors:
            self._stop(SendStopped(f"{self.consecutive_errors} errors in a row (last: {reply}); paused"))

    def _finish_one(self) -> None:
        self.outstanding -= 1
        self._check_idle()

    def _retry(self, job: Job, reply: str) -> None:
        job.attempts += 1
        if job.attempts > self.settings.retries:
            self._settle(job, State.FAILED, f"gave up after {job.attempts} attempts: {reply}")
            return
        self.callbacks.retrying(job, reply)
        self.consecutive_errors += 1
        if self.consecutive_errors >= self.settings.pause_after_errors:
            self._finish_one()  # the job stays pending in the ledger
            self._stop(SendStopped(f"{self.consecutive_errors} errors in a row (last: {reply}); paused"))
            return
        delay = self.settings.retry_base_seconds * 2 ** (job.attempts - 1) * random.uniform(0.5, 1.5)
        asyncio.get_running_loop().call_later(delay, self._requeue, job)

    def _requeue(self, job: Job) -> None:
        if self.stopped:
            self._finish_one()
        else:
            self.queue.put_nowait(job)

    async def _pace(self) -> None:
        if not self.interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self.next_slot)
        self.next_slot = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _worker(self) -> None:
        client: aiosmtplib.SMTP | None = None
        on_connection = 0
        try:
            while True:
                job = await self.queue.get()
                if job is None:
                    return
                if job.attempts == 0:
                    self.slots.release()  # the producer took a slot for each new job, not for retries
                if self.stopped:
                    self._finish_one()
                    continue
                await self._pace()
                try:
                    if client is None or on_connection >= self.settings.max_messages_per_connection:
                        await _close(client)
                        client, on_connection = await self._connect(), 0
                except SendStopped as stop:
                    self._finish_one()
                    self._stop(stop)
                    continue
                except _NETWORK_ERRORS as err:
                    client = None
                    self._retry(job, f"cannot connect to {self.settings.host}:{self.settings.port}: {err}")
                    continue
                self.in_flight += 1
                try:
                    client, state, reply = await self._send(client, job)
                finally:
                    self.in_flight -= 1
                on_connection += 1
                if state is State.PENDING:
                    self._retry(job, reply)
                else:
                    self._settle(job, state, reply)
        finally:
            await _close(client)

    async def _connect(self) -> aiosmtplib.SMTP:
        settings = self.settings
        context = None if settings.validate_certs else _unverified_context()
        client = aiosmtplib.SMTP(
            hostname=settings.host, port=settings.port, timeout=settings.timeout_seconds,
            use_tls=settings.security == "ssl", start_tls=settings.security == "starttls",
            validate_certs=settings.validate_certs, tls_context=context,
            cert_bundle=str(settings.ca_file) if settings.ca_file and context is None else None,
        )
        await client.connect()
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
            try:
                await client.login(settings.username, self.password or "")
            except aiosmtplib.SMTPAuthenticationError as err:
                await _close(client)
                raise SendStopped(f"{settings.host}: authentication failed for {settings.username}: "
                                  f"{err.code} {err.message}") from err
        return client

    async def _send(self, client: aiosmtplib.SMTP, job: Job) -> _Attempt:
        try:
            await client.mail(self.sender, options=["BODY=8BITMIME"])
            await client.rcpt(job.address)
        except aiosmtplib.SMTPResponseException as err:
            return await _refused(client, err)
        except _NETWORK_ERRORS as err:
            await _close(client)
            return _Attempt(None, State.PENDING, f"connection lost before the message was sent: {err}")
        await self.callbacks.sending(job)
        try:
            response = await client.data(self.message_for(job))
        except aiosmtplib.SMTPResponseException as err:
            return await _refused(client, err)
        except _NETWORK_ERRORS as err:
            await _close(client)
            return _Attempt(None, State.UNKNOWN, f"connection lost while the message was being delivered: {err}")
        return _Attempt(client, State.SENT, f"{response.code} {response.message}")


async def _refused(client: aiosmtplib.SMTP, err: aiosmtplib.SMTPResponseException) -> _Attempt:
    """The server said no: 421 closes the connection, 4xx retries, 5xx fails; the message was not taken."""
    reply = f"{err.code} {err.message}"
    if err.code == 421:
        await _close(client)
        return _Attempt(None, State.PENDING, reply)
    return _Attempt(await _reset(client), State.FAILED if err.code >= 500 else State.PENDING, reply)


async def _reset(client: aiosmtplib.SMTP) -> aiosmtplib.SMTP | None:
    try:
        await client.rset()
        return client
    except (aiosmtplib.SMTPException, *_NETWORK_ERRORS):
        await _close(client)
        return None


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, *_NETWORK_ERRORS):
        client.close()


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
