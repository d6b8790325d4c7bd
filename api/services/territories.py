"""Territory use cases: a territory lives inside one plan."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ConfigDict, Field

from api.services.common import (
    Input,
    Int32,
    IsoDate,
    Money,
    Name,
    Output,
    Page,
    Rate,
    Version,
    check_version,
    found,
    get_many_of,
    optional_model,
    referenced,
)
from api.services.context import AppContext, Principal, changes_from
from api.services.pagination import Listed, fetch_page
from domain.boundaries import parse_boundary
from domain.changes import ChangeKind, shows_differently, territory_change
from domain.defaults import MAX_POLICY_CHARS
from domain.errors import Code, Conflict, FieldError, ValidationFailed
from domain.model import (
    Scope,
    Territory,
    TerritoryType,
)
from domain.preconditions import Precondition
from domain.rules import find_parent_cycles


class TerritoryFields(Input):
    name: Name
    type: TerritoryType = TerritoryType.GEOGRAPHIC
    parent_id: UUID | None = None
    boundary: dict[str, Any] = Field(
        default_factory=dict, description="boundary rules (see the assignment engine)"
    )
    priority: Int32 = 0
    primary_rep_id: UUID | None = None
    backup_rep_id: UUID | None = Field(None, description="who covers the territory when its owner cannot")
    quota: Money | None = None
    weekly_pipeline_target: Money | None = Field(
        None, description="new pipeline, dollars, expected from the territory each week"
    )
    meeting_rate_target: Rate | None = Field(
        None,
        description="share of fully sequenced tier-1 accounts expected to book a meeting, 0-1",
    )
    quarterly_review_date: IsoDate | None = Field(
        None, description="the territory's next review; the tenant's review cadence when absent"
    )
    escalation_policy: str | None = Field(
        None,
        max_length=MAX_POLICY_CHARS,
        description="how overlap, segment changes and rep conflicts are handled, in words",
    )


class TerritoryCreate(TerritoryFields):
    plan_id: UUID


TerritoryUpdate = optional_model("TerritoryUpdate", TerritoryCreate, exclude={"plan_id"})


class TerritoryRead(TerritoryFields, Output):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: UUID
    plan_id: UUID
    created_at: datetime
    updated_at: datetime
    version: Version


class TerritoryPage(Page[TerritoryRead]):
    """A page of territories, in id order."""


async def _check_refs(
    uow: Any, plan_id: UUID, values: dict[str, Any], territory_id: UUID | None = None
) -> None:
    parent = await referenced(uow.territories, values.get("parent_id"), "parent_id", "territory")
    if parent is not None:
        if parent.plan_id != plan_id:
            raise ValidationFailed(
                "the parent territory belongs to another plan",
                [FieldError("parent_id", Code.OTHER_PLAN, "the parent must be in the same plan")],
            )
        if territory_id is not None:
            links = {
                t.id: t.parent_id for t in await uow.territories.list({"plan_id": plan_id}, None, 100_000)
            }
            links[territory_id] = parent.id
            if find_parent_cycles(links, [territory_id]):
                raise ValidationFailed(
                    "the parent link would form a cycle",
                    [
                        FieldError(
                            "parent_id", Code.PARENT_CYCLE, "the parent is a descendant of this territory"
                        )
                    ],
                    code=Code.PARENT_CYCLE,
                )
    for field in ("primary_rep_id", "backup_rep_id"):
        await referenced(uow.reps, values.get(field), field, "rep")
    if "boundary" in values:
        parse_boundary(values["boundary"])  # a bad rule is a 422 naming it


async def create_territory(ctx: AppContext, p: Principal, data: TerritoryCreate) -> Territory:
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        await referenced(uow.plans, data.plan_id, "plan_id", "plan")
        values = data.model_dump()
        await _check_refs(uow, data.plan_id, values)
        territory = await uow.territories.add(Territory(id=uuid.uuid4(), tenant_id=p.tenant_id, **values))
        uow.record(territory_change(territory.id, territory.plan_id, ctx.clock.now(), territory.name))
        await uow.commit()
        return territory


async def get_territory(ctx: AppContext, p: Principal, territory_id: UUID) -> Territory:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.territories.get(territory_id), "territory", territory_id)


async def update_territory(
    ctx: AppContext,
    p: Principal,
    territory_id: UUID,
    data: TerritoryUpdate,
    precondition: Precondition | None = None,
) -> Territory:
    p.require(Scope.WRITE)
    changes = changes_from(data, TerritoryCreate)
    async with ctx.uow(p.tenant_id) as uow:
        territory = found(await uow.territories.get(territory_id), "territory", territory_id)
        await check_version(uow, precondition, territory.version, "territory")
        await _check_refs(uow, territory.plan_id, changes, territory_id)
        updated = await uow.territories.update(territory_id, changes)
        if shows_differently(changes, ChangeKind.TERRITORY):
            uow.record(territory_change(updated.id, updated.plan_id, ctx.clock.now(), updated.name))
        await uow.commit()
        return updated


async def delete_territory(
    ctx: AppContext, p: Principal, territory_id: UUID, precondition: Precondition | None = None
) -> None:
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        territory = found(await uow.territories.get(territory_id), "territory", territory_id)
        await check_version(uow, precondition, territory.version, "territory")
        if await uow.assignments.count_current(territory_id=territory_id):
            raise Conflict(
                "the territory still holds assignments; move them first", code=Code.TERRITORY_NOT_EMPTY
            )
        await uow.territories.delete(territory_id, territory.version)
        await uow.commit()


async def list_territories(
    ctx: AppContext, p: Principal, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> Listed[Territory]:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return await fetch_page(uow.territories, filters, page_token, page_size)


async def get_many(ctx: AppContext, p: Principal, ids: list[UUID]) -> list[Territory | None]:
    """Territories by id, in the order asked (None for an id that names none): one query (GraphQL's
    batches)."""
    return await get_many_of(ctx, p, "territories", ids)
