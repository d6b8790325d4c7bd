"""Assignment by boundary rules."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import assigning as service
from api.services.schemas import AssignByRulesRead
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
