"""The tenant's API keys (admin scope): list, one by id, create, revoke, rotate (the REST use cases). A
secret is in the result that makes the key only; those mutations take no idempotencyKey."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from api.graphql.common import Connection, call, connection, input_type, mutate, output_type, result
from api.services import keys as service
from domain.defaults import DEFAULT_PAGE_SIZE
from domain.keys import KeyStatus
from domain.model import Scope

strawberry.enum(Scope, name="KeyScope")
strawberry.enum(KeyStatus, name="KeyStatus")
ApiKey = output_type(service.KeyRead, "ApiKey")
ApiKeyConnection = Connection[ApiKey]  # type: ignore[valid-type]
ApiKeyResult = result(ApiKey, "ApiKeyResult")
ApiKeyCreated = output_type(service.KeyCreated, "ApiKeyCreated")
ApiKeyCreatedResult = result(ApiKeyCreated, "ApiKeyCreatedResult")
ApiKeyRotated = output_type(service.KeyRotated, "ApiKeyRotated")
ApiKeyRotatedResult = result(ApiKeyRotated, "ApiKeyRotatedResult")
ApiKeyCreateInput = input_type(service.KeyCreate, "ApiKeyCreateInput")
ApiKeyRotateInput = input_type(service.KeyRotate, "ApiKeyRotateInput")

# mutations whose result holds a secret: not kept for an idempotencyKey replay (api/graphql/idempotency.py)
SECRET_MUTATIONS = frozenset({"create_key", "rotate_key"})


@strawberry.type
class Query:
    @strawberry.field(description="The tenant's API keys, with their status and last use (never secrets)")
    async def keys(
        self, info: Info, first: int = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> ApiKeyConnection:  # type: ignore[valid-type]
        c = info.context
        return connection(await call(service.list_keys(c.ctx, c.principal, after, first)))

    @strawberry.field
    async def key(self, info: Info, id: UUID) -> ApiKey:  # type: ignore[valid-type]
        return await call(service.get_key(info.context.ctx, info.context.principal, id))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A new API key; its secret is in this result only")
    async def create_key(self, info: Info, input: ApiKeyCreateInput) -> ApiKeyCreatedResult:  # type: ignore
        return await mutate(service.create_key, service.KeyCreate)(info, input)

    @strawberry.mutation(description="Revoke a key now (not the tenant's last live admin key)")
    async def revoke_key(self, info: Info, id: UUID) -> ApiKeyResult:  # type: ignore[valid-type]
        return await mutate(service.revoke_key)(info, id)

    @strawberry.mutation(
        description="A new key with this key's name, scopes and lifetime; this one keeps working for "
        "overlapSeconds"
    )
    async def rotate_key(
        self,
        info: Info,
        id: UUID,
        input: ApiKeyRotateInput | None = None,  # type: ignore[valid-type]
    ) -> ApiKeyRotatedResult:  # type: ignore[valid-type]
        if input is None:
            return await mutate(service.rotate_key)(info, id)
        return await mutate(service.rotate_key, service.KeyRotate)(info, id, input)
