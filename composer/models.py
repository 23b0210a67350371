"""The contracts between stages.

inputs --ingest--> Ingested(items, past_issues) --curate--> Selection --summarise--> Draft
--render--> RenderedIssue --(issues.IssueFolder on disk)--> deliver --> SendReport

Models are frozen: a stage returns new values and never edits what it was given.
The ones read from outside (Item and PastIssue in JSON input, Draft from YAML) forbid
unknown keys, so a misspelt key is refused with its name instead of silently ignored.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

ItemKind = Literal["news", "blog", "event"]


class Contract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Item(Contract):
    """One article, blog post or event, as read from an input."""

    id: str = Field(description="Stable id: a hash of the normalised title and paragraphs.")
    title: str | None = Field(None, description="None when the source has no title (seed 001).")
    paragraphs: tuple[str, ...] = Field(min_length=1)
    kind: ItemKind = "news"
    url: str | None = None
    published: datetime | None = None
    tags: tuple[str, ...] = ()
    image_url: str | None = None
    image_alt: str | None = None
    source: str = Field(description="The file the item was read from.")
    position: int = Field(0, ge=0, description="0-based index of the item within its file.")
    line: int | None = Field(None, ge=1, description="Line of the file where the item starts.")
    truncated: bool = Field(False, description="The source cut the text short (an excerpt, a '…').")


class PastEntry(Contract):
    """One entry of a section of a past newsletter."""

    teaser: str
    image_alt: str | None = None
    site: str | None = Field(None, description="Host site shown with an event, e.g. dig.watch.")
    event_date: date | None = Field(None, description="The first date in an event's description.")


class PastIssue(Contract):
    """A DW Weekly issue pasted into the inputs: context for the next issue, never news."""

    kind: Literal["past_issue"] = "past_issue"
    number: int = Field(ge=1)
    headline: str
    date_range: str | None = None
    week_start: date | None = None
    week_end: date | None = None
    editorial: tuple[str, ...] = ()
    radar: tuple[PastEntry, ...] = ()
    reading_corner: tuple[PastEntry, ...] = ()
    events: tuple[PastEntry, ...] = ()
    source: str
    line: int | None = Field(None, ge=1)


class Problem(Contract):
    """Something wrong with one input file, list row or rendered file; the rest is still read or checked."""

    level: Literal["error", "warning"]
    path: str
    message: str
    line: int | None = None
    code: str | None = Field(None, description="What kind of problem, for code that decides on it (e.g. 'thin').")

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class Ingested(Contract):
    """What ingest read: the week's items, the past issues found, and what went wrong."""

    items: tuple[Item, ...] = ()
    past_issues: tuple[PastIssue, ...] = ()
    problems: tuple[Problem, ...] = ()


class Pick(Contract):
    """One story chosen for the issue: its richest version and what curate learnt about it."""

    item: Item
    topic: str = Field(description="The Digital Watch basket, e.g. Cybersecurity.")
    technologies: tuple[str, ...] = ()
    sources: int = Field(1, ge=1, description="How many inputs told this story.")
    when: date | None = Field(None, description="An event's date.")
    where: str | None = Field(None, description="An event's place, from its text: 'Geneva, Switzerland', 'Online'.")


# Why an item is not in the issue, in the order the draft lists them: first the stories on the beat that
# were not chosen, so the editor sees them, then the ones set aside for what they are.
LeftOutGroup = Literal["below", "covered", "duplicate", "blocked", "promotional", "off_topic", "language", "undated",
                       "outside_week", "published", "other"]
LEFT_OUT_GROUPS: tuple[LeftOutGroup, ...] = get_args(LeftOutGroup)


class LeftOut(Contract):
    """A story the curator did not take, and why: for the editor to pull back with --pin."""

    item_id: str
    title: str
    reason: str
    group: LeftOutGroup = Field("other", description="The kind of reason: the draft's list is grouped by it.")


class Explanation(Contract):
    """Why an item is where it is (`weekly why`): its outcome and, for a story on the beat, its score's parts."""

    item_id: str
    title: str
    outcome: str
    parts: dict[str, float] = Field(default_factory=dict, description="The score's weighted parts and total.")
    signs: tuple[str, ...] = ()
    basket: str | None = None
    basket_hits: dict[str, int] = Field(default_factory=dict)
    technologies: tuple[str, ...] = ()
    digital_cues: tuple[str, ...] = ()
    policy_cues: tuple[str, ...] = ()
    relevance: int | None = None


class Selection(Contract):
    """The stories picked for each section of the next issue, most important first."""

    number: int = Field(ge=1)
    week_start: date
    week_end: date
    radar: tuple[Pick, ...] = ()
    reading_corner: tuple[Pick, ...] = ()
    events: tuple[Pick, ...] = ()
    undated: int = Field(0, description="Items with no date, counted as the week's.")
    outside_week: int = Field(0, description="Dated items outside the week, left out.")
    left_out: tuple[LeftOut, ...] = Field((), description="Every item not in the issue, grouped by why.")
    explanations: tuple[Explanation, ...] = Field((), description="Every item's outcome and score parts.")


