"""`weekly check`: passes on a rendered issue, and each of its checks fails on a crafted bad one."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml
from conftest import run_weekly
from issue_fixtures import full_draft

from composer.check import Gate, check_issue
from composer.config import BrandSettings, IssueSettings, Settings
from composer.draft import write_draft
from composer.issues import IssueFolder
from composer.pipeline import render_draft

# The gate as the default settings make it.
GATE = Gate(unsubscribe_url=BrandSettings().unsubscribe_url, min_radar=IssueSettings().min_radar)

@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A folder rendered from the 12/4/4 fixture draft, with its issue.yaml."""
    folder = tmp_path_factory.mktemp("issue")
    write_draft(full_draft(), folder / "issue.yaml")
    render_draft(full_draft(), folder, Settings())
    return folder


def _broken(good, tmp_path, name: str, change) -> list[str]:
    folder = tmp_path / "issue"
    shutil.copytree(good, folder)
    path = folder / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return [str(problem) for problem in check_issue(IssueFolder(folder), GATE)]


def test_rendered_issue_passes_and_command_exits_0(good):
    """No problem on a fresh render; `weekly check` says it is ready and exits 0."""
    assert check_issue(IssueFolder(good), GATE) == []
    done = run_weekly("check", str(good))
    assert done.returncode == 0 and "ready to send" in done.stdout


PADDING = "<!-- " + "x" * 30000 + " -->"
CASES = [
    ("index.html", lambda h: h.replace("</body>", PADDING * 2 + "</body>"), "over the 100 KB budget"),
    ("index.html", lambda h: re.sub(r'alt="[^"]*"', 'alt=""', h, count=1), "has no alt text"),
    ("index.html", lambda h: h.replace('<html lang="en"', "<html", 1), "no lang attribute"),
    ("index.html", lambda h: h.replace('href="https://dig.watch/updates/radar-1"', 'href="/updates/radar-1"'),
     "'/updates/radar-1' is not an absolute link"),
    ("index.html", lambda h: h.replace('role="presentation"', "", 1), 'without role="presentation"'),
    ("index.html", lambda h: h.replace("Dear readers,", "Dear {{ name }},"), "leftover template syntax '{{'"),
    ("issue.txt", lambda t: t.replace("Dear readers,", "{% if x %}"), "issue.txt: leftover template syntax '{%'"),
    ("issue.txt", lambda t: t.replace("https://dig.watch/updates/radar-3", ""), "lacks 'https://dig.watch/updates/radar-3'"),
    ("index.html", lambda h: h.replace("min-width:480px", "min-width:9999px"), "min-width:480px media query is missing"),
    ("index.html", lambda h: h.replace("{ width:34% !important;", "{ width:34%;"), "lost its !important"),
    ("index.html", lambda h: h.replace("<body", "<mj-text>left over</mj-text><body", 1), "MJML tags left"),
    ("issue.mjml", lambda m: m.replace("</mj-body>", "<mj-section><mj-column>"), "issue.mjml: does not compile"),
    ("index.html", lambda h: h.replace("Dear readers,", "Dear readers," + "x" * 1200, 1), "cannot be broken safely"),
    ("index.html", lambda h: h.replace('href="https://dig.watch/newsletter/unsubscribe"', 'href="https://dig.watch/"'),
     "index.html: no visible unsubscribe link"),
    ("issue.txt", lambda t: t.replace("https://dig.watch/newsletter/unsubscribe", ""), "issue.txt: no unsubscribe link"),
    ("index.html", lambda h: h.replace("Teaser 5 of Radar", "", 1), "index.html: lacks 'Teaser 5 of Radar"),
    ("index.html", lambda h: h.replace("https://dig.watch/updates/radar-1", "javascript:alert(1)"),
     "index.html: a href='javascript:alert(1)' is a javascript: link"),
    ("web.html", lambda h: h.replace("https://dig.watch/updates/radar-1", "JavaScript:alert(1)"),
     "web.html: a href='JavaScript:alert(1)' is a javascript: link"),
    ("web.html", lambda h: h.replace("https://dig.watch/updates/radar-2", "data:text/html,hi"), "is a data: link"),
    ("issue.yaml", lambda y: _keep_radar(y, 5), "issue.yaml: a thin issue: 5 Radar entries, fewer than issue.min_radar"),
]


def _keep_radar(draft_yaml: str, count: int) -> str:
    draft = yaml.safe_load(draft_yaml)
    draft["sections"]["radar"] = draft["sections"]["radar"][:count]
    return yaml.safe_dump(draft, sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[2][:30] for c in CASES])
def test_each_check_fails_on_crafted_input(good, tmp_path, name, change, expected):
    """The crafted defect is reported, naming its file."""
    problems = _broken(good, tmp_path, name, change)
    assert any(expected in problem for problem in problems), problems


def test_command_prints_problems_and_exits_1(good, tmp_path):
    """Problems go to stderr one per line with the folder, then a summary; exit 1."""
    folder = tmp_path / "bad"
    shutil.copytree(good, folder)
    html = folder / "index.html"
    html.write_text(html.read_text(encoding="utf-8").replace('<html lang="en"', "<html", 1), encoding="utf-8")
    done = run_weekly("check", str(folder))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{folder}/index.html: the <html> element has no lang attribute",
        "error: 1 problem(s); fix them before sending",
    ]


def test_missing_folder_is_one_error(tmp_path):
    """Checking a folder with nothing rendered names the missing file and how to make it."""
    done = run_weekly("check", str(tmp_path))
    assert done.returncode == 1 and done.stderr.startswith(f"error: {tmp_path / 'index.html'}: missing")


def test_an_editorial_that_tells_a_deleted_story_is_a_warning(good, tmp_path):
    """An editor deletes a Radar entry the editorial tells: check warns naming it, and still passes."""
    folder = tmp_path / "edited"
    shutil.copytree(good, folder)
    draft = yaml.safe_load((folder / "issue.yaml").read_text(encoding="utf-8"))
    gone = draft["sections"]["radar"].pop(0)
    draft["editorial_items"] = {gone["item_id"]: gone["title"]}
    (folder / "issue.yaml").write_text(yaml.safe_dump(draft, sort_keys=False, allow_unicode=True), encoding="utf-8")
    done = run_weekly("check", str(folder))
    assert done.returncode == 0 and "ready to send" in done.stdout
    assert done.stderr.startswith(f"warning: {folder}/issue.yaml: the editorial tells {gone['title'][:60]!r}")
