"""Seed 000's quarterly review rules: the quarter, the target from the quota, attainment and why."""

from datetime import date

import pytest

from domain.defaults import DEFAULTS, apply_overrides
from domain.errors import ValidationFailed
from domain.quarterly_review import Book, Results, performance, quarter_of, quarter_target


def test_quarters_run_from_their_first_day_to_the_next_quarters():
    q = quarter_of("2026-Q4", date(2026, 1, 1))
    assert (q.start, q.end, q.label) == (date(2026, 10, 1), date(2027, 1, 1), "2026-Q4")
    assert quarter_of(None, date(2026, 5, 31)).label == "2026-Q2"
    with pytest.raises(ValidationFailed):
        quarter_of("2026-4", date(2026, 1, 1))


def test_an_annual_quota_gives_a_quarter_of_it_and_a_quarterly_quota_itself():
    assert quarter_target(1_000_000, DEFAULTS.equity) == 250_000
    quarterly = apply_overrides({"equity": {"quota_period": "quarterly"}}).equity
    assert quarter_target(1_000_000, quarterly) == 1_000_000
    assert quarter_target(None, DEFAULTS.equity) is None


def test_why_names_the_coverage_gap_and_the_tier_mix_behind_a_miss():
    perf = performance(
        400_000,
        Results(won=50_000, won_opportunities=1, opened=4, opened_won=1),
        Book(accounts=20, tier1=2, tier1_covered=1),
        0.2,
        DEFAULTS.equity,
        DEFAULTS.coverage,
    )
    assert (perf.target, perf.attainment, perf.gap, perf.conversion_rate) == (100_000, 0.5, 50_000, 0.25)
    assert perf.why == (
        "missed the quarter's target: 50,000 won of 100,000 (50%)",
        "coverage gap: 1 of 2 tier 1 accounts covered (50%, target 90%)",
        "tier mix: 10% of the book is tier 1, against 20% across the tenant",
        "conversion: 1 of 4 opportunities opened were won",
    )
    none = performance(None, Results(), Book(), None, DEFAULTS.equity, DEFAULTS.coverage)
    assert none.attainment is None and none.conversion_rate is None
    assert none.why == ("no quota: attainment cannot be judged", "no opportunity opened in the quarter")
