"""The built issues on disk: the one module that knows their file names.

An issue's folder holds the draft it was rendered from and what render made of it:

    issue.yaml  the draft (an editor may change it)    index.html  the email
    issue.txt   the email's plain-text part             web.html    the archive (web) version
    issue.mjml  the MJML source, for debugging          issue.eml   a complete message, as a reader gets it
    delivery.json  once a send began: which store recorded it, and how far it got
    .sending.lock  held (flock) while a send runs, whatever store it uses

The archive is the output folder: one folder per issue, named by its number, index.html listing
them newest first and feed.xml, their Atom feed. An issue's life (composed, approved, sent …) is the store's (composer.lifecycle);
delivery.json is the folder's own memory of a send, so a lost or different store cannot send it again.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default
from functools import cached_property
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict, ValidationError

from composer import holders
from composer.atomic import write_atomic
from composer.draft import DraftError, read_draft, write_draft
from composer.errors import WeeklyError
from composer.models import Draft, Problem, RenderedIssue

DRAFT = "issue.yaml"
EMAIL = "index.html"
TEXT = "issue.txt"
WEB = "web.html"
MJML = "issue.mjml"
EML = "issue.eml"
DELIVERY = "delivery.json"
SENDING = ".sending.lock"
ARCHIVE_INDEX = "index.html"
ARCHIVE_FEED = "feed.xml"


class Delivery(BaseModel):
    """What a folder remembers of its send, whatever happens to the store."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    store_id: str
    store: str  # where the store was (a path, or a URL without its password)
    list_id: str
    started: datetime
    state: str  # sending, sent, stopped
    counts: dict[str, int] = {}


class IssueFolder:
    """One built issue: its draft (read once) and its rendered files (read when asked for). `number`, when
    given, is the issue the folder holds by the store's record, whatever its draft now says (an issue that
    went out: the number in its draft may have been edited since, its files were not)."""

    def __init__(self, path: Path, number: int | None = None) -> None:
        self.path = path
        self._number = number

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
        return self.draft.number if self._number is None else self._number

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

    def write(self, draft: Draft, rendered: RenderedIssue, eml: str) -> list[Path]:
        """Write the draft and every rendered file, each replaced atomically; returns the paths written.
        The draft is rewritten only when what it says changed: an editor's comments and key order stay."""
        files = {EMAIL: rendered.html, TEXT: rendered.text, WEB: rendered.web_html, MJML: rendered.mjml, EML: eml}
        written = [write_draft(draft, self.draft_path)] if draft != self._draft_on_disk() else []
        try:
            written += [write_atomic(self.path / name, content) for name, content in files.items()]
        except OSError as err:
            raise WeeklyError(f"{self.path}: cannot write the issue: {err.strerror or err}") from err
        self.__dict__.pop("draft", None)  # the draft read before may be stale now
        return written

    def _draft_on_disk(self) -> Draft | None:
        try:
            return read_draft(self.draft_path) if self.draft_path.is_file() else None
        except DraftError:
            return None

    @property
    def delivery(self) -> Delivery | None:
        """What the folder remembers of a send, or None if none began (an unreadable file counts as one)."""
        path = self.path / DELIVERY
        if not path.is_file():
            return None
        try:
            return Delivery.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValidationError) as err:
            raise WeeklyError(f"{path}: cannot read what this folder remembers of its send ({err}); it may have "
                              "been sent: check, and delete the file only if it was not") from err

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Hold the folder's send lock (an flock of SENDING in it, released however the process ends), so
        two senders of one folder exclude each other even with two stores (another working folder, another
        store.url), where the store's own lock cannot see the other; WeeklyError naming the holder."""
        path = self.path / SENDING
        try:
            handle = path.open("a+", encoding="utf-8")
        except OSError as err:
            raise WeeklyError(f"{path}: cannot take the folder's send lock: {err.strerror or err}") from err
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = holders.name_of(lambda: _reread(handle))
                raise WeeklyError(f"{self.path} is being sent by {holder}; nothing was sent from here") from None
            handle.truncate(0)
            handle.write(holders.this_process())
            handle.flush()
            yield

    def remember(self, delivery: Delivery) -> None:
        try:
            write_atomic(self.path / DELIVERY, json.dumps(delivery.model_dump(mode="json"), indent=2) + "\n")
        except OSError as err:
            raise WeeklyError(f"{self.path / DELIVERY}: cannot record the send: {err.strerror or err}") from err


def _reread(handle: TextIO) -> str:
    handle.seek(0)
    return handle.read().strip()


class Archive:
    """The issues built under `root` (the output folder), each in root/NUMBER, and root/index.html."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []  # drafts found but not readable: reported, never silently dropped
        self._issues: list[IssueFolder] | None = None

    def issues(self) -> list[IssueFolder]:
        """Every issue folder with a readable draft, newest number first (read once, until `write_index`)."""
        if self._issues is None:
            self._issues = self._read_issues()
        return self._issues

    def _read_issues(self) -> list[IssueFolder]:
        found, self.problems = [], []
        for draft_path in sorted(self.root.glob(f"*/{DRAFT}")):
            folder = IssueFolder(draft_path.parent)
            try:
                folder.draft  # noqa: B018 (read now, so a broken one is reported here)
            except DraftError as err:
                self.problems.append(Problem(level="warning", path=str(draft_path),
                                             message=f"not in the archive: {str(err).split(': ', 1)[-1]}"))
                continue
            found.append(folder)
        found.sort(key=lambda folder: (folder.number, folder.path.name), reverse=True)
        return found

    def latest(self) -> IssueFolder | None:
        issues = self.issues()
        return issues[0] if issues else None

    def folder(self, number: int) -> IssueFolder:
        return IssueFolder(self.root / str(number))

    def contains(self, folder: IssueFolder) -> bool:
        return folder.path.resolve().parent == self.root.resolve()

    def write_index(self, page: str, feed: str) -> list[Path]:
        """Write root/index.html and root/feed.xml (rendered from `issues()`)."""
        self._issues = None
        return [write_atomic(self.root / ARCHIVE_INDEX, page), write_atomic(self.root / ARCHIVE_FEED, feed)]
