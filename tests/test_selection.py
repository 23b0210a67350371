"""Selection an editor can trust: every item accounted for, grouped by why and never cut short; this week's
news ranked first; promotional copy left out; events with their place and date; `weekly why`.
Each editorial rule here has a test that fails when the rule changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import DATA, SEEDS, run_weekly
from labelled_set import labelled_set

from composer.config import Settings, load_taxonomy
from composer.curate import CurateRules, curate, rank
from composer.ingest import load_items
from composer.models import LEFT_OUT_GROUPS, Ingested, Item, PastEntry, PastIssue, content_id
from composer.pipeline import ComposeOptions, compose

WEEK_START = date(2025, 5, 9)  # a May week: 9 – 16 May 2025
IN_WEEK = datetime(2025, 5, 12, 9, tzinfo=UTC)
CORPUS = DATA / "corpus"


def _item(title: str | None, *paragraphs: str, published: datetime | None = IN_WEEK, **extra) -> Item:
    return Item(id=content_id(title, paragraphs), title=title, paragraphs=paragraphs, source="week.txt",
                published=published, **extra)


def _rules(**overrides) -> CurateRules:
    return CurateRules(taxonomy=load_taxonomy(), **{"issue_number": 230, "week_start": WEEK_START, **overrides})


def _accounted(ingested: Ingested, selection) -> set[str]:
    """The ids of the items neither in the issue nor in left_out (an item in both fails at once)."""
    shown = {pick.item.id for pick in (*selection.radar, *selection.reading_corner, *selection.events)}
    left = [left.item_id for left in selection.left_out]
    assert not shown & set(left), "an item is both in the issue and left out"
    assert len(left) == len(set(left)) or len(ingested.items) != len({i.id for i in ingested.items}), "listed twice"
    return {item.id for item in ingested.items} - shown - set(left)


# The held-out week's thirteen lost stories, and more of that week, written to resemble them.
WEEK_STORIES = [
    ("Commission opens DMA proceedings against Google over search self-preferencing",
     "The European Commission opened proceedings under the Digital Markets Act against Google, saying its search "
     "engine favours its own services over rivals', a breach that can bring fines of up to 10% of turnover."),
    ("FBI and CISA warn of ransomware targeting hospitals",
     "The FBI and CISA issued a joint advisory warning that a ransomware group is exploiting vulnerabilities in "
     "remote access software to break into hospital networks, and urged operators to patch at once."),
    ("Irish regulator and TikTok agree GDPR enforcement deal",
     "Ireland's Data Protection Commission and TikTok agreed a settlement under the GDPR over transfers of European "
     "users' personal data to China, with a fine of 530 million euros and an order to suspend the transfers."),
    ("France bans SkinnyTok trend from social media platforms",
     "The French government banned the SkinnyTok hashtag after the minister for digital affairs said the platform "
     "trend promoted extreme thinness to children; TikTok removed it from search within hours."),
    ("Court orders Apple to open its app store to rival payments",
     "A US court ruled that Apple must let app developers link to outside payment systems, finding that the company "
     "broke an earlier antitrust injunction; Apple said it would appeal the ruling."),
    ("EU parliament adopts position on child sexual abuse regulation",
     "Lawmakers in the European Parliament adopted their position on the regulation on online child sexual abuse "
     "material, rejecting the scanning of encrypted messages by platforms."),
    ("UK regulator fines telecom operator over data breach",
     "The UK data protection regulator fined a telecom operator for a breach that exposed the personal data of "
     "millions of customers to hackers in 2023."),
    ("Police dismantle phishing platform used by thousands of criminals",
     "Europol and national police dismantled a phishing-as-a-service platform and arrested its administrators, "
     "after criminals used it to steal bank credentials from victims across Europe."),
    ("US senators introduce bill on AI-generated deepfakes of candidates",
     "A bipartisan group of senators introduced a bill that would ban AI-generated deepfakes of federal candidates "
     "in election advertising, citing misinformation online ahead of the midterms."),
    ("Japan passes law to promote AI research and curb misuse",
     "Japan's parliament passed its first law on artificial intelligence, giving the government powers to "
     "investigate AI misuse and to ask companies to cooperate with its policy."),
    ("India orders X to block accounts during border conflict",
     "India's government ordered X to block thousands of accounts under its information technology law, and the "
     "platform said it disagreed with the orders on free-expression grounds."),
    ("Brazil's supreme court rules platforms liable for user posts",
     "Brazil's supreme court ruled that social media platforms can be held liable for illegal content posted by "
     "users, in a landmark judgment on the country's internet law."),
    ("Dutch watchdog investigates data centre water use",
     "The Dutch competition and consumer authority opened an investigation into the water and electricity use of "
     "data centres run by big tech companies near Amsterdam."),
]
OLD_NEWS = [
    ("Commission marks 10 years of GDPR",
     "The European Commission marks 10 years of the General Data Protection Regulation, the EU's data protection "
     "law, with a conference on its achievements for privacy online."),
    ("Leaders at February summit pledge safe AI",
     "Leaders met in Paris on 10 February 2025 at the AI Action Summit, where governments and tech companies "
     "pledged to develop artificial intelligence safely and to share research on its risks."),
]


def _week() -> list[Item]:
    return [_item(title, text) for title, text in (*WEEK_STORIES, *OLD_NEWS)]


def test_every_item_is_in_the_issue_or_left_out_with_a_reason():
    """15 stories on the beat for a Radar of 10: the five not taken are listed, each with its rank."""
    ingested = Ingested(items=tuple(_week()))
    selection = curate(ingested, _rules())
    assert len(selection.radar) == 10 and not _accounted(ingested, selection)
    below = [left for left in selection.left_out if left.group == "below"]
    assert len(below) == 5
    assert all("of 15 on the beat" in left.reason for left in below)


def test_anniversaries_and_stories_about_past_events_rank_below_this_weeks_news():
    """'Commission marks 10 years of GDPR' and a story about a February summit rank below every story of the
    week's events in a May week; the held-out week's lost stories (DMA, FBI/CISA, GDPR deal, SkinnyTok) make
    the Radar."""
    selection = curate(Ingested(items=tuple(_week())), _rules())
    ranked = [explained.title for explained in sorted(
        (e for e in selection.explanations if e.parts), key=lambda e: -e.parts["total"])]
    assert set(ranked[-2:]) == {title for title, _ in OLD_NEWS}
    radar = {pick.item.title for pick in selection.radar}
    assert {title for title, _ in WEEK_STORIES[:4]} <= radar
    reasons = {left.title: left.reason for left in selection.left_out}
    assert reasons["Commission marks 10 years of GDPR"].startswith("ranked below the Radar")


def test_the_left_out_list_is_grouped_with_stories_on_the_beat_first_and_never_cut_short(tmp_path):
    """300 items, most dated before the week: the draft lists every one not in the issue, stories on the beat
    that were not chosen first, then by kind of reason in a fixed order."""
    old = [_item(f"Story {n} about the football league", f"The club won match {n} of the season at home.",
                 published=datetime(2025, 1, 1, tzinfo=UTC)) for n in range(285)]
    ingested = Ingested(items=tuple([*_week(), *old]))
    selection = curate(ingested, _rules())
    assert len(selection.left_out) == 300 - len(selection.radar) and not _accounted(ingested, selection)
    order = [LEFT_OUT_GROUPS.index(left.group) for left in selection.left_out]
    assert order == sorted(order) and selection.left_out[0].group == "below"
    from composer.pipeline import style_for
    from composer.summarise import summarise

    draft, _ = summarise(selection, style_for(Settings().issue, load_taxonomy()))
    assert draft.left_out == selection.left_out


def test_corpus_and_seeds_leave_no_item_unaccounted_for(tmp_path):
    """The corpus copies and the seeds, composed as one week (the issue measured 211 items nowhere)."""
    paths = [CORPUS, SEEDS]
    settings = Settings(output={"dir": str(tmp_path / "out")}, issue={"first_number": 1})
    composed = compose(paths, settings, ComposeOptions(), load_items([SEEDS]).past_issues[0].week_end)
    draft = composed.draft
    ids = {item.id for item in load_items(paths).items}
    shown = {entry.item_id for entry in draft.sections.entries()}
    assert len(ids) == 422 and not ids - shown - {left.item_id for left in draft.left_out}


def test_each_corpus_file_as_a_week_leaves_no_item_unaccounted_for():
    """Every corpus feed and the labelled set, each composed as its own week."""
    for path in sorted(p for p in CORPUS.iterdir() if p.name != "README.md"):
        ingested = load_items([path])
        dates = [item.published.date() for item in ingested.items if item.published]
        start = max(dates) - timedelta(days=6) if dates else WEEK_START
        selection = curate(ingested, _rules(week_start=start))
        assert not _accounted(ingested, selection), path.name
    everything = Ingested(items=tuple(entry.item for entry in labelled_set()))
    assert not _accounted(everything, curate(everything, _rules()))


# ---- the rules of the week, each with a test that fails when it changes ----------------------------------

def test_the_weeks_first_and_last_day_are_in_the_week():
    """Items dated the first and the last day are the week's; the day before and after are not."""
    base = WEEK_STORIES[0]
    days = {offset: _item(f"{base[0]} ({offset})", base[1],
                          published=datetime.combine(WEEK_START + timedelta(days=offset), datetime.min.time(), UTC))
            for offset in (-1, 0, 7, 8)}
    selection = curate(Ingested(items=tuple(days.values())), _rules(duplicate_threshold=1.0))
    outside = {left.item_id for left in selection.left_out if left.group == "outside_week"}
    assert outside == {days[-1].id, days[8].id}


