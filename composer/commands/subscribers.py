"""`weekly subscribers`: the readers of the subscriber store, imported, listed, added, removed, exported, erased."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict

from composer.commands.readers import _signing_key as _key
from composer.commands.readers import _valid
from composer.config import Settings
from composer.deliver.subscribers import EXPORT_COLUMNS, ListFile, name_problem
from composer.deliver.tokens import keyed_hash
from composer.errors import WeeklyError
from composer.models import Problem
from composer.models import SubscriberStatus as Status
from composer.pipeline import open_settings_store
from composer.store import Store
from composer.store.subscribers import Incoming, Reader

_SHOWN_PROBLEMS = 100
_DATES = ("created", "confirmed", "changed", "updated", "added", "pending_at", "since")


class Imported(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str  # whose export the file looks like
    columns: dict[str, str]
    outcomes: dict[str, dict[Status, int]]  # added, updated, unchanged, kept -> status -> count
    unconfirmed: int  # never confirmed there: no consent to mail them, left out
    erased: int  # erased here on request: left out
    problems: tuple[Problem, ...]
    invalid: int


def import_file(path: Path, columns: dict[str, str], settings: Settings) -> Imported:
    """`weekly subscribers import FILE`: every reader of the file into the store with their status."""
    listed = ListFile(path, columns)
    shown: list[Problem] = []
    skipped: Counter = Counter()
    source = f"import of {path.name} ({listed.kind})"
    with open_settings_store(settings) as store:
        erased = _erased(store, settings)

        def rows() -> Iterator[Incoming]:
            for row in listed:
                if isinstance(row, Problem):
                    skipped["invalid"] += 1
                    if len(shown) < _SHOWN_PROBLEMS:
                        shown.append(row)
                elif row.status is Status.UNCONFIRMED:
                    skipped["unconfirmed"] += 1
                elif erased and keyed_hash(row.address, settings.list.id, erased[0]) in erased[1]:
                    skipped["erased"] += 1
                else:
                    yield Incoming(row.address, row.name, row.status, row.fields, row.created, row.confirmed)

        counted = store.subscribers.import_rows(rows(), source)
    outcomes: dict[str, dict[Status, int]] = {}
    for (outcome, status), count in counted.items():
        outcomes.setdefault(outcome, {})[status] = count
    return Imported(kind=listed.kind, columns=listed.columns, outcomes=outcomes, unconfirmed=skipped["unconfirmed"],
                    erased=skipped["erased"], problems=tuple(shown), invalid=skipped["invalid"])


def listing(settings: Settings, status: Status | None) -> tuple[list[Reader], dict[Status, int]]:
    """`weekly subscribers list`: the readers (in `status`), and how many are in each status. Sign-ups never
    confirmed in time are forgotten first."""
    with open_settings_store(settings) as store:
        store.subscribers.forget_unconfirmed(settings.signup.confirm_hours * 3600)
        return list(store.subscribers.all(status)), store.subscribers.counts()


def add(address: str, name: str, settings: Settings) -> Reader:
    """`weekly subscribers add`: subscribe `address` by hand; WeeklyError if it must not be mailed."""
    _valid(address)
    problem = name_problem(name)
    if problem:
        raise WeeklyError(f"--name: {problem}")
    with open_settings_store(settings) as store:
        erased = _erased(store, settings)
        if erased and keyed_hash(address, settings.list.id, erased[0]) in erased[1]:
            raise WeeklyError(f"{address} was erased on its owner's request and is never mailed again; if they "
                              f"asked to come back: `weekly suppressed --remove {address} --force`, then add it")
        reader = store.subscribers.add(address, name, "added by hand")
    if reader.status is not Status.SUBSCRIBED:
        raise WeeklyError(f"{address} is {reader.status} (since {_day(reader.since)}) and stays so; if they asked "
                          f"to come back: `weekly suppressed --remove {address}`, then add it again")
    return reader


def remove(address: str, settings: Settings) -> Reader:
    """`weekly subscribers remove`: unsubscribe `address` by hand (it stays in the store, unsubscribed)."""
    _valid(address)
    with open_settings_store(settings) as store:
        reader = store.subscribers.remove(address, "removed by hand")
    if reader is None:
        raise WeeklyError(f"{address} is not in the subscriber store (`weekly suppressed --add {address}` keeps "
                          "an address from ever being mailed)")
    return reader


def export_all(out: TextIO, settings: Settings) -> int:
    """`weekly subscribers export`: every reader as CSV (email, name, status, dates, source, then the other
    columns of their import), re-importable as it is; returns how many."""
    with open_settings_store(settings) as store:
        extra = sorted({key for reader in store.subscribers.all() for key in reader.fields})
        writer = csv.writer(out)
        # a kept column named as one of ours (a list's own "source") keeps its values under a name of its own
        writer.writerow([*EXPORT_COLUMNS, *(f"{key} (imported)" if key.strip().lower() in EXPORT_COLUMNS else key
                                            for key in extra)])
        count = 0
        for reader in store.subscribers.all():
            writer.writerow([reader.address, reader.name, reader.status, _stamp(reader.since), reader.source,
                             _stamp(reader.created), _stamp(reader.confirmed), *(reader.fields.get(key, "") for key in extra)])
            count += 1
    return count


def export_person(address: str, settings: Settings) -> dict:
    """`weekly subscribers export ADDRESS`: every row held about one person, table by table (GDPR art. 15)."""
    _valid(address)
    with open_settings_store(settings) as store:
        held = store.subscribers.held(address)
    tables = {table: [{key: _stamp(value) if key in _DATES else value for key, value in row.items() if key != "list_id"}
                      for row in rows] for table, rows in held.items()}
    return {"address": address, "list": settings.list.id, "exported": _stamp(datetime.now(UTC).timestamp()),
            "held": tables}


def erase(address: str, settings: Settings) -> dict[str, int]:
    """`weekly subscribers erase`: delete everything held about `address` (GDPR art. 17), keeping only its
    keyed hash in the suppression list so it is never mailed again; returns the rows deleted per table."""
    _valid(address)
    key = _key(settings, "the erased address is kept as a hash keyed with it")
    with open_settings_store(settings) as store:
        return store.subscribers.erase(address, keyed_hash(address, settings.list.id, key))


def _erased(store: Store, settings: Settings) -> tuple[bytes, set[str]] | None:
    """The signing key and the keyed hashes of erased readers, or None when nobody was erased."""
    hashes = store.subscribers.erased()
    if not hashes:
        return None
    return _key(settings, "erased readers are recognised by a hash keyed with it"), hashes


def _stamp(value: float | None) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, float | int) \
        else "" if value is None else str(value)


def _day(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d")
