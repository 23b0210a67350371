"""The whole flow, top to bottom: ingest -> curate -> summarise -> (draft) -> render -> files -> gate -> send.

Each step is one stage's public function; this module wires them to the settings, the files and the
store, so the flow reads here in one place and each stage stays testable alone. The draft (issue.yaml) is
the hand-off point: `compose` stops there, `render` starts there, `build` does both. Which issue to make,
and whether a draft may be replaced, is `lifecycle.decide`'s and the store's, never a guess from files:

- an issue sent in part is finished first (cron resumes it; `build` says so and stops);
- an unsent issue nobody touched is rebuilt in place (same number, same week): rebuilding is idempotent;
- a draft an editor changed is never written over (`--replace` keeps it as issue.yaml.N first);
- only a sent issue numbers the next one and makes its stories "published";
- an undated item is news of the issue it was first seen for (the store's items), never of a later one.

`gate` is `weekly check`, `send_checked` is `weekly send` behind it, `approve` is `weekly approve`, and
`run_for_cron` is `weekly run`, the whole week for cron.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from composer.config import IssueSettings, Settings, Taxonomy, load_taxonomy
from composer.curate import CurateRules, curate
from composer.draft import DraftError, read_draft, write_draft
from composer.errors import RenderError, WeeklyError
from composer.ingest import load_items
from composer.issues import DELIVERY, DRAFT, Archive, Delivery, IssueFolder
from composer.lifecycle import (
    UNSENT,
    AlreadySent,
    Asked,
    Compose,
    IssueRecord,
    IssueState,
    Keep,
    Known,
    Refused,
    Resume,
    Slot,
    Stored,
    decide,
    draft_hash,
    state_of,
)
from composer.models import Draft, Ingested, PastEntry, PastIssue, Plan, Problem, Selection, SendReport
from composer.models import RecipientState as State
from composer.render import LongWord, page, render
from composer.render.strings import editorial_words, strings_for
from composer.store import Store, open_store
from composer.summarise import Style, summarise
from composer.summarise.llm import OpenAIChat
from composer.web.feed import atom_feed
from composer.web.paths import FEED, archive_url, issue_link

if TYPE_CHECKING:  # sending is imported only by the commands that send (aiosmtplib is slow to import)
    from composer.deliver.send import SendOptions

_UNREADABLE = "unreadable"  # the hash of a draft file that cannot be read: not the machine's, so edited


class ComposeOptions(BaseModel):
    """What the editor says on the command line for this issue."""

    model_config = ConfigDict(frozen=True)

    issue_number: int | None = None
    week_start: date | None = None
    pins: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    topics: Path | None = None  # the taxonomy file, instead of config/topics.toml or the bundled one
    replace: bool = False  # write over a draft an editor changed (kept as issue.yaml.N first)


class Composed(BaseModel):
    model_config = ConfigDict(frozen=True)

    draft: Draft
    problems: tuple[Problem, ...]
    item_count: int
    undated: int = 0
    outside_week: int = 0
    notes: tuple[str, ...] = ()
    written: tuple[Path, ...] = ()
    selection: Selection | None = None  # what curate chose and why, item by item (`weekly why`)
    rebuilt: bool = False  # an unsent issue composed again in place
    kept: IssueState | None = None  # the editor's issue (edited or approved), left as it is
    backup: Path | None = None  # where --replace kept the editor's draft


def open_settings_store(settings: Settings) -> Store:
    """The store the settings name, for this list."""
    return open_store(settings.store, settings.list.id, settings.output.dir)


# ---- compose and build ------------------------------------------------------------------------------


def compose(paths: list[Path], settings: Settings, options: ComposeOptions, today: date) -> Composed:
    """The draft of the issue to make now (lifecycle.decide), written nowhere; the store learns the items."""
    ingested = _ingest(paths, settings)
    with open_settings_store(settings) as store:
        slot = _slot(_decide(store, ingested, settings, options, today, for_cron=False))
        return _compose(ingested, slot.slot, store, settings, options)


def compose_to_file(paths: list[Path], draft_path: Path, settings: Settings, options: ComposeOptions,
                    today: date) -> Composed:
    """`weekly compose`: the draft written to `draft_path`, unless that is a draft an editor changed."""
    ingested = _ingest(paths, settings)
    with open_settings_store(settings) as store:
        decision = _slot(_decide(store, ingested, settings, options, today, for_cron=False))
        composed = _compose(ingested, decision.slot, store, settings, options)
        if draft_path.name == DRAFT:  # an issue folder's own draft
            _refuse_other_issue(draft_path.parent, decision.slot.number, store, Archive(settings.output.dir))
        record = store.issues.get(decision.slot.number)
        backup = _guard_draft(draft_path, record, draft_hash(composed.draft), options.replace)
        return composed.model_copy(update={"written": (write_draft(composed.draft, draft_path),), "backup": backup,
                                           "rebuilt": decision.rebuild})


def build(paths: list[Path], out_dir: Path | None, settings: Settings, options: ComposeOptions,
          today: date) -> Composed:
    """`weekly build`: compose the issue to make now and render it into its folder (default OUTPUT_DIR/NUMBER)."""
    ingested = _ingest(paths, settings)
    with open_settings_store(settings) as store:
        decision = _slot(_decide(store, ingested, settings, options, today, for_cron=False))
        return _build(ingested, decision, out_dir, store, settings, options)


def _build(ingested: Ingested, decision: Compose, out_dir: Path | None, store: Store, settings: Settings,
           options: ComposeOptions) -> Composed:
    number = decision.slot.number
    with store.lock(f"issue:{number}", f"issue {number} is being sent or built by {{holder}}; not rebuilt"):
        composed = _compose(ingested, decision.slot, store, settings, options)
        archive = Archive(settings.output.dir)
        folder = _issue_folder(out_dir, archive, number)
        _refuse_other_issue(folder.path, number, store, archive)
        _refuse_if_delivered(folder, store)
        record = store.issues.get(number)
        backup = _guard_draft(folder.draft_path, record, draft_hash(composed.draft), options.replace)
        written = _render_into(composed.draft, folder, settings, archive)
        store.issues.composed(number, decision.slot.week_start, decision.slot.week_end, folder.path,
                              draft_hash(composed.draft), _item_ids(composed.draft))
    return composed.model_copy(update={"written": tuple(written), "rebuilt": decision.rebuild, "backup": backup,
                                       "problems": (*composed.problems, *archive.problems)})


def _issue_folder(out_dir: Path | None, archive: Archive, number: int) -> IssueFolder:
    """The folder an issue is written to: `out_dir`, or the archive's folder for it (OUTPUT_DIR/NUMBER). The
    archive's own folder is refused: its index.html is the archive's page, which the issue's would replace."""
    if out_dir is None:
        return archive.folder(number)
    if out_dir.resolve() == archive.root.resolve():
        raise WeeklyError(f"{out_dir} is the archive's folder (output.dir), whose index.html lists the issues: an "
                          f"issue goes in a folder of its own, e.g. -o {archive.root / str(number)} (or leave -o out)")
    return IssueFolder(out_dir)


