"""The rebalancing schedule: the next year of reviews from the tenant's cadence (docs/domain.md,
"Territory plan")."""

from datetime import date

from domain.defaults import apply_overrides
from domain.reviews import QUARTER_ACTIONS, review_schedule


def _schedule(today: date, **reviews):
    return review_schedule(today, apply_overrides({"reviews": reviews} if reviews else None))


def test_quarterly_reviews_fall_the_day_after_each_quarter_with_seed_003s_actions():
    reviews = _schedule(date(2027, 5, 10))
    assert [(r.period, r.review_date) for r in reviews] == [
        ("FY2027 Q2", date(2027, 7, 1)),  # seed 004's example: Q2 review July 1, Q3 review October 1
        ("FY2027 Q3", date(2027, 10, 1)),
        ("FY2027 Q4", date(2028, 1, 1)),
        ("FY2028 Q1", date(2028, 4, 1)),
    ]
    assert [r.actions[-1] for r in reviews] == [QUARTER_ACTIONS[q] for q in (2, 3, 4, 1)]
    assert all("more than 20% above the lowest" in r.actions[0] for r in reviews)


def test_a_review_on_its_day_is_still_next():
    assert _schedule(date(2027, 6, 30))[0].review_date == date(2027, 7, 1)
    assert _schedule(date(2027, 7, 1))[0].review_date == date(2027, 10, 1)


def test_a_fiscal_year_is_named_by_the_year_it_ends_in():
    (annual,) = _schedule(date(2026, 12, 2), cadence="annual", fiscal_year_start_month=2)
    assert (annual.period, annual.period_start, annual.period_end) == (
        "FY2027",
        date(2026, 2, 1),
        date(2027, 1, 31),
    )
    assert annual.actions[-1] == QUARTER_ACTIONS[4]
    halves = _schedule(date(2026, 12, 2), cadence="semiannual", fiscal_year_start_month=7)
    assert [(h.period, h.review_date, h.actions[-1]) for h in halves] == [
        ("FY2027 H1", date(2027, 1, 1), QUARTER_ACTIONS[2]),
        ("FY2027 H2", date(2027, 7, 1), QUARTER_ACTIONS[4]),
    ]


def test_monthly_reviews_add_the_quarters_action_only_when_they_close_one():
    months = _schedule(date(2027, 1, 15), cadence="monthly")
    assert len(months) == 12 and months[0].period == "FY2027 M1"
    closing = [m.period for m in months if len(m.actions) == 2]
    assert closing == ["FY2027 M3", "FY2027 M6", "FY2027 M9", "FY2027 M12"]
