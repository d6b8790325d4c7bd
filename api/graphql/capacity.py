"""Capacity and headcount: the hours the coverage model needs against the team's."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.graphql.common import call, output_type
from api.services import capacity as service

CoverageNeed = output_type(service.CoverageNeedRead, "CoverageNeed")
CapacityChoice = output_type(service.ChoiceRead, "CapacityChoice")
Headcount = output_type(service.HeadcountRead, "Headcount")
Capacity = output_type(service.CapacityRead, "Capacity")


@strawberry.type
class Query:
    @strawberry.field(description="Hours the coverage model needs against the team's; headcount for a target")
    async def capacity(
        self, info: Info, target_revenue: float | None = None, quota_per_rep: float | None = None
    ) -> Capacity:  # type: ignore[valid-type]
        c = info.context
        return await call(service.capacity_report(c.ctx, c.principal, target_revenue, quota_per_rep))
