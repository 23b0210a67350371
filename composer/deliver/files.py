"""Write a rendered issue to disk, each file replaced atomically so a crash never leaves half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from composer.errors import WeeklyError
from composer.models import RenderedIssue


def write_issue(rendered: RenderedIssue, out_dir: Path) -> list[Path]:
    """Write index.html and issue.mjml into `out_dir`; returns the paths written."""
    files = {"index.html": rendered.html, "issue.mjml": rendered.mjml}
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return [_write_atomic(out_dir / name, text) for name, text in files.items()]
    except OSError as err:
        raise WeeklyError(f"{out_dir}: cannot write the issue: {err.strerror or err}") from err


def _write_atomic(path: Path, text: str) -> Path:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; the issue is meant to be read and served
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path
