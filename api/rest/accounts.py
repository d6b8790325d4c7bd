"""Accounts under /v1: create, read (also by external id), update, soft delete, list with filters."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import Field

from api.rest.crud import ListQuery, add_crud_routes, crud_service
from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import accounts
from domain.model import Role, Segment, Stage

router = APIRouter(prefix="/v1", tags=["accounts"])


class AccountQuery(ListQuery):
    plan_id: UUID | None = Field(None, description="plan for territory/owner/role filters; default: active")
    territory_id: UUID | None = None
    owner_id: UUID | None = Field(None, description="rep owning the account")
    role: Role | None = Field(None, description="only accounts with an owner in this role")
    segment: Segment | None = None
    stage: Stage | None = None
    parent_id: UUID | None = None
    external_id: str | None = None


@router.get(
    "/accounts/by-external-id/{external_id:path}",
    name="get_account_by_external_id",
    response_model=accounts.AccountRead,
    summary="Get an account by its external (CRM) id",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_account_by_external_id(
    external_id: Annotated[str, Path(max_length=255)], p: PrincipalDep, ctx: CtxDep
) -> accounts.AccountRead:
    return accounts.AccountRead.model_validate(await accounts.get_account_by_external_id(ctx, p, external_id))


@router.get(
    "/accounts/{account_id}/open-pipeline",
    name="get_account_open_pipeline",
    response_model=accounts.AccountPipelineRead,
    summary="The account's owner of record (AE, active plan) with its open opportunities and who works each",
    description=(
        "A deal whose rep is not the account's owner stays with its rep while the engagement policy says "
        "in_flight_deals_stay (the note says so, by name); with the policy off it follows the account's "
        "owner. The opportunity's own rep is never rewritten by a move."
    ),
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_account_open_pipeline(
    account_id: UUID, p: PrincipalDep, ctx: CtxDep
) -> accounts.AccountPipelineRead:
    return await accounts.get_open_pipeline(ctx, p, account_id)


add_crud_routes(
    router,
    singular="account",
    plural="accounts",
    create_model=accounts.AccountCreate,
    update_model=accounts.AccountUpdate,
    read_model=accounts.AccountRead,
    page_model=accounts.AccountPage,
    query_model=AccountQuery,
    service=crud_service(accounts, "account", "accounts", "delete_account"),
    delete_doc="Soft delete: the account leaves lists and lookups; its ownership history is kept.",
)
