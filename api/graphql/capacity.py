"""Capacity and headcount: what the coverage model asks of the book against what the team can carry."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.common import call, output_type
from api.services import capacity as service

CoverageNeed = output_type(service.CoverageNeedRead, "CoverageNeed")
CapacityChoice = output_type(service.ChoiceRead, "CapacityChoice")
Headcount = output_type(service.HeadcountRead, "Headcount")
TeamSize = output_type(service.TeamSizeRead, "TeamSize")
Capacity = output_type(service.CapacityRead, "Capacity")


@strawberry.type
class Query:
    @strawberry.field(
        description="What the coverage model asks of the book against what the team can carry (settings "
        "capacity.unit: hours or accounts); headcount for a target"
    )
    async def capacity(
        self, info: Info, target_revenue: float | None = None, quota_per_rep: float | None = None
    ) -> Capacity:  # type: ignore[valid-type]
        c = info.context
        return await call(service.capacity_report(c.ctx, c.principal, target_revenue, quota_per_rep))
