"""Balanced assignment (DOMAIN.md section 7, seed 001 step 4): move as little as possible, weighted by
account value, until every rep's potential lies within a band of the mean and its workload within a band
of its capacity; locked units never move; a family (parent and subsidiaries) is one unit; a unit goes only
to a rep with the expertise it needs.

This is the first, pure-Python version: a greedy repair with reasons for every move, and a lower bound on
the value-weighted moves that any plan meeting the potential band needs (valid for every rep, not only the
ones searched). It is exact for small books' tests; large books want the vectorised solver that comes next.

The bound: a rep above the band's top must shed at least its excess, and one below the bottom must
receive at least its shortfall. The cheapest way to shed (or receive) an amount of potential, when units
may be split, is the fractional knapsack by cost per dollar; a real plan cannot do better for any one rep,
and the reps' outflows (and inflows) are disjoint sets of units, so either sum is a lower bound.
"""

from __future__ import annotations

import dataclasses
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
    capacity: float | None = None  # workload hours; None: not constrained
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


def _eligible(unit: Unit, rep: RepSlot) -> bool:
    return unit.needs <= rep.expertise


def _shed_cost(units: Sequence[Unit], amount: float) -> float:
    """Least cost to move `amount` of potential out of these units, splitting units (a lower bound)."""
    if amount <= 0:
        return 0.0
    left, cost = amount, 0.0
    for u in sorted((u for u in units if u.potential > 0), key=lambda u: u.cost / u.potential):
        take = min(left, u.potential)
        cost += u.cost * take / u.potential
        left -= take
        if left <= 1e-9:
            return cost
    return float("inf")  # cannot shed that much: infeasible


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


def lower_bound(units: Sequence[Unit], reps: Sequence[RepSlot], bands: Bands) -> float:
    """Value-weighted moves any plan with every rep inside the potential band needs, at least."""
    limits = band_limits(units, reps, bands)
    present = {r.key for r in reps}
    by_rep: dict[Hashable, list[Unit]] = {r.key: [] for r in reps}
    for u in units:
        by_rep.setdefault(u.rep, []).append(u)
    # units owned by reps that are not in the plan must move whatever happens: their cost is paid once,
    # and as candidates for filling a rep they cost nothing more
    gone = sum(u.cost for u in units if u.rep not in present)
    out = 0.0
    into = 0.0
    for r in reps:
        low, high = limits[r.key]
        mine = by_rep.get(r.key, [])
        total = sum(u.potential for u in mine)
        if total > high:
            out += _shed_cost([u for u in mine if not u.locked], total - high)
        if total < low:
            others = [
                u if u.rep in present else dataclasses.replace(u, cost=0.0)
                for u in units
                if u.rep != r.key and not u.locked and _eligible(u, r)
            ]
            into += _shed_cost(others, low - total)
    return max(out, into) + gone


def check_feasible(units: Sequence[Unit], reps: Sequence[RepSlot], bands: Bands) -> list[str]:
    """What no plan can meet, in words (a unit larger than the band itself, locked potential above it)."""
    limits = band_limits(units, reps, bands)
    problems = []
    for u in units:
        room = max((limits[r.key][1] for r in reps if _eligible(u, r)), default=0.0)
        if reps and u.potential > room:
            problems.append(
                f"{u.key}: potential {u.potential:,.0f} alone is above the band's top ({room:,.0f}): "
                f"its owner cannot be within {bands.potential:.0%} of its share"
            )
        if not u.locked and not any(_eligible(u, r) for r in reps):
            problems.append(f"{u.key}: no rep has the expertise it needs ({', '.join(sorted(u.needs))})")
    locked: dict[Hashable, float] = {}
    for u in units:
        if u.locked:
            locked[u.rep] = locked.get(u.rep, 0.0) + u.potential
    for rep, amount in locked.items():
        if rep in limits and amount > limits[rep][1]:
            problems.append(
                f"{rep}: locked potential {amount:,.0f} is above the band's top ({limits[rep][1]:,.0f})"
            )
    return problems


