"""Territories of a plan under /v1."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.rest.crud import ListQuery, add_crud_routes, crud_service
from api.services import territories
from domain.model import TerritoryType

router = APIRouter(prefix="/v1", tags=["territories"])


class TerritoryQuery(ListQuery):
    plan_id: UUID | None = None
    parent_id: UUID | None = None
    owner_id: UUID | None = Field(None, description="primary rep")
    type: TerritoryType | None = None


add_crud_routes(
    router,
    singular="territory",
    plural="territories",
    create_model=territories.TerritoryCreate,
    update_model=territories.TerritoryUpdate,
    read_model=territories.TerritoryRead,
    page_model=territories.TerritoryPage,
    query_model=TerritoryQuery,
    service=crud_service(territories, "territory", "territories", "delete_territory"),
    delete_doc="Refused (409) while the territory holds current assignments.",
)