def _ingest(paths: list[Path], settings: Settings) -> Ingested:
    ingested = load_items(paths, settings.ingest.max_file_mb)
    if not ingested.items:
        # An empty draft would replace the last good one.
        raise WeeklyError(f"no articles in {', '.join(map(str, paths))}; nothing written", ingested.problems)
    return ingested


def _decide(store: Store, ingested: Ingested, settings: Settings, options: ComposeOptions, today: date,
            for_cron: bool, sending: bool = False):
    asked = Asked(number=options.issue_number, week_start=options.week_start, for_cron=for_cron, sending=sending,
                  first_number=settings.issue.first_number)
    decision = decide(known_issues(store), ingested.past_issues, today, asked)
    if isinstance(decision, Keep) and options.replace:  # the editor's draft goes (kept as issue.yaml.N)
        record = decision.issue.record
        week_start = options.week_start or record.week_start
        if week_start is not None:
            return Compose(slot=Slot(number=record.number, week_start=week_start), rebuild=True)
    return decision


def _slot(decision) -> Compose:
    """The issue an editor's command composes, or WeeklyError saying why none can be."""
    match decision:
        case Compose():
            return decision
        case Refused(reason=reason):
            raise WeeklyError(reason)
        case Resume(issue=issue):
            raise WeeklyError(f"#{issue.number} was sent in part and is not finished ({issue.record.reason or 'stopped'})"
                              f"; finish it first: `weekly send {issue.record.folder} --yes` (or `weekly run --send`)")
        case Keep(issue=issue):
            raise WeeklyError(f"{_draft_of(issue)} was {issue.state} by an editor and is not sent yet; it is not "
                              f"rebuilt: render it with `weekly render {_draft_of(issue)}`, or rebuild over it with "
                              "--replace (the draft is kept as issue.yaml.N first)")
    raise AssertionError(f"no editor's command decides {decision!r}")


def _draft_of(issue: Known) -> Path:
    return (issue.record.folder or Path(f"#{issue.number}")) / "issue.yaml"


def _compose(ingested: Ingested, slot: Slot, store: Store, settings: Settings, options: ComposeOptions) -> Composed:
    """The draft of `slot`: its stories neither published by a sent issue nor undated news of an earlier one."""
    seen = store.items.see(ingested.items, slot.number)
    sent = [record for record in store.issues.all() if record.stored is Stored.SENT and record.number < slot.number]
    firsts = {item.id: seen[item.id].first_issue for item in ingested.items if item.published is None}
    stale = {item: first for item, first in firsts.items() if first is not None and first < slot.number}
    taxonomy = load_taxonomy(options.topics)
    rules = CurateRules(
        taxonomy=taxonomy,
        radar_size=settings.issue.radar_size,
        languages=settings.issue.languages,
        undated=settings.issue.undated,
        pins=options.pins,
        blocks=options.blocks,
        published=store.issues.items_of(record.number for record in sent),
        seen_before=stale,
        issue_number=slot.number,
        week_start=slot.week_start,
    )
    # Issues sent from this store count as past issues for "covered": a later week never retells their stories.
    known = ingested.model_copy(update={"past_issues": (*ingested.past_issues, *_as_past_issues(sent))})
    selection = curate(known, rules)
    draft, notes = summarise(selection, style_for(settings.issue, taxonomy), _llm(settings))
    return Composed(draft=draft, problems=ingested.problems, item_count=len(ingested.items), notes=notes,
                    undated=selection.undated, outside_week=selection.outside_week, selection=selection)


