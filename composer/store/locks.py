"""Locks that mean the same on both backends: one holder per name and list, released however it ends.

SQLite: an flock on a file in a folder beside the database (<file>.locks/) (everybody who opens that database shares its folder,
since SQLite cannot be shared across machines). PostgreSQL: a session advisory lock on a connection of
its own, so two machines exclude each other through the server. Either way the kernel or the server
drops the lock when the holding process dies, so a killed run never leaves a stale one. Who holds a lock
(pid, host, since when) is written to `lock_holders`, to name it in the refusal.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from composer import holders
from composer.store.db import Db, StoreError

RELEASE_GRACE_SECONDS = 2.0  # how long a PostgreSQL lock is tried again before a refusal (_advisory)


class Locks:
    def __init__(self, db: Db, scope: str, url: str, password: str | None) -> None:
        self.db = db
        self.scope = scope  # the store's id and the list's: two stores on one server never share a lock
        self.url = url
        self.password = password

    @contextmanager
    def hold(self, name: str, refusal: str) -> Iterator[None]:
        full = f"{self.scope}:{name}"
        holding = self._flock(full) if self.db.path is not None else self._advisory(full, RELEASE_GRACE_SECONDS)
        with holding as acquired:
            if not acquired:
                raise StoreError(refusal.format(holder=self._holder(full)))
            self._record(full)
            try:
                yield
            finally:
                self._forget(full)

    def busy(self, name: str) -> bool:
        full = f"{self.scope}:{name}"
        with self._flock(full) if self.db.path is not None else self._advisory(full) as acquired:
            return not acquired

    @contextmanager
    def _flock(self, name: str) -> Iterator[bool]:
        assert self.db.path is not None
        folder = self.db.path.with_name(f"{self.db.path.name}.locks")
        path = folder / re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        try:
            folder.mkdir(exist_ok=True)
            handle = open(path, "a")  # noqa: SIM115 (held open for the whole `with` block below)
        except OSError as err:
            raise StoreError(f"{path}: cannot create the lock file: {err.strerror or err}") from err
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True

    @contextmanager
    def _advisory(self, name: str, grace: float = 0.0) -> Iterator[bool]:
        """The session lock `name`, tried again for `grace` seconds: a process that has just ended holds its
        lock until the server sees its connection closed, a moment later on a busy machine, and the next
        run (cron's, a resume) must not be refused by a sender that is gone."""
        import psycopg

        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        try:
            connection = psycopg.connect(self.url, autocommit=True, password=self.password)
        except psycopg.Error as err:
            raise StoreError(f"{self.db.where}: cannot take the lock {name!r}: {err}") from err
        with connection:
            deadline = time.monotonic() + grace
            while True:
                row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                acquired = bool(row and row[0])
                if acquired or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            yield acquired  # released with the session, when the connection closes

    def _record(self, name: str) -> None:
        holder = holders.this_process()
        self.db.execute("INSERT INTO lock_holders (name, holder, since) VALUES (?, ?, ?) ON CONFLICT (name) "
                        "DO UPDATE SET holder=excluded.holder, since=excluded.since", (name, holder, time.time()))

    def _forget(self, name: str) -> None:
        # The lock itself goes with the file handle or the session; this row only names a holder.
        with suppress(StoreError):
            self.db.execute("DELETE FROM lock_holders WHERE name=?", (name,))

    def _holder(self, name: str) -> str:
        return holders.name_of(lambda: self.db.scalar("SELECT holder FROM lock_holders WHERE name=?", (name,)))
