"""Plans under /v1: at most one active; drafts are copied, changed and activated."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from api.rest.crud import ListQuery, add_crud_routes, crud_service
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, created, located, problem_responses
from api.services import plans
from api.services.plans import PlanCopy, PlanRead
from domain.model import PlanState

router = APIRouter(prefix="/v1", tags=["plans"])


class PlanQuery(ListQuery):
    state: PlanState | None = None


@router.post(
    "/plans/{plan_id}/activate",
    name="activate_plan",
    response_model=PlanRead,
    summary="Activate a draft plan; the active plan is archived in the same transaction",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def activate_plan(plan_id: UUID, p: PrincipalDep, ctx: CtxDep) -> PlanRead:
    return PlanRead.model_validate(await plans.activate_plan(ctx, p, plan_id))


@router.post(
    "/plans/{plan_id}/copy",
    name="copy_plan",
    response_model=PlanRead,
    status_code=201,
    summary="Copy a plan (usually the active one) into a draft: territories and current assignments",
    responses=problem_responses(404, *AUTH_ERRORS) | created(what="the draft"),
)
async def copy_plan(
    plan_id: UUID, p: PrincipalDep, ctx: CtxDep, response: Response, body: PlanCopy | None = None
) -> PlanRead:
    draft = PlanRead.model_validate(await plans.copy_plan(ctx, p, plan_id, body.name if body else None))
    return located(response, f"/v1/plans/{draft.id}", draft)


add_crud_routes(
    router,
    singular="plan",
    plural="plans",
    create_model=plans.PlanCreate,
    update_model=plans.PlanUpdate,
    read_model=PlanRead,
    page_model=plans.PlanPage,
    query_model=PlanQuery,
    service=crud_service(plans, "plan", "plans", "delete_plan"),
    delete_doc="Only a draft plan can be deleted (409 otherwise).",
)
