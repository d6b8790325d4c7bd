"""Account use cases."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import ConfigDict, Field

from api.services.common import (
    NIL,
    ExternalId,
    Input,
    Money,
    Name,
    Output,
    Page,
    Signal,
    Version,
    check_version,
    duplicate_external_id,
    found,
    get_many_of,
    optional_model,
    plan_or_active,
    referenced,
)
from api.services.context import AppContext, Principal, changes_from, tenant_settings
from api.services.engagement import current_policy
from api.services.pagination import Listed, fetch_page, fetch_pages
from api.services.segment_changes import segments_of_record
from domain.changes import ChangeKind, account_change, owner_changes, owners_of, shows_differently
from domain.defaults import INT32, MAX_WHITESPACE_UNITS
from domain.engagement import OpenDeal, deals_in_flight
from domain.model import (
    Account,
    ChurnRisk,
    Role,
    Scope,
    Segment,
    Stage,
    departed,
)
from domain.preconditions import Precondition
from domain.rules import check_parent_change, segment_for


class AccountFields(Input):
    name: Name
    parent_id: UUID | None = None
    industry: str | None = Field(None, max_length=255)
    country: str | None = Field(None, max_length=64)
    region: str | None = Field(None, max_length=64)
    postal_code: str | None = Field(None, max_length=32)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    employees: int | None = Field(None, ge=0, le=INT32)
    annual_revenue: Money | None = Field(None, description="company annual revenue, dollars")
    current_arr: Money = 0.0
    expansion_estimate: Money | None = Field(
        None, description="whitespace dollars; when null, derived from the growth signals for potential"
    )
    whitespace_units: int | None = Field(
        None,
        ge=0,
        le=MAX_WHITESPACE_UNITS,
        description="business units or departments not yet using the product (whitespace)",
    )
    growth_rate: float | None = Field(None, ge=-1, le=100, description="0.4 = 40% a year")
    strategic: bool = False
    churn_risk: ChurnRisk | None = None
    stage: Stage = Stage.COLD
    intent: Signal | None = None
    engagement: Signal | None = None
    relationship: Signal | None = None
    competitive: Signal | None = None
    tags: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=100)


class AccountCreate(AccountFields):
    external_id: ExternalId


AccountUpdate = optional_model("AccountUpdate", AccountCreate)


class AccountRead(AccountFields, Output):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: UUID
    external_id: str
    segment: Segment | None = Field(
        None,
        description=(
            "the segment of record, derived from revenue or employees; a change waits for the next review "
            "(GET /v1/segment-changes) while the engagement policy says segment_change_at_review"
        ),
    )
    created_at: datetime
    updated_at: datetime
    version: Version


class AccountPage(Page[AccountRead]):
    """A page of accounts, in id order."""


class OpenDealRead(Output):
    opportunity_id: UUID
    external_id: str
    amount: float
    stage: str | None
    rep_id: UUID | None = Field(
        description="the opportunity's own rep: a move of the account never changes it"
    )
    rep_name: str | None
    works_it_rep_id: UUID | None = Field(
        description="who works the deal: its rep while the policy keeps deals in flight, else the owner"
    )
    works_it_name: str | None
    note: str | None = Field(description="in words, when the deal's rep is not the account's owner")


class AccountPipelineRead(Output):
    """An account's owner of record (AE, active plan) with its open pipeline (docs/domain.md, "Rules of
    engagement", Deals in flight)."""

    account_id: UUID
    owner_rep_id: UUID | None
    owner_name: str | None
    in_flight_deals_stay: bool = Field(description="the engagement policy: deals in flight keep their rep")
    open_amount: float
    deals: list[OpenDealRead]


async def create_account(ctx: AppContext, p: Principal, data: AccountCreate) -> Account:
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        if await uow.accounts.get_any_by_external_id(data.external_id) is not None:
            raise duplicate_external_id("account", data.external_id)
        await referenced(uow.accounts, data.parent_id, "parent_id", "account")
        settings = await tenant_settings(uow)
        values = data.model_dump()
        values["segment"] = segment_for(data.annual_revenue, data.employees, settings.segments)
        account = await uow.accounts.add(Account(id=uuid.uuid4(), tenant_id=p.tenant_id, **values))
        at = ctx.clock.now()
        uow.record(
            account_change(account.id, at, account.external_id, account.name, False, account.parent_id)
        )
        await uow.commit()
        return account


async def get_account(ctx: AppContext, p: Principal, account_id: UUID) -> Account:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.accounts.get(account_id), "account", account_id)


async def get_account_by_external_id(ctx: AppContext, p: Principal, external_id: str) -> Account:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        return found(await uow.accounts.get_by_external_id(external_id), "account", external_id)


async def update_account(
    ctx: AppContext,
    p: Principal,
    account_id: UUID,
    data: AccountUpdate,
    precondition: Precondition | None = None,
) -> Account:
    p.require(Scope.WRITE)
    changes = changes_from(data, AccountCreate)
    async with ctx.uow(p.tenant_id) as uow:
        account = found(await uow.accounts.get(account_id), "account", account_id)
        await check_version(uow, precondition, account.version, "account")
        if "parent_id" in changes:
            await referenced(uow.accounts, changes["parent_id"], "parent_id", "account")
            new_parent = changes["parent_id"]
            chain = await uow.accounts.ancestor_links(new_parent) if new_parent else {}
            check_parent_change(account.id, new_parent, chain)
        new_ext = changes.get("external_id")
        if new_ext not in (None, account.external_id) and await uow.accounts.get_any_by_external_id(new_ext):
            raise duplicate_external_id("account", new_ext)
        if {"annual_revenue", "employees"} & changes.keys():
            settings = await tenant_settings(uow)
            derived = segment_for(
                changes.get("annual_revenue", account.annual_revenue),
                changes.get("employees", account.employees),
                settings.segments,
            )
            kept = await segments_of_record(
                uow, [(account.id, account.segment, derived)], ctx.clock.now(), settings
            )
            changes["segment"] = kept[account.id]
        updated = await uow.accounts.update(account_id, changes)
        if shows_differently(changes, ChangeKind.ACCOUNT):
            at = ctx.clock.now()
            uow.record(
                account_change(account.id, at, updated.external_id, updated.name, False, updated.parent_id)
            )
        await uow.commit()
        return updated


