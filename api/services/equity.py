"""Equity metrics of a plan, per territory and per rep (seeds 001, 002, 003), from one aggregate query over
the plan's current assignments with the accounts' scores and coverage facts."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel, Field

from api.services.common import PlanRef, found
from api.services.context import AppContext, Principal, versioned_settings
from api.services.scoring import tenant_win_rates
from domain.defaults import MAX_LISTED_ACCOUNTS, TenantSettings
from domain.equity import Book, Equity, capacity_hours, equity, workload_hours
from domain.model import (
    Scope,
    Segment,
)
from domain.scoring import total_addressable_pipeline
from persistence import assigning as store
from persistence.coverage import COVERAGE, OPPORTUNITIES
from persistence.scoring import count_live
from persistence.tables import RepRow


class SpreadRead(BaseModel):
    mean: float | None
    lowest: float | None
    highest: float | None
    spread: float | None = Field(
        description="highest / lowest - 1 (seed 003: is the highest >20% above the lowest?)"
    )
    status: str = Field(description="fine (within 10%), watch, rebalance (above 20%), n/a")


class BookEquityRead(BaseModel):
    key: UUID | None = Field(description="the territory or rep id; null: assignments without a territory")
    name: str | None
    accounts: int
    potential: float
    potential_vs_mean: float | None = Field(description="(potential - mean) / mean")
    workload_hours: float = Field(description="hours a quarter the coverage model asks for these accounts")
    capacity_hours: float | None = Field(description="the rep's selling hours a quarter, by ramp status")
    load: float | None = Field(description="workload / capacity")
    load_flag: str | None = Field(description="over or under when outside 1 +- the capacity band (20%)")
    tiers: dict[str, int]
    tier1_share: float | None = Field(description="share of the plan's tier-1 accounts held here")
    pipeline: float = Field(description="open opportunities")
    tap: float
    pipeline_to_tap: float | None
    quota: float | None
    suggested_quota: list[float] = Field(description="[70%, 80%] of potential (seed 003)")


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


class PlanEquityRead(BaseModel):
    plan_id: UUID
    role: str
    settings_version: int
    by_territory: EquityRead
    by_rep: EquityRead


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
    role: str
    moves: MovesRead
    equity_a: PlanEquityRead
    equity_b: PlanEquityRead


REPS = RepRow.__table__


async def book_rows(conn: Any, tenant_id: UUID, plan_id: Any, role: str) -> list[Any]:
    """(territory, rep, tier, segment, icp fit) groups of the plan's current owners: accounts, potential,
    open pipeline."""
    a, s, acc, c = store.ASSIGNMENTS.c, store.SCORES.c, store.ACCOUNTS.c, COVERAGE.c
    stmt = (
        store.owned_book(
            a.territory_id,
            a.rep_id,
            s.tier,
            acc.segment,
            s.icp_fit,
            sa.func.count().label("accounts"),
            sa.func.coalesce(sa.func.sum(s.potential), 0.0).label("potential"),
            sa.func.coalesce(sa.func.sum(c.open_pipeline), 0.0).label("pipeline"),
            tenant_id=tenant_id,
            plan_id=plan_id,
            role=role,
        )
        .outerjoin(COVERAGE, c.account_id == a.account_id)
        .group_by(a.territory_id, a.rep_id, s.tier, acc.segment, s.icp_fit)
    )
    return list((await conn.execute(stmt)).all())


async def average_won_deal(conn: Any, tenant_id: UUID) -> dict[Any, float]:
    o, acc = OPPORTUNITIES.c, store.ACCOUNTS.c
    stmt = (
        sa.select(acc.segment, sa.func.avg(o.amount))
        .select_from(OPPORTUNITIES.join(store.ACCOUNTS, acc.id == o.account_id))
        .where(o.tenant_id == tenant_id, o.status == "won")
        .group_by(acc.segment)
    )
    return {row[0]: float(row[1]) for row in await conn.execute(stmt)}


def _books(
    rows: list[Any],
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
            b = books[k] = Book(k, names.get(k), quota=quotas.get(k), capacity_hours=cap)
        n = int(r.accounts)
        tier = r.tier or 3
        b.accounts += n
        b.potential += float(r.potential)
        b.workload_hours += n * workload_hours(r.tier, settings)
        b.tiers[tier] = b.tiers.get(tier, 0) + n
        b.pipeline += float(r.pipeline)
        if r.icp_fit and r.segment in deals:
            b.tap += total_addressable_pipeline(n, deals[r.segment], rates.get(r.segment, 0.0))
    return sorted(books.values(), key=lambda b: (b.name is None, b.name or ""))


async def plan_equity(ctx: AppContext, p: Principal, plan_id: UUID, role: str = "AE") -> dict[str, Any]:
    """Per territory and per rep: accounts, potential, workload hours against capacity, pipeline and
    pipeline-to-TAP, quota against 70-80% of potential; the spreads and flags of each view."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        found(await uow.plans.get(plan_id), "plan", plan_id)
        settings, version = await versioned_settings(uow)
    async with ctx.engine.connect() as conn:
        rows = await book_rows(conn, p.tenant_id, plan_id, role)
        deals = await average_won_deal(conn, p.tenant_id)
        win = await tenant_win_rates(conn, p.tenant_id, settings)
        territories = {t.id: t for t in await store.plan_territories(conn, p.tenant_id, plan_id)}
        rep_ids = list({r.rep_id for r in rows})
        reps = {}
        if rep_ids:
            stmt = sa.select(REPS.c.id, REPS.c.name, REPS.c.quota, REPS.c.ramp_status).where(
                REPS.c.tenant_id == p.tenant_id, REPS.c.id.in_(rep_ids)
            )
            reps = {r.id: r for r in await conn.execute(stmt)}
    rates = {(s.value if isinstance(s, Segment) else s): r.rate for s, r in win.items()}
    rates = {k: rates.get(k, rates.get(None, settings.win_rates.default_win_rate)) for k in (*rates, *deals)}
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
            {k: capacity_hours(r.ramp_status, settings) for k, r in reps.items()},
            deals,
            rates,
            settings,
        ),
        settings,
    )
    return {
        "plan_id": plan_id,
        "role": role,
        "settings_version": version,
        "by_territory": _as_dict(by_territory),
        "by_rep": _as_dict(by_rep),
    }


