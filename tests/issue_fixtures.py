"""Drafts built in code for render, check and browser tests: fixed content, so output is stable."""

from __future__ import annotations

from datetime import date

from composer.models import Draft, Entry, Sections

IMAGE = "https://dig.watch/wp-content/uploads/2025/04/sample.jpg"
TOPICS = ["Infrastructure", "Cybersecurity", "Human rights", "Legal and regulatory", "Economic", "Development"]


def _entry(section: str, number: int, **extra) -> Entry:
    return Entry(
        title=f"{section} story {number}: a regulator acts on a platform in a headline of realistic length",
        teaser=(f"Teaser {number} of {section} adds the angle a reader needs, in one or two complete sentences "
                "that run to a realistic length for DW Weekly."),
        url=f"https://dig.watch/updates/{section.lower().replace(' ', '-')}-{number}",
        image=IMAGE if number % 2 else None,
        image_alt=f"Photo for {section} story {number}" if number % 4 == 1 else None,
        topic=TOPICS[number % len(TOPICS)],
        item_id=f"{section[:3].lower()}{number:013d}",
        **extra,
    )


def full_draft(radar: int = 12, reading: int = 4, events: int = 4) -> Draft:
    """A draft the size of a big issue: 12 Radar, 4 Reading Corner and 4 events entries by default."""
    return Draft(
        number=211,
        headline="Money and markets: Google, TikTok, IBM and the EU",
        week_start=date(2025, 5, 2),
        week_end=date(2025, 5, 9),
        date_range="2 – 9 May 2025",
        preheader="Google, TikTok, IBM and the EU lead a busy week in digital policy.",
        greeting="Dear readers,",
        editorial=(*(f"Paragraph {n} of the editorial walks through the week's stories with transitions." for n in range(5)),
                   "For the main updates and reflections, consult the Radar and Reading Corner below."),
        signoff="DW Team",
        sections=Sections(
            radar=tuple(_entry("Radar", n) for n in range(1, radar + 1)),
            reading_corner=tuple(_entry("Reading", n) for n in range(1, reading + 1)),
            events=tuple(_entry("Event", n, when=f"{12 + n} May 2025", where="Online") for n in range(1, events + 1)),
        ),
    )
