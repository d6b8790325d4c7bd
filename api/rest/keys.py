"""The tenant's API keys under /v1/keys (admin scope): list, create, revoke, rotate. A secret is in the
answer that makes the key and nowhere else (README, "Tenants and keys")."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.rest.deps import AUTH_ERRORS, CtxDep, PrincipalDep, created, located, problem_responses
from api.services import keys as service
from api.services.keys import KeyCreate, KeyCreated, KeyPage, KeyRead, KeyRotate, KeyRotated
from domain.defaults import MAX_PAGE_SIZE

router = APIRouter(prefix="/v1", tags=["keys"])

# paths whose answer holds a secret: never kept for an Idempotency-Key replay (api/edge.py)
SECRET_PATHS = r"^/v1/keys(/[^/]+/rotate)?$"


def _secret(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


@router.get(
    "/keys",
    name="list_keys",
    response_model=KeyPage,
    summary="The tenant's API keys with their status and last use (never their secrets or hashes)",
    responses=problem_responses(400, 422, *AUTH_ERRORS),
)
async def list_keys(
    p: PrincipalDep,
    ctx: CtxDep,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
    page_size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
) -> KeyPage:
    return await service.list_keys(ctx, p, page_token, page_size)


@router.post(
    "/keys",
    name="create_key",
    status_code=201,
    response_model=KeyCreated,
    summary="A new API key of the tenant; its secret is in this answer only",
    description="Takes no Idempotency-Key: the answer holds the secret, which is never stored.",
    responses=problem_responses(422, *AUTH_ERRORS) | created(what="the key"),
)
async def create_key(body: KeyCreate, p: PrincipalDep, ctx: CtxDep, response: Response) -> KeyCreated:
    key = await service.create_key(ctx, p, body)
    _secret(response)
    return located(response, f"/v1/keys/{key.id}", key)


@router.get(
    "/keys/{key_id}",
    name="get_key",
    response_model=KeyRead,
    summary="One API key of the tenant",
    responses=problem_responses(404, 422, *AUTH_ERRORS),
)
async def get_key(key_id: UUID, p: PrincipalDep, ctx: CtxDep) -> KeyRead:
    return await service.get_key(ctx, p, key_id)


@router.post(
    "/keys/{key_id}/revoke",
    name="revoke_key",
    response_model=KeyRead,
    summary="Revoke a key now: its next request is refused (401)",
    description=(
        "The tenant's last live admin key is not revoked (409 last_admin_key): create another admin key "
        "first. A key may revoke itself. Revoking a revoked key answers it unchanged."
    ),
    responses=problem_responses(404, 409, 422, *AUTH_ERRORS),
)
async def revoke_key(key_id: UUID, p: PrincipalDep, ctx: CtxDep) -> KeyRead:
    return await service.revoke_key(ctx, p, key_id)


@router.post(
    "/keys/{key_id}/rotate",
    name="rotate_key",
    status_code=201,
    response_model=KeyRotated,
    summary="A new key with this key's name and scopes; this one keeps working for overlap_seconds",
    description=(
        "The old key's expires_at becomes now + overlap_seconds (never later than an expiry it had): "
        "deploy the new secret within the overlap. A key made to expire gives the new one the same "
        "lifetime from now. A revoked or expired key cannot be rotated (409 "
        "key_state). Takes no Idempotency-Key: the answer holds the new secret, which is never stored."
    ),
    responses=problem_responses(404, 409, 422, *AUTH_ERRORS) | created(what="the new key"),
)
async def rotate_key(
    key_id: UUID, p: PrincipalDep, ctx: CtxDep, response: Response, body: KeyRotate | None = None
) -> KeyRotated:
    rotated = await service.rotate_key(ctx, p, key_id, body)
    _secret(response)
    return located(response, f"/v1/keys/{rotated.key.id}", rotated)
