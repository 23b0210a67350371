"""The built issues on disk: the one module that knows their file names, and how issues are numbered.

An issue's folder holds the draft it was rendered from and what render made of it:

    issue.yaml  the draft (an editor may change it)    index.html  the email
    issue.txt   the email's plain-text part             web.html    the archive (web) version
    issue.mjml  the MJML source, for debugging          issue.eml   the copy one reader gets, as sent

The archive is the output folder: one folder per issue, named by its number, and index.html listing
them newest first. `next_issue` decides the next issue's number and week from the past issues found in
the inputs and the newest issue already built, so a cron job never reuses last week's number.
"""

from __future__ import annotations

from datetime import date, timedelta
from email.parser import BytesHeaderParser
from email.policy import default
from functools import cached_property
from pathlib import Path

from composer.atomic import write_atomic
from composer.config import BrandSettings, MailSettings
from composer.draft import DraftError, read_draft, write_draft
from composer.errors import WeeklyError
from composer.models import Contract, Draft, PastEntry, PastIssue, RenderedIssue

DRAFT = "issue.yaml"
EMAIL = "index.html"
TEXT = "issue.txt"
WEB = "web.html"
MJML = "issue.mjml"
EML = "issue.eml"
ARCHIVE_INDEX = "index.html"
WEEK = timedelta(days=7)
DUE = timedelta(days=6)  # the next issue is due a week after the last one ended; a day early still counts


class IssueFolder:
    """One built issue: its draft (read once) and its rendered files (read when asked for)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"IssueFolder({str(self.path)!r})"

    @property
    def draft_path(self) -> Path:
        return self.path / DRAFT

    def has(self, name: str) -> bool:
        return (self.path / name).is_file()

    @cached_property
    def draft(self) -> Draft:
        return read_draft(self.draft_path)

    @property
    def number(self) -> int:
        return self.draft.number

    @property
    def html(self) -> str:
        """The email, as render wrote and `weekly check` checked it."""
        return self.read(EMAIL)

    @property
    def text(self) -> str:
        return self.read(TEXT)

    @property
    def web_html(self) -> str:
        return self.read(WEB)

    @property
    def mjml(self) -> str:
        return self.read(MJML)

    @property
    def subject(self) -> str:
        """The Subject render gave the issue, from its issue.eml: the one the issue was checked with."""
        subject = BytesHeaderParser(policy=default).parsebytes(self.read(EML).encode())["Subject"]
        if not subject:
            raise WeeklyError(f"{self.path / EML}: has no Subject; {self.render_command()}")
        return str(subject)

    def read(self, name: str) -> str:
        path = self.path / name
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise WeeklyError(f"{path}: missing; {self.render_command()}") from err
        except (OSError, UnicodeDecodeError) as err:
            raise WeeklyError(f"{path}: cannot read: {err}") from err

    def render_command(self) -> str:
        return f"render the issue first (`weekly render {self.draft_path} -o {self.path}`)"

    def write(self, draft: Draft, rendered: RenderedIssue, mail: MailSettings) -> list[Path]:
        """Write the draft and every rendered file, each replaced atomically; returns the paths written."""
        from composer.deliver.message import sample_message

        eml = sample_message(rendered, draft.number, mail).decode("utf-8", errors="replace")
        files = {EMAIL: rendered.html, TEXT: rendered.text, WEB: rendered.web_html, MJML: rendered.mjml, EML: eml}
        written = [write_draft(draft, self.draft_path)] if draft != self._draft_on_disk() else []
        try:
            written += [write_atomic(self.path / name, content) for name, content in files.items()]
        except OSError as err:
            raise WeeklyError(f"{self.path}: cannot write the issue: {err.strerror or err}") from err
        self.__dict__.pop("draft", None)  # the draft read before may be stale now
        return written

    def _draft_on_disk(self) -> Draft | None:
        # Rendering a draft into its own folder must not rewrite the editor's file (comments, key order).
        try:
            return read_draft(self.draft_path) if self.draft_path.is_file() else None
        except DraftError:
            return None


class IssueSlot(Contract):
    """The next issue's number and first day."""

    number: int
    week_start: date


