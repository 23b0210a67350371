"""`weekly serve`'s durable queue of one-clicks: written to a file first, then applied to the store.

A one-click must never be lost, and the store may be busy (a long dry run or migration holds its write
lock, a PostgreSQL server restarts) for longer than a mail provider waits for an answer. So an unsubscribe
(or a resubscribe) is appended to the queue file and fsync'ed, which is the moment it counts and the
moment the reader gets the answer; a thread applies the queue to the store in order, retrying with a
backoff while the store refuses. A server killed in between applies the rest when it starts again. Each
line is JSON: {"op": "unsubscribe" | "resubscribe", "email": …, "at": seconds since the epoch, "id": …}.

A burst (a mail provider posts thousands of one-clicks from a few addresses) is what this is built for:
- the event loop hands the writer thread its requests once per turn of the loop, not once a request;
- the writer takes every request waiting at that moment, finds the address of those that name it by a
  token (readers.address_of, on a store connection of its own), and appends them in one write and one
  fsync (a group commit), so the disk's sync time is paid once per group; then it answers the whole
  group in one call into the event loop;
- the applier thread applies every line written so far in one store transaction, in order;
- once everything written is applied the file is truncated, never rewritten: a line applied twice after a
  crash does no harm, since applying is idempotent (an address suppressed twice is suppressed).
Neither thread runs on the event loop. One `weekly serve` per queue file (a lock file says so).
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from composer.errors import WeeklyError
from composer.store import Store, StoreError

log = logging.getLogger("weekly.serve")
UNSUBSCRIBE, RESUBSCRIBE = "unsubscribe", "resubscribe"
_MAX_BACKOFF = 30.0


Find = Callable[[Store], str]  # the address a request is about, from the store (TokenError if none)


@dataclass
class Ticket:
    """One request in the queue, and its answer on the event loop that queued it (none for a line an
    earlier run left)."""

    op: str
    email: str  # "" until found
    find: Find | None = None
    line: bytes = b""
    answer: asyncio.Future | None = None


class UnsubscribeQueue:
    """The queue file `path`, applied to the store `open_store()` opens (a connection of the applier's own)."""

    def __init__(self, path: Path, open_store: Callable[[], Store]) -> None:
        self.path = path
        self.open_store = open_store
        self._changed = threading.Condition()  # guards everything below, wakes both threads
        self._arriving: list[Ticket] = []  # queued on the event loop in this turn of it
        self._unwritten: list[Ticket] = []
        self._unapplied: deque[Ticket] = deque()  # on disk, not yet in the store, in order
        self._stopping = False
        self._writing = False  # a group taken from _unwritten is being written
        self._file_lock = threading.Lock()  # a write and a truncation never overlap
        self._file: int | None = None
        self._torn = False  # the file may end in half a line: the next write starts a new one
        self._owner: IO[str] | None = None  # the lock file, flocked while this queue is in use
        self._threads: list[threading.Thread] = []
        self._run_id, self._numbers = secrets.token_hex(4), itertools.count()  # each line's id: unique, cheap
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)
            self._owner = open(path.with_name(f".{path.name}.lock"), "a")  # noqa: SIM115 (held for the server's life)
            fcntl.flock(self._owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise WeeklyError(f"{path}: another weekly serve is using this unsubscribe queue (serve.queue_file): "
                              "run one server per queue file") from err
        except OSError as err:
            raise WeeklyError(f"{path}: cannot create the unsubscribe queue (serve.queue_file): "
                              f"{err.strerror or err}") from err

    def add(self, op: str, who: str | Find) -> asyncio.Future:
        """Queue `op` for an address, or for the address `who(store)` finds; on the event loop. The future is
        the address once the request is safe on disk, or the error that kept it off (a WeeklyError: the
        token's TokenError, a StoreError, the disk's refusal)."""
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        ticket = Ticket(op, "", who, answer=answer) if callable(who) else Ticket(op, who.lower(), answer=answer)
        if not self._arriving:
            loop.call_soon(self._hand_over)  # after the other requests of this turn of the loop
        self._arriving.append(ticket)
        return answer

    def _hand_over(self) -> None:
        arrived, self._arriving = self._arriving, []
        with self._changed:
            if self._stopping or self._file is None:
                _refuse(arrived, [WeeklyError(f"{self.path}: the unsubscribe queue is not running")] * len(arrived))
                return
            self._unwritten.extend(arrived)
            self._changed.notify_all()

    def pending(self, email: str) -> str | None:
        """The last op queued and not yet applied for `email`, if any (on the event loop)."""
        email = email.lower()
        with self._changed:
            waiting = [*self._unapplied, *self._unwritten, *self._arriving]
        return next((ticket.op for ticket in reversed(waiting) if ticket.email == email), None)

    def start(self) -> None:
        """Apply what a previous run left in the file, and take new requests."""
        try:
            self._file = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as err:
            raise WeeklyError(f"{self.path}: cannot open the unsubscribe queue: {err.strerror or err}") from err
        left, self._torn = _read(self.path)
        self._unapplied.extend(Ticket(str(entry.get("op")), str(entry.get("email", ""))) for entry in left)
        self._stopping = False
        self._threads = [threading.Thread(target=self._write, name="unsubscribe-queue-writer", daemon=True),
                         threading.Thread(target=self._apply, name="unsubscribe-queue", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Write what is waiting, give the store one last try at it (what it cannot take stays in the file),
        and let the file go (another server may take it then)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        if self._file is not None:
            os.close(self._file)
            self._file = None
        if self._owner is not None:
            self._owner.close()  # the flock goes with it
            self._owner = None

    def _write(self) -> None:
        """Find the addresses of each group of waiting requests, then append the group in one write and one
        fsync."""
        store: Store | None = None
        try:
            while True:
                with self._changed:
                    self._changed.wait_for(lambda: self._unwritten or self._stopping)
                    group, self._unwritten = self._unwritten, []
                    if not group:
                        return
                    self._writing = True
                found, refused, store = self._find(group, store)
                with self._file_lock:
                    refusal = self._append(found)
                    with self._changed:  # before the file lock goes: a truncation must see these lines as unapplied
                        self._writing = False
                        if refusal is None:
                            self._unapplied.extend(found)
                        self._changed.notify_all()
                if refusal is not None:
                    refused += [(ticket, refusal) for ticket in found]
                    found = []
                _on_loop([ticket for ticket, _ in refused], _refuse, [error for _, error in refused])
                _on_loop(found, _answer, [])
        finally:
            if store is not None:
                store.close()

    def _find(self, group: list[Ticket], store: Store | None
              ) -> tuple[list[Ticket], list[tuple[Ticket, Exception]], Store | None]:
        """The tickets whose address is known or found, those refused (a bad token, the store away), and the
        writer's store connection (opened when first needed, dropped when it fails)."""
        found: list[Ticket] = []
        refused: list[tuple[Ticket, Exception]] = []
        away: StoreError | None = None  # the store failed: the rest of the group is refused, not retried each
        for ticket in group:
            if ticket.find is not None:
                try:
                    if away is not None:
                        raise away
                    store = store or self.open_store()
                    ticket.email = ticket.find(store).lower()
                except Exception as err:  # noqa: BLE001 (the request's own error, handed back to it)
                    refused.append((ticket, err))
                    if isinstance(err, StoreError):
                        away = err
                        if store is not None:
                            store.close()
                            store = None
                    continue
                ticket.find = None
            entry = {"op": ticket.op, "email": ticket.email, "at": time.time(),
                     "id": f"{self._run_id}{next(self._numbers):x}"}
            ticket.line = (json.dumps(entry) + "\n").encode()
            found.append(ticket)
        return found, refused, store

    def _append(self, group: list[Ticket]) -> WeeklyError | None:
        """Write and sync the group's lines (under the file lock); the error if the disk refuses."""
        if not group:
            return None
        data = (b"\n" if self._torn else b"") + b"".join(ticket.line for ticket in group)
        try:
            written = os.write(self._file, data) if self._file is not None else 0
            if written != len(data):
                raise OSError(f"only {written} of {len(data)} bytes written")
            os.fsync(self._file)  # type: ignore[arg-type]
        except OSError as err:
            self._torn = True
            return WeeklyError(f"{self.path}: cannot record the request: {err.strerror or err}")
        self._torn = False
        return None

    def _apply(self) -> None:
        """Apply what is on disk to the store, a group per transaction, in order; back off while it refuses."""
        store: Store | None = None
        failures = 0
        try:
            while True:
                with self._changed:
                    if failures:  # a backoff, cut short only by a stop
                        self._changed.wait_for(lambda: self._stopping,
                                               min(0.25 * 2 ** min(failures, 8), _MAX_BACKOFF))
                    else:
                        self._changed.wait_for(lambda: self._unapplied or (self._stopping and not self._unwritten
                                               and not self._writing))
                    group = list(self._unapplied)
                    last_try = self._stopping and not self._unwritten and not self._writing
                if group:
                    try:
                        store = store or self.open_store()
                        store.suppressions.apply_requests([(t.email, t.op == UNSUBSCRIBE) for t in group])
                        failures = 0
                    except StoreError as err:
                        failures += 1
                        if failures == 1 or failures % 10 == 0:
                            log.warning("the store is busy or away; the unsubscribe queue waits (%s)", err)
                        if store is not None and not store.still_there():
                            store.close()
                            store = None
                        if last_try:
                            return
                        continue
                    self._applied(group)
                if last_try and not group:
                    return
        finally:
            if store is not None:
                store.close()

    def _applied(self, group: list[Ticket]) -> None:
        """Forget the group; once nothing written is left to apply, empty the file (no fsync: should the
        truncation be lost in a crash, the lines are applied again, which changes nothing)."""
        with self._changed:
            for _ in group:
                self._unapplied.popleft()
            everything = not self._unapplied
        if everything:
            with self._file_lock, self._changed:  # no write in between: what the file holds is all applied
                if not self._unapplied and self._file is not None:
                    os.ftruncate(self._file, 0)
                    self._torn = False


def _on_loop(tickets: list[Ticket], call: Callable, extra: list) -> None:
    """`call(tickets, extra)` on the event loop that awaits the tickets' answers: one call for a group."""
    answers = [ticket.answer for ticket in tickets if ticket.answer is not None]  # a line left by an earlier run
    if answers:                                                                    # has none
        with suppress(RuntimeError):  # the loop is closed: nobody waits any more
            answers[0].get_loop().call_soon_threadsafe(call, tickets, extra)  # one loop: the server's


def _answer(tickets: list[Ticket], _: list) -> None:
    for ticket in tickets:
        if ticket.answer is not None and not ticket.answer.done():  # done: the request gave up meanwhile
            ticket.answer.set_result(ticket.email)


def _refuse(tickets: list[Ticket], errors: list[Exception]) -> None:
    for ticket, error in zip(tickets, errors, strict=True):
        if ticket.answer is not None and not ticket.answer.done():
            ticket.answer.set_exception(error)


def _read(path: Path) -> tuple[list[dict], bool]:
    """The entries of the queue file, and whether it ends in half a line (a crash mid-write: that request
    never got its answer)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise WeeklyError(f"{path}: cannot read the unsubscribe queue: {err.strerror or err}") from err
    entries = []
    for line in data.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries, bool(data) and not data.endswith(b"\n")
