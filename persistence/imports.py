"""Bulk reads and writes for import and export, in SQLAlchemy core on one connection."""

from __future__ import annotations

import asyncio
import enum
import operator
import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.changes import Change
from persistence import changes as change_log
from persistence.db import RecordBinder, copy_records, execute_records, sqlite_binder
from persistence.stores import Store
from persistence.tables import (
    AccountRow,
    AccountScoreRow,
    ActivityRow,
    AssignmentRow,
    OpportunityRow,
    RepRow,
    next_version,
)

ACCOUNTS = AccountRow.__table__
REPS = RepRow.__table__
ACTIVITIES = ActivityRow.__table__
OPPORTUNITIES = OpportunityRow.__table__

TABLES = {
    "accounts": ACCOUNTS,
    "reps": REPS,
    "activities": ACTIVITIES,
    "opportunities": OPPORTUNITIES,
    "account_scores": AccountScoreRow.__table__,
    "assignments": AssignmentRow.__table__,
}
BATCH = 5_000
# rows per INSERT or UPDATE statement (SQLite; updates everywhere): SQLAlchemy makes its parameters on the
# event loop, about 10 ms a batch of 1,000
STATEMENT_BATCH = 1_000


def export_select(
    kind: str, tenant_id: uuid.UUID, columns: Sequence[str], include_deleted: bool = False
) -> sa.Select:
    """Rows in the import format: references as external ids, never internal ids."""
    table = TABLES[kind]
    if kind == "accounts":
        parent = ACCOUNTS.alias("parent")
        cols = [
            parent.c.external_id.label(c) if c == "parent_external_id" else ACCOUNTS.c[c] for c in columns
        ]
        stmt = (
            sa.select(*cols)
            .select_from(ACCOUNTS.outerjoin(parent, parent.c.id == ACCOUNTS.c.parent_id))
            .where(ACCOUNTS.c.tenant_id == tenant_id)
            .order_by(ACCOUNTS.c.external_id)
        )
        if include_deleted:
            return stmt.add_columns(ACCOUNTS.c.deleted_at.label("_deleted_at"))
        return stmt.where(ACCOUNTS.c.deleted_at.is_(None))
    if kind == "reps":
        return (
            sa.select(*[REPS.c[c] for c in columns])
            .where(REPS.c.tenant_id == tenant_id)
            .order_by(REPS.c.external_id)
        )
    account, rep = ACCOUNTS.alias("account"), REPS.alias("rep")
    refs = {"account_external_id": account.c.external_id, "rep_external_id": rep.c.external_id}
    cols = [refs[c].label(c) if c in refs else table.c[c] for c in columns]
    return (
        sa.select(*cols)
        .select_from(
            table.join(account, account.c.id == table.c.account_id).outerjoin(rep, rep.c.id == table.c.rep_id)
        )
        .where(table.c.tenant_id == tenant_id)
        .order_by(table.c.external_id)
    )


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def wants_full_scan(named: int, stored: int) -> bool:
    """Reading every stored row in one scan beats chunked IN lists once a file names a quarter of them."""
    return named * 4 >= stored


async def count(conn: AsyncConnection, kind: str, tenant_id: uuid.UUID) -> int:
    table = TABLES[kind]
    stmt = sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
    return int((await conn.execute(stmt)).scalar_one())


def _chunks(values: Collection[str]) -> list[list[str]]:
    ordered = sorted(values)
    return [ordered[i : i + BATCH] for i in range(0, len(ordered), BATCH)]


async def load_existing(
    conn: AsyncConnection,
    kind: str,
    tenant_id: uuid.UUID,
    columns: Sequence[str],
    external_ids: Collection[str] | None,
) -> dict[str, dict[str, Any]]:
    """The stored rows named by `external_ids` (None: all), in the import format, plus their `_id`."""
    table = TABLES[kind]
    # soft-deleted accounts keep their external id; an import brings them back
    base = export_select(kind, tenant_id, columns, include_deleted=True).add_columns(table.c.id.label("_id"))
    if external_ids is None:
        statements = [base]
    else:
        statements = [base.where(table.c.external_id.in_(chunk)) for chunk in _chunks(external_ids)]
    existing: dict[str, dict[str, Any]] = {}
    for stmt in statements:
        # streamed, a batch at a time: making 100,000 dicts at once held the event loop for 400 ms
        result = await conn.stream(stmt.execution_options(yield_per=BATCH))
        keys = list(result.keys())
        at = keys.index("external_id")
        async for part in result.partitions(BATCH):
            existing.update((row[at], dict(zip(keys, row, strict=True))) for row in part)
    return existing


