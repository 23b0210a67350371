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

from pydantic import ValidationError

from composer.errors import invalid_key
from composer.forked import split_map
from composer.ingest._boilerplate import article_text
from composer.ingest._lines import body
from composer.ingest.jsonfeed import is_json_feed, json_feed_records
from composer.models import Item, PastIssue, Problem, content_id

_FORK_AT = 2000  # records: fewer are read in this process alone (a fork costs more than it saves)


def parse_json(text: str, source: str, json_lines: bool) -> tuple[list[Item], list[PastIssue], list[Problem]]:
    """The items and past issues of one JSON or JSON Lines document."""
    problems: list[Problem] = []
    # JSON Lines are read record by record: a record's dict goes as its item comes (10,000 at once held
    # a copy of the whole text). Many records are read on two cores (each record's item is its own), so
    # they are all read first.
    records: Iterable[tuple[str, int | None, object]]
    records = _records_jsonl(text, source, problems) if json_lines else _records_json(text, source, problems)
    numbered: Iterable[tuple[int, tuple[str, int | None, object]]] = enumerate(records)
    outcomes: Iterable[tuple[tuple[int, tuple[str, int | None, object]], Item | PastIssue | str]]
    if (len(records) if isinstance(records, list) else text.count("\n")) >= _FORK_AT:
        numbered = list(numbered)
        outcomes = zip(numbered, split_map(partial(_read, source=source), numbered, _FORK_AT), strict=True)
    else:
        outcomes = ((entry, _read(entry, source)) for entry in numbered)
    items: list[Item] = []
    past_issues: list[PastIssue] = []
    for (_, (where, line, record)), outcome in outcomes:
        if isinstance(outcome, Item):
            # Read with its place among the records for a position (unless it gives its own); its position
            # is its place among the items.
            items.append(outcome if outcome.position == len(items) or "position" in record  # type: ignore[operator]
                         else outcome.model_copy(update={"position": len(items)}))
        elif isinstance(outcome, PastIssue):
            past_issues.append(outcome)
        else:
            prefix = f"{where}: " if where else ""
            problems.append(Problem(level="error", path=source, line=line, message=prefix + outcome))
    problems.sort(key=lambda problem: problem.line or 0)
    return items, past_issues, problems


def _read(numbered: tuple[int, tuple[str, int | None, object]], source: str) -> Item | PastIssue | str:
    """The item or past issue of a record (numbered among the records), or why it is neither."""
    index, (_, line, record) = numbered
    try:
        if not isinstance(record, dict):
            raise TypeError(f"expected an object, got {type(record).__name__}")
        if record.get("kind") == "past_issue":
            return PastIssue.model_validate({"source": source, "line": line, **record})
        return _item(record, index, source, line)
    except (ValidationError, TypeError, ValueError) as err:
        return _reason(err)


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
    start = 0
    for end in _LINE_END.finditer(text):
        yield text[start:end.start()]
        start = end.end()
    if start < len(text):
        yield text[start:]
