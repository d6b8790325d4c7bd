"""Segment changes: the queue of accounts whose new segment waits for the review, and the review applying
it in a draft plan."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, problem_responses
from api.services import segment_changes as service
from api.services.common import IsoDate
from api.services.segment_changes import SegmentChangeApply, SegmentChangeApplyRead, SegmentChangePage
from domain.defaults import MAX_PAGE_SIZE
from domain.segment_changes import ChangeState

router = APIRouter(prefix="/v1", tags=["engagement"])


@router.get(
    "/segment-changes",
    name="list_segment_changes",
    response_model=SegmentChangePage,
    summary="Accounts whose segment changed: pending until the next review, then applied in a draft",
    description=(
        "While the engagement policy says segment_change_at_review, an account whose revenue or employees "
        "put it in another segment (an update or an import) keeps its segment of record, and its owner, "
        "until the review applies the change; due_by: the changes due on or before that day."
    ),
    responses=problem_responses(400, 422, *AUTH_ERRORS),
)
async def list_segment_changes(
    p: PrincipalDep,
    ctx: CtxDep,
    state: ChangeState | None = None,
    account_id: UUID | None = None,
    due_by: IsoDate | None = None,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
    page_size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
) -> SegmentChangePage:
    return await service.list_segment_changes(ctx, p, state, account_id, due_by, page_token, page_size)


@router.post(
    "/segment-changes/apply",
    name="apply_segment_changes",
    response_model=SegmentChangeApplyRead,
    summary="The review: give each queued account its new segment and, in a draft, its new territory",
    description=(
        "Each pending change (due by due_by, when given) gives its account its new segment of record; in "
        "the draft plan the account goes to the territory whose boundary holds it under that segment, the "
        "move's reason naming the change. A locked owner stays; an account no territory holds keeps its "
        "owner. The changes are marked applied with their outcome."
    ),
    responses=problem_responses(404, 409, 422, *AUTH_ERRORS),
)
async def apply_segment_changes(
    body: SegmentChangeApply, p: PrincipalDep, ctx: CtxDep
) -> SegmentChangeApplyRead:
    return await service.apply_segment_changes(ctx, p, body)
