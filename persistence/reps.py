"""SQL of reps: the repository and the list's filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from domain import model
from persistence.repositories import SqlRepository
from persistence.tables import (
    RepRow,
)


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
