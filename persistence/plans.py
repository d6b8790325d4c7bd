"""SQL of plans: the repository and the active plan."""

from __future__ import annotations

from domain import model
from persistence.repositories import SqlRepository
from persistence.tables import (
    PlanRow,
)


class SqlPlanRepository(SqlRepository[model.Plan]):
    row = PlanRow
    entity = model.Plan
    equality_filters = {"state": "state"}

    async def active(self) -> model.Plan | None:
        result = await self.session.execute(
            self.scoped().where(PlanRow.state == model.PlanState.ACTIVE.value)
        )
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)
