"""The readers' side of the store: an issue's ledger, unsubscribing, the suppression list, bounces."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from composer.config import Settings
from composer.errors import WeeklyError
from composer.issues import IssueFolder
from composer.models import RecipientState as State
from composer.pipeline import held_number, open_settings_store
from composer.store.recipients import Trouble
from composer.store.suppressions import Suppression


class Status(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    counts: dict[State, int]
    problems: tuple[Trouble, ...]


def status(folder: Path, settings: Settings) -> Status:
    """`weekly status DIR`: the issue's ledger counts, and the failed or unknown recipients with the reply."""
    with open_settings_store(settings) as store:
        number = held_number(IssueFolder(folder), store, settings)
        return Status(number=number, counts=store.recipients.counts(number),
                      problems=tuple(store.recipients.problems(number)))


class Unsubscribed(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str | None  # None: a reader erased on request, never mailed again, of whom nothing is kept
    list_id: str
    new: bool


def unsubscribe(token: str, settings: Settings) -> Unsubscribed:
    """`weekly unsubscribe TOKEN`: verify the token (or the unsubscribe link that carries it) and suppress its
    address. Every kind of token a copy carries is taken, as `weekly serve` takes them: a copy's, a reader's,
    and those of mail sent before tokens named a row. A genuine token of a reader erased since is an
    unsubscribe already done, as `weekly serve` answers it."""
    from composer.deliver.readers import Gone, address_of

    key = _signing_key(settings, "the key the issue was sent with")
    with open_settings_store(settings) as store:
        try:
            email = address_of(_token_of(token), key, settings.list.id, store)
        except Gone:
            return Unsubscribed(email=None, list_id=settings.list.id, new=False)
        return Unsubscribed(email=email, list_id=settings.list.id, new=store.suppressions.add(email, "unsubscribed"))


def _token_of(given: str) -> str:
    """The token itself, from a whole unsubscribe link as a reader forwards it (`…?token=…`) or the token."""
    from urllib.parse import parse_qs, urlsplit

    given = given.strip().strip("<>")
    if "?" in given or "/" in given:
        return parse_qs(urlsplit(given).query).get("token", [given])[0]
    return given


class Changed(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    changed: bool
    warning: str | None = None  # what --force overrode


def suppress(address: str, reason: str, settings: Settings) -> Changed:
    """`weekly suppressed --add`: never send to `address` again."""
    _valid(address)
    with open_settings_store(settings) as store:
        return Changed(address=address, changed=store.suppressions.add(address, reason))


def unsuppress(address: str, settings: Settings, force: bool = False) -> Changed:
    """`weekly suppressed --remove`: send to `address` again. An address that complained, hard-bounced or
    was erased on request needs `force`: mailing it again is what mailbox providers punish."""
    from composer.deliver.tokens import keyed_hash

    _valid(address)
    with open_settings_store(settings) as store:
        found = store.suppressions.get(address)
        digest = keyed_hash(address, settings.list.id, settings.signing_key.get_secret_value().encode()) \
            if settings.signing_key else None
        erased = store.suppressions.get(digest) if digest else None
        why = _risky(found) or (f"was erased on its owner's request on {_day(erased.added)}" if erased else None)
        if why and not force:
            raise WeeklyError(f"{address} {why}: mailing it again makes Gmail and Yahoo trust every issue less (a "
                              "complaint or a dead mailbox counts against the sender); only if they asked to come "
                              "back, add --force")
        changed = store.suppressions.remove(address)
        if erased and digest:
            changed = store.suppressions.remove(digest) or changed
        return Changed(address=address, changed=changed,
                       warning=f"{address} {why}; it will be mailed again (--force)" if why else None)


def _risky(found: Suppression | None) -> str | None:
    if found is None:
        return None
    if found.reason.startswith("complaint"):
        return f"filed a spam complaint on {_day(found.added)} ({found.reason})"
    if found.reason.startswith("hard bounce"):
        return f"hard-bounced on {_day(found.added)} ({found.reason}): the mailbox did not exist"
    return None


def _day(stamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")


def suppressions(settings: Settings) -> list[Suppression]:
    with open_settings_store(settings) as store:
        return store.suppressions.all()


def export_suppressions(path: Path, settings: Settings) -> int:
    """`weekly suppressed --export CSV`: email, reason, added (a date); returns how many rows."""
    from datetime import UTC, datetime

    rows = suppressions(settings)
    try:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "reason", "added"])
            writer.writerows([row.email, row.reason, datetime.fromtimestamp(row.added, UTC).strftime("%Y-%m-%d")]
                             for row in rows)
    except OSError as err:
        raise WeeklyError(f"{path}: cannot write: {err.strerror or err}") from err
    return len(rows)


def bounces(source: str, settings: Settings, told: Callable = lambda outcome: None):
    """`weekly bounces SOURCE`: apply the reports of a mailbox to the suppression list; `told(outcome)` hears
    of each outcome as it comes."""
    from composer.deliver.bounces import process_bounces

    key = _signing_key(settings, "mailed unsubscriptions carry signed tokens")
    password = settings.imap.password.get_secret_value() if settings.imap.password else None
    with open_settings_store(settings) as store:
        return process_bounces(source, store, key, settings.list.id, settings.bounces.soft_limit, password,
                               settings.imap.ca_file, told)


def _signing_key(settings: Settings, why: str) -> bytes:
    if not settings.signing_key:
        raise WeeklyError(f"no signing key: set WEEKLY_SIGNING_KEY ({why})")
    return settings.signing_key.get_secret_value().encode()


def _valid(address: str) -> None:
    from composer.deliver.subscribers import valid_address

    if not valid_address(address):
        raise WeeklyError(f"{address!r} is not a valid address")
