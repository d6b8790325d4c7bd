"""Rebalance proposals (docs/domain.md, "Balanced assignment"): a new draft copy of a plan with the moves that
bring every rep's potential into the band, each with its reason, and the equity before and after. Nothing
changes until the draft is activated."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services import plans, runner, territories
from api.services.common import Day, Input, TerritoryRef, found, referenced
from api.services.context import AppContext, Principal, tenant_settings, versioned_settings
from api.services.engagement import current_policy, relationship_evidence
from api.services.equity import PlanEquityRead, plan_equity
from api.services.territories import TerritoryCreate, TerritoryUpdate
from domain import rebalancing as rules
from domain.boundaries import parse_boundary
from domain.capacity import productivity
from domain.changes import DepartureRecord, rep_change
from domain.defaults import MAX_LISTED_ACCOUNTS
from domain.errors import Code, Conflict, FieldError, ValidationFailed
from domain.model import RampStatus, Role, Scope, departed
from domain.optimiser import Progress
from domain.rebalancing import Arrival, Departure, Options

if TYPE_CHECKING:
    from api.services.operations import OperationRead


class MoveFactor(BaseModel):
    rule: str = Field(
        description="above_band, below_band (amount: potential outside the rep's band), over_capacity, "
        "under_capacity (amount: workload / capacity), lacks_expertise (needs), has_expertise, "
        "owner_absent, room, within_bands; the evidence of a rule of engagement: meaningful_touches (amount: "
        "in the relationship window), sourced_opportunities (amount: open or recently won), named_account"
    )
    rep_id: UUID = Field(description="the rep the figure is about")
    amount: float | None
    needs: list[str] = Field(description="lacks_expertise: the expertise the account needs")


class ProposedMove(BaseModel):
    account_id: UUID
    from_rep: UUID | None = Field(description="the rep id the account leaves")
    to_rep: UUID = Field(description="the rep id the account goes to")
    from_territory_id: UUID | None
    to_territory_id: UUID | None
    tier: int | None
    potential: float
    cost: float = Field(
        description="the move's weight: tier-1 moves cost most (settings equity.move_cost_tier*)"
    )
    rule: str | None = Field(
        description="why, in one word: balance, capacity, expertise, owner_absent, family (it follows its "
        "parent), arrival, departure (a rep with room takes it), interim (a departure's open pipeline, held "
        "by the interim owner), or the code of the engagement policy's rule that gave a leaving rep's "
        "account to a rep (named_account, existing_relationship, or tiebreak among those it kept)"
    )
    amount: float | None = Field(
        description="the leading factor's figure: potential above or below the band, or a capacity share"
    )
    factors: list[MoveFactor] = Field(description="the figures behind the reason, with the reps' ids")
    reason: str = Field(
        description="in words, by name: 'Move Acme from Sarah Chen's territory West to James Park's "
        "territory East to balance: Sarah Chen was 1,739,500 above the band's top'"
    )


class ProposedMoves(BaseModel):
    count: int
    movement_rate: float | None = Field(description="moved accounts / accounts in the plan")
    accounts: list[ProposedMove] = Field(description="highest potential first, the first 1,000")


class KeptAccount(BaseModel):
    """An account the engagement policy keeps with its owner when a book is carved for a newcomer."""

    account_id: UUID
    account_name: str
    owner_rep_id: UUID
    owner_name: str
    rule: str = Field(description="the code of the policy's rule that keeps it")
    sentence: str = Field(description="that rule as a rep reads it")
    reason: str = Field(
        description="the rule and the owner's evidence by name: 'named account: Ann's territory East "
        "names the account'"
    )


class KeptAccounts(BaseModel):
    count: int
    accounts: list[KeptAccount] = Field(description="highest potential first, the first 1,000")


class RebalanceProposalRead(BaseModel):
    plan_id: UUID = Field(description="the new draft that holds the proposal; activate it to apply it")
    source_plan_id: UUID
    role: Role
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
    kept: KeptAccounts = Field(
        default_factory=lambda: KeptAccounts(count=0, accounts=[]),
        description="an arrival's: the accounts the engagement policy keeps with their owner (a named "
        "account, an existing relationship, ramp protection), so the carve leaves them alone",
    )
    vacated_territories: list[TerritoryRef] = Field(
        default_factory=list,
        description="a departure's: the leaving rep's territories in the draft, left without a primary "
        "(or backup) rep so that assigning by rules never gives the accounts back to them",
    )


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
) -> RebalanceProposalRead:
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
) -> RebalanceProposalRead:
    joining = await arrival(draft) if arrival is not None else None
    async with ctx.uow(p.tenant_id) as uow:
        book = await uow.assigning.book_for_balancing(draft.id, role)
        parents = await uow.assigning.parent_links() if rules.keeps_families(settings, options) else {}
        reps = await uow.assigning.active_reps()
        territories = await uow.assigning.plan_territories(draft.id)
        frozen = await uow.assigning.accounts_with_open_pipeline(rules.to_freeze(book, departure))
        owners = await uow.reps.get_many(list({r.rep_id for r in book} - {r.id for r in reps}))
        evidence = (
            None
            if departure is None and joining is None
            else await _evidence(uow, book, territories, departure, joining, frozen, ctx.clock.now())
        )
    names = rules.Names(
        {r.account_id: r.account_name for r in book},
        {r.id: r.name for r in [*reps, *owners]},
        {t.id: t.name for t in territories},
    )
    now = ctx.clock.now()

    def compute() -> tuple[rules.Proposal, list[dict[str, Any]]]:
        """The rules, the optimiser and the rows they add: plain Python and numpy, run in a worker thread
        so that the event loop keeps answering (a 1M-account book takes minutes)."""
        proposal = rules.propose(
            book,
            reps,
            territories,
            role,
            settings,
            options,
            parents,
            frozen,
            departure,
            joining,
            progress,
            should_stop,
            names,
            evidence,
        )
        adds = [
            {
                "id": uuid.UUID(bytes=os.urandom(16), version=4),
                "tenant_id": p.tenant_id,
                "plan_id": draft.id,
                "account_id": m.account_id,
                "territory_id": m.territory_id,
                "rep_id": m.to_rep,
                "role": role,
                "locked": m.locked,
                "reason": m.cause.value,
                "note": m.reason[:1000],
                "valid_from": now,
            }
            for m in proposal.moves
        ]
        return proposal, adds

    proposal, adds = await asyncio.to_thread(compute)
    async with ctx.uow(p.tenant_id) as uow:
        await uow.assigning.end_assignments([m.assignment_id for m in proposal.moves], now)
        await uow.assigning.add_assignments(adds)
        await uow.commit()
    result = proposal.result
    listed = sorted(proposal.moves, key=lambda m: -m.potential)[:MAX_LISTED_ACCOUNTS]
    return RebalanceProposalRead.model_validate(
        {
            "plan_id": draft.id,
            "source_plan_id": plan_id,
            "role": role,
            "settings_version": version,
            "moves": {
                "count": len(proposal.moves),
                "movement_rate": proposal.movement_rate,
                "accounts": [
                    {
                        "account_id": m.account_id,
                        "from_rep": m.from_rep,
                        "to_rep": m.to_rep,
                        "from_territory_id": m.from_territory_id,
                        "to_territory_id": m.territory_id,
                        "tier": m.tier,
                        "potential": m.potential,
                        "cost": m.cost,
                        "rule": m.rule,
                        "amount": m.amount,
                        "factors": [
                            {"rule": f.rule, "rep_id": f.rep, "amount": f.amount, "needs": list(f.needs)}
                            for f in m.factors
                        ],
                        "reason": m.reason,
                    }
                    for m in listed
                ],
            },
            "weighted_moves": result.weighted_moves,
            "lower_bound": result.lower_bound,
            "gap": result.gap,
            "violations": result.violations,
            "infeasible": result.infeasible,
            "warnings": proposal.warnings,
            "kept": {
                "count": len(proposal.kept),
                "accounts": [
                    {
                        "account_id": k.account_id,
                        "account_name": names.accounts.get(k.account_id) or str(k.account_id),
                        "owner_rep_id": k.owner,
                        "owner_name": names.rep(k.owner),
                        "rule": k.rule,
                        "sentence": k.sentence,
                        "reason": k.reason,
                    }
                    for k in sorted(proposal.kept, key=lambda k: -k.potential)[:MAX_LISTED_ACCOUNTS]
                ],
            },
            "equity_before": await plan_equity(ctx, p, plan_id, role),
            "equity_after": await plan_equity(ctx, p, draft.id, role),
        }
    )


async def _evidence(
    uow: Any,
    book: Sequence[Any],
    territories: Sequence[Any],
    departure: Departure | None,
    arrival: Arrival | None,
    frozen: Collection[Any],
    now: datetime,
) -> rules.Evidence:
    """What the policy looks at for a departure (the leaving rep's accounts not frozen under the interim
    owner) or an arrival (every account the newcomer does not own): touches and sourced opportunities in
    batches, the plan's territories naming each account, the reps' start dates and who has left
    (docs/domain.md, Departures and arrivals)."""
    policy, _ = await current_policy(uow)
    if departure is not None:
        ids = [r.account_id for r in book if r.rep_id == departure.rep_id and r.account_id not in frozen]
    else:
        ids = [r.account_id for r in book if arrival is None or r.rep_id != arrival.rep_id]
    kinds = (await tenant_settings(uow)).coverage.meaningful_kinds
    touches, sourced = await relationship_evidence(uow, policy, ids, now, kinds)
    naming: dict[str, list[tuple[Any, Any]]] = {}
    for t in territories:
        if t.primary_rep_id is None:
            continue
        try:
            named = parse_boundary(t.boundary).named
        except ValidationFailed:
            continue  # a boundary stored before boundaries were checked names nothing
        for external_id in named:
            naming.setdefault(external_id, []).append((t.id, t.primary_rep_id))
    in_book = set(ids)
    ids_of = await uow.imports.id_map("accounts", list(naming)) if naming else {}
    named_accounts = {
        account_id: naming[external_id] for external_id, account_id in ids_of.items() if account_id in in_book
    }
    evidenced = {rep for per in (*touches.values(), *sourced.values()) for rep in per}
    rep_ids = {r.rep_id for r in book} | evidenced | ({arrival.rep_id} if arrival is not None else set())
    reps = await uow.reps.get_many(list(rep_ids))
    today = now.date()
    return rules.Evidence(
        policy,
        today,
        touches,
        sourced,
        named_accounts,
        {r.id: r.start_date for r in reps},
        {r.id for r in reps if departed(r.end_date, today)},
    )


async def rep_departure(
    ctx: AppContext, p: Principal, rep_id: UUID, on: date, interim_rep_id: UUID | None, role: str = "AE"
) -> RebalanceProposalRead:
    """The rep's end date is set; a draft copy of the active plan freezes their accounts with open
    pipeline under the interim owner (locked) and gives the rest to the rep the engagement policy names
    (a territory naming the account, an existing relationship) when it has room, else to the reps with
    room, highest potential (tier 1) first. Review the draft, then activate it."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        interim = None
        if interim_rep_id is not None:
            interim = await referenced(uow.reps, interim_rep_id, "interim_rep_id", "rep")
            if interim.id == rep_id or interim.end_date is not None:
                raise ValidationFailed(
                    "the interim owner must be another rep who is not leaving",
                    [FieldError("interim_rep_id", Code.INVALID_CHOICE, "another active rep")],
                )
        active = await uow.plans.active()
        if active is None:
            raise Conflict(
                "there is no active plan to take the rep's accounts from", code=Code.NO_ACTIVE_PLAN
            )
        if rep.start_date is not None and on < rep.start_date:
            raise ValidationFailed(
                "the departure is before the rep started",
                [FieldError("date", Code.BEFORE_START, "the date must be on or after the start date")],
            )
    departure = Departure(rep_id, rep.name, on, interim_rep_id)
    proposal = await propose_rebalance(ctx, p, active.id, role, f"Departure of {rep.name}", departure)
    async with ctx.uow(p.tenant_id) as uow:  # only once the draft exists
        left = await uow.reps.update(rep_id, {"end_date": on})
        await _record_departure(ctx, uow, left, interim)
        vacated = await _vacate(uow, proposal.plan_id, rep_id)
        await uow.commit()
    return proposal.model_copy(update={"vacated_territories": vacated})


