"""Long-running operations: what a caller sees (state, progress, result or error), their list and cancelling;
the machinery that runs them is `api.services.runner`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.assignments import AssignByRulesRead
from api.services.common import FieldProblem, Page
from api.services.context import AppContext, Principal
from api.services.pagination import check_page_size, decode_cursor, encode_cursor
from api.services.rebalancing import RebalanceProposalRead
from api.services.runner import UNFINISHED
from api.services.runner import present as _present
from api.services.scoring import ScoringRunRead
from domain.errors import Code, Conflict, NotFound
from domain.model import (
    Scope,
)


class OperationKind(StrEnum):
    """What an operation does (each has its handler: api.services.runner.handles); the list's filter."""

    OPTIMIZE = "optimize"
    ASSIGN_BY_RULES = "assign_by_rules"
    SCORING = "scoring"  # a rescoring after an import, queued for the workers where the API runs none


class OperationState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OperationError(BaseModel):
    code: str
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


class OperationRead(BaseModel):
    id: UUID
    # text, not OperationKind: a row written by a newer engine (a kind this one lacks) must still read
    kind: str = Field(
        description="what it does: optimize, assign_by_rules, or scoring (a rescoring after an import, "
        "queued for the workers where the API processes run none)"
    )
    state: OperationState
    progress: float = Field(description="0 to 1")
    message: str | None = Field(description="the stage it is at, in words")
    subject_id: UUID | None = Field(description="the plan it works on")
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: RebalanceProposalRead | AssignByRulesRead | ScoringRunRead | None = Field(
        description="when succeeded: optimize's proposal, in a new draft plan (activate it to apply it); "
        "assign_by_rules' answer, the draft assigned; scoring's run"
    )
    error: OperationError | None = Field(description="when failed: why")


class OperationPage(Page[OperationRead]):
    """A page of operations, newest first."""


def _read(ctx: AppContext, row: Any) -> OperationRead:
    return OperationRead.model_validate(_present(ctx, row))


async def get_operation(ctx: AppContext, p: Principal, op_id: UUID) -> OperationRead:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        row = await uow.operations.get(op_id)
    if row is None:
        raise NotFound(f"operation {op_id} not found")
    return _read(ctx, row)


async def cancel_operation(ctx: AppContext, p: Principal, op_id: UUID) -> OperationRead:
    """Ask an operation to stop; it stops at its next check (within seconds) and keeps nothing."""
    p.require(Scope.WRITE)
    current = await get_operation(ctx, p, op_id)
    async with ctx.uow(p.tenant_id) as uow:
        flagged = current.state in UNFINISHED and await uow.operations.request_cancel(op_id, UNFINISHED)
        await uow.commit()
    if not flagged:
        raise Conflict(f"the operation has already {current.state.value}", code=Code.OPERATION_FINISHED)
    reporter = ctx.operations.reporters.get(op_id) if ctx.operations else None
    if reporter is not None:
        reporter.stop.set()  # this worker runs it: no need to wait for the heartbeat
    return await get_operation(ctx, p, op_id)


def _token(row: Any) -> str:
    return encode_cursor(at=row.created_at.isoformat(), after=str(row.id))


def _untoken(token: str | None) -> tuple[datetime, UUID] | None:
    return decode_cursor(token, lambda data: (datetime.fromisoformat(data["at"]), UUID(data["after"])))


async def list_operations(
    ctx: AppContext,
    p: Principal,
    state: str | None = None,
    kind: str | None = None,
    page_token: str | None = None,
    page_size: int | None = None,
) -> OperationPage:
    """Newest first."""
    p.require(Scope.READ)
    size = check_page_size(page_size)
    async with ctx.uow(p.tenant_id) as uow:
        rows = await uow.operations.page(size + 1, _untoken(page_token), state, kind)
    items = [_read(ctx, r) for r in rows[:size]]
    return OperationPage(items=items, next_page_token=_token(rows[size - 1]) if len(rows) > size else None)
