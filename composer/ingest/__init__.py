"""Ingest: read the week's material into Items (and the past issues found among it).

`load_items(paths)` takes files and folders. A folder is read for the input files directly and
recursively below it, in name order: .txt (text dumps), .xml .rss .atom (feeds), .json and
.jsonl (items). A file named explicitly is read whatever its name, its format told by its
extension or, failing that, by its first character. Every problem with one input is reported
with its path and the others are still read; only a path that does not exist, or a folder with
no inputs, is fatal for that path alone. A feed cut off or damaged is read up to the fault, with an error
whose `code` is MALFORMED (a source's answer like that is refused).
"""

from __future__ import annotations

import re
from pathlib import Path

from composer.ingest._tidy import tidy
from composer.ingest._wellformed import MALFORMED
from composer.ingest.feed import parse_feed
from composer.ingest.jsonitems import parse_json
from composer.ingest.text import parse_text
from composer.models import Ingested, Item, PastIssue, Problem
from composer.wide_text import wide_encoding

__all__ = ["MALFORMED", "load_items"]

_FORMATS = {
    ".txt": "text", ".text": "text",
    ".xml": "feed", ".rss": "feed", ".atom": "feed",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
}
# Enough to tell text from binary: a NUL byte in the first few kilobytes.
_SNIFF_BYTES = 8192


def load_items(paths: list[Path], max_file_mb: float = 20) -> Ingested:
    """Every item and past issue in `paths`, with the problems met, in a stable order."""
    items: list[Item] = []
    past_issues: list[PastIssue] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for path in paths:
        files, path_problems = _input_files(path)
        problems.extend(path_problems)
        for file in files:
            if file.resolve() in seen:
                continue
            seen.add(file.resolve())
            file_items, file_past, file_problems = _read_file(file, int(max_file_mb * 1024 * 1024))
            items.extend(file_items)
            past_issues.extend(file_past)
            problems.extend(file_problems)
    return Ingested(items=tuple(items), past_issues=tuple(past_issues), problems=tuple(problems))


def _input_files(path: Path) -> tuple[list[Path], list[Problem]]:
    if path.is_file():
        return [path], []
    if path.is_dir():
        files = sorted(
            file for file in path.rglob("*")
            if file.is_file() and file.suffix.lower() in _FORMATS
            and not any(part.startswith(".") for part in file.relative_to(path).parts)
        )
        if not files:
            # A warning: a feeds folder may be empty some week, and the other inputs still make the issue.
            known = " ".join(sorted(_FORMATS))
            return [], [Problem(level="warning", path=str(path), message=f"folder has no input files ({known})")]
        return files, []
    reason = "no such file or folder" if not path.exists() else "not a regular file or folder"
    return [], [Problem(level="error", path=str(path), message=reason)]


def _read_file(path: Path, max_bytes: int) -> tuple[list[Item], list[PastIssue], list[Problem]]:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            limit_mb = max_bytes / 1024 / 1024
            message = (f"{size / 1024 / 1024:.1f} MB is over the {limit_mb:g} MB input limit, not read "
                       "(split the file, or raise ingest.max_file_mb / WEEKLY_INGEST__MAX_FILE_MB)")
            return [], [], [Problem(level="error", path=source, message=message)]
        data = path.read_bytes()
    except OSError as err:
        return [], [], [Problem(level="error", path=source, message=f"cannot read: {err.strerror or err}")]
    if not data.strip():
        return [], [], [Problem(level="error", path=source, message="empty file")]
    try:
        data = _as_utf8(data)
    except UnicodeDecodeError as err:
        return [], [], [Problem(level="error", path=source, message=f"not valid {err.encoding}: {err.reason}")]
    if b"\x00" in data[:_SNIFF_BYTES]:
        return [], [], [Problem(level="error", path=source, message="binary file, not text: skipped")]
    kind = _FORMATS.get(path.suffix.lower()) or _sniff(data)
    if kind == "feed":
        items, problems = parse_feed(data, source)
        past: list[PastIssue] = []
    else:
        text, problems = _decode(data, source)
        del data  # the text holds it all: a large file is not kept twice while it is parsed
        if problems and _undecodable_share(text[:_SNIFF_BYTES]) > _BINARY_SHARE:
            return [], [], [Problem(level="error", path=source, message="binary file, not text: skipped")]
        if kind == "text":
            items, past, text_problems = parse_text(text, source)
        else:
            items, past, text_problems = parse_json(text, source, json_lines=kind == "jsonl")
        problems += text_problems
        if not items and not past and not text_problems:
            problems.append(Problem(level="warning", path=source, message="no articles found"))
    items, tidy_problems = tidy(items, source)
    return items, past, problems + tidy_problems


_XML_DECLARED = re.compile(rb"""^(\s*<\?xml[^>]*?encoding\s*=\s*["'])[^"']+(["'])""")


def _as_utf8(data: bytes) -> bytes:
    """`data` as UTF-8: UTF-16 and UTF-32 are decoded (a feed's XML declaration then says utf-8); UTF-8,
    with or without its mark, is returned as it is."""
    wide = wide_encoding(data)
    if wide is None:
        return data
    codec, skip = wide
    utf8 = data[skip:].decode(codec).encode("utf-8")
    return _XML_DECLARED.sub(rb"\1utf-8\2", utf8)


def _sniff(data: bytes) -> str:
    start = data.lstrip()[:1]
    if start == b"<":
        return "feed"
    if start == b"[":
        return "json"
    if start == b"{":
        first_line = data.lstrip().split(b"\n", 1)[0].strip()
        return "jsonl" if first_line.endswith(b"}") else "json"
    return "text"


# Text in a wrong encoding has a few undecodable bytes (accented letters); binary data without a NUL byte
# (compressed, encrypted, an image's body) has them everywhere: about half of random bytes are not UTF-8.
_BINARY_SHARE = 0.1
_CONTROLS = re.compile(r"[\ufffd\x01-\x08\x0e-\x1f\x7f]")


def _undecodable_share(text: str) -> float:
    """The share of `text` that is replacement or control characters."""
    return len(_CONTROLS.findall(text)) / max(len(text), 1)


def _decode(data: bytes, source: str) -> tuple[str, list[Problem]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        message = f"not valid UTF-8 (first bad byte at offset {err.start}); undecodable bytes shown as \ufffd"
        return data.decode("utf-8-sig", errors="replace"), [
            Problem(level="warning", path=source, line=line, message=message)
        ]
