"""An issue's life over weeks and people (issue states, the editor's edits, approval, cron), each against
the real `weekly` command, a real SMTP server in the test and the real store."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shlex
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import yaml
from conftest import IDENTITY, KEY, ROOT, SEEDS, run_weekly, write_list
from smtp_server import Server, free_port


def _env(tmp_path: Path, server: Server | None = None, port: int | None = None, **extra: str) -> dict:
    env = {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_OUTPUT__DIR": str(tmp_path / "out"),
           "WEEKLY_LOG__FILE": str(tmp_path / "state" / "weekly.log"),
           "WEEKLY_LIST__SUBSCRIBERS": str(write_list(tmp_path / "list.csv", 3)),
           "WEEKLY_SMTP__HOST": "127.0.0.1", "WEEKLY_SMTP__PORT": str(server.port if server else port or 1),
           "WEEKLY_SMTP__SECURITY": "none", "WEEKLY_SMTP__RETRY_BASE_SECONDS": "0.01",
           "WEEKLY_SMTP__CONNECT_TIMEOUT_SECONDS": "1", "WEEKLY_SMTP__OUTAGE_ERRORS": "2", **extra}
    return env


def _edit(draft: Path, **changes) -> None:
    """What an editor does in her text editor: change keys of issue.yaml, or a teaser (`teaser=(n, text)`)."""
    data = yaml.safe_load(draft.read_text(encoding="utf-8"))
    if "teaser" in changes:
        number, text = changes.pop("teaser")
        data["sections"]["radar"][number]["teaser"] = text
    data.update(changes)
    draft.write_text("# edited by Ana\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _issues(env: dict) -> list[list[str]]:
    done = run_weekly("issues", env=env)
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.stdout.splitlines()[1:]]


def test_each_state_from_composed_to_sent(tmp_path):
    """composed -> edited -> approved (by whom) -> edited again after approval (no longer approved) ->
    approved -> sent, with the counts; `weekly issues` shows each."""
    with Server() as server:
        env = _env(tmp_path, server)
        assert run_weekly("build", str(SEEDS), env=env).returncode == 0
        assert _issues(env)[0][7:9] == ["composed", "no"]
        draft = tmp_path / "out" / "210" / "issue.yaml"
        _edit(draft, headline="Courts and clouds: the week in digital policy")
        assert _issues(env)[0][7:9] == ["edited", "yes"]
        approved = run_weekly("approve", "210", "--by", "Ana", env=env)
        assert approved.returncode == 0 and "#210 approved by Ana" in approved.stdout, approved.stderr
        assert _issues(env)[0][7:] == ["approved", "yes", "-", "(by", "Ana)"]
        _edit(draft, teaser=(0, "A teaser the editor changed after she approved the issue, by a few words."))
        assert _issues(env)[0][7] == "edited", "an edit after approval must withdraw it"
        refused = run_weekly("run", "--send", str(SEEDS), env=env)
        assert refused.returncode == 1 and "#210 is not approved (edited)" in refused.stderr
        assert server.recorder.messages == []
        assert run_weekly("approve", "--by", "Ana", env=env).returncode == 0  # the newest unsent issue
        sent = run_weekly("run", "--send", str(SEEDS), env=env)
        assert sent.returncode == 0, sent.stderr
    assert _issues(env)[0][7:] == ["sent", "yes", "sent", "3"]
    subjects = {message["Subject"] for message in server.recorder.parsed("reader0@example.org")}
    assert subjects == {"DW Weekly #210 – Courts and clouds: the week in digital policy"}
    text = server.recorder.parsed("reader0@example.org")[0].get_body(("plain",)).get_content()
    assert "changed after she approved" in " ".join(text.split())


def test_a_copy_rendered_elsewhere_is_never_the_issue_approved_and_sent(tmp_path):
    """A draft rendered into another folder (`render scratch.yaml -o scratch`, after the editor's render of
    out/210) is a copy: approve names out/210, and `run --send` sends the editor's draft there, not the copy."""
    with Server() as server:
        env = _env(tmp_path, server)
        assert run_weekly("build", str(SEEDS), env=env).returncode == 0
        draft = tmp_path / "out" / "210" / "issue.yaml"
        _edit(draft, headline="Edited headline")
        assert run_weekly("render", str(draft), env=env).returncode == 0
        scratch = tmp_path / "scratch.yaml"
        scratch.write_bytes(draft.read_bytes())
        _edit(scratch, headline="SCRATCH experiment")
        copy = run_weekly("render", str(scratch), "-o", str(tmp_path / "scratch"), env=env)
        assert copy.returncode == 0 and f"not the issue: approve and send use the issue's folder, {draft.parent}" \
            in copy.stderr, copy.stderr
        approved = run_weekly("approve", "210", env=env)
        assert approved.returncode == 0 and f"sends {draft.parent} as it is now" in approved.stdout, approved.stdout
        sent = run_weekly("run", "--send", str(SEEDS), env=env)
        assert sent.returncode == 0, sent.stderr
    subjects = {message["Subject"] for message in server.recorder.parsed("reader0@example.org")}
    assert subjects == {"DW Weekly #210 – Edited headline"}


