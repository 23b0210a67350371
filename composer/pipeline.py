"""The whole flow, top to bottom: ingest -> curate -> summarise -> (draft) -> render -> files.

Each step is one stage's public function; this module only wires them together with the settings,
so the flow reads here in one place and each stage stays testable alone. The draft (issue.yaml) is
the hand-off point: `compose` stops there, `render` starts there, `build` does both and keeps the
archive index of every issue built under the output folder.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from composer.config import IssueSettings, Settings, Taxonomy, load_taxonomy
from composer.curate import CurateRules, curate
from composer.draft import read_draft, write_draft
from composer.errors import WeeklyError
from composer.ingest import load_items
from composer.issues import Archive
from composer.locks import exclusive
from composer.models import Draft, Problem, SendReport
from composer.render import render
from composer.summarise import Style, summarise
from composer.summarise.llm import OpenAIChat


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
    notes: tuple[str, ...] = ()
    written: tuple[Path, ...] = ()


def compose(paths: list[Path], settings: Settings, options: ComposeOptions, today: date) -> Composed:
    """Read the inputs and write nothing: the draft of the next issue, and the input problems met."""
    ingested = load_items(paths, settings.ingest.max_file_mb)
    if not ingested.items:
        # An empty draft would replace the last good one.
        raise WeeklyError(f"no articles in {', '.join(map(str, paths))}; nothing written", ingested.problems)
    slot = Archive(settings.output.dir).next_issue(ingested.past_issues, today, options.issue_number,
                                                   options.week_start)
    taxonomy = load_taxonomy(options.topics)
    rules = CurateRules(
        taxonomy=taxonomy,
        radar_size=settings.issue.radar_size,
        pins=options.pins,
        blocks=options.blocks,
        issue_number=slot.number,
        week_start=slot.week_start,
    )
    selection = curate(ingested, rules)
    draft, notes = summarise(selection, style_for(settings.issue, taxonomy), _llm(settings))
    return Composed(draft=draft, problems=ingested.problems, item_count=len(ingested.items), notes=notes)


def style_for(issue: IssueSettings, taxonomy: Taxonomy) -> Style:
    """The fixed words of an issue: greeting, pointer and sign-off from settings, themes from topics.toml."""
    return Style(greeting=issue.greeting, pointer=issue.pointer, signoff=issue.signoff,
                 themes={name: basket.theme for name, basket in taxonomy.baskets.items()})


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


class CronOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    composed: Composed
    folder: Path
    report: SendReport | None = None


def run_for_cron(paths: list[Path], settings: Settings, options: ComposeOptions, today: date,
                 send: bool) -> CronOutcome:
    """`weekly run`: build this week's issue and, with `send`, check and send it to list.subscribers.

    Idempotent: the same week builds the same issue, and the ledger sends nobody twice. A lock file next
    to the ledger keeps two runs apart; the run is logged to log.file.
    """
    if send and not settings.list.subscribers:
        raise WeeklyError("weekly run --send needs list.subscribers: set WEEKLY_LIST__SUBSCRIBERS to the CSV file")
    lock = settings.ledger.path.parent / "weekly.lock"
    refusal = f"another weekly run is in progress (pid {{pid}}, lock {lock}); try again when it ends"
    with exclusive(lock, refusal), _logged(settings.log.file) as log:
        log.info("run started (send=%s)", send)
        composed = build(paths, None, settings, options, today)
        built = Archive(settings.output.dir).folder(composed.draft.number)
        folder = built.path
        log.info("built #%s (%s) from %s items into %s", composed.draft.number, composed.draft.date_range,
                 composed.item_count, folder)
        if not send:
            return CronOutcome(composed=composed, folder=folder)
        from composer.check import check_issue
        from composer.deliver.send import SendOptions, send_issue

        problems = check_issue(built)
        if problems:
            log.error("check failed, nothing sent: %s", "; ".join(map(str, problems)))
            raise WeeklyError(f"{folder} failed `weekly check` ({problems[0]}…); nothing sent")
        report = send_issue(built, settings.mail, SendOptions(list_file=settings.list.subscribers), lambda plan: True)
        log.info("sent %s now; ledger %s%s", report.sent_now, report.counts,
                 f"; stopped: {report.stopped}" if report.stopped else "")
        return CronOutcome(composed=composed, folder=folder, report=report)


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
