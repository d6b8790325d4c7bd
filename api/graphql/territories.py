"""Territories: one by id or a plan's list, with their accounts and primary rep; create, update."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.accounts import AccountConnection
from api.graphql.common import (
    Connection,
    call,
    connection,
    input_type,
    mutate,
    output_type,
    plan_or_active,
    result,
    update_mutation,
)
from api.graphql.reps import Rep
from api.services import territories as service
from domain import model
from domain.defaults import DEFAULT_PAGE_SIZE


async def _territory_accounts(
    root: Any, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
) -> AccountConnection:  # type: ignore[valid-type]
    key = (root.id, root.plan_id, None, first, after)
    return connection(await call(info.context.loaders.territory_accounts.load(key)))


async def _territory_owner(root: Any, info: Info) -> Rep | None:  # type: ignore[valid-type]
    if root.primary_rep_id is None:
        return None
    return await call(info.context.loaders.rep.load(root.primary_rep_id))


Territory = output_type(
    service.TerritoryRead,
    "Territory",
    model.Territory,
    {
        "accounts": strawberry.field(resolver=_territory_accounts),
        "owner": strawberry.field(resolver=_territory_owner, description="the primary rep"),
    },
)
TerritoryConnection = Connection[Territory]  # type: ignore[valid-type]
TerritoryCreateInput = input_type(service.TerritoryCreate, "TerritoryCreateInput")
TerritoryUpdateInput = input_type(service.TerritoryUpdate, "TerritoryUpdateInput")
TerritoryResult = result(Territory, "TerritoryResult")


@strawberry.type
class Query:
    @strawberry.field
    async def territory(self, info: Info, id: UUID) -> Territory:  # type: ignore[valid-type]
        return await call(service.get_territory(info.context.ctx, info.context.principal, id))

    @strawberry.field(description="Territories of a plan (default: the active plan)")
    async def territories(
        self,
        info: Info,
        plan_id: UUID | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> TerritoryConnection:  # type: ignore[valid-type]
        c = info.context
        plan = await plan_or_active(info, plan_id)
        page = await call(service.list_territories(c.ctx, c.principal, {"plan_id": plan}, after, first))
        return connection(page)


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_territory(self, info: Info, input: TerritoryCreateInput) -> TerritoryResult:  # type: ignore
        return await mutate(service.create_territory, service.TerritoryCreate)(info, input)

    update_territory = update_mutation(
        service.update_territory, service.TerritoryUpdate, TerritoryUpdateInput, TerritoryResult
    )
