"""Equity: a plan's balance per territory and per rep, and two plans side by side."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import call, output_type
from api.services import common
from api.services import equity as service
from domain import model

SpreadType = output_type(service.SpreadRead, "Spread")
BookEquity = output_type(service.BookEquityRead, "BookEquity")
EquityType = output_type(service.EquityRead, "Equity")
TerritoryRef = output_type(common.TerritoryRef, "TerritoryRef")
OwnerlessTerritory = output_type(service.OwnerlessTerritoryRead, "OwnerlessTerritory")
PlanEquity = output_type(service.PlanEquityRead, "PlanEquity")
PlanRef = output_type(common.PlanRef, "PlanRef")
Move = output_type(service.MoveRead, "Move")
Moves = output_type(service.MovesRead, "Moves")
PlanCompare = output_type(service.PlanCompareRead, "PlanCompare")


@strawberry.type
class Query:
    @strawberry.field(description="Equity of a plan per territory and per rep")
    async def plan_equity(self, info: Info, plan_id: UUID, role: model.Role = model.Role.AE) -> PlanEquity:  # type: ignore[valid-type]
        c = info.context
        return await call(service.plan_equity(c.ctx, c.principal, plan_id, role.value))

    @strawberry.field(description="Two plans side by side: moves and each plan's equity")
    async def compare_plans(
        self, info: Info, a: UUID, b: UUID, role: model.Role = model.Role.AE
    ) -> PlanCompare:  # type: ignore[valid-type]
        c = info.context
        return await call(service.compare_plans(c.ctx, c.principal, a, b, role.value))
