"""A DW Weekly issue pasted into a text dump (seed 002 holds #209).

Its shape, one element per line: the header "DW Weekly #209 – headline", image alt texts, the date
range "18 – 25 April 2025", the editorial from "Dear readers," to the sign-off, then RADAR (an
optional "Highlights from the week of …" line, then image alt and teaser pairs), READING CORNER
(the same pairs) and UPCOMING EVENTS (image alt, host site, description triples).
"""

from __future__ import annotations

import re
from datetime import date

from composer.ingest._lines import is_short_line
from composer.language import MONTH_PATTERN, MONTHS, first_date, safe_date
from composer.models import PastEntry, PastIssue, Problem

PAST_ISSUE_HEADER = re.compile(r"^DW Weekly #(\d+)\s*[–—-]\s*(.+)$")

# "18 – 25 April 2025", "25 April – 2 May 2025", "28 December 2024 – 3 January 2025"
_DATE_RANGE = re.compile(
    rf"^(\d{{1,2}})(?:\s+{MONTH_PATTERN})?(?:\s+(\d{{4}}))?\s*[–—-]\s*(\d{{1,2}})\s+{MONTH_PATTERN}\s+(\d{{4}})$", re.I
)
_GREETING = re.compile(r"^dear [\w ]+,$", re.I)
_POINTER = re.compile(r"^for the main updates and reflections", re.I)
_HIGHLIGHTS = re.compile(r"^highlights from the week of", re.I)
_SITE = re.compile(r"^(?:https?://)?(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+/?$", re.I)
_SECTIONS = {"RADAR": "radar", "READING CORNER": "reading_corner", "UPCOMING EVENTS": "events"}


def parse_past_issue(lines: list[str], first_line: int, source: str) -> tuple[PastIssue | None, list[Problem]]:
    """The past issue in `lines` (non-empty, cleaned; the first is the header), or None and why."""
    header = PAST_ISSUE_HEADER.match(lines[0])
    assert header, "the caller splits at headers"
    date_range = None
    editorial: list[str] = []
    sections: dict[str, list[PastEntry]] = {name: [] for name in _SECTIONS.values()}
    state = "head"
    alt: str | None = None
    site: str | None = None
    for line in lines[1:]:
        if line in _SECTIONS:
            state, alt, site = _SECTIONS[line], None, None
        elif state == "head":
            if _DATE_RANGE.match(line) and date_range is None:
                date_range = line
            elif _GREETING.match(line):
                state = "editorial"
            # other head lines are the logo's and hero image's alt texts
        elif state == "editorial":
            if is_short_line(line):
                state = "signed"
            elif not _POINTER.match(line):
                editorial.append(line)
        elif state == "events":
            if site is not None:
                sections["events"].append(PastEntry(teaser=line, image_alt=alt, site=site, event_date=first_date(line)))
                alt, site = None, None
            elif _SITE.match(line) and alt is not None:
                site = line
            else:
                alt = line
        elif state in ("radar", "reading_corner") and not _HIGHLIGHTS.match(line):
            if is_short_line(line):
                alt = line
            else:
                sections[state].append(PastEntry(teaser=line, image_alt=alt))
                alt = None
    problems = []
    if not (editorial or any(sections.values())):
        problems.append(
            Problem(level="warning", path=source, line=first_line,
                    message=f"DW Weekly #{header[1]} has no editorial and no entries, skipped")
        )
        return None, problems
    start, end = _parse_range(date_range)
    issue = PastIssue(
        number=int(header[1]),
        headline=header[2].strip(),
        date_range=date_range,
        week_start=start,
        week_end=end,
        editorial=tuple(editorial),
        radar=tuple(sections["radar"]),
        reading_corner=tuple(sections["reading_corner"]),
        events=tuple(sections["events"]),
        source=source,
        line=first_line,
    )
    return issue, problems


def _parse_range(text: str | None) -> tuple[date | None, date | None]:
    match = _DATE_RANGE.match(text) if text else None
    if not match:
        return None, None
    end_year, end_month = int(match[6]), MONTHS[match[5].lower()]
    start_month = MONTHS[match[2].lower()] if match[2] else end_month
    start_year = int(match[3]) if match[3] else end_year - (1 if start_month > end_month else 0)
    return safe_date(start_year, start_month, int(match[1])), safe_date(end_year, end_month, int(match[4]))


