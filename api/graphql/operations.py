"""Long-running operations: optimise a plan (its result is a rebalance proposal), follow, list, cancel."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql import rebalancing  # noqa: F401  (an operation's result, the proposal, comes first)
from api.graphql.common import (
    Connection,
    attempt,
    call,
    connection,
    input_type,
    output_type,
    result,
    to_model,
)
from api.services import operations as service
from api.services import rebalancing as rebalancing_service
from domain.defaults import DEFAULT_PAGE_SIZE

strawberry.enum(service.OperationState)
OperationErrorType = output_type(service.OperationError, "OperationError")
Operation = output_type(service.OperationRead, "Operation")
OperationConnection = Connection[Operation]  # type: ignore[valid-type]
OperationResult = result(Operation, "OperationResult")
OptimizeInput = input_type(rebalancing_service.OptimizeRequest, "OptimizeInput")


@strawberry.type
class Query:
    @strawberry.field(description="An operation: state, progress, and its result or error")
    async def operation(self, info: Info, id: UUID) -> Operation:  # type: ignore[valid-type]
        c = info.context
        return await call(service.get_operation(c.ctx, c.principal, id))

    @strawberry.field(description="Operations, newest first")
    async def operations(
        self,
        info: Info,
        state: service.OperationState | None = None,
        kind: str | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> OperationConnection:  # type: ignore[valid-type]
        c = info.context
        page = await call(
            service.list_operations(c.ctx, c.principal, state.value if state else None, kind, after, first)
        )
        return connection(page)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Optimise a plan's balance: returns the operation; its result is the proposal in a draft"
    )
    async def optimize_plan(
        self,
        info: Info,
        plan_id: UUID,
        input: OptimizeInput | None = None,  # type: ignore[valid-type]
    ) -> OperationResult:  # type: ignore[valid-type]
        c = info.context

        async def go() -> Any:
            body = (
                to_model(input, rebalancing_service.OptimizeRequest)
                if input is not None
                else rebalancing_service.OptimizeRequest()
            )
            return await rebalancing_service.start_optimize(c.ctx, c.principal, plan_id, body)

        return await attempt(go())

    @strawberry.mutation(description="Ask an operation to stop: it stops within seconds and keeps nothing")
    async def cancel_operation(self, info: Info, id: UUID) -> OperationResult:  # type: ignore[valid-type]
        c = info.context
        return await attempt(service.cancel_operation(c.ctx, c.principal, id))