def _as_past_issues(sent: list[IssueRecord]) -> tuple[PastIssue, ...]:
    """Sent issues as past issues: what they covered (their events are not carried forward)."""
    found = []
    for record in sent:
        if record.folder is None or not (record.folder / "issue.yaml").is_file():
            continue
        try:
            draft = read_draft(record.folder / "issue.yaml")
        except DraftError:
            continue  # reported by the archive; its stories still count as published by id
        found.append(PastIssue(number=draft.number, headline=draft.headline, week_start=draft.week_start,
                               week_end=draft.week_end, editorial=draft.editorial,
                               radar=tuple(PastEntry(teaser=f"{entry.title}. {entry.teaser}") for entry in
                                           (*draft.sections.radar, *draft.sections.reading_corner)),
                               source=str(record.folder / "issue.yaml")))
    return tuple(found)


def _guard_draft(path: Path, record: IssueRecord | None, new_hash: str, replace: bool) -> Path | None:
    """May `path` be written with a new draft? Yes when missing, unchanged, or the machine's own; a draft an
    editor changed is refused, or with `replace` kept as issue.yaml.N (returned) first."""
    if not path.is_file():
        return None
    on_disk = _hash_of(path)
    if on_disk == new_hash or (record is not None and on_disk == record.machine_hash):
        return None
    if not replace:
        raise WeeklyError(f"{path} was changed by an editor (it is not the draft weekly wrote); nothing written: "
                          f"render it with `weekly render {path}`, or write over it with --replace (it is kept as "
                          f"{path.name}.N first)")
    backup = next(path.with_name(f"{path.name}.{n}") for n in range(1, 10_000)
                  if not path.with_name(f"{path.name}.{n}").exists())
    path.rename(backup)
    return backup


def _hash_of(path: Path) -> str:
    draft = _draft_or_none(path)
    return _UNREADABLE if draft is None else draft_hash(draft)


def _item_ids(draft: Draft) -> list[str]:
    return [entry.item_id for entry in draft.sections.entries() if entry.item_id]


def known_issues(store: Store) -> list[Known]:
    """Every issue of the store with the state it is in now (its draft on disk read and hashed). The week of
    an unsent issue is its draft's: the draft any render takes next (approve, run --send, a rebuild of the
    machine's own draft), not the last one rendered, which an editor may have reverted since; once the issue
    went out, the week is the store's, the one its readers got."""
    found = []
    for record in store.issues.all():
        path = record.folder / "issue.yaml" if record.folder else None
        draft = _draft_or_none(path) if path and path.is_file() else None
        current = (draft_hash(draft) if draft else _UNREADABLE) if path and path.is_file() else None
        state = state_of(record, current)
        if draft is not None and state in UNSENT:
            record = record.model_copy(update={"week_start": draft.week_start, "week_end": draft.week_end})
        found.append(Known(record=record, state=state))
    return found


def _draft_or_none(path: Path) -> Draft | None:
    try:
        return read_draft(path)
    except DraftError:
        return None


def style_for(issue: IssueSettings, taxonomy: Taxonomy) -> Style:
    """The fixed words of an issue: the catalogue of issue.language (issue.greeting, pointer and sign-off
    where set), themes and cue words from topics.toml."""
    strings = strings_for(issue)
    generic = (*(cue for basket in taxonomy.baskets.values() for cue in basket.cues),
               *(cue for cues in taxonomy.technologies.values() for cue in cues))
    return Style(words=editorial_words(issue, strings),
                 sections={"radar": strings.email.radar, "reading_corner": strings.email.reading_corner,
                           "events": strings.email.events},
                 themes={name: basket.theme for name, basket in taxonomy.baskets.items()},
                 generic=tuple(dict.fromkeys(generic)),
                 cues={**{name: basket.cues for name, basket in taxonomy.baskets.items()}, **taxonomy.technologies})


def _llm(settings: Settings) -> OpenAIChat | None:
    llm = settings.llm
    if not llm.base_url:
        return None
    key = llm.api_key.get_secret_value() if llm.api_key else None
    return OpenAIChat(llm.base_url, llm.model, key, llm.timeout_seconds)


# ---- render -------------------------------------------------------------------------------------------


class Rendered(BaseModel):
    """What `weekly render` wrote, and where --replace kept the editor's draft it wrote over."""

    written: tuple[Path, ...]
    backup: Path | None = None
    copy_of: Path | None = None  # a copy, not the issue: the issue's own folder, which approve and send use
    sent: bool = False  # the issue went out (in part): its own folder stays as readers got it


