"""Operations: one row per long-running piece of work, written by the worker that runs it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.changes import Change
from persistence import changes as change_log
from persistence.tables import OperationRow

OPERATIONS = OperationRow.__table__
C = OPERATIONS.c


async def insert(engine: AsyncEngine, row: dict[str, Any]) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.insert(OPERATIONS).values(**row))


async def update(
    engine: AsyncEngine, tenant_id: uuid.UUID, op_id: uuid.UUID, events: Sequence[Change] = (), **values: Any
) -> None:
    """`events`: changes for the log (an operation that finished), in the same transaction."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(OPERATIONS).where(C.tenant_id == tenant_id, C.id == op_id).values(**values)
        )
        await change_log.append(conn, tenant_id, events)


async def get(engine: AsyncEngine, tenant_id: uuid.UUID, op_id: uuid.UUID) -> Any | None:
    async with engine.connect() as conn:
        return (
            await conn.execute(sa.select(OPERATIONS).where(C.tenant_id == tenant_id, C.id == op_id))
        ).first()


async def cancel_requested(engine: AsyncEngine, tenant_id: uuid.UUID, op_id: uuid.UUID) -> bool:
    async with engine.connect() as conn:
        stmt = sa.select(C.cancel_requested).where(C.tenant_id == tenant_id, C.id == op_id)
        return bool((await conn.execute(stmt)).scalar())


async def request_cancel(
    engine: AsyncEngine, tenant_id: uuid.UUID, op_id: uuid.UUID, states: list[str]
) -> bool:
    """Flag an unfinished operation for cancelling; False when it has already finished."""
    async with engine.begin() as conn:
        done = await conn.execute(
            sa.update(OPERATIONS)
            .where(C.tenant_id == tenant_id, C.id == op_id, C.state.in_(states))
            .values(cancel_requested=True)
        )
        return bool(done.rowcount)


async def page(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    limit: int,
    before: tuple[datetime, uuid.UUID] | None,
    state: str | None,
    kind: str | None,
) -> list[Any]:
    """Newest first, keyset-paged on (created_at, id)."""
    stmt = sa.select(OPERATIONS).where(C.tenant_id == tenant_id)
    if state is not None:
        stmt = stmt.where(C.state == state)
    if kind is not None:
        stmt = stmt.where(C.kind == kind)
    if before is not None:
        at, last = before
        stmt = stmt.where(sa.or_(C.created_at < at, sa.and_(C.created_at == at, C.id < last)))
    stmt = stmt.order_by(C.created_at.desc(), C.id.desc()).limit(limit)
    async with engine.connect() as conn:
        return list((await conn.execute(stmt)).all())


async def claim_queued(engine: AsyncEngine, worker: str, now: datetime) -> Any | None:
    """Take the oldest queued operation for this worker: FOR UPDATE SKIP LOCKED, so two workers never take
    the same one (PostgreSQL); answers it as running, or None."""
    async with engine.begin() as conn:
        stmt = (
            sa.select(C.tenant_id, C.id)
            .where(C.state == "queued")
            .order_by(C.created_at)
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