async def _record_departure(ctx: AppContext, uow: Any, rep: Any, interim: Any) -> None:
    """From now the lookup answers the rep's accounts frozen, naming the interim owner (docs/domain.md,
    "Departures and arrivals"); the log carries it to every worker's index."""
    now = ctx.clock.now()
    await uow.reps.record_departure(rep.id, rep.end_date, interim and interim.id, now)
    record = DepartureRecord(now, str(rep.end_date), interim and interim.id, interim and interim.name)
    uow.record(rep_change(rep.id, now, rep.name, rep.email, rep.end_date, record))


async def _vacate(uow: Any, plan_id: UUID, rep_id: UUID) -> list[TerritoryRef]:
    """The leaving rep's territories in the draft lose them as primary and as backup (docs/domain.md,
    Departures and arrivals): the territory stays, named, for the next owner, with no owner meanwhile."""
    vacated = []
    for t in sorted(await uow.assigning.territory_rows(plan_id), key=lambda t: t["name"]):
        changes = {k: None for k in ("primary_rep_id", "backup_rep_id") if t[k] == rep_id}
        if changes:
            await uow.territories.update(t["id"], changes)
        if "primary_rep_id" in changes:
            vacated.append(TerritoryRef(id=t["id"], name=t["name"]))
    return vacated


