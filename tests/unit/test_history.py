"""The movement rate (seed 001): churn above 15% a quarter, static below 5% a year, scaled from any window."""

import pytest

from domain.defaults import DEFAULTS
from domain.history import movement


def test_movement_rate_of_seed_001():
    quarter = movement(200, 1000, 91.25, DEFAULTS)
    assert quarter.rate == 0.2 and quarter.status == "churn"  # 20% in a quarter
    year = movement(30, 1000, 365, DEFAULTS)
    assert year.per_year == pytest.approx(0.03) and year.status == "static"  # 3% in a year
    steady = movement(100, 1000, 365, DEFAULTS)
    assert steady.status == "steady" and steady.per_quarter == pytest.approx(0.025)
    assert movement(0, 0, 90, DEFAULTS).status == "n/a"
