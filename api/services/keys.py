"""API key use cases: list, create, revoke and rotate a tenant's keys (admin scope; README, "Tenants and
keys"). A secret is answered once, when the key is made, and never stored: only its hash is.

Keys are read and written through persistence/keys.py on the engine, not the tenant's unit of work: the
same functions serve the CLI and the demo (which have no request, and `keys revoke KEY_ID` no tenant),
and a key change writes nothing to the tenant's change log."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import Field

from api.services.common import Input, IsoAwareDatetime, Name, Output, Page, found
from api.services.context import AppContext, Principal
from api.services.pagination import check_page_size, decode_token, page_of
from domain.defaults import (
    KEY_ROTATION_OVERLAP_SECONDS,
    MAX_KEY_EXPIRY_DAYS,
    MAX_KEY_ROTATION_OVERLAP_SECONDS,
)
from domain.errors import Code, FieldError, ValidationFailed
from domain.keys import ApiKey, KeyStatus, check_revocable, key_status, rotation_expiry, successor_expiry
from domain.model import Scope
from persistence import keys as stored


class KeyRead(Output):
    """An API key without its secret: what it may do, and when it was made, last used, ends or ended."""

    id: UUID
    name: str
    prefix: str = Field(description="the secret's first characters, to recognise it")
    scopes: list[Scope]
    status: KeyStatus = Field(
        description="active: no expiry; expiring: works until expires_at (a rotated key in its overlap); "
        "expired; revoked"
    )
    created_at: datetime
    expires_at: datetime | None = Field(description="the key is refused (401) from then on; null: never")
    last_used_at: datetime | None = Field(
        description="when the key was last accepted, to the minute (written at most once a minute); null: "
        "never used"
    )
    revoked_at: datetime | None
    rotated_from: UUID | None = Field(description="the key this one replaced in a rotation")


class KeyPage(Page[KeyRead]):
    """A page of the tenant's API keys, in id order."""


class KeyCreate(Input):
    name: Name
    scopes: list[Scope] = Field(min_length=1, max_length=3, description="read, write, admin")
    expires_at: IsoAwareDatetime | None = Field(
        None,
        description="when the key stops working (in the future, at most ten years ahead); null: never",
    )


class KeyCreated(KeyRead):
    """A new key with its secret: the only answer that holds it (send it as `Authorization: Bearer ...`)."""

    secret: str = Field(description="shown only here; only its hash is stored")


class KeyRotate(Input):
    overlap_seconds: int = Field(
        KEY_ROTATION_OVERLAP_SECONDS,
        ge=0,
        le=MAX_KEY_ROTATION_OVERLAP_SECONDS,
        description="how long the old key keeps working beside the new one (never past an expiry it had)",
    )


class KeyRotated(Output):
    """A rotation: the new key, with its secret, and the old key, which now expires."""

    key: KeyCreated
    rotated: KeyRead


def key_read(key: ApiKey, now: datetime) -> KeyRead:
    return KeyRead(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        scopes=sorted(Scope(s) for s in key.scopes),
        status=key_status(key.expires_at, key.revoked_at, now),
        created_at=key.created_at,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        rotated_from=key.rotated_from,
    )


def _created(key: ApiKey, secret: str, now: datetime) -> KeyCreated:
    return KeyCreated(**key_read(key, now).model_dump(), secret=secret)


async def list_keys(ctx: AppContext, p: Principal, page_token: str | None, page_size: int | None) -> KeyPage:
    p.require(Scope.ADMIN)
    size = check_page_size(page_size)
    rows = await stored.list_keys(ctx.engine, p.tenant_id, decode_token(page_token), size + 1)
    now = ctx.clock.now()
    page = page_of(rows, size)
    return KeyPage(items=[key_read(k, now) for k in page.items], next_page_token=page.next_page_token)


async def get_key(ctx: AppContext, p: Principal, key_id: UUID) -> KeyRead:
    p.require(Scope.ADMIN)
    key = found(await stored.get_key(ctx.engine, key_id, p.tenant_id), "key", key_id)
    return key_read(key, ctx.clock.now())


def _check_expiry(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        problem = "expires_at must be in the future"
    elif expires_at - now > timedelta(days=MAX_KEY_EXPIRY_DAYS):
        problem = f"expires_at must be at most {MAX_KEY_EXPIRY_DAYS} days ahead"
    else:
        return
    raise ValidationFailed("invalid fields", [FieldError("expires_at", Code.OUT_OF_RANGE, problem)])


async def create_key(ctx: AppContext, p: Principal, data: KeyCreate) -> KeyCreated:
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    if data.expires_at is not None:
        _check_expiry(data.expires_at, now)
    scopes = [s.value for s in data.scopes]
    key_id, secret = await stored.create_key(
        ctx.engine, p.tenant_id, scopes, data.name, data.expires_at, now, audit=True
    )
    key = found(await stored.get_key(ctx.engine, key_id, p.tenant_id), "key", key_id)
    return _created(key, secret, now)


async def revoke_key(ctx: AppContext, p: Principal, key_id: UUID) -> KeyRead:
    """Revoked now: the key's next request is a 401. The tenant's last live admin key is not revoked
    (domain.keys.check_revocable); revoking a revoked key answers it unchanged."""
    p.require(Scope.ADMIN)
    now = ctx.clock.now()
    key = await stored.revoke_key(
        ctx.engine, key_id, p.tenant_id, lambda k, keys: check_revocable(k, keys, now), now, audit=True
    )
    return key_read(found(key, "key", key_id), now)


async def rotate_key(
    ctx: AppContext, p: Principal, key_id: UUID, data: KeyRotate | None = None
) -> KeyRotated:
    """A new key with the old one's name, scopes and lifetime; the old one keeps working for the overlap,
    then expires (domain.keys.rotation_expiry, successor_expiry)."""
    p.require(Scope.ADMIN)
    overlap = (data or KeyRotate()).overlap_seconds
    now = ctx.clock.now()
    rotated = await stored.rotate_key(
        ctx.engine,
        key_id,
        lambda k: (rotation_expiry(k, now, overlap), successor_expiry(k, now, MAX_KEY_EXPIRY_DAYS)),
        p.tenant_id,
        now,
        audit=True,
    )
    old, new, secret = found(rotated, "key", key_id)
    return KeyRotated(key=_created(new, secret, now), rotated=key_read(old, now))
