"""What is on the beat and in which basket: cues by word form, security incidents, competition authorities,
the relevance rule's parts (each fails when the rule changes), the issue's examples, and the figures on the
hand-labelled set (tests/data/labelled)."""

from __future__ import annotations

from datetime import date

import pytest
from labelled_set import figures, labelled_set

from composer.config import load_taxonomy
from composer.curate import CurateRules, curate
from composer.curate.classify import TaxonomyPatterns, classify, fit
from composer.curate.cues import Cues, forms
from composer.models import Ingested, Item, content_id

PATTERNS = TaxonomyPatterns(load_taxonomy())


def _item(title: str | None, *paragraphs: str, **extra) -> Item:
    return Item(id=content_id(title, paragraphs), title=title, paragraphs=paragraphs, source="week.txt", **extra)


# ---- cues by word form -------------------------------------------------------------------------------

@pytest.mark.parametrize(("cue", "finds", "misses"), [
    ("vulnerability", {"vulnerabilities"}, set()),
    ("attacker", {"attackers"}, set()),
    ("hackers", {"hacker"}, set()),
    ("authorities", {"authority"}, set()),
    ("exploited", {"exploiting"}, {"exploit"}),
    ("banned", {"banning"}, {"ban", "bans"}),
    ("fines", set(), {"fine"}),            # "a fine example": the adjective is never added
    ("sentenced", {"sentencing"}, {"sentences"}),
    ("state", {"states"}, {"stated"}),     # a base form keeps to its noun forms
    ("media", set(), {"medium"}),          # only regular relatives
    ("data breach", {"data breaches"}, set()),
])
def test_a_cue_finds_the_forms_of_its_lemma_and_nothing_else(cue, finds, misses):
    """Cues match by lemma: singular and plural, the verb's past and -ing forms when the cue is one."""
    assert finds <= forms(cue) and not misses & forms(cue)


def test_matches_count_as_the_cue_they_stand_for():
    """'court' and 'courts' in one story are one distinct cue; a cue may open a compound but not close one."""
    cues = Cues(["court", "ai", "commerce", "x"])
    assert cues.distinct("the court and two courts") == {"court"}
    assert cues.found("ai-powered tools") == ["ai"]
    assert cues.found("e-commerce and x-ray") == []


# ---- the relevance rule, part by part -----------------------------------------------------------------

def test_a_story_needs_the_digital_world_and_its_policy():
    """Digital cues alone or policy cues alone are off the beat; both together are on it."""
    digital = _item("New smartphone app and website", "The software runs on every computer and browser online.")
    policy = _item("Parliament passes a budget law", "The government and the ministry sent the legislation to the court.")
    both = _item("Parliament passes a law on smartphone apps", "The government wants the software regulated online.")
    assert not fit(digital, PATTERNS).on_beat and not fit(policy, PATTERNS).on_beat and fit(both, PATTERNS).on_beat


def test_min_score_is_the_bar():
    """Exactly min_score points is on the beat, one fewer is not (title cues count twice)."""
    rules = PATTERNS.relevance
    at_bar = _item(None, "The regulator looked at the app and the platform of the website.")
    assert fit(at_bar, PATTERNS).score == rules.min_score and fit(at_bar, PATTERNS).on_beat
    below = _item(None, "The regulator looked at the app and the platform.")
    assert fit(below, PATTERNS).score == rules.min_score - 1 and not fit(below, PATTERNS).on_beat


def test_a_cyber_incident_alone_is_on_the_beat():
    """One security cue in the lead counts on both sides, twice: enough without any other cue."""
    outage = _item(None, "Three DDoS waves disrupted payment services on Monday night.")
    assert fit(outage, PATTERNS).on_beat and "ddos" in fit(outage, PATTERNS).digital


def test_money_alone_is_policy_only_at_scale():
    """One economy cue does not make a tech story policy; two do (or one in the title)."""
    one = _item(None, "The software company said its cloud platform grew after an investment from its founders.")
    two = _item(None, "The software company said its cloud platform grew after a billion-dollar investment.")
    assert not fit(one, PATTERNS).on_beat and fit(two, PATTERNS).on_beat


