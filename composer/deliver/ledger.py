"""The send ledger (SQLite): one row per (issue, recipient) with its state, and the suppression list.

States are models.RecipientState. A row is marked `sending`, and that is committed, just before its
DATA goes out; results ride along with the next commit of `sending` marks (the sender groups them, see
send._GroupCommit) and are committed at the end of the run. A process killed at any moment therefore
leaves each row either still pending (never started: sent by the next run), settled, or `sending`: on
the next run those become `unknown`, reported and never resent automatically, because the message may
well have been delivered. WAL with synchronous=NORMAL makes each commit survive a killed process (only a
power cut can lose the newest), at a few tens of microseconds per commit.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from composer.config import LedgerSettings
from composer.deliver.subscribers import Subscriber
from composer.errors import WeeklyError
from composer.models import RecipientState as State

_BATCH = 5000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS recipients (
    issue TEXT NOT NULL,
    email TEXT NOT NULL,          -- lower-cased: the duplicate key
    address TEXT NOT NULL,        -- as written in the list
    name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'pending',
    reply TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    PRIMARY KEY (issue, email)
);
CREATE INDEX IF NOT EXISTS recipients_state ON recipients (issue, state);
CREATE TABLE IF NOT EXISTS suppression (
    email TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS soft_bounces (
    email TEXT NOT NULL,
    issue TEXT NOT NULL,          -- one soft bounce counted per issue, however many DSNs say so
    added REAL NOT NULL,
    PRIMARY KEY (email, issue)
);
"""


class Added(NamedTuple):
    new: int
    already_there: int


class Recipient(NamedTuple):
    rowid: int
    address: str
    name: str


class Change(NamedTuple):
    rowid: int
    state: State
    reply: str | None


class Trouble(NamedTuple):
    """A failed or unknown recipient, with the server's reply."""

    address: str
    state: State
    reply: str


class LedgerError(WeeklyError):
    """The ledger cannot be read or written (disk full, locked too long, deleted): sending must stop."""


