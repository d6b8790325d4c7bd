"""Ownership history of an account, and the movement rate of the tenant (docs/domain.md, "Movement")."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.services.common import CauseValue, Page, found
from api.services.context import AppContext, Principal, versioned_settings
from api.services.pagination import check_page_size, decode_cursor, encode_cursor
from domain.errors import Code, FieldError, ValidationFailed
from domain.history import movement
from domain.model import Role, Scope


class OwnershipChangeRead(BaseModel):
    seq: int = Field(
        description="the change's position in the tenant's change log (gap-free, in commit order)"
    )
    account_id: UUID
    role: Role
    plan_id: UUID | None = Field(description="the plan that was active after the change")
    from_rep_id: UUID | None
    to_rep_id: UUID | None
    from_territory_id: UUID | None
    to_territory_id: UUID | None
    cause: CauseValue = Field(
        description="rule, manual, rebalance, departure, arrival, import, dispute, or activation (an owner "
        "the activated plan drops)"
    )
    reason: str | None = Field(description="the reason text: the rule, the move's reason, the note")
    valid_from: datetime = Field(description="when the change takes effect")
    recorded_at: datetime
    actor: str | None = Field(description="the API key's id, or 'cli'")
    request_id: str | None


class OwnershipHistoryPage(Page[OwnershipChangeRead]):
    """A page of ownership changes, newest first."""


class MovementRead(BaseModel):
    since: datetime
    until: datetime
    role: Role
    settings_version: int
    moved: int = Field(description="accounts whose owner changed at least once in the window")
    accounts: int
    rate: float | None
    per_quarter: float | None = Field(description="the rate scaled to a quarter")
    per_year: float | None = Field(description="the rate scaled to a year")
    status: Literal["churn", "static", "steady", "n/a"] = Field(
        description="churn (> 15% a quarter), static (< 5% a year), steady, n/a"
    )
    message: str


async def account_history(
    ctx: AppContext, p: Principal, account_id: UUID, page_size: int | None, page_token: str | None
) -> OwnershipHistoryPage:
    """Every change of the account's owner of record, newest first, each with its reason."""
    p.require(Scope.READ)
    size = check_page_size(page_size)
    before = decode_cursor(page_token, lambda data: int(data["seq"]))
    async with ctx.uow(p.tenant_id) as uow:
        found(await uow.accounts.get(account_id), "account", account_id)
        rows = await uow.history.account_history(account_id, before, size + 1)
    items = [r | {"account_id": r["subject_id"]} for r in rows[:size]]
    return OwnershipHistoryPage.model_validate(
        {
            "items": items,
            "next_page_token": encode_cursor(seq=str(rows[size - 1]["seq"])) if len(rows) > size else None,
        }
    )


async def movement_report(
    ctx: AppContext, p: Principal, since: datetime | None, until: datetime | None, role: str = "AE"
) -> MovementRead:
    """Accounts whose owner changed in the window (default: the last 91 days), against the bands."""
    p.require(Scope.READ)
    until = until or ctx.clock.now()
    since = since or until - timedelta(days=91.25)
    if since >= until:
        raise ValidationFailed(
            "empty window", [FieldError("since", Code.BAD_RANGE, "since must be before until")]
        )
    async with ctx.uow(p.tenant_id) as uow:
        settings, version = await versioned_settings(uow)
        moved = await uow.history.moved_accounts(since, until, role)
        accounts = await uow.history.live_accounts()
    days = (until - since).total_seconds() / 86_400
    result = movement(moved, accounts, days, settings)
    return MovementRead.model_validate(
        {"since": since, "until": until, "role": role, "settings_version": version}
        | dataclasses.asdict(result)
    )
