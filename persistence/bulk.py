"""Bulk reads and writes for import and export, in SQLAlchemy core on one connection."""

from __future__ import annotations

import enum
import operator
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.tables import AccountRow, ActivityRow, OpportunityRow, RepRow, TenantRow

ACCOUNTS = AccountRow.__table__
REPS = RepRow.__table__
ACTIVITIES = ActivityRow.__table__
OPPORTUNITIES = OpportunityRow.__table__

TABLES = {"accounts": ACCOUNTS, "reps": REPS, "activities": ACTIVITIES, "opportunities": OPPORTUNITIES}
BATCH = 5_000


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


async def load_existing(
    conn: AsyncConnection, kind: str, tenant_id: uuid.UUID, columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Stored rows by external id, in the import format, plus their internal `_id`."""
    table = TABLES[kind]
    # soft-deleted accounts keep their external id; an import brings them back
    stmt = export_select(kind, tenant_id, columns, include_deleted=True).add_columns(table.c.id.label("_id"))
    result = await conn.execute(stmt)
    keys = list(result.keys())
    at = keys.index("external_id")
    return {row[at]: dict(zip(keys, row, strict=True)) for row in result.all()}


async def id_map(conn: AsyncConnection, kind: str, tenant_id: uuid.UUID) -> dict[str, uuid.UUID]:
    table = TABLES[kind]
    stmt = sa.select(table.c.external_id, table.c.id).where(table.c.tenant_id == tenant_id)
    if kind == "accounts":
        stmt = stmt.where(ACCOUNTS.c.deleted_at.is_(None))
    return {r.external_id: r.id for r in await conn.execute(stmt)}


async def insert_many(
    conn: AsyncConnection, kind: str, rows: list[dict[str, Any]], progress: Any = None
) -> None:
    """Insert rows; on PostgreSQL through COPY on the same connection (same transaction)."""
    table = TABLES[kind]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        columns = sorted({k for r in rows for k in r})
        defaults = {c: _default(table, c) for c in columns}
        json_cols = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
        raw = (await conn.get_raw_connection()).driver_connection
        for start in range(0, len(rows), BATCH * 4):
            chunk = rows[start : start + BATCH * 4]
            records = []
            same_shape = all(len(r) == len(columns) for r in chunk)
            pick = operator.itemgetter(*columns)
            for r in chunk:
                record = list(pick(r)) if same_shape else [r[c] if c in r else defaults[c] for c in columns]
                for i in json_cols:
                    record[i] = orjson.dumps(record[i]).decode()
                records.append(record)
            await raw.copy_records_to_table(table.name, records=records, columns=columns)
            if progress:
                progress(len(chunk))
        return
    for start in range(0, len(rows), BATCH):
        batch = [{k: _plain(v) for k, v in r.items()} for r in rows[start : start + BATCH]]
        await conn.execute(sa.insert(table), batch)
        if progress:
            progress(len(batch))


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
            .values({c: sa.bindparam(f"v_{c}") for c in cols})
        )
        for start in range(0, len(members), BATCH):
            batch = [
                {"_id": m["_id"], **{f"v_{c}": _plain(m[c]) for c in cols}}
                for m in members[start : start + BATCH]
            ]
            await conn.execute(stmt.execution_options(synchronize_session=False), batch)
            if progress:
                progress(len(batch))


ANALYZE_AFTER_ROWS = 1_000


async def analyze_if_large(conn: AsyncConnection, kind: str, rows_written: int) -> None:
    """After a large bulk write PostgreSQL has stale statistics until autovacuum runs; refresh them now."""
    if conn.dialect.name == "postgresql" and rows_written >= ANALYZE_AFTER_ROWS:
        await conn.execute(sa.text(f"ANALYZE {TABLES[kind].name}"))


async def bump_version(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    await conn.execute(
        sa.update(TenantRow)
        .where(TenantRow.id == tenant_id)
        .values(ownership_version=TenantRow.ownership_version + 1)
    )


async def tenant_settings(conn: AsyncConnection, tenant_id: uuid.UUID) -> dict:
    return (
        await conn.execute(sa.select(TenantRow.settings).where(TenantRow.id == tenant_id))
    ).scalar_one() or {}


async def stream_export(
    conn: AsyncConnection, kind: str, tenant_id: uuid.UUID, columns: Sequence[str]
) -> AsyncIterator[dict[str, Any]]:
    result = await conn.stream(export_select(kind, tenant_id, columns).execution_options(yield_per=2_000))
    async for partition in result.mappings().partitions(2_000):
        for row in partition:
            yield dict(row)
