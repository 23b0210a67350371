"""Upcoming events: which items are events, when they start and where they take place.

An item is an event when its input says so (kind event, or a feed category such as "Events"), or when it
is shaped like an announcement of one: an event word (conference, summit, forum, webinar, workshop…) and
a way of saying it will happen (will take place, will be held, register, join us, "Date:") in its title or
lead, together with a date after the issue's week.

Its place comes from its text, never from its URL's host: "Venue: …", "will take place in Oslo", "held
in Geneva, Switzerland", "in Riyadh, Saudi Arabia". It is "Online" only when the event itself is online
("a webinar", "held online", "Location: Online", "virtual"), never because the text says "online
freedom"; a hybrid event is "Oslo and online".
"""

from __future__ import annotations

import re
from datetime import date

from composer.curate.dates import Mention, mentions
from composer.models import Item

_EVENT_TAGS = frozenset({"event", "events", "upcoming events", "conference", "conferences", "webinar", "webinars"})
_EVENT_WORD = re.compile(r"\b(?:conference|summit|forum|webinar|workshop|symposium|hackathon|roundtable|"
                         r"round table|meeting|session|dialogue|expo|congress|course|training|masterclass|igf)\b", re.I)
_WILL_HAPPEN = re.compile(r"\b(?:will (?:take place|be held|be hosted|gather|bring together|convene|run)|takes place|"
                          r"is (?:set|scheduled) to (?:take place|be held)|register(?:ing)?\b|registration|join us|"
                          r"save the date|date:|🗓)", re.I)
_ONLINE = re.compile(r"\b(?:webinar|online event|online session|online course|online meeting|held online|"
                     r"(?:takes?|taking) place online|will be online|(?:hosted|streamed|broadcast) online|virtual(?:ly)?|"
                     r"via zoom|on zoom|livestream(?:ed)?|location:\s*online|venue:\s*online|online only|"
                     r"online and in person|in person and online|hybrid|and online(?=[.;,)]|$))", re.I)
# A schedule block ("Date: … Time: … Location: …") is an announcement whatever the event is called.
_SCHEDULE = re.compile(r"(?:\bdate:|\btime:|\blocation:|\bvenue:|\bduration:|🗓|🕐)", re.I)
_HYBRID = re.compile(r"\b(?:hybrid|online and in person|in person and online|and online(?=[.;,)]|$))", re.I)
# A capitalised place name: Geneva, New York, São Paulo, Addis Ababa (up to four words).
_NAME = r"[A-ZÀ-Þ][\w’'-]+(?:\s+(?:de|des|du|da|do|del|di|am|upon|on|la|le)?\s*[A-ZÀ-Þ][\w’'-]+){0,3}"
_VENUE = re.compile(rf"\b(?i:venue|location|place|where)\s*:\s*({_NAME}(?:,\s*{_NAME})?)")
_HELD_IN = re.compile(rf"\b(?:take place|takes place|taking place|be held|is held|held|hosted|convene|gather|meet|"
                      rf"will run|runs)\s+(?:[\w–-]+\s+){{0,6}}?in\s+({_NAME}(?:,\s*{_NAME})?)")
_IN_CITY_COUNTRY = re.compile(rf"\bin\s+({_NAME},\s*{_NAME})")
_NOT_PLACES = frozenset({"january", "february", "march", "april", "may", "june", "july", "august", "september",
                         "october", "november", "december", "person", "the", "a", "an", "english", "french"})
_LEAD_PARAGRAPHS = 3


def is_event(item: Item, week_end: date) -> bool:
    """An event: said to be by its input, or shaped like an announcement of one with a date after the week."""
    if item.kind == "event" or any(tag.strip().lower() in _EVENT_TAGS for tag in item.tags):
        return True
    if item.kind != "news":
        return False
    head = " ".join((item.title or "", *item.paragraphs[:2]))
    shaped = (_EVENT_WORD.search(head) and _WILL_HAPPEN.search(head)) or len(_SCHEDULE.findall(head)) >= 2
    return bool(shaped and start(item, week_end))


def start(item: Item, week_end: date) -> Mention | None:
    """The event's dates: the first day-precise date in its text on or after `week_end`."""
    text = " ".join((item.title or "", *item.paragraphs))
    return next((mention for mention in mentions(text, week_end)
                 if mention.day_given and mention.start >= week_end), None)


def place(item: Item) -> str | None:
    """Where the event takes place, from its title and lead: 'Geneva, Switzerland', 'Online', 'Oslo and online'."""
    text = " ".join((item.title or "", *item.paragraphs[:_LEAD_PARAGRAPHS]))
    found = None
    for pattern in (_VENUE, _HELD_IN, _IN_CITY_COUNTRY):
        match = next((m for m in pattern.finditer(text) if _is_place(m[1])), None)
        if match:
            found = _tidy(match[1])
            break
    online = _ONLINE.search(text)
    if found and found.lower() == "online":
        return "Online"
    if found and online and _HYBRID.search(text):
        return f"{found} and online"
    if found:
        return found
    return "Online" if online else None


def _is_place(name: str) -> bool:
    return name.split(",")[0].split()[0].lower() not in _NOT_PLACES


def _tidy(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip(" .,")