def test_a_copy_sent_by_hand_is_the_issues_folder_from_then_on(tmp_path):
    """`weekly send scratch --yes` of a copy: the folder readers got is the sent issue's (render refuses it),
    and out/210, which nobody got, renders as a copy."""
    with Server() as server:
        env = _env(tmp_path, server, WEEKLY_ISSUE__APPROVAL="auto")
        assert run_weekly("build", str(SEEDS), env=env).returncode == 0
        draft = tmp_path / "out" / "210" / "issue.yaml"
        scratch = tmp_path / "scratch"
        assert run_weekly("render", str(draft), "-o", str(scratch), env=env).returncode == 0
        sent = run_weekly("send", str(scratch), "--yes", env=env)
        assert sent.returncode == 0, sent.stderr
    refused = run_weekly("render", str(scratch / "issue.yaml"), "-o", str(scratch), env=env)
    assert refused.returncode == 1 and f"{scratch} holds #210 as it was sent" in refused.stderr, refused.stderr
    copy = run_weekly("render", str(draft), env=env)
    assert copy.returncode == 0 and "was sent: this copy is not it" in copy.stderr, copy.stderr


def test_an_editors_draft_is_never_written_over(tmp_path):
    """build, build --issue N, compose and run refuse (or keep) an edited draft; --replace keeps it as
    issue.yaml.1 and writes the machine's draft."""
    env = _env(tmp_path)
    assert run_weekly("build", str(SEEDS), env=env).returncode == 0
    draft = tmp_path / "out" / "210" / "issue.yaml"
    _edit(draft, teaser=(1, "The editor's own teaser, which no rebuild may take away from her, ever."))
    edited = draft.read_bytes()
    for command in (["build", str(SEEDS)], ["build", str(SEEDS), "--issue", "210"],
                    ["compose", str(SEEDS), "-o", str(draft)]):
        refused = run_weekly(*command, env=env)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, (command, refused.stderr)
        assert str(draft) in refused.stderr and "--replace" in refused.stderr
        assert draft.read_bytes() == edited
    kept = run_weekly("run", str(SEEDS), env=env)
    assert kept.returncode == 0 and "kept as the editor left it (edited)" in kept.stdout, kept.stderr
    assert draft.read_bytes() == edited
    replaced = run_weekly("build", str(SEEDS), "--replace", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert (draft.parent / "issue.yaml.1").read_bytes() == edited
    assert "The editor's own teaser" not in draft.read_text(encoding="utf-8")
    assert f"the editor's draft was kept as {draft.parent / 'issue.yaml.1'}" in replaced.stderr


def test_render_of_another_draft_never_writes_over_the_editors(tmp_path):
    """`weekly render` of a draft written elsewhere (compose's out/issue.yaml) into the issue's folder, where
    the editor changed the draft, is refused and writes nothing; --replace keeps hers as issue.yaml.1 first;
    rendering her own draft in place is what render is for."""
    env = _env(tmp_path)
    assert run_weekly("build", str(SEEDS), env=env).returncode == 0
    draft = tmp_path / "out" / "210" / "issue.yaml"
    other = tmp_path / "out" / "issue.yaml"
    other.write_bytes(draft.read_bytes())
    _edit(draft, headline="The editor's headline")
    edited, page = draft.read_bytes(), (draft.parent / "index.html").read_bytes()
    refused = run_weekly("render", str(other), env=env)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert str(draft) in refused.stderr and "--replace" in refused.stderr
    assert draft.read_bytes() == edited and (draft.parent / "index.html").read_bytes() == page
    assert _issues(env)[0][7:9] == ["edited", "yes"]
    in_place = run_weekly("render", str(draft), env=env)
    assert in_place.returncode == 0, in_place.stderr
    assert "The editor's headline" in (draft.parent / "index.html").read_text(encoding="utf-8")
    replaced = run_weekly("render", str(other), "--replace", env=env)
    assert replaced.returncode == 0, replaced.stderr
    assert (draft.parent / "issue.yaml.1").read_bytes() == edited
    assert draft.read_bytes() == other.read_bytes()


def test_the_archive_folder_is_no_issue_folder(tmp_path):
    """`-o out/` (the archive's own folder, whose index.html lists the issues) is refused by build and render
    in one line, before anything is written; the issue's own folder is named in the error."""
    env = _env(tmp_path)
    assert run_weekly("build", str(SEEDS), env=env).returncode == 0
    out = tmp_path / "out"
    index = (out / "index.html").read_bytes()
    for command in (["build", str(SEEDS), "-o", f"{out}/"], ["render", str(out / "210" / "issue.yaml"), "-o", str(out)]):
        refused = run_weekly(*command, env=env)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, (command, refused.stderr)
        assert str(out / "210") in refused.stderr
    assert (out / "index.html").read_bytes() == index and not (out / "issue.yaml").exists()


def test_a_sent_issue_is_never_rendered_again_in_its_folder(tmp_path):
    """After the send, the issue's folder stays as its readers got it: render refuses it in one line; a copy
    rendered elsewhere leaves the store's record of the sent issue (state, folder, its stories) as it was."""
    with Server() as server:
        env = _env(tmp_path, server, WEEKLY_ISSUE__APPROVAL="auto")
        assert run_weekly("run", "--send", str(SEEDS), env=env).returncode == 0
    folder = tmp_path / "out" / "210"
    changed = tmp_path / "changed.yaml"
    changed.write_bytes((folder / "issue.yaml").read_bytes())
    _edit(changed, headline="Changed after the send")
    before = {name: (folder / name).read_bytes() for name in ("issue.yaml", "index.html", "web.html")}
    issues_before = _issues(env)
    refused = run_weekly("render", str(changed), env=env)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "as it was sent" in refused.stderr
    refused_in_place = run_weekly("render", str(folder / "issue.yaml"), env=env)
    assert refused_in_place.returncode == 1, refused_in_place.stderr
    assert {name: (folder / name).read_bytes() for name in before} == before
    elsewhere = run_weekly("render", str(changed), "-o", str(tmp_path / "preview"), env=env)
    assert elsewhere.returncode == 0 and "not it" in elsewhere.stderr, elsewhere.stderr
    assert "Changed after the send" in (tmp_path / "preview" / "index.html").read_text(encoding="utf-8")
    assert _issues(env) == issues_before
    next_week = run_weekly("build", str(SEEDS), "--today", "2025-05-09", env=env)
    assert next_week.returncode == 0 and "#211" in next_week.stdout, (next_week.stdout, next_week.stderr)


def test_a_stray_number_never_makes_another_issue_nor_takes_this_weeks(tmp_path):
    """The folder out/210 holds #210: a draft there saying `number: 211` is refused by render, approve and
    send, in one line naming both numbers, and makes no #211; #212 is never built into it. `approve 99` (no
    such issue) lists the issues there are. Records built by hand (#99 below the pasted #209, #211 above
    #210) never take this week's place: cron rebuilds #210, then sends the editor's #210. Once sent, the
    folder is still #210's whatever its draft says."""
    with Server() as server:
        env = _env(tmp_path, server)
        friday = ["--today", FRIDAYS[0].isoformat()]
        assert run_weekly("build", str(SEEDS), env=env).returncode == 0
        for number in ("99", "211"):
            assert run_weekly("build", str(SEEDS), "--issue", number, env=env).returncode == 0
        rebuilt = run_weekly("run", str(SEEDS), *friday, env=env)
        assert rebuilt.returncode == 0 and "DW Weekly #210 (25 April – 2 May 2025) rebuilt in place" in rebuilt.stdout
        draft = tmp_path / "out" / "210" / "issue.yaml"
        machine = draft.read_bytes()
        _edit(draft, number=212)
        for command in (["render", str(draft)], ["approve", "210"], ["send", str(draft.parent), "--yes"]):
            refused = run_weekly(*command, env=env)
            assert refused.returncode == 1 and refused.stderr.count("\n") == 1, (command, refused.stderr)
            assert "says number: 212, but" in refused.stderr and "holds #210" in refused.stderr, refused.stderr
            assert "put `number: 210` back" in refused.stderr
        into = run_weekly("build", str(SEEDS), "--issue", "212", "-o", str(draft.parent), env=env)
        assert into.returncode == 1 and "holds #210, not #212; nothing written" in into.stderr, into.stderr
        assert not (tmp_path / "out" / "212").exists() and "212" not in [row[0] for row in _issues(env)]
        draft.write_bytes(machine)
        _edit(draft, greeting="Hello readers,")
        unknown = run_weekly("approve", "98", env=env)
        assert unknown.returncode == 1 and "build" not in unknown.stderr, unknown.stderr
        assert "#98 is not an issue here; the issues are #211 (composed), #210 (edited), #99 (composed)" \
            in unknown.stderr
        assert run_weekly("approve", "210", env=env).returncode == 0
        sent = run_weekly("run", "--send", str(SEEDS), *friday, env=env)
        assert sent.returncode == 0 and "sent 3 now" in sent.stdout, sent.stderr
        _edit(draft, number=211)
        status = run_weekly("status", str(draft.parent), env=env)
        assert status.returncode == 0 and status.stdout.startswith("DW Weekly #210: "), status.stdout
    assert {message["Subject"].split(" – ")[0] for _, _, message in _parsed(server)} == {"DW Weekly #210"}
    assert all("Hello readers," in message.get_body(("plain",)).get_content() for _, _, message in _parsed(server))
    assert [row[:1] + row[7:8] for row in _issues(env)] == [["211", "composed"], ["210", "sent"], ["99", "composed"]]


def test_rebuilding_an_unsent_week_keeps_its_number_and_picks(tmp_path):
    """A second build of an unsent issue is the same issue: same number, the same draft byte for byte, and
    none of its stories "published"."""
    env = _env(tmp_path)
    first = run_weekly("build", str(SEEDS), env=env)
    draft = (tmp_path / "out" / "210" / "issue.yaml").read_bytes()
    second = run_weekly("build", str(SEEDS), env=env)
    assert first.returncode == second.returncode == 0
    assert "DW Weekly #210 (25 April – 2 May 2025) rebuilt in place from 29 items" in second.stdout
    assert sorted(path.name for path in (tmp_path / "out").iterdir() if path.is_dir()) == ["210"]
    assert (tmp_path / "out" / "210" / "issue.yaml").read_bytes() == draft
    assert b"published in #" not in draft


def test_the_week_of_an_unsent_issue_follows_its_draft_when_an_edit_is_reverted(tmp_path):
    """The editor renders a wrong week, then puts the draft back as weekly wrote it: `weekly issues` shows
    the draft's week again, and a rebuild is of the issue's own week, not of the week she reverted."""
    env = _env(tmp_path)
    assert run_weekly("build", str(SEEDS), env=env).returncode == 0
    draft = tmp_path / "out" / "210" / "issue.yaml"
    machine = draft.read_bytes()
    _edit(draft, week_start="2025-12-02", week_end="2025-12-10")
    assert run_weekly("render", str(draft), env=env).returncode == 0
    assert _issues(env)[0][1:7] == ["02", "Dec", "–", "10", "Dec", "2025"]
    draft.write_bytes(machine)
    assert _issues(env)[0][1:9] == ["25", "Apr", "–", "02", "May", "2025", "composed", "no"]
    rebuilt = run_weekly("build", str(SEEDS), env=env)
    assert rebuilt.returncode == 0 and "DW Weekly #210 (25 April – 2 May 2025) rebuilt in place" in rebuilt.stdout
    assert draft.read_bytes() == machine
    assert _issues(env)[0][1:7] == ["25", "Apr", "–", "02", "May", "2025"]


def test_auto_approval_sends_what_cron_built(tmp_path):
    """issue.approval = "auto": `weekly run --send` sends the issue it built, with no approval."""
    with Server() as server:
        done = run_weekly("run", "--send", str(SEEDS), env=_env(tmp_path, server, WEEKLY_ISSUE__APPROVAL="auto"))
    assert done.returncode == 0, done.stderr
    assert len(server.recorder.messages) == 3


def test_a_paused_issue_is_finished_before_the_next_one(tmp_path):
    """The server is down on the Friday of #210: paused with everybody pending. A run without --send then
    refuses to compose over it; next Friday's run sends #210 to those pending first, then #211."""
    inputs = _weeks(tmp_path, 2)
    port = free_port()  # nobody listens: the server is down
    env = _env(tmp_path, port=port, WEEKLY_ISSUE__APPROVAL="auto", WEEKLY_ISSUE__MIN_RADAR="4")
    down = run_weekly("run", "--send", str(inputs), "--today", FRIDAYS[0].isoformat(), env=env)
    assert down.returncode == 1 and "unavailable" in down.stderr
    assert _issues(env)[0][7] == "stopped"
    waiting = run_weekly("run", str(inputs), "--today", FRIDAYS[1].isoformat(), env=env)
    assert waiting.returncode == 1 and "#210 was sent in part and is not finished" in waiting.stderr
    assert not (tmp_path / "out" / "211").exists()
    with Server(port=port) as server:
        finished = run_weekly("run", "--send", str(inputs), "--today", FRIDAYS[1].isoformat(), env=env)
    assert finished.returncode == 0, finished.stderr
    assert "finished #210, left part-way before" in finished.stdout
    subjects = sorted(message["Subject"].split(" – ")[0] for message in server.recorder.parsed("reader1@example.org"))
    assert subjects == ["DW Weekly #210", "DW Weekly #211"]
    assert [row[7] for row in _issues(env)] == ["sent", "sent"]


def test_the_run_that_finishes_this_weeks_paused_issue_says_sent_and_exits_0(tmp_path):
    """The server is down on Friday: #210 pauses. Once it is up, the same day's `weekly run --send` finishes
    #210, says what it sent and exits 0 (it is this run's send, not "already sent"); a run after that is the
    one that says "already sent"."""
    port = free_port()
    env = _env(tmp_path, port=port, WEEKLY_ISSUE__APPROVAL="auto")
    friday = ["--today", FRIDAYS[0].isoformat()]
    down = run_weekly("run", "--send", str(SEEDS), *friday, env=env)
    assert down.returncode == 1 and "Resume with: weekly run --send" in down.stderr, down.stderr
    with Server(port=port) as server:
        finished = run_weekly("run", "--send", str(SEEDS), *friday, env=env)
        assert finished.returncode == 0, finished.stderr
        assert "finished #210" in finished.stdout and "sent 3 now" in finished.stdout, finished.stdout
        assert "error:" not in finished.stderr, finished.stderr
        again = run_weekly("run", "--send", str(SEEDS), *friday, env=env)
    assert again.returncode == 1 and "#210 was already sent (3 sent" in again.stderr, again.stderr
    assert len(server.recorder.messages) == 3
    assert _issues(env)[0][7:] == ["sent", "no", "sent", "3"]


def test_an_edit_after_an_issue_began_to_go_out_is_not_sent_and_never_blocks_the_rest(tmp_path):
    """#210 went to 3 of 8 readers, then the editor changed its draft. The send goes on from the rendered
    files (the other 5 get what the first 3 got), with a warning that the edit is not sent and how to see it;
    `render` in place refuses, pointing to the send that goes on and to a copy that shows the edit; both
    commands it names work."""
    readers = str(write_list(tmp_path / "eight.csv", 8))
    with Server() as server:
        env = _env(tmp_path, server, WEEKLY_LIST__SUBSCRIBERS=readers)
        assert run_weekly("build", str(SEEDS), env=env).returncode == 0
        assert run_weekly("approve", "210", env=env).returncode == 0
        folder = tmp_path / "out" / "210"
        first = run_weekly("send", str(folder), "--limit", "3", "--yes", env=env)
        assert first.returncode == 0 and "sent 3 now" in first.stdout, first.stderr
        edit = "A teaser the editor wrote after three readers had the issue, which none of them will ever read."
        _edit(folder / "issue.yaml", greeting="Hello readers,", teaser=(0, edit))
        sent_files = {name: (folder / name).read_bytes() for name in ("index.html", "issue.txt", "issue.eml")}
        refused = run_weekly("render", str(folder / "issue.yaml"), env=env)
        assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"`weekly send {folder} --yes`" in refused.stderr, refused.stderr
        shown = run_weekly(*shlex.split(re.search(r"`weekly (render [^`]+)`", refused.stderr)[1]), env=env)
        assert shown.returncode == 0, shown.stderr
        copy = Path(re.search(r"-o (\S+)`", refused.stderr)[1])
        assert edit in " ".join((copy / "issue.txt").read_text(encoding="utf-8").split())
        resumed = run_weekly("send", str(folder), "--limit", "2", "--yes", env=env)
        assert resumed.returncode == 0 and "sent 2 now" in resumed.stdout, resumed.stderr
        assert f"warning: {folder / 'issue.yaml'}: changed after #210 began to go out; the edit is not sent" \
            in resumed.stderr
        cron = run_weekly("run", "--send", str(SEEDS), "--today", FRIDAYS[0].isoformat(), env=env)
        assert cron.returncode == 0 and "sent 3 now" in cron.stdout, cron.stderr
        assert "the edit is not sent" in cron.stderr
    assert {name: (folder / name).read_bytes() for name in sent_files} == sent_files
    texts = [" ".join(message.get_body(("plain",)).get_content().split()) for _, _, message in _parsed(server)]
    assert len(texts) == 8 and not any(edit in text or "Hello readers" in text for text in texts)
    assert _issues(env)[0][7] == "sent"


def test_a_send_waiting_at_its_prompt_keeps_cron_from_rebuilding_the_issue(tmp_path):
    """`weekly send` asks on a terminal and waits; a cron run meanwhile may not rebuild that issue, so every
    reader gets the same issue, the editor's."""
    with Server() as server:
        env = _env(tmp_path, server, WEEKLY_ISSUE__APPROVAL="auto")
        assert run_weekly("build", str(SEEDS), env=env).returncode == 0
        folder = tmp_path / "out" / "210"
        _edit(folder / "issue.yaml", headline="The editor's headline")
        assert run_weekly("render", str(folder / "issue.yaml"), env=env).returncode == 0
        pid, terminal = pty.fork()
        if pid == 0:  # the child: `weekly send` on a terminal, as an operator types it
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "composer", "send", str(folder)], env)
        asked = _read_until(terminal, b"Send? [y/N]")
        assert b"About to send 3 message(s)" in asked
        cron = run_weekly("run", "--send", str(SEEDS), env=env, process=True)
        assert cron.returncode == 1 and "issue 210 is being sent by pid" in cron.stderr, cron.stderr
        os.write(terminal, b"y\n")
        _read_until(terminal, b"sent 3 now")
        os.waitpid(pid, 0)
    subjects = {message["Subject"] for _, _, message in _parsed(server)}
    assert subjects == {"DW Weekly #210 – The editor's headline"} and len(server.recorder.messages) == 3


