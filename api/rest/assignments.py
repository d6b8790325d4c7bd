"""Assignments under /v1, and assigning a draft plan's accounts by its territories' boundary rules."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import Field

from api.rest.crud import ListQuery, add_crud_routes, crud_service
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, created, problem_responses
from api.services import assigning as assigning_service
from api.services import assignments
from api.services.assignments import AssignByRulesRead
from api.services.operations import OperationRead
from domain.defaults import ASSIGN_BY_RULES_OPERATION_ABOVE
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
    summary="Assign every account of a draft plan to its owner by the rules-of-engagement policy",
    description=(
        "The candidates of each account are the reps whose territory's boundary holds it, its owner of "
        "record and reps with an existing relationship; the tenant's policy decides between them, and each "
        "assignment's note names the rule that decided (`by_rule` counts them). A book of up to "
        f"{ASSIGN_BY_RULES_OPERATION_ABOVE:,} live accounts answers 200 with the result; a larger one, or a "
        "request sent with `Prefer: respond-async`, answers 202 with an operation (its URL in Location; "
        "poll it for progress, cancel it with POST /v1/operations/{id}/cancel: nothing is kept) whose "
        "`result` is the same answer."
    ),
    responses=problem_responses(404, 409, *AUTH_ERRORS)
    | {
        202: {"model": OperationRead, "description": "the operation that assigns the book"}
        | created(202, "the operation")[202]
    },
)
async def assign_plan_by_rules(
    plan_id: UUID,
    p: PrincipalDep,
    ctx: CtxDep,
    role: Role = Role.AE,
    prefer: Annotated[
        str | None,
        Header(
            alias="Prefer",
            max_length=200,
            description="`respond-async` (RFC 7240): run as an operation (202) whatever the book's size",
        ),
    ] = None,
) -> AssignByRulesRead | JSONResponse:
    answer = await assigning_service.assign_plan_by_rules(ctx, p, plan_id, role, prefer)
    if isinstance(answer, OperationRead):
        headers = {"Location": f"/v1/operations/{answer.id}"}
        if assigning_service.respond_async(prefer):
            headers["Preference-Applied"] = "respond-async"
        return JSONResponse(jsonable_encoder(answer), status_code=202, headers=headers)
    return answer


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
