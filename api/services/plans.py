"""Plan use cases: at most one active plan per tenant; activation switches ownership at once."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from api.services.common import (
    Input,
    Name,
    Output,
    Page,
    Version,
    check_version,
    found,
    not_null,
    plan_or_active,
    referenced,
)
from api.services.context import AppContext, Principal, changes_from
from api.services.pagination import Listed, fetch_page
from domain.changes import Change, ChangeKind, owner_changes, owners_of
from domain.errors import Code, Conflict, FieldError, ValidationFailed
from domain.model import Plan, PlanState, Scope
from domain.preconditions import Precondition


class PlanCreate(Input):
    name: Name
    state: PlanState = Field(PlanState.DRAFT, description="draft or active; a second active plan is refused")
    source_plan_id: UUID | None = None


class PlanUpdate(Input):
    name: Name | None = not_null()


class PlanRead(Output):
    id: UUID
    name: str
    state: PlanState
    source_plan_id: UUID | None
    activated_at: datetime | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: Version


class PlanPage(Page[PlanRead]):
    """A page of plans, in id order."""


class PlanCopy(Input):
    name: str | None = Field(None, min_length=1, max_length=200, description="default: 'Copy of <name>'")


def _active_exists() -> Conflict:
    return Conflict(
        "a tenant has at most one active plan; activate this plan instead",
        [FieldError("state", Code.ACTIVE_PLAN_EXISTS, "another plan is already active")],
        code=Code.ACTIVE_PLAN_EXISTS,
    )


async def create_plan(ctx: AppContext, p: Principal, data: PlanCreate) -> Plan:
    p.require(Scope.WRITE)
    if data.state == PlanState.ARCHIVED:
        raise ValidationFailed(
            "a plan starts as draft or active", [FieldError("state", Code.INVALID_CHOICE, "draft or active")]
        )
    async with ctx.uow(p.tenant_id) as uow:
        await referenced(uow.plans, data.source_plan_id, "source_plan_id", "plan")
        now = ctx.clock.now()
        if data.state == PlanState.ACTIVE and await uow.plans.active() is not None:
            raise _active_exists()
        plan = await uow.plans.add(
            Plan(
                id=uuid.uuid4(),
                tenant_id=p.tenant_id,
                name=data.name,
                state=data.state,
                source_plan_id=data.source_plan_id,
                activated_at=now if data.state == PlanState.ACTIVE else None,
            )
        )
        if plan.state == PlanState.ACTIVE:
            uow.record(_activated(plan, now))
        await uow.commit()
        return plan


def _activated(plan: Plan, now: Any) -> Change:
    return Change(
        ChangeKind.PLAN, plan.id, now, plan_id=plan.id, cause="activation", data={"name": plan.name}
    )


async def get_plan(ctx: AppContext, p: Principal, plan_id: UUID) -> Plan:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.plans.get(plan_id), "plan", plan_id)


async def update_plan(
    ctx: AppContext, p: Principal, plan_id: UUID, data: PlanUpdate, precondition: Precondition | None = None
) -> Plan:
    p.require(Scope.WRITE)
    changes = changes_from(data, PlanCreate)
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
        await check_version(uow, precondition, plan.version, "plan")
        plan = await uow.plans.update(plan_id, changes)
        await uow.commit()
        return plan


async def delete_plan(
    ctx: AppContext, p: Principal, plan_id: UUID, precondition: Precondition | None = None
) -> None:
    """Only a draft can be deleted; active and archived plans are history."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
        await check_version(uow, precondition, plan.version, "plan")
        if plan.state != PlanState.DRAFT:
            raise Conflict(f"a {plan.state.value} plan cannot be deleted", code=Code.PLAN_NOT_DRAFT)
        await uow.plans.delete(plan_id, plan.version)
        await uow.commit()


async def activate_plan(ctx: AppContext, p: Principal, plan_id: UUID) -> Plan:
    """In one transaction: archive the active plan, activate this one, and log the switch and every owner
    it changes (the same rule a direct assignment edit goes through)."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
        if plan.state == PlanState.ACTIVE:
            return plan
        if plan.state == PlanState.ARCHIVED:
            raise Conflict(
                "an archived plan cannot be activated; copy it into a draft", code=Code.PLAN_ARCHIVED
            )
        now = ctx.clock.now()
        current = await uow.plans.active()
        if current is not None:
            # flushed by update, before this plan becomes the active one (one active plan per tenant)
            await uow.plans.update(current.id, {"state": PlanState.ARCHIVED, "archived_at": now})
        plan = await uow.plans.update(plan_id, {"state": PlanState.ACTIVE, "activated_at": now})
        before = await uow.history.plan_owners(current.id) if current else []
        after = await uow.history.plan_owners(plan_id)
        uow.record(_activated(plan, now), *owner_changes(owners_of(before), owners_of(after), plan_id, now))
        await uow.commit()
        return plan


async def list_plans(
    ctx: AppContext, p: Principal, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> Listed[Plan]:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return await fetch_page(uow.plans, filters, page_token, page_size)


async def copy_plan(ctx: AppContext, p: Principal, plan_id: UUID, name: str | None = None) -> Plan:
    """A draft copy of a plan (docs/domain.md, "Equity"): its territories and current assignments, to change
    and compare before activating. History is not copied; the copy starts now."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        source = found(await uow.plans.get(plan_id), "plan", plan_id)
    now = ctx.clock.now()
    new_id = uuid.uuid4()
    async with ctx.uow(p.tenant_id) as uow:
        await uow.assigning.add_plan(
            {
                "id": new_id,
                "tenant_id": p.tenant_id,
                "name": name or f"Copy of {source.name}",
                "state": PlanState.DRAFT.value,
                "source_plan_id": source.id,
                "created_at": now,
                "updated_at": now,
            },
        )
        territories = await uow.assigning.territory_rows(plan_id)
        ids = {t["id"]: uuid.uuid4() for t in territories}
        copies = []
        for t in territories:
            copies.append(
                t
                | {
                    "id": ids[t["id"]],
                    "plan_id": new_id,
                    "parent_id": ids.get(t["parent_id"]),
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
        # parents first, for the foreign key
        depth = {t["id"]: 0 for t in copies}
        parents = {t["id"]: t["parent_id"] for t in copies}
        for t in copies:
            node, d = t["parent_id"], 0
            while node is not None:
                d += 1
                node = parents.get(node)
            depth[t["id"]] = d
        await uow.assigning.add_territories(sorted(copies, key=lambda t: depth[t["id"]]))
        async for chunk in uow.assigning.current_assignments(plan_id, 10_000):
            await uow.assigning.add_assignments(
                [
                    a
                    | {
                        "id": uuid.uuid4(),
                        "plan_id": new_id,
                        "territory_id": ids.get(a["territory_id"]),
                        "valid_from": now,
                    }
                    for a in chunk
                ],
            )
        await uow.commit()
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.plans.get(new_id), "plan", new_id)


async def active_plan_id(ctx: AppContext, p: Principal) -> UUID | None:
    """The id of the tenant's active plan, None when there is none."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return await plan_or_active(uow, None)
