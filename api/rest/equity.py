"""Equity of a plan (per territory and rep) and two plans compared."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import equity
from api.services.equity import PlanCompareRead, PlanEquityRead
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["plans"])


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
    return await equity.plan_equity(ctx, p, plan_id, role.value)


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
    return await equity.compare_plans(ctx, p, a, b, role.value)
