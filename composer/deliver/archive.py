"""The archive: the issues built into OUTPUT_DIR/<folder>/, and its index OUTPUT_DIR/index.html, newest first."""

from __future__ import annotations

from pathlib import Path

from composer.atomic import write_atomic
from composer.config import BrandSettings
from composer.draft import DraftError, read_draft
from composer.models import Draft
from composer.render import page


def built_issues(root: Path) -> list[tuple[Path, Draft]]:
    """(folder, draft) of every issue folder under `root` with a readable issue.yaml, newest number first."""
    issues = []
    for draft_path in sorted(root.glob("*/issue.yaml")):
        try:
            issues.append((draft_path.parent, read_draft(draft_path)))
        except DraftError:
            continue  # a hand-broken draft must not stop the build of this week's issue
    issues.sort(key=lambda issue: (issue[1].number, issue[0].name), reverse=True)
    return issues


def write_archive(root: Path, brand: BrandSettings) -> Path:
    """Rewrite `root`/index.html from the issue folders found there (a folder with issue.yaml and web.html)."""
    issues = [{"folder": folder.name, "draft": draft} for folder, draft in built_issues(root)
              if (folder / "web.html").is_file()]
    return write_atomic(root / "index.html", page("archive.html.j2", brand=brand, issues=issues))
