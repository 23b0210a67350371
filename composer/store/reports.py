"""Reports `weekly bounces` has read (DSNs, complaints, mailed unsubscriptions), remembered by a digest of
their bytes, so the next run never applies one again: an hourly run must not undo a resubscription or an
editor's `suppressed --remove` by re-reading last week's bounce."""

from __future__ import annotations

import time

from composer.store.db import Db


class Reports:
    def __init__(self, db: Db, list_id: str) -> None:
        self.db = db
        self.list_id = list_id

    def seen(self, digest: str) -> bool:
        """Whether the report with this digest was processed before."""
        return self.db.one("SELECT 1 FROM reports_seen WHERE list_id=? AND digest=?",
                           (self.list_id, digest)) is not None

    def remember(self, digest: str, outcome: str) -> None:
        """Record the report as processed, with what came of it."""
        self.db.execute("INSERT INTO reports_seen (list_id, digest, outcome, seen) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (list_id, digest) DO NOTHING", (self.list_id, digest, outcome[:300], time.time()))
