"""Equity metrics of a plan, per territory and per rep (docs/domain.md, "Equity"), from one aggregate query
over the plan's current assignments with the accounts' scores and coverage facts."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.common import PlanRef, TerritoryRef, found
from api.services.context import AppContext, Principal, versioned_settings
from api.services.scoring import tenant_win_rates
from domain.capacity import account_load, rep_capacity
from domain.defaults import MAX_LISTED_ACCOUNTS, TenantSettings
from domain.equity import Book, Equity, equity
from domain.metrics import rate
from domain.model import Role, Scope, departed
from domain.scoring import segment_win_rates, total_addressable_pipeline
from persistence.equity import BookGroup

# a spread against the tenant's equity thresholds (domain/equity.py, spread)
SpreadStatus = Literal["fine", "watch", "rebalance", "n/a"]
# a book's load outside 1 +- the capacity band (domain/equity.py)
LoadFlag = Literal["over", "under"]


class SpreadRead(BaseModel):
    mean: float | None
    lowest: float | None
    highest: float | None
    spread: float | None = Field(description="highest / lowest - 1 (is the highest >20% above the lowest?)")
    status: SpreadStatus = Field(description="fine (within 10%), watch, rebalance (above 20%), n/a")


class BookEquityRead(BaseModel):
    key: UUID | None = Field(description="the territory or rep id; null: assignments without a territory")
    name: str | None
    accounts: int
    potential: float
    potential_vs_mean: float | None = Field(description="(potential - mean) / mean")
    workload: float = Field(
        description="what the coverage model asks for these accounts, in `unit`: hours a quarter (tier "
        "outreach + segment visits, x hours per touch) or proactive accounts; tiers covered reactively add 0"
    )
    capacity: float | None = Field(
        description="what the rep can carry, in `unit`: the rep's own capacity, or its ramp status's default"
    )
    load: float | None = Field(description="workload / capacity")
    load_flag: LoadFlag | None = Field(description="over or under when outside 1 +- the capacity band (20%)")
    tiers: dict[str, int]
    tier1_share: float | None = Field(description="share of the plan's tier-1 accounts held here")
    pipeline: float = Field(description="open opportunities")
    tap: float
    pipeline_to_tap: float | None
    quota: float | None
    suggested_quota: list[float] = Field(description="[70%, 80%] of potential")


class EquityRead(BaseModel):
    books: list[BookEquityRead]
    potential: SpreadRead
    quota: SpreadRead
    overloaded: list[UUID | None]
    underloaded: list[UUID | None]
    tier1_concentration: float | None = Field(
        description="the largest share of tier-1 accounts one book holds"
    )
    tier1_fair_share: float | None
    flags: list[str] = Field(description="what a reviewer must look at, in words")
    unit: str = Field(description="hours (a quarter) or accounts: what workload and capacity count")


class OwnerlessTerritoryRead(TerritoryRef):
    accounts: int = Field(description="accounts in it for the role")
    why: str = Field(description="no primary rep, or the primary rep has left (with the rep's name)")


class PlanEquityRead(BaseModel):
    plan_id: UUID
    role: Role
    settings_version: int
    by_territory: EquityRead
    by_rep: EquityRead
    territories_without_owner: list[OwnerlessTerritoryRead] = Field(
        description="territories no rep works: a departure vacates the leaving rep's; by name"
    )


class MoveRead(BaseModel):
    id: UUID = Field(description="the account")
    external_id: str
    name: str
    tier: int | None
    potential: float | None
    from_territory: UUID | None
    from_rep: UUID | None
    from_reason: str | None
    to_territory: UUID | None
    to_rep: UUID | None
    to_reason: str | None = Field(description="why the account is where it is in plan b")
    to_note: str | None


class MovesRead(BaseModel):
    count: int
    movement_rate: float | None = Field(description="moves / live accounts")
    accounts: list[MoveRead] = Field(description="highest potential first, the first 1,000")


class PlanCompareRead(BaseModel):
    a: PlanRef
    b: PlanRef
    role: Role
    moves: MovesRead
    equity_a: PlanEquityRead
    equity_b: PlanEquityRead


def _books(
    rows: list[BookGroup],
    key: str,
    names: dict[Any, str],
    quotas: dict[Any, float | None],
    capacity: dict[Any, float] | None,
    deals: dict[Any, float],
    rates: dict[Any, float],
    settings: TenantSettings,
) -> list[Book]:
    books: dict[Any, Book] = {}
    for r in rows:
        k = getattr(r, key)
        b = books.get(k)
        if b is None:
            cap = capacity.get(k) if capacity is not None else None
            b = books[k] = Book(k, names.get(k), quota=quotas.get(k), capacity=cap)
        n = int(r.accounts)
        tier = r.tier or 3
        b.accounts += n
        b.potential += float(r.potential)
        b.workload += n * account_load(r.tier, r.segment, settings)
        b.tiers[tier] = b.tiers.get(tier, 0) + n
        b.pipeline += float(r.pipeline)
        if r.icp_fit and r.segment in deals:
            b.tap += total_addressable_pipeline(n, deals[r.segment], rates.get(r.segment, 0.0))
    return sorted(books.values(), key=lambda b: (b.name is None, b.name or ""))


async def plan_equity(ctx: AppContext, p: Principal, plan_id: UUID, role: str = "AE") -> PlanEquityRead:
    """Per territory and per rep: accounts, potential, workload hours against capacity, pipeline and
    pipeline-to-TAP, quota against 70-80% of potential; the spreads and flags of each view."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        found(await uow.plans.get(plan_id), "plan", plan_id)
        settings, version = await versioned_settings(uow)
        rows = await uow.equity.book_groups(plan_id, role)
        deals = await uow.equity.average_won_deal()
        win = await tenant_win_rates(uow, settings)
        territories = {t.id: t for t in await uow.equity.plan_territories(plan_id)}
        primaries = {t.primary_rep_id for t in territories.values()} - {None}
        reps = {r.id: r for r in await uow.reps.get_many(list({r.rep_id for r in rows} | primaries))}
    today = ctx.clock.now().date()
    rates = segment_win_rates(win, deals, settings.win_rates.default_win_rate)
    by_territory = equity(
        _books(
            rows,
            "territory_id",
            {k: t.name for k, t in territories.items()},
            {k: t.quota for k, t in territories.items()},
            None,
            deals,
            rates,
            settings,
        ),
        settings,
    )
    by_rep = equity(
        _books(
            rows,
            "rep_id",
            {k: r.name for k, r in reps.items()},
            {k: r.quota for k, r in reps.items()},
            {k: rep_capacity(r.ramp_status, r.capacity, settings) for k, r in reps.items()},
            deals,
            rates,
            settings,
        ),
        settings,
    )
    return PlanEquityRead.model_validate(
        {
            "plan_id": plan_id,
            "role": role,
            "settings_version": version,
            "by_territory": _as_dict(by_territory),
            "by_rep": _as_dict(by_rep),
            "territories_without_owner": _without_owner(territories, reps, rows, today),
        }
    )


