"""The change log: append changes in the writer's transaction, read them after a seq, and wake workers.

`append` takes the seqs from the tenant row (`ownership_version` is the head) as the last step before the
commit: the row lock serialises a tenant's writers, so the seqs are gap-free and in commit order, and a
reader that has seen seq N has seen everything before it. On PostgreSQL it also sends NOTIFY, which is
delivered at commit to every worker LISTENing (docs/change-stream.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from domain.changes import Change, ChangeKind
from persistence.db import RecordBinder, asyncpg_dsn, copy_records, execute_records, sqlite_binder
from persistence.tables import ChangeRow, TenantRow

log = logging.getLogger("territory.changes")
CHANGES = ChangeRow.__table__
CHANNEL = "territory_changes"
# Who is writing, for the log's actor and request_id columns: set per request by the api, "cli" by the CLI.
ACTOR: ContextVar[str | None] = ContextVar("territory_actor", default=None)
REQUEST_ID: ContextVar[str | None] = ContextVar("territory_request_id", default=None)
COPY_CHUNK = 5_000  # records made at a time in a thread (while the COPY streams, on PostgreSQL)


def _dialect(db: Any) -> str:
    bind = getattr(db, "bind", None)
    return (bind or db).dialect.name


def _row(tenant_id: uuid.UUID, seq: int, c: Change, now: datetime, actor: Any, request: Any) -> dict:
    return {
        "tenant_id": tenant_id,
        "seq": seq,
        "kind": c.kind.value,
        "subject_id": c.subject_id,
        "external_id": c.data.get("external_id") if c.kind == ChangeKind.ACCOUNT else None,
        "role": c.role,
        "plan_id": c.plan_id,
        "from_rep_id": c.from_rep_id,
        "to_rep_id": c.to_rep_id,
        "from_territory_id": c.from_territory_id,
        "to_territory_id": c.to_territory_id,
        "cause": c.cause,
        "reason": None if c.reason is None else c.reason[:1000],
        "data": dict(c.data),
        "valid_from": c.valid_from,
        "recorded_at": now,
        "actor": actor,
        "request_id": request,
    }


async def append(db: Any, tenant_id: uuid.UUID, changes: Sequence[Change]) -> int | None:
    """Write the changes at the end of the tenant's log, in the caller's transaction (`db`: a session or a
    connection). Answers the new head seq, or None when there was nothing to write."""
    if not changes:
        return None
    if _dialect(db) == "postgresql" and len(changes) <= ONE_STATEMENT:
        return await _append_at_once(db, tenant_id, changes)
    result = await db.execute(
        sa.update(TenantRow)
        .where(TenantRow.id == tenant_id)
        .values(ownership_version=TenantRow.ownership_version + len(changes))
        .returning(TenantRow.ownership_version)
    )
    head = int(result.scalar_one())
    first = head - len(changes) + 1
    now, actor, request = datetime.now(UTC), ACTOR.get(), REQUEST_ID.get()
    conn = await db.connection() if isinstance(db, AsyncSession) else db
    if _dialect(db) == "postgresql":
        # a bulk writer's changes (an import's, an activation's): one COPY, each chunk's records made off
        # the loop while the database ingests the one before
        async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
            for start in range(0, len(changes), COPY_CHUNK):
                part = changes[start : start + COPY_CHUNK]
                yield await asyncio.to_thread(_records, tenant_id, first + start, part, now, actor, request)

        await copy_records(conn, CHANGES.name, chunks(), _ALL_COLUMNS)
        await db.execute(sa.select(sa.func.pg_notify(CHANNEL, f"{tenant_id}:{head}")))
        return head
    # SQLite: values made as it stores them, in a thread, and one executemany a chunk (SQLAlchemy's own
    # binding took 3 s of a 100,000-account activation)
    binders = [None if c == "data" else sqlite_binder(CHANGES.c[c].type, conn.dialect) for c in _ALL_COLUMNS]
    for start in range(0, len(changes), COPY_CHUNK):
        part = changes[start : start + COPY_CHUNK]
        records = await asyncio.to_thread(
            _records, tenant_id, first + start, part, now, actor, request, binders
        )
        await execute_records(conn, CHANGES.name, records, _ALL_COLUMNS)
    return head


def _records(
    tenant_id: uuid.UUID,
    first: int,
    changes: Sequence[Change],
    now: datetime,
    actor: Any,
    request: Any,
    binders: Sequence[Callable[[Any], Any] | None] = (),
) -> list[tuple[Any, ...]]:
    """The change rows as records (`_ALL_COLUMNS` order, which `_row` has; the data as JSON text), each
    value through its column's binder where `binders` gives one (SQLite: persistence/db.sqlite_binder)."""
    records = []
    empty = _encode({}).decode()
    bind = RecordBinder(binders)
    for i, c in enumerate(changes):
        row = _row(tenant_id, first + i, c, now, actor, request)
        row["data"] = _encode(row["data"]).decode() if c.data else empty
        records.append(tuple(bind(list(row.values()))))
    return records


def _encode(value: Any) -> bytes:
    """The change rows as JSON, as PostgreSQL's one-statement append receives them."""
    return orjson.dumps(value, default=str, option=orjson.OPT_UTC_Z)


def as_stored(head: int | None, changes: Sequence[Change]) -> list[tuple[int, Change]]:
    """The changes `append` wrote, with their seqs, as `to_change` reads them back."""
    if head is None:
        return []
    first = head - len(changes) + 1
    return [(first + i, _stored(c)) for i, c in enumerate(changes)]


