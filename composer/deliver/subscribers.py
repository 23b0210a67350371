"""Lists of readers in CSV files: weekly's own, and the exports of Mailchimp, listmonk, Buttondown and Substack.

A file is read as a stream, so a million rows never sit in memory at once; each row is validated and a
bad one reported with its line number. The columns are found by their names: the address (`email`,
Mailchimp's `Email Address`, Buttondown's `email_address` …), the name (or first and last name), the
status (listmonk's `status`, Buttondown's `subscriber_type`, Substack's `email_disabled`; a Mailchimp
row says it by its UNSUB_TIME or CLEAN_TIME, filled in its unsubscribed and cleaned files) and the
sign-up date. `--column email=…` names a column the guess misses. Every other column is kept, by name.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from composer.errors import WeeklyError
from composer.models import Problem, Subscriber
from composer.models import SubscriberStatus as Status
from composer.wide_text import wide_encoding

# Deliberately plain: one @, no spaces or control characters, a dotted domain. SMTP decides the rest.
_ADDRESS = re.compile(r"^[^@\s\x00-\x1f\x7f<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")  # never in a name: a line break would forge headers
MAX_ADDRESS = 254  # characters: RFC 5321's path of 256 octets, less its angle brackets
MAX_NAME = 100  # characters: even 4-byte ones encoded (RFC 2047), "Name" <address> stays under 998 bytes
_MAX_BAD_ROWS_IN_A_ROW = 1000  # more in a row than this, and the file is not a CSV list at all

# The column names each field goes by, lower-cased, first match wins.
_NAMES = {
    "email": ("email", "email address", "email_address", "e-mail", "e-mail address", "mail"),
    "name": ("name", "full name", "full_name"),
    "first_name": ("first name", "first_name", "firstname", "fname"),
    "last_name": ("last name", "last_name", "lastname", "lname"),
    "status": ("status", "subscriber_type", "email_disabled"),
    "created": ("created", "created_at", "creation_date", "optin_time", "subscribed_at", "subscription_created_at"),
    "confirmed": ("confirmed", "confirm_time"),
    # Mailchimp's unsubscribed and cleaned exports say a row's status by when it changed
    "unsubscribed": ("unsub_time",),
    "cleaned": ("clean_time",),
}
FIELDS = tuple(_NAMES)
# `weekly subscribers export` writes these first, then the columns kept from imports
EXPORT_COLUMNS = ("email", "name", "status", "since", "source", "created", "confirmed")

# Status words of the services (listmonk, Buttondown's subscriber types, Substack's email_disabled) and ours.
_STATUSES = {
    Status.SUBSCRIBED: ("subscribed", "enabled", "active", "confirmed", "regular", "premium", "trialed", "unpaid",
                        "gifted", "churning", "past_due", "false"),
    # Buttondown's "paused": the reader asked for no mail for now; weekly has no pause, and mailing is the
    # mistake that cannot be taken back
    Status.UNSUBSCRIBED: ("unsubscribed", "disabled", "blocklisted", "removed", "paused", "true"),
    Status.BOUNCED: ("bounced", "cleaned", "undeliverable"),
    Status.COMPLAINED: ("complained", "spammy", "spam"),
    Status.UNCONFIRMED: ("unconfirmed", "unactivated", "pending"),
}
_STATUS_OF = {word: status for status, words in _STATUSES.items() for word in words}


class Row(NamedTuple):
    """One reader of a list file, with the other columns kept by name."""

    line: int
    address: str
    name: str
    status: Status
    fields: dict[str, str]
    created: float | None
    confirmed: float | None


def valid_address(address: str) -> bool:
    return len(address) <= MAX_ADDRESS and address.isascii() and bool(_ADDRESS.match(address))


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a reader's name in a To line, or None: the one rule for list files, imports and
    `weekly subscribers add`."""
    if CONTROL.search(name):
        return "the name holds a control character (a line break would forge headers)"
    if len(name) > MAX_NAME:
        return (f"the name has {len(name)} characters, more than {MAX_NAME} (the To line must stay under SMTP's "
                "998 bytes): shorten it")
    return None