def rebalance(
    units: Iterable[Unit],
    reps: Iterable[RepSlot],
    bands: Bands = Bands(),
    max_moves: int | None = None,
    only_to: Hashable | None = None,
) -> Result:
    """Greedy repair: while a rep is above the band, move its cheapest unit per dollar (that fits) to the
    eligible rep furthest below the mean; then fill reps below the band from reps above the mean. Every
    move says why. The result carries the lower bound and the gap to it. `only_to`: every move goes to
    this rep (carving a book for a new one)."""
    units = list(units)
    reps = list(reps)
    rep_by_key = {r.key: r for r in reps}
    limits = band_limits(units, reps, bands)
    where = {u.key: u.rep for u in units}
    load = {r.key: 0.0 for r in reps}
    work = {r.key: 0.0 for r in reps}
    for u in units:
        if u.rep in load:
            load[u.rep] += u.potential
            work[u.rep] += u.workload
    bound = lower_bound(units, reps, bands)
    result = Result(before=dict(load), lower_bound=bound if bound != float("inf") else None)
    result.infeasible = check_feasible(units, reps, bands)
    moved: set[Hashable] = set()
    limit = max_moves if max_moves is not None else 4 * len(units) + 10

    def fits(u: Unit, target: RepSlot) -> bool:
        if only_to is not None and target.key != only_to:
            return False  # carving a book for one rep: every move goes to it
        if not _eligible(u, target) or load[target.key] + u.potential > limits[target.key][1]:
            return False
        cap = target.capacity
        return cap is None or work[target.key] + u.workload <= cap * (1 + bands.capacity) + 1e-9

    # movable units per owner, cheapest per dollar first; a unit moves at most once
    ratio = {u.key: (u.cost / u.potential if u.potential else float("inf"), -u.potential) for u in units}
    movable: dict[Hashable, list[Unit]] = {}
    for u in sorted(units, key=lambda u: ratio[u.key]):
        if not u.locked:
            movable.setdefault(u.rep, []).append(u)

    def move(u: Unit, target: Hashable, reason: str) -> None:
        source = where[u.key]
        if source in load:
            load[source] -= u.potential
            work[source] -= u.workload
        load[target] += u.potential
        work[target] += u.workload
        where[u.key] = target
        moved.add(u.key)
        result.moves.append(Move(u.key, source, target, u.cost, u.potential, reason))

    # units whose owner is not in the plan (a departed rep) must move first
    for u in sorted(units, key=lambda u: -u.potential):
        if u.rep not in rep_by_key and u.locked:
            result.infeasible.append(f"{u.key}: locked to {u.rep}, who is not in the plan")
        elif u.rep not in rep_by_key:
            targets = [r for r in reps if fits(u, r)] or [r for r in reps if _eligible(u, r)]
            if targets:
                t = min(targets, key=lambda r: load[r.key])
                move(u, t.key, f"its owner {u.rep} is not in the plan; {t.key} has the most room")
    steps = 0
    while steps < limit:
        steps += 1
        over = [k for k in load if load[k] > limits[k][1]]
        under = [k for k in load if load[k] < limits[k][0]]
        if not over and not under:
            break
        done = False
        if over:
            source = max(over, key=lambda k: load[k])
            candidates = [u for u in movable.get(source, ()) if u.key not in moved]
            for u in candidates:
                # the excess it removes without pushing the source below the band
                targets = [r for r in reps if r.key != source and fits(u, r)]
                if not targets:
                    continue
                t = min(targets, key=lambda r: load[r.key])
                move(
                    u,
                    t.key,
                    f"balance: {source} was {load[source] + u.potential - limits[source][1]:,.0f} above the "
                    f"band's top; "
                    f"{t.key} was the lowest eligible rep",
                )
                done = True
                break
        if not done and under:
            target = min(under, key=lambda k: load[k] - limits[k][0])
            donors = sorted((k for k in load if load[k] > sum(limits[k]) / 2), key=lambda k: -load[k])
            for donor in donors:
                candidates = [u for u in movable.get(donor, ()) if u.key not in moved]
                for u in candidates:
                    if load[donor] - u.potential < limits[donor][0] or not fits(u, rep_by_key[target]):
                        continue
                    move(
                        u,
                        target,
                        f"balance: {target} was {limits[target][0] - load[target]:,.0f} below the band's "
                        f"bottom; {donor} had potential to spare",
                    )
                    done = True
                    break
                if done:
                    break
        if not done:
            break
    # then workload: shed from reps above their capacity band, and fill reps below it, keeping every rep's
    # potential inside its band (seed 001: no rep over- or under-loaded by more than 20%)
    capped: dict[Hashable, float] = {r.key: r.capacity for r in reps if r.capacity}

    def within_potential(k: Hashable, delta: float) -> bool:
        return limits[k][0] <= load[k] + delta <= limits[k][1]

    def util(k: Hashable) -> float:
        return work[k] / capped[k]

    total_cap = sum(capped.values())
    utilisation = sum(work[k] for k in capped) / total_cap if total_cap else 1.0
    structural = bool(capped) and not 1 - bands.capacity <= utilisation <= 1 + bands.capacity
    if structural:
        # no reassignment can fix a team that has too much or too little work in all: say so, do not churn
        result.infeasible.append(
            f"the book needs {utilisation:.0%} of the team's capacity: not every rep can be within "
            f"{bands.capacity:.0%} of capacity (hire, raise the tier threshold, or resize the team)"
        )
    steps = 0
    while not structural and steps < limit:
        steps += 1
        over_cap = sorted((k for k in capped if util(k) > 1 + bands.capacity + 1e-9), key=lambda k: -util(k))
        under_cap = sorted((k for k in capped if util(k) < 1 - bands.capacity - 1e-9), key=util)
        if not over_cap and not under_cap:
            break
        # (source, target): an overloaded rep sheds to anyone with room; an underloaded one takes from the
        # reps busier than the team as a whole
        pairs: list[tuple[Hashable, Hashable | None]] = [(k, None) for k in over_cap]
        for k in under_cap:
            pairs += [
                (d, k) for d in sorted(capped, key=lambda d: -util(d)) if util(d) > utilisation and d != k
            ]
        done = False
        for src, only in pairs:
            for u in sorted(
                (u for u in movable.get(src, ()) if u.key not in moved and u.workload > 0),
                key=lambda u: u.cost / u.workload,
            ):
                if not within_potential(src, -u.potential):
                    continue
                targets = [
                    r
                    for r in reps
                    if r.key != src
                    and (only is None or r.key == only)
                    and r.key in capped
                    and fits(u, r)
                    and within_potential(r.key, u.potential)
                    and work[r.key] + u.workload <= capped[r.key] * (1 + bands.capacity)
                ]
                if not targets:
                    continue
                t = min(targets, key=lambda r: util(r.key))
                move(
                    u,
                    t.key,
                    f"capacity: {src} was at {util(src):.0%} of its capacity; {t.key} at {util(t.key):.0%}",
                )
                done = True
                break
            if done:
                break
        if not done:
            break
    for k in load:
        low, high = limits[k]
        if load[k] > high:
            result.violations.append(f"{k}: potential {load[k]:,.0f} is {load[k] - high:,.0f} above the band")
        elif load[k] < low:
            result.violations.append(f"{k}: potential {load[k]:,.0f} is {low - load[k]:,.0f} below the band")
        cap = rep_by_key[k].capacity
        if cap is not None and work[k] > cap * (1 + bands.capacity) + 1e-9:
            result.violations.append(
                f"{k}: workload {work[k]:,.1f} h is above {cap * (1 + bands.capacity):,.1f} h"
            )
    result.assignment = dict(where)
    result.after = dict(load)
    result.weighted_moves = sum(m.cost for m in result.moves)
    w, b = result.weighted_moves, result.lower_bound
    result.gap = None if b is None else ((w - b) / w if w else (0.0 if b == 0 else None))
    return result


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
