"""Plan use cases: at most one active plan per tenant; activation switches ownership at once."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from api.services.common import found, referenced
from api.services.context import AppContext, Principal, changes_from
from api.services.pagination import fetch_page
from api.services.schemas import PlanCreate, PlanUpdate
from domain.errors import Conflict, FieldError, ValidationFailed
from domain.model import Plan, PlanState, Scope


def _active_exists() -> Conflict:
    return Conflict(
        "a tenant has at most one active plan; activate this plan instead",
        [FieldError("state", "active_plan_exists", "another plan is already active")],
        code="active_plan_exists",
    )


async def create_plan(ctx: AppContext, p: Principal, data: PlanCreate) -> Plan:
    p.require(Scope.WRITE)
    if data.state == PlanState.ARCHIVED:
        raise ValidationFailed(
            "a plan starts as draft or active", [FieldError("state", "invalid_choice", "draft or active")]
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
            await uow.bump_ownership_version()
        await uow.commit()
        return plan


async def get_plan(ctx: AppContext, p: Principal, plan_id: UUID) -> Plan:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.plans.get(plan_id), "plan", plan_id)


async def update_plan(ctx: AppContext, p: Principal, plan_id: UUID, data: PlanUpdate) -> Plan:
    p.require(Scope.WRITE)
    changes = changes_from(data, PlanCreate)
    async with ctx.uow(p.tenant_id) as uow:
        found(await uow.plans.get(plan_id), "plan", plan_id)
        plan = await uow.plans.update(plan_id, changes)
        await uow.commit()
        return plan


async def delete_plan(ctx: AppContext, p: Principal, plan_id: UUID) -> None:
    """Only a draft can be deleted; active and archived plans are history."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
        if plan.state != PlanState.DRAFT:
            raise Conflict(f"a {plan.state.value} plan cannot be deleted", code="plan_not_draft")
        await uow.plans.delete(plan_id)
        await uow.commit()


async def activate_plan(ctx: AppContext, p: Principal, plan_id: UUID) -> Plan:
    """In one transaction: archive the active plan, activate this one, and bump the ownership version."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        plan = found(await uow.plans.get(plan_id), "plan", plan_id)
        if plan.state == PlanState.ACTIVE:
            return plan
        if plan.state == PlanState.ARCHIVED:
            raise Conflict("an archived plan cannot be activated; copy it into a draft", code="plan_archived")
        now = ctx.clock.now()
        current = await uow.plans.active()
        if current is not None:
            await uow.plans.update(current.id, {"state": PlanState.ARCHIVED, "archived_at": now})
            await uow.session.flush()
        plan = await uow.plans.update(plan_id, {"state": PlanState.ACTIVE, "activated_at": now})
        await uow.bump_ownership_version()
        await uow.commit()
        return plan


async def list_plans(
    ctx: AppContext, p: Principal, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> dict:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return await fetch_page(uow.plans, filters, page_token, page_size)
