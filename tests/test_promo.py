"""The promotional-copy detector: calls to action, vendors announcing themselves, marketing artefacts;
never reporting about vendors, research, laws or white papers."""

from __future__ import annotations

import pytest

from composer.promo import promotional


@pytest.mark.parametrize(("text", "reason"), [
    # The example, and the same sign from other vendors and in other words.
    ("Explore Unit 42 research on ransomware groups. Learn how to protect your organisation.",
     "call to action: 'Explore Unit 42 research'"),
    ("Attackers are moving faster than ever. Learn how Acme XDR stops them in minutes.", "call to action: 'Learn how'"),
    ("Discover how leading banks cut fraud losses with our platform.", "call to action: 'Discover how'"),
    ("Explore the latest threat intelligence from our analysts.", "call to action: 'Explore the latest'"),
    ("Our 2025 report is out. Download the full report to see the trends.", "call to action: 'Download the'"),
    ("Cloud security made simple — request a demo today.", "call to action: 'request a demo'"),
    ("Cloud security with a free trial for every team.", "marketing copy: 'free trial'"),
    ("Get started with zero trust in five steps.", "call to action: 'Get started'"),
    ("Find out more about our managed detection service.", "call to action: 'Find out more'"),
    ("See how Contoso protects 500 hospitals.", "call to action: 'See how'"),
    ("Sign up today for early access.", "call to action: 'Sign up today'"),
    ("Join us for a live session with our incident responders.", "call to action: 'Join us for'"),
    ("Start your free trial of SecureMail now.", "call to action: 'Start your free trial'"),
    ("Try WidgetPro for free.", "call to action: 'Try WidgetPro for free'"),
    ("Today we’re excited to announce CloudGuard 3.0, our most powerful release yet.",
     "vendor announcement: 'we’re excited to announce'"),
    ("We are pleased to introduce the new analytics console.", "vendor announcement: 'We are pleased to introduce'"),
    ("Watch our on-demand webinar with the research team.", "call to action: 'Watch our'"),
    ("Registration for our webinar on AI risk is open.", "marketing copy: 'our webinar'"),
    ("An industry-leading platform for endpoint protection.", "marketing copy: 'industry-leading'"),
    ("[Sponsor] Timing — automatic time tracking for Mac.", "marketing copy: '[Sponsor]'"),
    ("Read the analysis — Contact us to speak with an expert.", "call to action: 'Contact us'"),
])
def test_promotion_is_recognised_with_its_sign(text, reason):
    """Each sign of promotion is recognised, whoever the vendor, and named in the reason."""
    assert promotional(text) == reason


@pytest.mark.parametrize("text", [
    "Palo Alto Networks’ Unit 42 researchers said Iran-linked hackers had expanded their infrastructure.",
    "Hackers exploited vulnerabilities in Cisco ISE, and attackers gained root access to the devices.",
    "Users will be able to learn how their data is used under the new law.",
    "OpenAI said its ChatGPT Go plan is now available in 16 additional countries across Asia.",
    "The UK government published a white paper on AI regulation on Tuesday.",
    "The bill, sponsored by Senator Klobuchar, would ban the sale of location data.",
    "An award-winning journalist was arrested in Manila over her reporting on the platform.",
    "Amazon faced an antitrust lawsuit over e-book prices.",
    "The regulator will explore options for a digital services tax.",
    "Researchers discovered how the malware spread through the supply chain.",
    "The FBI and CISA urged organisations to patch the flaw and report incidents.",
    "Meta agreed to a settlement over child safety claims; the company did not admit wrongdoing.",
])
def test_reporting_is_not_promotion(text):
    """News about vendors, research, laws, white papers and e-books is reporting, not promotion."""
    assert promotional(text) is None


def test_a_call_to_action_counts_only_at_a_sentence_start():
    """'Learn how' opening a sentence tells the reader to act; inside a sentence it reports."""
    assert promotional("Students learn how to code in the new programme.") is None
    assert promotional("The programme opens in May. Learn how to apply.") == "call to action: 'Learn how'"


def test_the_fast_searches_find_what_the_patterns_find():
    """promotional() skips work its three patterns cannot match in; on random text mixing their phrases,
    sentence openings, case and the letters re folds apart (İ, ı, ſ) it says what the patterns say."""
    import random

    from composer.promo import _SHOWN_WORDS, _SIGNS

    def by_patterns(text: str) -> str | None:
        for sign, pattern in _SIGNS:
            match = pattern.search(text)
            if match:
                return f"{sign}: '{' '.join(match.group(1).split()[:_SHOWN_WORDS])}'"
        return None

    pieces = ["Learn how", "learn more", "LEARN about our", "Discover the new", "Explore our", "explore X Y research",
              "find out why", "See how", "read on", "Check out the latest", "Download the", "download and read",
              "Get your free", "grab a copy", "get started", "Request a demo", "book your call", "save a seat",
              "Start your free trial", "try it today", "Try Acme Pro for free", "try for free", "Sign up here",
              "subscribe to our", "Register now for", "join us for", "Join our webinar", "watch the replay",
              "contact our team", "talk to an expert", "Unlock the", "we're excited to announce",
              "We are SO pleased to share", "we’re very happy to offer", "free trial", "Book a demo", "our webinar",
              "on-demand webinar", "download our whitepaper", "free e-book", "data sheets", "industry-leading",
              "Best-in-class", "sponsored content", "[Sponsor]", "limited-time offer", "promo codes", "for sponsoring",
              ". ", "! ", "? ", "… ", ": ", "\n", "\n  ", " – ", " - ", "— ", "|", "| ", "•", "• ", " ", "  ", "-",
              "the", "news", "report", "Acme", "İ", "ı", "ſ", "leaſt", "ſign up now", "Lİke", "limited-tıme offer", "ſponſored content", "we are pleaſed to ſhare", "free trıal", "İNDUSTRY-LEADİNG", "’s", "x"]
    rng = random.Random(24)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        assert promotional(text) == by_patterns(text), text
