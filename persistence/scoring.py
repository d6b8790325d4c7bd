"""Reads and writes of a scoring run: accounts in id-ordered chunks, closed opportunities, score rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from persistence.imports import insert_tuples
from persistence.stores import Store
from persistence.tables import AccountRow, AccountScoreRow, OpportunityRow, ScoringBasisRow

ACCOUNTS = AccountRow.__table__
SCORES = AccountScoreRow.__table__
BASIS = ScoringBasisRow.__table__
IN_CHUNK = 5_000  # ids per IN (...) list: SQLite allows 32,766 parameters a statement
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
    "version",
)


async def accounts_in_chunks(
    conn: AsyncConnection, tenant_id: uuid.UUID, size: int, changed_only: bool = False
) -> AsyncIterator[Sequence[Any]]:
    """Live accounts with the fields a score reads, `size` at a time, from one server-side cursor (a
    sequential read, never all in memory). `changed_only`: those without a score computed from their
    current version (new, changed, restored since the last run)."""
    a, s = ACCOUNTS.c, SCORES.c
    stmt = sa.select(*(a[c] for c in SCORING_COLUMNS)).where(a.tenant_id == tenant_id, a.deleted_at.is_(None))
    if changed_only:
        current = sa.select(s.account_id).where(s.account_id == a.id, s.account_version == a.version)
        stmt = stmt.where(~current.exists())
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


async def remove_scores(conn: AsyncConnection, tenant_id: uuid.UUID, account_ids: Sequence[Any]) -> int:
    """Remove these accounts' score rows (to write them again); how many there were."""
    stmt = sa.delete(SCORES).where(
        SCORES.c.tenant_id == tenant_id, SCORES.c.account_id.in_(list(account_ids))
    )
    return (await conn.execute(stmt)).rowcount or 0


async def scored_versions(
    conn: AsyncConnection, tenant_id: uuid.UUID, account_ids: Sequence[Any]
) -> dict[Any, int | None]:
    """For those of these accounts that are live (not deleted): account id -> the account version its
    stored score was computed from (None: no score)."""
    a, s, out, ids = ACCOUNTS.c, SCORES.c, {}, list(account_ids)
    for start in range(0, len(ids), IN_CHUNK):
        stmt = (
            sa.select(a.id, s.account_version)
            .select_from(ACCOUNTS.outerjoin(SCORES, s.account_id == a.id))
            .where(a.tenant_id == tenant_id, a.deleted_at.is_(None), a.id.in_(ids[start : start + IN_CHUNK]))
        )
        out.update({r[0]: r[1] for r in await conn.execute(stmt)})
    return out


