"""Promotional copy: text that sells to the reader rather than reports to them.

A newsletter that reports the week must not pass on a vendor's advertising as news ("Explore our
research… Learn how…"), nor quote it in a teaser or the editorial. Three general signs give it away,
whoever the vendor is:

- a call to action: a sentence that opens by telling the reader to act ("Learn how", "Discover how",
  "Explore our research", "Download the report", "Request a demo", "Sign up", "Join our webinar");
- a vendor speaking of itself: "We're excited to announce", "we are pleased to introduce";
- marketing artefacts and puffery: a free trial, a demo, "our webinar", "our whitepaper",
  "industry-leading", "sponsored content".

Reporting reads differently ("researchers found", "users can learn how their data is used"): the cues
are imperatives at a sentence's start, first-person announcements, or artefacts that only sellers name.
An event's own announcement ("Register now for the forum") is what an event entry is: curate does not
judge event items by this. `promotional` says which sign it saw, so the editor (and the tests) can tell why.
"""

from __future__ import annotations

import re

# Where a sentence starts: the text's start, or after a sentence end, a line break, a colon or a dash.
_START = r"(?:^|(?<=[.!?…:])\s+|\n\s*|\s[–—-]\s+|(?<=[|•]) ?)"
# An imperative that opens a sentence, with the reader-facing words that must follow it.
_CALLS = (
    r"learn (?:how|more|what|why|about (?:our|the new|how))",
    r"discover (?:how|what|why|our|the (?:new|latest|power))",
    r"explore (?:our|the (?:latest|full|new)|more|\S+(?: \S+)? (?:research|report|insights|findings|solutions|resources))",
    r"find out (?:how|more|what|why)",
    r"see how",
    r"read on\b",
    r"check out (?:our|the (?:latest|new|updated|full))",
    r"download (?:the|our|your|a free|now|and read)",
    r"(?:get|grab|claim) (?:your|the|a) (?:free|copy|report|guide|ticket|seat|spot|trial|demo)",
    r"get started",
    r"request (?:a|your) (?:demo|trial|quote|consultation)",
    r"(?:book|schedule) (?:a|your) (?:demo|call|consultation|seat|spot)",
    r"save (?:your|a) (?:seat|spot)",
    r"start (?:your|a) (?:free )?trial",
    r"try (?:it|\S+(?: \S+)?) (?:for free|free|today|now)",
    r"try (?:it )?(?:for )?free",
    r"sign up (?:now|today|for (?:our|the|a free)|here)",
    r"subscribe (?:now|today|to our)",
    r"register (?:now|today|here) (?:for|to)",
    r"join (?:us|our) (?:for|at|on|webinar|live|experts)",
    r"watch (?:our|the (?:on-demand|full|webinar|replay)|now)",
    r"contact (?:us|our (?:team|sales|experts))",
    r"talk to (?:our|an?) (?:experts?|sales|specialist)",
    r"unlock (?:the|your)",
)
_CALL = re.compile(_START + r"(" + "|".join(_CALLS) + r")", re.IGNORECASE)
# A vendor announcing its own product in the first person.
_SELF = re.compile(
    r"\b(we(?:['’]re| are) (?:so |very )?(?:excited|thrilled|pleased|happy|proud|delighted) to "
    r"(?:announce|introduce|share|launch|unveil|release|welcome|bring|offer))", re.IGNORECASE)
# What only sellers name: their marketing artefacts and their puffery. Not "white paper" or "e-book"
# alone (governments publish white papers; e-book prices are news), not "sponsored by" (a senator
# sponsors a bill), not "award-winning" (an award-winning journalist is reported on).
_ARTEFACT = re.compile(
    r"(?<!\w)(free trial|(?:request|book|schedule) a demo|(?:our|free|live|on-demand) webinar|"
    r"(?:our|free|download the|download our) (?:white ?paper|e-?book|data ?sheet)|industry-leading|best-in-class|"
    r"sponsored content|partner content|for sponsoring|\[sponsor\]|limited[- ]time offer|promo code|discount code)s?(?!\w)", re.IGNORECASE)

_SIGNS = (("call to action", _CALL), ("vendor announcement", _SELF), ("marketing copy", _ARTEFACT))
_SHOWN_WORDS = 5

# The same searches, faster (a week of 10,000 items spent 1.4 s in them), with the very same matches:
# - a call to action at the text's start, or after a character that can open a sentence, which the search
#   skips to at once (_CALL tries each of its five openings at every character);
# - the other two only when the lower-cased text holds a word each of their matches holds, where
#   lower-casing folds letters as re.IGNORECASE does (not İ, ı or ſ, which re folds to i and s).
_CALL_OPENING = re.compile("(" + "|".join(_CALLS) + ")", re.IGNORECASE)
_CALL_AFTER = re.compile(r"[.!?…:\n|•–—-](?:(?<=[.!?…:])\s+|(?<=\n)\s*|(?<=\s[–—-])\s+|(?<=[|•]) ?)"
                         r"(" + "|".join(_CALLS) + ")", re.IGNORECASE)
_HINTS = {
    _SELF: ("excited", "thrilled", "pleased", "happy", "proud", "delighted"),
    _ARTEFACT: ("free trial", " a demo", "webinar", "paper", "book", "sheet", "industry-leading", "best-in-class",
                "sponsored content", "partner content", "for sponsoring", "[sponsor]", "time offer", "promo code",
                "discount code"),
}
_FOLDED_APART = re.compile("[İıſ]")


def promotional(text: str) -> str | None:
    """Why `text` reads as promotion ("call to action: 'Learn how'"), or None when it reads as reporting."""
    lowered = None if _FOLDED_APART.search(text) else text.lower()
    for sign, pattern in _SIGNS:
        match = _search(pattern, text, lowered)
        if match:
            phrase = " ".join(match.group(1).split()[:_SHOWN_WORDS])
            return f"{sign}: '{phrase}'"
    return None


def _search(pattern: re.Pattern[str], text: str, lowered: str | None) -> re.Match[str] | None:
    """`pattern.search(text)`, without the work that cannot find anything."""
    if pattern is _CALL:
        return _CALL_OPENING.match(text) or _CALL_AFTER.search(text)
    if lowered is not None and not any(hint in lowered for hint in _HINTS[pattern]):
        return None
    return pattern.search(text)
