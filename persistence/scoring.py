"""Reads and writes of a scoring run: accounts in id-ordered chunks, closed opportunities, score rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.bulk import insert_many
from persistence.tables import AccountRow, AccountScoreRow, OpportunityRow, RepRow

ACCOUNTS = AccountRow.__table__
SCORES = AccountScoreRow.__table__
OPPORTUNITIES = OpportunityRow.__table__
SCORING_COLUMNS = (
    "id",
    "segment",
    "current_arr",
    "engagement",
    "growth_rate",
    "expansion_estimate",
    "annual_revenue",
    "intent",
    "relationship",
    "competitive",
)


POTENTIAL_COLUMNS = ("id", "segment", "current_arr", "expansion_estimate")


async def accounts_in_chunks(
    conn: AsyncConnection, tenant_id: uuid.UUID, size: int, columns: Sequence[str] = SCORING_COLUMNS
) -> AsyncIterator[Sequence[Any]]:
    """Live accounts with the given fields, `size` at a time (keyset on id: never all in memory)."""
    after = None
    while True:
        stmt = sa.select(*(ACCOUNTS.c[c] for c in columns)).where(
            ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None)
        )
        if after is not None:
            stmt = stmt.where(ACCOUNTS.c.id > after)
        rows = (await conn.execute(stmt.order_by(ACCOUNTS.c.id).limit(size))).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


async def closed_opportunity_counts(
    conn: AsyncConnection, tenant_id: uuid.UUID
) -> list[tuple[str | None, str, int]]:
    """(account segment, won|lost, count) of the tenant's closed opportunities."""
    stmt = (
        sa.select(ACCOUNTS.c.segment, OPPORTUNITIES.c.status, sa.func.count())
        .select_from(OPPORTUNITIES.join(ACCOUNTS, ACCOUNTS.c.id == OPPORTUNITIES.c.account_id))
        .where(OPPORTUNITIES.c.tenant_id == tenant_id, OPPORTUNITIES.c.status.in_(["won", "lost"]))
        .group_by(ACCOUNTS.c.segment, OPPORTUNITIES.c.status)
    )
    return [(r[0], r[1], int(r[2])) for r in await conn.execute(stmt)]


async def clear_scores(conn: AsyncConnection, tenant_id: uuid.UUID) -> None:
    await conn.execute(sa.delete(SCORES).where(SCORES.c.tenant_id == tenant_id))


async def write_scores(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await insert_many(conn, "account_scores", rows)


async def read_scores(
    conn: AsyncConnection, tenant_id: uuid.UUID, account_ids: Sequence[Any]
) -> dict[Any, Any]:
    stmt = sa.select(SCORES).where(
        SCORES.c.tenant_id == tenant_id, SCORES.c.account_id.in_(list(account_ids))
    )
    return {row["account_id"]: row for row in (await conn.execute(stmt)).mappings()}


async def capacity_inputs(conn: AsyncConnection, tenant_id: uuid.UUID) -> tuple[list[Any], list[str]]:
    """(account id, segment, tier, potential) of every scored live account; the active reps' ramp statuses."""
    reps = RepRow.__table__
    accounts = await conn.execute(
        sa.select(SCORES.c.account_id, ACCOUNTS.c.segment, SCORES.c.tier, SCORES.c.potential)
        .select_from(SCORES.join(ACCOUNTS, ACCOUNTS.c.id == SCORES.c.account_id))
        .where(SCORES.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None))
    )
    ramps = await conn.execute(
        sa.select(reps.c.ramp_status).where(reps.c.tenant_id == tenant_id, reps.c.end_date.is_(None))
    )
    return list(accounts.all()), [r[0] for r in ramps]
