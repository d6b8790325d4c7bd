"""Capacity before territory (docs/domain.md, "Capacity"): what the coverage model asks of a book against
what the reps can carry, in the tenant's unit (hours a quarter, or accounts), the shortfall with its three
choices, the team size the account-to-rep ratios call for, and headcount from revenue with ramp and
attrition. One definition, `account_load` and `rep_capacity`, serves capacity, equity and the optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.defaults import CoverageModel, RepCapacity, TenantSettings
from domain.model import RampStatus

HOURS, ACCOUNTS = "hours", "accounts"
UNITS = (HOURS, ACCOUNTS)


def _middle(pair: tuple[float, float]) -> float:
    return (pair[0] + pair[1]) / 2


def visits_per_quarter(segment: str | None, model: CoverageModel) -> float:
    """A quarter's share of the segment's visits a year, the middle of its range (enterprise 6-8, mid-market
    4-6, SMB 2-3); an account with no segment is visited as SMB is."""
    visits = {"enterprise": model.enterprise_visits_per_year, "mid_market": model.mid_market_visits_per_year}
    return _middle(visits.get(segment or "", model.smb_visits_per_year)) / 4


def touches_per_quarter(tier: int, model: CoverageModel, segment: str | None = None) -> float:
    """Touches a quarter one account of the tier and segment asks for: the tier's outreach, the middle of
    its range (tier 1 8-12, tier 2 5-7, tier 3 2-3, once a quarter), plus the segment's visits."""
    low, high = {1: model.tier1_touches, 2: model.tier2_touches}.get(tier, model.tier3_touches)
    return (low + high) / 2 + visits_per_quarter(segment, model)


def proactive(tier: int | None, model: CoverageModel) -> bool:
    """Tiers up to proactive_max_tier are covered proactively; the rest reactively (no planned work)."""
    return (tier or 3) <= model.proactive_max_tier


def account_hours(tier: int | None, segment: str | None, settings: TenantSettings) -> float:
    """Hours a quarter one account asks of its owner: 0 when its tier is covered reactively."""
    model = settings.coverage_model
    if not proactive(tier, model):
        return 0.0
    return touches_per_quarter(tier or 3, model, segment) * model.hours_per_touch


def account_load(tier: int | None, segment: str | None, settings: TenantSettings) -> float:
    """What one account asks of its owner, in the tenant's unit (capacity.unit): its hours a quarter, or
    one account; 0 when its tier is covered reactively. Capacity, equity and the optimiser all count a
    book's workload with this."""
    if settings.capacity.unit == ACCOUNTS:
        return 1.0 if proactive(tier, settings.coverage_model) else 0.0
    return account_hours(tier, segment, settings)


def ramp_accounts(ramp: RampStatus, capacity: RepCapacity) -> float:
    """Accounts a rep carries by ramp status: new hire 6, ramping 10-15, ramped 20-30 (the middles), senior
    5 strategic accounts."""
    return {
        RampStatus.NEW_HIRE: float(capacity.new_hire_accounts),
        RampStatus.RAMPING: _middle(capacity.ramping_accounts),
        RampStatus.SENIOR: float(capacity.senior_strategic_accounts),
    }.get(ramp, _middle(capacity.ramped_accounts))


def rep_capacity(ramp: RampStatus | str, own: float | None, settings: TenantSettings) -> float:
    """What a rep can carry, in the tenant's unit: the rep's own `capacity` when set, else the default of
    its ramp status (hours: selling hours a quarter x ramp productivity; accounts: ramp_accounts)."""
    if own is not None:
        return float(own)
    ramp = RampStatus(ramp)
    if settings.capacity.unit == ACCOUNTS:
        return ramp_accounts(ramp, settings.capacity)
    return rep_hours(ramp, settings.capacity)


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
    hours: float  # a quarter; 0 for a tier covered reactively
    load: float  # in the tenant's unit (hours, or accounts)
    proactive: bool


@dataclass(frozen=True)
class Choice:
    kind: str  # hire | raise_threshold | accept_gap
    summary: str
    figures: dict[str, float | int | None]


@dataclass(frozen=True)
class TeamSize:
    """Reps the account-to-rep ratios call for (enterprise 3-5, mid-market 15-20, SMB 50-100 a rep)."""

    segment: str
    accounts: int
    accounts_per_rep: tuple[int, int]
    reps: tuple[int, int]  # at the ratio's high end (fewest reps) and at its low end


@dataclass(frozen=True)
class CapacityPlan:
    unit: str  # hours (a quarter) or accounts: settings capacity.unit
    needs: tuple[CoverageNeed, ...]
    needed: float
    available: float
    shortfall: float
    hours_needed: float  # the proactive accounts' hours a quarter, whatever the unit
    choices: tuple[Choice, ...]  # empty when the team can carry the book
    team_size: tuple[TeamSize, ...]