def _as_dict(e: Equity) -> dict[str, Any]:
    out = dataclasses.asdict(e)
    out["books"] = [
        b
        | {"tiers": {str(k): v for k, v in b["tiers"].items()}, "suggested_quota": list(b["suggested_quota"])}
        for b in out["books"]
    ]
    return out


async def compare_plans(ctx: AppContext, p: Principal, a: UUID, b: UUID, role: str = "AE") -> dict[str, Any]:
    """Two plans side by side (seed 003 scenarios): the accounts whose owner differs, and each plan's equity
    (accounts and potential per rep and per territory, spreads, flags)."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        plan_a = found(await uow.plans.get(a), "plan", a)
        plan_b = found(await uow.plans.get(b), "plan", b)
    x, y = store.ASSIGNMENTS.alias("x"), store.ASSIGNMENTS.alias("y")
    acc, s = store.ACCOUNTS.c, store.SCORES.c

    def current(t: Any, plan_id: UUID) -> Any:
        return sa.and_(
            t.c.account_id == acc.id, t.c.plan_id == plan_id, t.c.role == role, t.c.valid_to.is_(None)
        )

    # a move is a change of owner of record; the same rep under a renamed or copied territory is not one
    differs = x.c.rep_id.is_distinct_from(y.c.rep_id)
    base = (
        store.ACCOUNTS.outerjoin(x, current(x, a))
        .outerjoin(y, current(y, b))
        .outerjoin(store.SCORES, s.account_id == acc.id)
    )
    scope = [acc.tenant_id == p.tenant_id, acc.deleted_at.is_(None), differs]
    stmt = (
        sa.select(
            acc.id,
            acc.external_id,
            acc.name,
            s.tier,
            s.potential,
            x.c.territory_id.label("from_territory"),
            x.c.rep_id.label("from_rep"),
            x.c.reason.label("from_reason"),
            y.c.territory_id.label("to_territory"),
            y.c.rep_id.label("to_rep"),
            y.c.reason.label("to_reason"),
            y.c.note.label("to_note"),
        )
        .select_from(base)
        .where(*scope)
        .order_by(s.potential.desc().nulls_last(), acc.id)
        .limit(MAX_LISTED_ACCOUNTS)
    )
    count = sa.select(sa.func.count()).select_from(base).where(*scope)
    async with ctx.engine.connect() as conn:
        moves = (await conn.execute(stmt)).mappings().all()
        n_moves = int((await conn.execute(count)).scalar_one())
        total = await count_live(conn, p.tenant_id)
    return {
        "a": {"plan_id": plan_a.id, "name": plan_a.name, "state": plan_a.state.value},
        "b": {"plan_id": plan_b.id, "name": plan_b.name, "state": plan_b.state.value},
        "role": role,
        "moves": {
            "count": n_moves,
            "movement_rate": n_moves / total if total else None,
            "accounts": [dict(m) for m in moves],
        },
        "equity_a": await plan_equity(ctx, p, a, role),
        "equity_b": await plan_equity(ctx, p, b, role),
    }
