"""The movement rate (docs/domain.md, "Movement"): churn above 15% a quarter, static below 5% a year,
brought to a quarter and a year at the window's pace, never above 100%."""

import pytest

from domain.defaults import DEFAULTS
from domain.history import movement


def test_movement_rate_of_seed_001():
    quarter = movement(200, 1000, 91.25, DEFAULTS)
    assert quarter.rate == 0.2 and quarter.status == "churn"  # 20% in a quarter
    year = movement(30, 1000, 365, DEFAULTS)
    assert year.per_year == pytest.approx(0.03) and year.status == "static"  # 3% in a year
    steady = movement(100, 1000, 365, DEFAULTS)
    # 10% a year at a constant pace: 1 - 0.9^(1/4) = 2.6% a quarter
    assert steady.status == "steady" and steady.per_quarter == pytest.approx(1 - 0.9**0.25)
    assert movement(0, 0, 90, DEFAULTS).status == "n/a"


def test_a_short_window_is_brought_to_a_quarter_without_saying_more_than_everyone():
    week = movement(50, 1000, 7, DEFAULTS)  # 5% in a week: linear scaling said 65% a quarter, 261% a year
    assert week.per_quarter == pytest.approx(1 - 0.95 ** (91.25 / 7)) and week.per_quarter < 1
    assert week.per_year is not None and week.per_year < 1 and week.status == "churn"
    day = movement(500, 1000, 1, DEFAULTS)
    assert 0.99 < day.per_quarter <= 1.0 and day.per_year <= 1.0
    assert movement(1000, 1000, 3, DEFAULTS).per_quarter == 1.0