def _guarded(method: Callable) -> Callable:
    """SQLite's errors as a LedgerError naming the file."""

    @functools.wraps(method)
    def guarded(self: Ledger, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as err:
            raise LedgerError(f"{self.path}: the send ledger cannot be written ({err})") from err

    return guarded


class Suppression(NamedTuple):
    email: str
    reason: str
    added: float  # seconds since the epoch


class Ledger:
    """The ledger at `path` (created with its folder when missing). `busy_timeout` is how long a write
    waits for another process's write lock before it fails."""

    def __init__(self, path: Path, busy_timeout: float = 30) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._inode = os.stat(path).st_ino
        except (OSError, sqlite3.Error) as err:
            raise LedgerError(f"{path}: cannot open the send ledger: {err}") from err

    @classmethod
    def at(cls, settings: LedgerSettings) -> Ledger:
        """The ledger the settings name, with their busy timeout."""
        return cls(settings.path, settings.busy_timeout_seconds)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def still_there(self) -> bool:
        """False once the ledger file was deleted or replaced under us: what we write now would be lost."""
        try:
            return os.stat(self.path).st_ino == self._inode
        except OSError:
            return False

    def close(self) -> None:
        self._db.close()

    @_guarded
    def add(self, issue: str, subscribers: Iterable[Subscriber]) -> Added:
        """Add recipients as pending (suppressed ones as skipped)."""
        added = seen = 0
        batch: list[tuple] = []
        for subscriber in subscribers:
            batch.append((issue, subscriber.email.lower(), subscriber.email, subscriber.name, time.time()))
            if len(batch) >= _BATCH:
                new = self._insert(batch)
                added, seen, batch = added + new, seen + len(batch) - new, []
        if batch:
            new = self._insert(batch)
            added, seen = added + new, seen + len(batch) - new
        self._db.execute(
            "UPDATE recipients SET state=?, reply='suppressed' WHERE issue=? AND state=? "
            "AND email IN (SELECT email FROM suppression)", (State.SKIPPED, issue, State.PENDING))
        return Added(added, seen)

    def _insert(self, rows: list[tuple]) -> int:
        before = self._db.total_changes
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO recipients (issue, email, address, name, updated) VALUES (?, ?, ?, ?, ?)", rows)
        return self._db.total_changes - before

    @_guarded
    def recover(self, issue: str) -> int:
        """Rows a killed run left in `sending` become `unknown`; returns how many."""
        cursor = self._db.execute(
            "UPDATE recipients SET state=?, reply='interrupted during delivery: outcome unknown', "
            "updated=? WHERE issue=? AND state=?", (State.UNKNOWN, time.time(), issue, State.SENDING))
        return cursor.rowcount

    @_guarded
    def requeue(self, issue: str, state: State) -> int:
        """Rows in `state` (failed, or unknown) become pending again; returns how many."""
        cursor = self._db.execute("UPDATE recipients SET state=?, updated=? WHERE issue=? AND state=?",
                                  (State.PENDING, time.time(), issue, state))
        return cursor.rowcount

    def pending(self, issue: str, batch: int = 500) -> Iterator[Recipient]:
        """Pending rows in list order, read in batches, suppressed ones left out."""
        last = 0
        while True:
            rows = self._pending_batch(issue, last, batch)
            if not rows:
                return
            yield from (Recipient(*row) for row in rows)
            last = rows[-1][0]

    @_guarded
    def _pending_batch(self, issue: str, after: int, batch: int) -> list[tuple[int, str, str]]:
        return self._db.execute(
            "SELECT rowid, address, name FROM recipients WHERE issue=? AND state=? AND rowid>? "
            "AND email NOT IN (SELECT email FROM suppression) ORDER BY rowid LIMIT ?",
            (issue, State.PENDING, after, batch),
        ).fetchall()

    @_guarded
    def apply(self, changes: list[Change]) -> None:
        """Set several rows' states in one commit."""
        if not self.still_there():
            raise LedgerError(f"{self.path}: the send ledger was deleted or replaced while sending; what it "
                              "recorded of this run is lost, so do not resend before checking who got the issue")
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "UPDATE recipients SET state=?, reply=?, attempts=attempts+(?=?), updated=? WHERE rowid=?",
                [(state, reply, state, State.SENDING, now, rowid) for rowid, state, reply in changes])

    @_guarded
    def counts(self, issue: str) -> dict[State, int]:
        found = dict(self._db.execute(
            "SELECT state, count(*) FROM recipients WHERE issue=? GROUP BY state", (issue,)).fetchall())
        return {state: found.get(state, 0) for state in State}

    @_guarded
    def problems(self, issue: str, limit: int = 1000) -> list[Trouble]:
        """Failed and unknown rows, in list order."""
        rows = self._db.execute(
            "SELECT address, state, coalesce(reply, '') FROM recipients WHERE issue=? AND state IN (?, ?) "
            "ORDER BY rowid LIMIT ?", (issue, State.FAILED, State.UNKNOWN, limit)).fetchall()
        return [Trouble(address, State(state), reply) for address, state, reply in rows]

    @_guarded
    def suppress(self, email: str, reason: str) -> bool:
        """Never send to `email` again; False if it was suppressed already."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO suppression (email, reason, added) VALUES (?, ?, ?)",
            (email.lower(), reason, time.time()))
        return cursor.rowcount == 1

    @_guarded
    def unsuppress(self, email: str) -> bool:
        """Send to `email` again (a resubscription or an editor's correction); False if it was not suppressed."""
        cursor = self._db.execute("DELETE FROM suppression WHERE email=?", (email.lower(),))
        self._db.execute("DELETE FROM soft_bounces WHERE email=?", (email.lower(),))
        return cursor.rowcount == 1

    @_guarded
    def suppressions(self) -> list[Suppression]:
        """Every suppressed address with its reason and date, oldest first."""
        rows = self._db.execute("SELECT email, reason, added FROM suppression ORDER BY added, email").fetchall()
        return [Suppression(*row) for row in rows]

    @_guarded
    def is_suppressed(self, email: str) -> bool:
        return self._db.execute("SELECT 1 FROM suppression WHERE email=?", (email.lower(),)).fetchone() is not None

    @_guarded
    def soft_bounce(self, email: str, issue: str) -> int:
        """Record a soft bounce of `email` for `issue`; returns how many issues it has soft-bounced."""
        self._db.execute("INSERT OR IGNORE INTO soft_bounces (email, issue, added) VALUES (?, ?, ?)",
                         (email.lower(), issue, time.time()))
        return self._db.execute("SELECT count(*) FROM soft_bounces WHERE email=?", (email.lower(),)).fetchone()[0]

    @_guarded
    def recipient(self, rowid: int) -> tuple[str, str] | None:
        """(issue, address) of a ledger row, as named in the Message-ID of the copy sent to it."""
        row = self._db.execute("SELECT issue, address FROM recipients WHERE rowid=?", (rowid,)).fetchone()
        return (row[0], row[1]) if row else None

    @_guarded
    def issue_of(self, email: str) -> str | None:
        """The newest issue sent to `email`, for a bounce that names only the address."""
        row = self._db.execute("SELECT issue FROM recipients WHERE email=? ORDER BY updated DESC LIMIT 1",
                               (email.lower(),)).fetchone()
        return row[0] if row else None

    def _transaction(self) -> _Savepoint:
        return _Savepoint(self._db, "batch")

    def dry_run(self) -> _Savepoint:
        """Everything done inside `with ledger.dry_run():` is rolled back at its end."""
        return _Savepoint(self._db, "dry_run", keep=False)


class _Savepoint:
    """A transaction that nests (SQLite savepoints), committed on success unless `keep` is False."""

    def __init__(self, db: sqlite3.Connection, name: str, keep: bool = True) -> None:
        self.db, self.name, self.keep = db, name, keep

    def __enter__(self) -> None:
        self.db.execute(f"SAVEPOINT {self.name}")

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None or not self.keep:
            self.db.execute(f"ROLLBACK TO {self.name}")
        self.db.execute(f"RELEASE {self.name}")
