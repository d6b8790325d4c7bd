"""Rep use cases. A rep who leaves is given an end date, never deleted."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from api.services.common import duplicate_external_id, found
from api.services.context import AppContext, Principal, changes_from
from api.services.pagination import fetch_page
from api.services.schemas import RepCreate, RepUpdate
from domain.changes import Change, ChangeKind, rep_change, shows_differently
from domain.model import Rep, Scope
from domain.rules import check_rep_dates


def _rep_change(rep: Rep, ctx: AppContext) -> Change:
    return rep_change(rep.id, ctx.clock.now(), rep.name, rep.email, rep.end_date)


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


async def update_rep(ctx: AppContext, p: Principal, rep_id: UUID, data: RepUpdate) -> Rep:
    p.require(Scope.WRITE)
    changes = changes_from(data, RepCreate)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        check_rep_dates(changes.get("start_date", rep.start_date), changes.get("end_date", rep.end_date))
        new_ext = changes.get("external_id")
        if new_ext not in (None, rep.external_id) and await uow.reps.list({"external_id": new_ext}, None, 1):
            raise duplicate_external_id("rep", new_ext)
        updated = await uow.reps.update(rep_id, changes)
        if shows_differently(changes, ChangeKind.REP):
            uow.record(_rep_change(updated, ctx))
        await uow.commit()
        return updated


async def end_rep(ctx: AppContext, p: Principal, rep_id: UUID) -> Rep:
    """DELETE on a rep: set the end date to today (history matters); assignments stay until reassigned."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        rep = found(await uow.reps.get(rep_id), "rep", rep_id)
        if rep.end_date is None:
            today = ctx.clock.now().date()
            end = max(today, rep.start_date) if rep.start_date else today
            rep = await uow.reps.update(rep_id, {"end_date": end})
            uow.record(_rep_change(rep, ctx))
            await uow.commit()
        return rep


async def list_reps(
    ctx: AppContext, p: Principal, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> dict:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return await fetch_page(uow.reps, filters, page_token, page_size)
