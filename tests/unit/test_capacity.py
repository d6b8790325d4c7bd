import dataclasses

import pytest

from domain.capacity import CapacityAccount, capacity_plan, headcount_plan, touches_per_quarter
from domain.defaults import DEFAULTS
from domain.model import RampStatus

SETTINGS = dataclasses.replace(
    DEFAULTS, capacity=dataclasses.replace(DEFAULTS.capacity, selling_hours_per_quarter=100.0)
)
ACCOUNTS = dataclasses.replace(DEFAULTS, capacity=dataclasses.replace(DEFAULTS.capacity, unit="accounts"))


def book():
    tier1 = [CapacityAccount(f"t1-{i}", "enterprise", 1, 1_000_000 - i) for i in range(10)]
    tier2 = [CapacityAccount(f"t2-{i}", "mid_market", 2, 100_000 - i) for i in range(20)]
    tier3 = [CapacityAccount(f"t3-{i}", "smb", 3, 1_000 - i) for i in range(30)]
    return tier1 + tier2 + tier3


def test_touches_are_the_tiers_outreach_plus_the_segments_visits():
    model = DEFAULTS.coverage_model
    # the middle of each tier's range (8-12, 5-7, 2-3) plus a quarter of the segment's visits a year
    assert [touches_per_quarter(t, model) for t in (1, 2, 3)] == [10.625, 6.625, 3.125]  # SMB: 2-3 a year
    assert touches_per_quarter(1, model, "enterprise") == 10 + 7 / 4  # 6-8 visits a year
    assert touches_per_quarter(2, model, "mid_market") == 6 + 5 / 4  # 4-6 visits a year
    more_visits = dataclasses.replace(model, enterprise_visits_per_year=(12, 12))
    assert touches_per_quarter(1, more_visits, "enterprise") == 13  # the setting changes the need


def test_shortfall_arithmetic_and_the_three_choices():
    # needed: 10 enterprise tier-1 x 11.75 h + 20 mid-market tier-2 x 7.25 h = 262.5 h (tier 3 is
    # reactive); available: 100 h + 50 h (a new hire at 50%)
    plan = capacity_plan(book(), [(RampStatus.RAMPED, None), (RampStatus.NEW_HIRE, None)], SETTINGS)
    assert plan.unit == "hours"
    assert (plan.needed, plan.available, plan.shortfall, plan.hours_needed) == (262.5, 150, 112.5, 262.5)
    assert [(n.tier, n.accounts, n.hours, n.proactive) for n in plan.needs] == [
        (1, 10, 117.5, True),
        (2, 20, 145, True),
        (3, 30, 0, False),
    ]
    hire, raise_threshold, accept = plan.choices
    assert hire.figures == {"ramped_reps": 2, "new_hires": 3, "hours": 112.5}
    # 117.5 h for tier 1, then 4 tier-2 accounts (29 h) fit in the 150 h: the 4th has potential 99,997
    assert raise_threshold.figures == {
        "min_potential": 99_997,
        "accounts_covered": 14,
        "accounts_reactive": 16,
    }
    assert accept.figures == {"hours": 112.5, "accounts_uncovered": 16}


def test_no_choices_when_the_team_has_the_hours():
    reps = [(RampStatus.SENIOR, None), (RampStatus.RAMPED, None), (RampStatus.RAMPING, None)]
    plan = capacity_plan(book(), reps, SETTINGS)
    assert plan.available == 275 and plan.shortfall == 0 and plan.choices == ()


def test_a_reps_own_capacity_overrides_its_ramp_default():
    plan = capacity_plan(book(), [(RampStatus.NEW_HIRE, 300.0)], SETTINGS)
    assert plan.available == 300 and plan.shortfall == 0


def test_in_accounts_the_book_is_its_proactive_accounts_and_reps_carry_their_ramp_counts():
    # 30 proactive accounts; a ramped rep carries 20-30 (25), a new hire 6, a senior 5 strategic accounts
    plan = capacity_plan(book(), [(RampStatus.RAMPED, None), (RampStatus.NEW_HIRE, None)], ACCOUNTS)
    assert (plan.unit, plan.needed, plan.available, plan.shortfall) == ("accounts", 30, 31, 0)
    short = capacity_plan(book(), [(RampStatus.SENIOR, None), (RampStatus.RAMPING, None)], ACCOUNTS)
    assert (short.available, short.shortfall) == (5 + 12.5, 12.5)
    hire = short.choices[0]
    assert hire.figures == {"ramped_reps": 1, "new_hires": 3, "accounts": 12.5}
    assert "for 12.5 more accounts" in hire.summary


def test_the_team_the_account_to_rep_ratios_call_for():
    sizes = {s.segment: s.reps for s in capacity_plan(book(), [], SETTINGS).team_size}
    # 10 enterprise at 3-5 a rep, 20 mid-market at 15-20, 30 SMB at 50-100
    assert sizes == {"enterprise": (2, 4), "mid_market": (1, 2), "smb": (1, 1)}


def test_headcount_with_ramp_and_attrition():
    # $10M / $1M = 10 reps; 6 ramped reps give 6 x (1 - 10% / 2) = 5.7; a new hire gives
    # (2 x 62.5% + 2 x 100%) / 4 = 0.8125 in the first year; (10 - 5.7) / 0.8125 = 5.29 -> 6 hires
    plan = headcount_plan(10_000_000, 1_000_000, [RampStatus.RAMPED] * 6, DEFAULTS.capacity)
    assert plan.reps_at_full_productivity == 10
    assert plan.existing_capacity == pytest.approx(5.7)
    assert plan.new_hire_productivity == pytest.approx(0.8125)
    assert plan.hires == 6
    # the text says the arithmetic a reader can redo
    assert "6.00 ramped-rep equivalents x (1 - 10% attrition / 2" in plan.explanation
    assert "= 5.70" in plan.explanation and "(10 - 5.70) / 0.8125 = 6" in plan.explanation
    assert headcount_plan(1_000_000, 1_000_000, [RampStatus.SENIOR] * 3, DEFAULTS.capacity).hires == 0
