"""Assignment use cases: owners of record per account, role and plan, with full history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.common import (
    Input,
    Output,
    Page,
    Version,
    check_version,
    found,
    in_order,
    not_null,
    plan_or_active,
    referenced,
)
from api.services.context import AppContext, Principal, changes_from
from api.services.pagination import Listed, fetch_page
from domain.changes import Cause, owner_changes, owners_of
from domain.errors import Code, Conflict, FieldError, ValidationFailed
from domain.model import (
    Assignment,
    AssignmentReason,
    PlanState,
    Role,
    Scope,
)
from domain.ports import UnitOfWork
from domain.preconditions import Precondition


class AssignmentCreate(Input):
    plan_id: UUID
    account_id: UUID
    rep_id: UUID
    role: Role = Role.AE
    territory_id: UUID | None = None
    locked: bool = False
    reason: AssignmentReason = AssignmentReason.MANUAL
    note: str | None = Field(None, max_length=1000)


class AssignmentUpdate(Input):
    """An update ends the current assignment and starts a new one: history is never overwritten."""

    rep_id: UUID | None = not_null()
    territory_id: UUID | None = None
    locked: bool | None = not_null()
    reason: AssignmentReason | None = not_null()
    note: str | None = Field(None, max_length=1000)


class AssignmentRead(Output):
    id: UUID
    plan_id: UUID
    account_id: UUID
    rep_id: UUID
    role: Role
    territory_id: UUID | None
    locked: bool
    reason: AssignmentReason
    note: str | None
    valid_from: datetime
    valid_to: datetime | None
    version: Version


class AssignmentPage(Page[AssignmentRead]):
    """A page of assignments, in id order."""


class ListedAccount(BaseModel):
    account_id: UUID
    external_id: str
    name: str


class TiedTerritory(BaseModel):
    territory_id: UUID
    name: str
    priority: int


class ConflictAccount(ListedAccount):
    territories: list[TiedTerritory] = Field(description="the territories tied at the top priority")


class OwnerlessAccount(ListedAccount):
    territory_id: UUID
    territory_name: str = Field(
        description="the territory whose boundary matched: it has no primary rep, or its rep has left"
    )


class ListedAccounts(BaseModel):
    count: int
    accounts: list[ListedAccount] = Field(description="the first 1,000")


class ConflictAccounts(BaseModel):
    count: int
    accounts: list[ConflictAccount] = Field(description="the first 1,000")


class OwnerlessAccounts(BaseModel):
    count: int
    accounts: list[OwnerlessAccount] = Field(description="the first 1,000")


class AssignByRulesRead(BaseModel):
    plan_id: UUID
    role: Role
    accounts: int = Field(description="live accounts considered")
    assigned: int = Field(description="accounts that had no owner in the plan and got one")
    moved: int = Field(description="accounts whose owner or territory changed (the old assignment ended)")
    unchanged: int
    locked: int = Field(description="locked assignments left where they are")
    by_rule: dict[str, int] = Field(
        description="accounts given an owner (assigned, moved or unchanged) by the code of the policy's rule "
        "that decided: named_account, existing_relationship, territory_of_record, boundary, tiebreak... "
        "(each assignment's note says why, by name)"
    )
    unmatched: ListedAccounts = Field(
        description="accounts no boundary matches: they keep any owner, unless a rep with an existing "
        "relationship is given them"
    )
    conflicts: ConflictAccounts = Field(
        description="accounts matched by two territories of the same priority: the policy decided them "
        "(the rules, then its tiebreak), never leaving one without an owner"
    )
    territories_without_owner: OwnerlessAccounts = Field(
        description="accounts whose boundary gives them to a territory that has no primary rep (or one "
        "who left): they keep the owner they have"
    )


def _owner_exists(role: str) -> Conflict:
    return Conflict(
        "the account already has an owner of record for this role in this plan",
        [FieldError("role", Code.OWNER_EXISTS, f"an owner for role {role} already exists")],
        code=Code.OWNER_EXISTS,
    )


def _record_owner_change(
    uow: UnitOfWork, plan: Any, now: Any, before: Assignment | None = None, after: Assignment | None = None
) -> None:
    """Only the active plan answers lookups, so only its changes enter the change log (through the one
    rule, domain.changes.owner_changes, that plan activation uses too)."""
    if plan.state != PlanState.ACTIVE:
        return
    uow.record(
        *owner_changes(
            owners_of([before] if before else []),
            owners_of([after] if after else []),
            plan.id,
            now,
            dropped_cause=Cause.MANUAL.value,
            dropped_reason="assignment ended",
        )
    )


async def _check_territory(uow: UnitOfWork, territory_id: UUID | None, plan_id: UUID) -> None:
    territory = await referenced(uow.territories, territory_id, "territory_id", "territory")
    if territory is not None and territory.plan_id != plan_id:
        raise ValidationFailed(
            "the territory belongs to another plan",
            [FieldError("territory_id", Code.OTHER_PLAN, "the territory must be in the assignment's plan")],
        )


async def create_assignment(ctx: AppContext, p: Principal, data: AssignmentCreate) -> Assignment:
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        plan = await referenced(uow.plans, data.plan_id, "plan_id", "plan")
        await referenced(uow.accounts, data.account_id, "account_id", "account")
        await referenced(uow.reps, data.rep_id, "rep_id", "rep")
        await _check_territory(uow, data.territory_id, data.plan_id)
        if plan.state == PlanState.ARCHIVED:
            raise Conflict("an archived plan cannot change", code=Code.PLAN_ARCHIVED)
        if await uow.assignments.current_owner(data.plan_id, data.account_id, data.role) is not None:
            raise _owner_exists(data.role)
        now = ctx.clock.now()
        assignment = await uow.assignments.add(
            Assignment(id=uuid.uuid4(), tenant_id=p.tenant_id, valid_from=now, **data.model_dump())
        )
        _record_owner_change(uow, plan, now, after=assignment)
        await uow.commit()
        return assignment


async def get_assignment(ctx: AppContext, p: Principal, assignment_id: UUID) -> Assignment:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.assignments.get(assignment_id), "assignment", assignment_id)


async def update_assignment(
    ctx: AppContext,
    p: Principal,
    assignment_id: UUID,
    data: AssignmentUpdate,
    precondition: Precondition | None = None,
) -> Assignment:
    """Ends the current assignment and starts its successor; the answer is the successor."""
    p.require(Scope.WRITE)
    changes = changes_from(data, AssignmentCreate)
    async with ctx.uow(p.tenant_id) as uow:
        current = found(await uow.assignments.get(assignment_id), "assignment", assignment_id)
        await check_version(uow, precondition, current.version, "assignment")
        if current.valid_to is not None:
            raise Conflict("this assignment has ended; change the current one", code=Code.ASSIGNMENT_ENDED)
        plan = await uow.plans.get(current.plan_id)
        if plan.state == PlanState.ARCHIVED:
            raise Conflict("an archived plan cannot change", code=Code.PLAN_ARCHIVED)
        await referenced(uow.reps, changes.get("rep_id"), "rep_id", "rep")
        if "territory_id" in changes:
            await _check_territory(uow, changes["territory_id"], current.plan_id)
        now = ctx.clock.now()
        await uow.assignments.update(assignment_id, {"valid_to": now})  # flushed: the successor may start
        successor = Assignment(
            **{
                **current.__dict__,
                **changes,
                "id": uuid.uuid4(),
                "valid_from": now,
                "valid_to": None,
                "version": 1,
            }
        )
        if "reason" not in changes:
            successor.reason = current.reason
        successor = await uow.assignments.add(successor)
        _record_owner_change(uow, plan, now, current, successor)
        await uow.commit()
        return successor


async def end_assignment(
    ctx: AppContext, p: Principal, assignment_id: UUID, precondition: Precondition | None = None
) -> None:
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        current = found(await uow.assignments.get(assignment_id), "assignment", assignment_id)
        await check_version(uow, precondition, current.version, "assignment")
        if current.valid_to is None:
            now = ctx.clock.now()
            await uow.assignments.update(assignment_id, {"valid_to": now})
            _record_owner_change(uow, await uow.plans.get(current.plan_id), now, before=current)
            await uow.commit()


async def list_assignments(
    ctx: AppContext, p: Principal, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> Listed[Assignment]:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        if filters.get("account_id") is None:
            filters = {**filters, "plan_id": await plan_or_active(uow, filters.get("plan_id"))}
        return await fetch_page(uow.assignments, filters, page_token, page_size)


async def current_owners(
    ctx: AppContext, p: Principal, keys: list[tuple[UUID, UUID, str]]
) -> list[Assignment | None]:
    """For each key (plan, account, role): the account's current assignment for the role in the plan, or
    None; in the order asked, one query for them all (GraphQL's batches)."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        found = await uow.assignments.current_of({k[0] for k in keys}, {k[1] for k in keys})
    return in_order(found, keys, lambda a: (a.plan_id, a.account_id, str(a.role)))
