"""The send ledger (SQLite): one row per (issue, recipient) with its state, and the suppression list.

States: pending -> sending -> sent | failed (with the server's reply) | unknown, and skipped for a
suppressed address. A row is marked `sending`, and that is committed, just before its DATA goes out;
results are committed with the next `sending` mark (one commit a message) and at the end of the run.
A process killed at any moment therefore leaves each row either still pending (never started: sent by
the next run), settled, or `sending`: on the next run those become `unknown`, reported and never
resent automatically, because the message may well have been delivered. WAL with synchronous=NORMAL makes each commit survive a killed process
(only a power cut can lose the newest), at a few tens of microseconds per commit.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from composer.deliver.subscribers import Subscriber
from composer.errors import WeeklyError

STATES = ("pending", "sending", "sent", "failed", "unknown", "skipped")
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
"""


class Ledger:
    """The ledger at `path` (created with its folder when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise WeeklyError(f"{path}: cannot open the send ledger: {err}") from err

    def close(self) -> None:
        self._db.close()

    def add(self, issue: str, subscribers: Iterable[Subscriber]) -> tuple[int, int]:
        """Add recipients as pending (suppressed ones as skipped); returns (added, already there)."""
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
            "UPDATE recipients SET state='skipped', reply='suppressed' WHERE issue=? AND state='pending' "
            "AND email IN (SELECT email FROM suppression)", (issue,))
        return added, seen

    def _insert(self, rows: list[tuple]) -> int:
        before = self._db.total_changes
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO recipients (issue, email, address, name, updated) VALUES (?, ?, ?, ?, ?)", rows)
        return self._db.total_changes - before

    def recover(self, issue: str) -> int:
        """Rows a killed run left in `sending` become `unknown`; returns how many."""
        cursor = self._db.execute(
            "UPDATE recipients SET state='unknown', reply='interrupted during delivery: outcome unknown', "
            "updated=? WHERE issue=? AND state='sending'", (time.time(), issue))
        return cursor.rowcount

    def retry_failed(self, issue: str) -> int:
        cursor = self._db.execute(
            "UPDATE recipients SET state='pending', updated=? WHERE issue=? AND state='failed'", (time.time(), issue))
        return cursor.rowcount

    def pending(self, issue: str, batch: int = 500) -> Iterator[tuple[int, str, str]]:
        """(rowid, address, name) of pending rows in list order, read in batches, suppressed ones left out."""
        last = 0
        while True:
            rows = self._db.execute(
                "SELECT rowid, address, name FROM recipients WHERE issue=? AND state='pending' AND rowid>? "
                "AND email NOT IN (SELECT email FROM suppression) ORDER BY rowid LIMIT ?", (issue, last, batch),
            ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def apply(self, changes: list[tuple[int, str, str | None]]) -> None:
        """Set several rows' states in one commit: (rowid, state, reply) each."""
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "UPDATE recipients SET state=?, reply=?, attempts=attempts+(?='sending'), updated=? WHERE rowid=?",
                [(state, reply, state, now, rowid) for rowid, state, reply in changes])

    def counts(self, issue: str) -> dict[str, int]:
        found = dict(self._db.execute(
            "SELECT state, count(*) FROM recipients WHERE issue=? GROUP BY state", (issue,)).fetchall())
        return {state: found.get(state, 0) for state in STATES}

    def problems(self, issue: str, limit: int = 1000) -> list[tuple[str, str, str]]:
        """(address, state, reply) of failed and unknown rows."""
        return self._db.execute(
            "SELECT address, state, coalesce(reply, '') FROM recipients WHERE issue=? AND state IN ('failed', "
            "'unknown') ORDER BY rowid LIMIT ?", (issue, limit)).fetchall()

    def suppress(self, email: str, reason: str) -> bool:
        """Never send to `email` again; False if it was suppressed already."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO suppression (email, reason, added) VALUES (?, ?, ?)",
            (email.lower(), reason, time.time()))
        return cursor.rowcount == 1

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
