"""JSON and JSON Lines items: the schema `weekly items --json` prints, and bad records."""

from __future__ import annotations

import json

from conftest import DATA, SEEDS, run_weekly

from composer.ingest import load_items


def test_items_json_output_reads_back_as_the_same_items(tmp_path, seeds):
    """`weekly items --json` on the seeds, read back as input, gives the same items and past issue."""
    done = run_weekly("items", str(SEEDS), "--json")
    assert done.returncode == 0, done.stderr
    exported = tmp_path / "week.json"
    exported.write_text(done.stdout, encoding="utf-8")
    again = load_items([exported])
    assert again.problems == ()
    assert [item.id for item in again.items] == [item.id for item in seeds.items]
    assert again.items == seeds.items
    assert again.past_issues == seeds.past_issues


def test_json_output_has_the_documented_fields():
    """Each element has id, title, paragraphs, kind, url, published, tags, source; the past issue its sections."""
    records = json.loads(run_weekly("items", "--json").stdout)
    for record in records[:-1]:
        assert {"id", "title", "paragraphs", "kind", "url", "published", "tags", "source"} <= record.keys()
    past = records[-1]
    assert past["kind"] == "past_issue" and past["number"] == 209 and past["date_range"] == "18 – 25 April 2025"
    assert (len(past["radar"]), len(past["reading_corner"]), len(past["events"])) == (11, 4, 4)


def test_json_bad_records_are_named_and_good_ones_kept():
    """Missing, wrong-typed and invalid fields are one error each, with the record's index."""
    result = load_items([DATA / "items.json"])
    assert [item.title for item in result.items] == ["Huawei develops Ascend 910D chip to rival Nvidia"]
    assert result.items[0].paragraphs == ("Huawei Technologies is preparing to test its newest AI processor, the Ascend 910D.",)
    messages = [p.message for p in result.problems]
    assert messages[0] == "item 2: field 'paragraphs' is required"
    assert messages[1].startswith("item 3: field 'kind'")
    assert messages[2].startswith("item 4: field 'published'")


def test_jsonl_bad_lines_are_named_by_line_number():
    """JSON Lines: a wrong type, broken JSON and a misspelt key are reported with their line."""
    result = load_items([DATA / "items.jsonl"])
    assert [item.title for item in result.items] == ["IBM commits $150 billion to US tech", None]
    assert [(p.line, p.message.split(":")[0]) for p in result.problems] == [
        (2, "field 'paragraphs'"),
        (4, "not valid JSON"),
        (5, "unknown field 'publishd'"),
    ]


def test_jsonl_lines_are_where_splitlines_puts_them(tmp_path):
    """A JSON Lines file is read line by line, its lines ending where str.splitlines() ends them (\\r\\n,
    \\r, U+2028 …): a record on the line after any of them is reported by that line."""
    ends = ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
    record = json.dumps({"title": "T", "paragraphs": ["A paragraph about the week's news."]})
    text = "".join(f"{record}{end}{{bad{end}" for end in ends) + record
    path = tmp_path / "week.jsonl"
    path.write_text(text, encoding="utf-8")
    loaded = load_items([path])
    assert len(loaded.items) == len(ends) + 1
    assert [problem.line for problem in loaded.problems] == [line for line, _ in enumerate(text.splitlines(), 1)
                                                             if line % 2 == 0]