def render_file(draft_path: Path, out_dir: Path | None, settings: Settings, replace: bool = False) -> Rendered:
    """`weekly render`: the draft file an editor may have changed, rendered into `out_dir` (default
    OUTPUT_DIR/NUMBER). Rendered into the issue's own folder (_is_the_issues), the store learns which draft
    the email files now show; anywhere else it is a copy the store does not take as the issue. Another draft
    in that folder that an editor changed is never written over (with `replace` it is kept as issue.yaml.N
    first), and the folder of an issue that was sent, or is being sent, stays as its readers got it."""
    draft = read_draft(draft_path)
    archive = Archive(settings.output.dir)
    folder = _issue_folder(out_dir, archive, draft.number)
    with open_settings_store(settings) as store, \
            store.lock(f"issue:{draft.number}", f"issue {draft.number} is being sent by {{holder}}; not rendered"):
        if draft_path.name == DRAFT:  # an issue folder's own draft: its number is the folder's issue
            held = _holder(draft_path.parent, draft.number, store, archive)
            if held is not None:
                raise _stray_number(draft_path, draft.number, draft_path.parent, held, "nothing written")
        _refuse_other_issue(folder.path, draft.number, store, archive)
        record = store.issues.get(draft.number)
        delivered = record is not None and record.stored in (Stored.SENDING, Stored.SENT, Stored.STOPPED)
        sent_from = record.folder if record is not None and delivered else None
        if folder.delivery is not None or (sent_from is not None and sent_from.resolve() == folder.path.resolve()):
            stopped = record is not None and record.stored in (Stored.SENDING, Stored.STOPPED)
            rest = f"; the rest of its readers get these files too: `weekly send {folder.path} --yes`" if stopped else ""
            raise WeeklyError(f"{folder.path} holds #{draft.number} as it was sent ({record.stored if record else 'sent'}):"
                              f" its files stay as readers got them; nothing written{rest}; "
                              f"{_see_the_edit(folder, settings, draft_path)}")
        backup = None
        if folder.draft_path.resolve() != draft_path.resolve():
            backup = _guard_draft(folder.draft_path, record, draft_hash(draft), replace)
        if delivered or not _is_the_issues(folder, record, archive):
            return Rendered(written=tuple(_render_into(draft, folder, settings, archive, draft_path)), backup=backup,
                            copy_of=record.folder if record is not None else None, sent=delivered)
        return Rendered(written=tuple(_render_recorded(draft, folder, settings, archive, store, draft_path)),
                        backup=backup)


def render_draft(draft: Draft, out_dir: Path | None, settings: Settings) -> list[Path]:
    """`draft` rendered into `out_dir` (default OUTPUT_DIR/NUMBER), recorded in the store when that is the
    issue's own folder (_is_the_issues), else a copy."""
    archive = Archive(settings.output.dir)
    folder = _issue_folder(out_dir, archive, draft.number)
    with open_settings_store(settings) as store, \
            store.lock(f"issue:{draft.number}", f"issue {draft.number} is being sent by {{holder}}; not rendered"):
        _refuse_other_issue(folder.path, draft.number, store, archive)
        if not _is_the_issues(folder, store.issues.get(draft.number), archive):
            return _render_into(draft, folder, settings, archive)
        return _render_recorded(draft, folder, settings, archive, store)


def _is_the_issues(folder: IssueFolder, record: IssueRecord | None, archive: Archive) -> bool:
    """Is `folder` the issue's own, the one approve and send use: the folder it was built or first rendered
    in (the store's record), or the archive's (OUTPUT_DIR/NUMBER, where build and cron put it)? Anywhere
    else a render is a copy (an experiment, a preview of an edit): had it moved the record, approve and
    `run --send` would send whatever was rendered last, anywhere, as the issue."""
    if record is None or record.folder is None:
        return True
    where = folder.path.resolve()
    return where in (record.folder, archive.folder(record.number).path.resolve())


def _render_recorded(draft: Draft, folder: IssueFolder, settings: Settings, archive: Archive, store: Store,
                     source: Path | None = None) -> list[Path]:
    written = _render_into(draft, folder, settings, archive, source)
    store.issues.rendered(draft.number, draft.week_start, draft.week_end, folder.path, draft_hash(draft),
                          _item_ids(draft))
    return written


def _render_into(draft: Draft, folder: IssueFolder, settings: Settings, archive: Archive,
                 source: Path | None = None) -> list[Path]:
    """Render `draft` (read from `source`, default the folder's) into `folder` (the draft beside the email);
    refresh the index when it is in the archive."""
    from composer.deliver.message import sample_message

    strings = strings_for(settings.issue)
    try:
        rendered = render(draft, settings.brand, strings)
    except LongWord as err:
        raise RenderError(f"{source or folder.draft_path}: {err}") from err
    eml = sample_message(rendered, draft.number, settings.mail).decode("utf-8", errors="replace")
    written = folder.write(draft, rendered, eml)
    if archive.contains(folder):
        web_url = settings.brand.web_url
        shown = [issue.draft for issue in archive.issues() if issue.has("web.html")]
        issues = [{"link": issue_link(web_url, draft.number), "draft": draft} for draft in shown]
        index = page("archive.html.j2", strings, brand=settings.brand, issues=issues, archive_url=archive_url(web_url),
                     feed=FEED)
        written += archive.write_index(index, atom_feed(shown, settings.brand, strings))
    return written


# ---- the gate, approval and sending -------------------------------------------------------------------


def gate(issue: IssueFolder, settings: Settings, with_draft: bool = True) -> list[Problem]:
    """`weekly check`: what keeps the built issue from being sent (empty: it may go). `with_draft` False:
    the draft is not what the files show (check.check_issue)."""
    from composer.check import Gate, check_issue

    return check_issue(issue, Gate.of(settings), with_draft)


