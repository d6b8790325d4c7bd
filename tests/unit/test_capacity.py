import dataclasses

import pytest

from domain.capacity import CapacityAccount, capacity_plan, headcount_plan, touches_per_quarter
from domain.defaults import DEFAULTS
from domain.model import RampStatus

SETTINGS = dataclasses.replace(
    DEFAULTS, capacity=dataclasses.replace(DEFAULTS.capacity, selling_hours_per_quarter=100.0)
)


def book():
    tier1 = [CapacityAccount(f"t1-{i}", "enterprise", 1, 1_000_000 - i) for i in range(10)]
    tier2 = [CapacityAccount(f"t2-{i}", "mid_market", 2, 100_000 - i) for i in range(20)]
    tier3 = [CapacityAccount(f"t3-{i}", "smb", 3, 1_000 - i) for i in range(30)]
    return tier1 + tier2 + tier3


def test_touches_are_the_middle_of_each_tier_range():
    assert [touches_per_quarter(t, DEFAULTS.coverage_model) for t in (1, 2, 3)] == [10, 6, 2.5]


def test_shortfall_arithmetic_and_the_three_choices():
    # needed: 10 x 10 h + 20 x 6 h = 220 h (tier 3 is reactive); available: 100 h + 50 h (a new hire at 50%)
    plan = capacity_plan(book(), [RampStatus.RAMPED, RampStatus.NEW_HIRE], SETTINGS)
    assert (plan.hours_needed, plan.hours_available, plan.shortfall) == (220, 150, 70)
    assert [(n.tier, n.accounts, n.hours, n.proactive) for n in plan.needs] == [
        (1, 10, 100, True),
        (2, 20, 120, True),
        (3, 30, 0, False),
    ]
    hire, raise_threshold, accept = plan.choices
    assert hire.figures == {"ramped_reps": 1, "new_hires": 2, "hours": 70}
    # 100 h for tier 1, then 8 tier-2 accounts (48 h) fit in the 150 h: the 8th has potential 99,993
    assert raise_threshold.figures == {
        "min_potential": 99_993,
        "accounts_covered": 18,
        "accounts_reactive": 12,
    }
    assert accept.figures == {"hours": 70, "accounts_uncovered": 12}


def test_no_choices_when_the_team_has_the_hours():
    plan = capacity_plan(book(), [RampStatus.SENIOR, RampStatus.RAMPED, RampStatus.RAMPING], SETTINGS)
    assert plan.hours_available == 275 and plan.shortfall == 0 and plan.choices == ()


def test_headcount_with_ramp_and_attrition():
    # $10M / $1M = 10 reps; 6 ramped reps give 6 x (1 - 10% / 2) = 5.7; a new hire gives
    # (2 x 62.5% + 2 x 100%) / 4 = 0.8125 in the first year; (10 - 5.7) / 0.8125 = 5.29 -> 6 hires
    plan = headcount_plan(10_000_000, 1_000_000, [RampStatus.RAMPED] * 6, DEFAULTS.capacity)
    assert plan.reps_at_full_productivity == 10
    assert plan.existing_capacity == pytest.approx(5.7)
    assert plan.new_hire_productivity == pytest.approx(0.8125)
    assert plan.hires == 6
    assert "hire 6" in plan.explanation
    assert headcount_plan(1_000_000, 1_000_000, [RampStatus.SENIOR] * 3, DEFAULTS.capacity).hires == 0
