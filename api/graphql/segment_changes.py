"""Segment changes: the queue waiting for the review, and the review applying it in a draft (the REST use
cases)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import (
    Connection,
    call,
    connection,
    input_type,
    mutate,
    output_type,
    result,
)
from api.services import segment_changes as service
from domain.defaults import DEFAULT_PAGE_SIZE
from domain.segment_changes import ChangeState, Outcome

strawberry.enum(ChangeState, name="SegmentChangeState")
strawberry.enum(Outcome, name="SegmentChangeOutcome")
SegmentChange = output_type(service.SegmentChangeRead, "SegmentChange")
SegmentChangeConnection = Connection[SegmentChange]  # type: ignore[valid-type]
SegmentChangeApplied = output_type(service.SegmentChangeApplyRead, "SegmentChangeApplied")
SegmentChangeApplyResult = result(SegmentChangeApplied, "SegmentChangeApplyResult")
SegmentChangeApplyInput = input_type(service.SegmentChangeApply, "SegmentChangeApplyInput")


@strawberry.type
class Query:
    @strawberry.field(description="Accounts whose segment changed: pending until the review, then applied")
    async def segment_changes(
        self,
        info: Info,
        state: ChangeState | None = None,
        account_id: UUID | None = None,
        due_by: date | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> SegmentChangeConnection:  # type: ignore[valid-type]
        c = info.context
        page = await call(
            service.list_segment_changes(c.ctx, c.principal, state, account_id, due_by, after, first)
        )
        return connection(page)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="The review: apply the queued segment changes in a draft plan")
    async def apply_segment_changes(
        self,
        info: Info,
        input: SegmentChangeApplyInput,  # type: ignore[valid-type]
    ) -> SegmentChangeApplyResult:  # type: ignore[valid-type]
        return await mutate(service.apply_segment_changes, service.SegmentChangeApply)(info, input)
