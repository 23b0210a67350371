"""The dates a story names, as news and event pages write them: "23 June 2025", "23–27 June 2025",
"June 23, 2025", "June 23-27", "12 February", "in February".

A date without a year takes the year that puts it nearest the issue's week (a May week's "February" is
this year's, a January week's "December" last year's), which is how a reader resolves it. A bare month
("in February") names the whole month; it says when a story happened, never when an event starts.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import NamedTuple

from composer.language import MONTHS, Caseless, folded, safe_date, word_start

_MONTHS = ["jan(?:uary)?", "feb(?:ruary)?", "mar(?:ch)?", "apr(?:il)?", "may", "june?", "july?", "aug(?:ust)?",
           "sep(?:t(?:ember)?)?", "oct(?:ober)?", "nov(?:ember)?", "dec(?:ember)?"]
_MONTH = "(" + "|".join(_MONTHS) + r")\.?"
_DASH = r"\s*(?:-|–|—|to|until|and)\s*"
_YEAR = r"(?:,?\s+(\d{4}))?"
_DAYS = rf"(?:st|nd|rd|th)?(?:{_DASH}(\d{{1,2}})(?:st|nd|rd|th)?)?"
_PREPOSITIONS = ["in", "since", "during", "last", "early", "mid", "late", "of", "from"]
# Each pattern as written, and as searched (language.Caseless): opening with a digit or a letter, so that
# the search skips at once to where a date can start; "\b" becomes a look back after that character.
# 23 June 2025, 23–27 June 2025, 23 June – 1 July 2025
_DAY_FIRST = Caseless(rf"\b(\d{{1,2}}){_DAYS}\s+(?:of\s+)?{_MONTH}{_YEAR}\b",
                      rf"(\d(?<!\w\d)\d?){_DAYS}\s+(?:of\s+)?{_MONTH}{_YEAR}\b")
# June 23, 2025, June 23–27, 2025
_MONTH_FIRST = Caseless(rf"\b{_MONTH}\s+(\d{{1,2}}){_DAYS}{_YEAR}\b",
                        rf"({word_start(_MONTHS)})\.?\s+(\d{{1,2}}){_DAYS}{_YEAR}\b")
# in February, last March, since April 2024
_BARE_MONTH = Caseless(rf"\b(?:in|since|during|last|early|mid|late|of|from)\s+{_MONTH}{_YEAR}\b",
                       rf"{word_start(_PREPOSITIONS)}\s+{_MONTH}{_YEAR}\b")


class Mention(NamedTuple):
    start: date
    end: date
    day_given: bool  # False for a bare month


def mentions(text: str, around: date) -> list[Mention]:
    """Every date `text` names, in order of appearance, years resolved around `around`."""
    found: list[tuple[int, Mention]] = []
    taken: list[range] = []
    lowered = folded(text)
    for pattern, order in ((_DAY_FIRST, "dmy"), (_MONTH_FIRST, "mdy"), (_BARE_MONTH, "my")):
        for match in pattern.finditer(text, lowered):
            if any(match.start() in span or match.end() - 1 in span for span in taken):
                continue
            mention = _mention(match, order, around)
            if mention:
                found.append((match.start(), mention))
                taken.append(range(match.start(), match.end()))
    return [mention for _, mention in sorted(found)]


def _mention(match: re.Match, order: str, around: date) -> Mention | None:
    if order == "my":
        month, year = _month(match[1]), match[2]
        start = _resolve(year, month, 1, around)
        if start is None:
            return None
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return Mention(start, end, False)
    if order == "dmy":
        first, last, month, year = match[1], match[2], _month(match[3]), match[4]
    else:
        month, first, last, year = _month(match[1]), match[2], match[3], match[4]
    start = _resolve(year, month, int(first), around)
    if start is None:
        return None
    end = (safe_date(start.year, start.month, int(last)) if last else None) or start
    return Mention(start, max(start, end), True)


def _month(name: str) -> int:
    prefix = name.lower()[:3]
    return next(number for month, number in MONTHS.items() if month.startswith(prefix))


def _resolve(year: str | None, month: int, day: int, around: date) -> date | None:
    if year:
        return safe_date(int(year), month, day)
    candidates = [d for d in (safe_date(around.year + offset, month, day) for offset in (-1, 0, 1)) if d]
    return min(candidates, key=lambda d: abs((d - around).days)) if candidates else None

