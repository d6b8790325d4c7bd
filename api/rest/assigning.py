"""Assignment by boundary rules, and the equity of a plan."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import assigning as service
from api.services import equity, history, plans, rebalancing
from api.services.assignments import AssignByRulesRead
from api.services.equity import PlanCompareRead, PlanEquityRead
from api.services.history import MovementRead, OwnershipHistoryPage
from api.services.plans import PlanCopy, PlanRead
from api.services.rebalancing import ArrivalRequest, DepartureRequest, RebalanceProposalRead, RebalanceRequest
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["plans"])


@router.post(
    "/plans/{plan_id}/assign-by-rules",
    name="assign_plan_by_rules",
    response_model=AssignByRulesRead,
    summary="Assign every account to the highest-priority matching territory of a draft plan",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def assign_plan_by_rules(
    plan_id: UUID, p: PrincipalDep, ctx: CtxDep, role: Role = Role.AE
) -> AssignByRulesRead:
    return AssignByRulesRead.model_validate(await service.assign_plan_by_rules(ctx, p, plan_id, role))


@router.get(
    "/plans/{plan_id}/equity",
    name="get_plan_equity",
    response_model=PlanEquityRead,
    summary="Equity of a plan per territory and per rep: potential, workload vs capacity, pipeline, quota",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_plan_equity(
    plan_id: UUID, p: PrincipalDep, ctx: CtxDep, role: Role = Role.AE
) -> PlanEquityRead:
    return PlanEquityRead.model_validate(await equity.plan_equity(ctx, p, plan_id, role.value))


@router.get(
    "/plans/compare",
    name="compare_plans",
    response_model=PlanCompareRead,
    summary="Two plans side by side: the accounts whose owner differs, and each plan's equity",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def compare_plans(
    a: UUID, b: UUID, p: PrincipalDep, ctx: CtxDep, role: Role = Role.AE
) -> PlanCompareRead:
    return PlanCompareRead.model_validate(await equity.compare_plans(ctx, p, a, b, role.value))


@router.post(
    "/plans/{plan_id}/copy",
    name="copy_plan",
    response_model=PlanRead,
    status_code=201,
    summary="Copy a plan (usually the active one) into a draft: territories and current assignments",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def copy_plan(plan_id: UUID, p: PrincipalDep, ctx: CtxDep, body: PlanCopy | None = None) -> PlanRead:
    return PlanRead.model_validate(await plans.copy_plan(ctx, p, plan_id, body.name if body else None))


@router.get(
    "/accounts/{account_id}/ownership-history",
    name="get_ownership_history",
    response_model=OwnershipHistoryPage,
    summary="Every change of an account's owner of record in the active plan, newest first, with its reason",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_ownership_history(
    account_id: UUID,
    p: PrincipalDep,
    ctx: CtxDep,
    page_size: Annotated[int | None, Query(ge=1, le=500)] = None,
    page_token: str | None = None,
) -> OwnershipHistoryPage:
    page = await history.account_history(ctx, p, account_id, page_size, page_token)
    return OwnershipHistoryPage.model_validate(page)


@router.get(
    "/reports/movement",
    name="get_movement",
    response_model=MovementRead,
    tags=["reports"],
    summary="Movement rate: accounts that changed owner in a window (default the last quarter), seed 001",
    responses=problem_responses(*AUTH_ERRORS),
)
async def get_movement(
    p: PrincipalDep,
    ctx: CtxDep,
    since: datetime | None = None,
    until: datetime | None = None,
    role: Role = Role.AE,
) -> MovementRead:
    return MovementRead.model_validate(await history.movement_report(ctx, p, since, until, role.value))


@router.post(
    "/plans/{plan_id}/rebalance-proposals",
    name="propose_rebalance",
    response_model=RebalanceProposalRead,
    status_code=201,
    summary="Propose a rebalance in a new draft: the moves with their reasons, equity before and after",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def propose_rebalance(
    plan_id: UUID, p: PrincipalDep, ctx: CtxDep, role: Role = Role.AE, body: RebalanceRequest | None = None
) -> RebalanceProposalRead:
    proposal = await rebalancing.propose_rebalance(ctx, p, plan_id, role.value, body.name if body else None)
    return RebalanceProposalRead.model_validate(proposal)


@router.post(
    "/reps/{rep_id}/departure",
    name="rep_departure",
    response_model=RebalanceProposalRead,
    status_code=201,
    summary="A rep leaves: a draft that freezes open pipeline under an interim owner and reassigns the rest",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def rep_departure(
    rep_id: UUID, body: DepartureRequest, p: PrincipalDep, ctx: CtxDep, role: Role = Role.AE
) -> RebalanceProposalRead:
    proposal = await rebalancing.rep_departure(ctx, p, rep_id, body.date, body.interim_rep_id, role.value)
    return RebalanceProposalRead.model_validate(proposal)


@router.post(
    "/reps/{rep_id}/arrival",
    name="rep_arrival",
    response_model=RebalanceProposalRead,
    status_code=201,
    summary="A rep joins: a draft with a territory carved for them with the fewest moves, sized for ramp",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def rep_arrival(
    rep_id: UUID, p: PrincipalDep, ctx: CtxDep, role: Role = Role.AE, body: ArrivalRequest | None = None
) -> RebalanceProposalRead:
    proposal = await rebalancing.rep_arrival(
        ctx, p, rep_id, body.territory_name if body else None, role.value
    )
    return RebalanceProposalRead.model_validate(proposal)
