"""SQL of territories: the repository."""

from __future__ import annotations

from domain import model
from persistence.repositories import SqlRepository
from persistence.tables import (
    TerritoryRow,
)


class SqlTerritoryRepository(SqlRepository[model.Territory]):
    row = TerritoryRow
    entity = model.Territory
    equality_filters = {
        "plan_id": "plan_id",
        "parent_id": "parent_id",
        "owner_id": "primary_rep_id",
        "type": "type",
    }
