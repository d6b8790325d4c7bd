"""Rebalancing: a proposal in a new draft, and the drafts for a rep who leaves or joins."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql import equity  # noqa: F401  (the proposal's equity types come first)
from api.graphql.common import attempt, output_type, result
from api.services import rebalancing as service
from domain import model

MoveFactor = output_type(service.MoveFactor, "MoveFactor")
ProposedMove = output_type(service.ProposedMove, "ProposedMove")
ProposedMoves = output_type(service.ProposedMoves, "ProposedMoves")
KeptAccount = output_type(service.KeptAccount, "KeptAccount")
KeptAccounts = output_type(service.KeptAccounts, "KeptAccounts")
RebalanceProposal = output_type(service.RebalanceProposalRead, "RebalanceProposal")
RebalanceResult = result(RebalanceProposal, "RebalanceResult")


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Propose a rebalance in a new draft: moves with reasons, equity before/after"
    )
    async def propose_rebalance(
        self, info: Info, plan_id: UUID, role: model.Role = model.Role.AE, name: str | None = None
    ) -> RebalanceResult:  # type: ignore[valid-type]
        c = info.context
        found = service.propose_rebalance(c.ctx, c.principal, plan_id, role.value, name)
        return await attempt(found)

    @strawberry.mutation(description="A rep leaves: a draft with open pipeline frozen under an interim owner")
    async def rep_departure(
        self,
        info: Info,
        rep_id: UUID,
        date: date,
        interim_rep_id: UUID | None = None,
        role: model.Role = model.Role.AE,
    ) -> RebalanceResult:  # type: ignore[valid-type]
        c = info.context
        found = service.rep_departure(c.ctx, c.principal, rep_id, date, interim_rep_id, role.value)
        return await attempt(found)

    @strawberry.mutation(description="A rep joins: a draft with a territory carved for them, sized for ramp")
    async def rep_arrival(
        self, info: Info, rep_id: UUID, territory_name: str | None = None, role: model.Role = model.Role.AE
    ) -> RebalanceResult:  # type: ignore[valid-type]
        c = info.context
        found = service.rep_arrival(c.ctx, c.principal, rep_id, territory_name, role.value)
        return await attempt(found)