def _stored(c: Change) -> Change:
    if (
        not c.data  # an owner change's: JSON gives back what it was given
        and (c.reason is None or len(c.reason) <= 1000)
        and c.valid_from.tzinfo is UTC
    ):
        return c  # as stored already: a 100,000-account activation spent 0.7 s copying its changes
    reason = None if c.reason is None else c.reason[:1000]
    data = orjson.loads(_encode(c.data))
    valid_from = c.valid_from.astimezone(UTC) if c.valid_from.tzinfo else c.valid_from
    return dataclasses.replace(c, reason=reason, data=data, valid_from=valid_from)


ONE_STATEMENT = 1_000  # up to this many changes go in one statement (PostgreSQL)
_ALL_COLUMNS = [c.name for c in CHANGES.columns]
_COLUMNS = [c for c in _ALL_COLUMNS if c not in ("tenant_id", "seq")]
_TYPES = {
    c.name: "jsonb" if c.name == "data" else c.type.compile(dialect=postgresql.dialect())
    for c in CHANGES.columns
}


_AT_ONCE = sa.text(
    "WITH head AS (UPDATE tenants SET ownership_version = ownership_version + :n "
    "WHERE id = CAST(CAST(:tenant AS text) AS uuid) RETURNING ownership_version AS v), "
    "written AS (INSERT INTO change_log (tenant_id, seq, " + ", ".join(_COLUMNS) + ") "
    "SELECT CAST(CAST(:tenant AS text) AS uuid), head.v - :n + r.ord, "
    + ", ".join(f"r.{c}" for c in _COLUMNS)
    + " "
    "FROM head, jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(ord bigint, "
    + ", ".join(f"{c} {_TYPES[c]}" for c in _COLUMNS)
    + ") RETURNING 1) "
    "SELECT head.v, pg_notify(:channel, CAST(:tenant AS text) || ':' || head.v), "
    "(SELECT count(*) FROM written) FROM head"
)


async def _append_at_once(db: Any, tenant_id: uuid.UUID, changes: Sequence[Change]) -> int:
    """PostgreSQL: the head moved, the rows written and NOTIFY sent in one round trip, so the tenant row's
    lock is held for as short a time as the commit allows (writers of one tenant queue on it)."""
    now, actor, request = datetime.now(UTC), ACTOR.get(), REQUEST_ID.get()
    rows = []
    for i, c in enumerate(changes, start=1):
        row = _row(tenant_id, 0, c, now, actor, request)
        rows.append({"ord": i, **{k: row[k] for k in _COLUMNS}})
    payload = _encode(rows).decode()
    params = {"n": len(changes), "tenant": str(tenant_id), "rows": payload, "channel": CHANNEL}
    head, _, written = (await db.execute(_AT_ONCE, params)).one()
    assert written == len(changes)
    return int(head)


def to_change(r: Any) -> Change:
    return Change(
        kind=ChangeKind(r.kind),
        subject_id=r.subject_id,
        valid_from=r.valid_from,
        role=r.role,
        plan_id=r.plan_id,
        from_rep_id=r.from_rep_id,
        to_rep_id=r.to_rep_id,
        from_territory_id=r.from_territory_id,
        to_territory_id=r.to_territory_id,
        cause=r.cause,
        reason=r.reason,
        data=r.data or {},
    )


async def read_after(
    db: Any,
    tenant_id: uuid.UUID,
    after: int,
    limit: int,
    kinds: Sequence[str] | None = None,
    upto: int | None = None,
) -> list[Any]:
    """Entries with after < seq (<= upto), of these kinds (all when None), in seq order, at most `limit`."""
    c = CHANGES.c
    stmt = sa.select(CHANGES).where(c.tenant_id == tenant_id, c.seq > after)
    if kinds is not None:
        stmt = stmt.where(c.kind.in_(list(kinds)))
    if upto is not None:
        stmt = stmt.where(c.seq <= upto)
    return list((await db.execute(stmt.order_by(c.seq).limit(limit))).all())


async def head(db: Any, tenant_id: uuid.UUID) -> int:
    """The tenant's last seq (tenants.ownership_version)."""
    stmt = sa.select(TenantRow.ownership_version).where(TenantRow.id == tenant_id)
    return int((await db.execute(stmt)).scalar_one())


async def listen(
    url: str,
    woken: Callable[[uuid.UUID, int], None],
    reconnected: Callable[[], None],
    retry_seconds: float = 1.0,
) -> None:
    """Run until cancelled: LISTEN on a dedicated connection (not through PgBouncer in transaction mode)
    and call `woken(tenant, seq)` per NOTIFY; after the connection is lost, reconnect with a pause and call
    `reconnected()`, since notifications sent meanwhile are gone."""
    dsn, options = asyncpg_dsn(url)
    first = True
    while True:
        lost = asyncio.Event()
        conn = None
        try:
            conn = await asyncpg.connect(dsn, timeout=5, **options)
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())

            def notified(_c: Any, _pid: int, _channel: str, payload: str) -> None:
                tenant, _, seq = payload.partition(":")
                with contextlib.suppress(ValueError):
                    woken(uuid.UUID(tenant), int(seq))

            await conn.add_listener(CHANNEL, notified)
            if not first:
                reconnected()
            first = False
            while not lost.is_set():  # a silent network loss shows only when we ask
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(lost.wait(), 5)
                if not lost.is_set():
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database is down or the connection broke: try again
            log.info("change listener: %r; reconnecting", exc)
            first = False
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=1)
        await asyncio.sleep(retry_seconds)
