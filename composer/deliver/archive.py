"""The archive index: OUTPUT_DIR/index.html links every issue built into OUTPUT_DIR/<folder>/, newest first."""

from __future__ import annotations

from pathlib import Path

from composer.atomic import write_atomic
from composer.config import BrandSettings
from composer.draft import DraftError, read_draft
from composer.render import page


def write_archive(root: Path, brand: BrandSettings) -> Path:
    """Rewrite `root`/index.html from the issue folders found there (a folder with issue.yaml and web.html)."""
    issues = []
    for draft_path in sorted(root.glob("*/issue.yaml")):
        if not (draft_path.parent / "web.html").is_file():
            continue
        try:
            issues.append({"folder": draft_path.parent.name, "draft": read_draft(draft_path)})
        except DraftError:
            continue  # a hand-broken draft must not stop the build of this week's issue
    issues.sort(key=lambda issue: (issue["draft"].number, issue["folder"]), reverse=True)
    return write_atomic(root / "index.html", page("archive.html.j2", brand=brand, issues=issues))