async def delete_account(
    ctx: AppContext, p: Principal, account_id: UUID, precondition: Precondition | None = None
) -> None:
    """Soft delete: the account leaves lists and lookups, its ownership history stays."""
    p.require(Scope.WRITE)
    async with ctx.uow(p.tenant_id) as uow:
        account = found(await uow.accounts.get(account_id), "account", account_id)
        await check_version(uow, precondition, account.version, "account")
        now = ctx.clock.now()
        active = await uow.plans.active()
        owners = await uow.history.plan_owners(active.id, account_id) if active else []
        await uow.accounts.update(account_id, {"deleted_at": now})
        await uow.assignments.close_current(now, account_id=account_id)
        await uow.segment_changes.cancel_for(account_id)  # nothing left to reassign at the review
        uow.record(account_change(account_id, now, account.external_id, account.name, deleted=True))
        if active is not None:
            uow.record(
                *owner_changes(owners_of(owners), {}, active.id, now, "manual", "the account was removed")
            )
        await uow.commit()


async def list_accounts(
    ctx: AppContext, p: Principal, filters: dict[str, Any], page_token: str | None, page_size: int | None
) -> Listed[Account]:
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        owned = any(filters.get(k) is not None for k in ("territory_id", "owner_id", "role"))
        if owned:
            filters = {**filters, "plan_id": await plan_or_active(uow, filters.get("plan_id")) or NIL}
        return await fetch_page(uow.accounts, filters, page_token, page_size)


async def get_many(ctx: AppContext, p: Principal, ids: list[UUID]) -> list[Account | None]:
    """Accounts by id, in the order asked (None for an id that names none): one query (GraphQL's batches)."""
    return await get_many_of(ctx, p, "accounts", ids)


async def open_pipelines(ctx: AppContext, p: Principal, account_ids: list[UUID]) -> list[AccountPipelineRead]:
    """For each account, in the order asked, its AE owner in the active plan and its open opportunities,
    each with who works it: a few queries for them all (GraphQL's batches)."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:
        policy, _ = await current_policy(uow)
        plan = await uow.plans.active()
        owners = {
            a.account_id: a.rep_id
            for a in (await uow.assignments.current_of([plan.id], account_ids) if plan else [])
            if a.role == Role.AE
        }
        deals: dict[UUID, list[Any]] = {a: [] for a in account_ids}
        for o in await uow.accounts.open_opportunities(account_ids):
            deals[o.account_id].append(o)
        rep_ids = {*owners.values(), *(o.rep_id for ds in deals.values() for o in ds)} - {None}
        reps = await uow.reps.get_many(list(rep_ids))
    names = {r.id: r.name for r in reps}
    left = {r.id for r in reps if departed(r.end_date, ctx.clock.now().date())}
    out = []
    for account_id in account_ids:
        owner, opps = owners.get(account_id), deals[account_id]
        shown = deals_in_flight([OpenDeal(o.id, o.rep_id) for o in opps], owner, policy, names, left)
        out.append(
            AccountPipelineRead(
                account_id=account_id,
                owner_rep_id=owner,
                owner_name=names.get(owner),
                in_flight_deals_stay=policy.in_flight_deals_stay,
                open_amount=sum(o.amount for o in opps),
                deals=[
                    OpenDealRead(
                        opportunity_id=o.id,
                        external_id=o.external_id,
                        amount=o.amount,
                        stage=o.stage,
                        rep_id=o.rep_id,
                        rep_name=names.get(o.rep_id),
                        works_it_rep_id=d.works_it,
                        works_it_name=names.get(d.works_it),
                        note=d.note,
                    )
                    for o, d in zip(opps, shown, strict=True)
                ],
            )
        )
    return out


async def get_open_pipeline(ctx: AppContext, p: Principal, account_id: UUID) -> AccountPipelineRead:
    await get_account(ctx, p, account_id)  # 404 for an account that is not the tenant's
    return (await open_pipelines(ctx, p, [account_id]))[0]


async def owned_pages(
    ctx: AppContext, p: Principal, by: str, keys: list[tuple[UUID, UUID, str | None, int | None, str | None]]
) -> list[Listed[Account]]:
    """For each key (owner, plan, role or None, page size, page token): that page of the accounts the rep
    (`by` "rep_id") or territory (`by` "territory_id") owns in the plan, in id order, as list_accounts
    pages. One query for all the keys that share plan, role and page."""
    p.require(Scope.READ)
    async with ctx.uow(p.tenant_id) as uow:

        async def read(owners: list[UUID], plan_id: UUID, role: str | None, after: Any, limit: int) -> Any:
            return await uow.accounts.owned_by(by, owners, plan_id, role, after, limit)

        return await fetch_pages(keys, read)
