"""The context-leaning detector: sentences that point back at what the reader never saw, and ones that stand alone."""

from __future__ import annotations

import pytest

from composer.summarise.context import leans

DORIA = ("Avri Doria, a long-time member of the IGF community, looked back on two decades. Doria described the IGF "
         "as a critical learning platform and a ‘home for evolving objectives’.")
MACRON = "French President Emmanuel Macron opened the summit in Paris. Macron drew comparisons to the rapid rebuild."


@pytest.mark.parametrize(
    ("sentence", "heading", "article"),
    [
        # issue 20, from a real week and the seeds
        ("Doria described the IGF as a critical learning platform and a ‘home for evolving objectives’ that has "
         "helped connect people.", "", DORIA),
        ("Macron drew comparisons to the rapid reconstruction of the Notre-Dame cathedral.", "", MACRON),
        ("Over $30 billion of the funding will be directed towards research and development, helping IBM advance in "
         "areas such as mainframe and quantum computer production.", "", ""),
        ("Google did not provide additional information about the scale or specific campaign targets.", "", ""),
        ("‘Humanity’s fate cannot be left to an algorithm,’ he stressed.", "", ""),
        ("The milestone was shared during a company livestream on Tuesday.", "OpenAI reaches 800 million users", ""),
        ("About 2 percent say they often get news this way, up from last year.", "Young adults turn to TikTok", ""),
        ("The group said it would appeal the decision in the coming weeks.", "Hackers leak data of a bank", ""),
        ("The disagreement centres on how much data the platform may keep.", "EU and US talk data flows", ""),
        ("The order takes effect on Monday and covers all federal agencies.", "Trump signs AI directive", ""),
        ("The initiative will run until 2027 with support from member states.", "UNESCO launches AI ethics plan", ""),
        ("The company claims Qwen3 significantly improves reasoning and tool use.", "Alibaba launches Qwen3 AI model",
         ""),
        ("As Cyber Smart Week begins, the agency is launching a free tool to help people check their data.",
         "Over 4.3 million New Zealand account details exposed online", ""),
        ("A plan that includes major expansions of its Saint-Ghislain data centre campuses and the creation of 300 "
         "full-time jobs.", "Google announces €5 billion investment in Belgium", ""),
        ("We decided to test how the code works by pretending to shop on sites that use it.", "", ""),
        ("In 2015 I wrote that Dropbox could be the king of the one-page app.", "", ""),
        # connectives, pronouns, possessives, demonstratives
        ("However, Beijing’s official response has been less explicit.", "", ""),
        ("In contrast, TikTok’s operations in the US continue to face hurdles.", "", ""),
        ("He also suggested any agreement could be delayed.", "", ""),
        ("Its new model will be available in the spring.", "", ""),
        ("This is the first time the regulator has used its powers.", "", ""),
        ("The law requires platforms to remove such content upon request.", "", ""),
        ("The bill, approved by a 409-2 vote, criminalises the distribution of imagery.", "Senate debates AI", ""),
        ("Despite these tactical shifts, the policy remains one of continuity.", "", ""),
    ],
)
def test_sentences_that_lean_on_context(sentence, heading, article):
    """Each of these points back at something the reader of a teaser or the editorial never saw."""
    assert leans(sentence, heading=heading, article=article)


@pytest.mark.parametrize(
    ("sentence", "heading"),
    [
        ("Microsoft’s AI Economy Institute has released its 2025 AI Diffusion Report, detailing global AI adoption.",
         ""),
        ("The White House has revealed that US companies will take control of TikTok’s algorithm, with Americans "
         "occupying six of seven board seats overseeing the platform’s operations in the country.", ""),
        ("The US House of Representatives has passed the ‘Take It Down’ Act with overwhelming bipartisan support.", ""),
        ("IBM has announced a major investment plan worth $150 billion over the next five years.", ""),
        ("At the Internet Governance Forum 2025 in Norway, a high-level panel of global experts highlighted the "
         "urgent need to embed language inclusion into internet governance.", ""),
        ("As the AI race intensifies in China, Alibaba has unveiled Qwen3, the latest version of its open-source "
         "large language model.", ""),
        ("The creation of the robotics unit was revealed on social media by Qwen researcher Lin Junyang.", ""),
        ("Chinese social media giant TikTok is preparing to launch its online shopping service in Japan.", ""),
        ("This week, the European Commission opened an investigation into X over its recommender system.", ""),
        ("According to the White House, data protection for American users will be managed by Oracle.", ""),
        ("The internet has become the main source of news for young adults in the US.", ""),
        ("The bill, approved by a 409-2 vote, criminalises the distribution of non-consensual imagery.",
         "Deepfake victims gain new rights with House-approved bill"),
        ("Washington has long pushed to separate TikTok’s American operations from its Chinese parent company.", ""),
        ("Paul Atkins has been sworn in as the 34th Chair of the US Securities and Exchange Commission.", ""),
        ("Countries with robust foundations, such as the UAE and Norway, have seen rapid adoption.", ""),
        ("‘Humanity’s fate cannot be left to an algorithm,’ UN Secretary-General António Guterres stressed.", ""),
    ],
)
def test_sentences_that_stand_alone(sentence, heading):
    """Names, self-introducing descriptions ('the creation of …') and calendar words ('This week') stand alone."""
    assert leans(sentence, heading=heading) is None


