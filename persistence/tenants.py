"""Tenants and API keys: keys are stored as SHA-256 hashes and shown once."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.tables import ApiKeyRow, TenantRow, utcnow


@dataclass(frozen=True)
class KeyRecord:
    tenant_id: uuid.UUID
    scopes: frozenset[str]
    key_id: uuid.UUID
    ownership_version: int | None  # the tenant's change-log head; None when it could not be read


def hash_key(key: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is safe; no password hashing is needed.
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "te_" + secrets.token_urlsafe(32)


async def create_tenant(engine: AsyncEngine, name: str, settings: dict[str, Any] | None = None) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(TenantRow).values(
                id=tenant_id,
                name=name,
                settings=settings or {},
                settings_version=1,
                ownership_version=0,
                created_at=utcnow(),
            )
        )
    return tenant_id


async def find_tenant(engine: AsyncEngine, name: str) -> uuid.UUID | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(sa.select(TenantRow.id).where(TenantRow.name == name))
        ).scalar_one_or_none()


async def create_key(
    engine: AsyncEngine, tenant_id: uuid.UUID, scopes: list[str], name: str = "default"
) -> tuple[uuid.UUID, str]:
    key = new_key()
    key_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(ApiKeyRow).values(
                id=key_id,
                tenant_id=tenant_id,
                name=name,
                prefix=key[:10],
                key_hash=hash_key(key),
                scopes=",".join(sorted(scopes)),
                created_at=utcnow(),
            )
        )
    return key_id, key


async def key_is_live(engine: AsyncEngine, tenant_id: uuid.UUID, key: str) -> bool:
    """Whether `key` is an unrevoked key of the tenant (the demo reuses the key it printed before)."""
    async with engine.connect() as conn:
        found = await conn.execute(
            sa.select(ApiKeyRow.id).where(
                ApiKeyRow.tenant_id == tenant_id,
                ApiKeyRow.key_hash == hash_key(key),
                ApiKeyRow.revoked_at.is_(None),
            )
        )
        return found.first() is not None


async def revoke_key(engine: AsyncEngine, key_id: uuid.UUID) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(revoked_at=utcnow()))
