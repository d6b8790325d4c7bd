"""Reps: one by id with the accounts it owns; create, update."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.accounts import AccountConnection
from api.graphql.common import (
    call,
    connection,
    input_type,
    mutate,
    output_type,
    plan_or_active,
    result,
    update_mutation,
)
from api.services import reps as service
from domain import model
from domain.defaults import DEFAULT_PAGE_SIZE


async def _rep_accounts(
    root: Any,
    info: Info,
    role: model.Role | None = None,
    plan_id: UUID | None = None,
    first: int = DEFAULT_PAGE_SIZE,
    after: str | None = None,
) -> AccountConnection:  # type: ignore[valid-type]
    plan = await plan_or_active(info, plan_id)
    key = (root.id, plan, role.value if role else None, first, after)
    return connection(await call(info.context.loaders.rep_accounts.load(key)))


Rep = output_type(service.RepRead, "Rep", model.Rep, {"accounts": strawberry.field(resolver=_rep_accounts)})
RepCreateInput = input_type(service.RepCreate, "RepCreateInput")
RepUpdateInput = input_type(service.RepUpdate, "RepUpdateInput")
RepResult = result(Rep, "RepResult")


@strawberry.type
class Query:
    @strawberry.field
    async def rep(self, info: Info, id: UUID) -> Rep:  # type: ignore[valid-type]
        return await call(service.get_rep(info.context.ctx, info.context.principal, id))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_rep(self, info: Info, input: RepCreateInput) -> RepResult:  # type: ignore
        return await mutate(service.create_rep, service.RepCreate)(info, input)

    update_rep = update_mutation(service.update_rep, service.RepUpdate, RepUpdateInput, RepResult)
