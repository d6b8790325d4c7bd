"""Accounts: one by id or external id with its owner, parent and score; the filtered list; create, update."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import (
    Connection,
    call,
    connection,
    input_type,
    mutate,
    output_type,
    refuse,
    result,
    update_mutation,
)
from api.graphql.ownership import account_owner
from api.graphql.scoring import account_score
from api.services import accounts as service
from domain import model
from domain.defaults import DEFAULT_PAGE_SIZE


async def _account_parent(root: Any, info: Info) -> Account | None:  # type: ignore[valid-type]
    return None if root.parent_id is None else await call(info.context.loaders.account.load(root.parent_id))


OpenDeal = output_type(service.OpenDealRead, "OpenDeal")
AccountPipeline = output_type(service.AccountPipelineRead, "AccountPipeline")


async def _account_open_pipeline(root: Any, info: Info) -> AccountPipeline:  # type: ignore[valid-type]
    return await call(info.context.loaders.pipeline.load(root.id))


Account = output_type(
    service.AccountRead,
    "Account",
    model.Account,
    {
        "owner": strawberry.field(
            resolver=account_owner, description="owner of record for the role (active plan)"
        ),
        "parent": strawberry.field(resolver=_account_parent),
        "open_pipeline": strawberry.field(
            resolver=_account_open_pipeline,
            description="the owner of record (AE, active plan), the open opportunities, who works each",
        ),
        "score": strawberry.field(
            resolver=account_score, description="the last scoring run's result, explained"
        ),
    },
)
AccountConnection = Connection[Account]  # type: ignore[valid-type]
AccountCreateInput = input_type(service.AccountCreate, "AccountCreateInput")
AccountUpdateInput = input_type(service.AccountUpdate, "AccountUpdateInput")
AccountResult = result(Account, "AccountResult")


@strawberry.input
class AccountFilter:
    plan_id: UUID | None = None
    territory_id: UUID | None = None
    owner_id: UUID | None = None
    role: model.Role | None = None
    segment: model.Segment | None = None
    stage: model.Stage | None = None
    parent_id: UUID | None = None
    external_id: str | None = None


@strawberry.type
class Query:
    @strawberry.field(description="One account by id or by external (CRM) id")
    async def account(
        self, info: Info, id: UUID | None = None, external_id: str | None = None
    ) -> Account | None:  # type: ignore[valid-type]
        c = info.context
        if id is not None:
            return await call(service.get_account(c.ctx, c.principal, id))
        if external_id is not None:
            return await call(service.get_account_by_external_id(c.ctx, c.principal, external_id))
        raise refuse("give id or externalId")

    @strawberry.field
    async def accounts(
        self,
        info: Info,
        filter: AccountFilter | None = None,
        first: int = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> AccountConnection:  # type: ignore[valid-type]
        c = info.context
        filters = vars(filter) if filter else {}
        return connection(await call(service.list_accounts(c.ctx, c.principal, dict(filters), after, first)))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_account(self, info: Info, input: AccountCreateInput) -> AccountResult:  # type: ignore
        return await mutate(service.create_account, service.AccountCreate)(info, input)

    update_account = update_mutation(
        service.update_account, service.AccountUpdate, AccountUpdateInput, AccountResult
    )
