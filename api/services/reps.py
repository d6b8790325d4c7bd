"""Rep use cases. A rep who leaves is given an end date, never deleted."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import ConfigDict, EmailStr, Field

from api.services.common import (
    ExternalId,
    Input,
    Money,
    Name,
    Output,
    Page,
    Version,
    check_version,
    duplicate_external_id,
    found,
    get_many_of,
    optional_model,
)
from api.services.context import AppContext, Principal, changes_from
from api.services.pagination import Listed, fetch_page
from domain.changes import KEEP, Change, ChangeKind, rep_change, shows_differently
from domain.model import (
    RampStatus,
    Rep,
    RepRole,
    Scope,
)
from domain.preconditions import Precondition
from domain.rules import check_rep_dates


class RepFields(Input):
    name: Name
    email: EmailStr
    role: RepRole = RepRole.AE
    ramp_status: RampStatus = RampStatus.RAMPED
    capacity: float | None = Field(
        None,
        ge=0,
        le=1e6,
        description="what the rep can carry, in the tenant's capacity unit (settings capacity.unit: hours a "
        "quarter, or accounts); null: the default of its ramp status",
    )
    expertise: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)
    home_region: str | None = Field(None, max_length=64)
    start_date: date | None = None
    end_date: date | None = None
    quota: Money | None = None


class RepCreate(RepFields):
    external_id: ExternalId


RepUpdate = optional_model("RepUpdate", RepCreate)


class RepRead(RepFields, Output):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: UUID
    external_id: str
    email: str
    created_at: datetime
    updated_at: datetime
    version: Version


class RepPage(Page[RepRead]):
    """A page of reps, in id order."""


def _rep_change(rep: Rep, ctx: AppContext, departure: Any = KEEP) -> Change:
    return rep_change(rep.id, ctx.clock.now(), rep.name, rep.email, rep.end_date, departure)


async def create_rep(ctx: AppContext, p: Principal, data: RepCreate) -> Rep:
    p.require(Scope.WRITE)
    check_rep_dates(data.start_date, data.end_date)
    async with ctx.uow(p.tenant_id) as uow:
        if await uow.reps.list({"external_id": data.external_id}, None, 1):
            raise duplicate_external_id("rep", data.external_id)
        rep = await uow.reps.add(Rep(id=uuid.uuid4(), tenant_id=p.tenant_id, **data.model_dump()))
        uow.record(_rep_change(rep, ctx))
        await uow.commit()
        return rep


async def get_rep(ctx: AppContext, p: Principal, rep_id: UUID) -> Rep:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.reps.get(rep_id), "rep", rep_id)


async def update_rep(
    ctx: AppContext, p: Principal, rep_id: UUID, data: RepUpdate, precondition: Precondition | None = None
) -> Rep:
    p.require(Scope.WRITE)
    changes = changes_from(data, RepCreate)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        await check_version(uow, precondition, rep.version, "rep")
        check_rep_dates(changes.get("start_date", rep.start_date), changes.get("end_date", rep.end_date))
        new_ext = changes.get("external_id")
        if new_ext not in (None, rep.external_id) and await uow.reps.list({"external_id": new_ext}, None, 1):
            raise duplicate_external_id("rep", new_ext)
        updated = await uow.reps.update(rep_id, changes)
        departure: Any = KEEP
        if changes.get("end_date", rep.end_date) != rep.end_date and await uow.reps.withdraw_departure(
            rep_id
        ):
            departure = None  # a cleared or moved last day withdraws the departure (its freeze lifts)
        if shows_differently(changes, ChangeKind.REP):
            uow.record(_rep_change(updated, ctx, departure))
        await uow.commit()
        return updated


async def end_rep(
    ctx: AppContext, p: Principal, rep_id: UUID, precondition: Precondition | None = None
) -> Rep:
    """DELETE on a rep: set the end date to today (history matters); assignments stay until reassigned."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        await check_version(uow, precondition, rep.version, "rep")
        if rep.end_date is None:
            today = ctx.clock.now().date()
            end = max(today, rep.start_date) if rep.start_date else today
            rep = await uow.reps.update(rep_id, {"end_date": end})
            uow.record(_rep_change(rep, ctx))
            await uow.commit()
        return rep


async def list_reps(
    ctx: AppContext, p: Principal, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> Listed[Rep]:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return await fetch_page(uow.reps, filters, page_token, page_size)


async def get_many(ctx: AppContext, p: Principal, ids: list[UUID]) -> list[Rep | None]:
    """Reps by id, in the order asked (None for an id that names none): one query (GraphQL's batches)."""
    return await get_many_of(ctx, p, "reps", ids)