async def id_map(
    conn: AsyncConnection, kind: str, tenant_id: uuid.UUID, external_ids: Collection[str]
) -> dict[str, uuid.UUID]:
    """Internal ids of the (live) rows named by `external_ids`."""
    table = TABLES[kind]
    stmt = sa.select(table.c.external_id, table.c.id).where(table.c.tenant_id == tenant_id)
    if kind == "accounts":
        stmt = stmt.where(ACCOUNTS.c.deleted_at.is_(None))
    if wants_full_scan(len(external_ids), await count(conn, kind, tenant_id)):
        return {r.external_id: r.id for r in await conn.execute(stmt)}
    found: dict[str, uuid.UUID] = {}
    for chunk in _chunks(external_ids):
        rows = await conn.execute(stmt.where(table.c.external_id.in_(chunk)))
        found.update((r.external_id, r.id) for r in rows)
    return found


async def ancestor_links(
    conn: AsyncConnection, tenant_id: uuid.UUID, external_ids: Collection[str]
) -> dict[str, str | None]:
    """child -> parent external ids of the named accounts and all their stored ancestors (recursive CTE)."""
    links: dict[str, str | None] = {}
    for chunk in _chunks(external_ids):
        start = (
            sa.select(ACCOUNTS.c.id, ACCOUNTS.c.parent_id)
            .where(ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.external_id.in_(chunk))
            .cte("chain", recursive=True)
        )
        up = ACCOUNTS.alias("up")
        chain = start.union(sa.select(up.c.id, up.c.parent_id).join(start, up.c.id == start.c.parent_id))
        child, parent = ACCOUNTS.alias("child"), ACCOUNTS.alias("parent")
        stmt = sa.select(child.c.external_id, parent.c.external_id).select_from(
            chain.join(child, child.c.id == chain.c.id).outerjoin(parent, parent.c.id == chain.c.parent_id)
        )
        links.update((r[0], r[1]) for r in await conn.execute(stmt))
    return links


async def insert_many(
    conn: AsyncConnection, kind: str, rows: list[dict[str, Any]], progress: Any = None
) -> None:
    """Insert rows on the connection, in its transaction: on PostgreSQL through COPY, on SQLite by one
    executemany of values made as SQLite stores them (execute_records)."""
    table = TABLES[kind]
    if not rows:
        return
    columns = sorted(await asyncio.to_thread(lambda: {k for r in rows for k in r}))
    defaults = {c: _default(table, c) for c in columns}
    if conn.dialect.name == "postgresql":
        json_cols = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
        binders: list[Any] = [None] * len(columns)
        write: Any = copy_records
    else:
        json_cols = []
        binders = [sqlite_binder(table.c[c].type, conn.dialect) for c in columns]
        write = execute_records
    for start in range(0, len(rows), BATCH * 4):
        chunk = rows[start : start + BATCH * 4]
        # making the records is CPU work: in a worker thread, so the event loop keeps answering
        records = await asyncio.to_thread(_records, chunk, columns, defaults, json_cols, binders)
        await write(conn, table.name, records, columns)
        if progress:
            progress(len(chunk))


def _records(
    chunk: list[dict[str, Any]],
    columns: list[str],
    defaults: dict[str, Any],
    json_cols: list[int],
    binders: list[Any],
) -> list[list[Any]]:
    """Rows as records in `columns` order, JSON columns encoded (COPY), each value through its column's
    binder where it has one (SQLite)."""
    records = []
    same_shape = len(columns) > 1 and all(len(r) == len(columns) for r in chunk)
    pick = operator.itemgetter(*columns)
    bind = RecordBinder(binders)
    for r in chunk:
        record = list(pick(r)) if same_shape else [r.get(c, defaults[c]) for c in columns]
        for i in json_cols:
            record[i] = orjson.dumps(record[i]).decode()
        records.append(bind(record))
    return records


