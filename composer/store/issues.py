"""Each issue's record (lifecycle.IssueRecord) and the items it carries."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

from composer.lifecycle import IssueRecord, Stored
from composer.store.db import Db

_COLUMNS = ("number, state, week_start, week_end, folder, machine_hash, rendered_hash, approved_hash, approved_by, "
            "approved_at, composed_at, sent_at, reason")


class Issues:
    def __init__(self, db: Db, list_id: str) -> None:
        self.db = db
        self.list_id = list_id

    def get(self, number: int) -> IssueRecord | None:
        row = self.db.one(f"SELECT {_COLUMNS} FROM issues WHERE list_id=? AND number=?", (self.list_id, number))
        return _record(row) if row else None

    def all(self) -> list[IssueRecord]:
        """Every issue of the list, newest number first."""
        return [_record(row) for row in self.db.all(
            f"SELECT {_COLUMNS} FROM issues WHERE list_id=? ORDER BY number DESC", (self.list_id,))]

    def composed(self, number: int, week_start: date, week_end: date, folder: Path, machine_hash: str,
                 item_ids: Iterable[str]) -> None:
        """The machine (re)wrote issue `number`'s draft and rendered it: composed again, any approval gone."""
        self._written(number, week_start, week_end, folder, machine_hash, item_ids, machine=True)

    def rendered(self, number: int, week_start: date, week_end: date, folder: Path, draft_hash: str,
                 item_ids: Iterable[str]) -> None:
        """A draft (perhaps the editor's) of issue `number` was rendered into `folder`. A new record is a draft
        nobody composed here (a pasted or hand-written one): what it says is the machine's baseline."""
        self._written(number, week_start, week_end, folder, draft_hash, item_ids, machine=False)

    def _written(self, number: int, week_start: date, week_end: date, folder: Path, draft_hash: str,
                 item_ids: Iterable[str], machine: bool) -> None:
        now = time.time()
        on_conflict = ("state=excluded.state, machine_hash=excluded.machine_hash, approved_hash=NULL, "
                       "approved_by=NULL, approved_at=NULL, composed_at=excluded.composed_at, " if machine else "")
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO issues (list_id, number, state, week_start, week_end, folder, machine_hash, rendered_hash, "
                "composed_at, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (list_id, number) DO UPDATE "
                f"SET {on_conflict}rendered_hash=excluded.rendered_hash, week_start=excluded.week_start, "
                "week_end=excluded.week_end, folder=excluded.folder, updated=excluded.updated",
                (self.list_id, number, Stored.COMPOSED, week_start.isoformat(), week_end.isoformat(),
                 str(folder.resolve()), draft_hash, draft_hash, now, now))
            self.db.execute("DELETE FROM issue_items WHERE list_id=? AND number=?", (self.list_id, number))
            self.db.executemany("INSERT INTO issue_items (list_id, number, item_id) VALUES (?, ?, ?) "
                                "ON CONFLICT DO NOTHING", [(self.list_id, number, item) for item in set(item_ids)])

    def approved(self, number: int, draft_hash: str, by: str) -> None:
        self._update(number, state=Stored.APPROVED, approved_hash=draft_hash, approved_by=by, approved_at=time.time())

    def sending(self, number: int, folder: Path) -> None:
        """Issue `number` begins to go out from `folder` (its readers get that folder's files)."""
        self._update(number, state=Stored.SENDING, folder=str(folder.resolve()), reason=None)

    def finished(self, number: int, stopped: str | None) -> None:
        """A send ended: sent (nobody left pending) or stopped, with the reason."""
        if stopped:
            self._update(number, state=Stored.STOPPED, reason=stopped)
        else:
            self._update(number, state=Stored.SENT, sent_at=time.time(), reason=None)

    def items_of(self, numbers: Iterable[int]) -> dict[str, int]:
        """The item ids the issues `numbers` carry, each with the (first) issue that carries it."""
        wanted = sorted(set(numbers))
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = self.db.all(f"SELECT item_id, min(number) FROM issue_items WHERE list_id=? AND number IN ({marks}) "
                           "GROUP BY item_id", (self.list_id, *wanted))
        return dict(rows)

    def _update(self, number: int, **values: object) -> None:
        values["updated"] = time.time()
        assignments = ", ".join(f"{column}=?" for column in values)
        self.db.execute(f"UPDATE issues SET {assignments} WHERE list_id=? AND number=?",
                        (*values.values(), self.list_id, number))


def _record(row: tuple) -> IssueRecord:
    (number, state, week_start, week_end, folder, machine_hash, rendered_hash, approved_hash, approved_by,
     approved_at, composed_at, sent_at, reason) = row
    return IssueRecord(
        number=number, stored=Stored(state), week_start=_day(week_start), week_end=_day(week_end),
        folder=Path(folder) if folder else None, machine_hash=machine_hash, rendered_hash=rendered_hash,
        approved_hash=approved_hash, approved_by=approved_by, approved_at=_moment(approved_at),
        composed_at=_moment(composed_at), sent_at=_moment(sent_at), reason=reason)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _moment(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
