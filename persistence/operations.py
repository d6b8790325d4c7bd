"""Operations: one row per long-running piece of work, written by the worker that runs it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.changes import Change
from persistence import changes as change_log
from persistence.tables import OperationRow

OPERATIONS = OperationRow.__table__
C = OPERATIONS.c


async def update(
    engine: AsyncEngine, tenant_id: uuid.UUID, op_id: uuid.UUID, events: Sequence[Change] = (), **values: Any
) -> None:
    """`events`: changes for the log (an operation that finished), in the same transaction."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(OPERATIONS).where(C.tenant_id == tenant_id, C.id == op_id).values(**values)
        )
        await change_log.append(conn, tenant_id, events)


async def cancel_requested(engine: AsyncEngine, tenant_id: uuid.UUID, op_id: uuid.UUID) -> bool:
    async with engine.connect() as conn:
        stmt = sa.select(C.cancel_requested).where(C.tenant_id == tenant_id, C.id == op_id)
        return bool((await conn.execute(stmt)).scalar())


# kinds nobody asked for by hand (the rescoring after an import): taken after every other queued one
BACKGROUND_KINDS = ("scoring",)


async def claim_queued(engine: AsyncEngine, worker: str, now: datetime) -> Any | None:
    """Take the oldest queued operation for this worker, a background one (BACKGROUND_KINDS) only when no
    other waits: a steady sync's rescorings never hold up an assignment someone is waiting for. FOR UPDATE
    SKIP LOCKED, so two workers never take the same one (PostgreSQL); answers it as running, or None."""
    async with engine.begin() as conn:
        stmt = (
            sa.select(C.tenant_id, C.id)
            .where(C.state == "queued")
            .order_by(sa.case((C.kind.in_(BACKGROUND_KINDS), 1), else_=0), C.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        found = (await conn.execute(stmt)).first()
        if found is None:
            return None
        taken = await conn.execute(
            sa.update(OPERATIONS)
            .where(C.tenant_id == found.tenant_id, C.id == found.id, C.state == "queued")
            .values(state="running", started_at=now, heartbeat_at=now, worker=worker)
        )
        if not taken.rowcount:  # SQLite: another task of this process took it first
            return None
        return (await conn.execute(sa.select(OPERATIONS).where(C.id == found.id))).first()


class OperationStore:
    """One tenant's operations, in its unit of work's transaction (the runner writes progress on its own)."""

    def __init__(self, connection: Callable[[], Awaitable[Any]], tenant_id: uuid.UUID):
        self._connection = connection
        self.tenant_id = tenant_id

    async def add(self, row: dict[str, Any]) -> None:
        await (await self._connection()).execute(
            sa.insert(OPERATIONS).values(**row, tenant_id=self.tenant_id)
        )

    async def get(self, op_id: uuid.UUID) -> Any | None:
        stmt = sa.select(OPERATIONS).where(C.tenant_id == self.tenant_id, C.id == op_id)
        return (await (await self._connection()).execute(stmt)).first()

    async def waiting(self, kind: str, since: datetime) -> uuid.UUID | None:
        """The oldest operation of `kind` queued and not yet taken by a worker, queued at `since` or later
        (an older one no worker took reads as lost), or None."""
        stmt = (
            sa.select(C.id)
            .where(
                C.tenant_id == self.tenant_id, C.kind == kind, C.state == "queued", C.heartbeat_at >= since
            )
            .order_by(C.created_at)
            .limit(1)
        )
        return (await (await self._connection()).execute(stmt)).scalar()

    async def request_cancel(self, op_id: uuid.UUID, states: list[str]) -> bool:
        """Flag an unfinished operation for cancelling; False when it has already finished."""
        done = await (await self._connection()).execute(
            sa.update(OPERATIONS)
            .where(C.tenant_id == self.tenant_id, C.id == op_id, C.state.in_(states))
            .values(cancel_requested=True)
        )
        return bool(done.rowcount)

    async def page(
        self, limit: int, before: tuple[datetime, uuid.UUID] | None, state: str | None, kind: str | None
    ) -> list[Any]:
        """Newest first, keyset-paged on (created_at, id)."""
        stmt = sa.select(OPERATIONS).where(C.tenant_id == self.tenant_id)
        if state is not None:
            stmt = stmt.where(C.state == state)
        if kind is not None:
            stmt = stmt.where(C.kind == kind)
        if before is not None:
            at, last = before
            stmt = stmt.where(sa.or_(C.created_at < at, sa.and_(C.created_at == at, C.id < last)))
        stmt = stmt.order_by(C.created_at.desc(), C.id.desc()).limit(limit)
        return list((await (await self._connection()).execute(stmt)).all())
