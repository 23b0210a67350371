"""Write a rendered issue to disk, each file replaced atomically.

DIR/index.html  the email            DIR/issue.txt  its plain-text part
DIR/web.html    the archive version  DIR/issue.mjml the MJML source, for debugging
DIR/issue.eml   a complete message (To is a placeholder), to open in a mail client or send by hand
"""

from __future__ import annotations

from pathlib import Path

from composer.atomic import write_atomic
from composer.deliver.message import build_message
from composer.errors import WeeklyError
from composer.models import RenderedIssue


def write_issue(rendered: RenderedIssue, out_dir: Path, sender: str) -> list[Path]:
    """Write the issue's files into `out_dir`; returns the paths written."""
    eml = build_message(rendered, sender).as_bytes().decode("utf-8", errors="replace")
    files = {
        "index.html": rendered.html,
        "issue.txt": rendered.text,
        "web.html": rendered.web_html,
        "issue.mjml": rendered.mjml,
        "issue.eml": eml,
    }
    try:
        return [write_atomic(out_dir / name, text) for name, text in files.items()]
    except OSError as err:
        raise WeeklyError(f"{out_dir}: cannot write the issue: {err.strerror or err}") from err
