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
SAVED = (POLICIES.c.version, POLICIES.c.body, POLICIES.c.note, POLICIES.c.saved_at)


class EngagementStore(Store):
    """`uow.engagement`."""

    async def current(self) -> Any | None:
        """The policy in force (version, body, note, saved_at), or None while the tenant has saved none."""
        conn = await self.connection()
        stmt = (
            sa.select(*SAVED)
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

    async def version(self, version: int) -> Any | None:
        """One saved version (version, body, note, saved_at), or None."""
        conn = await self.connection()
        stmt = sa.select(*SAVED).where(POLICIES.c.tenant_id == self.tenant_id, POLICIES.c.version == version)
        return (await conn.execute(stmt)).first()
