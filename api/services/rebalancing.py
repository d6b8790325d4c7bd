"""Rebalance proposals (seeds 001, 003): a new draft copy of a plan with the moves that bring every rep's
potential into the band, each with its reason, and the equity before and after. Nothing changes until the
draft is activated."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services import plans, runner, territories
from api.services.common import Day, Input, found, referenced
from api.services.context import AppContext, Principal, versioned_settings
from api.services.equity import PlanEquityRead, plan_equity
from api.services.territories import TerritoryCreate
from domain.balancing import Bands, RepSlot, units_from_accounts
from domain.capacity import productivity
from domain.defaults import MAX_LISTED_ACCOUNTS
from domain.equity import capacity_hours, move_cost, workload_hours
from domain.errors import Conflict, FieldError, ValidationFailed
from domain.model import (
    AssignmentReason,
    RampStatus,
    Role,
    Scope,
)
from domain.optimiser import Progress, optimise
from persistence import assigning as store


class ProposedMove(BaseModel):
    account_id: UUID
    from_rep: UUID | None
    to_rep: UUID
    tier: int | None
    potential: float
    cost: float = Field(
        description="the move's weight: tier-1 moves cost most (settings equity.move_cost_tier*)"
    )
    reason: str


class ProposedMoves(BaseModel):
    count: int
    movement_rate: float | None = Field(description="moved accounts / accounts in the plan")
    accounts: list[ProposedMove] = Field(description="highest potential first, the first 1,000")


class RebalanceProposalRead(BaseModel):
    plan_id: UUID = Field(description="the new draft that holds the proposal; activate it to apply it")
    source_plan_id: UUID
    role: str
    settings_version: int
    moves: ProposedMoves
    weighted_moves: float = Field(description="sum of the moved units' costs (families move as one unit)")
    lower_bound: float | None = Field(
        description="value-weighted moves any plan with every rep inside the band needs at least; "
        "null when no plan can meet the band"
    )
    gap: float | None = Field(description="(weighted_moves - lower_bound) / weighted_moves")
    violations: list[str] = Field(description="what the proposal still does not meet, and by how much")
    infeasible: list[str] = Field(description="what no plan can meet, and why")
    warnings: list[str] = Field(description="the movement-rate guard: more than 15% moving in a quarter")
    equity_before: PlanEquityRead
    equity_after: PlanEquityRead


class RebalanceRequest(Input):
    name: str | None = Field(None, min_length=1, max_length=200, description="the draft's name")


class DepartureRequest(Input):
    date: Day = Field(description="the rep's last day; set as the rep's end date")
    interim_rep_id: UUID | None = Field(
        None, description="the interim owner of the accounts with open pipeline (they are locked to them)"
    )


class ArrivalRequest(Input):
    territory_name: str | None = Field(
        None, min_length=1, max_length=200, description="default: the rep's name"
    )


class OptimizeRequest(Input):
    """The optimiser's objectives and constraints; what is left out takes the tenant's settings."""

    name: str | None = Field(None, min_length=1, max_length=200, description="the draft's name")
    role: Role = Field(Role.AE, description="the role whose book is balanced")
    potential_band: float | None = Field(
        None, gt=0, le=1, description="each rep's potential within this share of its share of the mean"
    )
    capacity_band: float | None = Field(
        None, gt=0, le=1, description="each rep's workload within this share of its capacity"
    )
    expertise: bool = Field(
        True, description="accounts in the tenant's expertise industries go only to reps with that expertise"
    )
    keep_families: bool | None = Field(
        None, description="a parent and its subsidiaries move as one (default: the tenant's setting)"
    )
    geography: bool = Field(
        False,
        description="keep territories in their regions: an account goes only to a rep whose book already "
        "has accounts in the account's region",
    )


@dataclass(frozen=True)
class Arrival:
    rep_id: UUID
    name: str
    ramp: str
    share: float  # of an even share of potential, by ramp status
    territory_id: UUID


@dataclass(frozen=True)
class Options:
    """The optimiser's objectives and constraints; None takes the tenant's setting."""

    potential_band: float | None = None
    capacity_band: float | None = None
    expertise: bool = True  # accounts in the expertise industries go only to reps with that expertise
    keep_families: bool | None = None  # parent and subsidiaries move as one
    geography: bool = False  # an account goes only to a rep whose book already has accounts in its region


@dataclass(frozen=True)
class Departure:
    rep_id: UUID
    name: str
    on: date
    interim_rep_id: UUID | None


def _region(name: str) -> str:
    """The need an account has, and the coverage a rep has, for a region (geography option)."""
    return f"region:{name.lower()}"


def _family_roots(parents: dict[Any, Any]) -> dict[Any, Any]:
    """account -> the top of its parent chain (cycles are refused on write; a guard stops one anyway)."""
    roots: dict[Any, Any] = {}
    for start in parents:
        node, seen = start, set()
        while node in parents and node not in seen:
            seen.add(node)
            node = parents[node]
        roots[start] = node
    return roots


async def propose_rebalance(
    ctx: AppContext,
    p: Principal,
    plan_id: UUID,
    role: str = "AE",
    name: str | None = None,
    departure: Departure | None = None,
    arrival: Callable[[Any], Awaitable[Arrival]] | None = None,
    options: Options = Options(),
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """A draft copy of the plan with the optimiser's moves. The book is read in one transaction, the
    optimiser runs in a worker thread (the event loop keeps answering ownership lookups), and the moves
    are written in another; a failed or cancelled run deletes its draft, so nothing is left of it."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        source = found(await uow.plans.get(plan_id), "plan", plan_id)
        settings, version = await versioned_settings(uow)
    draft = await plans.copy_plan(ctx, p, plan_id, name or f"Rebalance of {source.name}")
    try:
        return await _propose(
            ctx,
            p,
            plan_id,
            draft,
            role,
            settings,
            version,
            departure,
            arrival,
            options,
            progress,
            should_stop,
        )
    except BaseException:
        await plans.delete_plan(ctx, p, draft.id)
        raise


