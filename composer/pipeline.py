"""The whole flow, top to bottom: ingest -> curate -> summarise -> render -> write to disk.

Each step is one stage's public function; this module only wires them together, so the flow
reads here in one place and each stage stays testable alone.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from composer.config import Settings
from composer.curate import curate
from composer.deliver.files import write_issue
from composer.errors import WeeklyError
from composer.ingest import load_items
from composer.models import Draft, Problem
from composer.render import render
from composer.summarise import summarise
from pydantic import BaseModel, ConfigDict


class BuildResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    draft: Draft
    written: tuple[Path, ...]
    problems: tuple[Problem, ...]
    item_count: int


def build(paths: list[Path], out_dir: Path, settings: Settings, today: date) -> BuildResult:
    """Compose the next issue from `paths` and write it to `out_dir`."""
    ingested = load_items(paths, settings.ingest.max_file_mb)
    if not ingested.items:
        # Writing an empty issue would replace the last good one in out_dir.
        raise WeeklyError(f"no articles in {', '.join(map(str, paths))}; nothing written", ingested.problems)
    selection = curate(ingested, today, settings.issue.radar_size)
    draft = summarise(selection, settings.issue)
    rendered = render(draft, settings.brand)
    written = write_issue(rendered, out_dir)
    return BuildResult(draft=draft, written=tuple(written), problems=ingested.problems,
                       item_count=len(ingested.items))
