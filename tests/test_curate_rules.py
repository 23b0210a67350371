"""Curate's editorial rules one by one, each with a test that fails when the rule changes (bench/mutation.py
checks that): the score's formula and weights, staleness and anniversaries, the Radar's basket rules, the
reasons given for what is left out, coverage, past events, dates and places."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from composer.config import load_taxonomy
from composer.curate import CurateRules, _diverse, _Ledger, _ordinal, _radar, _Story, curate
from composer.curate.classify import Filing, Fit, TaxonomyPatterns, classify, fit
from composer.curate.dates import mentions
from composer.curate.events import is_event, place, start
from composer.curate.rank import ScoreParts, score_parts
from composer.models import Ingested, Item, PastEntry, PastIssue, content_id

WEEK_START = date(2025, 5, 9)
WEEK_END = date(2025, 5, 16)
PATTERNS = TaxonomyPatterns(load_taxonomy())


def _item(title: str | None, *paragraphs: str, published: datetime | None = None, **extra) -> Item:
    return Item(id=content_id(title, paragraphs), title=title, paragraphs=paragraphs, source="week.txt",
                published=published, **extra)


def _rules(**overrides) -> CurateRules:
    return CurateRules(taxonomy=load_taxonomy(), **{"issue_number": 230, "week_start": WEEK_START, **overrides})


def _fit(margin: int, topic: str | None = None) -> Fit:
    return Fit((), (), True, margin, 4 + margin, (), topic)


def test_the_rules_defaults_and_bounds_are_dw_weeklys():
    """Radar 10 (1-12), Reading Corner 4 (1-4), events 4 (0-8), 3 per basket, one story at cosine 0.5, covered
    at 0.18 (thresholds in (0, 1]), issues numbered from 1."""
    rules = _rules()
    assert (rules.radar_size, rules.reading_size, rules.events_size, rules.max_per_basket) == (10, 4, 4, 3)
    assert (rules.duplicate_threshold, rules.covered_threshold) == (0.5, 0.18)
    for fine in ({"radar_size": 1}, {"radar_size": 12}, {"reading_size": 1}, {"reading_size": 4},
                 {"events_size": 0}, {"events_size": 8}, {"max_per_basket": 1}, {"duplicate_threshold": 1.0},
                 {"covered_threshold": 1.0}, {"issue_number": 1}):
        _rules(**fine)
    for wrong in ({"radar_size": 0}, {"radar_size": 13}, {"reading_size": 0}, {"reading_size": 5},
                  {"events_size": -1}, {"events_size": 9}, {"max_per_basket": 0}, {"duplicate_threshold": 0},
                  {"duplicate_threshold": 1.01}, {"covered_threshold": 0}, {"covered_threshold": 1.01},
                  {"issue_number": 0}):
        with pytest.raises(ValidationError):
            _rules(**wrong)


def test_without_a_relevance_table_every_story_is_on_the_beat_with_no_bonus():
    """No [relevance]: on the beat, no cues, no points, nothing above the bar; with one, the margin is the
    score less min_score."""
    bare = TaxonomyPatterns(load_taxonomy().model_copy(update={"relevance": None}))
    story = _item("Regulator fines app", "The regulator fined the app over privacy.")
    assert fit(story, bare) == Fit((), (), True, 0, 0)
    judged = fit(story, PATTERNS)
    assert judged.margin == judged.score - PATTERNS.relevance.min_score


def _on(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


# ---- the score ------------------------------------------------------------------------------------------

def test_a_story_with_everything_for_it_scores_each_parts_full_weight():
    """Most central, four sources, published on the week's last day, 4,000 characters, far above the bar, an
    authority's act: 0.55 + 0.2 + 0.15 + 0.1 + 0.1 + 0.15."""
    item = _item("Regulator fines Meta over data transfers", "The regulator fined Meta.", published=_on(WEEK_END))
    parts = score_parts(item, 1.0, 4, 4000, _fit(8), WEEK_START, WEEK_END)
    assert parts == ScoreParts(centrality=0.55, sources=0.2, recency=0.15, length=0.1, beat=0.1, action=0.15,
                               undated=0.0, stale=0.0, not_news=0.0, signs=("an authority acted ('fines')",))
    assert parts.total == pytest.approx(1.25)


