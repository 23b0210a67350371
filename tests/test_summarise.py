"""Summarise: date ranges in DW style and the draft's fixed parts from settings."""

from __future__ import annotations

from datetime import date

import pytest

from composer.summarise import date_range


@pytest.mark.parametrize(
    ("start", "end", "shown"),
    [
        (date(2025, 4, 18), date(2025, 4, 25), "18 – 25 April 2025"),
        (date(2025, 4, 25), date(2025, 5, 2), "25 April – 2 May 2025"),
        (date(2025, 12, 29), date(2026, 1, 5), "29 December 2025 – 5 January 2026"),
    ],
)
def test_date_range_in_dw_style(start, end, shown):
    """Month and year are written once where both dates share them."""
    assert date_range(start, end) == shown
