"""Ownership history: an account's owner changes, and the movement rate against the bands."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import call, output_type, page_of, page_type
from api.services import accounts
from api.services import history as service
from domain import model

OwnershipChange = output_type(service.OwnershipChangeRead, "OwnershipChange")
OwnershipHistoryPage = page_type(service.OwnershipHistoryPage, "OwnershipHistoryPage")
MovementType = output_type(service.MovementRead, "Movement")


@strawberry.type
class Query:
    @strawberry.field(description="Every change of an account's owner of record, newest first")
    async def ownership_history(
        self, info: Info, account_id: UUID, first: int | None = None, after: str | None = None
    ) -> OwnershipHistoryPage:  # type: ignore[valid-type]
        c = info.context
        page = await call(service.account_history(c.ctx, c.principal, account_id, first, after))
        return page_of(page, OwnershipHistoryPage)

    @strawberry.field(description="Every owner change of an account, by external id, newest first")
    async def ownership_timeline(
        self, info: Info, external_id: str, first: int | None = None, after: str | None = None
    ) -> OwnershipHistoryPage:  # type: ignore[valid-type]
        c = info.context
        account = await call(accounts.get_account_by_external_id(c.ctx, c.principal, external_id))
        page = await call(service.account_history(c.ctx, c.principal, account.id, first, after))
        return page_of(page, OwnershipHistoryPage)

    @strawberry.field(description="Accounts that changed owner in a window, against the bands")
    async def movement(
        self,
        info: Info,
        since: datetime | None = None,
        until: datetime | None = None,
        role: model.Role = model.Role.AE,
    ) -> MovementType:  # type: ignore[valid-type]
        c = info.context
        return await call(service.movement_report(c.ctx, c.principal, since, until, role.value))
