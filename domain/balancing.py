"""Balanced assignment (docs/domain.md, "Balanced assignment"): the shapes the optimiser works on.

A unit is an account, or a parent with its subsidiaries, that moves as one; a rep slot has a capacity
(in the tenant's capacity unit), expertise and a share of the potential (a new hire ramping at 50% takes
half). The bands say how far from its share of the mean a rep's potential may be, and how far from its
capacity its workload. The
optimiser itself is `domain.optimiser`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Unit:
    """An account, or a parent with its subsidiaries, that moves as one."""

    key: Hashable
    rep: Hashable  # current owner
    potential: float
    workload: float = 0.0
    cost: float = 1.0  # value-weighted cost of moving it (tier-1 accounts cost most)
    locked: bool = False
    needs: frozenset[str] = frozenset()  # expertise a new owner must have


@dataclass(frozen=True)
class RepSlot:
    key: Hashable
    capacity: float | None = None  # in the tenant's capacity unit (domain/capacity.py); None: not constrained
    expertise: frozenset[str] = frozenset()
    share: float = 1.0  # of an even share of potential: a new hire ramping at 50% takes 0.5


@dataclass(frozen=True)
class Bands:
    potential: float = 0.10  # +- around the mean
    capacity: float = 0.20  # +- around each rep's capacity


@dataclass(frozen=True)
class Factor:
    """One figure behind a move (docs/domain.md, Move reasons): the rule, the rep it is about (a key) and
    the amount: potential outside the band (above_band, below_band), the share of its capacity a rep's
    workload was (over_capacity, under_capacity); `needs`: the expertise the source lacks (lacks_expertise).
    Other rules: has_expertise, owner_absent (the owner is not in the plan), room (the target had room),
    within_bands (nothing was out of band: the target had room within its bands)."""

    rule: str
    rep: Hashable
    amount: float | None = None
    needs: tuple[str, ...] = ()


_GROUP = {
    "above_band": "balance",
    "below_band": "balance",
    "within_bands": "balance",
    "over_capacity": "capacity",
    "under_capacity": "capacity",
    "lacks_expertise": "expertise",
}


def _factor_text(f: Factor, who: str) -> str:
    if f.rule == "above_band":
        return f"{who} was {f.amount or 0:,.0f} above the band's top"
    if f.rule == "below_band":
        return f"{who} was {f.amount or 0:,.0f} below the band's bottom"
    if f.rule in ("over_capacity", "under_capacity"):
        return f"{who} was at {f.amount or 0:.0%} of its capacity"
    if f.rule == "lacks_expertise":
        return f"{who} lacks {', '.join(f.needs)}"
    if f.rule == "has_expertise":
        return f"{who} has it"
    if f.rule == "owner_absent":
        return f"its owner {who} is not in the plan"
    if f.rule == "within_bands":
        return f"{who} had room for it within its bands"
    return f"{who} had room"


def explain(factors: Sequence[Factor], name: Callable[[Hashable], str] = str) -> str:
    """The factors in words, each rep by `name` (a key stands for itself): a run of one group's factors
    under one label ("balance: A was 665,000 above the band's top, B was ... below the band's bottom"),
    the runs apart by "; "."""
    runs: list[tuple[str | None, list[str]]] = []
    for f in factors:
        group = _GROUP.get(f.rule)
        text = _factor_text(f, name(f.rep))
        if runs and group is not None and runs[-1][0] == group:
            runs[-1][1].append(text)
        else:
            runs.append((group, [text]))
    return "; ".join((f"{g}: " if g else "") + ", ".join(texts) for g, texts in runs)


def leading_rule(factors: Sequence[Factor]) -> str | None:
    """The rule a move is filed under: the group of its first factor (balance, capacity, expertise) or
    the factor's own rule (owner_absent)."""
    return (_GROUP.get(factors[0].rule) or factors[0].rule) if factors else None


@dataclass(frozen=True)
class Move:
    unit: Hashable
    source: Hashable
    target: Hashable
    cost: float
    potential: float
    factors: tuple[Factor, ...] = ()  # why this unit moved, and why there

    @property
    def reason(self) -> str:
        """In words, reps by key (domain.rebalancing names them)."""
        return explain(self.factors)


@dataclass
class Result:
    moves: list[Move] = field(default_factory=list)
    assignment: dict[Hashable, Hashable] = field(default_factory=dict)  # unit -> rep
    weighted_moves: float = 0.0
    lower_bound: float | None = 0.0  # None: no plan can meet the potential band (see `infeasible`)
    gap: float | None = None  # (weighted - bound) / weighted
    violations: list[str] = field(default_factory=list)  # what still fails, and by how much
    infeasible: list[str] = field(default_factory=list)  # what no plan can meet, and why
    before: dict[Hashable, float] = field(default_factory=dict)  # potential per rep
    after: dict[Hashable, float] = field(default_factory=dict)


def band_limits(
    units: Sequence[Unit], reps: Sequence[RepSlot], bands: Bands
) -> dict[Hashable, tuple[float, float]]:
    """Each rep's band: its share of the potential, +- the band, widened by a rounding tolerance (so a rep
    at the edge is inside it for every rule here)."""
    shares = sum(r.share for r in reps)
    per_share = sum(u.potential for u in units) / shares if shares else 0.0
    out = {}
    for r in reps:
        target = per_share * r.share
        tol = 1e-9 * max(1.0, target)
        out[r.key] = (target * (1 - bands.potential) - tol, target * (1 + bands.potential) + tol)
    return out


def units_from_accounts(
    accounts: Iterable[dict[str, Any]], keep_families: bool = True
) -> tuple[list[Unit], dict[Hashable, list[Hashable]]]:
    """Accounts ({key, rep, potential, workload, cost, locked, needs, family}) as units: a family (its
    top parent's key) moves as one, locked if any member is locked, owned by the family head's rep."""
    members: dict[Hashable, list[dict[str, Any]]] = {}
    for a in accounts:
        family = a.get("family") if keep_families else None
        members.setdefault(family if family is not None else a["key"], []).append(a)
    units, index = [], {}
    for key, group in members.items():
        head = next((a for a in group if a["key"] == key), group[0])
        units.append(
            Unit(
                key,
                head["rep"],
                sum(a["potential"] for a in group),
                sum(a.get("workload", 0.0) for a in group),
                sum(a.get("cost", 1.0) for a in group),
                any(a.get("locked") for a in group),
                frozenset().union(*(frozenset(a.get("needs", ())) for a in group)),
            )
        )
        index[key] = [a["key"] for a in group]
    return units, index
