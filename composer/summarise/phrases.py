"""Every fixed phrase of the editorial and the issue headline, in one table: openings by the kind of the
week's theme, transitions, basket openers, thin-week sentences, the blog's lead-in and the pointer by the
sections that exist. (The strings catalogue of issue 23, selected by `issue.language`, is to take these over
when it lands; until then this is the one place to translate or reword them.)"""

from __future__ import annotations

# "{label} …": the week's theme, by what the plurality of the Radar shares.
OPENINGS = {
    "basket": "{label} set the tone this week.",
    "law": "The {label} was at the centre of the week.",
    "actor": "{label} made headlines more than once this week.",
    "place": "Much of the week's news came from {label}.",
    "technology": "{label} ran through much of the week's news.",
    "varied": "It was a varied week in digital policy.",
}
# The theme part of the issue headline ("{label}: topics").
HEADLINE_THEMES = {
    "basket": "{label}",
    "law": "All eyes on the {label}",
    "actor": "All eyes on {label}",
    "place": "All eyes on {label}",
    "technology": "{label} at every turn",
    "varied": "The week in digital policy",
}
QUIET_HEADLINE = "A quiet week in digital policy"
QUIET = "It was a quiet week in digital policy, with no story for the Radar."
QUIET_ONE = "It was a quiet week in digital policy, and one story stood out."
# Transitions, from how a story relates to the one told before it.
SAME_ACTOR = "Staying with {actor}"
SAME_PLACE = "Staying in {place}"
ACROSS_ATLANTIC = "On the other side of the Atlantic"
SAME_TECHNOLOGY = "Speaking of {technology}"
BASKET_OPENERS = {
    "Infrastructure": "On the infrastructure front",
    "Cybersecurity": "In cybersecurity",
    "Human rights": "Turning to human rights",
    "Legal and regulatory": "On the legal and regulatory side",
    "Economic": "In the digital economy",
    "Development": "On development and digital cooperation",
    "Sociocultural": "On the sociocultural front",
}
BLOG = "To finish, the blog"
# The pointer names only the sections the issue has.
SECTION_NAMES = {"radar": "Radar", "reading_corner": "Reading Corner", "events": "Upcoming Events"}
POINTERS = {
    ("radar", "reading_corner"): "For the main updates and reflections, consult the Radar and Reading Corner below.",
    ("radar",): "For the main updates, consult the Radar below.",
}
