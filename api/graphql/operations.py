"""Long-running operations: optimise a plan (its result is a rebalance proposal), follow, list, cancel."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql import assignments, rebalancing, scoring  # noqa: F401  (an operation's results come first)
from api.graphql.common import (
    Connection,
    Problem,
    attempt,
    call,
    connection,
    input_type,
    output_type,
    result,
    to_model,
)
from api.services import assigning
from api.services import operations as service
from api.services import rebalancing as rebalancing_service
from api.services.assignments import AssignByRulesRead
from api.services.scoring import ScoringRunRead
from domain import model
from domain.defaults import DEFAULT_PAGE_SIZE

strawberry.enum(service.OperationState)
strawberry.enum(service.OperationKind)
OperationErrorType = output_type(service.OperationError, "OperationError")


def _result(root: Any) -> rebalancing.RebalanceProposal | None:  # type: ignore[name-defined]
    return root.result if isinstance(root.result, rebalancing_service.RebalanceProposalRead) else None


def _assigned(root: Any) -> assignments.AssignByRules | None:  # type: ignore[name-defined]
    return root.result if isinstance(root.result, AssignByRulesRead) else None


def _scored(root: Any) -> scoring.ScoringRun | None:  # type: ignore[name-defined]
    return root.result if isinstance(root.result, ScoringRunRead) else None


_result.__annotations__["return"] = rebalancing.RebalanceProposal | None
_scored.__annotations__["return"] = scoring.ScoringRun | None
_assigned.__annotations__["return"] = assignments.AssignByRules | None
# an operation's result by its kind, each a field of its own type (a union would break the queries that
# ask for an optimize's `result { moves ... }`)
Operation = output_type(
    service.OperationRead,
    "Operation",
    skip=("result",),
    extra={
        "result": strawberry.field(
            resolver=_result,
            description="when an optimize succeeded: the proposal, in a new draft plan (activate it)",
        ),
        "assigned": strawberry.field(
            resolver=_assigned,
            description="when an assign_by_rules succeeded: its answer, the draft assigned",
        ),
        "scored": strawberry.field(
            resolver=_scored,
            description="when a scoring succeeded (a rescoring after an import, run by a worker): its run",
        ),
    },
)
OperationConnection = Connection[Operation]  # type: ignore[valid-type]
OperationResult = result(Operation, "OperationResult")
OptimizeInput = input_type(rebalancing_service.OptimizeRequest, "OptimizeInput")
AssignByRulesResult = Annotated[
    assignments.AssignByRules | Operation | Problem, strawberry.union("AssignByRulesResult")
]


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
        kind: service.OperationKind | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> OperationConnection:  # type: ignore[valid-type]
        c = info.context
        page = await call(
            service.list_operations(
                c.ctx, c.principal, state.value if state else None, kind.value if kind else None, after, first
            )
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

    @strawberry.mutation(
        description="Assign every account of a draft plan to its owner by the rules-of-engagement policy: "
        "the answer, or for a large book (or with respondAsync) the operation whose result it is"
    )
    async def assign_by_rules(
        self, info: Info, plan_id: UUID, role: model.Role = model.Role.AE, respond_async: bool = False
    ) -> AssignByRulesResult:  # type: ignore[valid-type]
        c = info.context
        prefer = "respond-async" if respond_async else None
        return await attempt(assigning.assign_plan_by_rules(c.ctx, c.principal, plan_id, role, prefer))

    @strawberry.mutation(description="Ask an operation to stop: it stops within seconds and keeps nothing")
    async def cancel_operation(self, info: Info, id: UUID) -> OperationResult:  # type: ignore[valid-type]
        c = info.context
        return await attempt(service.cancel_operation(c.ctx, c.principal, id))