def _read_until(terminal: int, wanted: bytes, seconds: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([terminal], [], [], 0.5)
        if ready:
            try:
                seen += os.read(terminal, 4096)
            except OSError:
                break
    assert wanted in seen, seen.decode(errors="replace")
    return seen


def _parsed(server: Server):
    from email import message_from_bytes
    from email.policy import default

    return [(sender, rcpts, message_from_bytes(raw, policy=default)) for sender, rcpts, raw in server.recorder.messages]


# ---- a month of Fridays ----------------------------------------------------------------------------------

FRIDAYS = [date(2025, 5, 2) + timedelta(weeks=week) for week in range(4)]
_PLACES = ["Brazil", "Canada", "Denmark", "Estonia", "France", "Ghana", "India", "Japan", "Kenya", "Mexico",
           "Norway", "Peru", "Qatar", "Rwanda", "Spain", "Thailand", "Uganda", "Vietnam", "Zambia", "Chile",
           "Austria", "Belgium", "Croatia", "Egypt", "Finland", "Greece", "Hungary", "Ireland", "Jordan", "Latvia",
           "Malta", "Nepal", "Oman", "Poland", "Romania", "Serbia", "Tunisia", "Uruguay", "Wales", "Yemen"]
_SUBJECTS = ["data protection", "submarine cables", "spectrum auctions", "ransomware", "online safety",
             "digital taxes", "semiconductor exports", "election deepfakes"]


def _story(place: str, subject: str, day: date | None, week: int) -> dict:
    story = {
        "title": f"{place} sets new rules on {subject} for week {week + 1}",
        "paragraphs": [
            f"The government of {place} adopted new rules on {subject} this week, after a long consultation with "
            "industry and civil society groups.",
            f"Officials in {place} said the rules on {subject} take effect next year and will be reviewed by the "
            "national regulator every two years.",
        ],
        "url": f"https://example.org/{place.lower()}/{subject.replace(' ', '-')}-{week}",
    }
    if day:
        story["published"] = f"{day.isoformat()}T09:00:00Z"
    return story


def _weeks(tmp_path: Path, count: int) -> Path:
    """An inputs folder: #209 pasted in, and the dated stories of the first `count` weeks."""
    inputs = tmp_path / "inputs"
    inputs.mkdir(exist_ok=True)
    (inputs / "past.json").write_text(json.dumps([{
        "kind": "past_issue", "number": 209, "headline": "An earlier week", "date_range": "18 – 25 April 2025",
        "week_start": "2025-04-18", "week_end": "2025-04-25", "editorial": ["Dear readers, an earlier week."],
    }]), encoding="utf-8")
    for week in range(count):
        _add_week(inputs, week, undated=False)
    return inputs


def _add_week(inputs: Path, week: int, undated: bool) -> list[str]:
    """This week's stories: six dated inside the week, and (`undated`) two more with no date at all."""
    friday = FRIDAYS[week]
    stories = [_story(_PLACES[(week * 8 + n) % len(_PLACES)], subject, friday - timedelta(days=n % 6), week)
               for n, subject in enumerate(_SUBJECTS[:6])]
    (inputs / f"week{week}.json").write_text(json.dumps(stories), encoding="utf-8")
    titles = [story["title"] for story in stories]
    if undated:
        loose = [_story(_PLACES[(week * 8 + n) % len(_PLACES)], subject, None, week)
                 for n, subject in enumerate(_SUBJECTS[6:], 6)]
        (inputs / f"undated{week}.json").write_text(json.dumps(loose), encoding="utf-8")
        titles += [story["title"] for story in loose]
    return titles


def test_a_month_of_fridays_with_an_editor_an_outage_and_undated_stories(tmp_path):
    """Each Wednesday cron builds the draft; each Thursday the editor edits its headline and approves it;
    each Friday cron sends it. One Friday the server is down; the inputs keep every earlier week's files,
    undated ones included. Each issue reaches each reader once, with the editor's headline, and no story
    is told twice."""
    inputs = _weeks(tmp_path, 0)
    port = free_port()
    env = _env(tmp_path, port=port, WEEKLY_ISSUE__MIN_RADAR="4")
    told: dict[str, int] = {}
    with Server(port=port) as server:
        for week, friday in enumerate(FRIDAYS):
            number = 210 + week
            _add_week(inputs, week, undated=True)
            wednesday = run_weekly("run", str(inputs), "--today", (friday - timedelta(days=2)).isoformat(), env=env)
            if week == 2:  # #211 was left part-way last Friday: nothing is composed over it
                assert wednesday.returncode == 1 and "#211 was sent in part" in wednesday.stderr
            else:
                assert wednesday.returncode == 0, wednesday.stderr
                _approve_with_headline(tmp_path, env, number)
            if week == 1:
                server.stop()
            friday_run = run_weekly("run", "--send", str(inputs), "--today", friday.isoformat(), env=env)
            if week == 1:  # down on Friday and still on Saturday: #211 waits with everybody pending
                assert friday_run.returncode == 1 and "unavailable" in friday_run.stderr
                saturday = run_weekly("run", "--send", str(inputs), "--today", (friday + timedelta(days=1)).isoformat(),
                                      env=env)
                assert saturday.returncode == 1 and "unavailable" in saturday.stderr
                server.start()
                continue
            elif week == 2:  # #211 is finished first; #212 was never approved
                assert friday_run.returncode == 1 and "#212 is not approved" in friday_run.stderr, friday_run.stderr
                _approve_with_headline(tmp_path, env, number)
                friday_run = run_weekly("run", "--send", str(inputs), "--today", friday.isoformat(), env=env)
                assert friday_run.returncode == 0, friday_run.stderr
            else:
                assert friday_run.returncode == 0, friday_run.stderr
            again = run_weekly("run", "--send", str(inputs), "--today", (friday + timedelta(days=1)).isoformat(),
                               env=env)
            assert again.returncode == 1 and f"#{number} was already sent" in again.stderr
    for week in range(4):
        number = 210 + week
        draft = yaml.safe_load((tmp_path / "out" / str(number) / "issue.yaml").read_text(encoding="utf-8"))
        for entry in draft["sections"]["radar"]:
            assert entry["title"] not in told, f"{entry['title']!r} told in #{told.get(entry['title'])} and #{number}"
            told[entry["title"]] = number
            assert entry["title"].endswith(f"week {week + 1}"), f"a stale story in #{number}: {entry['title']}"
    per_reader = [sorted(message["Subject"] for message in server.recorder.parsed(f"reader{n}@example.org"))
                  for n in range(3)]
    expected = [f"DW Weekly #{210 + week} – Edited for week {week + 1}" for week in range(4)]
    assert per_reader == [expected] * 3, per_reader


def test_a_thin_issue_nobody_got_moves_to_the_current_week_once_the_next_is_due(tmp_path):
    """#210 sent on 2 May; the thin #211 (not sent) is built for 2–9 May on the 9th, and `build` keeps that
    week; on the 16th, when the next issue would be due, cron builds #211 for 9–16 May, never a #212."""
    with Server() as server:
        env = _env(tmp_path, server, WEEKLY_ISSUE__APPROVAL="auto")
        assert run_weekly("run", "--send", str(SEEDS), "--today", "2025-05-02", env=env).returncode == 0
        for day in ("2025-05-09", "2025-05-16"):
            thin = run_weekly("run", "--send", str(SEEDS), "--today", day, env=env)
            assert thin.returncode == 1 and "nothing new this week: #211" in thin.stderr, thin.stderr
            if day == "2025-05-09":
                assert _issues(env)[0][:8] == ["211", "02", "May", "–", "09", "May", "2025", "composed"]
                assert run_weekly("build", str(SEEDS), "--today", "2025-05-16", env=env).returncode == 0
                assert _issues(env)[0][:8] == ["211", "02", "May", "–", "09", "May", "2025", "composed"]
    assert _issues(env)[0][:8] == ["211", "09", "May", "–", "16", "May", "2025", "composed"]
    assert [row[0] for row in _issues(env)] == ["211", "210"]


def _approve_with_headline(tmp_path: Path, env: dict, number: int) -> None:
    draft = tmp_path / "out" / str(number) / "issue.yaml"
    _edit(draft, headline=f"Edited for week {number - 209}")
    approved = run_weekly("approve", str(number), "--by", "Ana", env=env)
    assert approved.returncode == 0, approved.stderr


# ---- exit codes and hints an operator can trust ------------------------------------------------------------


def test_a_run_that_sent_to_everyone_exits_0_despite_an_empty_input_folder(tmp_path):
    """An empty feeds folder is a warning; the run that sent the issue to everyone exits 0."""
    empty = tmp_path / "feeds"
    empty.mkdir()
    with Server() as server:
        done = run_weekly("run", "--send", str(SEEDS), str(empty), env=_env(tmp_path, server,
                                                                              WEEKLY_ISSUE__APPROVAL="auto"))
    assert done.returncode == 0, done.stderr
    assert f"warning: {empty}: folder has no input files" in done.stderr and len(server.recorder.messages) == 3
    log = (tmp_path / "state" / "weekly.log").read_text(encoding="utf-8")
    assert "ledger sent 3" in log and "RecipientState" not in log


def test_a_failed_test_copy_never_suggests_a_full_send(tmp_path):
    """--test-to against a server that is down: the resume named is the test copy again, never `--yes`."""
    env = _env(tmp_path)
    assert run_weekly("build", str(SEEDS), env=env).returncode == 0
    folder = tmp_path / "out" / "210"
    done = run_weekly("send", str(folder), "--test-to", "editor@dig.watch", "--yes", env=env)
    assert done.returncode == 1
    assert f"Resume with: weekly send {folder} --test-to editor@dig.watch --yes" in done.stderr, done.stderr
    assert f"weekly send {folder} --yes" not in done.stderr


def test_a_pin_that_matches_nothing_is_an_error(tmp_path):
    done = run_weekly("build", str(SEEDS), "--pin", "no such story anywhere", env=_env(tmp_path))
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "--pin 'no such story anywhere' matches no item" in done.stderr
    assert not (tmp_path / "out").exists()


def test_config_prints_top_level_keys_before_the_sections(tmp_path):
    """`signing_key` is a top-level setting: printed before [brand], not under the last section."""
    lines = run_weekly("config", env=_env(tmp_path)).stdout.splitlines()
    key = next(number for number, line in enumerate(lines) if line.startswith("signing_key"))
    first_section = next(number for number, line in enumerate(lines) if line.startswith("["))
    assert key < first_section


# ---- versioned drafts ----------------------------------------------------------------------------------------


def test_drafts_carry_a_version_and_a_newer_one_is_refused_by_name(tmp_path):
    """issue.yaml starts with its version; a draft of a newer version is refused naming it; a draft the archive
    cannot read is a warning naming the file, not silently dropped."""
    env = _env(tmp_path)
    assert run_weekly("build", str(SEEDS), env=env).returncode == 0
    draft = tmp_path / "out" / "210" / "issue.yaml"
    assert draft.read_text(encoding="utf-8").startswith("version: 1\n")
    newer = tmp_path / "newer.yaml"
    newer.write_text(draft.read_text(encoding="utf-8").replace("version: 1\n", "version: 2\n", 1), encoding="utf-8")
    refused = run_weekly("render", str(newer), "-o", str(tmp_path / "elsewhere"), env=env)
    assert refused.returncode == 1 and "a draft of version 2, written by a newer weekly" in refused.stderr
    broken = tmp_path / "out" / "208" / "issue.yaml"
    broken.parent.mkdir()
    broken.write_text("number: [unclosed\n", encoding="utf-8")
    rebuilt = run_weekly("build", str(SEEDS), env=env)
    assert rebuilt.returncode == 0 and f"warning: {broken}: not in the archive" in rebuilt.stderr, rebuilt.stderr
