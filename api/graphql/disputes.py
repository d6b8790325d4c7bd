"""Disputes: read and list them; open, decide, apply, withdraw (the REST use cases)."""

from __future__ import annotations

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
from api.services import disputes as service
from domain.defaults import DEFAULT_PAGE_SIZE
from domain.disputes import ClaimBasis, DisputeState, Timeliness

strawberry.enum(DisputeState, name="DisputeState")
strawberry.enum(ClaimBasis, name="ClaimBasis")
strawberry.enum(Timeliness, name="DisputeTimeliness")
DisputeEvidence = output_type(service.EvidenceRead, "DisputeEvidence")
DisputeStep = output_type(service.StepRead, "DisputeStep")
DisputeClaim = output_type(service.ClaimRead, "DisputeClaim")
DisputeProposal = output_type(service.ProposalRead, "DisputeProposal")
DisputeDecision = output_type(service.DecisionRead, "DisputeDecision")
DisputeHoliday = output_type(service.HolidayRead, "DisputeHoliday")
DisputeDeadline = output_type(service.DeadlineRead, "DisputeDeadline")
Dispute = output_type(service.DisputeRead, "Dispute")
DisputeConnection = Connection[Dispute]  # type: ignore[valid-type]
DisputeResult = result(Dispute, "DisputeResult")
DisputeCreateInput = input_type(service.DisputeCreate, "DisputeCreateInput")
DisputeDecisionInput = input_type(service.DisputeDecision, "DisputeDecisionInput")


@strawberry.type
class Query:
    @strawberry.field(description="A dispute: the claim, the evidence, the proposal, the decision")
    async def dispute(self, info: Info, id: UUID) -> Dispute:  # type: ignore[valid-type]
        return await call(service.get_dispute(info.context.ctx, info.context.principal, id))

    @strawberry.field(description="Disputes by state or account; overdue: open ones past their deadline")
    async def disputes(
        self,
        info: Info,
        state: DisputeState | None = None,
        account_id: UUID | None = None,
        overdue: bool = False,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> DisputeConnection:  # type: ignore[valid-type]
        c = info.context
        page = await call(service.list_disputes(c.ctx, c.principal, state, account_id, overdue, after, first))
        return connection(page)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Claim an account: the engine gathers the evidence and proposes a ruling"
    )
    async def open_dispute(self, info: Info, input: DisputeCreateInput) -> DisputeResult:  # type: ignore[valid-type]
        return await mutate(service.open_dispute, service.DisputeCreate)(info, input)

    @strawberry.mutation(description="Confirm the proposal or give the account to another candidate (admin)")
    async def decide_dispute(
        self,
        info: Info,
        id: UUID,
        input: DisputeDecisionInput,  # type: ignore[valid-type]
    ) -> DisputeResult:  # type: ignore[valid-type]
        return await mutate(service.decide_dispute, service.DisputeDecision)(info, id, input)

    @strawberry.mutation(description="Give the account to the decided owner in the active plan (admin)")
    async def apply_dispute(self, info: Info, id: UUID) -> DisputeResult:  # type: ignore[valid-type]
        return await mutate(service.apply_dispute)(info, id)

    @strawberry.mutation(description="Withdraw an open or decided dispute")
    async def withdraw_dispute(self, info: Info, id: UUID) -> DisputeResult:  # type: ignore[valid-type]
        return await mutate(service.withdraw_dispute)(info, id)
