"""A big week is read and judged on two cores (composer.forked.split_map): the results are those of one
process, whatever happens to the forked copy; a small week never forks."""

from __future__ import annotations

import json
import os
import signal
from datetime import date

import pytest
from conftest import DATA, SEEDS

import composer.curate
import composer.curate.similarity
import composer.ingest.jsonitems
from composer.config import load_taxonomy
from composer.curate import CurateRules, curate
from composer.curate.similarity import duplicate_groups, tfidf
from composer.forked import _cores, split_map
from composer.ingest import load_items

two_cores = pytest.mark.skipif(not hasattr(os, "fork") or _cores() < 2, reason="needs fork and two cores")


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The process ids of the copies split_map forks."""
    pids: list[int] = []
    fork = os.fork

    def recorded() -> int:
        pid = fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recorded)
    return pids


def _reaped(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_below_the_threshold_everything_is_mapped_here(forks):
    parent = os.getpid()
    assert split_map(lambda value: (value * 2, os.getpid()), range(99), 100) == [(v * 2, parent) for v in range(99)]
    assert forks == []


@two_cores
def test_above_it_the_second_half_is_mapped_by_a_copy_in_order(forks):
    parent = os.getpid()
    results = split_map(lambda value: (value * 2, os.getpid()), list(range(101)), 100)
    assert [doubled for doubled, _ in results] == [v * 2 for v in range(101)]
    assert {pid for _, pid in results[:50]} == {parent} and parent not in {pid for _, pid in results[50:]}
    assert len(forks) == 1 and _reaped(forks[0])


@two_cores
@pytest.mark.parametrize("failure", ["raises", "killed", "exits"])
def test_a_copy_that_fails_leaves_its_half_to_this_process(failure, forks):
    parent = os.getpid()

    def doubled(value: int) -> int:
        if os.getpid() != parent and value == 150:
            if failure == "raises":
                raise RuntimeError("copy failed")
            if failure == "killed":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(0)  # leaves quietly, sending nothing
        return value * 2

    assert split_map(doubled, list(range(200)), 10) == [v * 2 for v in range(200)]
    assert len(forks) == 1 and _reaped(forks[0])


@two_cores
def test_a_failure_in_this_half_is_raised_and_the_copy_reaped(forks):
    def doubled(value: int) -> int:
        if value == 3:
            raise ValueError("bad value")
        return value * 2

    with pytest.raises(ValueError, match="bad value"):
        split_map(doubled, list(range(100_000)), 10)
    assert len(forks) == 1 and _reaped(forks[0])


@two_cores
def test_curate_forked_selects_and_explains_as_one_process(monkeypatch):
    """The seeds with the corpus (events, other languages, promotion, off-topic, duplicates, a past issue):
    the same selection, left-out reasons and explanations when every week is judged on two cores."""
    ingested = load_items([DATA / "corpus", SEEDS])
    rules = CurateRules(taxonomy=load_taxonomy(), issue_number=210, week_start=date(2025, 4, 25),
                        pins=(ingested.items[-1].id[:8],))
    alone = curate(ingested, rules)
    monkeypatch.setattr(composer.curate, "MANY", 2)
    monkeypatch.setattr(composer.curate.similarity, "MANY", 2)
    forked = curate(ingested, rules)
    assert forked == alone
    assert forked.radar and {left.group for left in forked.left_out} >= {"off_topic", "language"}


@two_cores
def test_json_lines_read_forked_are_the_items_of_one_process(tmp_path, monkeypatch):
    """Bad lines, a past issue and a record giving its own position among them: the same items (positions
    among the items), past issues and problems."""
    good = [{"title": f"Story {n}", "paragraphs": [f"The regulator fined company {n} for a data breach."]}
            for n in range(30)]
    lines = [json.dumps(record) for record in good]
    lines[3] = "{not json"
    lines[5] = json.dumps({"title": "No text"})
    lines[8] = json.dumps({"kind": "past_issue", "number": 209, "headline": "Past", "date_range": "18 – 25 April 2025"})
    lines[20] = json.dumps({**good[20], "position": 99})
    week = tmp_path / "week.jsonl"
    week.write_text("\n".join(lines) + "\n", encoding="utf-8")
    alone = load_items([week])
    monkeypatch.setattr(composer.ingest.jsonitems, "MANY", 2)
    forked = load_items([week])
    assert forked == alone
    positions = {item.title: item.position for item in forked.items}
    assert [positions[f"Story {n}"] for n in (0, 1, 2, 4, 6, 7, 9, 21)] == [0, 1, 2, 3, 4, 5, 6, 18]
    assert positions["Story 20"] == 99
    assert len(forked.past_issues) == 1 and len(forked.problems) == 2


@two_cores
def test_duplicate_groups_found_forked_are_those_of_one_process(seeds, monkeypatch):
    """Each seed story told twice (once with a line more) and once alone: the same groups either way."""
    texts = [" ".join(item.paragraphs) for item in seeds.items]
    week = [*texts, *(f"{text} The agency said more details would follow." for text in texts[::2])]
    vectors = tfidf(week)
    alone = duplicate_groups(vectors, 0.5)
    monkeypatch.setattr(composer.curate.similarity, "MANY", 2)
    assert duplicate_groups(vectors, 0.5) == alone
    assert sum(len(group) == 2 for group in alone) >= len(texts) // 2 - 2
