"""Curate on crafted weeks: duplicates merged, pins and blocks, the week's dates, upcoming events."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from composer.config import load_taxonomy
from composer.curate import CurateRules, curate
from composer.curate.similarity import duplicate_groups, tfidf
from composer.models import Ingested, Item, PastEntry, PastIssue, content_id

WEEK_START = date(2025, 4, 25)

STORIES = [
    ("Ransomware gang hacks hospital records", "Hackers encrypted the records of a hospital in Lyon in a ransomware attack and demanded a ransom."),
    ("Court fines platform over data transfers", "A Dublin court fined the platform for transferring personal data of European users to servers abroad without consent."),
    ("Telecom operator lays new submarine cable", "The operator laid a submarine cable linking Lagos and Lisbon to boost connectivity and broadband capacity in West Africa."),
    ("Startup raises funding for payment app", "The startup raised 40 million in funding to expand its payment app and cryptocurrency wallet into new markets."),
    ("Schools adopt skills programme for teachers", "Schools in Kenya adopted a digital skills training programme to close the digital divide for teachers in rural areas."),
    ("Festival explores culture on social media", "A festival in Seoul explored how social media platforms shape culture, youth identity and online content creation."),
    ("Rights groups warn about surveillance cameras", "Rights groups warned that facial recognition surveillance cameras threaten privacy and freedom of expression in public spaces."),
    ("Second ransomware attack hits schools", "A ransomware gang hacked a school district in Ohio, stealing student data and threatening to publish it unless paid."),
    ("Phishing wave targets bank customers", "A phishing wave targeted customers of three banks with fake login pages, and hackers stole passwords and card data."),
    ("Breach exposes airline passenger data", "A breach at an airline vendor exposed passenger names and passport numbers after attackers exploited a vulnerability."),
]


def _item(title: str, text: str, source: str = "week.txt", published: datetime | None = None, **extra) -> Item:
    paragraphs = (text,)
    return Item(id=content_id(title, paragraphs), title=title, paragraphs=paragraphs, source=source,
                published=published, **extra)


@pytest.fixture(scope="module")
def taxonomy():
    """The bundled taxonomy without its relevance bar: these tests are about ranking and merging."""
    return load_taxonomy().model_copy(update={"relevance": None})


@pytest.fixture(scope="module")
def beat():
    """The bundled taxonomy as it is, relevance bar included."""
    return load_taxonomy()


def _rules(taxonomy, **overrides) -> CurateRules:
    return CurateRules(taxonomy=taxonomy, **{"radar_size": 8, "issue_number": 210, "week_start": WEEK_START, **overrides})


def test_same_story_from_two_sources_is_one_entry_keeping_the_richest(taxonomy):
    """A rewrite of a story by another source merges into one Radar entry that counts both sources."""
    short = _item("EU fines Meta 200 million euros under the Digital Markets Act",
                  "The European Commission fined Meta 200 million euros under the Digital Markets Act for its pay or consent model.",
                  source="a.txt")
    rich = _item("Meta fined €200 million by European Commission under DMA",
                 "The European Commission has fined Meta 200 million euros under the Digital Markets Act over its pay or consent model. "
                 "Meta said it would appeal the decision of the Commission, which also fined Apple.",
                 source="b.txt")
    items = [short, rich, *(_item(t, x) for t, x in STORIES)]
    selection = curate(Ingested(items=tuple(items)), _rules(taxonomy))
    meta = [pick for pick in selection.radar if "Meta" in pick.item.title]
    assert len(meta) == 1
    assert meta[0].item == rich and meta[0].sources == 2


def test_duplicate_groups_leave_distinct_stories_apart():
    """Ten different stories stay ten groups; a copy of one joins it."""
    texts = [f"{t} {x}" for t, x in STORIES] + [f"{STORIES[0][0]} {STORIES[0][1]}"]
    groups = duplicate_groups(tfidf(texts), 0.5)
    assert len(groups) == 10 and [0, 10] in groups


def test_basket_cap_keeps_radar_diverse(taxonomy):
    """Four cybersecurity stories: at most three reach Radar while other baskets have stories."""
    items = [_item(t, x) for t, x in STORIES]
    selection = curate(Ingested(items=tuple(items)), _rules(taxonomy, radar_size=8))
    topics = [pick.topic for pick in selection.radar]
    assert 1 <= topics.count("Cybersecurity") <= 3
    assert len(set(topics)) >= 5


def test_basket_cap_gives_way_when_too_few_baskets(taxonomy):
    """With only cybersecurity stories and one other, all of them are taken rather than leaving Radar short."""
    cyber = [STORIES[i] for i in (0, 7, 8, 9)]
    items = [_item(t, x) for t, x in [*cyber, STORIES[2]]]
    selection = curate(Ingested(items=tuple(items)), _rules(taxonomy, radar_size=8))
    assert len(selection.radar) == 5
    assert [pick.topic for pick in selection.radar].count("Cybersecurity") == 4


def test_pins_come_first_and_blocks_never_appear(taxonomy):
    """An editor's pin (by title words) leads Radar; a block (by id prefix) is left out."""
    items = [_item(t, x) for t, x in STORIES]
    blocked = items[0]
    rules = _rules(taxonomy, pins=("festival explores",), blocks=(blocked.id[:6],))
    selection = curate(Ingested(items=tuple(items)), rules)
    assert selection.radar[0].item.title == "Festival explores culture on social media"
    assert blocked.id not in {pick.item.id for pick in selection.radar}