class Approved(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    folder: Path
    by: str
    rendered: tuple[Path, ...] = ()  # the files rendered again because the draft had changed since
    warnings: tuple[Problem, ...] = ()


def approve(number: int | None, settings: Settings, by: str) -> Approved:
    """`weekly approve`: the issue's draft as it is now, rendered and checked, is the one cron may send."""
    with open_settings_store(settings) as store:
        issue = _issue_to_approve(store, number)
        n = issue.number
        with store.lock(f"issue:{n}", f"issue {n} is being sent or built by {{holder}}; try again when it ends"):
            assert issue.record.folder is not None
            folder = _as_held(IssueFolder(issue.record.folder), store, settings, "not approved")
            draft = folder.draft
            current = draft_hash(draft)
            rendered: list[Path] = []
            if issue.record.rendered_hash != current or not folder.has("index.html"):
                rendered = _render_recorded(draft, folder, settings, Archive(settings.output.dir), store)
                folder = IssueFolder(folder.path)
            problems = gate(folder, settings)
            errors = _errors(problems)
            if errors:
                # Each problem names its own file or setting: the draft, a rendered file, or the settings.
                raise WeeklyError(f"#{n} fails `weekly check` ({len(errors)} problem(s), each named above); not "
                                  "approved: fix them and approve it again", tuple(errors))
            store.issues.approved(n, current, by)
    return Approved(number=n, folder=folder.path, by=by, rendered=tuple(rendered),
                    warnings=tuple(problem for problem in problems if problem.level == "warning"))


def _issue_to_approve(store: Store, number: int | None) -> Known:
    issues = known_issues(store)
    if number is None:
        unsent = [issue for issue in issues if issue.state in (IssueState.COMPOSED, IssueState.EDITED,
                                                                IssueState.APPROVED)]
        if not unsent:
            raise WeeklyError("no unsent issue to approve: build one first (`weekly build`)")
        return max(unsent, key=lambda issue: issue.number)
    issue = next((issue for issue in issues if issue.number == number), None)
    if issue is None or issue.record.folder is None:  # a mistyped number: never suggest making that issue
        there = ", ".join(f"#{known.number} ({known.state})" for known in issues if known.record.folder)
        raise WeeklyError(f"#{number} is not an issue here; " + (f"the issues are {there} (`weekly issues` shows "
                          "them)" if there else "there is none yet: `weekly build` makes the first"))
    if issue.state in (IssueState.SENT, IssueState.SENDING, IssueState.STOPPED):
        raise WeeklyError(f"#{number} was already sent ({issue.state}); there is nothing to approve")
    return issue


class IssueView(BaseModel):
    """One line of `weekly issues`."""

    model_config = ConfigDict(frozen=True)

    number: int
    week_start: date | None
    week_end: date | None
    state: IssueState
    edited: bool
    counts: dict[State, int]
    folder: Path | None
    approved_by: str | None = None
    reason: str | None = None


def overview(settings: Settings) -> list[IssueView]:
    """`weekly issues`: every issue of the list, newest first, with its state and its ledger's counts."""
    views = []
    with open_settings_store(settings) as store:
        for issue in known_issues(store):
            record, state = issue.record, issue.state
            if record.stored is Stored.SENDING and store.busy(f"issue:{record.number}"):
                state = IssueState.SENDING
            draft = record.folder / "issue.yaml" if record.folder else None
            edited = bool(draft and draft.is_file() and _hash_of(draft) != record.machine_hash)
            views.append(IssueView(number=record.number, week_start=record.week_start, week_end=record.week_end,
                                   state=state, edited=edited, counts=store.recipients.counts(record.number),
                                   folder=record.folder, approved_by=record.approved_by if state is
                                   IssueState.APPROVED else None, reason=record.reason))
    return views


class Sent(BaseModel):
    model_config = ConfigDict(frozen=True)

    report: SendReport
    overridden: tuple[Problem, ...] = ()  # the gate's problems that --force sent past


def send_checked(issue: IssueFolder, settings: Settings, options: SendOptions, confirm: Callable[[Plan], bool],
                 progress: Callable[[int, int], None], force: bool = False) -> Sent:
    """`weekly send`: the gate, then the send, under the issue's lock (held from the plan to the last
    message, so nothing rebuilds the issue while its sender waits for a yes). A failing issue is refused
    unless `force`, which is logged. A test copy (`options.test_to`) skips the gate: it is how an editor
    looks at the issue."""
    with open_settings_store(settings) as store:
        issue = _as_held(issue, store, settings, "nothing sent")
        number = issue.number
        refusal = (f"another `weekly` is sending or building issue {number} ({{holder}}); nothing was sent from "
                   f"here: follow it with `weekly status {issue.path}`")
        with store.lock(f"issue:{number}", refusal):
            record = store.issues.get(number)
            as_rendered = _edited_after_going_out(issue, record)  # the draft is not what is sent: not checked
            problems = [] if options.test_to else _errors(gate(issue, settings, with_draft=not as_rendered))
            if problems and not force:
                what = ("fix the settings it names: its files are what its first readers got and are not rendered "
                        "again" if _went_out(issue, record) else "fix it and render it again")
                raise WeeklyError(f"{issue.path} fails `weekly check` ({len(problems)} problem(s)); nothing sent: "
                                  f"{what}, or send it anyway with --force", tuple(problems))
            if problems:
                with _logged(settings.log.file) as log:
                    log.warning("sending #%s despite %s problem(s) (--force): %s", number, len(problems),
                                "; ".join(map(str, problems)))
            return Sent(report=_send(issue, store, settings, options, confirm, progress), overridden=tuple(problems))


def _send(folder: IssueFolder, store: Store, settings: Settings, options: SendOptions,
          confirm: Callable[[Plan], bool], progress: Callable[[int, int], None] = lambda done, total: None
          ) -> SendReport:
    """Send `folder` (the caller holds its lock), keeping the issue's life in the store and the folder."""
    from composer.deliver.send import send_issue

    if options.test_to or options.dry_run:
        return send_issue(folder, store, settings.mail, options, confirm, progress)
    with folder.sending():  # the folder's own lock: a sender using another store is kept out too
        return _send_held(folder, store, settings, options, confirm, progress)


def _send_held(folder: IssueFolder, store: Store, settings: Settings, options: SendOptions,
               confirm: Callable[[Plan], bool], progress: Callable[[int, int], None]) -> SendReport:
    from composer.deliver.send import send_issue

    number = folder.number
    _refuse_if_delivered(folder, store)
    current = draft_hash(folder.draft)
    record = store.issues.get(number)
    warnings: tuple[Problem, ...] = ()
    if record is None:
        store.issues.rendered(number, folder.draft.week_start, folder.draft.week_end, folder.path, current,
                              _item_ids(folder.draft))
    elif _edited_after_going_out(folder, record):
        # Its first readers got the files as rendered: the rest get the same files, never the edit.
        warnings = (Problem(level="warning", path=str(folder.draft_path), message=(
            f"changed after #{number} began to go out; the edit is not sent: the rest of its readers get it as the "
            f"first did, from {folder.path}'s rendered files; {_see_the_edit(folder, settings)}")),)
    elif record.folder == folder.path.resolve() and record.rendered_hash not in (None, current):
        raise WeeklyError(f"{folder.draft_path} changed since it was rendered; nothing sent: render it again "
                          f"(`weekly render {folder.draft_path}`) and check it")
    started: dict[str, datetime] = {}

    def confirm_and_mark(plan: Plan) -> bool:
        if not confirm(plan):
            return False
        started["at"] = datetime.now(UTC)
        store.issues.sending(number, folder.path)  # the folder that goes out is the issue's from now on
        folder.remember(Delivery(store_id=store.id, store=store.where, list_id=store.list_id, started=started["at"],
                                 state="sending"))
        return True

    report = send_issue(folder, store, settings.mail, options, confirm_and_mark, progress)
    if started:
        pending = report.counts.get(State.PENDING, 0)
        stopped = report.stopped or (f"{pending} still pending" if pending else None)
        store.issues.finished(number, stopped)
        folder.remember(Delivery(store_id=store.id, store=store.where, list_id=store.list_id, started=started["at"],
                                 state="stopped" if stopped else "sent",
                                 counts={state.value: count for state, count in report.counts.items()}))
    return report.model_copy(update={"warnings": warnings}) if warnings else report


def _went_out(folder: IssueFolder, record: IssueRecord | None) -> bool:
    """The issue in `folder` began to go out (sending, stopped or sent): its files are what readers get."""
    return (record is not None and record.stored in (Stored.SENDING, Stored.STOPPED, Stored.SENT)
            and record.folder == folder.path.resolve())


def _edited_after_going_out(folder: IssueFolder, record: IssueRecord | None) -> bool:
    """The issue in `folder` went out (in part) and its draft was changed since it was rendered."""
    return (_went_out(folder, record) and record is not None
            and record.rendered_hash not in (None, draft_hash(folder.draft)))


def _see_the_edit(folder: IssueFolder, settings: Settings, draft: Path | None = None) -> str:
    """How to see an edit that will not be sent: rendered outside the archive (its index lists issue folders)."""
    copy = settings.output.dir.parent / "edited" / folder.path.name
    return (f"to see the edit: `weekly render {draft or folder.draft_path} -o {copy}`, then "
            f"`diff {folder.path / 'issue.txt'} {copy / 'issue.txt'}`")


def _refuse_if_delivered(folder: IssueFolder, store: Store) -> None:
    """A folder whose send this store does not know (a lost, new or other store) is never sent or rebuilt."""
    delivery = folder.delivery
    if delivery is None:
        return
    record = store.issues.get(folder.number) if folder.has("issue.yaml") else None
    known = delivery.store_id == store.id and record is not None and record.stored in (
        Stored.SENDING, Stored.SENT, Stored.STOPPED)
    if not known:
        raise WeeklyError(
            f"{folder.path} was sent ({delivery.state}, from {delivery.started:%Y-%m-%d %H:%M} UTC) with the store "
            f"{delivery.store}, and this store ({store.where}) has no record of it: going on could mail its readers "
            f"twice. Use the store it was sent with (store.url), or, only if you are sure nobody got it, delete "
            f"{folder.path / DELIVERY}")


# ---- which issue a folder holds -------------------------------------------------------------------------
# The store says it (the issue built, rendered or sent there), else the archive's name for it (OUTPUT_DIR/N);
# never the draft's `number:` alone, which an editor may mistype: trusted, a typo made a new issue of the
# folder's files (render, approve) or sent them again to everyone as another issue's (send).


def held_number(folder: IssueFolder, store: Store, settings: Settings) -> int:
    """The issue `folder` holds (for reading it: `weekly status`)."""
    held = _holder(folder.path, folder.draft.number, store, Archive(settings.output.dir))
    return folder.draft.number if held is None else held


def _holder(path: Path, number: int, store: Store, archive: Archive) -> int | None:
    """The issue the folder at `path` holds when it is not #`number`; None when it holds #`number` or nothing."""
    where = path.resolve()
    claims = sorted(record.number for record in store.issues.all() if record.folder == where)
    if not claims and archive.contains(IssueFolder(path)) and path.name.isdigit():
        claims = [int(path.name)]
    return None if not claims or number in claims else claims[0]


def _as_held(folder: IssueFolder, store: Store, settings: Settings, nothing: str) -> IssueFolder:
    """`folder` as the issue it holds. A draft whose number says another issue is refused while that issue is
    unsent (put the number back); once it went out, its files go on as that issue (the edit is not sent)."""
    held = _holder(folder.path, folder.draft.number, store, Archive(settings.output.dir))
    if held is None:
        return folder
    if _went_out(folder, store.issues.get(held)):
        return IssueFolder(folder.path, number=held)
    raise _stray_number(folder.draft_path, folder.draft.number, folder.path, held, nothing)


def _stray_number(draft_path: Path, number: int, folder: Path, held: int, nothing: str) -> WeeklyError:
    return WeeklyError(f"{draft_path} says number: {number}, but {folder} holds #{held}; {nothing}: put "
                       f"`number: {held}` back in it")


def _refuse_other_issue(folder: Path, number: int, store: Store, archive: Archive) -> None:
    """#`number` is never written into a folder that holds another issue: one folder, one issue."""
    held = _holder(folder, number, store, archive)
    if held is not None:
        raise WeeklyError(f"{folder} holds #{held}, not #{number}; nothing written: #{number} goes in a folder of "
                          f"its own ({archive.folder(number).path}, where it goes without -o)")


# ---- cron ---------------------------------------------------------------------------------------------


class CronOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    composed: Composed | None = None
    folder: Path | None = None
    report: SendReport | None = None
    resumed: int | None = None  # an issue left part-way that this run finished first
    resumed_report: SendReport | None = None


def run_for_cron(paths: list[Path], settings: Settings, options: ComposeOptions, today: date, send: bool,
                 retry: SendOptions | None = None, withhold: str | None = None) -> CronOutcome:
    """`weekly run`: this week's issue, by lifecycle.decide (cron's view: the calendar decides the week).

    An issue sent in part is finished first (with `send`; without, the run says so and stops); an issue the
    editor edited or approved is kept as it is; otherwise this week's issue is built (or rebuilt in place).
    With `send` it goes out when approved (issue.approval = "required", the default) or as built ("auto"),
    after the gate; a thin issue, an unapproved one, or one sent already end the run with a WeeklyError
    saying so. A lock keeps two runs apart; each run is logged to log.file. `withhold`, the caller's reason
    not to send what this run built (the sources that carry most of the week failed), builds it and sends nothing.
    """
    from composer.deliver.send import SendOptions as Options

    # list.subscribers names a CSV file to send to; unset, the subscriber store's readers get the issue.
    sending = (retry or Options()).model_copy(update={"list_file": settings.list.subscribers})
    with _logged(settings.log.file) as log, open_settings_store(settings) as store, \
            store.lock("run", "another weekly run is in progress ({holder}); try again when it ends"):
        log.info("run started (send=%s, today=%s)", send, today)
        ingested = _ingest(paths, settings)
        decision = _decide(store, ingested, settings, options, today, for_cron=True, sending=send)
        resumed = None
        if isinstance(decision, Resume):
            resumed = _resume(decision.issue, store, settings, sending, send, log)
            if resumed.report.stopped or resumed.report.counts.get(State.PENDING):
                return CronOutcome(resumed=decision.issue.number, resumed_report=resumed.report,
                                   folder=decision.issue.record.folder)
            decision = _decide(store, ingested, settings, options, today, for_cron=True, sending=send)
            if isinstance(decision, AlreadySent) and decision.issue.number == resumed.number:
                # This week's issue was the one left part-way: finishing it was this run's send, not a second one.
                return CronOutcome(resumed=resumed.number, resumed_report=resumed.report,
                                   folder=decision.issue.record.folder)
        outcome = _this_week(decision, ingested, store, settings, options, log)
        if resumed is not None:
            outcome = outcome.model_copy(update={"resumed": resumed.number, "resumed_report": resumed.report})
        if not send:
            return outcome
        assert outcome.folder is not None and outcome.composed is not None
        if withhold and outcome.composed.kept is None:  # an issue the editor kept was not made from this fetch
            raise WeeklyError(f"#{outcome.composed.draft.number} ({outcome.folder}) was not sent: {withhold}")
        report = _send_this_week(IssueFolder(outcome.folder), outcome.composed, store, settings, sending, log)
        return outcome.model_copy(update={"report": report})


class _Resumed(BaseModel):
    number: int
    report: SendReport


def _resume(issue: Known, store: Store, settings: Settings, sending: SendOptions, send: bool,
            log: logging.Logger) -> _Resumed:
    record = issue.record
    counts = store.recipients.counts(record.number)
    if not send or record.folder is None:
        raise WeeklyError(f"#{record.number} was sent in part and is not finished ({record.reason or 'stopped'}; "
                          f"{counts[State.PENDING]} pending): finish it with `weekly run --send` before a new issue")
    log.info("resuming #%s in %s: %s still pending", record.number, record.folder, counts[State.PENDING])
    folder = IssueFolder(record.folder, number=record.number)
    with store.lock(f"issue:{record.number}", f"issue {record.number} is being sent by {{holder}}; not resumed"):
        report = _send(folder, store, settings, sending, lambda plan: True)
    for warning in report.warnings:
        log.warning("%s", warning)
    log.info("resumed #%s: sent %s now; ledger %s%s", record.number, report.sent_now, _plain(report.counts),
             f"; stopped: {report.stopped}" if report.stopped else "")
    return _Resumed(number=record.number, report=report)


def _this_week(decision, ingested: Ingested, store: Store, settings: Settings, options: ComposeOptions,
               log: logging.Logger) -> CronOutcome:
    """Build (or keep) this week's issue, or say why there is none."""
    match decision:
        case AlreadySent(issue=issue, next_due=next_due):
            counts = store.recipients.counts(issue.number)
            raise WeeklyError(f"#{issue.number} was already sent ({counts[State.SENT]} sent, {counts[State.UNKNOWN]} "
                              f"unknown, {counts[State.FAILED]} failed); the next issue is due from {_day(next_due)}")
        case Refused(reason=reason):
            raise WeeklyError(reason)
        case Keep(issue=issue):
            assert issue.record.folder is not None
            folder = _as_held(IssueFolder(issue.record.folder), store, settings, "nothing done")
            log.info("kept #%s (%s by the editor) in %s", issue.number, issue.state, folder.path)
            return CronOutcome(composed=Composed(draft=folder.draft, problems=ingested.problems,
                                                 item_count=len(ingested.items), kept=issue.state),
                               folder=folder.path)
        case Compose():
            composed = _build(ingested, decision, None, store, settings, options)
            folder = Archive(settings.output.dir).folder(decision.slot.number)
            log.info("%s #%s (%s) from %s items into %s", "rebuilt" if decision.rebuild else "built",
                     decision.slot.number, composed.draft.date_range, composed.item_count, folder.path)
            return CronOutcome(composed=composed, folder=folder.path)
    raise AssertionError(f"cron does not decide {decision!r}")


def _send_this_week(folder: IssueFolder, composed: Composed, store: Store, settings: Settings, sending: SendOptions,
                    log: logging.Logger) -> SendReport:
    folder = _as_held(folder, store, settings, "nothing sent")
    number = folder.number
    with store.lock(f"issue:{number}", f"issue {number} is being sent by {{holder}}; not sent from here"):
        record = store.issues.get(number)
        assert record is not None
        state = state_of(record, draft_hash(folder.draft))
        if settings.issue.approval == "required" and state is not IssueState.APPROVED:
            raise WeeklyError(f"#{number} is not approved ({state}); nothing sent: review {folder.draft_path}, then "
                              f"`weekly approve {number}` (or set issue.approval = \"auto\")")
        if record.rendered_hash != draft_hash(folder.draft):  # edited since rendered, and sent as built ("auto")
            _render_recorded(folder.draft, folder, settings, Archive(settings.output.dir), store)
            folder = IssueFolder(folder.path)
        problems = _errors(gate(folder, settings))
        if problems:
            thin = all(problem.code == "thin" for problem in problems)
            reason = (f"nothing new this week: #{number} has {len(folder.draft.sections.radar)} new Radar stories, "
                      f"fewer than issue.min_radar ({settings.issue.min_radar}); built in {folder.path}, not sent"
                      if thin else f"{folder.path} fails `weekly check` ({len(problems)} problem(s)); nothing sent")
            log.error("%s: %s", reason, "; ".join(map(str, problems)))
            raise WeeklyError(reason, () if thin else tuple(problems))
        report = _send(folder, store, settings, sending, lambda plan: True)
    log.info("sent #%s: %s now; ledger %s%s", number, report.sent_now, _plain(report.counts),
             f"; stopped: {report.stopped}" if report.stopped else "")
    return report


def _plain(counts: dict[State, int]) -> str:
    """Counts as a reader of the log wants them: "sent 5, failed 1"."""
    return ", ".join(f"{state.value} {count}" for state, count in counts.items() if count) or "empty"


@contextmanager
def _logged(log_file: Path) -> Iterator[logging.Logger]:
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = _LogFile(log_file, encoding="utf-8")
    except OSError as err:
        raise WeeklyError(f"{log_file}: cannot write the log: {err.strerror or err}") from err
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("weekly.run")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        yield log
    except WeeklyError as err:
        log.error("%s", err)
        raise
    finally:
        log.removeHandler(handler)
        handler.close()


class _LogFile(logging.FileHandler):
    """log.file; a record it cannot write (a full disk) stops the run with one line, not a printed traceback."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        failure = sys.exc_info()[1]
        reason = failure.strerror if isinstance(failure, OSError) and failure.strerror else failure
        raise WeeklyError(f"{self.baseFilename}: cannot write the log: {reason}")


def _errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.level == "error"]


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"