async def insert_tuples(
    conn: AsyncConnection, kind: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert rows given as tuples in `columns` order (no dict per row); COPY on PostgreSQL."""
    table = TABLES[kind]
    if not rows:
        return
    json_cols = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
    if conn.dialect.name == "postgresql":
        if json_cols:  # CPU work: in a worker thread, so the event loop keeps answering
            records: list[Any] = await asyncio.to_thread(_with_json, rows, json_cols)
        else:
            records = rows
        await copy_records(conn, table.name, records, columns)
        return
    await insert_many(conn, kind, [dict(zip(columns, r, strict=True)) for r in rows])


def _with_json(rows: list[tuple[Any, ...]], json_cols: list[int]) -> list[list[Any]]:
    records = []
    for r in rows:
        record = list(r)
        for i in json_cols:
            record[i] = orjson.dumps(record[i]).decode()
        records.append(record)
    return records


def _default(table: sa.Table, column: str) -> Any:
    default = table.c[column].default
    return default.arg if default is not None and not callable(default.arg) else None


async def update_many(
    conn: AsyncConnection, kind: str, tenant_id: uuid.UUID, rows: list[dict[str, Any]], progress: Any = None
) -> None:
    """Rows carry `_id` and the full new values; grouped by the set of columns they change."""
    table = TABLES[kind]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(tuple(sorted(k for k in r if k != "_id")), []).append(r)
    for cols, members in groups.items():
        stmt = (
            sa.update(table)
            .where(table.c.tenant_id == tenant_id, table.c.id == sa.bindparam("_id"))
            .values({c: sa.bindparam(f"v_{c}") for c in cols} | next_version(table))
        )
        for start in range(0, len(members), STATEMENT_BATCH):
            batch = [
                {"_id": m["_id"], **{f"v_{c}": _plain(m[c]) for c in cols}}
                for m in members[start : start + STATEMENT_BATCH]
            ]
            await conn.execute(stmt.execution_options(synchronize_session=False), batch)
            if progress:
                progress(len(batch))


ANALYZE_AFTER_ROWS = 1_000


async def analyze_if_large(conn: AsyncConnection, kind: str, rows_written: int) -> None:
    """After a large bulk write PostgreSQL has stale statistics until autovacuum runs; refresh them now."""
    if conn.dialect.name == "postgresql" and rows_written >= ANALYZE_AFTER_ROWS:
        await conn.execute(sa.text(f"ANALYZE {TABLES[kind].name}"))


async def stream_export(
    conn: AsyncConnection, kind: str, tenant_id: uuid.UUID, columns: Sequence[str]
) -> AsyncIterator[dict[str, Any]]:
    result = await conn.stream(export_select(kind, tenant_id, columns).execution_options(yield_per=2_000))
    async for partition in result.mappings().partitions(2_000):
        for row in partition:
            yield dict(row)


class ImportStore(Store):
    """Bulk reads and writes of imports and exports for the unit of work's tenant (`uow.imports`)."""

    async def load_named(
        self, kind: str, columns: Sequence[str], named: Collection[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, str | None]]:
        """The stored rows a file names, in the import format (every row, in one scan, when it names a
        quarter of them or more), and for accounts read by name the stored ancestors of the named ones
        (with every row read, each link is there already)."""
        conn = await self.connection()
        if wants_full_scan(len(named), await count(conn, kind, self.tenant_id)):
            return await load_existing(conn, kind, self.tenant_id, columns, None), {}
        existing = await load_existing(conn, kind, self.tenant_id, columns, named)
        ancestry = await ancestor_links(conn, self.tenant_id, named) if kind == "accounts" else {}
        return existing, ancestry

    async def id_map(self, kind: str, external_ids: Collection[str]) -> dict[str, uuid.UUID]:
        return await id_map(await self.connection(), kind, self.tenant_id, external_ids)

    async def ancestor_links(self, external_ids: Collection[str]) -> dict[str, str | None]:
        return await ancestor_links(await self.connection(), self.tenant_id, external_ids)

    async def insert_many(self, kind: str, rows: list[dict[str, Any]], progress: Any = None) -> None:
        await insert_many(await self.connection(), kind, rows, progress)

    async def update_many(self, kind: str, rows: list[dict[str, Any]], progress: Any = None) -> None:
        await update_many(await self.connection(), kind, self.tenant_id, rows, progress)

    async def append_changes(self, changes: Sequence[Change]) -> None:
        """The import's changes at the end of the tenant's log, in this transaction (read back from the log
        by every worker; no local apply of a whole import's changes)."""
        await change_log.append(await self.connection(), self.tenant_id, changes)

    async def analyze_if_large(self, kind: str, rows_written: int) -> None:
        await analyze_if_large(await self.connection(), kind, rows_written)

    async def stream_export(self, kind: str, columns: Sequence[str]) -> AsyncIterator[dict[str, Any]]:
        """Every row of `kind` in the import format, read on a connection of its own outside the unit of
        work's transaction (a long streaming read); close it (`aclosing`) when not read to the end."""
        async with self.uow.reader() as conn:
            async for row in stream_export(conn, kind, self.tenant_id, columns):
                yield row