class ListFile:
    """A CSV list of readers; `kind` says whose export it looks like, `columns` which column is which."""

    def __init__(self, path: Path, columns: dict[str, str] | None = None) -> None:
        self.path = path
        with self._open() as handle:
            header = next(csv.reader(handle), [])
        found = {name.strip().lower() for name in header}
        buttondown = bool(found & {"subscriber_type", "creation_date"})
        if buttondown and "type" in found and "status" not in (columns or {}):
            columns = {**(columns or {}), "status": "type"}  # Buttondown's subscriber type, under its API's name
        self.columns = _columns(path, header, columns or {})
        self.kind = ("weekly" if [name.strip().lower() for name in header[:len(EXPORT_COLUMNS)]] == list(EXPORT_COLUMNS)
                     else "Mailchimp" if "email address" in found and found & {"member_rating", "leid", "optin_time"}
                     else "listmonk" if {"uuid", "attributes", "status"} <= found
                     else "Buttondown" if buttondown
                     else "Substack" if "email_disabled" in found else "CSV")

    def __iter__(self) -> Iterator[Row | Problem]:
        """A Row for each good line and a Problem naming the line for each bad one, in file order."""
        with self._open() as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            at = {field: header.index(column) for field, column in self.columns.items()}
            # weekly's own export: its since and source are the store's record of the row, not the reader's
            ours = {"since", "source"} if self.kind == "weekly" else set()
            kept = [index for index in range(len(header))
                    if index not in at.values() and header[index].strip().lower() not in ours]
            line, errors_in_a_row = reader.line_num, 0
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as err:  # one bad row (a field over the csv module's 128 KB limit …): skip it
                    errors_in_a_row += 1
                    if errors_in_a_row > _MAX_BAD_ROWS_IN_A_ROW:
                        raise WeeklyError(f"{self.path}:{line + 1}: not a readable CSV file: {err}") from err
                    line += 1  # the csv module does not count the line it gave up on
                    yield _bad(self.path, line, f"not readable as CSV: {err}")
                    continue
                except UnicodeDecodeError as err:
                    raise WeeklyError(f"{self.path}:{reader.line_num}: not a readable CSV file: {err}") from err
                errors_in_a_row, line = 0, reader.line_num
                if any(value.strip() for value in values):
                    yield self._row(line, values, at, header, kept)

    def _row(self, line: int, values: list[str], at: dict[str, int], header: list[str], kept: list[int]) -> Row | Problem:
        def value(field: str) -> str:
            index = at.get(field)
            return values[index].strip() if index is not None and index < len(values) else ""

        email = value("email")
        name = value("name") or " ".join(part for part in (value("first_name"), value("last_name")) if part)
        raw = value("status").lower()
        # A status column says what the row is now; else a Mailchimp row says it by the time it left (an
        # empty cell, or the column kept in another file such as weekly's own export, says nothing)
        status = _STATUS_OF.get(raw) if raw else Status.UNSUBSCRIBED if value("unsubscribed") else \
            Status.BOUNCED if value("cleaned") else Status.SUBSCRIBED
        if not valid_address(email):
            return _bad(self.path, line, f"{email!r} is not a valid address" if email else "no address")
        problem = name_problem(name)
        if problem:
            return _bad(self.path, line, problem)
        if status is None:
            known = ", ".join(sorted(_STATUS_OF))
            return _bad(self.path, line, f"status {raw!r} is not one weekly knows ({known}); say which column holds "
                                         "the status with --column status=NAME, or fix the line")
        fields = {header[index]: values[index].strip() for index in kept if index < len(values) and values[index].strip()}
        return Row(line, email, name, status, fields, _when(value("created")), _when(value("confirmed")))

    def _open(self):
        try:
            _check_utf8(self.path)
            return self.path.open(newline="", encoding="utf-8-sig")
        except OSError as err:
            raise WeeklyError(f"{self.path}: cannot read the list: {err.strerror or err}") from err


def read_subscribers(path: Path, columns: dict[str, str] | None = None) -> Iterator[Subscriber | Problem]:
    """What `weekly send --list FILE` sends to: a Subscriber for each subscribed reader of the file; a
    Problem for each bad line, and a warning for each reader the file says not to mail. `columns` names
    the columns the guess misses (--column FIELD=NAME)."""
    for row in ListFile(path, columns):
        if isinstance(row, Problem):
            yield row
        elif row.status is not Status.SUBSCRIBED:
            yield Problem(level="warning", path=str(path), line=row.line, message=f"{row.status} in the file: not sent")
        else:
            yield Subscriber(email=row.address, name=row.name)


def _columns(path: Path, header: list[str], given: dict[str, str]) -> dict[str, str]:
    """Which column of `header` holds each field: `given` (--column FIELD=NAME) first, then by name."""
    lowered = {name.strip().lower(): name for name in header}
    columns = {}
    for field, names in _NAMES.items():
        wanted = given.get(field)
        if wanted is not None:
            if wanted.strip().lower() not in lowered:
                raise WeeklyError(f"{path}: --column {field}={wanted}: no such column (the file has: {', '.join(header)})")
            columns[field] = lowered[wanted.strip().lower()]
            continue
        found = next((lowered[name] for name in names if name in lowered), None)
        if found is not None:
            columns[field] = found
    if "email" not in columns:
        shown = ",".join(header)
        hint = next((f"; its columns seem to be separated by {name}: save it with commas"
                     for mark, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")) if mark in shown), "")
        raise WeeklyError(f"{path}: the first line must name the columns, one of them `email` (or Email Address, "
                          f"email_address …: name yours with --column email=COLUMN on weekly send or weekly subscribers import, "
                          f"or rename it email){hint}")
    return columns


def _when(text: str) -> float | None:
    """A date as the services write it (ISO 8601, `2024-03-01 10:22:33`, Go's `… +0000 UTC`), or None."""
    text = re.sub(r"\s+UTC$", "", text.strip()).replace(" +", "+").replace(" -", "-")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _bad(path: Path, line: int, message: str) -> Problem:
    return Problem(level="error", path=str(path), line=line, message=message)


def _check_utf8(path: Path) -> None:
    """WeeklyError naming the line and the likely encoding unless the whole file is UTF-8 (read in chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as raw:
        start = raw.read(4)
        wide = wide_encoding(start)
        if wide:
            encoding = wide[0][:6].upper()  # "UTF-16", "UTF-32": what iconv calls them
            raise WeeklyError(f"{path}: the list is {encoding}, not UTF-8: save it as UTF-8 "
                              f"(e.g. `iconv -f {encoding} -t UTF-8 {path} > list.csv`)")
        chunk = start
        while chunk:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                line += chunk.count(b"\n", 0, err.start)
                raise WeeklyError(f"{path}:{line}: the list is not UTF-8 (it looks like Latin-1 or Windows-1252): "
                                  f"save it as UTF-8 (e.g. `iconv -f CP1252 -t UTF-8 {path} > list.csv`)") from err
            line += chunk.count(b"\n")
            chunk = raw.read(1 << 20)
