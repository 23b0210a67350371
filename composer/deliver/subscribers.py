"""The mailing list: a CSV file with an `email` column (optional `name`, other columns kept), read as a
stream so a million rows never sit in memory at once. Duplicates are dropped later, by the ledger's
unique key; here each row is validated and a bad one reported with its line number.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path

from composer.errors import WeeklyError
from composer.models import Problem, Subscriber
from composer.wide_text import wide_encoding

# Deliberately plain: one @, no spaces or control characters, a dotted domain. SMTP decides the rest.
_ADDRESS = re.compile(r"^[^@\s\x00-\x1f\x7f<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
MAX_NAME = 100  # characters: even 4-byte ones encoded (RFC 2047), "Name" <address> stays under 998 bytes
_MAX_BAD_ROWS_IN_A_ROW = 1000  # more in a row than this, and the file is not a CSV list at all


def valid_address(address: str) -> bool:
    return len(address) <= 254 and address.isascii() and bool(_ADDRESS.match(address))


def read_subscribers(path: Path) -> Iterator[Subscriber | Problem]:
    """A Subscriber for each good row and a Problem naming the line for each bad one, in file order.

    The whole file is checked to be UTF-8 first, so a list in another encoding is refused before any of
    it reaches the ledger, with the encoding it seems to be in and how to convert it.
    """
    try:
        _check_utf8(path)
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as err:
        raise WeeklyError(f"{path}: cannot read the list: {err.strerror or err}") from err
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "email" not in [name.strip().lower() for name in reader.fieldnames]:
            header = ",".join(reader.fieldnames or [])
            hint = next((f"; its columns seem to be separated by {name}: save it with commas"
                         for mark, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")) if mark in header), "")
            raise WeeklyError(f"{path}: the first line must name the columns, one of them `email`{hint}")
        columns = {name: name.strip().lower() for name in reader.fieldnames}
        line, errors_in_a_row = reader.line_num, 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # one bad row (a field over the csv module's 128 KB limit …): skip it
                errors_in_a_row += 1
                if errors_in_a_row > _MAX_BAD_ROWS_IN_A_ROW:
                    raise WeeklyError(f"{path}:{line + 1}: not a readable CSV file: {err}") from err
                line += 1  # the csv module does not count the line it gave up on
                yield _bad(path, line, f"not readable as CSV: {err}")
                continue
            except UnicodeDecodeError as err:
                raise WeeklyError(f"{path}:{reader.line_num}: not a readable CSV file: {err}") from err
            errors_in_a_row, line = 0, reader.line_num
            values = {columns[key]: (value or "").strip() for key, value in row.items() if key in columns}
            email, name = values.get("email", ""), values.get("name", "")
            if not valid_address(email):
                yield _bad(path, line, f"{email!r} is not a valid address" if email else "no address")
            elif _CONTROL.search(name):
                yield _bad(path, line, "the name holds a control character (a line break would forge headers)")
            elif len(name) > MAX_NAME:
                yield _bad(path, line, f"the name has {len(name)} characters, more than {MAX_NAME} (the To line "
                           "must stay under SMTP's 998 bytes): shorten it")
            else:
                yield Subscriber(email=email, name=name)


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