def capacity_plan(
    accounts: Sequence[CapacityAccount],
    reps: Iterable[tuple[RampStatus, float | None]],
    settings: TenantSettings,
) -> CapacityPlan:
    """For each segment and tier, the accounts that need proactive coverage x their touches a quarter x
    hours per touch (or one each, counted in accounts), against what the reps can carry (`reps`: ramp
    status and own capacity of each active rep)."""
    model, unit = settings.coverage_model, settings.capacity.unit
    groups: dict[tuple[str | None, int], int] = {}
    for a in accounts:
        groups[(a.segment, a.tier)] = groups.get((a.segment, a.tier), 0) + 1
    needs = tuple(
        CoverageNeed(
            segment,
            tier,
            count,
            touches_per_quarter(tier, model, segment),
            count * account_hours(tier, segment, settings),
            count * account_load(tier, segment, settings),
            proactive(tier, model),
        )
        for (segment, tier), count in sorted(groups.items(), key=lambda kv: (kv[0][1], str(kv[0][0])))
    )
    needed = sum(n.load for n in needs)
    available = sum(rep_capacity(ramp, own, settings) for ramp, own in reps)
    shortfall = max(0.0, needed - available)
    hours_needed = sum(n.hours for n in needs)
    sizes = team_size(accounts, model)
    if shortfall == 0:
        return CapacityPlan(unit, needs, needed, available, 0.0, hours_needed, (), sizes)
    return CapacityPlan(
        unit,
        needs,
        needed,
        available,
        shortfall,
        hours_needed,
        _choices(accounts, available, shortfall, settings),
        sizes,
    )


def team_size(accounts: Iterable[CapacityAccount], model: CoverageModel) -> tuple[TeamSize, ...]:
    """The coverage model's team: each segment's accounts over its account-to-rep ratio (100 enterprise
    accounts at 3-5 a rep need 20-34 reps)."""
    ratios = {
        "enterprise": model.enterprise_accounts_per_rep,
        "mid_market": model.mid_market_accounts_per_rep,
        "smb": model.smb_accounts_per_rep,
    }
    counts: dict[str, int] = {}
    for a in accounts:
        segment = a.segment if a.segment in ratios else "smb"
        counts[segment] = counts.get(segment, 0) + 1
    return tuple(
        TeamSize(s, n, ratios[s], (math.ceil(n / ratios[s][1]), math.ceil(n / ratios[s][0])))
        for s, n in sorted(counts.items())
    )


def _amount(x: float) -> str:
    """112.5 -> "112.5", 70.0 -> "70", 1234.0 -> "1,234"."""
    return f"{x:,.1f}".removesuffix(".0")


def _choices(
    accounts: Sequence[CapacityAccount], available: float, shortfall: float, settings: TenantSettings
) -> tuple[Choice, ...]:
    unit = settings.capacity.unit
    what = "hours" if unit == HOURS else "accounts"
    ramped = math.ceil(shortfall / rep_capacity(RampStatus.RAMPED, None, settings))
    new_hires = math.ceil(shortfall / rep_capacity(RampStatus.NEW_HIRE, None, settings))
    hire = Choice(
        "hire",
        f"hire {ramped} ramped rep(s), or {new_hires} new hire(s) while they ramp, "
        f"for {_amount(shortfall)} more {what}",
        {"ramped_reps": ramped, "new_hires": new_hires, unit: shortfall},
    )
    # raise the threshold: cover the highest-potential proactive accounts that fit in the capacity there is
    model = settings.coverage_model
    candidates = sorted(
        (a for a in accounts if proactive(a.tier, model)), key=lambda a: (-a.potential, str(a.id))
    )
    used, covered, threshold = 0.0, 0, None
    for a in candidates:
        load = account_load(a.tier, a.segment, settings)
        if used + load > available:
            break
        used += load
        covered += 1
        threshold = a.potential
    left_out = len(candidates) - covered
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
        f"document the gap: {_amount(shortfall)} {what}{' a quarter' if unit == HOURS else ''}, "
        f"about {left_out} accounts without proactive coverage",
        {unit: shortfall, "accounts_uncovered": left_out},
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
    """Headcount (docs/domain.md, "Capacity"): target revenue / quota per rep, adjusted for ramp (50-75% in
    the first two quarters)
    and attrition (leavers count for half a year on average)."""
    full = target_revenue / quota_per_rep
    ramped_equivalents = sum(productivity(r, capacity) for r in reps)
    existing = ramped_equivalents * (1 - capacity.attrition_rate / 2)
    ramp_mid = sum(capacity.ramp_productivity) / 2
    quarters = min(capacity.ramp_quarters, 4)
    first_year = (quarters * ramp_mid + (4 - quarters)) / 4
    hires = max(0, math.ceil(round((full - existing) / first_year, 9)))
    explanation = (
        f"{target_revenue:,.0f} / {quota_per_rep:,.0f} = {full:g} reps at full productivity; the team gives "
        f"{ramped_equivalents:.2f} ramped-rep equivalents x (1 - {capacity.attrition_rate:.0%} attrition "
        f"/ 2, leavers counting for half the year on average) = {existing:.2f}; a new hire gives "
        f"{first_year:.4f} in the first year ({quarters} quarters at {ramp_mid:.1%}, then full), so hire "
        f"({full:g} - {existing:.2f}) / {first_year:.4f} = {hires}"
    )
    return HeadcountPlan(full, existing, first_year, hires, explanation)
