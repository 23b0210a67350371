"""The store's schema, versioned: `MIGRATIONS[n]` takes a store from version n to n + 1.

Version 0 is an empty database or the unversioned send ledger of weekly before the store (its tables
recipients, suppression and soft_bounces, keyed by issue and address only). Opening a store runs the
missing migrations in one transaction, after a backup of an SQLite file (`<file>.v<N>.bak`); a store
newer than this weekly is refused by name, never read half-understood. The version lives in the `meta`
table on both backends.

Every row carries the list id, so two newsletters can share one store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from composer.store.db import Db


@dataclass(frozen=True)
class Context:
    """What a migration may need beyond the database: the list the old rows belong to, the archive folder."""

    list_id: str
    output_dir: Path


def _v1(db: Db, context: Context) -> None:
    """The first versioned schema: the ledger keyed by list, issue states, items seen, lock holders."""
    legacy = db.dialect.name == "sqlite" and _has_table(db, "recipients")
    if legacy:
        for table in ("recipients", "suppression", "soft_bounces"):
            db.execute(f"ALTER TABLE {table} RENAME TO legacy_{table}")
        db.execute("DROP INDEX IF EXISTS recipients_state")
    real, id_column = db.dialect.real, db.dialect.id_column
    for statement in (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"""CREATE TABLE recipients (
            id {id_column},
            list_id TEXT NOT NULL,
            issue INTEGER NOT NULL,
            email TEXT NOT NULL,          -- lower-cased: the duplicate key
            address TEXT NOT NULL,        -- as written in the list
            name TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'pending',
            reply TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            updated {real} NOT NULL,
            UNIQUE (list_id, issue, email))""",
        "CREATE INDEX recipients_state ON recipients (list_id, issue, state, id)",
        "CREATE INDEX recipients_email ON recipients (list_id, email)",
        f"""CREATE TABLE suppressions (
            list_id TEXT NOT NULL,
            email TEXT NOT NULL,
            reason TEXT NOT NULL,
            added {real} NOT NULL,
            PRIMARY KEY (list_id, email))""",
        f"""CREATE TABLE soft_bounces (
            list_id TEXT NOT NULL,
            email TEXT NOT NULL,
            issue INTEGER NOT NULL,       -- one soft bounce counted per issue, however many DSNs say so
            added {real} NOT NULL,
            PRIMARY KEY (list_id, email, issue))""",
        f"""CREATE TABLE issues (
            list_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            week_start TEXT,
            week_end TEXT,
            state TEXT NOT NULL,          -- lifecycle.Stored: composed, approved, sending, sent, stopped
            folder TEXT,
            machine_hash TEXT,            -- the draft as the machine wrote it
            rendered_hash TEXT,           -- the draft the email files were rendered from
            approved_hash TEXT,
            approved_by TEXT,
            approved_at {real},
            composed_at {real},
            sent_at {real},
            reason TEXT,                  -- why a send stopped
            updated {real} NOT NULL,
            PRIMARY KEY (list_id, number))""",
        """CREATE TABLE issue_items (
            list_id TEXT NOT NULL,
            number INTEGER NOT NULL,
            item_id TEXT NOT NULL,
            PRIMARY KEY (list_id, number, item_id))""",
        f"""CREATE TABLE items (
            list_id TEXT NOT NULL,
            item_id TEXT NOT NULL,
            first_seen {real} NOT NULL,
            first_issue INTEGER,          -- the issue being composed when it was first seen
            source TEXT NOT NULL,
            title TEXT,
            url TEXT,
            published TEXT,
            PRIMARY KEY (list_id, item_id))""",
        f"CREATE TABLE lock_holders (name TEXT PRIMARY KEY, holder TEXT NOT NULL, since {real} NOT NULL)",
    ):
        db.execute(statement)
    if legacy:
        _adopt_legacy(db, context)


def _adopt_legacy(db: Db, context: Context) -> None:
    """The old ledger's rows, now the list's: ids kept (the Message-IDs of mail already sent name them)."""
    db.execute("INSERT INTO recipients (id, list_id, issue, email, address, name, state, reply, attempts, updated) "
               "SELECT rowid, ?, CAST(issue AS INTEGER), email, address, name, state, reply, attempts, updated "
               "FROM legacy_recipients", (context.list_id,))
    db.execute("INSERT INTO suppressions SELECT ?, email, reason, added FROM legacy_suppression", (context.list_id,))
    db.execute("INSERT INTO soft_bounces SELECT ?, email, CAST(issue AS INTEGER), added FROM legacy_soft_bounces",
               (context.list_id,))
    for issue, unfinished, updated in db.all(
            "SELECT issue, sum(CASE WHEN state IN ('pending', 'sending') THEN 1 ELSE 0 END), max(updated) "
            "FROM recipients WHERE list_id=? GROUP BY issue", (context.list_id,)):
        folder = context.output_dir / str(issue)
        draft = _legacy_draft(folder)
        db.execute("INSERT INTO issues (list_id, number, state, week_start, week_end, folder, sent_at, reason, updated) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (context.list_id, issue, "stopped" if unfinished else "sent", draft.get("week_start"),
                    draft.get("week_end"), str(folder.resolve()) if folder.is_dir() else None,
                    None if unfinished else updated, "stopped before the store had versions" if unfinished else None,
                    updated))
        db.executemany("INSERT INTO issue_items (list_id, number, item_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                       [(context.list_id, issue, item) for item in draft.get("item_ids", ())])
    for table in ("recipients", "suppression", "soft_bounces"):
        db.execute(f"DROP TABLE legacy_{table}")


def _legacy_draft(folder: Path) -> dict:
    """The week and the stories of an issue the old ledger sent, from its draft when it is still there."""
    try:
        data = yaml.safe_load((folder / "issue.yaml").read_text(encoding="utf-8"))
        sections = data.get("sections") or {}
        entries = [entry for name in ("radar", "reading_corner", "events") for entry in sections.get(name) or ()]
        return {"week_start": str(data["week_start"]), "week_end": str(data["week_end"]),
                "item_ids": [entry["item_id"] for entry in entries if entry.get("item_id")]}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, KeyError, TypeError):
        return {}  # gone or unreadable: the issue is still known as sent, without its week and stories


def _has_table(db: Db, name: str) -> bool:
    return db.one("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)) is not None


def _subscribers(db: Db, context: Context) -> None:
    """The readers themselves (composer.store.subscribers): who, in what status since when, from where."""
    real, id_column = db.dialect.real, db.dialect.id_column
    db.execute(f"""CREATE TABLE subscribers (
        id {id_column},
        list_id TEXT NOT NULL,
        sid TEXT NOT NULL,                -- the opaque id tokens name, never the address
        email TEXT NOT NULL,              -- lower-cased: the duplicate key
        address TEXT NOT NULL,            -- as given
        name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,             -- unconfirmed, subscribed, unsubscribed, bounced, complained
        source TEXT NOT NULL,             -- the sign-up form, an import (its format and file), by hand
        fields TEXT NOT NULL DEFAULT '{{}}', -- the other columns of an import (JSON): tags, name parts …
        created {real} NOT NULL,
        confirmed {real},
        changed {real} NOT NULL,          -- the status's date
        pending TEXT,                     -- the outstanding confirmation of a sign-up (its token names it)
        pending_at {real},
        UNIQUE (list_id, email),
        UNIQUE (list_id, sid),
        UNIQUE (list_id, pending))""")
    db.execute("CREATE INDEX subscribers_status ON subscribers (list_id, status, id)")


def _reports_seen(db: Db, context: Context) -> None:
    """Reports `weekly bounces` processed, so none is applied twice (composer.store.reports)."""
    db.execute(f"""CREATE TABLE reports_seen (
        list_id TEXT NOT NULL,
        digest TEXT NOT NULL,             -- sha256 of the report's bytes
        outcome TEXT NOT NULL,
        seen {db.dialect.real} NOT NULL,
        PRIMARY KEY (list_id, digest))""")


MIGRATIONS: list[Callable[[Db, Context], None]] = [_v1, _subscribers, _reports_seen]
VERSION = len(MIGRATIONS)


def version_of(db: Db) -> int:
    """The schema version of an open store: 0 for an empty database or a ledger from before versions."""
    if db.dialect.name == "sqlite":
        has_meta = _has_table(db, "meta")
    else:  # a scan of the catalog, not to_regclass: its cache may not yet see a table another opener just made
        has_meta = db.scalar("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'meta' "
                             "AND schemaname = current_schema())")
    if not has_meta:
        return 0
    value = db.scalar("SELECT value FROM meta WHERE key='schema_version'")
    return int(value) if value is not None else 0
