"""An issue's life, from draft to sent, and the decisions made from it (pure: no file, no store).

Stored in the store (store.issues), one record per issue of a list:

    composed --approve--> approved --send--> sending --> sent
        ^                    |                  \\-----> stopped (paused, interrupted, people left pending)
        '-- rebuilt while ---'                               \\--resume--> sending ...
            nobody touched it

What a user sees (`weekly issues`, `IssueState`) adds what the files say: a draft that differs from the
one the machine wrote is *edited*, and an approval is worth only the draft it approved (edited after it,
the issue is edited again, not approved). A record left `sending` by a killed process is *stopped*.

`decide` is what `weekly build`, `compose` and `run` do about the week: finish an issue left part-way,
keep an issue the editor touched, rebuild an untouched one in place (same number, so rebuilding an unsent
week is idempotent; for cron, once the next issue is due, for the current week), or compose the next. Only a sent issue numbers the next one.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from composer.models import Draft, PastIssue

WEEK = timedelta(days=7)
DUE = timedelta(days=6)  # the next issue is due a week after the last one ended; a day early still counts


class Stored(StrEnum):
    COMPOSED = "composed"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    STOPPED = "stopped"


class IssueState(StrEnum):
    COMPOSED = "composed"
    EDITED = "edited"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"
    STOPPED = "stopped"


UNSENT = (IssueState.COMPOSED, IssueState.EDITED, IssueState.APPROVED)
PART_SENT = (IssueState.SENDING, IssueState.STOPPED)


class IssueRecord(BaseModel):
    """One issue of the list, as the store keeps it."""

    model_config = ConfigDict(frozen=True)

    number: int
    stored: Stored
    week_start: date | None = None
    week_end: date | None = None
    folder: Path | None = None
    machine_hash: str | None = None
    rendered_hash: str | None = None
    approved_hash: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    composed_at: datetime | None = None
    sent_at: datetime | None = None
    reason: str | None = None


def draft_hash(draft: Draft) -> str:
    """What the draft says, hashed: comments and key order in the file do not count as edits."""
    canonical = json.dumps(draft.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def state_of(record: IssueRecord, current_hash: str | None, being_sent: bool = False) -> IssueState:
    """The state a user sees, from the stored one and the hash of the draft on disk now (None: no draft)."""
    if record.stored is Stored.SENDING:
        return IssueState.SENDING if being_sent else IssueState.STOPPED
    if record.stored in (Stored.SENT, Stored.STOPPED):
        return IssueState(record.stored.value)
    if record.stored is Stored.APPROVED and current_hash == record.approved_hash:
        return IssueState.APPROVED
    if record.stored is Stored.APPROVED or (current_hash is not None and current_hash != record.machine_hash):
        return IssueState.EDITED
    return IssueState.COMPOSED


class Known(BaseModel):
    """An issue record and the state it is in now."""

    model_config = ConfigDict(frozen=True)

    record: IssueRecord
    state: IssueState

    @property
    def number(self) -> int:
        return self.record.number


class Slot(BaseModel):
    """An issue to compose: its number and its week (seven days from week_start)."""

    model_config = ConfigDict(frozen=True)

    number: int
    week_start: date

    @property
    def week_end(self) -> date:
        return self.week_start + WEEK


# What to do about the week: each a typed outcome, decided on types, never on message text.
class Compose(BaseModel):
    """Compose `slot`: a new issue, or an untouched unsent one again (`rebuild`: same number)."""

    model_config = ConfigDict(frozen=True)

    slot: Slot
    rebuild: bool = False


class Keep(BaseModel):
    """The unsent issue the editor edited or approved: never rebuilt over."""

    model_config = ConfigDict(frozen=True)

    issue: Known


class Resume(BaseModel):
    """An issue sent in part: finish it before anything else."""

    model_config = ConfigDict(frozen=True)

    issue: Known


class AlreadySent(BaseModel):
    """This week's issue went out; the next is due from `next_due`."""

    model_config = ConfigDict(frozen=True)

    issue: Known
    next_due: date


class Refused(BaseModel):
    """Nothing can be composed: `reason` says why and what to do."""

    model_config = ConfigDict(frozen=True)

    reason: str


Decision = Compose | Keep | Resume | AlreadySent | Refused


