"""Capacity: the hours the coverage model needs against the team's, and headcount."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import capacity
from api.services.capacity import CapacityRead
from domain.defaults import MAX_MONEY

router = APIRouter(prefix="/v1", tags=["scoring"])


@router.get(
    "/capacity",
    name="get_capacity",
    response_model=CapacityRead,
    summary="Hours the coverage model needs against the team's, the shortfall and the choices; "
    "headcount for a revenue target",
    responses=problem_responses(*AUTH_ERRORS),
)
async def get_capacity(
    p: PrincipalDep,
    ctx: CtxDep,
    target_revenue: Annotated[float | None, Query(gt=0, le=MAX_MONEY, allow_inf_nan=False)] = None,
    quota_per_rep: Annotated[
        float | None, Query(ge=1, le=MAX_MONEY, allow_inf_nan=False, description="dollars, at least 1")
    ] = None,
) -> CapacityRead:
    return await capacity.capacity_report(ctx, p, target_revenue, quota_per_rep)
