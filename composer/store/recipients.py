"""The send ledger: one row per (list, issue, recipient) with its models.RecipientState.

A row is claimed, pending -> sending, in a committed transaction just before its DATA goes out, and only
if it is still pending: a second sender (another process, another machine) can never claim it again.
Results ride along with the next commit of claims (send._GroupCommit). A process killed at any moment
leaves each row pending (never started), settled, or `sending`: the next run turns those into `unknown`,
reported and never resent automatically, because the message may well have been delivered.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from composer.models import RecipientState as State
from composer.models import Subscriber
from composer.store.db import Db, StoreError

_BATCH = 5000


class Added(NamedTuple):
    new: int
    already_there: int


class Recipient(NamedTuple):
    id: int
    address: str
    name: str


class Change(NamedTuple):
    id: int
    state: State
    reply: str | None


class Trouble(NamedTuple):
    """A failed or unknown recipient, with the server's reply."""

    address: str
    state: State
    reply: str


class Row(NamedTuple):
    """A ledger row as a bounce names it: the issue and the address of the copy sent."""

    issue: int
    address: str


class Recipients:
    def __init__(self, db: Db, list_id: str) -> None:
        self.db = db
        self.list_id = list_id

    def add(self, issue: int, subscribers: Iterable[Subscriber]) -> Added:
        """Add recipients as pending (suppressed ones as skipped), in batches of a few thousand."""
        before = self._count(issue)
        seen = 0
        for batch in _batches(subscribers):
            seen += len(batch)
            with self.db.transaction():
                self.db.executemany(
                    "INSERT INTO recipients (list_id, issue, email, address, name, updated) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (list_id, issue, email) DO NOTHING",
                    [(self.list_id, issue, s.email.lower(), s.email, s.name, time.time()) for s in batch])
        self.db.execute(
            "UPDATE recipients SET state=?, reply='suppressed' WHERE list_id=? AND issue=? AND state=? "
            "AND email IN (SELECT email FROM suppressions WHERE list_id=?)",
            (State.SKIPPED, self.list_id, issue, State.PENDING, self.list_id))
        new = self._count(issue) - before
        return Added(new, seen - new)

    def plan(self, issue: int, subscribers: Iterable[Subscriber]) -> dict[State, int]:
        """The counts `add` would leave, without changing the ledger: the list goes into a temporary table
        of this connection, so a dry run of millions of rows holds no lock that blocks an unsubscribe."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS planned (email TEXT PRIMARY KEY)")
        try:
            self.db.execute("DELETE FROM planned")
            for batch in _batches(subscribers):
                self.db.executemany("INSERT INTO planned (email) VALUES (?) ON CONFLICT (email) DO NOTHING",
                                    [(s.email.lower(),) for s in batch])
            new, suppressed = self.db.one(
                "SELECT count(*), coalesce(sum(CASE WHEN s.email IS NULL THEN 0 ELSE 1 END), 0) FROM planned p "
                "LEFT JOIN suppressions s ON s.list_id=? AND s.email=p.email "
                "WHERE NOT EXISTS (SELECT 1 FROM recipients r WHERE r.list_id=? AND r.issue=? AND r.email=p.email)",
                (self.list_id, self.list_id, issue)) or (0, 0)
        finally:
            self.db.execute("DROP TABLE IF EXISTS planned")
        counts = self.counts(issue)
        counts[State.PENDING] += new - suppressed
        counts[State.SKIPPED] += suppressed
        return counts

    def recover(self, issue: int) -> int:
        """Rows a killed run left in `sending` become `unknown`; returns how many."""
        return self.db.execute(
            "UPDATE recipients SET state=?, reply='interrupted during delivery: outcome unknown', updated=? "
            "WHERE list_id=? AND issue=? AND state=?",
            (State.UNKNOWN, time.time(), self.list_id, issue, State.SENDING)).rowcount

    def requeue(self, issue: int, state: State) -> int:
        """Rows in `state` (failed, or unknown) become pending again; returns how many."""
        return self.db.execute(
            "UPDATE recipients SET state=?, updated=? WHERE list_id=? AND issue=? AND state=?",
            (State.PENDING, time.time(), self.list_id, issue, state)).rowcount

    def pending(self, issue: int, batch: int = 500) -> Iterator[Recipient]:
        """Pending rows in list order, read in batches, suppressed ones left out."""
        last = 0
        while True:
            rows = self.db.all(
                "SELECT id, address, name FROM recipients r WHERE list_id=? AND issue=? AND state=? AND id>? "
                "AND NOT EXISTS (SELECT 1 FROM suppressions s WHERE s.list_id=r.list_id AND s.email=r.email) "
                "ORDER BY id LIMIT ?", (self.list_id, issue, State.PENDING, last, batch))
            if not rows:
                return
            yield from (Recipient(*row) for row in rows)
            last = rows[-1][0]

    def commit(self, issue: int, results: list[Change], claims: list[int]) -> set[int]:
        """Record `results` and claim the rows `claims` (pending -> sending) in one transaction; returns the
        ids claimed: a row another sender claimed or settled first is not among them and must not be sent."""
        if not self.db.still_there():
            raise StoreError(f"{self.db.where}: the store was deleted or replaced while sending; what it recorded "
                             "of this run is lost, so do not resend before checking who got the issue")
        now = time.time()
        claimed: set[int] = set()
        with self.db.transaction():
            if results:
                self.db.executemany(
                    "UPDATE recipients SET state=?, reply=?, updated=? WHERE id=? AND list_id=?",
                    [(state, reply, now, row_id, self.list_id) for row_id, state, reply in results])
            if claims:
                marks = ", ".join("?" * len(claims))
                claimed = {row[0] for row in self.db.all(
                    f"UPDATE recipients SET state=?, attempts=attempts+1, updated=? WHERE list_id=? AND issue=? "
                    f"AND state=? AND id IN ({marks}) RETURNING id",
                    (State.SENDING, now, self.list_id, issue, State.PENDING, *claims))}
        return claimed

    def counts(self, issue: int) -> dict[State, int]:
        found = dict(self.db.all("SELECT state, count(*) FROM recipients WHERE list_id=? AND issue=? GROUP BY state",
                                 (self.list_id, issue)))
        return {state: found.get(state, 0) for state in State}

    def problems(self, issue: int, limit: int = 1000) -> list[Trouble]:
        """Failed and unknown rows, in list order."""
        rows = self.db.all(
            "SELECT address, state, coalesce(reply, '') FROM recipients WHERE list_id=? AND issue=? AND state IN (?, ?) "
            "ORDER BY id LIMIT ?", (self.list_id, issue, State.FAILED, State.UNKNOWN, limit))
        return [Trouble(address, State(state), reply) for address, state, reply in rows]

    def row(self, row_id: int) -> Row | None:
        """The issue and address of a ledger row, as named in the Message-ID of the copy sent to it."""
        found = self.db.one("SELECT issue, address FROM recipients WHERE id=? AND list_id=?", (row_id, self.list_id))
        return Row(*found) if found else None

    def rows(self, row_ids: list[int]) -> dict[int, Row]:
        """`row` for many ids at once (a burst of one-clicks): the rows found, by id, in one query."""
        found: dict[int, Row] = {}
        for first in range(0, len(row_ids), 500):  # SQLite's and psycopg's limits on parameters stay far off
            chunk = row_ids[first:first + 500]
            # By the primary key alone, the list checked here: with `list_id=?` in the query, SQLite's planner
            # (no ANALYZE statistics) prefers the list's index over fifty key look-ups and reads the whole list.
            found.update((row_id, Row(issue, address)) for row_id, issue, address, list_id in self.db.all(
                f"SELECT id, issue, address, list_id FROM recipients WHERE id IN ({', '.join('?' * len(chunk))})",
                chunk) if list_id == self.list_id)
        return found

    def latest_issue_of(self, email: str) -> int | None:
        """The newest issue sent to `email`."""
        return self.db.scalar("SELECT max(issue) FROM recipients WHERE list_id=? AND email=?",
                              (self.list_id, email.lower()))

    def _count(self, issue: int) -> int:
        return self.db.scalar("SELECT count(*) FROM recipients WHERE list_id=? AND issue=?", (self.list_id, issue))


def _batches(subscribers: Iterable[Subscriber]) -> Iterator[list[Subscriber]]:
    batch: list[Subscriber] = []
    for subscriber in subscribers:
        batch.append(subscriber)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
