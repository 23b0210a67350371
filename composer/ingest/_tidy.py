"""Characters that must never reach an email: control characters, lone surrogates, non-characters, and
line breaks inside a title (a title is one line, in the draft's YAML and in the Subject header)."""

from __future__ import annotations

import re

from composer.models import Item, Problem, content_id

_INVISIBLE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def tidy(items: list[Item], source: str) -> tuple[list[Item], list[Problem]]:
    """The items with those characters replaced by a space or removed; one warning per file saying how
    many, and an error for an item left without text."""
    tidied, problems, changed = [], [], 0
    for item in items:
        fixed = _fix(item)
        if fixed is item:
            tidied.append(item)
            continue
        changed += 1
        if fixed.paragraphs:
            tidied.append(fixed)
        else:
            problems.append(Problem(level="error", path=source, line=item.line,
                                    message=f"item {item.position + 1}: no text left once control characters go"))
    if changed:
        problems.insert(0, Problem(level="warning", path=source, message=f"{changed} item(s) held control or "
                                   "invalid characters (removed: they cannot go into an email)"))
    return tidied, problems


def _fix(item: Item) -> Item:
    title = _one_line(item.title) if item.title else item.title
    paragraphs = tuple(text for text in map(_one_line, item.paragraphs) if text)
    tags = tuple(tag for tag in map(_one_line, item.tags) if tag)
    alt = _one_line(item.image_alt) if item.image_alt else item.image_alt
    if (title, paragraphs, tags, alt) == (item.title, item.paragraphs, item.tags, item.image_alt):
        return item
    identity = {"id": content_id(title, paragraphs)} if paragraphs else {}
    return item.model_copy(update={"title": title or None, "paragraphs": paragraphs, "tags": tags,
                                   "image_alt": alt or None, **identity})


def _one_line(text: str) -> str:
    # Line breaks are spaces to str.split(), so they become single spaces here too. Most texts come already
    # on one line, single-spaced and clean (ingest's own clean-up): one search says so, and they stay as they are.
    if _UNTIDY.search(text) is None and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(_INVISIBLE.sub("", text).split())


# An invisible character, or one str.split() splits at (str.isspace(), \s) but a plain space: one class,
# so that one scan finds either.
_UNTIDY = re.compile(_INVISIBLE.pattern[:-1] + "\t-\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
