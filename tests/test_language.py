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
