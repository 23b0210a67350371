"""The subscriber store: the list's readers as people, each with a status, its date and where they came from.

A reader has an opaque id (`sid`) that links name them by, never the address. The status stored is what
the reader did here (signed up, confirmed, was imported, removed by hand); a suppression (an unsubscribe
link, a hard bounce, a complaint: composer.store.suppressions) overrides it when read, so every path that
suppresses an address (serve, bounces, a 5xx while sending) shows in the reader's status without knowing
about this table. Only readers `subscribed` and not suppressed are an issue's audience.

`held` and `erase` cover every table that names a reader (PERSONAL): what GDPR articles 15 and 17 ask.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from composer.models import Subscriber
from composer.models import SubscriberStatus as Status
from composer.store.db import Db

# Every table holding a reader's address, by its lower-cased `email` column (tests check none is missed).
PERSONAL = ("subscribers", "recipients", "suppressions", "soft_bounces")
ERASED = "erased on request"  # the reason of an erased reader's keyed hash in the suppression list

# (substr, not LIKE: a literal % would read as a placeholder to psycopg)
_EFFECTIVE = """CASE WHEN x.email IS NULL THEN s.status
    WHEN substr(x.reason, 1, 9) = 'complaint' THEN 'complained'
    WHEN substr(x.reason, 1, 11) IN ('hard bounce', 'soft bounce') THEN 'bounced'
    ELSE 'unsubscribed' END"""
_FROM = "subscribers s LEFT JOIN suppressions x ON x.list_id = s.list_id AND x.email = s.email"
_COLUMNS = f"s.sid, s.address, s.name, {_EFFECTIVE}, s.source, s.created, s.confirmed, coalesce(x.added, s.changed), s.fields"
_BATCH = 1000
# What an import or a removal writes in the suppression list for each status that must not be mailed.
_REASONS = {Status.UNSUBSCRIBED: "unsubscribed", Status.BOUNCED: "hard bounce", Status.COMPLAINED: "complaint"}


class Reader(NamedTuple):
    sid: str
    address: str
    name: str
    status: Status
    source: str
    created: float
    confirmed: float | None
    since: float  # when the status began
    fields: dict


class Incoming(NamedTuple):
    """One reader of an import."""

    address: str
    name: str
    status: Status
    fields: dict
    created: float | None = None
    confirmed: float | None = None


def _reader(row: tuple) -> Reader:
    sid, address, name, status, source, created, confirmed, since, fields = row
    return Reader(sid, address, name, Status(status), source, created, confirmed, since, json.loads(fields or "{}"))


class Subscribers:
    def __init__(self, db: Db, list_id: str) -> None:
        self.db = db
        self.list_id = list_id

    def get(self, email: str) -> Reader | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM {_FROM} WHERE s.list_id=? AND s.email=?",
                          (self.list_id, email.lower()))
        return _reader(row) if row else None

    def by_id(self, sid: str) -> Reader | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM {_FROM} WHERE s.list_id=? AND s.sid=?", (self.list_id, sid))
        return _reader(row) if row else None

    def all(self, status: Status | None = None) -> Iterator[Reader]:
        """Every reader (or those in `status`), oldest first, read in batches."""
        last = 0
        while True:
            rows = self.db.all(f"SELECT s.id, {_COLUMNS} FROM {_FROM} WHERE s.list_id=? AND s.id>? ORDER BY s.id LIMIT ?",
                               (self.list_id, last, _BATCH))
            if not rows:
                return
            for row in rows:
                reader = _reader(row[1:])
                if status is None or reader.status is status:
                    yield reader
            last = rows[-1][0]

    def counts(self) -> dict[Status, int]:
        found = dict(self.db.all(f"SELECT {_EFFECTIVE}, count(*) FROM {_FROM} WHERE s.list_id=? GROUP BY 1",
                                 (self.list_id,)))
        return {status: found.get(status, 0) for status in Status}

    def audience(self) -> Iterator[Subscriber]:
        """The readers an issue goes to: subscribed and not suppressed, in the order they joined."""
        last = 0
        while True:
            rows = self.db.all(
                "SELECT s.id, s.address, s.name FROM subscribers s WHERE s.list_id=? AND s.status=? AND s.id>? "
                "AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.list_id=s.list_id AND x.email=s.email) "
                "ORDER BY s.id LIMIT ?", (self.list_id, Status.SUBSCRIBED, last, _BATCH))
            if not rows:
                return
            yield from (Subscriber(email=address, name=name) for _, address, name in rows)
            last = rows[-1][0]

    def add(self, address: str, name: str, source: str) -> Reader:
        """Subscribe `address` by hand (the editor vouches for the consent); a reader who unsubscribed, bounced
        or complained stays so (`weekly suppressed --remove` first). Returns the reader as now stored."""
        now = time.time()
        with self.db.transaction():
            if self.get(address) is None:
                self._insert(Incoming(address, name, Status.SUBSCRIBED, {}, now, now), source, now)
            else:
                self.db.execute("UPDATE subscribers SET status=?, confirmed=coalesce(confirmed, ?), changed=?, "
                                "pending=NULL, name=CASE WHEN ?='' THEN name ELSE ? END WHERE list_id=? AND email=? "
                                "AND status<>? AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.list_id=? AND "
                                "x.email=subscribers.email)", (Status.SUBSCRIBED, now, now, name, name, self.list_id,
                                                               address.lower(), Status.SUBSCRIBED, self.list_id))
        found = self.get(address)
        assert found is not None
        return found

    def remove(self, address: str, source: str) -> Reader | None:
        """Unsubscribe `address` by hand: the status, and the suppression list so no list file mails it; None,
        changing nothing, when the store does not hold it (the caller says how to suppress it instead)."""
        now = time.time()
        with self.db.transaction():
            if self.get(address) is None:
                return None
            self.db.execute("UPDATE subscribers SET status=?, changed=?, pending=NULL WHERE list_id=? AND email=?",
                            (Status.UNSUBSCRIBED, now, self.list_id, address.lower()))
            self._suppress(address, Status.UNSUBSCRIBED, source, now)
        return self.get(address)

    def import_rows(self, rows: Iterable[Incoming], source: str) -> Counter:
        """Add or update readers from an export, keeping their statuses; returns a Counter of outcomes:
        ("added", status), ("updated", status), ("unchanged", status) and ("kept", status) for a reader who
        left here and whom an import must not bring back. A status that must not be mailed is suppressed too."""
        outcomes: Counter = Counter()
        batch: list[Incoming] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= _BATCH:
                outcomes += self._import_batch(batch, source)
                batch = []
        if batch:
            outcomes += self._import_batch(batch, source)
        return outcomes

    def _import_batch(self, batch: list[Incoming], source: str) -> Counter:
        outcomes: Counter = Counter()
        now = time.time()
        with self.db.transaction():
            marks = ", ".join("?" * len(batch))
            known = {reader.address.lower(): reader for reader in map(_reader, self.db.all(
                f"SELECT {_COLUMNS} FROM {_FROM} WHERE s.list_id=? AND s.email IN ({marks})",
                (self.list_id, *[row.address.lower() for row in batch])))}
            for row in batch:
                reader = known.get(row.address.lower())
                if reader is None:
                    self._insert(row, source, now)
                    known[row.address.lower()] = _reader((None, row.address, row.name, row.status, source, 0, None,
                                                          0, "{}"))
                    outcomes["added", row.status] += 1
                elif reader.status is row.status or (row.status is Status.SUBSCRIBED and
                                                     reader.status is not Status.UNCONFIRMED):
                    outcomes["unchanged" if reader.status is row.status else "kept", reader.status] += 1
                else:  # stricter news (unsubscribed, bounced, complained), or an unconfirmed reader confirmed there
                    self.db.execute("UPDATE subscribers SET status=?, changed=?, pending=NULL, "
                                    "confirmed=coalesce(confirmed, ?) WHERE list_id=? AND email=?",
                                    (row.status, now, row.confirmed if row.status is Status.SUBSCRIBED else None,
                                     self.list_id, row.address.lower()))
                    self._suppress(row.address, row.status, source, now)
                    outcomes["updated", row.status] += 1
        return outcomes

    def _insert(self, row: Incoming, source: str, now: float) -> str:
        sid = secrets.token_urlsafe(12)
        self.db.execute(
            "INSERT INTO subscribers (list_id, sid, email, address, name, status, source, fields, created, confirmed, "
            "changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.list_id, sid, row.address.lower(), row.address, row.name, row.status, source,
             json.dumps(row.fields, ensure_ascii=False), row.created or now, row.confirmed, now))
        self._suppress(row.address, row.status, source, now)
        return sid

    def _suppress(self, address: str, status: Status, source: str, now: float) -> None:
        if status in _REASONS:
            self.db.execute("INSERT INTO suppressions (list_id, email, reason, added) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT (list_id, email) DO NOTHING",
                            (self.list_id, address.lower(), f"{_REASONS[status]}: {source}", now))

    # ---- sign-up with double opt-in ---------------------------------------------------------------------

    def begin_signup(self, address: str, name: str, source: str, resend_after: float) -> str | None:
        """The confirmation to mail `address` (its id, for the token), or None when no mail should go: the
        reader is subscribed already, was asked to confirm less than `resend_after` seconds ago, or must not
        be mailed (a complaint, a bounce, a removal by hand; an unsubscribed reader may come back)."""
        now = time.time()
        pending = secrets.token_hex(16)
        with self.db.transaction():
            reason = self.db.scalar("SELECT reason FROM suppressions WHERE list_id=? AND email=?",
                                    (self.list_id, address.lower()))
            if reason is not None and not reason.startswith("unsubscribed"):
                return None
            row = self.db.one("SELECT status, pending_at FROM subscribers WHERE list_id=? AND email=?",
                              (self.list_id, address.lower()))
            if row is None:
                self._insert(Incoming(address, name, Status.UNCONFIRMED, {}), source, now)
            elif (row[0] == Status.SUBSCRIBED and reason is None) or (row[1] or 0) > now - resend_after:
                return None
            self.db.execute("UPDATE subscribers SET pending=?, pending_at=? WHERE list_id=? AND email=?",
                            (pending, now, self.list_id, address.lower()))
        return pending

    def confirm(self, pending: str, lifetime: float) -> Reader | None:
        """Subscribe the reader whose confirmation `pending` is (asked for less than `lifetime` seconds ago);
        None if there is no such confirmation (used, replaced by a newer one, or forgotten)."""
        now = time.time()
        with self.db.transaction():
            email = self.db.scalar("SELECT email FROM subscribers WHERE list_id=? AND pending=? AND pending_at>?",
                                   (self.list_id, pending, now - lifetime))
            if email is None:
                return None
            self.db.execute("UPDATE subscribers SET status=?, confirmed=?, changed=?, pending=NULL, pending_at=NULL "
                            "WHERE list_id=? AND email=?", (Status.SUBSCRIBED, now, now, self.list_id, email))
            self.db.execute("DELETE FROM suppressions WHERE list_id=? AND email=? AND substr(reason, 1, 12)='unsubscribed'",
                            (self.list_id, email))
        return self.get(email)

    def forget_unconfirmed(self, lifetime: float) -> int:
        """Delete sign-ups never confirmed within `lifetime` seconds: without consent, nothing is kept."""
        return self.db.execute("DELETE FROM subscribers WHERE list_id=? AND status=? AND coalesce(pending_at, created)<?",
                               (self.list_id, Status.UNCONFIRMED, time.time() - lifetime)).rowcount

    # ---- privacy: what is held about one person, and erasing it -----------------------------------------

    def erased(self) -> set[str]:
        """The keyed hashes of the readers erased on request (tokens.keyed_hash)."""
        return {row[0] for row in self.db.all("SELECT email FROM suppressions WHERE list_id=? AND reason=?",
                                              (self.list_id, ERASED))}

    def held(self, address: str) -> dict[str, list[dict]]:
        """Every row naming `address`, table by table (GDPR article 15)."""
        found: dict[str, list[dict]] = {}
        for table in PERSONAL:
            cursor = self.db.execute(f"SELECT * FROM {table} WHERE list_id=? AND email=?",
                                     (self.list_id, address.lower()))
            names = [column[0] for column in cursor.description]
            found[table] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        return found

    def erase(self, address: str, digest: str) -> dict[str, int]:
        """Delete every row naming `address` (GDPR article 17) and suppress its keyed hash `digest`, so the
        address is never mailed again though it is no longer kept; returns the rows deleted per table."""
        with self.db.transaction():
            deleted = {table: self.db.execute(f"DELETE FROM {table} WHERE list_id=? AND email=?",
                                              (self.list_id, address.lower())).rowcount for table in PERSONAL}
            self.db.execute("INSERT INTO suppressions (list_id, email, reason, added) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT (list_id, email) DO NOTHING", (self.list_id, digest, ERASED, time.time()))
        return deleted
