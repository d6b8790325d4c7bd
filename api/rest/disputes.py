"""Disputes: open a claim, read and list them (overdue ones too), decide, apply, withdraw."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, created, located, problem_responses
from api.services import disputes as service
from api.services.disputes import DisputeCreate, DisputeDecision, DisputePage, DisputeRead
from domain.defaults import MAX_PAGE_SIZE
from domain.disputes import DisputeState

router = APIRouter(prefix="/v1", tags=["engagement"])


@router.post(
    "/disputes",
    name="open_dispute",
    status_code=201,
    response_model=DisputeRead,
    summary="Claim an account: the engine gathers the evidence and proposes the policy's ruling",
    description=(
        "The evidence is the engine's own: each candidate rep's meaningful touches in the policy's window, "
        "the opportunities they brought, the territories of the active plan whose boundary holds the "
        "account, and the owner of record. The proposal names the rule that decided and why; the dispute "
        "is due the policy's business days later."
    ),
    responses=problem_responses(409, 422, *AUTH_ERRORS) | created(what="the dispute"),
)
async def open_dispute(body: DisputeCreate, p: PrincipalDep, ctx: CtxDep, response: Response) -> DisputeRead:
    found = await service.open_dispute(ctx, p, body)
    return located(response, f"/v1/disputes/{found.id}", found)


@router.get(
    "/disputes",
    name="list_disputes",
    response_model=DisputePage,
    summary="Disputes, filtered by state or account; overdue=true: open ones past their deadline",
    responses=problem_responses(400, 422, *AUTH_ERRORS),
)
async def list_disputes(
    p: PrincipalDep,
    ctx: CtxDep,
    state: DisputeState | None = None,
    account_id: UUID | None = None,
    overdue: bool = False,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
    page_size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
) -> DisputePage:
    return await service.list_disputes(ctx, p, state, account_id, overdue, page_token, page_size)


@router.get(
    "/disputes/{dispute_id}",
    name="get_dispute",
    response_model=DisputeRead,
    summary="A dispute: the claim, the evidence, the proposal, the decision",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_dispute(dispute_id: UUID, p: PrincipalDep, ctx: CtxDep) -> DisputeRead:
    return await service.get_dispute(ctx, p, dispute_id)


@router.post(
    "/disputes/{dispute_id}/decision",
    name="decide_dispute",
    response_model=DisputeRead,
    summary="Confirm the proposal or give the account to another candidate, with a note (admin scope)",
    responses=problem_responses(404, 409, 422, *AUTH_ERRORS),
)
async def decide_dispute(
    dispute_id: UUID, body: DisputeDecision, p: PrincipalDep, ctx: CtxDep
) -> DisputeRead:
    return await service.decide_dispute(ctx, p, dispute_id, body)


@router.post(
    "/disputes/{dispute_id}/apply",
    name="apply_dispute",
    response_model=DisputeRead,
    summary="Give the account to the decided owner in the active plan (cause dispute; admin scope)",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def apply_dispute(dispute_id: UUID, p: PrincipalDep, ctx: CtxDep) -> DisputeRead:
    return await service.apply_dispute(ctx, p, dispute_id)


@router.post(
    "/disputes/{dispute_id}/withdraw",
    name="withdraw_dispute",
    response_model=DisputeRead,
    summary="Withdraw an open or decided dispute",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def withdraw_dispute(dispute_id: UUID, p: PrincipalDep, ctx: CtxDep) -> DisputeRead:
    return await service.withdraw_dispute(ctx, p, dispute_id)
