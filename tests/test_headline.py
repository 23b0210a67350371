"""Headlines from lead sentences: who does what, present tense, at most 90 characters."""

from __future__ import annotations

import pytest

from composer.summarise.headline import headline


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        ("The US tech giant, Google, has announced a €5 billion investment in Belgium to strengthen its AI and "
         "cloud infrastructure over the next two years.", "Google announces €5 billion investment in Belgium"),
        ("The US startup OpenAI has broadened access to its affordable ChatGPT Go plan, now available in 16 "
         "additional countries across Asia.", "OpenAI broadens access to its affordable ChatGPT Go plan"),
        ("Over 4.3 million New Zealand account details have been exposed online, according to the National Cyber "
         "Security Centre.", "Over 4.3 million New Zealand account details exposed online"),
        ("As the AI race intensifies in China, Alibaba has unveiled Qwen3, the latest version of its open-source "
         "large language model.", "Alibaba unveils Qwen3"),
        ("On 29 July 2025, the UN Economic and Social Council (ECOSOC) adopted a resolution titled ‘Assessment of "
         "the progress made’.", "UN Economic and Social Council adopts resolution"),
        ("Thales, one of Europe’s largest satellite manufacturers, has warned governments against becoming too "
         "dependent on private satellite systems.", "Thales warns governments against becoming too dependent on private satellite systems"),
        ("Chinese social media giant TikTok is preparing to launch its online shopping service in Japan within the "
         "coming months.", "TikTok prepares to launch its online shopping service in Japan"),
    ],
)
def test_headline_from_lead_sentence(lead, expected):
    """Lead-ins, appositives and trailing clauses go; the verb turns present."""
    assert headline(lead) == expected


def test_headline_never_exceeds_90_characters_nor_ends_on_a_dangling_word():
    """A very long sentence is cut at a phrase boundary, not mid-word and not after 'the' or 'of'."""
    lead = ("The ministries of finance, justice, trade and national economy were instructed to integrate databases "
            "under the Smart Data Finance system and to finalise an automated risk management system for company "
            "registration by 25 November.")
    result = headline(lead)
    assert len(result) <= 90
    assert result.split()[-1].lower() not in {"the", "of", "a", "to", "and"}
    assert lead.replace(",", "").find(result.split()[-1]) >= 0


@pytest.mark.parametrize("broken", [
    "Lawmakers in Virginia prepares fresh efforts to regulate AI",
    "Attackers begins actively targeting critical vulnerabilities",
    "Federal judge rules that Google and AI startup Character.AI must face a lawsuit brought",
    "Iranian man pleads guilty to charges stemming",
    "TikTok globally banned the hashtag ‘SkinnyTok’",
    "The US tech giant, Google, has announced a €5",
])
def test_defects_catch_the_broken_headlines_of_issue_20(broken):
    """Agreement, a waiting participle, the past or perfect tense and a cut number are all defects."""
    from composer.summarise.headline import defects

    assert defects(broken)


def test_headlines_agree_and_stay_in_the_present():
    """A plural head noun takes a plural verb; an adverb between auxiliary and verb does not stop the tense."""
    assert headline("Lawmakers in Virginia are preparing fresh efforts to regulate AI.").startswith(
        "Lawmakers in Virginia prepare")
    assert headline("Attackers have begun actively targeting critical vulnerabilities.").startswith("Attackers begin")
    assert headline("TikTok has globally banned the hashtag ‘SkinnyTok’, following pressure from regulators.") == (
        "TikTok globally bans hashtag ‘SkinnyTok’")
