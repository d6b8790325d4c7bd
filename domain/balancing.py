"""Balanced assignment (DOMAIN.md section 7, seed 001 step 4): the shapes the optimiser works on.

A unit is an account, or a parent with its subsidiaries, that moves as one; a rep slot has a capacity
(in the tenant's capacity unit), expertise and a share of the potential (a new hire ramping at 50% takes
half). The bands say how far from its share of the mean a rep's potential may be, and how far from its
capacity its workload. The
optimiser itself is `domain.optimiser`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
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
class Move:
    unit: Hashable
    source: Hashable
    target: Hashable
    cost: float
    potential: float
    reason: str  # in words: why this unit moved, and why there


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
