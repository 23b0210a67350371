"""Plain-text article dumps like seeds/.

Two shapes occur, often in one file:
- a title line, then paragraphs separated by blank lines (seeds 000 and 002);
- no title and one paragraph per line, articles separated only by trailers (seed 001).

An article ends at a trailer, at the next title, or at the end of the file. A title is a short
line without sentence punctuation that opens an article: the first line after a trailer, or a
line standing alone between blank lines in the middle of an article. Any other short line in a
body is an image caption or a tag line (its parts become tags) and is dropped from the text.
A pasted DW Weekly issue ("DW Weekly #209 – …") runs to the next such header or the end of the
file and is handed to the past-issue parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from composer.ingest._lines import clean, is_short_line, is_trailer, tag_line_tags
from composer.ingest.past_issue import PAST_ISSUE_HEADER, parse_past_issue
from composer.models import Item, PastIssue, Problem, content_id

_BULLET_PREFIX = re.compile(r"^[•·*]\s*")


@dataclass
class _Line:
    number: int
    text: str
    alone: bool  # a blank line (or the file's edge) before and after it


@dataclass
class _Article:
    line: int
    title: str | None = None
    paragraphs: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def parse_text(text: str, source: str) -> tuple[list[Item], list[PastIssue], list[Problem]]:
    """The articles and past issues in one text dump, and the problems met reading it."""
    lines = _lines(text)
    header_at = [i for i, line in enumerate(lines) if PAST_ISSUE_HEADER.match(line.text)]
    article_lines = lines[: header_at[0]] if header_at else lines
    articles, problems = _articles(article_lines, source)
    items = [_to_item(article, position, source) for position, article in enumerate(articles)]
    past_issues = []
    ends = [*header_at[1:], len(lines)] if header_at else []
    for start, end in zip(header_at, ends, strict=True):
        chunk = lines[start:end]
        issue, issue_problems = parse_past_issue([line.text for line in chunk], chunk[0].number, source)
        problems.extend(issue_problems)
        if issue:
            past_issues.append(issue)
    return items, past_issues, problems


def _lines(text: str) -> list[_Line]:
    raw = [clean(line) for line in text.splitlines()]
    result = []
    for index, line in enumerate(raw):
        if not line:
            continue
        before = index == 0 or not raw[index - 1]
        after = index == len(raw) - 1 or not raw[index + 1]
        result.append(_Line(index + 1, line, before and after))
    return result


def _articles(lines: list[_Line], source: str) -> tuple[list[_Article], list[Problem]]:
    articles: list[_Article] = []
    problems: list[Problem] = []
    current: _Article | None = None

    def close() -> None:
        nonlocal current
        if current and current.paragraphs:
            articles.append(current)
        elif current:
            problems.append(
                Problem(level="warning", path=source, line=current.line, message="a title with no text, skipped")
            )
        current = None

    for index, line in enumerate(lines):
        if is_trailer(line.text):
            close()
            continue
        short = is_short_line(line.text)
        if current is None:
            current = _Article(line=line.number)
            if short:
                current.title = line.text
            else:
                current.paragraphs.append(_paragraph(line.text))
            continue
        if not short:
            current.paragraphs.append(_paragraph(line.text))
            continue
        tags = tag_line_tags(line.text)
        if tags:
            current.tags.extend(tags)
        elif line.alone and current.paragraphs and _opens_body(lines, index):
            close()
            current = _Article(line=line.number, title=line.text)
        # else: an image caption inside the body, not text
    close()
    return articles, problems


def _opens_body(lines: list[_Line], index: int) -> bool:
    """A title is followed by a sentence, not by another short line or a trailer."""
    following = lines[index + 1] if index + 1 < len(lines) else None
    return bool(following and not is_short_line(following.text) and not is_trailer(following.text))


def _paragraph(text: str) -> str:
    return _BULLET_PREFIX.sub("", text)


def _to_item(article: _Article, position: int, source: str) -> Item:
    paragraphs = tuple(article.paragraphs)
    return Item(
        id=content_id(article.title, paragraphs),
        title=article.title,
        paragraphs=paragraphs,
        tags=tuple(dict.fromkeys(article.tags)),
        source=source,
        position=position,
        line=article.line,
    )