class Archive:
    """The issues built under `root` (the output folder), each in root/NUMBER, and root/index.html."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._issues: list[IssueFolder] | None = None  # read once: numbering, coverage and ids all need them

    def issues(self) -> list[IssueFolder]:
        """Every issue folder with a readable draft, newest number first (read once, until `write`)."""
        if self._issues is None:
            self._issues = self._read_issues()
        return self._issues

    def _read_issues(self) -> list[IssueFolder]:
        found = []
        for draft_path in sorted(self.root.glob(f"*/{DRAFT}")):
            folder = IssueFolder(draft_path.parent)
            try:
                folder.draft  # noqa: B018 (read now, so a broken one is skipped here)
            except DraftError:
                continue  # a hand-broken draft must not stop the build of this week's issue
            found.append(folder)
        found.sort(key=lambda folder: (folder.number, folder.path.name), reverse=True)
        return found

    def latest(self) -> IssueFolder | None:
        issues = self.issues()
        return issues[0] if issues else None

    def folder(self, number: int) -> IssueFolder:
        return IssueFolder(self.root / str(number))

    def next_issue(self, past_issues: tuple[PastIssue, ...], today: date, number: int | None = None,
                   week_start: date | None = None, this_week: bool = False) -> IssueSlot:
        """The next issue (see `next_issue`), from the past issues in the inputs and the newest built here."""
        latest = self.latest()
        return next_issue(past_issues, latest.draft if latest else None, today, number, week_start, this_week)

    def published_items(self, before: int) -> dict[str, int]:
        """The item id of every entry of the issues built here numbered below `before`, with its issue."""
        return {entry.item_id: folder.number for folder in reversed(self.issues()) if folder.number < before
                for entry in folder.draft.sections.entries() if entry.item_id}

    def as_past_issues(self, before: int) -> tuple[PastIssue, ...]:
        """The issues built here numbered below `before`, as past issues: what they covered, so a later
        issue does not tell the same story again (their events are not carried forward)."""
        return tuple(
            PastIssue(number=folder.number, headline=folder.draft.headline, week_start=folder.draft.week_start,
                      week_end=folder.draft.week_end, editorial=folder.draft.editorial,
                      radar=tuple(PastEntry(teaser=f"{entry.title}. {entry.teaser}") for entry in
                                  (*folder.draft.sections.radar, *folder.draft.sections.reading_corner)),
                      source=str(folder.draft_path))
            for folder in self.issues() if folder.number < before)

    def write(self, draft: Draft, rendered: RenderedIssue, mail: MailSettings, brand: BrandSettings,
              folder: Path | None = None) -> list[Path]:
        """Write the issue into `folder` (default root/NUMBER); refresh the index when it is in the archive."""
        issue = IssueFolder(folder) if folder else self.folder(draft.number)
        written = issue.write(draft, rendered, mail)
        self._issues = None  # the archive changed
        if issue.path.resolve().parent == self.root.resolve():
            written.append(self.write_index(brand))
        return written

    def write_index(self, brand: BrandSettings) -> Path:
        """Rewrite root/index.html from the issue folders that have a web version."""
        from composer.render import page

        issues = [{"folder": folder.path.name, "draft": folder.draft} for folder in self.issues() if folder.has(WEB)]
        return write_atomic(self.root / ARCHIVE_INDEX, page("archive.html.j2", brand=brand, issues=issues))


def next_issue(past_issues: tuple[PastIssue, ...], latest: Draft | None, today: date, number: int | None = None,
               week_start: date | None = None, this_week: bool = False) -> IssueSlot:
    """The next issue's number and first day (pure). What the editor said (`number`, `week_start`) wins.

    For an editor (`weekly build`, `compose`): the issue after the newest past issue pasted in the inputs,
    for the week after it, as DW Weekly's numbering goes on. With none, the newest issue built here again
    while its week lasts, else the next one.
    For cron (`this_week`, `weekly run`): the newest of the past issues in the inputs and the issues built
    here decides. A built issue stays the current one until the next is due (DUE after its week ended),
    so a rerun, or a run the next day, finds the same issue (already sent) instead of a new empty one;
    after that, the next number for the week up to `today`, starting where the last one ended.
    """
    newest_past = max(past_issues, key=lambda issue: issue.number, default=None)
    if newest_past is not None and not this_week:
        slot = IssueSlot(number=newest_past.number + 1, week_start=newest_past.week_end or today - WEEK)
    elif latest is not None and (newest_past is None or latest.number > newest_past.number):
        if today < latest.week_end + (DUE if this_week else timedelta(days=1)):
            slot = IssueSlot(number=latest.number, week_start=latest.week_start)
        else:
            slot = IssueSlot(number=latest.number + 1, week_start=max(latest.week_end, today - WEEK))
    elif newest_past is not None:
        slot = IssueSlot(number=newest_past.number + 1,
                         week_start=max(newest_past.week_end or today - WEEK, today - WEEK))
    else:
        slot = IssueSlot(number=1, week_start=today - WEEK)
    return IssueSlot(number=number or slot.number, week_start=week_start or slot.week_start)
