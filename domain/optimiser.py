"""The balanced-assignment optimiser (docs/domain.md, "Balanced assignment"), vectorised with numpy.

The problem: place every unit (an account, or a family that moves as one) with one rep so that each rep's
potential lies in its band around its share of the mean, and its workload in its band around its capacity,
moving as little value as possible (a move costs the unit's weight: tier-1 accounts cost most). Locked
units stay; a unit goes only to a rep with the expertise it needs; a unit whose owner is not in the plan,
or lacks the expertise the unit needs, must move.

A book of up to 20,000 (unit, eligible rep) pairs is solved exactly, as a MIP. A larger one goes
through a pooled LP: which units leave their rep (a fraction each), and how much potential and workload
each rep takes from a pool of the leaving units of each eligibility group. Its rows are only the pools
and the reps. The units it sends away are placed, the most constrained first and largest first, where they
leave their new rep nearest the middle of its bands; a repair then moves single units (or swaps two),
cheapest per unit of violation removed, until every band holds or nothing helps. What still fails is
listed with its size.

The bound is a Lagrangian relaxation of the rep bands. With a price per rep on potential (pi) and on
workload (sigma), each unit independently takes the rep where `move cost + pi * potential + sigma *
workload` is least, and

    D(pi, sigma) = sum over units of that least cost - sum over reps of (pi * the band's edge it prices)

is at most the weighted moves of *any* plan that meets every band, for any prices (weak duality): every
rep and every unit take part, so the bound holds for all reps, not only the candidates searched. The
prices are the pooled LP's duals. A unit's least cost is an argmin over the lower envelope of one line per
rep (in workload per dollar), so one evaluation costs O(units log reps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from domain.balancing import Bands, Factor, Move, RepSlot, Result, Unit, band_limits

Progress = Callable[[float, str], None]
SEARCHED = 30_000  # moved units a repair step weighs for a move into a rep


class Cancelled(Exception):
    """The caller asked the optimiser to stop."""


@dataclass
class Book:
    """Units and reps as arrays; potential and workload scaled to a mean of one."""

    units: list[Unit]
    reps: list[RepSlot]
    p: np.ndarray
    w: np.ndarray
    m: np.ndarray  # cost of moving
    cur: np.ndarray  # index of the current rep, -1 when not in the plan
    locked: np.ndarray
    movable: np.ndarray  # not locked, and some rep may take it
    forced: np.ndarray  # must move: owner not in the plan, or without the expertise the unit needs
    group: np.ndarray  # eligibility group
    elig: np.ndarray  # (groups, reps): may this group go to this rep
    lo: np.ndarray
    hi: np.ndarray
    wlo: np.ndarray
    whi: np.ndarray
    p_scale: float
    w_scale: float
    infeasible: list[str] = field(default_factory=list)
    name: Callable[[Hashable], str] = str  # what the words call a unit or a rep by its key


def build(
    units: Iterable[Unit],
    reps: Iterable[RepSlot],
    bands: Bands,
    only_to: Hashable | None = None,
    name: Callable[[Hashable], str] = str,
) -> Book:
    units, reps = list(units), list(reps)
    index = {r.key: i for i, r in enumerate(reps)}
    n, k = len(units), len(reps)
    p = np.fromiter((u.potential for u in units), float, n)
    w = np.fromiter((u.workload for u in units), float, n)
    m = np.fromiter((u.cost for u in units), float, n)
    cur = np.fromiter((index.get(u.rep, -1) for u in units), np.int64, n)
    locked = np.fromiter((u.locked for u in units), bool, n)
    groups: dict[frozenset[str], int] = {}
    group = np.fromiter((groups.setdefault(u.needs, len(groups)) for u in units), np.int64, n)
    needs = sorted(groups, key=groups.__getitem__)
    elig = np.array([[g <= r.expertise for r in reps] for g in needs], bool).reshape(len(needs), k)
    able = elig[group, np.maximum(cur, 0)] if n and k else np.zeros(n, bool)
    if only_to is not None:
        elig &= np.array([r.key == only_to for r in reps], bool)[None, :]
    movable = ~locked & elig[group].any(axis=1) if k else np.zeros(n, bool)
    # must move: the owner is not in the plan, or lacks the expertise the unit needs (not when carving
    # a book for a newcomer, which moves nothing but to them)
    forced = movable & ((cur < 0) | (~able & (only_to is None)))
    limits = band_limits(units, reps, bands)
    lo = np.array([limits[r.key][0] for r in reps])
    hi = np.array([limits[r.key][1] for r in reps])
    cap = np.array([r.capacity if r.capacity else math.nan for r in reps])
    wlo = np.where(np.isnan(cap), -np.inf, cap * (1 - bands.capacity))
    whi = np.where(np.isnan(cap), np.inf, cap * (1 + bands.capacity))
    infeasible = _problems(units, reps, bands, p, cur, locked, group, elig, needs, hi, name)
    capped = ~np.isnan(cap)
    if capped.all() and k:
        # no reassignment can fix a team with too much or too little work in all: say so, do not churn
        util = w[(cur >= 0) | movable].sum() / cap.sum()
        if not 1 - bands.capacity <= util <= 1 + bands.capacity:
            infeasible.append(
                f"the book needs {util:.0%} of the team's capacity: not every rep can be within "
                f"{bands.capacity:.0%} of capacity (hire, raise the tier threshold, or resize the team)"
            )
            wlo[:], whi[:] = -np.inf, np.inf
    p_scale = float(p.mean()) if n and p.mean() > 0 else 1.0
    w_scale = float(w.mean()) if n and w.mean() > 0 else 1.0
    return Book(
        units, reps, p / p_scale, w / w_scale, m, cur, locked, movable, forced, group, elig,
        lo / p_scale, hi / p_scale, wlo / w_scale, whi / w_scale, p_scale, w_scale, infeasible, name,
    )  # fmt: skip


def _problems(
    units: list[Unit], reps: list[RepSlot], bands: Bands, p: np.ndarray, cur: np.ndarray,
    locked: np.ndarray, group: np.ndarray, elig: np.ndarray, needs: list[frozenset[str]], hi: np.ndarray,
    name: Callable[[Hashable], str] = str,
) -> list[str]:  # fmt: skip
    """What no plan can meet, in words: a unit larger than the band of every rep it may go to, a unit no
    rep may take, locked potential above a rep's band, a unit locked to a rep who is not in the plan."""
    out = []
    room = np.where(elig, hi[None, :], -np.inf).max(axis=1) if len(reps) else np.full(len(needs), -np.inf)
    for i in np.flatnonzero(p > room[group] + 1e-9 * np.abs(room[group])).tolist():
        if np.isfinite(room[group[i]]):
            out.append(
                f"{name(units[i].key)}: potential {p[i]:,.0f} alone is above the band's top "
                f"({room[group[i]]:,.0f}): its owner cannot be within {bands.potential:.0%} of its share"
            )
    for i in np.flatnonzero(~locked & ~np.isfinite(room[group])).tolist():
        out.append(
            f"{name(units[i].key)}: no rep has the expertise it needs ({', '.join(sorted(needs[group[i]]))})"
        )
    for i in np.flatnonzero(locked & (cur < 0)).tolist():
        out.append(f"{name(units[i].key)}: locked to {name(units[i].rep)}, who is not in the plan")
    held = np.bincount(cur[locked & (cur >= 0)], p[locked & (cur >= 0)], len(reps))
    for j in np.flatnonzero(held > hi + 1e-9 * np.abs(hi)).tolist():
        out.append(
            f"{name(reps[j].key)}: locked potential {held[j]:,.0f} is above the band's top ({hi[j]:,.0f})"
        )
    return out


