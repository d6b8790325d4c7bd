"""Ownership history of an account, and the movement rate."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import history
from api.services.common import IsoDatetime
from api.services.history import MovementRead, OwnershipHistoryPage
from domain.model import Role

router = APIRouter(prefix="/v1", tags=["plans"])


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
    return await history.account_history(ctx, p, account_id, page_size, page_token)


@router.get(
    "/reports/movement",
    name="get_movement",
    response_model=MovementRead,
    tags=["reports"],
    summary="Movement rate: accounts that changed owner in a window (default the last quarter)",
    responses=problem_responses(*AUTH_ERRORS),
)
async def get_movement(
    p: PrincipalDep,
    ctx: CtxDep,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    role: Role = Role.AE,
) -> MovementRead:
    return await history.movement_report(ctx, p, since, until, role.value)
