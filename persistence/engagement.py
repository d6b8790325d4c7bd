"""The versions of a tenant's rules of engagement: append-only, the highest in force."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from domain.errors import ConcurrentChange
from persistence.stores import Store
from persistence.tables import EngagementPolicyRow

POLICIES = EngagementPolicyRow.__table__


class EngagementStore(Store):
    """`uow.engagement`."""

    async def current(self) -> Any | None:
        """The policy in force (version, body, note, saved_at), or None while the tenant has saved none."""
        conn = await self.connection()
        stmt = (
            sa.select(POLICIES.c.version, POLICIES.c.body, POLICIES.c.note, POLICIES.c.saved_at)
            .where(POLICIES.c.tenant_id == self.tenant_id)
            .order_by(POLICIES.c.version.desc())
            .limit(1)
        )
        return (await conn.execute(stmt)).first()

    async def save(self, version: int, body: dict[str, Any], note: str | None, at: datetime) -> None:
        """Write `version`, the one after the version read (ConcurrentChange: another was saved since)."""
        conn = await self.connection()
        try:
            async with conn.begin_nested():
                await conn.execute(
                    sa.insert(POLICIES).values(
                        tenant_id=self.tenant_id, version=version, body=body, note=note, saved_at=at
                    )
                )
        except IntegrityError:
            raise ConcurrentChange.meanwhile("the engagement policy")

    async def versions(self, before: int | None, limit: int) -> list[Any]:
        """Saved versions, newest first, below `before` when given."""
        conn = await self.connection()
        stmt = sa.select(POLICIES.c.version, POLICIES.c.body, POLICIES.c.note, POLICIES.c.saved_at).where(
            POLICIES.c.tenant_id == self.tenant_id
        )
        if before is not None:
            stmt = stmt.where(POLICIES.c.version < before)
        return list((await conn.execute(stmt.order_by(POLICIES.c.version.desc()).limit(limit))).all())