def test_dated_items_outside_the_week_are_left_out_undated_kept(taxonomy):
    """A story published before the week is old news; undated stories count as this week's."""
    old = _item("Old story about a court ruling on antitrust", "A court ruled on an antitrust lawsuit long ago, in a trial about a monopoly.",
                published=datetime(2025, 3, 1, tzinfo=UTC))
    current = _item("Current story about a court ruling on antitrust", "A judge ruled in a monopoly trial this week.",
                    published=datetime(2025, 4, 28, tzinfo=UTC))
    items = [old, current, *(_item(t, x) for t, x in STORIES)]
    ids = {pick.item.id for pick in curate(Ingested(items=tuple(items)), _rules(taxonomy, radar_size=12)).radar}
    assert current.id in ids and old.id not in ids


def test_blog_cue_files_an_item_in_reading_corner(taxonomy):
    """'In his blog post' makes an item a Reading Corner piece."""
    blog = _item("Tech continuity", "In his blog post, the author argues that tech policy stayed remarkably stable this spring.")
    items = [blog, *(_item(t, x) for t, x in STORIES)]
    selection = curate(Ingested(items=tuple(items)), _rules(taxonomy))
    assert [pick.item.id for pick in selection.reading_corner] == [blog.id]


def test_upcoming_events_from_event_items_and_past_issues(taxonomy):
    """Events dated after the issue's end are listed in date order; past ones are not."""
    future = _item("Webinar on AI governance", "A webinar on AI governance will take place on 20 May 2025 online.", kind="event")
    past_event = _item("Old webinar", "The webinar took place on 10 April 2025 in Geneva.", kind="event")
    issue = PastIssue(number=9, headline="h", source="p.txt", events=(
        PastEntry(teaser="Conference on digital health, 12 May 2025.", image_alt="Digital health", site="dig.watch",
                  event_date=date(2025, 5, 12)),
        PastEntry(teaser="Course started 16 September 2024.", image_alt="Course", event_date=date(2024, 9, 16)),
    ))
    items = [future, past_event, *(_item(t, x) for t, x in STORIES)]
    selection = curate(Ingested(items=tuple(items), past_issues=(issue,)), _rules(taxonomy))
    assert [(pick.item.title, pick.when) for pick in selection.events] == [
        ("Digital health", date(2025, 5, 12)), ("Webinar on AI governance", date(2025, 5, 20)),
    ]


