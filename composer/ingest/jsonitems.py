"""JSON arrays and JSON Lines of items: the schema `weekly items --json` prints.

Each record is an object. `paragraphs` (a non-empty list of strings) is required; `title`, `kind`
(news, blog, event), `url`, `published` (ISO 8601), `tags`, `image_url`, `image_alt` are optional;
`id`, `source`, `position` and `line` are filled in when absent. A record with
`"kind": "past_issue"` is a past issue (number, headline, date_range, editorial, radar,
reading_corner, events). Unknown keys are refused, so a misspelt one is named, not ignored.
A bad record is reported with its line (JSON Lines) or index (JSON) and the others are kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import partial
from typing import NamedTuple

from pydantic import ValidationError

from composer.errors import invalid_key
from composer.forked import MANY, split_map
from composer.ingest._boilerplate import article_text
from composer.ingest._lines import body
from composer.ingest.jsonfeed import is_json_feed, json_feed_records
from composer.models import Item, PastIssue, Problem, content_id


def parse_json(text: str, source: str, json_lines: bool) -> tuple[list[Item], list[PastIssue], list[Problem]]:
    """The items and past issues of one JSON or JSON Lines document."""
    problems: list[Problem] = []
    # JSON Lines are read record by record: a record's dict goes as its item comes (10,000 at once held
    # a copy of the whole text). Many records are read on two cores (each record's item is its own, and
    # each line's record too), so their lines, or records, are all listed first.
    entries: Iterable[_Entry]
    if json_lines and text.count("\n") >= MANY:
        # Where each line is, not a copy of it: the text is there in both processes.
        lines = ((number, span) for number, span in enumerate(_line_spans(text), 1) if text[slice(*span)].strip())
        entries = [(index, "", number, _Line(*span)) for index, (number, span) in enumerate(lines)]
    else:
        records = _records_jsonl(text, source, problems) if json_lines else _records_json(text, source, problems)
        entries = ((index, where, line, record) for index, (where, line, record) in enumerate(records))
        if isinstance(records, list) and len(records) >= MANY:
            entries = list(entries)
    read = partial(_read, source=source, text=text)
    outcomes = split_map(read, entries, MANY) if isinstance(entries, list) else map(read, entries)
    items: list[Item] = []
    past_issues: list[PastIssue] = []
    for outcome in outcomes:
        if isinstance(outcome, PastIssue):
            past_issues.append(outcome)
        elif isinstance(outcome, Problem):
            problems.append(outcome)
        else:
            # Read with its place among the records for a position (unless it gives its own); its position
            # is its place among the items.
            item, own_position = outcome
            items.append(item if own_position or item.position == len(items)
                         else item.model_copy(update={"position": len(items)}))
    problems.sort(key=lambda problem: problem.line or 0)
    return items, past_issues, problems


class _Line(NamedTuple):
    """Where a line of JSON Lines is in the text, not parsed yet."""

    start: int
    end: int


_Entry = tuple[int, str, int | None, object]  # a record's place among the records, where, line, the record


def _read(entry: _Entry, source: str, text: str) -> tuple[Item, bool] | PastIssue | Problem:
    """The item (and whether its record gave its position) or past issue of a record (a `_Line` of `text`),
    or the problem."""
    index, where, line, record = entry
    if isinstance(record, _Line):
        try:
            record = json.loads(text[record.start:record.end])
        except json.JSONDecodeError as err:
            return Problem(level="error", path=source, line=line, message=f"not valid JSON: {err.msg}")
        except RecursionError:
            return Problem(level="error", path=source, line=line, message="nested too deeply to read")
    try:
        if not isinstance(record, dict):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        if record.get("kind") == "past_issue":
            return PastIssue.model_validate({"source": source, "line": line, **record})
        return _item(record, index, source, line), "position" in record
    except (ValidationError, TypeError, ValueError) as err:
        prefix = f"{where}: " if where else ""
        return Problem(level="error", path=source, line=line, message=prefix + _reason(err))


def _records_json(text: str, source: str, problems: list[Problem]) -> list[tuple[str, int | None, object]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        problems.append(Problem(level="error", path=source, line=err.lineno, message=f"not valid JSON: {err.msg}"))
        return []
    except RecursionError:
        problems.append(Problem(level="error", path=source, message="nested too deeply to read"))
        return []
    if is_json_feed(data):
        return [(f"item {index + 1}", None, record) for index, record in enumerate(json_feed_records(data))]
    records = data if isinstance(data, list) else [data]
    return [(f"item {index + 1}", None, record) for index, record in enumerate(records)]


def _records_jsonl(text: str, source: str, problems: list[Problem]) -> Iterator[tuple[str, int | None, object]]:
    for number, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(Problem(level="error", path=source, line=number, message=f"not valid JSON: {err.msg}"))
            continue
        except RecursionError:
            problems.append(Problem(level="error", path=source, line=number, message="nested too deeply to read"))
            continue
        yield "", number, record


def _item(record: dict, position: int, source: str, line: int | None) -> Item:
    paragraphs = record.get("paragraphs")
    if not isinstance(paragraphs, list) or not all(isinstance(p, str) for p in paragraphs):
        raise TypeError("field 'paragraphs': expected a list of strings" if paragraphs is not None
                        else "field 'paragraphs' is required")
    text = article_text(paragraphs)
    kept, tags = body(text.paragraphs)
    if not kept:
        raise ValueError("field 'paragraphs' holds no body text")
    title = record.get("title")
    values = {
        "id": content_id(title if isinstance(title, str) else None, kept),
        "source": source,
        "position": position,
        "line": line,
        **record,
        "paragraphs": kept,
        "tags": [*record.get("tags", []), *tags] if isinstance(record.get("tags", []), list) else record["tags"],
        "truncated": text.truncated or record.get("truncated", False),
    }
    return Item.model_validate(values)


def _reason(err: Exception) -> str:
    if isinstance(err, ValidationError):
        field, reason = invalid_key(err)
        if reason.startswith("unknown key"):
            return f"unknown field '{field}'"
        return f"field '{field}': {reason}"
    return str(err)


# Where str.splitlines() ends a line: one of these characters, \r\n as one (written to open with the
# class, so that a search skips at once to the next one).
_LINE_END = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029](?:(?<=\r)\n)?")


def _lines(text: str) -> Iterator[str]:
    """`text.splitlines()`, one line at a time (not a second copy of a large file)."""
    return (text[start:end] for start, end in _line_spans(text))


def _line_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where each line of `text.splitlines()` starts and ends."""
    start = 0
    for end in _LINE_END.finditer(text):
        yield start, end.start()
        start = end.end()
    if start < len(text):
        yield start, len(text)