def test_a_middling_story_scores_each_part_in_proportion():
    """Two sources a third of the weight, three days before the end 4/7 of recency, 1,000 characters on a log
    scale, half-way above the bar half the beat bonus, a beat technology the whole of it."""
    item = _item("Ministers discuss rules", "They met.", published=_on(WEEK_END - timedelta(days=3)))
    parts = score_parts(item, 0.5, 2, 1000, _fit(4), WEEK_START, WEEK_END)
    assert parts.centrality == pytest.approx(0.275) and parts.sources == pytest.approx(0.2 / 3)
    assert parts.recency == pytest.approx(0.15 * 4 / 7)
    assert parts.length == pytest.approx(0.1 * math.log1p(1000) / math.log1p(4000))
    assert parts.beat == pytest.approx(0.05) and parts.action == 0.0
    assert score_parts(item, 0.5, 2, 1000, _fit(0, "AI"), WEEK_START, WEEK_END).beat == pytest.approx(0.1)
    assert score_parts(item, 0.5, 2, 1000, _fit(-2), WEEK_START, WEEK_END).beat == 0.0


def test_sources_length_and_margin_earn_no_more_past_their_caps():
    """Seven sources count as four, 10,000 characters as 4,000, 20 points above the bar as 8."""
    item = _item("Ministers discuss rules", "They met.", published=_on(WEEK_END))
    parts = score_parts(item, 1.0, 7, 10000, _fit(20), WEEK_START, WEEK_END)
    assert (parts.sources, parts.length, parts.beat) == (0.2, 0.1, 0.1)


def test_penalties_for_undated_stale_and_anniversary_stories():
    """Undated 0.35 (and half the recency), stale 0.3, anniversary 0.3, subtracted from the total."""
    item = _item("Commission marks 10 years of GDPR", "On 1 March 2025 the Commission celebrated the law.")
    parts = score_parts(item, 0.0, 1, 0, _fit(0), WEEK_START, WEEK_END)
    assert (parts.undated, parts.stale, parts.not_news, parts.recency) == (0.35, 0.3, 0.3, pytest.approx(0.075))
    assert parts.total == pytest.approx(0.075 - 0.95)


@pytest.mark.parametrize(("day", "stale"), [(date(2025, 4, 25), False), (date(2025, 4, 24), True)])
def test_stale_means_more_than_two_weeks_before_the_week(day, stale):
    """A story whose only date is 14 days before the week's first day is still context; 15 days is stale."""
    item = _item("Ministers meet on AI rules", f"Ministers met on {day.day} {day:%B %Y} to agree rules for AI.")
    assert (score_parts(item, 0.5, 1, 500, _fit(0), WEEK_START, WEEK_END).stale > 0) is stale


def test_only_the_title_and_first_two_paragraphs_date_a_story_and_events_are_never_stale():
    """An old date in the third paragraph is background; an event's past date is its history."""
    background = _item("Ministers agree AI rules", "Ministers agreed rules on Monday.", "They will vote next.",
                       "The talks began on 3 February 2025.")
    event = _item("Forum on AI rules", "The forum first met on 3 February 2025.", kind="event")
    for item in (background, event):
        assert score_parts(item, 0.5, 1, 500, _fit(0), WEEK_START, WEEK_END).stale == 0.0


def test_an_anniversary_counts_in_the_title_or_the_first_sentence_only():
    """'Marks 10 years' opening the lead is an anniversary story; far into the lead it is background."""
    opening = _item("Data protection in Europe", "The Commission marks 10 years of the GDPR with a conference.")
    buried = _item("Data protection in Europe", "The Commission published its report on enforcement. " + "x " * 110
                   + "It marks 10 years of the GDPR.")
    assert score_parts(opening, 0.5, 1, 500, _fit(0), WEEK_START, WEEK_END).not_news > 0
    assert score_parts(buried, 0.5, 1, 500, _fit(0), WEEK_START, WEEK_END).not_news == 0.0