def _without_owner(
    territories: dict[Any, Any], reps: dict[Any, Any], rows: list[BookGroup], today: Any
) -> list[dict[str, Any]]:
    """The plan's territories without a primary rep, or whose primary rep has left, by name."""
    counts: dict[Any, int] = {}
    for r in rows:
        counts[r.territory_id] = counts.get(r.territory_id, 0) + int(r.accounts)
    out = []
    for t in sorted(territories.values(), key=lambda t: t.name):
        rep = reps.get(t.primary_rep_id)
        if rep is not None and not departed(rep.end_date, today):
            continue
        why = "no primary rep" if rep is None else f"its primary rep {rep.name} left on {rep.end_date}"
        out.append({"id": t.id, "name": t.name, "accounts": counts.get(t.id, 0), "why": why})
    return out


def _as_dict(e: Equity) -> dict[str, Any]:
    out = dataclasses.asdict(e)
    out["books"] = [
        b
        | {"tiers": {str(k): v for k, v in b["tiers"].items()}, "suggested_quota": list(b["suggested_quota"])}
        for b in out["books"]
    ]
    return out


async def compare_plans(ctx: AppContext, p: Principal, a: UUID, b: UUID, role: str = "AE") -> PlanCompareRead:
    """Two plans side by side (docs/domain.md, "Equity"): the accounts whose owner differs, and each plan's
    equity (accounts and potential per rep and per territory, spreads, flags)."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        plan_a = found(await uow.plans.get(a), "plan", a)
        plan_b = found(await uow.plans.get(b), "plan", b)
        moves, n_moves = await uow.equity.plan_moves(a, b, role, MAX_LISTED_ACCOUNTS)
        total = await uow.scoring.count_live()
    return PlanCompareRead.model_validate(
        {
            "a": {"plan_id": plan_a.id, "name": plan_a.name, "state": plan_a.state.value},
            "b": {"plan_id": plan_b.id, "name": plan_b.name, "state": plan_b.state.value},
            "role": role,
            "moves": {
                "count": n_moves,
                "movement_rate": rate(n_moves, total),
                "accounts": moves,
            },
            "equity_a": await plan_equity(ctx, p, a, role),
            "equity_b": await plan_equity(ctx, p, b, role),
        }
    )
