"""What the feature stores share: Core queries on their unit of work's connection, for its tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

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