def test_explanations_give_rounded_parts_and_the_most_central_story_its_whole_weight():
    """`weekly why` parts are rounded to three decimals; centrality is relative to the week's most central;
    a story of the week's last day has all of recency."""
    items = [_item("Regulator fines Meta over privacy", "The Irish regulator fined Meta over privacy breaches and "
                   "data transfers online.", published=_on(WEEK_END)),
             _item("Court bans TikTok app", "A court banned the TikTok app over data protection and privacy online.",
                   published=_on(WEEK_START)),
             _item("Ministry sanctions spyware vendor", "The ministry sanctioned a spyware vendor that sold hacking "
                   "tools to governments.", published=_on(WEEK_START))]
    selection = curate(Ingested(items=tuple(items)), _rules())
    parts = {explained.title: explained.parts for explained in selection.explanations}
    assert max(part["centrality"] for part in parts.values()) == 0.55
    assert min(part["centrality"] for part in parts.values()) < 0.55
    assert parts[items[0].title]["recency"] == 0.15
    assert all(round(value, 3) == value for part in parts.values() for value in part.values())


# ---- filing ---------------------------------------------------------------------------------------------

def test_title_cues_count_three_times_and_strong_cues_three_times_more():
    """One strong cue in the title (9) outweighs eight plain ones in the lead; with no cue, the default basket."""
    item = _item("Court weighs the case", "Platform content, media, film, youth, language, games and music.")
    assert classify(item, PATTERNS).basket == "Legal and regulatory"
    assert classify(item, PATTERNS).hits["Legal and regulatory"] == 9
    assert classify(_item("Nothing to file", "A quiet day."), PATTERNS).basket == PATTERNS.default_basket


def test_relevance_points_title_cues_double_and_security_cues_on_both_sides_twice():
    """A digital cue in the title is 2 points, in the lead 1; a security cue in the lead is 4."""
    assert fit(_item("Apps", "Nothing else."), PATTERNS).score == 2
    assert fit(_item(None, "Nothing but apps."), PATTERNS).score == 1
    assert fit(_item(None, "Nothing but ransomware."), PATTERNS).score == 4


# ---- the Radar's baskets -----------------------------------------------------------------------------------

def _story(name: str, basket: str, total: float) -> _Story:
    item = _item(name, name)
    parts = ScoreParts(centrality=total, sources=0, recency=0, length=0, beat=0, action=0, undated=0, stale=0,
                       not_news=0)
    return _Story(item, Filing(basket, (), "news", {}), "news", 1, _fit(0), parts, False)


def test_a_strong_story_from_a_new_basket_beats_a_third_from_a_busy_one():
    """Each story taken from a basket lowers the next one's claim by 0.12 (maximal marginal relevance)."""
    stories = [_story("c1", "Cybersecurity", 1.0), _story("c2", "Cybersecurity", 0.95),
               _story("c3", "Cybersecurity", 0.9), _story("e1", "Economic", 0.7)]
    assert [story.item.title for story in _diverse(stories, 3, 3)] == ["c1", "c2", "e1"]
    assert [story.item.title for story in _diverse(stories, 3, 3)[:2]] == ["c1", "c2"]
    stories[3] = _story("e1", "Economic", 0.6)
    assert [story.item.title for story in _diverse(stories, 3, 3)] == ["c1", "c2", "c3"]


def test_the_basket_cap_binds_while_other_baskets_have_stories():
    """At most max_per_basket from one basket, however strong, unless no other basket is left."""
    stories = [_story(f"c{n}", "Cybersecurity", 2.0 - n / 10) for n in range(5)] + [_story("e1", "Economic", 0.1)]
    assert [story.item.title for story in _diverse(stories, 4, 3)] == ["c0", "c1", "c2", "e1"]
    assert [story.item.title for story in _diverse(stories, 2, 1)] == ["c0", "e1"]
    assert len(_diverse(stories, 6, 3)) == 6


