"""The store: everything `weekly` keeps between runs, behind one interface, on SQLite or PostgreSQL.

    store = open_store(settings.store, settings.list.id, settings.output.dir)
    store.recipients   the send ledger: one row per (issue, recipient) and its state
    store.suppressions addresses never mailed again, and soft bounces counted per issue
    store.issues       each issue's life: composed, approved, sending, sent, stopped
    store.items        every item seen, when first, and for which issue
    store.reports      the bounce reports processed, so none is applied twice
    store.subscribers  the readers: status, dates, source; sign-up, import, export and erasure
    store.lock(name)   a lock that means the same on both backends (another process, another machine)

Every method raises StoreError (a WeeklyError naming the store) and nothing else from the database;
every row is the list's (`list.id`), so two newsletters can share a store. No SQL lives outside this
package. SQLite is the embedded default (a file; the sender, `weekly serve` and cron on one machine);
PostgreSQL (`store.url = "postgresql://…"`) when the web host and the sender are two machines.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from composer.config import StoreSettings
from composer.store.db import SQLITE, Db, StoreError, postgres_dialect
from composer.store.issues import Issues
from composer.store.items import Items
from composer.store.locks import Locks
from composer.store.recipients import Recipients
from composer.store.reports import Reports
from composer.store.schema import MIGRATIONS, VERSION, Context, version_of
from composer.store.subscribers import Subscribers
from composer.store.suppressions import Suppressions

__all__ = ["Store", "StoreError", "open_store"]


class Store:
    """An open store for one list; close it (or use `with`) when done."""

    def __init__(self, db: Db, list_id: str, url: str, password: str | None) -> None:
        self.db = db
        self.list_id = list_id
        self.where = db.where
        self.id = db.scalar("SELECT value FROM meta WHERE key='store_id'")
        self.recipients = Recipients(db, list_id)
        self.suppressions = Suppressions(db, list_id)
        self.issues = Issues(db, list_id)
        self.items = Items(db, list_id)
        self.reports = Reports(db, list_id)
        self.subscribers = Subscribers(db, list_id)
        self._locks = Locks(db, f"{self.id}:{list_id}", url, password)

    def lock(self, name: str, refusal: str) -> AbstractContextManager[None]:
        """Hold the lock `name` of this list while the block runs; StoreError(`refusal` with {holder}
        replaced by who holds it) if another process does. Released however the process ends."""
        return self._locks.hold(name, refusal)

    def busy(self, name: str) -> bool:
        """Whether another process holds the lock `name` now."""
        return self._locks.busy(name)

    def transaction(self) -> AbstractContextManager[None]:
        """Everything the block writes commits together, or nothing of it (a failure rolls it back); nested,
        a savepoint. For work of many small writes (a mailbox of bounces): one commit instead of hundreds."""
        return self.db.transaction()

    def still_there(self) -> bool:
        return self.db.still_there()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(settings: StoreSettings, list_id: str, output_dir: Path = Path("out")) -> Store:
    """The store `settings.url` names (created when missing; an older schema migrated, a newer refused).
    `output_dir` is where a ledger from before versions finds the issues it sent."""
    url = settings.url
    password = settings.password.get_secret_value() if settings.password else None
    db = _postgres(url, password, settings) if is_postgres(url) else _sqlite(sqlite_path(url), settings)
    try:
        _migrate(db, Context(list_id, output_dir))
        return Store(db, list_id, url, password)
    except BaseException:
        db.close()
        raise


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """The file of an SQLite store: a plain path, or sqlite:///relative or sqlite:////absolute."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else Path(url)


def safe_url(url: str) -> str:
    """`url` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


def _sqlite(path: Path, settings: StoreSettings) -> Db:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, isolation_level=None, timeout=settings.busy_timeout_seconds,
                                     check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        return Db(connection, SQLITE, str(path), path)
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"{path}: cannot open the store: {err}") from err


def _postgres(url: str, password: str | None, settings: StoreSettings) -> Db:
    try:
        import psycopg
    except ImportError as err:
        raise StoreError("a postgresql:// store needs psycopg: pip install 'weekly[postgresql]'") from err
    dialect = postgres_dialect()
    where = safe_url(url)
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=int(settings.connect_timeout_seconds),
                                     password=password)
        # A write waits for another's lock this long, as SQLite's busy timeout does, then fails.
        connection.execute(f"SET lock_timeout = '{int(settings.busy_timeout_seconds * 1000)}ms'")
    except psycopg.Error as err:
        raise StoreError(f"{where}: cannot open the store: {str(err).strip().splitlines()[0]}") from err
    return Db(connection, dialect, where)


def _migrate(db: Db, context: Context) -> None:
    """Bring the store to VERSION in one transaction, after a backup of an SQLite file that holds data."""
    version = version_of(db)
    _refuse_newer(db, version)
    if version == VERSION:
        return
    if db.path is not None and _holds_data(db):  # before the write lock: the backup reads the whole file
        _backup(db, db.path.with_name(f"{db.path.name}.v{version}.bak"))
    with db.transaction():
        if db.dialect.name == "postgresql":
            db.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))  # one opener migrates
        version = version_of(db)  # another process may have migrated it meanwhile
        _refuse_newer(db, version)
        for migration in MIGRATIONS[version:]:
            migration(db, context)
        db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                   "ON CONFLICT (key) DO UPDATE SET value=excluded.value", (str(VERSION),))
        db.execute("INSERT INTO meta (key, value) VALUES ('store_id', ?) ON CONFLICT (key) DO NOTHING",
                   (secrets.token_hex(8),))
        db.execute("INSERT INTO meta (key, value) VALUES ('created', ?) ON CONFLICT (key) DO NOTHING",
                   (str(time.time()),))


def _refuse_newer(db: Db, version: int) -> None:
    if version > VERSION:
        raise StoreError(f"{db.where}: the store has schema version {version}, newer than this weekly knows "
                         f"({VERSION}): upgrade weekly on this machine")


_MIGRATION_LOCK = 0x7765656B6C79  # "weekly": serialises schema migrations of one PostgreSQL database


def _holds_data(db: Db) -> bool:
    return db.scalar("SELECT count(*) FROM sqlite_master WHERE type='table'") > 0


def _backup(db: Db, target: Path) -> None:
    """A consistent copy of the SQLite store before it is changed (the backup API: WAL content included)."""
    try:
        with sqlite3.connect(target) as copy:
            db.connection.backup(copy)
        copy.close()
    except (OSError, sqlite3.Error) as err:
        raise StoreError(f"{target}: cannot back up the store before migrating it, so it was left as it is: "
                         f"{err}") from err