def test_radar_size_is_the_radar_size():
    """issue.radar_size stories, no more."""
    assert len(curate(Ingested(items=tuple(_week())), _rules(radar_size=7)).radar) == 7


def test_a_pin_brings_back_a_covered_story():
    """A story a past issue told is left out as covered, unless the editor pins it."""
    past = PastIssue(number=229, headline="h", source="p.txt", radar=(PastEntry(teaser=(
        "The European Commission opened proceedings under the Digital Markets Act against Google over search "
        "self-preferencing, which can bring fines of up to 10% of turnover.")),))
    ingested = Ingested(items=tuple(_week()), past_issues=(past,))
    dma = WEEK_STORIES[0][0]
    reasons = {left.title: left.reason for left in curate(ingested, _rules()).left_out}
    assert reasons[dma] == "covered by #229"
    pinned = curate(ingested, _rules(pins=("DMA proceedings",)))
    assert dma == pinned.radar[0].item.title


def test_undated_stories_rank_below_dated_news_of_equal_merit():
    """The same story undated scores the undated penalty (and half the recency) less than dated on the last day."""
    from composer.curate.classify import TaxonomyPatterns, fit

    week_end = WEEK_START + timedelta(days=7)
    dated = _item(*WEEK_STORIES[1], published=datetime.combine(week_end, datetime.min.time(), UTC))
    undated = _item(*WEEK_STORIES[1], published=None)
    fitted = fit(dated, TaxonomyPatterns(load_taxonomy()))
    scores = [rank.score_parts(item, 0.8, 1, 400, fitted, WEEK_START, week_end).total for item in (dated, undated)]
    assert scores[0] - scores[1] == pytest.approx(rank.UNDATED_PENALTY + rank.WEIGHTS["recency"] * 0.5)


