"""The whole flow, top to bottom: ingest -> curate -> summarise -> (draft) -> render -> files -> gate -> send.

Each step is one stage's public function; this module only wires them together with the settings,
so the flow reads here in one place and each stage stays testable alone. The draft (issue.yaml) is
the hand-off point: `compose` stops there, `render` starts there, `build` does both and keeps the
archive index of every issue built under the output folder. `gate` is `weekly check`, `send_checked`
is `weekly send` behind it, and `run_for_cron` is `weekly run`, the whole week for cron.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from composer.config import IssueSettings, Settings, Taxonomy, load_taxonomy
from composer.curate import CurateRules, curate
from composer.draft import read_draft, write_draft
from composer.errors import WeeklyError
from composer.ingest import load_items
from composer.issues import DUE, WEEK, Archive, IssueFolder, IssueSlot
from composer.locks import exclusive
from composer.models import Draft, Ingested, Plan, Problem, SendReport
from composer.models import RecipientState as State
from composer.render import render
from composer.summarise import Style, summarise
from composer.summarise.llm import OpenAIChat

if TYPE_CHECKING:  # sending is imported only by the commands that send (aiosmtplib is slow to import)
    from composer.deliver.send import SendOptions


class ComposeOptions(BaseModel):
    """What the editor says on the command line for this issue."""

    model_config = ConfigDict(frozen=True)

    issue_number: int | None = None
    week_start: date | None = None
    pins: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    topics: Path | None = None  # the taxonomy file, instead of config/topics.toml or the bundled one


class Composed(BaseModel):
    model_config = ConfigDict(frozen=True)

    draft: Draft
    problems: tuple[Problem, ...]
    item_count: int
    undated: int = 0
    outside_week: int = 0
    notes: tuple[str, ...] = ()
    written: tuple[Path, ...] = ()


def compose(paths: list[Path], settings: Settings, options: ComposeOptions, today: date) -> Composed:
    """Read the inputs and write nothing: the draft of the next issue, and the input problems met."""
    ingested = _ingest(paths, settings)
    archive = Archive(settings.output.dir)
    slot = archive.next_issue(ingested.past_issues, today, options.issue_number, options.week_start)
    return _compose(ingested, slot, archive, settings, options)


def _ingest(paths: list[Path], settings: Settings) -> Ingested:
    ingested = load_items(paths, settings.ingest.max_file_mb)
    if not ingested.items:
        # An empty draft would replace the last good one.
        raise WeeklyError(f"no articles in {', '.join(map(str, paths))}; nothing written", ingested.problems)
    return ingested


def _compose(ingested: Ingested, slot: IssueSlot, archive: Archive, settings: Settings,
             options: ComposeOptions) -> Composed:
    """The draft of the issue `slot` names, leaving out the stories earlier issues built here published."""
    taxonomy = load_taxonomy(options.topics)
    rules = CurateRules(
        taxonomy=taxonomy,
        radar_size=settings.issue.radar_size,
        languages=settings.issue.languages,
        undated=settings.issue.undated,
        pins=options.pins,
        blocks=options.blocks,
        published=archive.published_items(before=slot.number),
        issue_number=slot.number,
        week_start=slot.week_start,
    )
    # Issues already built here count as past issues for "covered": a later week never retells their stories.
    known = ingested.model_copy(update={"past_issues": (*ingested.past_issues,
                                                        *archive.as_past_issues(before=slot.number))})
    selection = curate(known, rules)
    draft, notes = summarise(selection, style_for(settings.issue, taxonomy), _llm(settings))
    return Composed(draft=draft, problems=ingested.problems, item_count=len(ingested.items), notes=notes,
                    undated=selection.undated, outside_week=selection.outside_week)


def style_for(issue: IssueSettings, taxonomy: Taxonomy) -> Style:
    """The fixed words of an issue: greeting, pointer and sign-off from settings, themes from topics.toml."""
    phrases = (*(cue for basket in taxonomy.baskets.values() for cue in basket.cues),
               *(cue for cues in taxonomy.technologies.values() for cue in cues))
    return Style(greeting=issue.greeting, pointer=issue.pointer, signoff=issue.signoff,
                 themes={name: basket.theme for name, basket in taxonomy.baskets.items()},
                 phrases=tuple(dict.fromkeys(phrases)),
                 cues={**{name: basket.cues for name, basket in taxonomy.baskets.items()}, **taxonomy.technologies})


def _llm(settings: Settings) -> OpenAIChat | None:
    llm = settings.llm
    if not llm.base_url:
        return None
    key = llm.api_key.get_secret_value() if llm.api_key else None
    return OpenAIChat(llm.base_url, llm.model, key, llm.timeout_seconds)


def compose_to_file(paths: list[Path], draft_path: Path, settings: Settings, options: ComposeOptions,
                    today: date) -> Composed:
    """`weekly compose`: the draft written to `draft_path`."""
    composed = compose(paths, settings, options, today)
    return composed.model_copy(update={"written": (write_draft(composed.draft, draft_path),)})


def render_to_dir(draft: Draft, out_dir: Path | None, settings: Settings) -> list[Path]:
    """The issue of `draft` written to `out_dir` (default OUTPUT_DIR/NUMBER), the draft beside it; the
    archive index OUTPUT_DIR/index.html is refreshed when the folder is in the archive."""
    archive = Archive(settings.output.dir)
    return archive.write(draft, render(draft, settings.brand), settings.smtp.sender, settings.brand, out_dir)


def render_file(draft_path: Path, out_dir: Path | None, settings: Settings) -> list[Path]:
    """`weekly render`: the draft file an editor may have changed, rendered."""
    return render_to_dir(read_draft(draft_path), out_dir, settings)


def build(paths: list[Path], out_dir: Path | None, settings: Settings, options: ComposeOptions,
          today: date) -> Composed:
    """`weekly build`: compose, then render with the draft kept beside the email (see render_to_dir)."""
    composed = compose(paths, settings, options, today)
    return composed.model_copy(update={"written": tuple(render_to_dir(composed.draft, out_dir, settings))})


def gate(issue: IssueFolder, settings: Settings) -> list[Problem]:
    """`weekly check`: what keeps the built issue from being sent (empty: it may go)."""
    from composer.check import Gate, check_issue

    return check_issue(issue, Gate(unsubscribe_url=settings.brand.unsubscribe_url,
                                   min_radar=settings.issue.min_radar, fallback_url=settings.brand.fallback_url))


def send_checked(issue: IssueFolder, settings: Settings, options: SendOptions, confirm: Callable[[Plan], bool],
                 progress: Callable[[int, int], None], force: bool = False) -> Sent:
    """`weekly send`: the gate, then the send. A failing issue is refused unless `force`, which is logged.
    A test copy to the editor (`options.test_to`) skips the gate: it is how an editor looks at the issue."""
    from composer.deliver.send import send_issue

    problems = [] if options.test_to else _errors(gate(issue, settings))
    if problems and not force:
        raise WeeklyError(f"{issue.path} fails `weekly check` ({len(problems)} problem(s)); nothing sent: fix it "
                          "and render it again, or send it anyway with --force", tuple(problems))
    if problems:
        with _logged(settings.log.file) as log:
            log.warning("sending #%s despite %s problem(s) (--force): %s", issue.number, len(problems),
                        "; ".join(map(str, problems)))
    return Sent(report=send_issue(issue, settings.mail, options, confirm, progress), overridden=tuple(problems))


class Sent(BaseModel):
    model_config = ConfigDict(frozen=True)

    report: SendReport
    overridden: tuple[Problem, ...] = ()  # the gate's problems that --force sent past


class CronOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    composed: Composed
    folder: Path
    report: SendReport | None = None


def run_for_cron(paths: list[Path], settings: Settings, options: ComposeOptions, today: date, send: bool,
                 retry: SendOptions | None = None) -> CronOutcome:
    """`weekly run`: build this week's issue and, with `send`, check it and send it to list.subscribers.

    This week's issue is the newest built here while it is current, else the next one (issues.next_issue,
    this_week). It is sent only if it passes the gate, which a thin issue (too few new stories) fails;
    otherwise, or when it already went to everybody, WeeklyError says why in one line. An issue already
    sent, even in part, is never built again over its files: a run that was stopped resumes, sending to
    those still pending. A lock keeps two runs apart; each run is logged to log.file. `retry` carries
    --retry-failed and --retry-unknown.
    """
    from composer.deliver.ledger import Ledger
    from composer.deliver.send import SendOptions as Options
    from composer.deliver.send import send_issue

    if send and not settings.list.subscribers:
        raise WeeklyError("weekly run --send needs list.subscribers: set WEEKLY_LIST__SUBSCRIBERS to the CSV file")
    lock = settings.ledger.path.parent / "weekly.lock"
    refusal = f"another weekly run is in progress (pid {{pid}}, lock {lock}); try again when it ends"
    with exclusive(lock, refusal), _logged(settings.log.file) as log:
        log.info("run started (send=%s, today=%s)", send, today)
        ingested = _ingest(paths, settings)
        archive = Archive(settings.output.dir)
        slot = archive.next_issue(ingested.past_issues, today, options.issue_number, options.week_start,
                                  this_week=True)
        with Ledger.at(settings.ledger) as ledger:
            counts = ledger.counts(str(slot.number))
        built = archive.folder(slot.number)
        retrying = bool(retry and (retry.retry_failed or retry.retry_unknown))
        if counts[State.SENT] + counts[State.UNKNOWN]:
            # Sent (maybe in part) already: never built again over what readers got; only the rest goes out.
            if not (send and (counts[State.PENDING] or retrying)):
                reason = (f"#{slot.number} was already sent ({counts[State.SENT]} sent, {counts[State.UNKNOWN]} "
                          f"unknown, {counts[State.FAILED]} failed); the next issue is due from "
                          f"{_day(slot.week_start + WEEK + DUE)}")
                raise WeeklyError(reason)  # _logged writes it to the log too
            composed = Composed(draft=built.draft, problems=ingested.problems, item_count=len(ingested.items))
            log.info("resuming #%s in %s: %s still pending", slot.number, built.path, counts[State.PENDING])
        else:
            composed = _compose(ingested, slot, archive, settings, options)
            composed = composed.model_copy(update={"written": tuple(render_to_dir(composed.draft, None, settings))})
            log.info("built #%s (%s) from %s items into %s", slot.number, composed.draft.date_range,
                     composed.item_count, built.path)
        if not send:
            return CronOutcome(composed=composed, folder=built.path)
        problems = _errors(gate(built, settings))
        if problems:
            thin = all("a thin issue" in problem.message for problem in problems)
            reason = (f"nothing new this week: #{slot.number} has {len(composed.draft.sections.radar)} new Radar "
                      f"stories, fewer than issue.min_radar ({settings.issue.min_radar}); built in {built.path}, "
                      "not sent" if thin else
                      f"{built.path} fails `weekly check` ({len(problems)} problem(s)); nothing sent")
            log.error("%s: %s", reason, "; ".join(map(str, problems)))
            raise WeeklyError(reason, () if thin else tuple(problems))
        options_ = (retry or Options()).model_copy(update={"list_file": settings.list.subscribers})
        report = send_issue(built, settings.mail, options_, lambda plan: True)
        log.info("sent %s now; ledger %s%s", report.sent_now, dict(report.counts),
                 f"; stopped: {report.stopped}" if report.stopped else "")
        return CronOutcome(composed=composed, folder=built.path, report=report)


@contextmanager
def _logged(log_file: Path):
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8")
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


def _errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.level == "error"]


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"
