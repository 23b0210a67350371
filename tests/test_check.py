"""`weekly check`: passes on a rendered issue, and each of its checks fails on a crafted bad one."""

from __future__ import annotations

import os
import re
import shutil

import pytest
import yaml
from conftest import IDENTITY, MAILTO, SENDER, run_weekly
from issue_fixtures import full_draft

from composer.check import Gate, check_issue
from composer.config import BrandSettings, DkimSettings, IssueSettings, Settings
from composer.draft import write_draft
from composer.issues import IssueFolder
from composer.pipeline import render_draft


@pytest.fixture(scope="module")
def gate(dkim_keys) -> Gate:
    """The gate as the default settings make it, with a real sending identity and DKIM keys."""
    return Gate(unsubscribe_url=BrandSettings().unsubscribe_url, min_radar=IssueSettings().min_radar,
                sender=SENDER, unsubscribe_mailto=MAILTO, dkim=DkimSettings(**dkim_keys.settings()))


@pytest.fixture(scope="module")
def env(dkim_keys) -> dict:
    """The environment of a deployment that set its identity and DKIM keys."""
    return {**os.environ, **IDENTITY, **dkim_keys.env()}

@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A folder rendered from the 12/4/4 fixture draft, with its issue.yaml."""
    folder = tmp_path_factory.mktemp("issue")
    write_draft(full_draft(), folder / "issue.yaml")
    render_draft(full_draft(), folder, Settings())
    return folder


def _broken(good, tmp_path, name: str, change, gate: Gate) -> list[str]:
    folder = tmp_path / "issue"
    shutil.copytree(good, folder)
    path = folder / name
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return [str(problem) for problem in check_issue(IssueFolder(folder), gate)]


def test_rendered_issue_passes_and_command_exits_0(good, gate, env):
    """No problem on a fresh render; `weekly check` says it is ready and exits 0."""
    assert check_issue(IssueFolder(good), gate) == []
    done = run_weekly("check", str(good), env=env)
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
    ("index.html", lambda h: h.replace("{ width:196px !important;", "{ width:196px;"), "lost its !important"),
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
    ("index.html", lambda h: h.replace('id="dw-radar-3"', 'id="elsewhere"'),
     "index.html: a link to #dw-radar-3, which is nowhere in the page"),
]


def _keep_radar(draft_yaml: str, count: int) -> str:
    draft = yaml.safe_load(draft_yaml)
    draft["sections"]["radar"] = draft["sections"]["radar"][:count]
    return yaml.safe_dump(draft, sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize(("name", "change", "expected"), CASES, ids=[c[2][:30] for c in CASES])
def test_each_check_fails_on_crafted_input(good, tmp_path, gate, name, change, expected):
    """The crafted defect is reported, naming its file."""
    problems = _broken(good, tmp_path, name, change, gate)
    assert any(expected in problem for problem in problems), problems


def test_command_prints_problems_and_exits_1(good, tmp_path, env):
    """Problems go to stderr one per line with the folder, then a summary; exit 1."""
    folder = tmp_path / "bad"
    shutil.copytree(good, folder)
    html = folder / "index.html"
    html.write_text(html.read_text(encoding="utf-8").replace('<html lang="en"', "<html", 1), encoding="utf-8")
    done = run_weekly("check", str(folder), env=env)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{folder}/index.html: the <html> element has no lang attribute",
        "error: 1 problem(s); fix them before sending",
    ]


def test_missing_folder_is_one_error(tmp_path):
    """Checking a folder with nothing rendered names the missing file and how to make it."""
    done = run_weekly("check", str(tmp_path))
    assert done.returncode == 1 and done.stderr.startswith(f"error: {tmp_path / 'index.html'}: missing")


def test_an_editorial_that_tells_a_deleted_story_is_a_warning(good, tmp_path, env):
    """An editor deletes a Radar entry the editorial tells: check warns naming it, and still passes."""
    folder = tmp_path / "edited"
    shutil.copytree(good, folder)
    draft = yaml.safe_load((folder / "issue.yaml").read_text(encoding="utf-8"))
    gone = draft["sections"]["radar"].pop(0)
    draft["editorial_items"] = {gone["item_id"]: gone["title"]}
    (folder / "issue.yaml").write_text(yaml.safe_dump(draft, sort_keys=False, allow_unicode=True), encoding="utf-8")
    done = run_weekly("check", str(folder), env=env)
    assert done.returncode == 0 and "ready to send" in done.stdout
    assert done.stderr.startswith(f"warning: {folder}/issue.yaml: the editorial tells {gone['title'][:60]!r}")


RESERVED = ["newsletter@example.org", "DW <news@example.com>", "news@mail.example.net", "news@dw.invalid",
            "news@dw.test", "news@localhost", "news@host.localhost", "news@dw.example", "news@printer.local"]


@pytest.mark.parametrize("address", RESERVED)
def test_a_sender_at_a_reserved_domain_fails_the_gate(good, gate, address):
    """From, Reply-To, the bounce address or the unsubscribe mailbox at a reserved domain: an error naming the
    setting."""
    for key, change in (("smtp.sender", {"sender": address}), ("smtp.reply_to", {"reply_to": address}),
                        ("list.unsubscribe_mailto", {"unsubscribe_mailto": address}),
                        ("bounces.address", {"bounce_address": address})):
        problems = [problem for problem in check_issue(IssueFolder(good), gate.model_copy(update=change))
                    if problem.level == "error"]
        assert [problem.path for problem in problems] == [key], problems
        assert "a reserved domain" in problems[0].message and "WEEKLY_" in problems[0].message


def test_the_shipped_placeholder_identity_cannot_send(good, env):
    """The defaults (example.org) fail `weekly check`, naming both settings; a real identity passes."""
    placeholder = {name: value for name, value in env.items() if name not in IDENTITY}
    done = run_weekly("check", str(good), env=placeholder)
    assert done.returncode == 1
    assert "smtp.sender: newsletter@example.org is at example.org" in done.stderr
    assert "list.unsubscribe_mailto: unsubscribe@example.org is at example.org" in done.stderr
    assert run_weekly("check", str(good), env=env).returncode == 0


@pytest.mark.parametrize("address", ["news@dig.watch", "DW Weekly <news@mail.diplomacy.edu>", "a@examples.org",
                                     "a@example.org.uk"])
def test_a_public_domain_passes(good, gate, address):
    """Real domains, including look-alikes of the reserved ones, are not refused."""
    problems = check_issue(IssueFolder(good), gate.model_copy(update={"sender": address}))
    assert [problem for problem in problems if problem.level == "error"] == []


def test_dkim_missing_unreadable_or_unaligned(good, gate, tmp_path, dkim_keys):
    """No keys: a warning; a key that cannot be read or is no key: an error naming the file; a d= domain
    that is not the sender's (or its parent): a warning that DMARC rests on SPF alone."""
    def problems(**dkim) -> list[tuple[str, str, str]]:
        found = check_issue(IssueFolder(good), gate.model_copy(update={"dkim": DkimSettings(**dkim)}))
        return [(problem.level, problem.path, problem.message) for problem in found]

    ((level, path, message),) = problems()
    assert (level, path) == ("warning", "dkim.keys") and "without a DKIM signature" in message
    missing = tmp_path / "nowhere.pem"
    ((level, path, message),) = problems(domain="dig.watch", keys=[{"selector": "s1", "key_file": missing}])
    assert (level, path) == ("error", "dkim.keys") and message.startswith(f"{missing}: cannot read the DKIM key")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    ((level, _, message),) = problems(domain="dig.watch", keys=[{"selector": "s1", "key_file": garbage}])
    assert level == "error" and message.startswith(f"{garbage}: not an RSA or Ed25519 private key")
    ((level, path, message),) = problems(domain="other.org", keys=[{"selector": "s1", "key_file": dkim_keys.rsa}])
    assert (level, path) == ("warning", "dkim.domain") and "does not align with the sender's domain dig.watch" in message
    aligned = check_issue(IssueFolder(good), gate.model_copy(update={"sender": "DW <news@mail.dig.watch>"}))
    assert aligned == []  # d=dig.watch signs for its subdomain: relaxed alignment


def test_an_entry_without_a_title_fails_the_gate(tmp_path, gate):
    """An editor empties a Radar entry's title and renders: the email would carry a link with no words (a
    screen reader reads out its URL) and a blank line in "In this issue": the gate names the entry, and the
    link, in the draft and in the HTML."""
    draft = full_draft()
    radar = list(draft.sections.radar)
    radar[1] = radar[1].model_copy(update={"title": "  "})
    draft = draft.model_copy(update={"sections": draft.sections.model_copy(update={"radar": tuple(radar)})})
    folder = tmp_path / "untitled"
    write_draft(draft, folder / "issue.yaml")
    render_draft(draft, folder, Settings())
    problems = [f"{problem.path}: {problem.message}" for problem in check_issue(IssueFolder(folder), gate)]
    assert f"{folder / 'issue.yaml'}: radar entry 2 has no title: give it one or delete the entry" in problems
    assert any(re.search(r"index\.html: a link to '[^']+' has no words", problem) for problem in problems), problems