def test_context_words_add_to_the_score_but_never_make_policy():
    """'National', 'strategy', 'Washington' name politics and places off the beat as well."""
    item = _item("National strategy for apps", "Washington and Beijing app stores, online and digital.")
    result = fit(item, PATTERNS)
    assert result.context and not result.policy and not result.on_beat


def test_ai_and_crypto_stories_are_on_the_beat_for_their_own_sake():
    """A story that names AI in its title, or twice in its lead, is on the beat without a policy word."""
    titled = _item("Alibaba launches Qwen3 AI model", "The company says it reasons better than earlier versions.")
    twice = _item(None, "Google is expanding access to Opal, its AI mini-app builder; the AI-powered tool needs no code.")
    once = _item(None, "Google is expanding access to Opal, its AI mini-app builder, to more countries.")
    assert fit(titled, PATTERNS).topic == "AI" and fit(twice, PATTERNS).on_beat
    assert not fit(once, PATTERNS).on_beat


def test_how_tos_reviews_and_videos_are_not_news():
    """A how-to is left out as no news story, with the phrase that shows it, whatever it mentions."""
    how_to = _item("How to comply with the GDPR in your app", "Regulators fined apps for privacy breaches.")
    result = fit(how_to, PATTERNS)
    assert not result.on_beat and result.reason() == "not a news story ('how to' in the title)"


def test_a_rejection_names_its_cue_counts():
    """The reason an editor reads says how many digital and policy cues the story had."""
    assert fit(_item("Oscar winners celebrate", "The actress won best picture."), PATTERNS).reason() == (
        "off-topic (0 digital and 0 policy cues)")


# ---- the issue's examples ------------------------------------------------------------------------------

CISCO = _item("Cisco ISE flaws under active attack",
              "Attackers are exploiting two critical vulnerabilities in Cisco Identity Services Engine to run code as "
              "root on unpatched devices, the company warned on Monday.",
              "The flaws can be exploited without logging in; Cisco urged customers to install the fixes at once.")
IRAN = _item("Iran-linked hackers expand infrastructure as SharePoint RCE comes under attack",
             "State-linked hackers tied to Iran have registered new domains and servers, researchers said, as "
             "attackers exploit a remote code execution flaw in on-premises SharePoint servers.")
SOUTH_AFRICA = _item("South Africa's competition authority orders Google to pay local news publishers",
                     "South Africa's Competition Commission ordered Google to compensate news media for the use of "
                     "their content in search, after an inquiry into digital platforms and the media.")
UN_CHIEF = _item("UN Secretary-General urges global guardrails for AI",
                 "The UN Secretary-General called on governments to agree binding rules for artificial intelligence "
                 "and an international scientific panel, warning that AI governance cannot be left to companies.")
PAYROLL = _item("Data breach at payroll firm exposes employees' records",
                "Hackers stole the names, bank details and social security numbers of thousands of employees from a "
                "payroll provider's systems, the company told regulators.")
META_SETTLEMENT = _item("Meta agrees to settle child-safety lawsuit",
                        "Meta agreed to a settlement with state attorneys general who sued the company over harm to "
                        "children on Instagram and Facebook; the deal includes design changes and a payment.")
THREAT_ESSAY = _item("Inside a ransomware crew's infrastructure",
                     "Our threat research team traced how the ransomware group rents servers, recycles malware loaders "
                     "and moves stolen data through cloud storage, and what defenders can learn from it.")


@pytest.mark.parametrize("item", [CISCO, IRAN, SOUTH_AFRICA], ids=["cisco", "iran", "south-africa"])
def test_the_security_and_competition_stories_the_issue_lost_are_on_the_beat(item):
    """Exploited flaws, state-linked hackers and a competition authority acting on Google are on the beat."""
    assert fit(item, PATTERNS).on_beat, fit(item, PATTERNS)