OFF_BEAT = [
    ("Oscar winners celebrate at the Dolby Theatre", "The actress won best picture honours at the ceremony in "
     "Los Angeles, where the film's director thanked the cast and the crew of the drama."),
    ("Arsenal beat Chelsea in the derby", "Arsenal won the London derby 2-1 on Sunday after a late goal from "
     "the captain, moving three points clear at the top of the league table."),
    ("The best power meters of the year", "Our buyer's guide compares twelve power meters for cycling, from "
     "pedals to cranks, with prices, battery life and accuracy in the field."),
]


def test_only_stories_on_the_beat_reach_the_radar_and_the_rest_say_why(beat):
    """Oscars, football and power meters are left out as off-topic, listed with the reason; a pin brings
    one back; the policy stories stay."""
    items = [_item(t, x) for t, x in (*STORIES[:2], *STORIES[6:], *OFF_BEAT)]
    selection = curate(Ingested(items=tuple(items)), _rules(beat))
    titles = {pick.item.title for pick in selection.radar}
    assert not titles & {title for title, _ in OFF_BEAT}
    reasons = {left.title: left.reason for left in selection.left_out}
    assert all(reasons[title].startswith("off-topic") for title, _ in OFF_BEAT)
    pinned = curate(Ingested(items=tuple(items)), _rules(beat, pins=("Arsenal",)))
    assert "Arsenal beat Chelsea in the derby" in {pick.item.title for pick in pinned.radar}


def test_other_languages_and_undated_items(beat):
    """A German story is left out as another language; undated stories rank below dated ones of the week,
    or are left out with issue.undated = leave_out."""
    german = _item("Regierung plant neues Gesetz gegen Hackerangriffe", "Die Bundesregierung will mit dem neuen "
                   "Gesetz die Abwehr von Hackerangriffen auf Kliniken und Behörden stärken, wie das Ministerium "
                   "am Montag mitteilte. Das Gesetz soll noch in diesem Jahr in Kraft treten.")
    dated = [_item(t, x, published=datetime(2025, 4, 28, tzinfo=UTC)) for t, x in STORIES[6:]]
    undated = [_item(t, x) for t, x in STORIES[:2]]
    selection = curate(Ingested(items=(german, *undated, *dated)), _rules(beat))
    assert {left.title: left.reason for left in selection.left_out}[german.title] == "other language (de)"
    order = [pick.item.published is None for pick in selection.radar]
    assert order == sorted(order), "an undated story ranks above a dated one"
    strict = curate(Ingested(items=(german, *undated, *dated)), _rules(beat, undated="leave_out"))
    assert all(pick.item.published for pick in strict.radar) and strict.undated == 3  # the German story has no date either


def test_a_story_sharing_only_common_words_with_a_past_issue_is_not_covered(beat):
    """'EU fines X' is not covered by a past issue about other EU fines; a retelling of a past story is."""
    past = PastIssue(number=215, headline="h", source="p.txt", radar=(
        PastEntry(teaser="The EU fined Apple 500 million euros for steering rules in its App Store under the DMA."),
        PastEntry(teaser="Google must sell Chrome, the US Justice Department told a judge in Washington."),
    ))
    new = _item("EU fines X over blue checkmarks", "The European Commission fined X 120 million euros for its "
                "deceptive blue checkmarks and for refusing researchers access to data under the DSA.")
    again = _item("DOJ wants Google to sell Chrome", "The US Justice Department told a judge in Washington that "
                  "Google must sell Chrome to restore competition in search.")
    selection = curate(Ingested(items=(new, again, *(_item(t, x) for t, x in STORIES[6:])), past_issues=(past,)),
                       _rules(beat))
    titles = {pick.item.title for pick in selection.radar}
    assert new.title in titles and again.title not in titles
    assert {left.title: left.reason for left in selection.left_out}[again.title] == "covered by #215"
