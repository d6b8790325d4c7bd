"""SQL of assignments: the repository, the current owner, ending and counting current assignments."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from domain import model
from persistence.repositories import SqlRepository
from persistence.tables import (
    AssignmentRow,
    next_version,
)


class SqlAssignmentRepository(SqlRepository[model.Assignment]):
    row = AssignmentRow
    entity = model.Assignment
    equality_filters = {
        "plan_id": "plan_id",
        "account_id": "account_id",
        "territory_id": "territory_id",
        "owner_id": "rep_id",
        "role": "role",
    }

    def apply_filters(self, stmt: sa.Select, filters: Mapping[str, Any]) -> sa.Select:
        stmt = super().apply_filters(stmt, filters)
        if filters.get("current", True):
            stmt = stmt.where(AssignmentRow.valid_to.is_(None))
        return stmt

    async def current_owner(self, plan_id: UUID, account_id: UUID, role: str) -> model.Assignment | None:
        result = await self.session.execute(
            self.scoped().where(
                AssignmentRow.plan_id == plan_id,
                AssignmentRow.account_id == account_id,
                AssignmentRow.role == str(role),
                AssignmentRow.valid_to.is_(None),
            )
        )
        row = result.scalar_one_or_none()
        return None if row is None else self.to_domain(row)

    async def current_of(
        self, plan_ids: Collection[UUID], account_ids: Collection[UUID]
    ) -> list[model.Assignment]:
        """The current assignments, of every role, of these accounts in these plans: one query."""
        result = await self.session.execute(
            self.scoped().where(
                AssignmentRow.plan_id.in_(set(plan_ids)),
                AssignmentRow.account_id.in_(set(account_ids)),
                AssignmentRow.valid_to.is_(None),
            )
        )
        return [self.to_domain(r) for r in result.scalars()]

    async def count_current(self, **where: Any) -> int:
        stmt = (
            sa.select(sa.func.count())
            .select_from(AssignmentRow)
            .where(AssignmentRow.tenant_id == self.tenant_id, AssignmentRow.valid_to.is_(None))
        )
        for key, value in where.items():
            stmt = stmt.where(getattr(AssignmentRow, key) == value)
        return int((await self.session.execute(stmt)).scalar_one())

    async def close_current(self, now: Any, **where: Any) -> int:
        """End the current assignments matching `where` (history is kept, never overwritten)."""
        stmt = sa.update(AssignmentRow).where(
            AssignmentRow.tenant_id == self.tenant_id, AssignmentRow.valid_to.is_(None)
        )
        for key, value in where.items():
            stmt = stmt.where(getattr(AssignmentRow, key) == value)
        result = await self.session.execute(
            stmt.values(valid_to=now, **next_version(AssignmentRow.__table__))
        )
        return int(result.rowcount or 0)
