"""The quarterly review (docs/domain.md, "Quarterly review"): territory performance against quota
for one quarter, per rep and per territory: the target, what was won, attainment, the conversion of the
opportunities opened, and why, in the words of the coverage and the tier mix behind the figures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from domain.defaults import CoverageRules, EquityRules
from domain.errors import Code, FieldError, ValidationFailed

QUARTER = re.compile(r"^([1-9]\d{3})-Q([1-4])$")  # years 1000 to 9999 (9999-Q4 ends on the last day there is)


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int  # 1 to 4

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The day after the quarter (exclusive)."""
        if self.number == 4:
            return date(self.year + 1, 1, 1) if self.year < date.max.year else date.max
        return date(self.year, 3 * self.number + 1, 1)

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.number}"


def quarter_of(text: str | None, today: date) -> Quarter:
    """The quarter named 'YYYY-QN', or the one holding `today`."""
    if text is None:
        return Quarter(today.year, (today.month - 1) // 3 + 1)
    m = QUARTER.match(text)
    if not m:
        raise ValidationFailed(
            "invalid quarter",
            [
                FieldError(
                    "quarter", Code.INVALID_CHOICE, "a quarter as YYYY-QN (years 1000 to 9999), e.g. 2026-Q4"
                )
            ],
        )
    return Quarter(int(m.group(1)), int(m.group(2)))


def quarter_target(quota: float | None, rules: EquityRules) -> float | None:
    """A quarter's target from a quota: a quarter of an annual quota, or the quota itself when quotas are
    quarterly (`equity.quota_period`)."""
    if quota is None:
        return None
    return quota / 4 if rules.quota_period == "annual" else quota


@dataclass(frozen=True)
class Book:
    """What a rep's or territory's book held in the quarter's review: accounts, tier 1 accounts and how
    many of them are covered."""

    accounts: int = 0
    tier1: int = 0
    tier1_covered: int = 0


@dataclass(frozen=True)
class Results:
    won: float = 0.0  # won revenue closed in the quarter
    won_opportunities: int = 0  # opportunities closed won in the quarter
    opened: int = 0  # opportunities created in the quarter
    opened_won: int = 0  # of those, won (by now)


@dataclass(frozen=True)
class Performance:
    target: float | None
    achieved: float
    attainment: float | None
    gap: float | None  # target - achieved, when there is a target
    opportunities_opened: int
    opportunities_won: int
    conversion_rate: float | None  # opened in the quarter and won / opened in the quarter
    why: tuple[str, ...]


def _pct(x: float) -> str:
    return f"{x:.0%}"


def performance(
    quota: float | None,
    results: Results,
    book: Book,
    tenant_tier1_share: float | None,
    equity: EquityRules,
    coverage: CoverageRules,
) -> Performance:
    """Target, achieved, attainment and conversion, with the reasons a manager would ask for: the target
    met or missed, the tier 1 coverage against its target (a coverage gap), the share of tier 1 accounts
    against the tenant's (the tier mix), and the conversion."""
    target = quarter_target(quota, equity)
    attainment = results.won / target if target else None
    conversion = results.opened_won / results.opened if results.opened else None
    why: list[str] = []
    if target is None:
        why.append("no quota: attainment cannot be judged")
    elif attainment is not None:
        verb = "met" if attainment >= 1 else "missed"
        why.append(
            f"{verb} the quarter's target: {results.won:,.0f} won of {target:,.0f} ({_pct(attainment)})"
        )
    if book.tier1:
        share = book.tier1_covered / book.tier1
        if share < coverage.tier1_target:
            why.append(
                f"coverage gap: {book.tier1_covered} of {book.tier1} tier 1 accounts covered ({_pct(share)}, "
                f"target {_pct(coverage.tier1_target)})"
            )
    if book.accounts and tenant_tier1_share is not None:
        share = book.tier1 / book.accounts
        if share < tenant_tier1_share:
            why.append(
                f"tier mix: {_pct(share)} of the book is tier 1, against {_pct(tenant_tier1_share)} across "
                "the tenant"
            )
    if results.opened:
        why.append(f"conversion: {results.opened_won} of {results.opened} opportunities opened were won")
    else:
        why.append("no opportunity opened in the quarter")
    return Performance(
        target=target,
        achieved=results.won,
        attainment=attainment,
        gap=None if target is None else target - results.won,
        opportunities_opened=results.opened,
        opportunities_won=results.won_opportunities,
        conversion_rate=conversion,
        why=tuple(why),
    )
