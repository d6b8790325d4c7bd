"""Events and webhooks in SQL: log entries as events with the names they mention, webhook endpoints, the
claim of a due endpoint by one worker (FOR UPDATE SKIP LOCKED), and the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence import changes as change_log
from persistence.tables import (
    AccountRow,
    PlanRow,
    RepRow,
    TenantRow,
    TerritoryRow,
    WebhookAttemptRow,
    WebhookEndpointRow,
    next_version,
)

ENDPOINTS = WebhookEndpointRow.__table__
ATTEMPTS = WebhookAttemptRow.__table__
E = ENDPOINTS.c


async def names(db: Any, tenant_id: uuid.UUID, rows: Sequence[Any]) -> dict[str, dict[Any, Any]]:
    """The accounts, reps, territories and plans the entries mention, by id, as they are now."""
    wanted: dict[str, set[Any]] = {"accounts": set(), "reps": set(), "territories": set(), "plans": set()}
    for r in rows:
        if r.kind == "owner":
            wanted["accounts"].add(r.subject_id)
            wanted["reps"] |= {r.from_rep_id, r.to_rep_id} - {None}
            wanted["territories"] |= {r.from_territory_id, r.to_territory_id} - {None}
        elif r.kind == "plan":
            wanted["plans"].add(r.subject_id)
    tables = {
        "accounts": (AccountRow.__table__, ("external_id", "name")),
        "reps": (RepRow.__table__, ("name", "email")),
        "territories": (TerritoryRow.__table__, ("name",)),
        "plans": (PlanRow.__table__, ("name",)),
    }
    out: dict[str, dict[Any, Any]] = {}
    for key, (table, columns) in tables.items():
        ids = list(wanted[key])
        out[key] = {}
        if ids:
            stmt = sa.select(table.c.id, *(table.c[col] for col in columns)).where(
                table.c.tenant_id == tenant_id, table.c.id.in_(ids)
            )
            out[key] = {r[0]: dict(zip(columns, r[1:], strict=True)) for r in await db.execute(stmt)}
    return out


# -- endpoints ----------------------------------------------------------------------------------------


async def add_endpoint(db: Any, row: dict[str, Any]) -> None:
    await db.execute(sa.insert(ENDPOINTS).values(**row))


async def get_endpoint(db: Any, tenant_id: uuid.UUID, endpoint_id: uuid.UUID) -> Any | None:
    stmt = sa.select(ENDPOINTS).where(E.tenant_id == tenant_id, E.id == endpoint_id)
    return (await db.execute(stmt)).first()


async def list_endpoints(db: Any, tenant_id: uuid.UUID, after: uuid.UUID | None, limit: int) -> list[Any]:
    stmt = sa.select(ENDPOINTS).where(E.tenant_id == tenant_id)
    if after is not None:
        stmt = stmt.where(E.id > after)
    return list((await db.execute(stmt.order_by(E.id).limit(limit))).all())


async def update_endpoint(db: Any, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, **values: Any) -> None:
    await db.execute(
        sa.update(ENDPOINTS).where(E.tenant_id == tenant_id, E.id == endpoint_id).values(**values)
    )


async def delete_endpoint(db: Any, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, version: int) -> bool:
    gone = await db.execute(
        sa.delete(ENDPOINTS).where(E.tenant_id == tenant_id, E.id == endpoint_id, E.version == version)
    )
    if not gone.rowcount:
        return False
    await db.execute(
        sa.delete(ATTEMPTS).where(ATTEMPTS.c.tenant_id == tenant_id, ATTEMPTS.c.endpoint_id == endpoint_id)
    )
    return True


async def claim_due(db: Any, now: datetime, owner: str, lease_seconds: float) -> Any | None:
    """Lease one enabled endpoint that has something to send, no retry pending and no live lease; rows
    another worker is claiming at the same moment are skipped (FOR UPDATE SKIP LOCKED on PostgreSQL).
    Answers the endpoint as leased, or None. Commit right after, so the lease is seen by every worker."""
    heads = sa.select(TenantRow.ownership_version).where(TenantRow.id == E.tenant_id).scalar_subquery()
    stmt = sa.select(E.tenant_id, E.id).where(
        E.enabled.is_(True),
        sa.or_(E.next_attempt_at.is_(None), E.next_attempt_at <= now),
        sa.or_(E.lease_until.is_(None), E.lease_until < now),
        sa.or_(E.delivered_seq < heads, E.replay_from.is_not(None)),
    )
    stmt = stmt.order_by(E.next_attempt_at.nulls_first(), E.id).limit(1).with_for_update(skip_locked=True)
    found = (await db.execute(stmt)).first()
    if found is None:
        return None
    until = now + timedelta(seconds=lease_seconds)
    await update_endpoint(db, found.tenant_id, found.id, lease_owner=owner, lease_until=until)
    return await get_endpoint(db, found.tenant_id, found.id)


async def tenants_with_endpoints(db: Any) -> set[uuid.UUID]:
    """The tenants with at least one enabled endpoint (whose commits are worth a delivery's claim)."""
    stmt = sa.select(E.tenant_id).where(E.enabled.is_(True)).distinct()
    return set((await db.execute(stmt)).scalars())


async def renew(db: Any, endpoint: Any, owner: str, until: datetime, **values: Any) -> bool:
    """Write the endpoint's progress if this worker still holds its lease; False if it lost it."""
    if "enabled" in values:  # delivery disabled it: a change a client sees in the endpoint's version
        values |= next_version(ENDPOINTS)
    result = await db.execute(
        sa.update(ENDPOINTS)
        .where(E.tenant_id == endpoint.tenant_id, E.id == endpoint.id, E.lease_owner == owner)
        .values(lease_until=until, **values)
    )
    return bool(result.rowcount)


async def next_due(db: Any) -> datetime | None:
    """The earliest retry time of an enabled endpoint (to know how long a worker may sleep)."""
    stmt = sa.select(sa.func.min(E.next_attempt_at)).where(E.enabled.is_(True))
    return (await db.execute(stmt)).scalar()


async def record_attempts(db: Any, rows: Sequence[dict[str, Any]]) -> None:
    """`attempt` is numbered per endpoint and event: a retry or a replay's sending is the next one."""
    if not rows:
        return
    a = ATTEMPTS.c
    first = rows[0]
    stmt = (
        sa.select(a.seq, sa.func.max(a.attempt))
        .where(
            a.tenant_id == first["tenant_id"],
            a.endpoint_id == first["endpoint_id"],
            a.seq.in_({r["seq"] for r in rows}),
        )
        .group_by(a.seq)
    )
    last = dict((await db.execute(stmt)).all())
    numbered = []
    for r in rows:
        last[r["seq"]] = last.get(r["seq"], 0) + 1
        numbered.append(r | {"attempt": last[r["seq"]]})
    await db.execute(sa.insert(ATTEMPTS), numbered)


async def attempts(
    db: Any, tenant_id: uuid.UUID, endpoint_id: uuid.UUID, before: tuple[int, int] | None, limit: int
) -> list[Any]:
    """Newest first; `before`: (seq, attempt) of the last row of the previous page."""
    a = ATTEMPTS.c
    stmt = sa.select(ATTEMPTS).where(a.tenant_id == tenant_id, a.endpoint_id == endpoint_id)
    if before is not None:
        stmt = stmt.where(sa.tuple_(a.seq, a.attempt) < sa.tuple_(*before))
    return list((await db.execute(stmt.order_by(a.seq.desc(), a.attempt.desc()).limit(limit))).all())


# -- what the use cases and the deliverer reach ---------------------------------------------------------


class EventStore:
    """One tenant's events and webhook endpoints, in its unit of work's transaction."""

    def __init__(self, connection: Callable[[], Awaitable[Any]], tenant_id: uuid.UUID):
        self._connection = connection
        self.tenant_id = tenant_id

    async def head(self) -> int:
        return await change_log.head(await self._connection(), self.tenant_id)

    async def entries(
        self, after: int, limit: int, kinds: Sequence[str] | None, upto: int | None
    ) -> tuple[list[Any], dict[str, dict[Any, Any]]]:
        """Log entries after `after` (see persistence.changes.read_after) and the names they mention."""
        db = await self._connection()
        rows = await change_log.read_after(db, self.tenant_id, after, limit, kinds, upto)
        return rows, await names(db, self.tenant_id, rows)

    async def add_endpoint(self, row: dict[str, Any]) -> None:
        await add_endpoint(await self._connection(), {**row, "tenant_id": self.tenant_id})

    async def get_endpoint(self, endpoint_id: uuid.UUID) -> Any | None:
        return await get_endpoint(await self._connection(), self.tenant_id, endpoint_id)

    async def list_endpoints(self, after: uuid.UUID | None, limit: int) -> list[Any]:
        return await list_endpoints(await self._connection(), self.tenant_id, after, limit)

    async def change_endpoint(self, endpoint_id: uuid.UUID, version: int, **values: Any) -> bool:
        """A client's change to the endpoint read at `version`: written, one version up, only if no one
        has changed it since (False: someone has, nothing was written)."""
        result = await (await self._connection()).execute(
            sa.update(ENDPOINTS)
            .where(E.tenant_id == self.tenant_id, E.id == endpoint_id, E.version == version)
            .values(**values, **next_version(ENDPOINTS))
        )
        return bool(result.rowcount)

    async def delete_endpoint(self, endpoint_id: uuid.UUID, version: int) -> bool:
        """Delete the endpoint read at `version` with its delivery log, if no one has changed it since."""
        return await delete_endpoint(await self._connection(), self.tenant_id, endpoint_id, version)

    async def attempts(self, endpoint_id: uuid.UUID, before: tuple[int, int] | None, limit: int) -> list[Any]:
        return await attempts(await self._connection(), self.tenant_id, endpoint_id, before, limit)


class Outbox:
    """What webhook delivery reads and writes across tenants, each call its own short transaction: the
    tenants worth a claim, the lease of a due endpoint, the entries it is owed, and its progress."""

    def __init__(self, engine: AsyncEngine):
        self.engine = engine

    @property
    def listen_url(self) -> str | None:
        """Where commits are announced (PostgreSQL's NOTIFY); None where they are not (SQLite: poll)."""
        if self.engine.dialect.name != "postgresql":
            return None
        return self.engine.url.render_as_string(hide_password=False)

    async def tenants_with_endpoints(self) -> set[uuid.UUID]:
        async with self.engine.connect() as conn:
            return await tenants_with_endpoints(conn)

    async def claim(self, now: datetime, owner: str, lease_seconds: float) -> Any | None:
        async with self.engine.begin() as conn:
            return await claim_due(conn, now, owner, lease_seconds)

    async def owed(
        self, endpoint: Any, after: int, upto: int | None, limit: int, kinds: Sequence[str] | None
    ) -> tuple[int, list[Any], dict[str, dict[Any, Any]]]:
        """The tenant's head, and the entries after `after` (up to `upto`, or the head) with their names."""
        async with self.engine.connect() as conn:
            head = await change_log.head(conn, endpoint.tenant_id)
            rows = await change_log.read_after(
                conn, endpoint.tenant_id, after, limit, kinds, head if upto is None else upto
            )
            return head, rows, await names(conn, endpoint.tenant_id, rows)

    async def progress(
        self,
        endpoint: Any,
        owner: str,
        until: datetime,
        attempted: Sequence[dict[str, Any]] = (),
        **values: Any,
    ) -> bool:
        """Write the attempts and the endpoint's place in one transaction, if this worker still holds the
        lease (False if it lost it)."""
        async with self.engine.begin() as conn:
            await record_attempts(conn, attempted)
            return await renew(conn, endpoint, owner, until, **values)