async def _propose(
    ctx: AppContext,
    p: Principal,
    plan_id: UUID,
    draft: Any,
    role: str,
    settings: Any,
    version: int,
    departure: Departure | None,
    arrival: Callable[[Any], Awaitable[Arrival]] | None,
    options: Options,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
) -> dict[str, Any]:
    joining = await arrival(draft) if arrival is not None else None
    expert = {i.lower() for i in settings.equity.expertise_industries} if options.expertise else set()
    keep_families = settings.equity.keep_families if options.keep_families is None else options.keep_families
    async with ctx.engine.connect() as conn:
        book = await store.book_for_balancing(conn, p.tenant_id, draft.id, role)
        roots = _family_roots(await store.parent_links(conn, p.tenant_id)) if keep_families else {}
        reps = await store.active_reps(conn, p.tenant_id)
        territories = await store.plan_territories(conn, p.tenant_id, draft.id)
        owners = {r.rep_id for r in book}
        leaving = departure.rep_id if departure else None
        # geography: a rep covers the regions its book has accounts in; an account needs its region
        regions: dict[Any, set[str]] = {}
        if options.geography:
            for r in book:
                if r.region:
                    regions.setdefault(r.rep_id, set()).add(_region(r.region))
        slots = [
            RepSlot(
                r.id,
                capacity_hours(r.ramp_status, settings),
                frozenset(e.lower() for e in r.expertise or ()) | frozenset(regions.get(r.id, ())),
                joining.share if joining and r.id == joining.rep_id else 1.0,
            )
            for r in reps
            if (
                r.role == role
                or r.id in owners
                or (departure and r.id == departure.interim_rep_id)
                or (joining and r.id == joining.rep_id)
            )
            and r.id != leaving
        ]
        # a departure freezes the accounts with open pipeline under the interim owner (seed 002)
        frozen: set[Any] = set()
        if departure is not None and departure.interim_rep_id is not None:
            theirs = [r.account_id for r in book if r.rep_id == leaving]
            frozen = await store.accounts_with_open_pipeline(conn, p.tenant_id, theirs)

    now = ctx.clock.now()

    def compute() -> tuple[Any, list[Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """The units, the optimiser and the rows it changes: plain Python and numpy, run in a worker
        thread so that the event loop keeps answering (a 1M-account book takes minutes)."""
        accounts = [
            {
                "key": r.account_id,
                "rep": departure.interim_rep_id if r.account_id in frozen and departure else r.rep_id,
                "potential": float(r.potential or 0.0),
                "workload": workload_hours(r.tier, settings),
                "cost": move_cost(r.tier, settings),
                # a departure moves only the leaving rep's accounts: everyone else's stay where they are
                "locked": r.locked
                or r.account_id in frozen
                or (departure is not None and r.rep_id != leaving),
                "family": None if r.account_id in frozen else roots.get(r.account_id),
                "needs": ([r.industry.lower()] if r.industry and r.industry.lower() in expert else [])
                + ([_region(r.region)] if options.geography and r.region else []),
            }
            for r in book
        ]
        units, members = units_from_accounts(accounts)
        bands = Bands(
            options.potential_band
            if options.potential_band is not None
            else settings.equity.balance_potential_band,
            options.capacity_band if options.capacity_band is not None else settings.equity.capacity_band,
        )
        result = optimise(
            units,
            slots,
            bands,
            only_to=joining.rep_id if joining else None,
            progress=progress,
            should_stop=should_stop,
        )
        unit_move = {m.unit: m for m in result.moves}
        by_account = {r.account_id: r for r in book}
        territory_of: dict[Any, Any] = {}
        for t in territories:
            if t.primary_rep_id is not None:
                territory_of.setdefault(t.primary_rep_id, t.id)
        ends, adds, moves = [], [], []
        for unit_key, member_keys in members.items():
            target = result.assignment[unit_key]
            move = unit_move.get(unit_key)
            for account_id in member_keys:
                row = by_account[account_id]
                if row.rep_id == target or row.locked:
                    continue
                reason = move.reason if move else "family: stays with the parent account's owner"
                if move and len(member_keys) > 1:
                    reason = f"family: moves with its parent, {len(member_keys)} accounts as one; " + reason
                if joining is not None and target == joining.rep_id:
                    reason = (
                        f"arrival: carving a book for {joining.name} ({joining.ramp}, "
                        f"{joining.share:.0%} of an even share); " + reason
                    )
                if departure is not None and row.rep_id == departure.rep_id:
                    why = f"departure: {departure.name} leaves on {departure.on}; "
                    reason = why + (
                        "interim owner of open pipeline"
                        if account_id in frozen
                        else "reassigned, tier-1 accounts first, to a rep with room in its bands"
                    )
                ends.append(row.assignment_id)
                adds.append(
                    {
                        "id": uuid.UUID(bytes=os.urandom(16), version=4),
                        "tenant_id": p.tenant_id,
                        "plan_id": draft.id,
                        "account_id": account_id,
                        "territory_id": territory_of.get(target, row.territory_id),
                        "rep_id": target,
                        "role": role,
                        "locked": account_id in frozen,
                        "reason": (
                            AssignmentReason.DEPARTURE
                            if departure
                            else AssignmentReason.ARRIVAL
                            if joining is not None and target == joining.rep_id
                            else AssignmentReason.REBALANCE
                        ).value,
                        "note": reason[:1000],
                        "valid_from": now,
                    }
                )
                moves.append(
                    {
                        "account_id": account_id,
                        "from_rep": row.rep_id,
                        "to_rep": target,
                        "tier": row.tier,
                        "potential": float(row.potential or 0.0),
                        "cost": move_cost(row.tier, settings),
                        "reason": reason,
                    }
                )
        return result, ends, adds, moves

    result, ends, adds, moves = await asyncio.to_thread(compute)
    async with ctx.engine.begin() as conn:
        await store.end_assignments(conn, p.tenant_id, ends, now)
        await store.add_assignments(conn, adds)
    churn = settings.equity.movement_churn_per_quarter
    rate = len(moves) / len(book) if book else None
    return {
        "plan_id": draft.id,
        "source_plan_id": plan_id,
        "role": role,
        "settings_version": version,
        "moves": {
            "count": len(moves),
            "movement_rate": rate,
            "accounts": sorted(moves, key=lambda m: -m["potential"])[:MAX_LISTED_ACCOUNTS],
        },
        "weighted_moves": result.weighted_moves,
        "lower_bound": result.lower_bound,
        "gap": result.gap,
        "violations": result.violations,
        "infeasible": result.infeasible,
        "warnings": (
            [f"{rate:.0%} of the accounts would move: above the {churn:.0%} a quarter that is churn"]
            if rate is not None and rate > churn
            else []
        ),
        "equity_before": await plan_equity(ctx, p, plan_id, role),
        "equity_after": await plan_equity(ctx, p, draft.id, role),
    }


async def rep_departure(
    ctx: AppContext, p: Principal, rep_id: UUID, on: date, interim_rep_id: UUID | None, role: str = "AE"
) -> dict[str, Any]:
    """Seed 002: the rep's end date is set; a draft copy of the active plan freezes their accounts with open
    pipeline under the interim owner (locked) and gives the rest to the reps with room, highest potential
    (tier 1) first. Review the draft, then activate it."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        if interim_rep_id is not None:
            interim = await referenced(uow.reps, interim_rep_id, "interim_rep_id", "rep")
            if interim.id == rep_id or interim.end_date is not None:
                raise ValidationFailed(
                    "the interim owner must be another rep who is not leaving",
                    [FieldError("interim_rep_id", "invalid_choice", "another active rep")],
                )
        active = await uow.plans.active()
        if active is None:
            raise Conflict("there is no active plan to take the rep's accounts from", code="no_active_plan")
        if rep.start_date is not None and on < rep.start_date:
            raise ValidationFailed(
                "the departure is before the rep started",
                [FieldError("date", "before_start", "the date must be on or after the start date")],
            )
    departure = Departure(rep_id, rep.name, on, interim_rep_id)
    proposal = await propose_rebalance(ctx, p, active.id, role, f"Departure of {rep.name}", departure)
    async with ctx.uow(p.tenant_id) as uow:  # only once the draft exists
        await uow.reps.update(rep_id, {"end_date": on})
        await uow.commit()
    return proposal


async def rep_arrival(
    ctx: AppContext, p: Principal, rep_id: UUID, territory_name: str | None, role: str = "AE"
) -> dict[str, Any]:
    """Seed 002/003: a draft copy of the active plan with a new territory for the rep, carved from the
    others with the fewest moves, sized for the rep's ramp status (a new hire takes half an even share)."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        if rep.end_date is not None:
            raise Conflict("the rep has an end date; an arriving rep has none", code="rep_departed")
        active = await uow.plans.active()
        if active is None:
            raise Conflict("there is no active plan to carve a territory from", code="no_active_plan")
        settings, _ = await versioned_settings(uow)
    share = productivity(RampStatus(rep.ramp_status), settings.capacity)

    async def carve(draft: Any) -> Arrival:
        territory = await territories.create_territory(
            ctx,
            p,
            TerritoryCreate(
                plan_id=draft.id,
                name=territory_name or f"{rep.name}",
                primary_rep_id=rep_id,
                boundary={},
            ),
        )
        return Arrival(rep_id, rep.name, rep.ramp_status.value, share, territory.id)

    return await propose_rebalance(ctx, p, active.id, role, f"Arrival of {rep.name}", arrival=carve)


async def start_optimize(ctx: AppContext, p: Principal, plan_id: UUID, request: Any) -> dict[str, Any]:
    """`POST /v1/plans/{id}/optimize`: an operation that writes the optimiser's proposal into a new draft
    plan (the plan itself is not changed). `request`: an OptimizeRequest."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        found(await uow.plans.get(plan_id), "plan", plan_id)
    return await runner.start(ctx, p, "optimize", plan_id, request.model_dump(mode="json"))


@runner.handles("optimize")
async def run_optimize(
    ctx: AppContext, p: Principal, plan_id: UUID | None, request: dict[str, Any], reporter: Any
) -> dict[str, Any]:
    """The optimize operation, in a worker: the proposal is written into a new draft plan."""
    body = OptimizeRequest.model_validate(request)
    options = Options(
        body.potential_band, body.capacity_band, body.expertise, body.keep_families, body.geography
    )

    async def propose(own: AppContext) -> dict[str, Any]:
        assert plan_id is not None
        return await propose_rebalance(
            own,
            p,
            plan_id,
            body.role.value,
            body.name,
            options=options,
            progress=reporter.progress,
            should_stop=reporter.should_stop,
        )

    proposal = await runner.off_the_loop(ctx, propose)
    return RebalanceProposalRead.model_validate(proposal).model_dump(mode="json")