def _envelope(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower envelope over t >= 0 of the lines a[i] + b[i] * t: the lines in order and where each
    stops being least (breakpoints, one fewer than lines)."""
    order = np.lexsort((a, -b))  # steepest first; among equal slopes the lowest first
    a, b = a.tolist(), b.tolist()  # plain floats: nearly parallel lines meet at +-inf, without a warning
    lines: list[int] = []
    starts: list[float] = []
    for i in order.tolist():
        if lines and b[lines[-1]] == b[i]:
            continue  # same slope, higher line
        while lines:
            j = lines[-1]
            x = (a[i] - a[j]) / (b[j] - b[i])  # where i drops below j
            if x <= starts[-1]:
                lines.pop()
                starts.pop()
            else:
                break
        if not lines:
            lines.append(i)
            starts.append(-math.inf)
        else:
            x = (a[i] - a[lines[-1]]) / (b[lines[-1]] - b[i])
            lines.append(i)
            starts.append(x)
    return np.array(lines, np.int64), np.array(starts[1:])


class Solver:
    def __init__(self, book: Book) -> None:
        self.b = book
        b = book
        self.movable = b.movable
        with np.errstate(divide="ignore"):
            self.t = np.where(b.p > 0, b.w / np.where(b.p > 0, b.p, 1.0), np.inf)
        self.members = [np.flatnonzero(self.movable & (b.group == g)) for g in range(b.elig.shape[0])]
        self.reps_of = [np.flatnonzero(b.elig[g]) for g in range(b.elig.shape[0])]
        self.home = np.where(b.cur >= 0, b.cur, 0)
        self.capped = capped = np.isfinite(b.whi)
        # the bands' middles and widths; workload's are 0 (middle) and infinite (width) where a rep has
        # no capacity, so that its workload never counts
        self.mid, self.width = (b.lo + b.hi) / 2, np.maximum(b.hi - b.lo, 1e-9)
        self.wlo0 = np.where(capped, b.wlo, 0.0)
        self.wmid = (self.wlo0 + np.where(capped, b.whi, 0.0)) / 2  # the capacity itself
        self.wwidth = np.where(capped, np.maximum(np.where(capped, b.whi, 0.0) - self.wlo0, 1e-9), np.inf)

    def relax(self, pi: np.ndarray, sigma: np.ndarray) -> float:
        """D(pi, sigma): a lower bound on the weighted moves of every plan meeting the bands."""
        b = self.b
        n = len(b.p)
        best = np.full(n, -1, np.int64)
        best_cost = np.full(n, np.inf)
        for idx, reps in zip(self.members, self.reps_of, strict=True):
            if not len(idx) or not len(reps):
                continue
            lines, breaks = _envelope(pi[reps], sigma[reps])
            r = reps[lines[np.searchsorted(breaks, self.t[idx], side="right")]]
            best[idx] = r
            best_cost[idx] = b.p[idx] * pi[r] + b.w[idx] * sigma[r]
        stay_cost = np.where(b.cur >= 0, b.p * pi[self.home] + b.w * sigma[self.home], np.inf)
        stay_cost[b.forced] = np.inf
        move_cost = b.m + best_cost
        moving = move_cost < stay_cost
        choice = np.where(moving, best, b.cur)
        cost = np.where(moving, move_cost, stay_cost)
        value = float(cost[choice >= 0].sum())
        value -= float(np.where(pi > 0, pi * b.hi, pi * b.lo).sum())
        c = self.capped
        value -= float(np.where(sigma[c] > 0, sigma[c] * b.whi[c], sigma[c] * b.wlo[c]).sum())
        return value

    def violation(self, load: np.ndarray, work: np.ndarray, r: Any = None) -> np.ndarray:
        """How far outside its bands each rep is, in scaled potential plus scaled hours; `r`: the reps
        `load` and `work` belong to (an index array, broadcast), every rep when None."""
        b = self.b
        r = slice(None) if r is None else r
        over = np.maximum(np.maximum(load - b.hi[r], b.lo[r] - load), 0.0)
        wover = np.maximum(np.maximum(work - b.whi[r], b.wlo[r] - work), 0.0)
        return over + np.where(self.capped[r], wover, 0.0)

    def repair(self, choice: np.ndarray, should_stop: Callable[[], bool] | None = None) -> np.ndarray:
        """Single-unit moves, cheapest per unit of violation removed, until every band holds or no move
        reduces the total violation; then units go back home wherever both bands still hold.

        A step fixes the rep furthest outside its bands: it sends one of its units to one of the reps with
        the most room, or takes one from the reps with the most to spare (or from the units already moved,
        whose re-routing costs nothing more). Each rep's units are kept in an array, so a step costs
        O(units of a few reps and a window of the moved ones), not O(book)."""
        b = self.b
        a = choice.copy()
        k = len(b.reps)
        placed = a >= 0
        load = np.bincount(a[placed], b.p[placed], k)
        work = np.bincount(a[placed], b.w[placed], k)
        capped, mid, width = self.capped, self.mid, self.width
        wlo0, wmid, wwidth = self.wlo0, self.wmid, self.wwidth
        movable = np.flatnonzero(self.movable & placed)
        order = movable[np.argsort(a[movable], kind="stable")]
        cuts = np.searchsorted(a[order], np.arange(k + 1))
        members = [order[cuts[r] : cuts[r + 1]] for r in range(k)]
        fan = min(k, 64)
        donors_n = min(k, 32)
        # a free move (re-routing a moved unit) still counts a little, so that of two free moves the one
        # that fixes more is taken: fewer, larger steps
        eps = 0.2 * float(b.m[b.m > 0].min()) if (b.m > 0).any() else 0.01
        # units already moved, with their own copies of what a step reads (contiguous, so a step over
        # even 100,000 of them stays cheap); room to grow as the repair moves more
        moved = np.flatnonzero(self.movable & placed & (a != b.cur))
        size = len(moved)
        room_for = max(2 * size, 1024)
        mv: np.ndarray = np.zeros(room_for, np.int64)
        mv_p: np.ndarray = np.zeros(room_for)
        mv_w: np.ndarray = np.zeros(room_for)
        mv_m: np.ndarray = np.zeros(room_for)
        mv_cur: np.ndarray = np.zeros(room_for, np.int64)
        mv_g: np.ndarray = np.zeros(room_for, np.int64)
        mv[:size], mv_p[:size], mv_w[:size], mv_m[:size] = moved, b.p[moved], b.w[moved], b.m[moved]
        mv_cur[:size], mv_g[:size] = b.cur[moved], b.group[moved]
        mv_a: np.ndarray = np.zeros(room_for, np.int64)
        mv_a[:size] = a[moved]
        slot = {int(u): i for i, u in enumerate(moved.tolist())}

        f = self.violation

        def fullness() -> np.ndarray:  # the fuller of each rep's two bands, as a share (low: most room)
            return np.maximum((load - b.lo) / width, (work - wlo0) / wwidth)

        def surplus() -> np.ndarray:  # how far above the middle of its bands each rep is (high: to spare)
            return np.maximum((load - mid) / width, np.where(capped, (work - wmid) / wwidth, -np.inf))

        def units_of(reps: np.ndarray) -> np.ndarray:
            return np.concatenate([members[r] for r in reps.tolist()]) if len(reps) else np.zeros(0, np.int64)

        def shift(u: int, s: int, t: int) -> None:
            nonlocal mv, mv_p, mv_w, mv_m, mv_cur, mv_g, mv_a, size
            if a[u] == b.cur[u]:
                if size == len(mv):
                    mv, mv_p, mv_w, mv_m, mv_cur, mv_g, mv_a = (
                        np.concatenate((x, np.zeros_like(x)))
                        for x in (mv, mv_p, mv_w, mv_m, mv_cur, mv_g, mv_a)
                    )
                mv[size], mv_p[size], mv_w[size], mv_m[size] = u, b.p[u], b.w[u], b.m[u]
                mv_cur[size], mv_g[size], mv_a[size] = b.cur[u], b.group[u], t
                slot[u] = size
                size += 1
            elif u in slot:
                mv_a[slot[u]] = t
            a[u] = t
            members[s] = members[s][members[s] != u]
            members[t] = np.append(members[t], u)
            load[s] -= b.p[u]
            work[s] -= b.w[u]
            load[t] += b.p[u]
            work[t] += b.w[u]

        def swap(v: int, viol: np.ndarray) -> tuple[int, int, int] | None:
            """When no single move helps rep v (too much potential but too little work, say), exchange
            one of its units with one of a partner's: the partners with the most room and the most to
            spare. Cheapest per unit of violation removed, as for single moves."""
            mine = members[v]
            if not len(mine):
                return None
            room, spare = fullness(), -surplus()
            room[v] = spare[v] = np.inf
            n = min(k - 1, 8)
            if n <= 0:
                return None
            partners = np.unique(
                np.concatenate((np.argpartition(room, n - 1)[:n], np.argpartition(spare, n - 1)[:n]))
            )
            best_pair, best_score = None, np.inf
            for r in partners.tolist():
                theirs = members[r]
                if r == v or not len(theirs):
                    continue
                x_ok = b.elig[b.group[mine], r][:, None]
                y_ok = b.elig[b.group[theirs], v][None, :]
                dp = b.p[theirs][None, :] - b.p[mine][:, None]  # what v gains
                dw = b.w[theirs][None, :] - b.w[mine][:, None]
                dviol = (
                    f(load[v] + dp, work[v] + dw, np.array([v])) - viol[v]
                    + f(load[r] - dp, work[r] - dw, np.array([r])) - viol[r]
                )  # fmt: skip
                cx, cy = b.cur[mine][:, None], b.cur[theirs][None, :]
                mx, my = b.m[mine][:, None], b.m[theirs][None, :]
                dcost = np.where(cx != r, mx, 0.0) - np.where(cx != v, mx, 0.0)
                dcost = dcost + np.where(cy != v, my, 0.0) - np.where(cy != r, my, 0.0)
                ok = x_ok & y_ok & (dviol < -1e-12)
                if not ok.any():
                    continue
                score = np.where(ok, (dcost + 2 * eps) / np.where(ok, -dviol, 1.0), np.inf)
                i, j = np.unravel_index(int(np.argmin(score)), score.shape)
                if score[i, j] < best_score:
                    best_score, best_pair = float(score[i, j]), (int(mine[i]), int(theirs[j]), int(r))
            return best_pair

        tried: set[int] = set()  # reps no move helps, until the next round
        wide: set[int] = set()
        progressed = False
        for steps in range(4 * len(a) + 10):
            if should_stop is not None and should_stop():
                raise Cancelled
            viol = self.violation(load, work)
            failing = np.flatnonzero(viol > 1e-12)
            bad = [int(r) for r in failing[np.argsort(-viol[failing])] if int(r) not in tried]
            if not bad and progressed and tried:
                # a round through the stuck reps: moves since they were tried may have opened a way
                tried.clear()
                progressed = False
                continue
            if not bad:
                break
            v = bad[0]
            best = None  # (score, unit, source, target)
            # out of v: its units, to the reps with the most room
            units = members[v]
            if len(units):
                room = fullness()
                room[v] = np.inf
                width_v = min(k, 4 * fan) if v in wide else fan
                reps = np.argpartition(room, width_v - 1)[:width_v] if width_v < k else np.arange(k)
                dest = b.elig[b.group[units]][:, reps]
                dest &= (reps != v)[None, :]
                pu, wu = b.p[units][:, None], b.w[units][:, None]
                dv = f(load[v] - pu, work[v] - wu, np.array([v])) - viol[v]  # (n, 1)
                there = reps[None, :]
                dd = f(load[there] + pu, work[there] + wu, there) - viol[there]
                dviol = dv + dd
                home = b.cur[units][:, None]
                dcost = np.where(reps[None, :] != home, b.m[units][:, None], 0.0) - np.where(
                    home != v, b.m[units][:, None], 0.0
                )
                ok = dest & (dviol < -1e-12)
                if ok.any():
                    score = np.where(ok, (dcost + eps) / np.where(ok, -dviol, 1.0), np.inf)
                    row, col = np.unravel_index(int(np.argmin(score)), score.shape)
                    best = (float(score[row, col]), int(units[row]), v, int(reps[col]))
            # into v: a unit already moved (re-routing it costs nothing more), or one of the reps with the
            # most to spare
            spare = -surplus()
            spare[v] = np.inf
            many = min(k, 8 * donors_n) if v in wide else donors_n
            donors = np.argpartition(spare, many - 1)[:many] if many < k else np.arange(k)
            units = units_of(donors[donors != v])
            units = units[b.elig[b.group[units], v]] if len(units) else units
            fits_v = b.elig[:, v]
            # only a moved unit whose rep stays within (or comes nearer) its bands without it can help
            src_all = mv_a[:size]
            keep = (load[src_all] - mv_p[:size] >= b.lo[src_all]) | (viol[src_all] > 0)
            take = np.flatnonzero(keep & (src_all != v) & fits_v[mv_g[:size]])
            if len(take) > SEARCHED:  # a window that moves on each step: every moved unit gets its turn
                start = (steps * SEARCHED) % len(take)
                take = np.roll(take, -start)[:SEARCHED]
            cand = np.concatenate((units, mv[take]))
            if len(cand):
                src = np.concatenate((a[units], mv_a[take]))
                up = np.concatenate((b.p[units], mv_p[take]))
                uw = np.concatenate((b.w[units], mv_w[take]))
                um = np.concatenate((b.m[units], mv_m[take]))
                home = np.concatenate((b.cur[units], mv_cur[take]))
                ds = f(load[src] - up, work[src] - uw, src) - viol[src]
                dv = f(load[v] + up, work[v] + uw, np.full(len(cand), v)) - viol[v]
                dviol = ds + dv
                dcost = np.where(home != v, um, 0.0) - np.where(home != src, um, 0.0)
                ok = dviol < -1e-12
                if ok.any():
                    score = np.where(ok, (dcost + eps) / np.where(ok, -dviol, 1.0), np.inf)
                    i = int(np.argmin(score))
                    if best is None or score[i] < best[0]:
                        best = (float(score[i]), int(cand[i]), int(src[i]), v)
            if best is None and v not in wide:
                wide.add(v)  # search every rep before giving up on this one
                continue
            if best is None:
                pair = swap(v, viol)
                if pair is None:
                    tried.add(v)
                    continue
                (x, y, r) = pair
                shift(x, v, r)
                shift(y, r, v)
                progressed = True
                continue
            _, u, s, t = best
            shift(u, s, t)
            progressed = True
        # home again: a moved unit whose return keeps both reps within their bands (or no worse) goes back
        lo, hi, wl, wh = b.lo.tolist(), b.hi.tolist(), b.wlo.tolist(), b.whi.tolist()
        cap_ = capped.tolist()

        def off(r: int, ld: float, wk: float) -> float:  # `violation` for one rep, on plain floats: this
            # loop visits every moved unit, and numpy's per-call cost would dominate it
            out = max(ld - hi[r], lo[r] - ld, 0.0)
            return out + (max(wk - wh[r], wl[r] - wk, 0.0) if cap_[r] else 0.0)

        moved = np.flatnonzero((a != b.cur) & (b.cur >= 0) & ~b.forced & (a >= 0))
        ld_, wk_ = load.tolist(), work.tolist()
        for u in moved[np.argsort(-b.m[moved], kind="stable")].tolist():
            s, h = int(a[u]), int(b.cur[u])
            gain_p, gain_w = float(b.p[u]), float(b.w[u])
            before = off(s, ld_[s], wk_[s]) + off(h, ld_[h], wk_[h])
            after = off(s, ld_[s] - gain_p, wk_[s] - gain_w) + off(h, ld_[h] + gain_p, wk_[h] + gain_w)
            if after <= before + 1e-12:
                a[u] = h
                ld_[s] -= gain_p
                wk_[s] -= gain_w
                ld_[h] += gain_p
                wk_[h] += gain_w
        return a


@dataclass
class Pooled:
    """The pooled LP's answer: which units leave their rep (fractions), the reps' prices, and what the LP
    could not bring into the bands."""

    leave: np.ndarray  # per unit, in [0, 1]; forced units 1, others that cannot move 0
    pi: np.ndarray  # prices of the reps' potential and workload rows (the LP's duals, negated)
    sigma: np.ndarray
    short: np.ndarray  # per rep, potential the LP could not bring into the band (scaled)
    wshort: np.ndarray


def _highs() -> Any:
    """A silent HiGHS instance. highspy's `Highs` wrapper prints a banner to stdout when it is made
    (before any option can be set), which would corrupt a CLI's JSON output; its core class does not."""
    import highspy

    core = getattr(getattr(highspy, "_core", None), "_Highs", None)
    h = core() if core is not None else highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def _solve(
    cost: np.ndarray,
    upper: np.ndarray,
    lengths: np.ndarray,
    index: np.ndarray,
    value: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    elastic: np.ndarray,
    penalty: float,
    integer: int = 0,
    options: dict[str, Any] | None = None,
) -> Any:
    """Solve min cost.x over columns given column-wise (lengths, index, value), 0 <= x <= upper, rows
    within their bounds, the first `integer` columns whole. The `elastic` rows get one column up and one
    down at `penalty`, so the model is always feasible and the slack says by how much it is not.
    Returns the solved HiGHS instance; the slack columns follow the given ones."""
    import highspy  # a compiled solver, loaded when the optimiser first runs

    lengths = np.concatenate((lengths, np.ones(2 * len(elastic), np.int64)))
    lp = highspy.HighsLp()
    lp.num_col_ = len(lengths)
    lp.num_row_ = len(row_lower)
    lp.col_cost_ = np.concatenate((cost, np.full(2 * len(elastic), penalty)))
    lp.col_lower_ = np.zeros(lp.num_col_)
    lp.col_upper_ = np.concatenate((upper, np.full(2 * len(elastic), np.inf)))
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.concatenate(([0], np.cumsum(lengths)))
    lp.a_matrix_.index_ = np.concatenate((index, elastic, elastic))
    lp.a_matrix_.value_ = np.concatenate((value, np.ones(len(elastic)), -np.ones(len(elastic))))
    if integer:
        kinds = [highspy.HighsVarType.kInteger] * integer
        lp.integrality_ = kinds + [highspy.HighsVarType.kContinuous] * (lp.num_col_ - integer)
    h = _highs()
    for name, setting in (options or {}).items():
        h.setOptionValue(name, setting)
    h.passModel(lp)
    h.run()
    return h


def _pooled_lp(solver: Solver, time_limit: float | None = None) -> Pooled:
    """Relax where a leaving unit goes: it joins its eligibility group's pool, and each rep takes any
    amount of potential and of workload from the pools it may take from. A unit's leave fraction costs
    its weight. Every plan maps onto this LP, so its value is at most the plan's weighted moves; its rows
    are only the pools and the reps, so it stays small (rows: 2 x groups + 2 x reps). Elastic columns at
    a prohibitive price keep it feasible and measure what no plan can fix."""

    b = solver.b
    k, groups = len(b.reps), b.elig.shape[0]
    capped = solver.capped
    free = np.flatnonzero(b.movable & ~b.forced & (b.cur >= 0))
    forced = b.forced
    stays = (b.cur >= 0) & ~forced
    base_p = np.bincount(b.cur[stays], b.p[stays], k)
    base_w = np.bincount(b.cur[stays], b.w[stays], k)
    pool_p = np.bincount(b.group[forced], b.p[forced], groups)
    pool_w = np.bincount(b.group[forced], b.w[forced], groups)
    nw = int(capped.sum())
    wrow = np.full(k, -1, np.int64)
    wrow[capped] = 2 * groups + k + np.arange(nw)
    rows = 2 * groups + k + nw
    # leave columns: + into the pool's rows, - out of the owner's rows
    g, c = b.group[free], b.cur[free]
    with_w = capped[c]
    nnz = 3 + with_w.astype(np.int64)
    start = np.concatenate(([0], np.cumsum(nnz)))
    idx = np.empty(int(start[-1]), np.int64)
    val = np.empty(int(start[-1]))
    head = start[:-1]
    idx[head], val[head] = g, b.p[free]
    idx[head + 1], val[head + 1] = groups + g, b.w[free]
    idx[head + 2], val[head + 2] = 2 * groups + c, -b.p[free]
    hw = np.flatnonzero(with_w)
    idx[start[hw] + 3], val[start[hw] + 3] = wrow[c[hw]], -b.w[free[hw]]
    # flow columns: out of a pool, into a rep; potential and workload apart
    fg, fr = np.nonzero(b.elig)
    nf = len(fg)
    f_idx = np.stack((fg, 2 * groups + fr), axis=1).ravel()
    f_val = np.tile([-1.0, 1.0], nf)
    h_has = capped[fr]
    h_idx = [groups + fg, np.where(h_has, wrow[fr], -1)]
    h_pairs = np.stack(h_idx, axis=1)
    h_nnz = 1 + h_has.astype(np.int64)
    h_flat = h_pairs[np.stack((np.ones(nf, bool), h_has), axis=1)]
    h_val = np.stack((-np.ones(nf), np.ones(nf)), axis=1)[np.stack((np.ones(nf, bool), h_has), axis=1)]
    band = np.arange(2 * groups, rows)  # the reps' rows are elastic
    penalty = 1e4 * max(1.0, float(b.m.max()) if len(b.m) else 1.0)
    h = _solve(
        np.concatenate((b.m[free], np.zeros(2 * nf))),
        np.concatenate((np.ones(len(free)), np.full(2 * nf, np.inf))),
        np.concatenate((nnz, np.full(nf, 2), h_nnz)),
        np.concatenate((idx, f_idx, h_flat)),
        np.concatenate((val, f_val, h_val)),
        np.concatenate((-pool_p, -pool_w, b.lo - base_p, (b.wlo - base_w)[capped])),
        np.concatenate((-pool_p, -pool_w, b.hi - base_p, (b.whi - base_w)[capped])),
        band,
        penalty,
        options={"time_limit": float(time_limit)} if time_limit is not None else None,
    )
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    duals = np.asarray(sol.row_dual)
    slack = x[len(free) + 2 * nf :]
    excess = slack[: len(band)] + slack[len(band) :]
    pi = -duals[2 * groups : 2 * groups + k]
    sigma = np.zeros(k)
    sigma[capped] = -duals[2 * groups + k :]
    wshort = np.zeros(k)
    wshort[capped] = excess[k:]
    leave = forced.astype(float)
    leave[free] = x[: len(free)]
    return Pooled(leave, pi, sigma, excess[:k], wshort)


def _route(solver: Solver, pooled: Pooled) -> np.ndarray:
    """A plan from the pooled LP: the units it sends away (rounded) go, the most constrained and the
    largest first, to the eligible rep they leave nearest the middle of its bands (potential and
    workload, as shares of the bands), so that every rep ends as far inside as the leaving units allow."""
    b = solver.b
    k = len(b.reps)
    choice = b.cur.copy()
    going = b.movable & (pooled.leave > 0.5)
    stays = ~going & (choice >= 0)
    load = np.bincount(choice[stays], b.p[stays], k)
    work = np.bincount(choice[stays], b.w[stays], k)
    leaving = np.flatnonzero(going)
    mid, width, wmid, wwidth = solver.mid, solver.width, solver.wmid, solver.wwidth
    # the units with the fewest reps to go to first (an account needing expertise only experts may
    # take; the others fill whoever is left), largest first within each
    breadth = b.elig.sum(axis=1)[b.group[leaving]]
    for u in leaving[np.lexsort((-b.p[leaving], breadth))].tolist():
        g = b.group[u]
        # how much further from the middle of its bands the rep ends (squared, as shares of the bands)
        dp, dw = (load - mid) / width, (work - wmid) / wwidth
        fill = ((dp + b.p[u] / width) ** 2 - dp**2) + ((dw + b.w[u] / wwidth) ** 2 - dw**2)
        fill = np.where(b.elig[g], fill, np.inf)
        if b.cur[u] >= 0 and not b.forced[u]:
            fill[b.cur[u]] = np.inf  # it leaves
        r = int(np.argmin(fill))
        if not np.isfinite(fill[r]):
            r = int(b.cur[u])  # nowhere else to go
            if r < 0:
                continue
        choice[u] = r
        load[r] += b.p[u]
        work[r] += b.w[u]
    return choice


def _exact(solver: Solver, seconds: float) -> tuple[np.ndarray, float | None] | None:
    """The whole assignment as a MIP, for a book small enough (HiGHS, with elastic band rows so that a
    book no plan can balance still gets its least-violating plan). Returns the plan and the solver's
    proven bound on the weighted moves (None when the bands cannot all hold)."""

    b = solver.b
    k = len(b.reps)
    mv = np.flatnonzero(b.movable)
    allowed = b.elig[b.group[mv]].copy()
    home = (b.cur[mv] >= 0) & ~b.forced[mv]
    allowed[np.flatnonzero(home), b.cur[mv][home]] = True
    row, rep = np.nonzero(allowed)
    u = mv[row]
    n, ncol = len(mv), len(u)
    fixed = ~b.movable & (b.cur >= 0)
    fixed_p = np.bincount(b.cur[fixed], b.p[fixed], k)
    fixed_w = np.bincount(b.cur[fixed], b.w[fixed], k)
    capped = solver.capped
    wrow = np.full(k, -1, np.int64)
    wrow[capped] = n + k + np.arange(int(capped.sum()))
    rows = n + k + int(capped.sum())
    has_w = capped[rep]
    nnz = 2 + has_w.astype(np.int64)
    start = np.concatenate(([0], np.cumsum(nnz)))
    idx = np.empty(int(start[-1]), np.int64)
    val = np.empty(int(start[-1]))
    idx[start[:-1]], val[start[:-1]] = row, 1.0
    idx[start[:-1] + 1], val[start[:-1] + 1] = n + rep, b.p[u]
    hw = np.flatnonzero(has_w)
    idx[start[hw] + 2], val[start[hw] + 2] = wrow[rep[hw]], b.w[u[hw]]
    h = _solve(
        np.where(rep != b.cur[u], b.m[u], 0.0),
        np.ones(ncol),
        nnz,
        idx,
        val,
        np.concatenate((np.ones(n), b.lo - fixed_p, (b.wlo - fixed_w)[capped])),
        np.concatenate((np.ones(n), b.hi - fixed_p, (b.whi - fixed_w)[capped])),
        np.arange(n, rows),
        1e4 * max(1.0, float(b.m.max(initial=0.0))),
        integer=ncol,
        options={"time_limit": float(seconds), "mip_rel_gap": 1e-6},
    )
    if not h.getInfo().primal_solution_status:
        return None  # no plan at all (the solver failed): the caller takes the large-book path
    x = np.asarray(h.getSolution().col_value)
    choice = b.cur.copy()
    take = x[:ncol] > 0.5
    choice[u[take]] = rep[take]
    info = h.getInfo()
    slack = float(x[ncol:].sum()) if len(x) > ncol else 0.0
    bound = None if slack > 1e-6 else min(float(info.mip_dual_bound), float(info.objective_function_value))
    return choice, bound


def optimise(
    units: Iterable[Unit],
    reps: Iterable[RepSlot],
    bands: Bands = Bands(),
    only_to: Hashable | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    exact_pairs: int = 20_000,
    exact_seconds: float = 10.0,
    name: Callable[[Hashable], str] = str,
) -> Result:
    """Balance the book: the pooled LP decides which units leave and where the potential should go, a
    routing places them, a repair fixes what rounding broke; the Lagrangian value at the LP's prices is
    the bound every plan meeting the bands needs, at least. See the module's docstring."""

    def stage(fraction: float, message: str) -> None:
        if should_stop is not None and should_stop():
            raise Cancelled
        if progress is not None:
            progress(fraction, message)

    stage(0.0, "reading the book")
    book = build(units, reps, bands, only_to, name)
    solver = Solver(book)
    stage(0.1, "solving the relaxation")
    pooled = _pooled_lp(solver)
    feasible = pooled.short.max(initial=0.0) <= 1e-6 and pooled.wshort.max(initial=0.0) <= 1e-6
    # (unit, eligible rep) pairs, counted per eligibility group: never a units x reps array
    pairs = int(np.bincount(book.group[book.movable], minlength=len(book.elig)) @ book.elig.sum(axis=1))
    exact = None
    if pairs <= exact_pairs:
        stage(0.3, "solving exactly")
        exact = _exact(solver, exact_seconds)
    if exact is not None:
        plan, proven = exact
        feasible = feasible and proven is not None
    else:
        stage(0.5, "placing the units that leave")
        plan = _route(solver, pooled)
        stage(0.6, "repairing the bands")
        plan = solver.repair(plan, should_stop)
        proven = None
    stage(0.9, "proving the bound")
    bound = None
    if feasible:
        bound = max(solver.relax(pooled.pi, pooled.sigma), proven if proven is not None else -math.inf)
    result = _result(book, solver, plan, bound)
    if not feasible:
        for j in np.flatnonzero(pooled.short > 1e-6).tolist():
            result.infeasible.append(
                f"{book.name(book.reps[j].key)}: no plan brings its potential into the band: at least "
                f"{pooled.short[j] * book.p_scale:,.0f} outside it"
            )
        for j in np.flatnonzero(pooled.wshort > 1e-6).tolist():
            result.infeasible.append(
                f"{book.name(book.reps[j].key)}: no plan brings its workload into the band: at least "
                f"{pooled.wshort[j] * book.w_scale:,.1f} h outside it"
            )
    stage(1.0, "done")
    return result


def _loads(book: Book, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    placed = choice >= 0
    k = len(book.reps)
    return np.bincount(choice[placed], book.p[placed], k), np.bincount(choice[placed], book.w[placed], k)


def _result(book: Book, solver: Solver, plan: np.ndarray, bound: float | None) -> Result:
    b = book
    keys = [r.key for r in b.reps]
    load0, work0 = _loads(b, b.cur)
    load1, work1 = _loads(b, plan)
    result = Result(
        before={k: float(v * b.p_scale) for k, v in zip(keys, load0, strict=True)},
        after={k: float(v * b.p_scale) for k, v in zip(keys, load1, strict=True)},
        infeasible=list(b.infeasible),
    )
    for i in np.flatnonzero(plan != b.cur).tolist():
        u = b.units[i]
        if plan[i] < 0:
            continue
        s, t = int(b.cur[i]), int(plan[i])
        result.moves.append(
            Move(u.key, u.rep, keys[t], u.cost, u.potential, _reason(solver, i, s, t, load0, work0))
        )
    result.assignment = {u.key: (keys[plan[i]] if plan[i] >= 0 else u.rep) for i, u in enumerate(b.units)}
    for j, key in enumerate(keys):
        who = b.name(key)
        lo, hi = b.lo[j] * b.p_scale, b.hi[j] * b.p_scale
        ld = load1[j] * b.p_scale
        if ld > hi:
            result.violations.append(f"{who}: potential {ld:,.0f} is {ld - hi:,.0f} above the band")
        elif ld < lo:
            result.violations.append(f"{who}: potential {ld:,.0f} is {lo - ld:,.0f} below the band")
        wk = work1[j] * b.w_scale
        if solver.capped[j] and wk > b.whi[j] * b.w_scale + 1e-9:
            result.violations.append(f"{who}: workload {wk:,.1f} h is above {b.whi[j] * b.w_scale:,.1f} h")
        elif solver.capped[j] and wk < b.wlo[j] * b.w_scale - 1e-9:
            result.violations.append(f"{who}: workload {wk:,.1f} h is below {b.wlo[j] * b.w_scale:,.1f} h")
    result.weighted_moves = sum(m.cost for m in result.moves)
    # the LP's bound carries solver noise (8.9e-12 for a book needing no move): no bound is below 0 or
    # above the plan found
    result.lower_bound = None if bound is None else min(0.0 if bound < 1e-9 else bound, result.weighted_moves)
    w, lb = result.weighted_moves, result.lower_bound
    result.gap = None if lb is None else (w - lb) / w if w else 0.0
    return result


def _reason(solver: Solver, i: int, s: int, t: int, load: np.ndarray, work: np.ndarray) -> tuple[Factor, ...]:
    """Why unit i moved from rep s to rep t, as factors (domain.balancing.explain words them), from the
    state before any move."""
    b = solver.b
    cap = solver.wmid
    u = b.units[i]
    target = b.reps[t].key
    if s < 0:
        return (Factor("owner_absent", u.rep), Factor("room", target))
    source = b.reps[s].key
    if b.forced[i]:
        lacking = tuple(sorted(u.needs - b.reps[s].expertise))
        return (Factor("lacks_expertise", source, needs=lacking), Factor("has_expertise", target))
    why: list[Factor] = []
    if load[s] > b.hi[s]:
        why.append(Factor("above_band", source, float((load[s] - b.hi[s]) * b.p_scale)))
    if load[t] < b.lo[t]:
        why.append(Factor("below_band", target, float((b.lo[t] - load[t]) * b.p_scale)))
    if np.isfinite(b.whi[s]) and work[s] > b.whi[s]:
        why.append(Factor("over_capacity", source, float(work[s] / cap[s])))
    if np.isfinite(b.wlo[t]) and work[t] < b.wlo[t]:
        why.append(Factor("under_capacity", target, float(work[t] / cap[t])))
    return tuple(why) or (Factor("within_bands", target),)