async def rep_arrival(
    ctx: AppContext, p: Principal, rep_id: UUID, territory_name: str | None, role: str = "AE"
) -> RebalanceProposalRead:
    """A draft copy of the active plan with a new territory for the rep, carved from the others with the
    fewest moves, sized for the rep's ramp status (a new hire takes half an even share), leaving alone (and
    listing) the accounts the engagement policy keeps with their owner."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        if rep.end_date is not None:
            raise Conflict("the rep has an end date; an arriving rep has none", code=Code.REP_DEPARTED)
        active = await uow.plans.active()
        if active is None:
            raise Conflict("there is no active plan to carve a territory from", code=Code.NO_ACTIVE_PLAN)
        settings, _ = await versioned_settings(uow)
    share = productivity(RampStatus(rep.ramp_status), settings.capacity)

    name = territory_name or rep.name

    async def carve(draft: Any) -> Arrival:
        async with ctx.uow(p.tenant_id) as uow:
            vacant = await _vacant_territory(uow, draft.id, name, ctx.clock.now().date())
        if vacant is not None:  # a departed rep's empty territory of that name: the new rep takes it over
            territory = await territories.update_territory(
                ctx, p, vacant, TerritoryUpdate(primary_rep_id=rep_id, backup_rep_id=None)
            )
        else:
            territory = await territories.create_territory(
                ctx, p, TerritoryCreate(plan_id=draft.id, name=name, primary_rep_id=rep_id, boundary={})
            )
        return Arrival(rep_id, rep.name, rep.ramp_status.value, share, territory.id)

    return await propose_rebalance(ctx, p, active.id, role, f"Arrival of {rep.name}", arrival=carve)


async def _vacant_territory(uow: Any, plan_id: UUID, name: str, today: date) -> UUID | None:
    """The plan's territory of this name if an arrival may take it over (docs/domain.md, Departures and
    arrivals): it holds no account and no rep works it (no primary rep, or one who has left)."""
    named = [t for t in await uow.assigning.territory_rows(plan_id) if t["name"] == name]
    if not named or await uow.assignments.count_current(territory_id=named[0]["id"]):
        return None
    primary = named[0]["primary_rep_id"]
    rep = await uow.reps.get(primary) if primary is not None else None
    if primary is not None and (rep is not None and not departed(rep.end_date, today)):
        return None
    return named[0]["id"]


async def start_optimize(ctx: AppContext, p: Principal, plan_id: UUID, request: Any) -> OperationRead:
    """`POST /v1/plans/{id}/optimize`: an operation that writes the optimiser's proposal into a new draft
    plan (the plan itself is not changed). `request`: an OptimizeRequest."""
    # here, not at the top: api.services.operations imports this module (an operation's result is a
    # RebalanceProposalRead)
    from api.services.operations import get_operation

    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        found(await uow.plans.get(plan_id), "plan", plan_id)
    return await get_operation(
        ctx, p, await runner.start(ctx, p, "optimize", plan_id, request.model_dump(mode="json"))
    )


@runner.handles("optimize")
async def run_optimize(
    ctx: AppContext, p: Principal, plan_id: UUID | None, request: dict[str, Any], reporter: Any
) -> dict[str, Any]:
    """The optimize operation, in a worker: the proposal is written into a new draft plan."""
    body = OptimizeRequest.model_validate(request)
    options = Options(
        body.potential_band, body.capacity_band, body.expertise, body.keep_families, body.geography
    )

    async def propose(own: AppContext) -> RebalanceProposalRead:
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
    return proposal.model_dump(mode="json")  # stored as the operation's result