@pytest.mark.parametrize(("item", "basket"), [
    (CISCO, "Cybersecurity"), (IRAN, "Cybersecurity"), (SOUTH_AFRICA, "Legal and regulatory"),
    (UN_CHIEF, "Legal and regulatory"), (PAYROLL, "Cybersecurity"), (META_SETTLEMENT, "Legal and regulatory"),
    (THREAT_ESSAY, "Cybersecurity"),
], ids=["cisco", "iran", "south-africa", "un-chief-on-ai", "payroll-breach", "meta-settlement", "threat-essay"])
def test_the_issues_stories_go_to_the_right_basket(item, basket):
    """The UN chief on AI is AI governance, a payroll breach and a threat-research essay are cybersecurity,
    Meta's child-safety settlement is legal, not economic."""
    assert classify(item, PATTERNS).basket == basket



def test_a_word_counts_once_in_its_basket_though_two_of_its_lists_name_its_forms():
    """"payments" among a basket's cues and "payment" among its strong ones are one word: it counts three
    times, not four (it did, once cues matched by word form), so it cannot outweigh a strong cue elsewhere."""
    from composer.config import Taxonomy

    taxonomy = Taxonomy.model_validate({"default_basket": "Money", "baskets": {
        "Security": {"theme": "s", "cues": [], "strong": ["ddos"], "related": ["attack"]},
        "Money": {"theme": "m", "cues": ["payments"], "strong": ["payment"], "related": ["payments"]}}})
    item = _item(None, "A DDoS hit payment services for hours.")
    assert classify(item, TaxonomyPatterns(taxonomy)).hits == {"Security": 3, "Money": 3}


@pytest.mark.parametrize(("item", "basket"), [
    (_item(None, "A wave of DDoS attacks took down an online retailer's payment gateway for six hours on "
           "Friday."), "Cybersecurity"),
    (_item(None, "Regulators want a breakup of the company's ad-tech business and the sale of its exchange, "
           "a remedy that would reshape the market."), "Legal and regulatory"),
    (_item("Microsoft to spend €3 billion on Spanish data centres", "The company plans to build two data centre "
           "campuses and a cloud region, with new power grid links."), "Infrastructure"),
], ids=["ddos-on-payments", "antitrust-breakup", "data-centre-investment"])
def test_the_act_decides_the_basket_not_the_sector_it_hits(item, basket):
    """An attack on payment services is cybersecurity, a forced break-up is a court's or regulator's act,
    a data-centre build-out is infrastructure: the sector's or the firm's words ("payment", "company",
    "plan", "sale") do not outweigh the act."""
    assert classify(item, PATTERNS).basket == basket, classify(item, PATTERNS).hits

# ---- the hand-labelled set -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def labelled():
    return labelled_set()


def test_the_labelled_set_is_big_enough_and_read_without_shared(labelled):
    """At least 150 items, read from tests/data alone (a fresh clone has no ../shared)."""
    assert len(labelled) >= 150 and sum(entry.on_beat for entry in labelled) >= 30


def test_relevance_on_the_labelled_set(labelled):
    """False rejects at most 2 of the 50 stories on the beat (the two whose text says nothing digital), false
    accepts at most 14 of 389 (docs/benchmarks.md lists them)."""
    result = figures(labelled, PATTERNS)
    assert len(result.false_rejects) <= 2, [entry.item.title for entry in result.false_rejects]
    assert len(result.false_accepts) <= 14, [entry.item.title for entry in result.false_accepts]


def test_baskets_on_the_labelled_set(labelled):
    """At least 88 % (44 of 50) of the stories on the beat go to their labelled basket (docs/benchmarks.md lists
    the confusions)."""
    assert figures(labelled, PATTERNS).basket_accuracy >= 0.88


def test_no_off_topic_story_reaches_the_radar_of_the_labelled_week(labelled):
    """The whole labelled set as one week: every Radar entry is a story labelled on the beat."""
    on_beat = {entry.item.id: entry.on_beat for entry in labelled}
    items = tuple(entry.item.model_copy(update={"published": None}) for entry in labelled)
    selection = curate(Ingested(items=items), CurateRules(taxonomy=load_taxonomy(), issue_number=210,
                                                         week_start=date(2025, 4, 25)))
    assert len(selection.radar) == 10 and all(on_beat[pick.item.id] for pick in selection.radar)
