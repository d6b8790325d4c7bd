"""Balance and equity of a plan (docs/domain.md, "Equity").

Equal opportunity, not equal account counts: books are compared on potential, on quota, and on workload
against capacity. "Is the highest territory potential >20% above the lowest?" (spread = highest /
lowest - 1: within 10% is fine, above 20% calls for a rebalance); no rep over- or under-loaded by
more than 20%; quota at 70-80% of potential; high-potential accounts spread, not concentrated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.capacity import account_load
from domain.defaults import TenantSettings


@dataclass
class Book:
    """One territory's or rep's share of a plan."""

    key: Any
    name: str | None
    accounts: int = 0
    potential: float = 0.0
    workload: float = 0.0  # in the tenant's capacity unit (domain.capacity.account_load)
    tiers: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0})
    pipeline: float = 0.0
    tap: float = 0.0
    quota: float | None = None
    capacity: float | None = None  # reps only, in the same unit (domain.capacity.rep_capacity)


def add_account(
    book: Book, tier: int | None, potential: float, settings: TenantSettings, segment: str | None = None
) -> None:
    book.accounts += 1
    book.potential += potential
    book.workload += account_load(tier, segment, settings)
    book.tiers[tier or 3] = book.tiers.get(tier or 3, 0) + 1


@dataclass(frozen=True)
class Spread:
    mean: float | None
    lowest: float | None
    highest: float | None
    spread: float | None  # highest / lowest - 1; None with fewer than two books or a zero lowest
    status: str  # fine (within 10%), watch, rebalance (above 20%), n/a


def spread(values: Sequence[float], settings: TenantSettings) -> Spread:
    if not values:
        return Spread(None, None, None, None, "n/a")
    low, high = min(values), max(values)
    mean = sum(values) / len(values)
    if len(values) < 2 or low <= 0:
        value = None if len(values) < 2 else (float("inf") if high > 0 else 0.0)
    else:
        value = high / low - 1
    rules = settings.equity
    if value is None:
        status = "n/a"
    elif value > rules.quota_spread_rebalance:
        status = "rebalance"
    elif value > rules.quota_spread_fine:
        status = "watch"
    else:
        status = "fine"
    return Spread(mean, low, high, None if value == float("inf") else value, status)


@dataclass(frozen=True)
class BookEquity:
    key: Any
    name: str | None
    accounts: int
    potential: float
    potential_vs_mean: float | None  # (potential - mean) / mean
    workload: float
    capacity: float | None
    load: float | None  # workload / capacity
    load_flag: str | None  # over, under, or None within the band
    tiers: dict[int, int]
    tier1_share: float | None  # of all tier-1 accounts in the plan
    pipeline: float
    tap: float
    pipeline_to_tap: float | None
    quota: float | None
    suggested_quota: tuple[float, float]  # 70-80% of potential


@dataclass(frozen=True)
class Equity:
    books: tuple[BookEquity, ...]
    potential: Spread
    quota: Spread
    overloaded: tuple[Any, ...]
    underloaded: tuple[Any, ...]
    tier1_concentration: float | None  # the largest share of tier-1 accounts one book holds
    tier1_fair_share: float | None  # 1 / books
    flags: tuple[str, ...]  # what a reviewer must look at, in words
    unit: str = "hours"  # what workload and capacity are counted in (settings capacity.unit)


def equity(books: Iterable[Book], settings: TenantSettings) -> Equity:
    books = list(books)
    rules = settings.equity
    pot = spread([b.potential for b in books], settings)
    quota = spread([b.quota for b in books if b.quota is not None], settings)
    tier1_total = sum(b.tiers.get(1, 0) for b in books)
    low_q, high_q = rules.quota_share_of_potential
    out = []
    over, under = [], []
    for b in books:
        load = b.workload / b.capacity if b.capacity else None
        flag = None
        if load is not None and load > 1 + rules.capacity_band:
            flag = "over"
            over.append(b.key)
        elif load is not None and load < 1 - rules.capacity_band:
            flag = "under"
            under.append(b.key)
        out.append(
            BookEquity(
                b.key,
                b.name,
                b.accounts,
                b.potential,
                (b.potential - pot.mean) / pot.mean if pot.mean else None,
                b.workload,
                b.capacity,
                load,
                flag,
                dict(b.tiers),
                b.tiers.get(1, 0) / tier1_total if tier1_total else None,
                b.pipeline,
                b.tap,
                b.pipeline / b.tap if b.tap else None,
                b.quota,
                (b.potential * low_q, b.potential * high_q),
            )
        )
    concentration = max((x.tier1_share or 0.0 for x in out), default=None) if tier1_total else None
    fair = 1 / len(books) if books else None
    flags = []
    if pot.status == "rebalance":
        flags.append(
            f"potential: the highest book is {pot.spread:.0%} above the lowest (rebalance above "
            f"{rules.quota_spread_rebalance:.0%})"
            if pot.spread is not None
            else "potential: a book has no potential at all"
        )
    if quota.status == "rebalance" and quota.spread is not None:
        flags.append(f"quota: the highest is {quota.spread:.0%} above the lowest")
    for x in out:
        if x.load_flag and x.load is not None:
            flags.append(
                f"{x.name or x.key}: workload {x.workload:,.1f} {settings.capacity.unit} at {x.load:.0%} of "
                f"capacity {x.capacity:,.1f} ({x.load_flag}loaded)"
            )
        if x.quota is not None and not (x.suggested_quota[0] <= x.quota <= x.suggested_quota[1]):
            flags.append(
                f"{x.name or x.key}: quota {x.quota:,.0f} outside 70-80% of potential "
                f"({x.suggested_quota[0]:,.0f}-{x.suggested_quota[1]:,.0f})"
            )
    if concentration is not None and fair is not None and len(books) > 1 and concentration > 2 * fair:
        flags.append(
            f"tier 1: one book holds {concentration:.0%} of the tier-1 accounts (even share {fair:.0%})"
        )
    return Equity(
        tuple(out),
        pot,
        quota,
        tuple(over),
        tuple(under),
        concentration,
        fair,
        tuple(flags),
        settings.capacity.unit,
    )


def move_cost(tier: int | None, settings: TenantSettings) -> float:
    rules = settings.equity
    return {1: rules.move_cost_tier1, 2: rules.move_cost_tier2}.get(tier or 3, rules.move_cost_tier3)