def test_pinned_stories_come_first_whatever_their_score():
    """A pin outranks every score, and its basket still counts against the cap."""
    stories = [_story("c1", "Cybersecurity", 1.0), _story("e1", "Economic", 0.1)]
    stories[1].pinned = True
    ordered = sorted(stories, key=lambda story: (not story.pinned, -story.score))
    assert [story.item.title for story in _diverse(ordered, 1, 3)] == ["e1"]


def test_each_news_story_not_taken_gets_the_reason_that_kept_it_out():
    """Below the cap's limit but ranked above a story taken: held back by the cap; its basket not full: gave
    way to other baskets; below every story taken: ranked below the Radar."""
    capped = [_story("c1", "Cybersecurity", 1.0), _story("c2", "Cybersecurity", 0.95),
              _story("c3", "Cybersecurity", 0.9), _story("c4", "Cybersecurity", 0.85),
              _story("e1", "Economic", 0.5), _story("d1", "Development", 0.3)]
    ledger = _Ledger()
    _radar(capped, _rules(radar_size=4), ledger)
    assert {left.title: left.reason for left in ledger.left_out} == {
        "c4": "held back by the basket cap (3 Cybersecurity stories in the Radar; 4th of 6 on the beat)",
        "d1": "ranked below the Radar (6th of 6 on the beat)"}
    assert ledger.outcomes[capped[4].item.id] == "Radar (5th of 6 on the beat)"
    gave_way = [_story("c1", "Cybersecurity", 1.0), _story("c2", "Cybersecurity", 0.95),
                _story("c3", "Cybersecurity", 0.7), _story("e1", "Economic", 0.6)]
    ledger = _Ledger()
    _radar(gave_way, _rules(radar_size=3), ledger)
    assert [left.reason for left in ledger.left_out] == [
        "gave way to other baskets (2 Cybersecurity stories in the Radar; 3rd of 4 on the beat)"]


def test_the_reasons_for_news_not_in_the_radar():
    """Held back by the cap (rank above the last one taken), gave way to other baskets, or ranked below."""
    cyber = [_item(f"Ransomware gang {n} hacks hospital", f"Hackers encrypted hospital {n} records in a ransomware "
                   "attack on its network.", published=_on(WEEK_END)) for n in range(4)]
    other = _item("Court fines platform over data transfers", "A court fined the platform for transferring personal "
                  "data abroad without consent, under the data protection law.", published=_on(WEEK_START))
    selection = curate(Ingested(items=(*cyber, other)), _rules(radar_size=4, duplicate_threshold=1.0))
    reasons = [left.reason for left in selection.left_out]
    assert len(reasons) == 1 and reasons[0].startswith("held back by the basket cap (3 Cybersecurity stories in the "
                                                       "Radar; ")
    assert reasons[0].endswith("of 5 on the beat)")


def test_the_reading_corner_takes_its_size_and_lists_the_rest():
    """Reading Corner takes reading_size blog posts; the next one is 'ranked below the Reading Corner'."""
    blogs = [_item(f"Essay {n} on platform regulation", f"In his blog post, the author argues that regulators "
                   f"should fine platforms for privacy breaches online, point {n}.", published=_on(WEEK_END))
             for n in range(3)]
    selection = curate(Ingested(items=tuple(blogs)), _rules(reading_size=2, duplicate_threshold=1.0))
    assert len(selection.reading_corner) == 2
    assert [left.reason for left in selection.left_out] == ["ranked below the Reading Corner (3rd of 3 blog posts)"]


@pytest.mark.parametrize(("number", "written"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                                                  (12, "12th"), (13, "13th"), (20, "20th"), (21, "21st"),
                                                  (22, "22nd"), (23, "23rd"), (101, "101st"), (111, "111th"),
                                                  (121, "121st")])