class Asked(BaseModel):
    """What the user said about the issue (all optional) and how `weekly` runs."""

    model_config = ConfigDict(frozen=True)

    number: int | None = None
    week_start: date | None = None
    for_cron: bool = False  # `weekly run`: this week's issue, by the calendar
    sending: bool = False  # `weekly run --send`: an issue sent this week ends the run (a draft may go ahead)
    first_number: int | None = None  # issue.first_number: the first issue when nothing came before


def decide(issues: list[Known], past_issues: tuple[PastIssue, ...], today: date, asked: Asked) -> Decision:
    """What to do about this week's issue (see the module's docstring)."""
    by_number = {issue.number: issue for issue in issues}
    if asked.number is not None:
        return _asked_for(by_number.get(asked.number), asked, past_issues, today)
    part_sent = [issue for issue in issues if issue.state in PART_SENT]
    if part_sent:
        return Resume(issue=max(part_sent, key=lambda issue: issue.number))
    sent = [issue for issue in issues if issue.state is IssueState.SENT]
    newest_sent = max(sent, key=lambda issue: issue.number, default=None)
    newest_past = max(past_issues, key=lambda issue: issue.number, default=None)
    floor = max(newest_sent.number if newest_sent else 0, newest_past.number if newest_past else 0)
    # Issues go out in order, after the newest one sent or pasted: an unsent record at or below it (a stray
    # `--issue 99`) is not this week's, and of those above it the editor's goes first, then the lowest number
    # (a stray #211 beside #210 waits its turn; it never takes #210's week).
    unsent = [issue for issue in issues if issue.state in UNSENT and issue.number > floor]
    if unsent:
        open_issue = min(unsent, key=lambda issue: (issue.state is IssueState.COMPOSED, issue.number))
        if open_issue.state is not IssueState.COMPOSED:
            return Keep(issue=open_issue)
        week_start = open_issue.record.week_start or _week_after(newest_sent, newest_past, today, asked.for_cron)
        if asked.for_cron and today >= week_start + WEEK + DUE:
            # The next issue is due and this one never went out: its week is old news, and holding to it
            # would have cron rebuild the same (thin) past week every Friday. README: "Nothing new this week".
            week_start = _week_after(newest_sent, newest_past, today, for_cron=True)
        return Compose(slot=Slot(number=open_issue.number, week_start=asked.week_start or week_start), rebuild=True)
    if (asked.sending and newest_sent is not None and newest_sent.record.week_end is not None
            and (newest_past is None or newest_sent.number >= newest_past.number)
            and today < newest_sent.record.week_end + DUE):
        return AlreadySent(issue=newest_sent, next_due=newest_sent.record.week_end + DUE)
    number = floor
    if number == 0:
        if asked.first_number is None:
            return Refused(reason="no past issue to number this one from (none in the inputs, none sent from this "
                                  "store): paste the last issue into the inputs, set issue.first_number "
                                  "(WEEKLY_ISSUE__FIRST_NUMBER), or give --issue N")
        number = asked.first_number - 1
    week_start = asked.week_start or _week_after(newest_sent, newest_past, today, asked.for_cron)
    return Compose(slot=Slot(number=number + 1, week_start=week_start))


def _asked_for(issue: Known | None, asked: Asked, past_issues: tuple[PastIssue, ...], today: date) -> Decision:
    """The editor named the issue (--issue N): compose it unless it went out, or keep what she touched."""
    assert asked.number is not None
    if issue is not None and issue.state in (IssueState.SENT, *PART_SENT):
        return Refused(reason=f"#{asked.number} was already sent ({issue.state}); choose another number")
    if issue is not None and issue.state is not IssueState.COMPOSED:
        return Keep(issue=issue)
    newest_past = max(past_issues, key=lambda past: past.number, default=None)
    week_start = asked.week_start or (issue.record.week_start if issue else None) \
        or _week_after(None, newest_past, today, asked.for_cron)
    return Compose(slot=Slot(number=asked.number, week_start=week_start), rebuild=issue is not None)


def _week_after(sent: Known | None, past: PastIssue | None, today: date, for_cron: bool) -> date:
    """The first day of the next issue's week: where the newest issue before it ended (for cron, no earlier
    than a week ago), else the week up to today."""
    ends = [end for end in (sent.record.week_end if sent else None, past.week_end if past else None) if end]
    start = max(ends) if ends else today - WEEK
    return max(start, today - WEEK) if for_cron else start
