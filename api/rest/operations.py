"""Long-running operations: optimise a plan (202 and an operation), read, list and cancel operations."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, created, located, problem_responses
from api.services import operations, rebalancing
from api.services.operations import OperationKind, OperationPage, OperationRead, OperationState
from api.services.rebalancing import OptimizeRequest
from domain.defaults import MAX_PAGE_SIZE

router = APIRouter(prefix="/v1", tags=["operations"])


@router.post(
    "/plans/{plan_id}/optimize",
    name="optimize_plan",
    status_code=202,
    response_model=OperationRead,
    summary="Optimise a plan's balance: an operation that writes its proposal into a new draft plan",
    description=(
        "Answers 202 at once with the operation (and its URL in Location); poll it for progress. When it "
        "succeeds, `result` holds the proposal: a new draft plan with the moves (each with its reason), the "
        "weighted moves, a lower bound every plan meeting the bands needs and the gap to it, what still "
        "fails and what no plan can meet, and the equity before and after. The plan itself is not changed."
    ),
    responses=problem_responses(404, 422, *AUTH_ERRORS) | created(202, "the operation"),
)
async def optimize_plan(
    plan_id: UUID, p: PrincipalDep, ctx: CtxDep, response: Response, body: OptimizeRequest | None = None
) -> OperationRead:
    op = await rebalancing.start_optimize(ctx, p, plan_id, body or OptimizeRequest())
    return located(response, f"/v1/operations/{op.id}", op)


@router.get(
    "/operations",
    name="list_operations",
    response_model=OperationPage,
    summary="Operations, newest first",
    responses=problem_responses(400, 422, *AUTH_ERRORS),
)
async def list_operations(
    p: PrincipalDep,
    ctx: CtxDep,
    state: OperationState | None = None,
    kind: OperationKind | None = None,
    page_token: str | None = None,
    page_size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
) -> OperationPage:
    return await operations.list_operations(
        ctx, p, state.value if state else None, kind.value if kind else None, page_token, page_size
    )


@router.get(
    "/operations/{operation_id}",
    name="get_operation",
    response_model=OperationRead,
    summary="An operation: state, progress, and its result or error",
    responses=problem_responses(404, *AUTH_ERRORS),
)
async def get_operation(operation_id: UUID, p: PrincipalDep, ctx: CtxDep) -> OperationRead:
    return await operations.get_operation(ctx, p, operation_id)


@router.post(
    "/operations/{operation_id}/cancel",
    name="cancel_operation",
    status_code=202,
    response_model=OperationRead,
    summary="Ask an operation to stop: it stops within seconds and keeps nothing",
    responses=problem_responses(404, 409, *AUTH_ERRORS),
)
async def cancel_operation(operation_id: UUID, p: PrincipalDep, ctx: CtxDep) -> OperationRead:
    return await operations.cancel_operation(ctx, p, operation_id)
