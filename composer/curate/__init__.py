"""Curate: pick the week's items for each section of the next issue.

A first version: the issue number and week continue from the newest past issue in the inputs,
and Radar takes the first news items in input order. Dedupe, topics and ranking come next.
"""

from __future__ import annotations

from datetime import date, timedelta

from composer.models import Ingested, Selection

WEEK = timedelta(days=7)


def curate(ingested: Ingested, now: date, radar_size: int) -> Selection:
    """The selection for the issue after the newest past issue (or the week ending `now`)."""
    newest = max(ingested.past_issues, key=lambda issue: issue.number, default=None)
    number = newest.number + 1 if newest else 1
    week_start = newest.week_end if newest and newest.week_end else now - WEEK
    news = [item for item in ingested.items if item.kind == "news"]
    blogs = [item for item in ingested.items if item.kind == "blog"]
    events = [item for item in ingested.items if item.kind == "event"]
    return Selection(
        number=number,
        week_start=week_start,
        week_end=week_start + WEEK,
        radar=tuple(news[:radar_size]),
        reading_corner=tuple(blogs[:4]),
        events=tuple(events[:4]),
    )