class Entry(Contract):
    """One entry of a section of the draft."""

    title: str
    teaser: str
    url: str | None = None
    image: str | None = None
    image_alt: str | None = None
    topic: str | None = None
    item_id: str | None = None
    when: str | None = None
    where: str | None = None


class Sections(Contract):
    radar: tuple[Entry, ...] = ()
    reading_corner: tuple[Entry, ...] = ()
    events: tuple[Entry, ...] = ()

    def entries(self) -> tuple[Entry, ...]:
        """Every entry of the issue, section by section."""
        return (*self.radar, *self.reading_corner, *self.events)


DRAFT_VERSION = 1
MAX_ISSUE_NUMBER = 999_999  # an issue number is a few digits; more is a slip of the keyboard


class Draft(Contract):
    """The issue as an editor sees and may correct it (issue.yaml)."""

    version: int = Field(DRAFT_VERSION, ge=1, le=DRAFT_VERSION, description="The draft file's format "
                         "(a file without it is version 1).")
    number: int = Field(ge=1, le=MAX_ISSUE_NUMBER)
    headline: str
    week_start: date
    week_end: date
    date_range: str
    preheader: str
    greeting: str
    editorial: tuple[str, ...] = ()
    signoff: str
    sections: Sections = Sections()
    hero_image: str | None = Field(None, description="An absolute image URL shown under the header.")
    hero_alt: str | None = None
    editorial_items: dict[str, str] = Field(default_factory=dict,
                                            description="item_id: title of each story the editorial tells.")
    left_out: tuple[LeftOut, ...] = Field((), description="Stories not taken, and why (pull one back with --pin).")
    notes: tuple[str, ...] = Field((), description="Where an LLM answer was not used, and why.")

    @field_validator("headline", "preheader")
    @classmethod
    def _one_line(cls, text: str) -> str:
        """The subject line and the preheader are one line: U+2028, U+0085 and the like would break a header."""
        breaking = next((char for char in text if len(f"a{char}b".splitlines()) > 1), None)
        if breaking is not None:
            raise ValueError(f"holds a line break (U+{ord(breaking):04X}); keep it on one line")
        return text


class RenderedIssue(Contract):
    """The email as it leaves the renderer, and its archive (web) version."""

    subject: str
    mjml: str
    html: str = Field(description="The email: compiled, CSS inlined, media queries kept.")
    text: str = Field(description="The plain-text part: the whole newsletter, readable alone.")
    web_html: str = Field(description="The archive version, without the per-subscriber links.")


class Subscriber(BaseModel):
    """One reader of the list: the address mail goes to, and the name to greet (may be empty)."""

    model_config = ConfigDict(frozen=True)

    email: str
    name: str = ""


class SubscriberStatus(StrEnum):
    """A reader in the subscriber store. Only `subscribed` readers get issues; a suppression (an
    unsubscribe link, a bounce, a complaint) shows as the status it stands for."""

    UNCONFIRMED = "unconfirmed"  # signed up, confirmation link not clicked yet
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class RecipientState(StrEnum):
    """A recipient's row in the send ledger.

    pending -> sending -> sent | failed (with the server's reply) | unknown; skipped for a suppressed
    address. `sending` is committed just before DATA, so a killed run leaves it, and the next run turns
    it into `unknown`: the message may have arrived, so it is never resent automatically.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


class Plan(BaseModel):
    """What a send is about to do, for the user to confirm."""

    model_config = ConfigDict(frozen=True)

    issue: str
    subject: str
    server: str
    to_send: int
    already: dict[RecipientState, int]
    invalid: int
    adds: dict[RecipientState, int] = {}  # rows the send would add to the ledger (pending, skipped): a dry run's


class SendReport(BaseModel):
    """What a send did: the ledger's counts after it, and why it stopped early, if it did."""

    model_config = ConfigDict(frozen=True)

    plan: Plan | None = None
    sent_now: int = 0
    counts: dict[RecipientState, int] = {}
    recovered_unknown: int = 0
    invalid_rows: tuple[Problem, ...] = ()
    stopped: str | None = None
    interrupted: bool = False  # stopped by Ctrl-C or SIGTERM
    cancelled: bool = False
    warnings: tuple[Problem, ...] = ()  # what was sent is not what the user may think (an edit made too late)


def content_id(title: str | None, paragraphs: tuple[str, ...] | list[str]) -> str:
    """A stable id from the normalised content, so the same story read twice gets one id."""
    text = "\n".join([title or "", *paragraphs])
    normalised = " ".join(text.split()).casefold()  # runs of whitespace (\s, what str.split() splits at) as one space
    return hashlib.sha256(normalised.encode()).hexdigest()[:16]
