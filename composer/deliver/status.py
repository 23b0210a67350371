"""What a permanent failure says about an address: one rule for a live SMTP reply and for a DSN.

An enhanced status code (RFC 3463: class.subject.detail) says why delivery failed. Only a failure that says
the mailbox itself is gone suppresses the address for later issues; a full mailbox or a route that failed
for days counts as a soft bounce; anything else (a spam or policy rejection, 5.7.x; a fault at the
receiver, 5.2.0, 5.3.x; a protocol problem, 5.5.x) failed this copy and says nothing about the address.
A reply without an enhanced code (a plain "550 rejected") says nothing about the address either.
"""

from __future__ import annotations

import re
from enum import StrEnum

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# X.1.0 other address status (often "user unknown"), 1 no such mailbox, 2 no such system, 3 bad syntax,
# 6 moved, 10 null MX; X.2.1 mailbox disabled. (X.1.7 and X.1.8 are about *our* sender address.)
_GONE = {(1, 0), (1, 1), (1, 2), (1, 3), (1, 6), (1, 10), (2, 1)}
# X.2.2 mailbox full; X.4.x routing and delivery time expired: may come right.
_SOFT_SUBJECTS = {4}
_SOFT = {(2, 2)}


class Verdict(StrEnum):
    GONE = "hard bounce"  # suppress now
    SOFT = "soft bounce"  # count once per issue; `bounces.soft_limit` issues suppress
    COPY_ONLY = "not about the address"  # this copy failed; the address stays


def enhanced_status(text: str) -> str | None:
    """The first enhanced status code in `text` ("5.1.1"), or None."""
    found = _ENHANCED.search(text)
    return found.group(0) if found else None


def verdict(status: str | None) -> Verdict:
    """What a failure with this enhanced status means for the address (4.x.x: SOFT, a transient failure)."""
    if not status:
        return Verdict.COPY_ONLY
    found = _ENHANCED.fullmatch(status.strip())
    if not found:
        return Verdict.COPY_ONLY
    kind, subject, detail = int(found[1]), int(found[2]), int(found[3])
    if kind == 4:
        return Verdict.SOFT
    if kind != 5:
        return Verdict.COPY_ONLY
    if (subject, detail) in _GONE:
        return Verdict.GONE
    if (subject, detail) in _SOFT or subject in _SOFT_SUBJECTS:
        return Verdict.SOFT
    return Verdict.COPY_ONLY


def reply_status(reply: str) -> str | None:
    """The enhanced status a live SMTP reply starts with ("550 5.1.1 No such user" -> "5.1.1"), or None."""
    words = reply.split(maxsplit=2)
    return words[1] if len(words) > 1 and _ENHANCED.fullmatch(words[1]) else None