async def remove_scores_of_the_gone(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    """Remove the score rows of accounts deleted since they were scored; how many. Accounts are only ever
    deleted softly (deleted_at), so one pass over the accounts finds the few, not a probe per score row."""
    a = ACCOUNTS.c
    deleted = sa.select(a.id).where(a.tenant_id == tenant_id, a.deleted_at.is_not(None))
    stmt = sa.delete(SCORES).where(SCORES.c.tenant_id == tenant_id, SCORES.c.account_id.in_(deleted))
    return (await conn.execute(stmt)).rowcount or 0


async def read_basis(conn: AsyncConnection, tenant_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await conn.execute(sa.select(BASIS).where(BASIS.c.tenant_id == tenant_id))).mappings().first()
    return None if row is None else dict(row)


async def write_basis(conn: AsyncConnection, tenant_id: uuid.UUID, values: Mapping[str, Any]) -> None:
    """Replace the tenant's scoring basis (settings_version, win_rates, revision, computed_at)."""
    await conn.execute(sa.delete(BASIS).where(BASIS.c.tenant_id == tenant_id))
    await conn.execute(sa.insert(BASIS).values(tenant_id=tenant_id, **values))


async def score_at_rank(conn: AsyncConnection, tenant_id: uuid.UUID, rank: int) -> tuple[Any, float] | None:
    """(account id, potential) of the stored score at `rank` (1-based) by potential, highest first, then by
    id: at_potential_rank's order, over the stored potentials (equal to the SQL's, as they are computed
    with the same operations)."""
    if rank < 1:
        return None
    s = SCORES.c
    stmt = (
        sa.select(s.account_id, s.potential)
        .where(s.tenant_id == tenant_id)
        .order_by(s.potential.desc(), s.account_id)
        .offset(rank - 1)
        .limit(1)
    )
    row = (await conn.execute(stmt)).first()
    return None if row is None else (row.account_id, float(row.potential))


async def count_scores(conn: AsyncConnection, tenant_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).select_from(SCORES).where(SCORES.c.tenant_id == tenant_id)
    return int((await conn.execute(stmt)).scalar_one())


def tier_expression(
    thresholds: tuple[float, float] | None,
    last: Sequence[tuple[uuid.UUID, float] | None],
) -> Any:
    """domain.tiering.tier_of in SQL over the stored potentials: by absolute thresholds, else by the (id,
    potential) of the last tier-1 and the last tier-2 account (a tie on the potential is broken by id)."""
    s = SCORES.c
    if thresholds is not None:
        t1, t2 = thresholds
        return sa.case((s.potential >= t1, 1), (s.potential >= t2, 2), else_=3)
    whens = []
    for tier, bound in zip((1, 2), last, strict=True):
        if bound is not None:
            key, potential = bound
            p = sa.literal(potential, sa.Float)
            within = sa.or_(s.potential > p, sa.and_(s.potential == p, s.account_id <= key))
            whens.append((within, tier))
    return sa.case(*whens, else_=3) if whens else sa.literal(3)


async def retier(conn: AsyncConnection, tenant_id: uuid.UUID, tier: Any, now: Any) -> int:
    """Give every stored score the tier `tier` (tier_expression) computes where it differs; how many."""
    s = SCORES.c
    stmt = (
        sa.update(SCORES)
        .where(s.tenant_id == tenant_id, s.tier != tier)
        .values(tier=tier, computed_at=now)
        .execution_options(synchronize_session=False)
    )
    return (await conn.execute(stmt)).rowcount or 0


async def revalue(
    conn: AsyncConnection, tenant_id: uuid.UUID, segment: str | None, rate: float, now: Any
) -> int:
    """The segment's (None: no segment) stored potentials at a new win rate: current ARR + the stored
    expansion estimate x the rate, domain.scoring.account_potential's operations in its order, so the
    value is the one a rescoring would store. Rows already at that rate (just rescored) are left; how many
    changed."""
    a, s = ACCOUNTS.c, SCORES.c
    in_segment = a.segment.is_(None) if segment is None else a.segment == segment
    # only scores computed from the account as it is: one changed since is rescored by the next run
    members = sa.exists().where(a.id == s.account_id, a.version == s.account_version, in_segment)
    arr = sa.select(a.current_arr).where(a.id == s.account_id).scalar_subquery()
    p = sa.literal(rate, sa.Float)
    stmt = (
        sa.update(SCORES)
        .where(s.tenant_id == tenant_id, s.win_probability != p, members)
        .values(win_probability=p, potential=arr + s.expansion_estimate * p, computed_at=now)
        .execution_options(synchronize_session=False)
    )
    return (await conn.execute(stmt)).rowcount or 0


async def tier_counts(conn: AsyncConnection, tenant_id: uuid.UUID) -> tuple[dict[int, int], int]:
    """Stored scores per tier, and how many fit the ICP."""
    s = SCORES.c
    fits = sa.func.sum(sa.case((s.icp_fit, 1), else_=0))
    stmt = sa.select(s.tier, sa.func.count(), fits).where(s.tenant_id == tenant_id).group_by(s.tier)
    tiers, icp_fit = {1: 0, 2: 0, 3: 0}, 0
    for tier, n, fit in await conn.execute(stmt):
        tiers[int(tier)] = int(n)
        icp_fit += int(fit or 0)
    return tiers, icp_fit


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
    "account_version",
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

    async def remove_scores(self, account_ids: Sequence[Any]) -> int:
        return await remove_scores(await self.connection(), self.tenant_id, account_ids)

    async def scored_versions(self, account_ids: Sequence[Any]) -> dict[Any, int | None]:
        return await scored_versions(await self.connection(), self.tenant_id, account_ids)

    async def remove_scores_of_the_gone(self) -> int:
        return await remove_scores_of_the_gone(await self.connection(), self.tenant_id)

    async def read_basis(self) -> dict[str, Any] | None:
        return await read_basis(await self.connection(), self.tenant_id)

    async def write_basis(self, values: Mapping[str, Any]) -> None:
        await write_basis(await self.connection(), self.tenant_id, values)

    async def score_at_rank(self, rank: int) -> tuple[Any, float] | None:
        return await score_at_rank(await self.connection(), self.tenant_id, rank)

    async def count_scores(self) -> int:
        return await count_scores(await self.connection(), self.tenant_id)

    async def retier(
        self, thresholds: tuple[float, float] | None, last: Sequence[tuple[Any, float] | None], now: Any
    ) -> int:
        tier = tier_expression(thresholds, last)
        return await retier(await self.connection(), self.tenant_id, tier, now)

    async def revalue(self, segment: str | None, rate: float, now: Any) -> int:
        return await revalue(await self.connection(), self.tenant_id, segment, rate, now)

    async def tier_counts(self) -> tuple[dict[int, int], int]:
        return await tier_counts(await self.connection(), self.tenant_id)

    async def write_scores(self, rows: list[tuple[Any, ...]]) -> None:
        """Score rows as tuples in SCORE_COLUMNS order, in this transaction."""
        await write_scores(await self.connection(), rows)

    async def read_scores(self, account_ids: Sequence[Any]) -> dict[Any, Any]:
        return await read_scores(await self.connection(), self.tenant_id, account_ids)

    async def accounts_in_chunks(self, size: int, changed_only: bool = False) -> AsyncIterator[Sequence[Any]]:
        """The live accounts to score (`changed_only`: those not scored at their current version), `size`
        at a time, read on a connection of their own (so the transaction's connection ingests one chunk
        while the next is scored); close it (`aclosing`) when not read to the end."""
        async with self.uow.reader() as reader:
            async for chunk in accounts_in_chunks(reader, self.tenant_id, size, changed_only):
                yield chunk
