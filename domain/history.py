"""Ownership history rules: the movement rate (seed 001), how often accounts change hands, against the bands
that call a plan churning or static (settings equity.movement_*)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.defaults import TenantSettings


@dataclass(frozen=True)
class Movement:
    moved: int
    accounts: int
    rate: float | None  # moved / accounts over the window
    per_quarter: float | None  # the rate scaled to 91.25 days
    per_year: float | None  # the rate scaled to 365 days
    status: str  # churn (> 15% a quarter), static (< 5% a year), steady, or n/a
    message: str


def movement(moved: int, accounts: int, days: float, settings: TenantSettings) -> Movement:
    """Seed 001's movement rate: accounts changing owner; more than 15% a quarter is churn, less than 5% a
    year a static plan. A window of another length is scaled linearly to a quarter and a year."""
    rules = settings.equity
    if not accounts or days <= 0:
        return Movement(moved, accounts, None, None, None, "n/a", "no accounts or an empty window")
    rate = moved / accounts
    per_quarter, per_year = rate * 91.25 / days, rate * 365 / days
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
