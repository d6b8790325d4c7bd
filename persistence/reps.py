"""SQL of reps: the repository and the list's filters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from domain import model
from persistence.repositories import SqlRepository
from persistence.tables import (
    DepartureRow,
    RepRow,
)

DEPARTURES = DepartureRow.__table__


class SqlRepRepository(SqlRepository[model.Rep]):
    row = RepRow
    entity = model.Rep
    equality_filters = {
        "role": "role",
        "ramp_status": "ramp_status",
        "home_region": "home_region",
        "external_id": "external_id",
        "email": "email",
    }

    def apply_filters(self, stmt: sa.Select, filters: Mapping[str, Any]) -> sa.Select:
        stmt = super().apply_filters(stmt, filters)
        if filters.get("active") is True:
            stmt = stmt.where(RepRow.end_date.is_(None))
        elif filters.get("active") is False:
            stmt = stmt.where(RepRow.end_date.is_not(None))
        return stmt

    async def record_departure(
        self, rep_id: UUID, last_day: date, interim_rep_id: UUID | None, at: datetime
    ) -> None:
        """The rep's departure, replacing one recorded before (docs/domain.md, "Departures and arrivals")."""
        await self.withdraw_departure(rep_id)
        values = {"rep_id": rep_id, "tenant_id": self.tenant_id, "last_day": last_day}
        await self.session.execute(
            sa.insert(DEPARTURES).values(values | {"interim_rep_id": interim_rep_id, "recorded_at": at})
        )

    async def withdraw_departure(self, rep_id: UUID) -> bool:
        """Forget the rep's recorded departure; whether there was one."""
        d = DEPARTURES.c
        result = await self.session.execute(
            sa.delete(DEPARTURES).where(d.tenant_id == self.tenant_id, d.rep_id == rep_id)
        )
        return bool(result.rowcount)