def test_a_story_is_stale_only_when_every_date_it_names_is_weeks_before_the_week():
    """STALE_DAYS before the week's first day is still this week's context; a day earlier is stale."""
    def stale(day: date) -> bool:
        item = _item("Ministers meet on AI rules", f"Ministers met on {day.day} {day:%B %Y} to agree rules for AI.")
        return bool(rank._stale(f"{item.title} {item.paragraphs[0]}", item, WEEK_START))
    edge = WEEK_START - timedelta(days=rank.STALE_DAYS)
    assert not stale(edge) and stale(edge - timedelta(days=1)) and not stale(WEEK_START + timedelta(days=20))


@pytest.mark.parametrize(("title", "acted"), [
    ("Regulator fines Meta over data transfers", True),
    ("FBI and CISA issue advisory on ransomware", True),
    ("Court orders Google to pay publishers", True),
    ("Meta announces new privacy features", False),
    ("Hackers claim to have fined nobody", False),  # an act needs an authority
])
def test_an_authoritys_act_ranks_as_news(title, acted):
    """Enforcement and advisories earn the action bonus; a company's announcement does not."""
    assert (rank._action(title, "") is not None) is acted


def test_promotional_copy_is_left_out_with_the_reason_and_a_sales_line_late_in_news_is_not():
    """A vendor's research page ('Explore … research. Learn how …') is left out as promotional; a news story
    whose last paragraph carries a publisher's call to action stays."""
    vendor = _item("Threat actors target cloud identities",
                   "Explore Acme Labs research on the ransomware groups behind this year's attacks on cloud identity "
                   "systems. Learn how our platform stops credential theft before hackers exploit it.")
    news = _item("Hackers steal data from airline's cloud systems",
                 "Hackers stole passenger data from an airline's cloud systems, the company told regulators.",
                 "The attackers exploited a vulnerability in a vendor's software.", "Police are investigating.",
                 "Sign up today for our security newsletter.")
    selection = curate(Ingested(items=(vendor, news)), _rules())
    reasons = {left.title: left.reason for left in selection.left_out}
    assert reasons[vendor.title] == "promotional (call to action: 'Explore Acme Labs research')"
    assert [pick.item.id for pick in selection.radar] == [news.id]


