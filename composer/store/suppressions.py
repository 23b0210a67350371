"""Addresses a list never mails again (unsubscribed, hard-bounced, complained, by hand), and soft bounces."""

from __future__ import annotations

import time
from collections.abc import Sequence
from itertools import groupby
from typing import NamedTuple

from composer.store.db import Db


class Suppression(NamedTuple):
    email: str
    reason: str
    added: float  # seconds since the epoch


class Suppressions:
    def __init__(self, db: Db, list_id: str) -> None:
        self.db = db
        self.list_id = list_id

    def add(self, email: str, reason: str) -> bool:
        """Never send to `email` again; False if it was suppressed already."""
        return self.db.execute(
            "INSERT INTO suppressions (list_id, email, reason, added) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (list_id, email) DO NOTHING", (self.list_id, email.lower(), reason, time.time())).rowcount == 1

    def remove(self, email: str, only: str | None = None) -> bool:
        """Send to `email` again (a resubscription or an editor's correction); False if it was not suppressed.
        With `only`, only a suppression of that kind ("unsubscribed": the reason, or the reason's first part
        before ':') is removed: a reader may undo their own unsubscription, never a complaint or a bounce."""
        with self.db.transaction():
            kind = "" if only is None else " AND (reason=? OR reason LIKE ?)"
            removed = self.db.execute(f"DELETE FROM suppressions WHERE list_id=? AND email=?{kind}",
                                      (self.list_id, email.lower(), *(() if only is None else (only, f"{only}:%")))
                                      ).rowcount
            if only is not None and not removed:
                return False  # not their own unsubscription: the bounce count stays too
            self.db.execute("DELETE FROM soft_bounces WHERE list_id=? AND email=?", (self.list_id, email.lower()))
        return removed == 1

    def apply_requests(self, requests: Sequence[tuple[str, bool]]) -> None:
        """Readers' own requests in order, in one transaction: (email, True) unsubscribes the address, (email,
        False) undoes only its own unsubscription (as `remove(email, only="unsubscribed")`). A run of
        unsubscribes goes in one statement: a provider's burst is thousands of them."""
        with self.db.transaction():
            for leave, run in groupby(requests, key=lambda request: request[1]):
                emails = [email.lower() for email, _ in run]
                if not leave:
                    for email in emails:
                        self.remove(email, only="unsubscribed")
                    continue
                now = time.time()
                self.db.executemany("INSERT INTO suppressions (list_id, email, reason, added) VALUES (?, ?, ?, ?) "
                                    "ON CONFLICT (list_id, email) DO NOTHING",
                                    [(self.list_id, email, "unsubscribed", now) for email in emails])

    def all(self) -> list[Suppression]:
        """Every suppressed address with its reason and date, oldest first."""
        return [Suppression(*row) for row in self.db.all(
            "SELECT email, reason, added FROM suppressions WHERE list_id=? ORDER BY added, email", (self.list_id,))]

    def get(self, email: str) -> Suppression | None:
        row = self.db.one("SELECT email, reason, added FROM suppressions WHERE list_id=? AND email=?",
                          (self.list_id, email.lower()))
        return Suppression(*row) if row else None

    def __contains__(self, email: str) -> bool:
        return self.get(email) is not None

    def soft_bounce(self, email: str, issue: int) -> int:
        """Record a soft bounce of `email` for `issue`; returns how many issues it has soft-bounced."""
        with self.db.transaction():
            self.db.execute("INSERT INTO soft_bounces (list_id, email, issue, added) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT (list_id, email, issue) DO NOTHING",
                            (self.list_id, email.lower(), issue, time.time()))
            return self.db.scalar("SELECT count(*) FROM soft_bounces WHERE list_id=? AND email=?",
                                  (self.list_id, email.lower()))
