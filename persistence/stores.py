"""What the feature stores share: Core queries on their unit of work's connection, for its tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.tables import TenantRow

if TYPE_CHECKING:
    from persistence.unit_of_work import SqlUnitOfWork


class Store:
    """A feature's set-based queries, run in the unit of work's transaction (committed by its commit)."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    @property
    def tenant_id(self) -> UUID:
        return self.uow.tenant_id

    async def connection(self) -> AsyncConnection:
        return await self.uow.connection()

    async def exclusive(self, name: str) -> None:
        """Hold the tenant's lock `name` until this transaction ends: one such transaction of the tenant at
        a time, in every process on every host; the next waits, then reads what the first wrote. PostgreSQL:
        a transaction advisory lock; SQLite: its write lock, taken at once by a write that changes nothing.
        Call it first in the transaction."""
        conn = await self.connection()
        if conn.dialect.name == "postgresql":
            key = f"{self.tenant_id}:{name}"
            await conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
            )
        else:
            same = TenantRow.settings_version
            await conn.execute(
                sa.update(TenantRow).where(TenantRow.id == self.tenant_id).values(settings_version=same)
            )
