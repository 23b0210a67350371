"""`weekly run --send` from cron, a month of Fridays: each week's issue once, never a stale or empty one."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

from conftest import IDENTITY, KEY, run_weekly, write_list
from smtp_server import Server

FRIDAYS = [date(2025, 5, 2) + timedelta(weeks=week) for week in range(4)]
_PLACES = ["Brazil", "Canada", "Denmark", "Estonia", "France", "Ghana", "India", "Japan", "Kenya", "Mexico",
           "Norway", "Peru", "Qatar", "Rwanda", "Spain", "Thailand", "Uganda", "Vietnam", "Zambia", "Chile",
           "Austria", "Belgium", "Croatia", "Egypt", "Finland", "Greece", "Hungary", "Ireland", "Jordan", "Latvia",
           "Malta", "Nepal"]
_SUBJECTS = ["data protection", "submarine cables", "spectrum auctions", "ransomware", "online safety",
             "digital taxes", "semiconductor exports", "election deepfakes"]


def _week_items(friday: date, week: int) -> list[dict]:
    """Eight distinct stories dated inside the week that ends on `friday`."""
    items = []
    for number, subject in enumerate(_SUBJECTS):
        place = _PLACES[(week * len(_SUBJECTS) + number) % len(_PLACES)]
        day = friday - timedelta(days=number % 6)
        items.append({
            "title": f"{place} sets new rules on {subject} for week {week + 1}",
            "paragraphs": [
                f"The government of {place} adopted new rules on {subject} on {day.day} {day:%B}, after a long "
                f"consultation with industry and civil society groups.",
                f"Officials in {place} said the rules on {subject} take effect next year and will be reviewed "
                "by the national regulator every two years.",
            ],
            "published": f"{day.isoformat()}T09:00:00Z",
            "url": f"https://example.org/{place.lower()}/{subject.replace(' ', '-')}-{week}",
        })
    return items


def test_a_month_of_fridays(tmp_path):
    """A pasted past issue (#209) and each week's dated feed items: Fridays send #210-#213 once each; a run the
    next day says "already sent"; a Friday with no new stories says "nothing new" and sends nothing."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "past.json").write_text(json.dumps([{
        "kind": "past_issue", "number": 209, "headline": "An earlier week", "date_range": "18 – 25 April 2025",
        "week_start": "2025-04-18", "week_end": "2025-04-25", "editorial": ["Dear readers, an earlier week."],
    }]), encoding="utf-8")
    subscribers = write_list(tmp_path / "list.csv", 5)
    outcomes = []
    with Server() as server:
        env = {**os.environ, **IDENTITY, "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_ISSUE__APPROVAL": "auto",
               "WEEKLY_LOG__FILE": str(tmp_path / "state" / "weekly.log"), "WEEKLY_OUTPUT__DIR": str(tmp_path / "out"),
               "WEEKLY_LIST__SUBSCRIBERS": str(subscribers), "WEEKLY_SMTP__HOST": "127.0.0.1",
               "WEEKLY_SMTP__PORT": str(server.port), "WEEKLY_SMTP__SECURITY": "none"}

        def run(today: date):
            done = run_weekly("run", "--send", str(inputs), "--today", today.isoformat(), env=env)
            outcomes.append((today, done.returncode, done.stderr.strip().splitlines()[-1:]))
            return done

        for week, friday in enumerate(FRIDAYS):
            (inputs / f"week{week}.json").write_text(json.dumps(_week_items(friday, week)), encoding="utf-8")
            sent = run(friday)
            assert sent.returncode == 0, outcomes
            again = run(friday + timedelta(days=1))
            assert again.returncode == 1 and "already sent" in again.stderr, outcomes
            assert again.stderr.count("\n") == 1
        quiet = run(FRIDAYS[-1] + timedelta(weeks=1))
    assert quiet.returncode == 1 and "nothing new this week" in quiet.stderr, outcomes
    subjects = sorted({message["Subject"].split(" – ")[0] for message in server.recorder.parsed("reader0@example.org")})
    assert subjects == ["DW Weekly #210", "DW Weekly #211", "DW Weekly #212", "DW Weekly #213"]
    assert set(server.recorder.received().values()) == {4}, "each reader gets each week's issue once"
    assert sorted(path.name for path in (tmp_path / "out").iterdir() if path.is_dir()) == ["210", "211", "212", "213",
                                                                                          "214"]
