"""Tenants. Their API keys are in persistence/keys.py."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.tables import TenantRow, utcnow


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
