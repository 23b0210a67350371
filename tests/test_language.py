"""Sentence splitting and words: abbreviations, quotes and numbers."""

from __future__ import annotations

from composer.language import content_words, first_date, split_sentences


def test_abbreviations_numbers_and_quotes_do_not_split():
    """Dr., U.S., e.g., initials, €5.5 and 3.5% stay inside their sentence; quotes close sentences."""
    text = ("Dr. Smith met U.S. officials on Monday. Google will invest €5.5 billion, up 3.5% from 2024. "
            "‘We are ready,’ he said. The U.N. agreed! What next? J. R. Tolkien wrote e.g. books. End")
    assert split_sentences(text) == [
        "Dr. Smith met U.S. officials on Monday.",
        "Google will invest €5.5 billion, up 3.5% from 2024.",
        "‘We are ready,’ he said.",
        "The U.N. agreed!",
        "What next?",
        "J. R. Tolkien wrote e.g. books.",
        "End",
    ]


def test_sentence_ending_in_a_quote_splits_before_the_next():
    """A closing quote after the full stop belongs to the first sentence."""
    assert split_sentences("He called it ‘productive.’ However, Beijing was silent.") == [
        "He called it ‘productive.’", "However, Beijing was silent."
    ]


def test_content_words_keep_acronyms_and_drop_possessives():
    """'US' survives although 'us' is a stopword; 'Belgium’s' counts as 'belgium'."""
    assert content_words("The US giant invests in Belgium’s AI") == ["us", "giant", "invests", "belgium", "ai"]


def test_first_date():
    """The first written date, and None for an impossible one."""
    assert str(first_date("From 3 May 2025 to 9 May 2025")) == "2025-05-03"
    assert first_date("On 31 April 2025") is None


def test_caseless_patterns_find_what_ignorecase_finds():
    """Each Caseless pattern (dates, events, ranking) finds, in the lower-cased text, the matches its
    pattern finds with re.IGNORECASE, at the same places, with the same groups: on random text mixing
    dates, event and ranking words, case, and the letters lower-casing folds otherwise (İ, ı, ſ, K)."""
    import random

    from composer.curate import dates, events, rank
    from composer.language import Caseless, folded

    patterns = [value for module in (dates, events, rank) for value in vars(module).values()
                if isinstance(value, Caseless)]
    assert len(patterns) >= 9
    pieces = ["23", "1", "2025", "June", "JUNE", "jun.", "Sept", "september", "May", "mayor", "dec", "December",
              "st", "th", "–", "-", " to ", " and ", " of ", ", ", " ", "  ", "in ", "In ", "since ", "Last ",
              "from", "early", "x", "_", "Conference", "round table", "IGF", "webinar", "Will take place",
              "register", "Registration", "join us", "Date:", "🗓", "anniversary", "marks 10 years", "Ten years of",
              "turns 5", "What", "why", "?", "explained", "Q&A", "FAQ", "fined", "Sued", "ordered", "opened an "
              "investigation", "patched actively exploited", "Commission", "FBI", "the EU", "court", "İ", "ı", "ſ",
              "K", "Dİd", "ſeptember", "ſince", "courtſ", "june1", "é", "\n"]
    rng = random.Random(24)
    for _ in range(4000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
        lowered = folded(text)
        for pattern in patterns:
            expected = [[match.span(group) for group in range(len(match.groups()) + 1)]
                        for match in pattern.pattern.finditer(text)]
            found = [[match.span(group) for group in range(len(match.groups()) + 1)]
                     for match in pattern.finditer(text, lowered)]
            assert found == expected, (pattern.pattern.pattern, text)
