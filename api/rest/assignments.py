"""Assignments under /v1, and assigning a draft plan's accounts by its territories' boundary rules."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.rest.crud import ListQuery, add_crud_routes, crud_service
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import assigning as assigning_service
from api.services import assignments
from api.services.assignments import AssignByRulesRead
from domain.model import Role

router = APIRouter(prefix="/v1")  # assign-by-rules is listed with the plans


class AssignmentQuery(ListQuery):
    plan_id: UUID | None = Field(None, description="default: the active plan (unless account_id is given)")
    account_id: UUID | None = None
    territory_id: UUID | None = None
    owner_id: UUID | None = None
    role: Role | None = None
    current: bool = Field(True, description="false: include ended assignments (the history)")


@router.post(
    "/plans/{plan_id}/assign-by-rules",
    name="assign_plan_by_rules",
    tags=["plans"],
    response_model=AssignByRulesRead,
    summary="Assign every account to the highest-priority matching territory of a draft plan",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def assign_plan_by_rules(
    plan_id: UUID, p: PrincipalDep, ctx: CtxDep, role: Role = Role.AE
) -> AssignByRulesRead:
    return await assigning_service.assign_plan_by_rules(ctx, p, plan_id, role)


add_crud_routes(
    router,
    singular="assignment",
    plural="assignments",
    create_model=assignments.AssignmentCreate,
    update_model=assignments.AssignmentUpdate,
    read_model=assignments.AssignmentRead,
    page_model=assignments.AssignmentPage,
    query_model=AssignmentQuery,
    service=crud_service(assignments, "assignment", "assignments", "end_assignment"),
    delete_doc="Ends the assignment (valid_to = now); the row stays in the history.",
    tags=["assignments"],
)
