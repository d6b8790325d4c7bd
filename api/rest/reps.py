"""Reps under /v1; a rep is never deleted, only ended. Departures and arrivals are in `rebalancing`."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from api.rest.crud import ListQuery, add_crud_routes, crud_service
from api.services import reps
from domain.model import RampStatus, RepRole

router = APIRouter(prefix="/v1", tags=["reps"])


class RepQuery(ListQuery):
    role: RepRole | None = None
    ramp_status: RampStatus | None = None
    home_region: str | None = None
    external_id: str | None = None
    email: str | None = None
    active: bool | None = Field(None, description="true: no end date; false: departed")


add_crud_routes(
    router,
    singular="rep",
    plural="reps",
    create_model=reps.RepCreate,
    update_model=reps.RepUpdate,
    read_model=reps.RepRead,
    page_model=reps.RepPage,
    query_model=RepQuery,
    service=crud_service(reps, "rep", "reps", "end_rep"),
    delete_doc="A rep is never deleted: this sets the end date to today and answers the rep.",
    delete_returns_entity=True,
)