def test_a_sentence_may_lean_on_the_one_before_it_in_the_same_text():
    """'It' after a sentence naming its referent is fine: a teaser of two sentences reads as one text."""
    assert leans("It is teaming up with other financial institutions.") is not None
    assert leans("It is teaming up with other financial institutions.",
                 before="Dutch banking giant ING is preparing to launch a Euro-based stablecoin.") is None


def test_a_surname_is_fine_once_the_full_name_was_given():
    """'Atkins' after 'Paul Atkins' was shown, or with the full name in the same sentence."""
    article = "Paul Atkins has been sworn in as SEC chair. Atkins is expected to bring clarity to crypto rules."
    assert leans("Atkins is expected to bring clarity to crypto rules.", article=article) == "names 'Atkins' by surname only"
    assert leans("Atkins is expected to bring clarity to crypto rules.", before="Paul Atkins was sworn in.",
                 article=article) is None


@pytest.mark.parametrize(("sentence", "heading", "article", "reason"), [
    ("On top of that, the firm cut prices.", "", "", "opens with 'On', which continues an earlier sentence"),
    ("Not only did the firm cut prices, it also hired staff.", "", "",
     "opens with 'Not', which continues an earlier sentence"),
    ("Still, the market grew by 5% in a year.", "", "", "opens with 'Still', which continues an earlier sentence"),
    ("The latter was fined €5 million by the regulator in Dublin.", "", "",
     "opens with 'The', which continues an earlier sentence"),
    ("They said the rules would apply from May.", "", "", "its subject is the pronoun 'They'"),
    ("Speaking at the summit, he said AI needs rules.", "", "", "its subject is the pronoun 'he'"),
    ("Their lawyers said the rules would apply from May.", "", "", "opens with the possessive 'Their'"),
    ("These rules will apply from May in all member states.", "", "",
     "its subject is 'These', which points back at an earlier sentence"),
    ("That was the first fine under the law.", "", "", "its subject is 'That', which points back at an earlier sentence"),
    ("Such content must be removed within an hour.", "", "", "'Such content' points back at an earlier sentence"),
    ("The egregiousness of this is clear to the regulators in Brussels.", "", "",
     "'this' points back at an earlier sentence"),
    ("We tested the tool on three phones.", "", "", "speaks in the article's own voice ('We')"),
    ("The agency said the fine was fair.", "", "", "'the agency' was never introduced"),
    ("Founded in 2010, the firm now employs 300 people.", "", "", "'the firm' was never introduced"),
    ("The move also aims to support US growth.", "", "", "'the move' was never introduced"),
    ("Google did not share the figures about the scale.", "", "",
     "'the scale' points back at something the reader has not read"),
    ("Officials said the app would comply.", "", "", "'the app' points back at something the reader has not read"),
    ("Meta will appeal, said the spokesperson.", "", "",
     "a speech verb whose speaker, 'the spokesperson', was never introduced"),
    ("Meta will appeal, the spokesperson said.", "", "",
     "a speech verb whose speaker, 'the spokesperson', was never introduced"),
    ("‘We will appeal,’ she said.", "", "", "a speech verb with no named speaker"),
    ("Doria said the forum matters.", "", "Avri Doria spoke first. Doria said the forum matters.",
     "names 'Doria' by surname only"),
    ("A plan that includes new data centres.", "", "", "is a fragment with no main verb"),
])
def test_each_way_of_leaning_is_named(sentence, heading, article, reason):
    """The detector says which way a sentence leans: the editor (and a refused LLM answer's note) can tell why."""
    assert leans(sentence, heading=heading, article=article) == reason


@pytest.mark.parametrize(("sentence", "heading", "article"), [
    ("The agency said the fine was fair.", "Agency fines Meta over ads", ""),  # the heading introduced it
    ("Doria said the forum matters.", "", "The Doria report came out. Doria said the forum matters."),  # no full name
    ("A plan that includes new data centres was approved on Monday.", "", ""),
    ("The US and the EU agreed on a data deal this week.", "", ""),
    ("The world is watching the trial in Washington.", "", ""),
    ("These days phones are cheaper than ever.", "", ""),
    ("The group of experts met in Geneva.", "", ""),
    ("The group that hacked the bank was arrested in Spain.", "", ""),
    ("TikTok said the platform would comply with US law.", "", ""),
    ("Meta will appeal, the company’s spokesperson said on Monday.", "", ""),
    ("The spokesperson for the European Commission said the fine was fair.", "", ""),
    ("In 2024, the US Congress passed a law on data brokers.", "", ""),
    ("I", "", ""),
    ("", "", ""),
])
def test_what_does_not_lean(sentence, heading, article):
    """Introduced by the heading, a name that is no surname, a relative clause with its verb, names, the
    calendar, a description that says which one, an entity named before its noun."""
    assert leans(sentence, heading=heading, article=article) is None


@pytest.mark.parametrize(("sentence", "heading", "reason"), [
    ("This works.", "", "its subject is 'This', which points back at an earlier sentence"),
    ("The bugs affect all versions of Chrome.", "Bug found in Chrome", None),  # 'bugs' met as 'Bug'
    ("A plan that works.", "", "is a fragment with no main verb"),
    ("Plans that include new data centres.", "", None),  # no article: a headline-like phrase, not a fragment
    ("A big new plan for data centres that includes jobs.", "", None),  # the relative comes too late to tell
])
def test_the_detectors_edges(sentence, heading, reason):
    """Two-word sentences, a plural met in the singular, the shortest fragment, and the window a fragment is
    looked for in."""
    assert leans(sentence, heading=heading) == reason
