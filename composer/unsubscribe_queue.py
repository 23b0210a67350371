"""`weekly serve`'s durable queue of one-clicks: written to a file first, then applied to the store.

A one-click must never be lost, and the store may be busy (a long dry run or migration holds its write
lock, a PostgreSQL server restarts) for longer than a mail provider waits for an answer. So an unsubscribe
(or a resubscribe) is appended to the queue file and fsync'ed, which is the moment it counts; a thread
applies the queue to the store in order, retrying with a backoff while the store refuses, and drops what
it applied. The reader's answer waits a moment for the store (`wait`), and no longer: 200 either way. A server killed in between applies the rest when it starts
again. Each line is JSON: {"op": "unsubscribe" | "resubscribe", "email": …, "at": seconds since the epoch,
"id": a random id}.
Applying is idempotent (an address suppressed twice is suppressed), so a line applied but not yet dropped
when the process died does no harm when applied again.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from composer.errors import WeeklyError
from composer.store import Store, StoreError

log = logging.getLogger("weekly.serve")
UNSUBSCRIBE, RESUBSCRIBE = "unsubscribe", "resubscribe"
_MAX_BACKOFF = 30.0


class UnsubscribeQueue:
    """The queue file `path`, applied to the store `open_store()` opens (a connection of the applier's own)."""

    def __init__(self, path: Path, open_store: Callable[[], Store]) -> None:
        self.path = path
        self.open_store = open_store
        self._lock = threading.Lock()  # this process's appends and compactions
        self._applied: deque[str] = deque(maxlen=10_000)  # ids of the entries applied lately
        self._applied_changed = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(exist_ok=True)
        except OSError as err:
            raise WeeklyError(f"{path}: cannot create the unsubscribe queue (serve.queue_file): "
                              f"{err.strerror or err}") from err

    def add(self, op: str, email: str) -> str:
        """Record `op` for `email` durably (WeeklyError if the disk refuses); the applier takes it from there.
        Returns the entry's id, for `wait`."""
        entry_id = secrets.token_hex(8)
        line = json.dumps({"op": op, "email": email.lower(), "at": time.time(), "id": entry_id}) + "\n"
        try:
            with self._exclusive():
                descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    size = os.fstat(descriptor).st_size
                    broken = size > 0 and os.pread(descriptor, 1, size - 1) != b"\n"  # a crash mid-line
                    os.write(descriptor, ("\n" if broken else "").encode() + line.encode())
                    os.fsync(descriptor)
                finally:
                    os.close(descriptor)
        except OSError as err:
            raise WeeklyError(f"{self.path}: cannot record the request: {err.strerror or err}") from err
        self._wake.set()
        return entry_id

    def wait(self, entry_id: str, timeout: float) -> bool:
        """Whether the entry reached the store within `timeout` seconds (it is safe in the queue either way)."""
        with self._applied_changed:
            return self._applied_changed.wait_for(lambda: entry_id in self._applied, timeout)

    def pending(self, email: str) -> str | None:
        """The last op queued and not yet applied for `email`, if any."""
        email = email.lower()
        last = None
        for entry in self._entries():
            if entry.get("email") == email:
                last = entry.get("op")
        return last

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="unsubscribe-queue", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop the applier after one last try at what is queued (what it cannot apply stays in the file)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        store: Store | None = None
        failures = 0
        try:
            while True:
                try:
                    store = store or self.open_store()
                    self._apply(store)
                    failures = 0
                except StoreError as err:
                    failures += 1
                    if failures == 1 or failures % 10 == 0:
                        log.warning("the store is busy or away; the unsubscribe queue waits (%s)", err)
                    if store is not None and not store.still_there():
                        store.close()
                        store = None
                if self._stop.is_set():
                    return
                delay = None if failures == 0 else min(0.25 * 2 ** min(failures, 8), _MAX_BACKOFF)
                self._wake.wait(delay)
                self._wake.clear()
        finally:
            if store is not None:
                store.close()

    def _apply(self, store: Store) -> None:
        """Apply every queued line to the store, in order, then drop the lines applied."""
        entries = self._entries()
        if not entries:
            return
        for entry in entries:
            email, op = str(entry.get("email", "")), entry.get("op")
            if op == UNSUBSCRIBE:
                store.suppressions.add(email, "unsubscribed")
            elif op == RESUBSCRIBE:
                store.suppressions.remove(email, only="unsubscribed")
        self._drop(len(entries))
        with self._applied_changed:
            self._applied.extend(str(entry.get("id")) for entry in entries)
            self._applied_changed.notify_all()

    def _entries(self) -> list[dict]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as err:
            log.error("%s: cannot read the unsubscribe queue: %s", self.path, err.strerror or err)
            return []
        entries = []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # half a line from a crash mid-write: its request never got its 200
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    def _drop(self, count: int) -> None:
        """Remove the first `count` entries, keeping whatever was appended since they were read."""
        with self._exclusive():
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept, seen = [], 0
            for line in lines:
                if not _is_entry(line):
                    continue  # half a line from a crash mid-write: that request never got its answer
                seen += 1
                if seen > count:
                    kept.append(line)
            temporary = self.path.with_name(f".{self.path.name}.new")
            with temporary.open("w", encoding="utf-8") as handle:
                handle.writelines(kept)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """This process's lock and a lock file's flock: another `weekly serve` on the same file waits too."""
        with self._lock, open(self.path.with_name(f".{self.path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def _is_entry(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False