def test_ranks_read_as_ordinals(number, written):
    """'14th of 23 on the beat', as an editor writes it."""
    assert _ordinal(number) == written


# ---- what is left out before ranking ---------------------------------------------------------------------

def test_a_story_is_covered_only_if_it_names_a_name_of_the_past_story():
    """Google's Play Store ruling is not Apple's App Store ruling, however alike the words."""
    past = PastIssue(number=229, headline="h", source="p.txt", radar=(PastEntry(teaser=(
        "A US court ruled that Apple must open its App Store to rival payment systems and let developers link to "
        "outside payments, finding that the company broke an antitrust injunction.")),))
    google = _item("Google must open Play to rival payments, court rules", "A US court ruled that Google must "
                   "open its Play marketplace to rival payment systems and let developers link to outside payments, "
                   "finding that the company broke an antitrust injunction.", published=_on(WEEK_END))
    apple = _item("Court rules Apple must open App Store to rival payments", "A US court ruled that Apple must open "
                  "its App Store to rival payment systems and let developers link to outside payments, finding that "
                  "the company broke an antitrust injunction.", published=_on(WEEK_END))
    reasons = {left.title: left.reason for left in curate(Ingested(items=(google, apple), past_issues=(past,)),
                                                          _rules(duplicate_threshold=1.0)).left_out}
    assert google.title not in reasons and reasons[apple.title] == "covered by #229"


def test_outside_the_week_is_counted_and_undated_news_of_an_earlier_issue_is_left_out():
    """Selection.outside_week counts the dated items left out for their date; an undated item first seen for
    an earlier issue is that week's news."""
    old = _item("Court fines platform", "A court fined the platform over privacy.", published=_on(date(2025, 1, 2)))
    seen = _item("Regulator bans app", "The regulator banned the app over data protection breaches online.")
    selection = curate(Ingested(items=(old, seen)), _rules(seen_before={seen.id: 228}))
    assert selection.outside_week == 2 and selection.undated == 0
    assert {left.reason for left in selection.left_out} == {"outside the week (dated 2025-01-02)",
                                                            "undated, first seen for #228"}


def test_a_left_out_story_is_listed_by_its_title_or_first_words_up_to_120_characters():
    """An untitled item is listed by its first paragraph, cut at 120 characters."""
    long = _item(None, "Football " * 30)
    assert [len(left.title) for left in curate(Ingested(items=(long,)), _rules()).left_out] == [120]


def test_a_short_item_in_another_language_is_told_by_its_title_and_lead_together():
    """Too few words in the paragraphs alone; with the title, German is recognised."""
    german = _item("Die Regierung und das Gesetz für die digitale Verwaltung", "Das ist ein neues Gesetz.")
    assert [left.reason for left in curate(Ingested(items=(german,)), _rules()).left_out] == ["other language (de)"]


# ---- events ------------------------------------------------------------------------------------------------

def test_a_past_issues_event_on_the_weeks_last_day_is_still_ahead_and_listed_once():
    """The day the week ends counts as ahead; an event item announcing the same event replaces the past entry."""
    past = PastIssue(number=229, headline="h", source="p.txt", events=(
        PastEntry(teaser="Geneva Cyber Week opens on 16 May 2025.", image_alt="Geneva Cyber Week",
                  event_date=WEEK_END),
        PastEntry(teaser="The WSIS Forum opens on 7 July 2025.", image_alt="WSIS Forum", event_date=date(2025, 7, 7)),
    ))
    item = _item("WSIS Forum 2025", "The WSIS Forum will take place in Geneva, Switzerland, on 7-11 July 2025, with "
                 "sessions on digital governance and the internet.", kind="event")
    selection = curate(Ingested(items=(item,), past_issues=(past,)), _rules())
    assert [(pick.item.title, pick.when, pick.where) for pick in selection.events] == [
        ("Geneva Cyber Week", WEEK_END, None), ("WSIS Forum 2025", date(2025, 7, 7), "Geneva, Switzerland")]


