"""Reads and writes of a scoring run: accounts in id-ordered chunks, closed opportunities, score rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.imports import insert_tuples
from persistence.stores import Store
from persistence.tables import AccountRow, AccountScoreRow, OpportunityRow

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
    "whitespace_units",
    "annual_revenue",
    "intent",
    "relationship",
    "competitive",
)


async def accounts_in_chunks(
    conn: AsyncConnection, tenant_id: uuid.UUID, size: int, columns: Sequence[str] = SCORING_COLUMNS
) -> AsyncIterator[Sequence[Any]]:
    """Live accounts with the given fields, `size` at a time, from one server-side cursor (a sequential
    read, never all in memory)."""
    stmt = sa.select(*(ACCOUNTS.c[c] for c in columns)).where(
        ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None)
    )
    result = await conn.stream(stmt.execution_options(yield_per=size))
    async for part in result.partitions(size):
        yield part


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


SCORE_COLUMNS = (
    "account_id",
    "tenant_id",
    "score",
    "confidence",
    "potential",
    "win_probability",
    "expansion_estimate",
    "expansion_derived",
    "tier",
    "icp_fit",
    "factors",
    "settings_version",
    "computed_at",
)


async def write_scores(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    """Score rows as tuples in SCORE_COLUMNS order."""
    await insert_tuples(conn, "account_scores", SCORE_COLUMNS, rows)


async def read_scores(
    conn: AsyncConnection, tenant_id: uuid.UUID, account_ids: Sequence[Any]
) -> dict[Any, Any]:
    stmt = sa.select(SCORES).where(
        SCORES.c.tenant_id == tenant_id, SCORES.c.account_id.in_(list(account_ids))
    )
    return {row["account_id"]: row for row in (await conn.execute(stmt)).mappings()}


def expansion_expression(horizon_years: int, max_growth_rate: float) -> Any:
    """domain.scoring.expansion_estimate in SQL, the same floating-point operations in the same order: the
    given estimate, else current ARR x (1 + whitespace units) x (1 + capped growth)^horizon - current ARR
    (at least 0), else 0 when neither a growth rate nor whitespace units are known."""
    a = ACCOUNTS.c
    cap = sa.literal(max_growth_rate, sa.Float)
    growth = sa.case(
        (a.growth_rate.is_(None), sa.literal(0.0, sa.Float)),
        (a.growth_rate > cap, cap),
        (a.growth_rate < -1.0, sa.literal(-1.0, sa.Float)),
        else_=a.growth_rate,
    )
    multiple: Any = sa.literal(1.0, sa.Float)
    for _ in range(horizon_years):
        multiple = multiple * (1.0 + growth)  # the product flattens: arr * (1 + units) * 1.0 * (1 + g) ...
    units = sa.func.coalesce(a.whitespace_units, 0)
    # one left-to-right product, as SQL (and SQLAlchemy's rendering) evaluates it and as the domain does
    derived = a.current_arr * (1 + units) * multiple - a.current_arr
    return sa.case(
        (a.expansion_estimate.is_not(None), a.expansion_estimate),
        (sa.and_(a.growth_rate.is_(None), units == 0), sa.literal(0.0, sa.Float)),
        (derived > 0.0, derived),
        else_=sa.literal(0.0, sa.Float),
    )


def potential_expression(
    rates: Mapping[str | None, float], horizon_years: int, max_growth_rate: float
) -> Any:
    """domain.scoring.account_potential in SQL: current ARR + expansion estimate x the segment's win rate
    (the same floating-point operations in the same order, so the values are identical)."""
    default = rates[None]
    rate = sa.case(
        *(
            (ACCOUNTS.c.segment == segment, sa.literal(r, sa.Float))
            for segment, r in rates.items()
            if segment
        ),
        else_=sa.literal(default, sa.Float),
    )
    return ACCOUNTS.c.current_arr + expansion_expression(horizon_years, max_growth_rate) * rate


async def count_live(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(
        ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def at_potential_rank(
    conn: AsyncConnection,
    tenant_id: uuid.UUID,
    rates: Mapping[str | None, float],
    rank: int,
    horizon_years: int,
    max_growth_rate: float,
) -> tuple[Any, float] | None:
    """(id, potential) of the live account at `rank` (1-based) by potential, highest first, then by id: the
    order of domain.tiering (ids order the same as bytes, as hex text and as UUID objects)."""
    if rank < 1:
        return None
    potential = potential_expression(rates, horizon_years, max_growth_rate).label("potential")
    stmt = (
        sa.select(ACCOUNTS.c.id, potential)
        .where(ACCOUNTS.c.tenant_id == tenant_id, ACCOUNTS.c.deleted_at.is_(None))
        .order_by(potential.desc(), ACCOUNTS.c.id)
        .offset(rank - 1)
        .limit(1)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else (row.id, float(row.potential))


class ScoringStore(Store):
    """A scoring run's reads and writes for the unit of work's tenant (`uow.scoring`)."""

    async def closed_opportunity_counts(self) -> list[tuple[str | None, str, int]]:
        return await closed_opportunity_counts(await self.connection(), self.tenant_id)

    async def count_live(self) -> int:
        return await count_live(await self.connection(), self.tenant_id)

    async def at_potential_rank(
        self, rates: Mapping[str | None, float], rank: int, horizon_years: int, max_growth_rate: float
    ) -> tuple[Any, float] | None:
        return await at_potential_rank(
            await self.connection(), self.tenant_id, rates, rank, horizon_years, max_growth_rate
        )

    async def clear_scores(self) -> None:
        await clear_scores(await self.connection(), self.tenant_id)

    async def write_scores(self, rows: list[tuple[Any, ...]]) -> None:
        """Score rows as tuples in SCORE_COLUMNS order, in this transaction."""
        await write_scores(await self.connection(), rows)

    async def read_scores(self, account_ids: Sequence[Any]) -> dict[Any, Any]:
        return await read_scores(await self.connection(), self.tenant_id, account_ids)

    async def accounts_in_chunks(self, size: int) -> AsyncIterator[Sequence[Any]]:
        """The live accounts to score, `size` at a time, read on a connection of their own (so the
        transaction's connection ingests one chunk while the next is scored); close it (`aclosing`) when
        not read to the end."""
        async with self.uow.reader() as reader:
            async for chunk in accounts_in_chunks(reader, self.tenant_id, size):
                yield chunk
