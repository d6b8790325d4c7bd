"""Accounts, reps, territories, plans and assignments under /v1."""

from types import SimpleNamespace
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.rest.crud import add_crud_routes
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import accounts, assignments, plans, reps, territories
from domain.defaults import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from domain.model import PlanState, RampStatus, RepRole, Role, Segment, Stage, TerritoryType


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    page_token: str | None = Field(None, description="next_page_token of the previous page")


class AccountQuery(ListQuery):
    plan_id: UUID | None = Field(None, description="plan for territory/owner/role filters; default: active")
    territory_id: UUID | None = None
    owner_id: UUID | None = Field(None, description="rep owning the account")
    role: Role | None = Field(None, description="only accounts with an owner in this role")
    segment: Segment | None = None
    stage: Stage | None = None
    parent_id: UUID | None = None
    external_id: str | None = None


class RepQuery(ListQuery):
    role: RepRole | None = None
    ramp_status: RampStatus | None = None
    home_region: str | None = None
    external_id: str | None = None
    email: str | None = None
    active: bool | None = Field(None, description="true: no end date; false: departed")


class TerritoryQuery(ListQuery):
    plan_id: UUID | None = None
    parent_id: UUID | None = None
    owner_id: UUID | None = Field(None, description="primary rep")
    type: TerritoryType | None = None


class PlanQuery(ListQuery):
    state: PlanState | None = None


class AssignmentQuery(ListQuery):
    plan_id: UUID | None = Field(None, description="default: the active plan (unless account_id is given)")
    account_id: UUID | None = None
    territory_id: UUID | None = None
    owner_id: UUID | None = None
    role: Role | None = None
    current: bool = Field(True, description="false: include ended assignments (the history)")


async def get_account_by_external_id(
    external_id: Annotated[str, Path(max_length=255)], p: PrincipalDep, ctx: CtxDep
) -> accounts.AccountRead:
    return accounts.AccountRead.model_validate(await accounts.get_account_by_external_id(ctx, p, external_id))


async def activate_plan(plan_id: UUID, p: PrincipalDep, ctx: CtxDep) -> plans.PlanRead:
    return plans.PlanRead.model_validate(await plans.activate_plan(ctx, p, plan_id))


def _service(module: object, singular: str, plural: str, delete: str) -> SimpleNamespace:
    return SimpleNamespace(
        create=getattr(module, f"create_{singular}"),
        get=getattr(module, f"get_{singular}"),
        update=getattr(module, f"update_{singular}"),
        delete=getattr(module, delete),
        list=getattr(module, f"list_{plural}"),
    )


def build_resource_routers() -> list[APIRouter]:
    account_router = APIRouter(prefix="/v1", tags=["accounts"])
    rep_router = APIRouter(prefix="/v1", tags=["reps"])
    territory_router = APIRouter(prefix="/v1", tags=["territories"])
    plan_router = APIRouter(prefix="/v1", tags=["plans"])
    assignment_router = APIRouter(prefix="/v1", tags=["assignments"])
    account_router.add_api_route(
        "/accounts/by-external-id/{external_id}",
        get_account_by_external_id,
        methods=["GET"],
        response_model=accounts.AccountRead,
        name="get_account_by_external_id",
        summary="Get an account by its external (CRM) id",
        responses=problem_responses(404, *AUTH_ERRORS),
    )
    plan_router.add_api_route(
        "/plans/{plan_id}/activate",
        activate_plan,
        methods=["POST"],
        response_model=plans.PlanRead,
        name="activate_plan",
        summary="Activate a draft plan; the active plan is archived in the same transaction",
        responses=problem_responses(404, 409, *AUTH_ERRORS),
    )
    add_crud_routes(
        account_router,
        singular="account",
        plural="accounts",
        create_model=accounts.AccountCreate,
        update_model=accounts.AccountUpdate,
        read_model=accounts.AccountRead,
        page_model=accounts.AccountPage,
        query_model=AccountQuery,
        service=_service(accounts, "account", "accounts", "delete_account"),
        delete_doc="Soft delete: the account leaves lists and lookups; its ownership history is kept.",
    )
    add_crud_routes(
        rep_router,
        singular="rep",
        plural="reps",
        create_model=reps.RepCreate,
        update_model=reps.RepUpdate,
        read_model=reps.RepRead,
        page_model=reps.RepPage,
        query_model=RepQuery,
        service=_service(reps, "rep", "reps", "end_rep"),
        delete_doc="A rep is never deleted: this sets the end date to today and answers the rep.",
        delete_returns_entity=True,
    )
    add_crud_routes(
        territory_router,
        singular="territory",
        plural="territories",
        create_model=territories.TerritoryCreate,
        update_model=territories.TerritoryUpdate,
        read_model=territories.TerritoryRead,
        page_model=territories.TerritoryPage,
        query_model=TerritoryQuery,
        service=_service(territories, "territory", "territories", "delete_territory"),
        delete_doc="Refused (409) while the territory holds current assignments.",
    )
    add_crud_routes(
        plan_router,
        singular="plan",
        plural="plans",
        create_model=plans.PlanCreate,
        update_model=plans.PlanUpdate,
        read_model=plans.PlanRead,
        page_model=plans.PlanPage,
        query_model=PlanQuery,
        service=_service(plans, "plan", "plans", "delete_plan"),
        delete_doc="Only a draft plan can be deleted (409 otherwise).",
    )
    add_crud_routes(
        assignment_router,
        singular="assignment",
        plural="assignments",
        create_model=assignments.AssignmentCreate,
        update_model=assignments.AssignmentUpdate,
        read_model=assignments.AssignmentRead,
        page_model=assignments.AssignmentPage,
        query_model=AssignmentQuery,
        service=_service(assignments, "assignment", "assignments", "end_assignment"),
        delete_doc="Ends the assignment (valid_to = now); the row stays in the history.",
    )
    return [account_router, rep_router, territory_router, plan_router, assignment_router]
