"""Every item the list's inputs ever held: when it was first seen, and for which issue (as feed readers do).

An undated item is news of the issue it was first seen for; `weekly items` shows where and when.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import NamedTuple

from composer.models import Item
from composer.store.db import Db


class Seen(NamedTuple):
    first_seen: float  # seconds since the epoch
    first_issue: int | None
    source: str


class Items:
    def __init__(self, db: Db, list_id: str) -> None:
        self.db = db
        self.list_id = list_id

    def see(self, items: Iterable[Item], issue: int | None, now: float | None = None) -> dict[str, Seen]:
        """Record the items not seen before (first seen now, for `issue`); an item seen before without an
        issue (fetched, not yet composed) is now `issue`'s. Returns what is known of each."""
        items = list(items)
        moment = time.time() if now is None else now
        with self.db.transaction():
            self.db.executemany(
                "INSERT INTO items (list_id, item_id, first_seen, first_issue, source, title, url, published) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (list_id, item_id) DO NOTHING",
                [(self.list_id, item.id, moment, issue, item.source, item.title, item.url,
                  item.published.isoformat() if item.published else None) for item in items])
            if issue is not None:
                self.db.executemany("UPDATE items SET first_issue=? WHERE list_id=? AND item_id=? AND first_issue IS NULL",
                                    [(issue, self.list_id, item.id) for item in items])
        return self.seen(item.id for item in items)

    def seen(self, item_ids: Iterable[str]) -> dict[str, Seen]:
        ids = list(dict.fromkeys(item_ids))
        found: dict[str, Seen] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            for item_id, first_seen, first_issue, source in self.db.all(
                    f"SELECT item_id, first_seen, first_issue, source FROM items WHERE list_id=? AND item_id IN ({marks})",
                    (self.list_id, *chunk)):
                found[item_id] = Seen(first_seen, first_issue, source)
        return found
