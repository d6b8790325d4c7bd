"""Ownership history rules: the movement rate (docs/domain.md, "Movement"), how often accounts change hands,
against the bands
that call a plan churning or static (settings equity.movement_*)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.defaults import TenantSettings


@dataclass(frozen=True)
class Movement:
    moved: int
    accounts: int
    rate: float | None  # moved / accounts over the window
    per_quarter: float | None  # the share that changes hands in 91.25 days at the window's pace
    per_year: float | None  # the rate scaled to 365 days
    status: str  # churn (> 15% a quarter), static (< 5% a year), steady, or n/a
    message: str


QUARTER_DAYS, YEAR_DAYS = 91.25, 365.0


def at_pace(share: float, days: float, horizon_days: float) -> float:
    """The share of accounts that changes hands in `horizon_days` when `share` did in `days`, each account
    as likely to move on any day (a constant rate): 1 - (1 - share)^(horizon / days). It equals the share
    for a window of the horizon's length and never exceeds 1 (a linear scaling of a one-week window said
    over 100% a quarter)."""
    if share >= 1.0:
        return 1.0
    return 1.0 - (1.0 - share) ** (horizon_days / days)


def movement(moved: int, accounts: int, days: float, settings: TenantSettings) -> Movement:
    """The movement rate (docs/domain.md, "Movement"): the share of accounts that changed hands; more than
    15% a quarter is churn, less than 5% a year a static plan. A window of another length is brought to a
    quarter and a year at its pace (at_pace)."""
    rules = settings.equity
    if not accounts or days <= 0:
        return Movement(moved, accounts, None, None, None, "n/a", "no accounts or an empty window")
    rate = min(moved / accounts, 1.0)
    per_quarter, per_year = at_pace(rate, days, QUARTER_DAYS), at_pace(rate, days, YEAR_DAYS)
    if per_quarter > rules.movement_churn_per_quarter:
        status = "churn"
        message = (
            f"{per_quarter:.1%} a quarter changes owner (churn above {rules.movement_churn_per_quarter:.0%})"
        )
    elif per_year < rules.movement_static_per_year:
        status = "static"
        message = (
            f"{per_year:.1%} a year changes owner (a static plan below {rules.movement_static_per_year:.0%})"
        )
    else:
        status = "steady"
        message = f"{per_quarter:.1%} a quarter, {per_year:.1%} a year"
    return Movement(moved, accounts, rate, per_quarter, per_year, status, message)