def test_event_shapes():
    """An event word and 'will take place' with a date ahead; or a schedule block; a feed category; never a
    news story that only names a future date."""
    announced = _item("Summit on AI", "The summit will take place on 2 June 2025.")
    scheduled = _item("AI and diplomacy", "Date: 3 June 2025. Location: Online")
    tagged = _item("AI week", "Talks on AI.", tags=(" Events ",))
    news = _item("Law takes effect", "The law takes effect on 1 June 2025, the ministry said.")
    past = _item("Summit on AI", "The summit will take place on 2 May 2025.")
    blog = _item("Summit on AI", "The summit will take place on 2 June 2025.", kind="blog")
    assert [is_event(item, WEEK_END) for item in (announced, scheduled, tagged, news, past, blog)] == [
        True, True, True, False, False, False]
    assert start(announced, WEEK_END).start == date(2025, 6, 2) and start(past, WEEK_END) is None
    on_the_last_day = _item(None, "The summit will take place on 16 May 2025 in Nairobi, Kenya.")
    assert start(on_the_last_day, WEEK_END).start == WEEK_END and place(on_the_last_day) == "Nairobi, Kenya"
    head_only = _item("Forum", "Notes.", "More notes.", "The forum will take place on 2 June 2025.")
    assert not is_event(head_only, WEEK_END)  # the shape is in the title and first two paragraphs


@pytest.mark.parametrize(("text", "where"), [
    ("Venue: Palais des Nations, Geneva. The forum opens on 2 June 2025.", "Palais des Nations, Geneva"),
    ("The conference will be held in Nairobi, Kenya on 2 June 2025.", "Nairobi, Kenya"),
    ("Delegates gather in Addis Ababa, Ethiopia for the summit.", "Addis Ababa, Ethiopia"),
    ("A webinar on AI governance, 2 June 2025.", "Online"),
    ("The summit on online freedom will take place in Tunis in June.", "Tunis"),
    ("The meeting takes place in May in Oslo, Norway and online.", "Oslo, Norway and online"),
    ("The forum discusses online freedom and privacy.", None),
])
def test_an_events_place_comes_from_its_text(text, where):
    """City and country as written; 'Online' only for an online event; hybrid events say both."""
    assert place(_item("Event", text)) == where


def test_dates_as_news_and_event_pages_write_them():
    """Day first or month first, ranges, a year taken nearest the week, a bare month as the whole month."""
    assert [(m.start, m.end, m.day_given) for m in mentions(
        "From 23–27 June 2025; on June 3, 2025; on 12 February; in December; 30 June to 2 July", WEEK_START)] == [
        (date(2025, 6, 23), date(2025, 6, 27), True), (date(2025, 6, 3), date(2025, 6, 3), True),
        (date(2025, 2, 12), date(2025, 2, 12), True), (date(2024, 12, 1), date(2024, 12, 31), False),
        (date(2025, 6, 30), date(2025, 6, 30), True), (date(2025, 7, 2), date(2025, 7, 2), True)]
    assert mentions("in February 2024", WEEK_START)[0].end == date(2024, 2, 29)
    assert mentions("in February 2025", WEEK_START)[0].end == date(2025, 2, 28)
    assert mentions("on 31 April 2025", WEEK_START) == []
    assert mentions("on 23 June 2025", WEEK_START) == [mentions("on 23 June 2025", WEEK_START)[0]]  # one date
    assert [(m.start, m.end) for m in mentions("June 23–27, 2025", WEEK_START)] == [(date(2025, 6, 23),
                                                                                    date(2025, 6, 27))]
    assert mentions("on 20 December", date(2026, 1, 5))[0].start == date(2025, 12, 20)
    assert mentions("on 3 January", date(2025, 12, 20))[0].start == date(2026, 1, 3)
