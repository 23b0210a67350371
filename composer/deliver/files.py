"""Write a rendered issue to disk, each file replaced atomically."""

from __future__ import annotations

from pathlib import Path

from composer.atomic import write_atomic
from composer.errors import WeeklyError
from composer.models import RenderedIssue


def write_issue(rendered: RenderedIssue, out_dir: Path) -> list[Path]:
    """Write index.html and issue.mjml into `out_dir`; returns the paths written."""
    files = {"index.html": rendered.html, "issue.mjml": rendered.mjml}
    try:
        return [write_atomic(out_dir / name, text) for name, text in files.items()]
    except OSError as err:
        raise WeeklyError(f"{out_dir}: cannot write the issue: {err.strerror or err}") from err