# ---- events ---------------------------------------------------------------------------------------------

RIGHTSCON = _item("RightsCon 2026", "RightsCon, the summit on human rights in the digital age, will take place "
                  "5–8 May 2026 in Lusaka, Zambia, bringing together activists, tech companies and governments who "
                  "defend online freedom.", tags=("Events",))
IGF = _item("Internet Governance Forum 2025", "The 20th annual meeting of the Internet Governance Forum will be held "
            "in Lillestrøm, Norway, from 23 to 27 June 2025, both in person and online. Registration is open.",
            published=datetime(2025, 4, 1, tzinfo=UTC))
WEBINAR = _item("AI and diplomacy", "Join us for a webinar on AI and diplomacy. Date: 3 June 2025. Time: 14.00 CEST. "
                "Location: Online", published=datetime(2025, 4, 20, tzinfo=UTC))


def test_events_have_their_place_and_first_day_from_their_text():
    """Place from the text (city, country), never the URL's host; 'Online' only for an online event; a date
    range starts on its first day; a feed's 'Events' category and an event-shaped announcement are events."""
    selection = curate(Ingested(items=(RIGHTSCON, IGF, WEBINAR, *(_item(t, x) for t, x in WEEK_STORIES))), _rules())
    events = {pick.item.title: (pick.when, pick.where) for pick in selection.events}
    assert events == {
        "AI and diplomacy": (date(2025, 6, 3), "Online"),
        "Internet Governance Forum 2025": (date(2025, 6, 23), "Lillestrøm, Norway and online"),
        "RightsCon 2026": (date(2026, 5, 5), "Lusaka, Zambia"),
    }


def test_an_event_a_past_issue_announced_is_not_covered():
    """#229 announced the IGF; the IGF's own page this week still reaches Upcoming Events."""
    past = PastIssue(number=229, headline="h", source="p.txt", radar=(PastEntry(teaser=(
        "The Internet Governance Forum will be held in Lillestrøm, Norway, from 23 to 27 June 2025; registration "
        "for the 20th annual meeting is open.")),))
    selection = curate(Ingested(items=(IGF, *(_item(t, x) for t, x in WEEK_STORIES)), past_issues=(past,)), _rules())
    assert IGF.id in {pick.item.id for pick in selection.events}


def test_an_event_with_no_date_after_the_week_is_accounted_for():
    """An event item whose dates are all past is left out with the reason, not dropped."""
    past_event = _item("Webinar on cyber norms", "The webinar on cyber norms and international law took place on "
                       "2 May 2025 online, with diplomats of UN member states.", kind="event")
    selection = curate(Ingested(items=(past_event,)), _rules())
    assert [(left.item_id, left.reason) for left in selection.left_out] == [
        (past_event.id, "an event with no date after the week")]


def test_events_beyond_the_list_are_accounted_for():
    """Upcoming Events lists events_size events, soonest first; the later ones are left out by rank."""
    ingested = Ingested(items=(RIGHTSCON, IGF, WEBINAR))
    selection = curate(ingested, _rules(events_size=2))
    assert not _accounted(ingested, selection)
    assert [pick.item.title for pick in selection.events] == ["AI and diplomacy", "Internet Governance Forum 2025"]
    assert {left.title: left.reason for left in selection.left_out}["RightsCon 2026"] == (
        "after the first 2 upcoming events (3rd of 3 upcoming events)")


# ---- weekly why -------------------------------------------------------------------------------------------

def test_weekly_why_shows_an_items_outcome_and_score_parts(tmp_path):
    """`weekly why WORDS` prints the outcome, relevance cues, basket and the score's parts; an unknown item is
    one line on stderr and exit 1."""
    env = {"WEEKLY_OUTPUT__DIR": str(tmp_path / "out"), "WEEKLY_ISSUE__FIRST_NUMBER": "1"}
    done = run_weekly("why", "China looks to build", str(SEEDS), env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "outcome: left out: ranked below the Radar" in out
    assert "relevance:" in out and "basket: Legal and regulatory" in out
    assert "centrality" in out and "recency" in out and "sources" in out
    assert "sign: about 12 February 2025, weeks before the week" in out
    missing = run_weekly("why", "no such story anywhere", str(SEEDS), env=env)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
