"""Assignment by boundary rules, and the equity of a plan."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import assigning as service
from api.services import equity, plans
from api.services.schemas import AssignByRulesRead, PlanCompareRead, PlanCopy, PlanEquityRead, PlanRead
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
