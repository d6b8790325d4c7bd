"""Capacity before territory (seeds 001, 002, 003): hours the coverage model needs against the hours reps
have, the shortfall with seed 001's three choices, and headcount from revenue with ramp and attrition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.defaults import CoverageModel, RepCapacity, TenantSettings
from domain.model import RampStatus


def touches_per_quarter(tier: int, model: CoverageModel) -> float:
    """The middle of the tier's touch range (seed 004: tier 1 8-12, tier 2 5-7, tier 3 2-3)."""
    low, high = {1: model.tier1_touches, 2: model.tier2_touches}.get(tier, model.tier3_touches)
    return (low + high) / 2


def productivity(ramp: RampStatus, capacity: RepCapacity) -> float:
    """Share of a ramped rep's output: new hires at the low end of the ramp range, ramping reps at the top."""
    low, high = capacity.ramp_productivity
    return {RampStatus.NEW_HIRE: low, RampStatus.RAMPING: high}.get(ramp, 1.0)


def rep_hours(ramp: RampStatus, capacity: RepCapacity) -> float:
    return capacity.selling_hours_per_quarter * productivity(ramp, capacity)


@dataclass(frozen=True)
class CapacityAccount:
    id: Any
    segment: str | None
    tier: int
    potential: float


@dataclass(frozen=True)
class CoverageNeed:
    segment: str | None
    tier: int
    accounts: int
    touches_per_quarter: float
    hours: float
    proactive: bool


@dataclass(frozen=True)
class Choice:
    kind: str  # hire | raise_threshold | accept_gap
    summary: str
    figures: dict[str, float | int | None]


@dataclass(frozen=True)
class CapacityPlan:
    needs: tuple[CoverageNeed, ...]
    hours_needed: float
    hours_available: float
    shortfall: float
    choices: tuple[Choice, ...]  # empty when the team has the hours


def capacity_plan(
    accounts: Sequence[CapacityAccount], reps: Iterable[RampStatus], settings: TenantSettings
) -> CapacityPlan:
    """Seed 001 step 3: proactive accounts x touches per quarter x hours per touch, against rep-hours."""
    model, capacity = settings.coverage_model, settings.capacity
    hours_per_account = {t: touches_per_quarter(t, model) * model.hours_per_touch for t in (1, 2, 3)}
    groups: dict[tuple[str | None, int], int] = {}
    for a in accounts:
        groups[(a.segment, a.tier)] = groups.get((a.segment, a.tier), 0) + 1
    needs = tuple(
        CoverageNeed(
            segment,
            tier,
            count,
            touches_per_quarter(tier, model),
            count * hours_per_account[tier] if tier <= model.proactive_max_tier else 0.0,
            tier <= model.proactive_max_tier,
        )
        for (segment, tier), count in sorted(groups.items(), key=lambda kv: (kv[0][1], str(kv[0][0])))
    )
    needed = sum(n.hours for n in needs)
    available = sum(rep_hours(r, capacity) for r in reps)
    shortfall = max(0.0, needed - available)
    if shortfall == 0:
        return CapacityPlan(needs, needed, available, 0.0, ())
    return CapacityPlan(
        needs,
        needed,
        available,
        shortfall,
        _choices(accounts, hours_per_account, available, shortfall, settings),
    )


def _choices(
    accounts: Sequence[CapacityAccount],
    hours_per_account: dict[int, float],
    available: float,
    shortfall: float,
    settings: TenantSettings,
) -> tuple[Choice, ...]:
    capacity = settings.capacity
    ramped = math.ceil(shortfall / capacity.selling_hours_per_quarter)
    new_hires = math.ceil(shortfall / rep_hours(RampStatus.NEW_HIRE, capacity))
    hire = Choice(
        "hire",
        f"hire {ramped} ramped rep(s), or {new_hires} new hire(s) while they ramp, "
        f"for {shortfall:.0f} more hours",
        {"ramped_reps": ramped, "new_hires": new_hires, "hours": shortfall},
    )
    # raise the threshold: cover the highest-potential proactive accounts that fit in the hours there are
    proactive = sorted(
        (a for a in accounts if a.tier <= settings.coverage_model.proactive_max_tier),
        key=lambda a: (-a.potential, str(a.id)),
    )
    used, covered, threshold = 0.0, 0, None
    for a in proactive:
        if used + hours_per_account[a.tier] > available:
            break
        used += hours_per_account[a.tier]
        covered += 1
        threshold = a.potential
    left_out = len(proactive) - covered
    raise_threshold = Choice(
        "raise_threshold",
        f"cover proactively only accounts with potential >= {threshold:,.0f}: {covered} accounts, "
        f"{left_out} move to reactive coverage"
        if threshold is not None
        else "no proactive account fits",
        {"min_potential": threshold, "accounts_covered": covered, "accounts_reactive": left_out},
    )
    accept = Choice(
        "accept_gap",
        f"document the gap: {shortfall:.0f} hours a quarter, "
        f"about {left_out} accounts without proactive coverage",
        {"hours": shortfall, "accounts_uncovered": left_out},
    )
    return hire, raise_threshold, accept


@dataclass(frozen=True)
class HeadcountPlan:
    reps_at_full_productivity: float
    existing_capacity: float  # in ramped-rep equivalents, after expected attrition
    new_hire_productivity: float  # first-year share of a ramped rep
    hires: int
    explanation: str


def headcount_plan(
    target_revenue: float, quota_per_rep: float, reps: Iterable[RampStatus], capacity: RepCapacity
) -> HeadcountPlan:
    """Seed 002: target revenue / quota per rep, adjusted for ramp (50-75% in the first two quarters)
    and attrition (leavers count for half a year on average)."""
    full = target_revenue / quota_per_rep
    existing = sum(productivity(r, capacity) for r in reps) * (1 - capacity.attrition_rate / 2)
    ramp_mid = sum(capacity.ramp_productivity) / 2
    quarters = min(capacity.ramp_quarters, 4)
    first_year = (quarters * ramp_mid + (4 - quarters)) / 4
    hires = max(0, math.ceil(round((full - existing) / first_year, 9)))
    explanation = (
        f"{target_revenue:,.0f} / {quota_per_rep:,.0f} = {full:g} reps at full productivity; the team gives "
        f"{existing:.2f} after {capacity.attrition_rate:.0%} attrition; a new hire gives {first_year:.4f} "
        f"in the first year ({quarters} quarters at {ramp_mid:.1%}), so hire {hires}"
    )
    return HeadcountPlan(full, existing, first_year, hires, explanation)
