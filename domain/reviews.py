"""The rebalancing schedule (docs/domain.md, "Territory plan"): the next year of territory reviews from a
tenant's review cadence, each with what it checks (the schedule of docs/domain.md, "Territory plan")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.defaults import REVIEW_CADENCES, TenantSettings

# what the review closing each fiscal quarter does
QUARTER_ACTIONS = {
    1: "Check capacity utilization",
    2: "Review mid-year performance and adjust accounts as needed",
    3: "Assess territory health and plan the annual rebalance",
    4: "Implement the annual rebalance and set next year's quotas",
}


@dataclass(frozen=True)
class Review:
    period: str  # "FY2027 Q2", "FY2027 H1", "FY2027 M5", "FY2027"
    period_start: date
    period_end: date
    review_date: date  # the day after the period ends: the period's results are in
    actions: tuple[str, ...]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def review_schedule(today: date, settings: TenantSettings) -> tuple[Review, ...]:
    """The next reviews, one fiscal year of them (4 a year when quarterly): each closes a period of the
    cadence's length, counted from the fiscal year's first month, and falls on the day after it ends.
    Every review checks equity against the rebalance trigger; a review that closes a fiscal quarter adds
    that quarter's action (docs/domain.md, "Territory plan")."""
    step = REVIEW_CADENCES[settings.reviews.cadence]
    first_month = settings.reviews.fiscal_year_start_month
    fy_start = date(today.year if today.month >= first_month else today.year - 1, first_month, 1)
    trigger = (
        f"Compare territory potential and quota: rebalance when the highest is more than "
        f"{settings.equity.quota_spread_rebalance:.0%} above the lowest, and move accounts of a rep loaded "
        f"outside {settings.equity.capacity_band:.0%} of capacity"
    )
    out: list[Review] = []
    start = fy_start
    while len(out) < 12 // step:
        end_exclusive = _add_months(start, step)
        if end_exclusive > today:
            months_in = (start.year - fy_start.year) * 12 + start.month - fy_start.month
            fiscal_year = _add_months(fy_start, 12 * (months_in // 12) + 11).year
            index = months_in % 12 // step + 1
            label = {1: f"M{index}", 3: f"Q{index}", 6: f"H{index}", 12: ""}[step]
            closes = (months_in % 12 + step) % 3 == 0
            quarter = (months_in % 12 + step) // 3
            actions = (trigger, QUARTER_ACTIONS[quarter]) if closes else (trigger,)
            out.append(
                Review(
                    f"FY{fiscal_year} {label}".strip(),
                    start,
                    date.fromordinal(end_exclusive.toordinal() - 1),
                    end_exclusive,
                    actions,
                )
            )
        start = end_exclusive
    return tuple(out)
